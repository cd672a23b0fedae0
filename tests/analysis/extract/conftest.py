"""Fixture files for the extraction tests, all generated here into temporary directories.

Pages are small (a few inches at 300 dpi) so the real Tesseract runs stay quick.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DPI = 300

TITLE = "CITY DIAGNOSTIC LABORATORY"
LAB_ROWS = [
    ("Hemoglobin", "13.5", "g/dL", "13.0 - 17.0"),
    ("Glucose Fasting", "98", "mg/dL", "70 - 100"),
]
SENTENCES = [
    "Findings: The lungs are clear. No pleural effusion.",
    "Impression: No acute cardiopulmonary abnormality.",
]
# Words the OCR must find on a scan page (distinct enough to survive small OCR slips).
SCAN_WORDS = ("LABORATORY", "Hemoglobin", "Glucose", "pleural", "Impression")


@pytest.fixture(scope="session", autouse=True)
def _one_thread_per_tesseract() -> Iterator[None]:
    previous = os.environ.get("OMP_THREAD_LIMIT")
    os.environ["OMP_THREAD_LIMIT"] = "1"
    yield
    if previous is None:
        os.environ.pop("OMP_THREAD_LIMIT", None)
    else:
        os.environ["OMP_THREAD_LIMIT"] = previous


class Make:
    """Builders for fixture files. Each writes into `directory` and returns the path."""

    TITLE = TITLE
    LAB_ROWS = LAB_ROWS
    SENTENCES = SENTENCES
    SCAN_WORDS = SCAN_WORDS

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    # -- pictures of pages ---------------------------------------------------------------

    @staticmethod
    def scan_image(
        scale: float = 1.0, extra_lines: tuple[str, ...] = (), title: str = TITLE
    ) -> Image.Image:
        """A white 6 x 2.4 inch page at 300 dpi (times `scale`) with black text."""
        font_px = round(42 * scale)
        font = ImageFont.truetype(FONT, font_px)
        width, height = round(1800 * scale), round((720 + 70 * len(extra_lines)) * scale)
        image = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(image)
        step = round(70 * scale)
        y = round(60 * scale)
        draw.text((round(80 * scale), y), title, font=font, fill=0)
        for row in LAB_ROWS:
            y += step
            for x, cell in zip((80, 700, 950, 1250), row, strict=True):
                draw.text((round(x * scale), y), cell, font=font, fill=0)
        for line in (*SENTENCES, *extra_lines):
            y += step
            draw.text((round(80 * scale), y), line, font=font, fill=0)
        return image

    def save_image(self, image: Image.Image, name: str, **params: object) -> Path:
        path = self.directory / name
        image.save(path, **params)
        return path

    def image_pdf(self, name: str, pages: list[Image.Image]) -> Path:
        """An image-only PDF (a scan without a text layer), as PIL writes it."""
        path = self.directory / name
        pages[0].save(path, "PDF", resolution=DPI, save_all=True, append_images=pages[1:])
        return path

    # -- PDFs with a text layer ------------------------------------------------------------

    @staticmethod
    def text_pdf_bytes(pages: int = 1, label: str = "Report") -> bytes:
        buffer = io.BytesIO()
        pdf = canvas.Canvas(buffer, pagesize=A4)
        for number in range(1, pages + 1):
            _draw_lab_page(pdf, f"{label} page {number}")
            pdf.showPage()
        pdf.save()
        return buffer.getvalue()

    def text_pdf(self, name: str, pages: int = 1, label: str = "Report") -> Path:
        path = self.directory / name
        path.write_bytes(self.text_pdf_bytes(pages, label))
        return path

    def mixed_pdf(self, name: str) -> Path:
        """Page 1: a printed lab table (text layer). Page 2: a scanned page (picture only)."""
        path = self.directory / name
        pdf = canvas.Canvas(str(path), pagesize=A4)
        _draw_lab_page(pdf, "Printed page")
        pdf.showPage()
        scan = self.scan_image()
        width_pt, height_pt = scan.width * 72 / DPI, scan.height * 72 / DPI
        pdf.setPageSize((width_pt, height_pt))
        pdf.drawImage(ImageReader(scan), 0, 0, width=width_pt, height=height_pt)
        pdf.showPage()
        pdf.save()
        return path

    def encrypted_pdf(self, name: str, user_password: str, owner_password: str) -> Path:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(self.text_pdf_bytes())))
        writer.encrypt(
            user_password=user_password, owner_password=owner_password, algorithm="AES-128"
        )
        path = self.directory / name
        with path.open("wb") as stream:
            writer.write(stream)
        return path

    def huge_page_pdf(self, name: str) -> Path:
        """A blank page of 200 x 200 inches: 3.6 gigapixels at 300 dpi."""
        path = self.directory / name
        pdf = canvas.Canvas(str(path), pagesize=(14400, 14400))
        pdf.showPage()
        pdf.save()
        return path

    def small_page_big_picture(self, name: str) -> Path:
        """A 2 x 1 inch page showing a 1800 x 720 pixel picture (a 900-dpi scan)."""
        path = self.directory / name
        pdf = canvas.Canvas(str(path), pagesize=(144, 72))
        pdf.drawImage(ImageReader(self.scan_image()), 0, 0, width=144, height=72)
        pdf.showPage()
        pdf.save()
        return path

    # -- hostile files ---------------------------------------------------------------------

    def png_bomb(self, name: str, width: int = 40_000, height: int = 40_000) -> Path:
        """A PNG header claiming a huge 1-bit image; only a few hundred bytes on disk."""
        row = b"\x00" + b"\x00" * ((width + 7) // 8)
        compressor = zlib.compressobj(9)
        data = b"".join(compressor.compress(row) for _ in range(64)) + compressor.flush()
        png = b"\x89PNG\r\n\x1a\n"
        png += _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
        png += _png_chunk(b"IDAT", data)
        png += _png_chunk(b"IEND", b"")
        path = self.directory / name
        path.write_bytes(png)
        return path


def _draw_lab_page(pdf: canvas.Canvas, heading: str) -> None:
    pdf.setFont("Helvetica-Bold", 14)
    pdf.drawString(180, 800, TITLE)
    pdf.setFont("Helvetica", 10)
    pdf.drawString(50, 775, heading)
    pdf.drawString(50, 760, "Patient: Test Person    Age: 45 Y    Sex: M")
    y = 730
    for row in [("Test", "Result", "Units", "Reference Range"), *LAB_ROWS]:
        for x, cell in zip((50, 250, 330, 420), row, strict=True):
            pdf.drawString(x, y, cell)
        y -= 16
    for sentence in SENTENCES:
        y -= 16
        pdf.drawString(50, y, sentence)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.fixture(scope="module")
def make(tmp_path_factory: pytest.TempPathFactory) -> Make:
    return Make(tmp_path_factory.mktemp("extract"))
