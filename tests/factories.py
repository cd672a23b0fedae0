"""Small files and cases the tests make for themselves."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from medmitra_desktop.domain.enums import DocumentCategory
from medmitra_desktop.domain.records import CaseRecord, NewAttachment
from medmitra_desktop.services.cases import CaseService


def text_pdf(path: Path, lines: list[str]) -> Path:
    pdf = canvas.Canvas(str(path), pagesize=A4)
    y = 800
    for line in lines:
        pdf.drawString(60, y, line)
        y -= 16
    pdf.save()
    return path


def png_image(path: Path, size: tuple[int, int] = (40, 30)) -> Path:
    Image.new("L", size, 255).save(path, format="PNG")
    return path


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (8, 8), 255).save(buffer, format="PNG")
    return buffer.getvalue()


def text_file(path: Path, text: str = "Hemoglobin 10.2 g/dL 13.0-17.0\n") -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def make_case(service: CaseService, *, name: str = "Asha Verma", age: object = 45,
              gender: str = "female", notes: str = "", lab: list[Path] | None = None,
              radiology: list[Path] | None = None, user_id: str = "dr-test") -> CaseRecord:
    return service.create_case(
        user_id=user_id, patient_name=name, patient_age=age, patient_gender=gender,
        case_summary=notes,
        lab_files=[NewAttachment(p, DocumentCategory.LAB) for p in lab or []],
        radiology_files=[NewAttachment(p, DocumentCategory.RADIOLOGY) for p in radiology or []],
    )


FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def scanned_page(lines: list[str], *, width: int = 1700, size: int = 34) -> Image.Image:
    """A white page with black text, as a 200-300 dpi scan of a printed report looks."""
    font = ImageFont.truetype(FONT, size)
    height = 200 + len(lines) * int(size * 1.6)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    for number, line in enumerate(lines):
        draw.text((100, 100 + number * int(size * 1.6)), line, fill=0, font=font)
    return page


def scanned_png(path: Path, lines: list[str]) -> Path:
    scanned_page(lines).save(path, format="PNG", dpi=(300, 300))
    return path


def image_pdf(path: Path, pages: list[list[str]]) -> Path:
    images = [scanned_page(lines).convert("RGB") for lines in pages]
    images[0].save(path, format="PDF", resolution=300, save_all=True,
                   append_images=images[1:])
    return path


LAB_LINES = [
    "COMPLETE BLOOD COUNT",
    "Test                 Result    Units     Reference Interval",
    "Hemoglobin           9.1       g/dL      13.0 - 17.0",
    "WBC                  7.2       10^3/uL   4.0 - 11.0",
    "Platelets            250       10^3/uL   150 - 400",
    "Creatinine           1.1       mg/dL     0.7 - 1.3",
]
