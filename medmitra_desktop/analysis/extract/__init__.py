"""Text out of lab and radiology reports: PDF text layers, rendered pages, scans and photos.

Pure: files in, dataclasses out. No Qt, no database, no network.

    document = extract_document(path, options=ExtractOptions(), progress=..., cancel=token)
    if document.status is DocumentStatus.OK:
        ... document.text, document.pages ...
    else:
        show(document.error)  # names the file and says what to do

Modules: model (results and options), cancel (CancelToken), document (extract_document),
pdf_text (pypdf text layer), render (PDFium page images), ocr (Tesseract), images (scans and
photos), text_files (TXT and CSV decoding).
"""

from .cancel import CancelToken, ExtractionCancelled
from .document import extract_document
from .model import (
    PAGE_SEPARATOR,
    SOURCE_MIXED,
    SOURCE_OCR,
    SOURCE_TEXT,
    ExtractedDocument,
    ExtractOptions,
    OcrWord,
    PageText,
)
from .ocr import ocr_engine_status

__all__ = [
    "PAGE_SEPARATOR",
    "SOURCE_MIXED",
    "SOURCE_OCR",
    "SOURCE_TEXT",
    "CancelToken",
    "ExtractOptions",
    "ExtractedDocument",
    "ExtractionCancelled",
    "OcrWord",
    "PageText",
    "extract_document",
    "ocr_engine_status",
]
