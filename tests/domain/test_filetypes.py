from __future__ import annotations

import pytest

from medmitra_desktop.domain.filetypes import FileKind, sniff_bytes
from tests.factories import png_bytes


@pytest.mark.parametrize(("head", "kind"), [
    (b"%PDF-1.7\n%\xe2\xe3", FileKind.PDF),
    (b"\r\n\r\n%PDF-1.4 junk before the header", FileKind.PDF),
    (png_bytes(), FileKind.PNG),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", FileKind.JPEG),
    (b"II*\x00\x08\x00\x00\x00", FileKind.TIFF),
    (b"MM\x00*\x00\x00\x00\x08", FileKind.TIFF),
    (b"BM" + b"\x00" * 12 + bytes([40]) + b"\x00" * 20, FileKind.BMP),
    (b"Hemoglobin 10.2 g/dL\nPlatelets 250\n", FileKind.TXT),
    (b"test,value,unit\nHb,10.2,g/dL\nWBC,5.1,10^3/uL\n", FileKind.CSV),
    ("नाम: मोहन\nHb 10\n".encode(), FileKind.TXT),
    ("Report\nline".encode("utf-16"), FileKind.TXT),
])
def test_kinds_from_content(head: bytes, kind: FileKind) -> None:
    assert sniff_bytes(head).kind is kind


@pytest.mark.parametrize(("head", "words"), [
    (b"", "empty"),
    (b"PK\x03\x04rest", "ZIP"),
    (b"GIF89a", "GIF"),
    (b"\x00\x01\x02\x03\xff\xfe\x00", "binary"),
    (b"\x7fELF\x02\x01", "program"),
])
def test_other_kinds_are_described(head: bytes, words: str) -> None:
    sniffed = sniff_bytes(head)
    assert sniffed.kind is None and words in sniffed.description


def test_multibyte_character_cut_at_window_end_is_still_text() -> None:
    head = ("Creatinine 1.2 mg/dL µmol " * 400).encode()[:8191]
    assert sniff_bytes(head).kind is FileKind.TXT
