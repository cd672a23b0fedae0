"""A demo data folder of realistic, entirely synthetic cases, made from documents generated
here (a text PDF, a phone-photo-like scan, a chest X-ray report), for screenshots and
trying the app. No real patient data. One patient (Vikram Shah) has three visits months
apart, with creatinine printed in µmol/L at one of them, for the patient history view.

    .venv/bin/python build/demo_cases.py DIR
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from medmitra_desktop.app import AppContext, open_app
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
TABLE_HEADER = "Test                 Result    Units     Reference Interval"
# Vikram Shah's kidney function over three visits: worse, then a little better; the
# second laboratory prints creatinine in µmol/L; potassium was not measured at the third.
VISITS = [
    (240, 57, "Follow-up of diabetes and hypertension. On metformin 500 mg BD, "
              "amlodipine 5 mg OD and atorvastatin 10 mg OD.",
     ["Creatinine           1.2       mg/dL     0.7 - 1.3",
      "Potassium            4.6       mmol/L    3.5 - 5.1",
      "HbA1c                7.9       %         4.0 - 5.6",
      "Hemoglobin           13.6      g/dL      13.0 - 17.0"]),
    (120, 58, "Ankle swelling. Metformin 1000 mg BD, amlodipine 5 mg OD, atorvastatin "
              "10 mg OD. Started telmisartan 40 mg OD.",
     ["Creatinine           168       µmol/L    62 - 115",
      "Potassium            5.4       mmol/L    3.5 - 5.1",
      "HbA1c                7.4       %         4.0 - 5.6",
      "Hemoglobin           12.4      g/dL      13.0 - 17.0"]),
    (7, 58, "Review. Metformin 500 mg BD (reduced for kidney function), telmisartan "
            "40 mg OD, atorvastatin 10 mg OD.",
     ["Creatinine           1.6       mg/dL     0.7 - 1.3",
      "HbA1c                7.0       %         4.0 - 5.6",
      "Hemoglobin           12.1      g/dL      13.0 - 17.0"]),
]
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
        add_patient_with_visits(context, files)
    finally:
        context.close()


def add_patient_with_visits(context: AppContext, files: Path) -> None:
    """Three visits of one patient, dated months apart (the dates are set directly: a
    demo cannot wait for them)."""
    from medmitra_desktop.storage.orm import Case

    now = datetime.now(UTC)
    for number, (days_ago, age, notes, lines) in enumerate(VISITS, start=1):
        report = text_pdf(files / f"vikram_kidney_panel_visit{number}.pdf",
                          ["KIDNEY FUNCTION AND DIABETES", TABLE_HEADER, *lines])
        case = context.cases.create_case(
            user_id="dr-demo", patient_name="Vikram Shah", patient_age=age,
            patient_gender="male", case_summary=notes,
            lab_files=[NewAttachment(report, DocumentCategory.LAB)])
        with context.database.session() as session:
            row = session.query(Case).filter_by(uid=case.case_id).one()
            row.created_at = row.updated_at = now - timedelta(days=days_ago)


if __name__ == "__main__":
    make_demo(Path(sys.argv[1]).resolve())
