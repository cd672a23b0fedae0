"""The PDF text layer, read with pypdf in layout mode (it keeps each table row on one line)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import BinaryIO

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError

from medmitra_desktop.domain.enums import DocumentStatus

from .problems import DocumentProblem

log = logging.getLogger(__name__)

COLUMN_GAP = "   "
"""What a wide gap between words becomes. The lab-table parser splits columns on 2+ spaces."""

MAX_REPAIR_BYTES = 256 * 1024 * 1024
_CATALOG = re.compile(
    rb"(\d+)\s+(\d+)\s+obj\s*<<(?:(?!endobj).){0,4000}?/Type\s*/Catalog\b", re.DOTALL
)
_WIDE_GAP = re.compile(r"[ \t\u00a0]{3,}")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")


def open_pdf(
    source: Path | BinaryIO, name: str, password: str | None
) -> tuple[PdfReader, str | None]:
    """Open with pypdf in its forgiving mode and decrypt. Returns the reader and the password
    that opened it (None when no password was needed), for the renderer to reuse.

    Raises DocumentProblem for password problems; pypdf's own errors for damaged files.
    """
    reader = PdfReader(source, strict=False)
    if not reader.is_encrypted:
        return reader, None
    try:
        # Owner-only encryption (printing or copying restricted) opens with the empty password.
        if reader.decrypt("") != PasswordType.NOT_DECRYPTED:
            return reader, None
        if password is None:
            raise DocumentProblem(
                DocumentStatus.NEEDS_PASSWORD,
                f"{name} is password protected: enter its password to analyse it",
            )
        if reader.decrypt(password) == PasswordType.NOT_DECRYPTED:
            raise DocumentProblem(
                DocumentStatus.NEEDS_PASSWORD,
                f"{name} is password protected and the password was not accepted: "
                "check it and enter it again",
            )
    except DependencyError as exc:
        log.debug("PDF encryption needs a missing library: %s", exc)
        raise DocumentProblem(
            DocumentStatus.FAILED,
            f"{name} is protected with an encryption method this computer cannot open: "
            "save an unprotected copy of it and attach that",
        ) from exc
    except (NotImplementedError, FileNotDecryptedError) as exc:
        log.debug("PDF encryption not supported: %s", exc)
        raise DocumentProblem(
            DocumentStatus.FAILED,
            f"{name} is protected with an encryption method that is not supported: "
            "save an unprotected copy of it and attach that",
        ) from exc
    return reader, password


def repair_truncated(path: Path) -> bytes | None:
    """A PDF cut short (an interrupted download or copy) loses its trailer, and then neither
    pypdf nor PDFium finds the document root. Append a trailer pointing at the last catalog
    object and an invalid startxref, so the readers rebuild the cross-reference table by
    scanning the objects that did arrive. None when there is nothing to repair from."""
    try:
        if path.stat().st_size > MAX_REPAIR_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    catalog = None
    for match in _CATALOG.finditer(data):
        catalog = match  # the last one: incremental updates append newer catalogs
    if catalog is None:
        return None
    number, generation = catalog.group(1), catalog.group(2)
    return data + b"\ntrailer\n<< /Root %s %s R >>\nstartxref\n0\n%%%%EOF\n" % (number, generation)


def page_layout_text(reader: PdfReader, index: int) -> str | None:
    """The text layer of one page in layout mode, normalised; None when pypdf cannot read it."""
    try:
        page = reader.pages[index]
    except Exception:
        log.debug("pypdf could not load page %d", index + 1, exc_info=True)
        return None
    try:
        raw = page.extract_text(extraction_mode="layout")
    except Exception:
        log.debug("pypdf layout extraction failed on page %d", index + 1, exc_info=True)
        try:
            raw = page.extract_text()
        except Exception:
            log.debug("pypdf plain extraction failed on page %d", index + 1, exc_info=True)
            return None
    return normalise_layout_text(raw)


def normalise_layout_text(raw: str) -> str:
    """Keep one text line per printed line and columns on it, drop layout mode's padding.

    Leading spaces go, runs of 3 or more spaces inside a line become COLUMN_GAP, trailing
    spaces go, and at most one blank line is kept between text lines.
    """
    raw = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    lines = [_WIDE_GAP.sub(COLUMN_GAP, line.strip(" \t\u00a0")) for line in raw.split("\n")]
    text = "\n".join(lines).strip("\n")
    return _MANY_BLANK_LINES.sub("\n\n", text)


def count_text_chars(text: str | None) -> int:
    """Non-whitespace characters: the paperless rule for "this page has a text layer"."""
    if not text:
        return 0
    return sum(1 for ch in text if not ch.isspace())
