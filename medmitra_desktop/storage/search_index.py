"""The FTS5 index behind case search, and turning what a user typed into a safe query.

The index holds live cases only (a trashed case leaves it and comes back on restore), so
a search with no other filter is counted by FTS alone. User text never reaches FTS5 as
syntax: each whitespace-separated word becomes a quoted prefix phrase, so quotes,
AND/OR/NOT/NEAR, '*', '^', ':' and parentheses are just text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .orm import Case, Document, DocumentPage

MAX_SEARCH_WORDS = 12


def _is_word_character(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNM"


def search_words(user_text: str) -> list[str]:
    """The words of what a user typed: printable, NFC, at least one letter or digit each."""
    printable = "".join(ch if ch.isprintable() else " " for ch in user_text)
    words = unicodedata.normalize("NFC", printable).split()[:MAX_SEARCH_WORDS]
    return [word for word in words if any(_is_word_character(ch) for ch in word)]


def match_expression(user_text: str) -> str | None:
    """An FTS5 MATCH string that finds rows containing every word as a prefix, or None."""
    phrases = ['"' + word.replace('"', '""') + '"*' for word in search_words(user_text)]
    return " ".join(phrases) or None


def reindex_case(session: Session, case: Case) -> None:
    """Index what a doctor may search a case by: name, notes, file names, document text."""
    drop_case(session, case.id)
    if case.deleted_at is not None:
        return
    file_names = session.execute(
        select(Document.file_name).where(Document.case_id == case.id).order_by(Document.id)
    ).scalars()
    page_texts = session.execute(
        select(DocumentPage.text).join(Document, DocumentPage.document_id == Document.id)
        .where(Document.case_id == case.id).order_by(Document.id, DocumentPage.number)
    ).scalars()
    add(session, [Entry(case.id, case.patient_name, case.case_summary,
                        [*file_names, *page_texts])])


@dataclass(frozen=True)
class Entry:
    case_pk: int
    patient_name: str
    notes: str
    document_texts: list[str]


def add(session: Session, entries: list[Entry]) -> None:
    """Index cases not in the index yet (new ones: their file names, no text read yet)."""
    if entries:
        session.execute(
            text("INSERT INTO case_search(rowid, patient_name, notes, documents_text) "
                 "VALUES (:pk, :name, :notes, :docs)"),
            [{"pk": entry.case_pk, "name": entry.patient_name, "notes": entry.notes,
              "docs": "\n".join(entry.document_texts)} for entry in entries])


def drop_case(session: Session, case_pk: int) -> None:
    session.execute(text("DELETE FROM case_search WHERE rowid = :pk"), {"pk": case_pk})
