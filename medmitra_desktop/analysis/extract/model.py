"""The results of text extraction and the options that steer it: plain frozen dataclasses."""

from __future__ import annotations

import os
from dataclasses import dataclass

from medmitra_desktop.domain.enums import DocumentStatus
from medmitra_desktop.domain.filetypes import FileKind

SOURCE_TEXT = "text"
"""The page text came from the file itself (a PDF text layer, a TXT or CSV file)."""
SOURCE_OCR = "ocr"
"""The page text was read from a picture of the page by the OCR engine."""
SOURCE_MIXED = "mixed"
"""A document where some pages came from the text layer and others from OCR."""

PAGE_SEPARATOR = "\n\f\n"


@dataclass(frozen=True)
class OcrWord:
    """One word as Tesseract saw it, in pixels of the image that was read."""

    text: str
    confidence: float  # 0-100, from tesseract
    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True)
class PageText:
    number: int  # 1-based
    text: str
    source: str  # SOURCE_TEXT | SOURCE_OCR
    words: tuple[OcrWord, ...] = ()  # OCR pages only
    mean_confidence: float | None = None
    error: str | None = None  # this page failed while the others may have worked


@dataclass(frozen=True)
class ExtractOptions:
    max_pages: int = 500
    ocr_language: str = "eng"  # tesseract language codes, several joined with "+"
    tesseract_cmd: str | None = None  # None: "tesseract" on PATH
    ocr_workers: int = os.cpu_count() or 1
    dpi: int = 300  # PDF pages are rendered at this resolution; images are brought near it
    max_image_pixels: int = 150_000_000
    ocr_timeout_seconds: float = 120
    min_text_chars: int = 50  # a PDF page with fewer non-blank characters is OCRed
    password: str | None = None

    def __post_init__(self) -> None:
        if self.max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        if self.ocr_workers < 1:
            raise ValueError("ocr_workers must be at least 1")
        if not 72 <= self.dpi <= 1200:
            raise ValueError("dpi must be between 72 and 1200")
        if self.max_image_pixels < 1:
            raise ValueError("max_image_pixels must be positive")
        if self.ocr_timeout_seconds <= 0:
            raise ValueError("ocr_timeout_seconds must be positive")
        if self.min_text_chars < 0:
            raise ValueError("min_text_chars must not be negative")
        if not self.ocr_language or any(
            not part.replace("_", "").isalnum() for part in self.ocr_language.split("+")
        ):
            raise ValueError("ocr_language must look like 'eng' or 'eng+hin'")


@dataclass(frozen=True)
class ExtractedDocument:
    kind: FileKind | None
    status: DocumentStatus  # OK, FAILED, NEEDS_PASSWORD or OCR_UNAVAILABLE
    # In words a doctor understands, naming the file. None when everything was read; with OK it
    # says which pages could not be read.
    error: str | None
    pages: tuple[PageText, ...]
    text_source: str | None  # SOURCE_TEXT | SOURCE_OCR | SOURCE_MIXED; None without text
    seconds: float

    @property
    def text(self) -> str:
        return PAGE_SEPARATOR.join(page.text for page in self.pages)
