"""The case report as a PDF drawn by Qt: pages, the signed or DRAFT — UNSIGNED mark on
every page, the letterhead logo, page numbers; and the report job dialog's progress and
Cancel in the window."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog

from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.enums import ReportStatus
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.services.case_document import CaseReport
from medmitra_desktop.services.clinic_logo import ClinicLogoStore
from medmitra_desktop.ui import report_dialog
from medmitra_desktop.ui.report_dialog import ReportProgressDialog
from medmitra_desktop.ui.report_pdf import render_pdf
from tests.factories import LAB_LINES, text_pdf
from tests.qt.test_case_detail import analysed

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def page_words(path: Path) -> list[str]:
    """Each page's words (Qt's gaps read as tabs, its ligatures as "ﬀ": both folded)."""
    return [" ".join(unicodedata.normalize("NFKC", page.extract_text()).split())
            for page in PdfReader(path).pages]


def test_draft_report_marks_every_page(qapp, context: AppContext, jobs: AnalysisJobs,
                                       tmp_path: Path) -> None:
    case = analysed(context, jobs, notes="Tired for two months. On metformin 500 mg BD.",
                    lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    steps: list[tuple[float, str]] = []
    out = tmp_path / "out"
    out.mkdir()
    pages = render_pdf(context.documents.report(case.case_id), out / "draft.pdf",
                       lambda fraction, message: steps.append((fraction, message)))

    texts = page_words(out / "draft.pdf")
    assert len(texts) == pages >= 2
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {pages}" in text
        assert "DRAFT — UNSIGNED" in text  # footer (and the faint mark) on every page
        assert "Generated" in text and "MedMitra Desktop" in text
        assert text.count("Asha Verma · 45 y · Female") == 1  # the running header, once
    whole = " ".join(texts)
    assert "Hemoglobin" in whole and "metformin" in whole and "Differential" in whole
    assert steps[0] == (0.0, f"Page 1 of {pages}") and steps[-1] == (1.0, "Saving")
    assert [p.name for p in out.iterdir()] == ["draft.pdf"]  # no temporary file left


def test_signed_report_with_the_clinic_letterhead(qapp, context: AppContext,
                                                  jobs: AnalysisJobs, tmp_path: Path) -> None:
    case = analysed(context, jobs, notes="Tired for two months.",
                    lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    logo = tmp_path / "logo.png"
    Image.new("RGB", (300, 100), (30, 90, 160)).save(logo, format="PNG")
    name = ClinicLogoStore(context.paths.branding).store(logo)
    context.settings.save(replace(context.settings.load(), clinic_name="Shanti Clinic",
                                  doctor_name="Dr. Meera Nair", clinic_logo=name))
    draft = context.soap_notes.current(case.case_id)
    context.soap_notes.save(case.case_id, user_id="dr-meera", based_on=0, sections={
        section: getattr(draft, section) or "-"
        for section in ("subjective", "objective", "assessment", "plan")})
    context.soap_notes.sign(case.case_id, user_id="dr-meera", doctor_name="Dr. Meera Nair")

    target = tmp_path / "signed.pdf"
    pages = render_pdf(context.documents.report(case.case_id), target)
    texts = page_words(target)
    assert len(texts) == pages
    assert texts[0].startswith("Asha Verma") or "Shanti Clinic" in texts[0]
    assert "Shanti Clinic" in texts[0] and "Dr. Meera Nair" in texts[0]
    for text in texts:
        assert "SOAP note signed by Dr. Meera Nair on" in text
        assert "DRAFT" not in text and "UNSIGNED" not in text
    assert len(PdfReader(target).pages[0].images) == 1  # the logo, on the first page only
    assert all(len(page.images) == 0 for page in PdfReader(target).pages[1:])


def test_the_dialog_shows_progress_and_closes_when_done(qtbot, context: AppContext,
                                                        tmp_path: Path) -> None:
    from tests.factories import make_case

    case = make_case(context.cases, name="Bela Rao")
    job = context.reports.create(case.case_id, user_id="dr", output_path=tmp_path / "b.pdf")
    dialog = ReportProgressDialog(context.reports, job)
    qtbot.addWidget(dialog)
    values: list[int] = []
    dialog.bar.valueChanged.connect(values.append)

    assert dialog.exec() == QDialog.DialogCode.Accepted
    assert dialog.job is not None and dialog.job.status is ReportStatus.SUCCEEDED
    assert values == sorted(values) and values[-1] == 100 and len(values) >= 3
    assert dialog.step.text() == "Saving"
    assert (tmp_path / "b.pdf").read_bytes().startswith(b"%PDF-")


def test_cancel_stops_the_job_and_writes_nothing(qtbot, context: AppContext, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.factories import make_case

    def slow(report: CaseReport, target: Path,
             step: Callable[[float, str], None]) -> int:
        for page in range(200):
            step(page / 200, f"Page {page + 1} of 200")
            time.sleep(0.01)
        target.write_bytes(b"%PDF-")
        return 200

    monkeypatch.setattr(report_dialog, "render_pdf", slow)
    case = make_case(context.cases)
    job = context.reports.create(case.case_id, user_id="dr", output_path=tmp_path / "c.pdf")
    dialog = ReportProgressDialog(context.reports, job)
    qtbot.addWidget(dialog)
    pressed: list[str] = []

    started = time.monotonic()

    def press_cancel() -> None:
        # Once pages are being drawn (or after 10 s, which then fails below): a fixed
        # delay raced the job's start on a busy machine.
        if pressed or (not dialog.step.text().startswith("Page ")
                       and time.monotonic() - started < 10):
            return
        pressed.append(dialog.step.text())
        dialog.cancel_button.click()
        pressed.append(dialog.step.text())

    poll = QTimer()
    poll.timeout.connect(press_cancel)
    poll.start(20)
    assert dialog.exec() == QDialog.DialogCode.Rejected
    poll.stop()
    assert pressed[0].startswith("Page ") and pressed[1] == "Cancelling…"
    assert dialog.job is not None and dialog.job.status is ReportStatus.CANCELLED
    assert context.reports.get(job.job_id).status is ReportStatus.CANCELLED
    assert not (tmp_path / "c.pdf").exists()
