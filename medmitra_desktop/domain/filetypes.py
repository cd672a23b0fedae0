"""What a file really is, judged from its first bytes, never from its name."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

SNIFF_BYTES = 8192


class FileKind(StrEnum):
    PDF = "pdf"
    PNG = "png"
    JPEG = "jpeg"
    TIFF = "tiff"
    BMP = "bmp"
    TXT = "txt"
    CSV = "csv"


MIME_TYPES: dict[FileKind, str] = {
    FileKind.PDF: "application/pdf",
    FileKind.PNG: "image/png",
    FileKind.JPEG: "image/jpeg",
    FileKind.TIFF: "image/tiff",
    FileKind.BMP: "image/bmp",
    FileKind.TXT: "text/plain",
    FileKind.CSV: "text/csv",
}

IMAGE_KINDS = frozenset({FileKind.PNG, FileKind.JPEG, FileKind.TIFF, FileKind.BMP})
TEXT_KINDS = frozenset({FileKind.TXT, FileKind.CSV})

ALLOWED_DESCRIPTION = "PDF, PNG, JPEG, TIFF, BMP, TXT or CSV"

# Formats people attach by mistake, so the message can say what the file is.
_KNOWN_OTHERS: list[tuple[bytes, str]] = [
    (b"PK\x03\x04", "a ZIP archive (or a Word/Excel document)"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"GIF8", "a GIF image"),
    (b"RIFF", "a RIFF media file (WEBP image, WAV or AVI)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"DICM", "a DICOM image"),
]


@dataclass(frozen=True)
class Sniffed:
    kind: FileKind | None
    description: str

    @property
    def mime_type(self) -> str:
        return MIME_TYPES[self.kind] if self.kind else "application/octet-stream"


def sniff_bytes(head: bytes) -> Sniffed:
    """Classify a file from its first bytes (SNIFF_BYTES is plenty)."""
    if not head:
        return Sniffed(None, "an empty file")
    # Some producers put junk before the header; readers accept it within the first KiB.
    if b"%PDF-" in head[:1024]:
        return Sniffed(FileKind.PDF, "a PDF document")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(FileKind.PNG, "a PNG image")
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed(FileKind.JPEG, "a JPEG image")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return Sniffed(FileKind.TIFF, "a TIFF image")
    if head.startswith(b"BM") and len(head) >= 26 and head[14] in (12, 40, 52, 56, 64, 108, 124):
        return Sniffed(FileKind.BMP, "a BMP image")
    # DICOM Part 10: a 128-byte preamble, then the "DICM" prefix.
    if head[128:132] == b"DICM":
        return Sniffed(None, "a DICOM image")
    for magic, description in _KNOWN_OTHERS:
        if head.startswith(magic):
            return Sniffed(None, description)
    text = _decode_text(head)
    if text is None:
        return Sniffed(None, "a binary file of an unknown kind")
    if _looks_like_csv(text):
        return Sniffed(FileKind.CSV, "a CSV table")
    return Sniffed(FileKind.TXT, "a text file")


def sniff_file(path: Path) -> Sniffed:
    with path.open("rb") as handle:
        return sniff_bytes(handle.read(SNIFF_BYTES))


def _decode_text(head: bytes) -> str | None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings: tuple[str, ...] = ("utf-16",)
    elif b"\x00" in head:
        return None
    else:
        encodings = ("utf-8-sig", "cp1252")
    for encoding in encodings:
        # The sniff window may cut a multi-byte character in half: allow a short tail.
        text = _decode_allowing_cut_tail(head, encoding)
        if text is None:
            continue
        printable = sum(ch.isprintable() or ch in "\r\n\t\f" for ch in text)
        if text and printable / len(text) > 0.95:
            return text
    return None


def _decode_allowing_cut_tail(head: bytes, encoding: str) -> str | None:
    for cut in range(4):
        try:
            return head[: len(head) - cut].decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _looks_like_csv(text: str) -> bool:
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) < 2:
        return False
    # A complete last line only: the sniff window may have cut it.
    lines = lines[:-1] if len(lines) > 2 else lines
    for delimiter in (",", ";", "\t"):
        counts = {line.count(delimiter) for line in lines}
        if len(counts) == 1 and counts.pop() >= 1:
            return True
    return False
