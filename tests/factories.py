"""Small files and cases the tests make for themselves."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
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
