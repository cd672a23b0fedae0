"""Pages drawn as pictures with pypdfium2, for the OCR engine.

PDFium is not thread-safe, not even across different documents, so every call into it goes
through one lock. Rendering is short next to OCR, so the lock costs little.
"""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from .problems import PageProblem, megapixels

log = logging.getLogger(__name__)

PDFIUM_LOCK = threading.Lock()
"""Serialises every PDFium call made by this package."""

POINTS_PER_INCH = 72
MAX_COLOUR_RENDER_PIXELS = 25_000_000  # A3 at 300 dpi is 17 megapixels


class PdfRenderer:
    """Opens the PDF in PDFium on first use; close() releases it. Safe to use from threads."""

    def __init__(self, source: Path | bytes, password: str | None) -> None:
        self._source = source
        self._password = password
        self._document: pdfium.PdfDocument | None = None
        self._open_error: Exception | None = None

    def __enter__(self) -> PdfRenderer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with PDFIUM_LOCK:
            if self._document is not None:
                self._document.close()
                self._document = None

    def page_count(self) -> int:
        """Raises pdfium.PdfiumError when PDFium cannot open the file either."""
        with PDFIUM_LOCK:
            return len(self._open())

    def page_text(self, index: int) -> str:
        """PDFium's own text of a page: the fallback when pypdf cannot read the file."""
        with PDFIUM_LOCK:
            page = self._open()[index]
            try:
                textpage = page.get_textpage()
                try:
                    return textpage.get_text_bounded()
                finally:
                    textpage.close()
            finally:
                page.close()

    def render_gray(self, number: int, dpi: int, max_pixels: int) -> Image.Image:
        """Page `number` (1-based) as an 8-bit grayscale image at `dpi`.

        Raises PageProblem when the page cannot be drawn or would be too large.
        """
        scale = dpi / POINTS_PER_INCH
        with PDFIUM_LOCK:
            try:
                page = self._open()[number - 1]
            except Exception as exc:
                log.debug("PDFium could not load page %d", number, exc_info=True)
                raise PageProblem(
                    f"page {number} could not be drawn for reading (it may be damaged)"
                ) from exc
            try:
                width_pt, height_pt = page.get_size()
                pixels = math.ceil(width_pt * scale) * math.ceil(height_pt * scale)
                if pixels > max_pixels:
                    raise PageProblem(
                        f"page {number} is too large to read safely "
                        f"({width_pt / POINTS_PER_INCH:.0f} × {height_pt / POINTS_PER_INCH:.0f} "
                        f"inches, {megapixels(pixels)} megapixels at {dpi} dpi; "
                        f"the limit is {megapixels(max_pixels)})"
                    )
                picture = _largest_picture(page)
                if picture > max_pixels:
                    raise PageProblem(
                        f"page {number} holds a picture too large to read safely "
                        f"({megapixels(picture)} megapixels; the limit is {megapixels(max_pixels)})"
                    )
                # PDFium's own grayscale mode is ~3x slower than drawing in colour and
                # converting; colour needs 4 bytes a pixel, so very large pages stay gray.
                colour = pixels <= MAX_COLOUR_RENDER_PIXELS
                try:
                    if colour:
                        bitmap = page.render(scale=scale, prefer_bgrx=True, rev_byteorder=True)
                    else:
                        bitmap = page.render(scale=scale, grayscale=True)
                except Exception as exc:
                    log.debug("PDFium could not render page %d", number, exc_info=True)
                    raise PageProblem(
                        f"page {number} could not be drawn for reading (it may be damaged)"
                    ) from exc
                try:
                    # to_pil may share the bitmap's memory: copy before the bitmap is freed.
                    image = bitmap.to_pil()
                    image = image.convert("L") if image.mode != "L" else image.copy()
                finally:
                    bitmap.close()
            finally:
                page.close()
        image.info["dpi"] = (dpi, dpi)
        return image

    def _open(self) -> pdfium.PdfDocument:
        if self._open_error is not None:
            raise self._open_error
        if self._document is None:
            try:
                self._document = pdfium.PdfDocument(self._source, password=self._password)
            except Exception as exc:
                log.debug("PDFium could not open the file", exc_info=True)
                self._open_error = exc
                raise
        return self._document


def _largest_picture(page: pdfium.PdfPage) -> int:
    """Pixels of the biggest picture on the page, from its header: drawing the page decodes
    every picture in full, so a small page can still hide a decompression bomb."""
    largest = 0
    try:
        for image in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=4):
            try:
                width, height = image.get_px_size()
            except pdfium.PdfiumError:
                continue
            largest = max(largest, width * height)
    except Exception:
        log.debug("could not list the pictures of a page", exc_info=True)
    return largest
