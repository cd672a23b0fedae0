"""Evidence references ("doc 0, page 1: Hemoglobin 9.1 g/dL (L)") as links to documents.

The insights cite documents by their index in the case's document list; links carry the
document's id instead, so a link stays right even when it is shown somewhere else.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ...domain.records import DocumentRecord

# "doc 0, page 1", "doc 2, page 1 (findings)", "[doc 2]" inside SOAP text.
_REFERENCE = re.compile(r"\bdoc (\d+)(?:, page (\d+))?")
_HREF = re.compile(r"^document:([^:]+):(\d+)$")


@dataclass(frozen=True)
class DocumentLink:
    document_id: str
    page: int  # 1-based; 0 when the reference names no page


def document_href(document_id: str, page: int | None) -> str:
    return f"document:{document_id}:{page or 0}"


def parse_href(href: str) -> DocumentLink | None:
    match = _HREF.match(href)
    return DocumentLink(match[1], int(match[2])) if match else None


def document_label(document: DocumentRecord, page: int | None) -> str:
    return f"{document.file_name}, page {page}" if page else document.file_name


def resolve(text: str, documents: Sequence[DocumentRecord]) -> DocumentLink | None:
    """The document an evidence entry starts with, when it names one of this case's."""
    match = _REFERENCE.match(text.strip().lstrip("["))
    if match is None:
        return None
    index = int(match[1])
    if not 0 <= index < len(documents):
        return None
    return DocumentLink(documents[index].document_id, int(match[2]) if match[2] else 0)


def plain(text: str, documents: Sequence[DocumentRecord]) -> str:
    """The text with "doc N, page P" replaced by the document's file name."""

    def name(match: re.Match[str]) -> str:
        index = int(match[1])
        if not 0 <= index < len(documents):
            return match[0]
        return document_label(documents[index], int(match[2]) if match[2] else None)

    return _REFERENCE.sub(name, text)


def linkify(text: str, documents: Sequence[DocumentRecord], link_color: str = "") -> str:
    """HTML of the text with every document reference as a link (the rest escaped).

    Give `link_color` for rich text in a QLabel: a label parses its text once, with the
    link colour of the palette at that moment, so the colour must be part of the text."""
    style = f' style="color: {link_color}"' if link_color else ""
    parts: list[str] = []
    last = 0
    for match in _REFERENCE.finditer(text):
        index = int(match[1])
        if not 0 <= index < len(documents):
            continue
        page = int(match[2]) if match[2] else None
        parts.append(html.escape(text[last:match.start()]))
        label = html.escape(document_label(documents[index], page))
        href = html.escape(document_href(documents[index].document_id, page))
        parts.append(f'<a href="{href}"{style}>{label}</a>')
        last = match.end()
    parts.append(html.escape(text[last:]))
    return "".join(parts)


def cited_links(text: str, documents: Sequence[DocumentRecord]
                ) -> list[tuple[str, DocumentLink]]:
    """The documents a note cites, in order of first mention, each once: references
    ("doc 2, page 1") and file names ("cbc.pdf, page 2", as `plain` writes them)."""
    found: list[tuple[int, str, DocumentLink]] = []
    for match in _REFERENCE.finditer(text):
        index = int(match[1])
        if 0 <= index < len(documents):
            page = int(match[2]) if match[2] else None
            document = documents[index]
            found.append((match.start(), document_label(document, page),
                          DocumentLink(document.document_id, page or 0)))
    for document in documents:
        pattern = re.compile(re.escape(document.file_name) + r"(?:, page (\d+))?")
        for match in pattern.finditer(text):
            page = int(match[1]) if match[1] else None
            found.append((match.start(), document_label(document, page),
                          DocumentLink(document.document_id, page or 0)))
    links: list[tuple[str, DocumentLink]] = []
    for _position, label, link in sorted(found, key=lambda item: item[0]):
        if all(link != seen for _label, seen in links):
            links.append((label, link))
    return links
