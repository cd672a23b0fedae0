"""Plain text and CSV files: decode the bytes the way the sniffer judged them."""

from __future__ import annotations

import codecs

MAX_TEXT_BYTES = 50 * 1024 * 1024
"""A lab report exported as text is a few kilobytes; anything past this is not a report."""


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252; newlines become \\n."""
    if data.startswith(codecs.BOM_UTF8):
        text = data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            # cp1252 leaves five byte values undefined; show them as U+FFFD rather than fail.
            text = data.decode("cp1252", errors="replace")
    # A form feed is the page separator of ExtractedDocument.text: keep it out of page text.
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
