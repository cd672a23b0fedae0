"""A demo data folder of realistic, entirely synthetic cases, made from documents generated
here (a text PDF, a phone-photo-like scan, a chest X-ray report), for screenshots and
trying the app. No real patient data.

    .venv/bin/python build/demo_cases.py DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from medmitra_desktop.app import open_app
from medmitra_desktop.domain.enums import DocumentCategory
from medmitra_desktop.domain.records import NewAttachment

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
KIDNEY_PANEL = [
    "CITY DIAGNOSTICS - COMPLETE BLOOD COUNT AND KIDNEY FUNCTION",
    "Test                 Result    Units     Reference Interval",
    "Hemoglobin           9.1       g/dL      13.0 - 17.0",
    "MCV                  72        fL        80 - 100",
    "WBC                  7.2       10^3/uL   4.0 - 11.0",
    "Platelets            250       10^3/uL   150 - 400",
    "Creatinine           2.4       mg/dL     0.7 - 1.3",
    "Sodium               128       mmol/L    135 - 145",
    "Potassium            6.9       mmol/L    3.5 - 5.1",
]
DIABETES_PANEL = ["DIABETES PROFILE", "HbA1c                8.1      %         4.0 - 5.6",
                  "Glucose, Fasting     182      mg/dL     70 - 100"]
LIPIDS = ["LIPID PROFILE", "Total Cholesterol   262   mg/dL   <200",
          "Triglycerides   240   mg/dL   <150", "HDL Cholesterol   38   mg/dL   >40",
          "LDL Cholesterol   176   mg/dL   <130"]
CHEST_XRAY = (
    "CHEST X-RAY PA VIEW\nINDICATION: Breathlessness.\nFINDINGS: The heart is enlarged. "
    "No pneumothorax. Possible small left pleural effusion. No focal consolidation.\n"
    "IMPRESSION: Cardiomegaly with possible small left pleural effusion.\n")


def text_pdf(path: Path, lines: list[str]) -> Path:
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for number, line in enumerate(lines):
        pdf.drawString(60, 800 - 16 * number, line)
    pdf.save()
    return path


def scan(path: Path, lines: list[str]) -> Path:
    font = ImageFont.truetype(FONT, 34)
    page = Image.new("L", (1700, 200 + 55 * len(lines)), 255)
    draw = ImageDraw.Draw(page)
    for number, line in enumerate(lines):
        draw.text((100, 100 + 55 * number), line, fill=0, font=font)
    page.save(path, format="PNG", dpi=(300, 300))
    return path


def make_demo(data_dir: Path) -> None:
    files = data_dir.parent / f"{data_dir.name}-documents"
    files.mkdir(parents=True, exist_ok=True)
    kidney = text_pdf(files / "city_lab_cbc_kft.pdf", KIDNEY_PANEL)
    diabetes = scan(files / "diabetes_profile_photo.png", DIABETES_PANEL)
    lipids = text_pdf(files / "lipid_profile.pdf", LIPIDS)
    xray = files / "chest_xray_report.txt"
    xray.write_text(CHEST_XRAY, encoding="utf-8")
    context = open_app(str(data_dir))
    try:
        create = context.cases.create_case
        create(user_id="dr-demo", patient_name="Ramesh Iyer", patient_age=62,
               patient_gender="male", patient_record_number="MRN-20418",
               case_summary="Breathless on exertion for 3 weeks, ankle swelling. Known "
                            "diabetic. On metformin 500 mg twice daily and amlodipine 5 mg "
                            "daily. Allergic to penicillin.",
               lab_files=[NewAttachment(kidney, DocumentCategory.LAB),
                          NewAttachment(diabetes, DocumentCategory.LAB)],
               radiology_files=[NewAttachment(xray, DocumentCategory.RADIOLOGY)])
        create(user_id="dr-demo", patient_name="Asha Verma", patient_age=45,
               patient_gender="female", case_summary="Routine check. On atorvastatin 10 mg OD.",
               lab_files=[NewAttachment(lipids, DocumentCategory.LAB)])
        create(user_id="dr-demo", patient_name="محمد عبد الله", patient_age=33,
               patient_gender="male", case_summary="Chest pain on exertion.")
    finally:
        context.close()


if __name__ == "__main__":
    make_demo(Path(sys.argv[1]).resolve())
