#!/usr/bin/env python3
"""Make the two sample reports the self-test analyses (resources/samples/).

    .venv/bin/python build/make_samples.py

Both are synthetic: made-up values under a made-up name, marked as samples, no patient
data. The outputs are kept in git so that a build does not depend on this script's fonts;
run it again only when the samples should change (and check that the self-test still
passes: `.venv/bin/medmitra-desktop --self-test`).

- sample-lab-report.pdf: a lab report with a text layer (read by pypdf, no OCR).
- sample-radiology-scan.pdf: a chest X-ray report as a grey, slightly blurred 300-dpi
  image with no text layer, as a flatbed scanner makes it (rendered by PDFium, read by
  Tesseract). Needs reportlab (a test dependency) and the DejaVu Sans font
  (Debian: fonts-dejavu-core).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont
from reportlab.lib.pagesizes import A5
from reportlab.pdfgen import canvas

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "resources" / "samples"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
MARK = "SYNTHETIC SAMPLE - NOT A PATIENT RECORD"

LAB_ROWS = [
    ("Hemoglobin", "10.9", "g/dL", "12.0 - 15.5"),
    ("WBC", "7.4", "10^3/uL", "4.0 - 11.0"),
    ("Platelets", "265", "10^3/uL", "150 - 400"),
    ("Glucose (fasting)", "92", "mg/dL", "70 - 99"),
    ("Creatinine", "0.8", "mg/dL", "0.6 - 1.1"),
]

SCAN_LINES = [
    "RADIOLOGY REPORT",
    MARK,
    "Examination: Chest X-ray PA view",
    "Findings: The lungs are clear. No focal consolidation.",
    "No pleural effusion. No pneumothorax. Heart size is normal.",
    "Impression: No acute cardiopulmonary abnormality.",
]


def lab_pdf() -> bytes:
    """A one-page A5 lab report with a real text layer, columns at fixed positions."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A5, invariant=True)  # invariant: same bytes each run
    pdf.setTitle("MedMitra Desktop sample lab report")
    pdf.setAuthor("MedMitra Desktop (synthetic sample)")
    _width, height = A5
    y = height - 50
    pdf.setFont("Helvetica-Bold", 12)
    pdf.drawString(36, y, "COMPLETE BLOOD COUNT AND CHEMISTRY")
    y -= 16
    pdf.setFont("Helvetica", 8)
    pdf.drawString(36, y, MARK)
    y -= 12
    pdf.drawString(36, y, "Patient: Sample Person   Age: 40   Sex: Female")
    y -= 24
    columns = (36, 150, 205, 270)
    pdf.setFont("Helvetica-Bold", 9)
    for x, title in zip(columns, ("Test", "Result", "Units", "Reference Interval"),
                        strict=True):
        pdf.drawString(x, y, title)
    pdf.setFont("Helvetica", 9)
    for row in LAB_ROWS:
        y -= 15
        for x, cell in zip(columns, row, strict=True):
            pdf.drawString(x, y, cell)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def scan_pdf() -> bytes:
    """A report printed, then scanned: grey paper, soft edges, no text layer."""
    dpi, size = 300, 40
    font = ImageFont.truetype(str(FONT), size)
    bold = ImageFont.truetype(str(FONT.with_name("DejaVuSans-Bold.ttf")), size)
    line_height = int(size * 1.7)
    page = Image.new("L", (2000, 220 + line_height * len(SCAN_LINES)), 238)
    draw = ImageDraw.Draw(page)
    for number, line in enumerate(SCAN_LINES):
        draw.text((110, 110 + number * line_height), line, fill=25,
                  font=bold if number == 0 else font)
    page = page.filter(ImageFilter.GaussianBlur(0.8))
    buffer = io.BytesIO()
    page.save(buffer, format="PDF", resolution=dpi, quality=60)
    return buffer.getvalue()


def main() -> int:
    if not FONT.is_file():
        print(f"needs the DejaVu Sans font at {FONT} (Debian: fonts-dejavu-core)",
              file=sys.stderr)
        return 1
    SAMPLES.mkdir(parents=True, exist_ok=True)
    for name, content in (("sample-lab-report.pdf", lab_pdf()),
                          ("sample-radiology-scan.pdf", scan_pdf())):
        target = SAMPLES / name
        target.write_bytes(content)
        print(f"{target.relative_to(ROOT)}: {len(content):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
