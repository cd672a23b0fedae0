"""Internal exceptions carrying the message a doctor will read. They never leave the package."""

from __future__ import annotations

from medmitra_desktop.domain.enums import DocumentStatus


class DocumentProblem(Exception):
    """The whole document cannot be read. `message` names the file and says what to do."""

    def __init__(self, status: DocumentStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class PageProblem(Exception):
    """One page cannot be read; the others may still work. `message` starts with 'page N'."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OcrUnavailable(Exception):
    """The OCR engine (or the language data it needs) is missing. `reason` is for the doctor."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def megapixels(pixels: int | float) -> str:
    """'150', '12', '2.5' or '0.2': enough digits for a size in a message."""
    value = pixels / 1e6
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.1f}".removesuffix(".0") if value >= 0.1 else f"{value:.2f}"
