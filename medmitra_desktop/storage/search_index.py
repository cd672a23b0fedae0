"""The FTS5 index behind case search, and turning what a user typed into a safe query.

User text never reaches FTS5 as syntax: each whitespace-separated word becomes a quoted
prefix phrase, so quotes, AND/OR/NOT/NEAR, '*', '^', ':' and parentheses are just text.
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import text
from sqlalchemy.orm import Session

MAX_SEARCH_WORDS = 12


def _is_word_character(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNM"


def match_expression(user_text: str) -> str | None:
    """An FTS5 MATCH string that finds rows containing every word as a prefix, or None."""
    phrases = []
    printable = "".join(ch if ch.isprintable() else " " for ch in user_text)
    for word in unicodedata.normalize("NFC", printable).split()[:MAX_SEARCH_WORDS]:
        if not any(_is_word_character(ch) for ch in word):
            continue
        phrases.append('"' + word.replace('"', '""') + '"*')
    return " ".join(phrases) or None


def reindex_case(
    session: Session, case_pk: int, patient_name: str, notes: str, documents_text: str
) -> None:
    session.execute(text("DELETE FROM case_search WHERE rowid = :pk"), {"pk": case_pk})
    session.execute(
        text(
            "INSERT INTO case_search(rowid, patient_name, notes, documents_text) "
            "VALUES (:pk, :name, :notes, :docs)"
        ),
        {"pk": case_pk, "name": patient_name, "notes": notes, "docs": documents_text},
    )


def drop_case(session: Session, case_pk: int) -> None:
    session.execute(text("DELETE FROM case_search WHERE rowid = :pk"), {"pk": case_pk})
