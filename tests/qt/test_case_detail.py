"""The case detail view, opened from the list of a real window on cases the real analysis
job has analysed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pypdf import PdfWriter
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPalette, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QWidget,
)
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from medmitra_desktop.analysis.pipeline import Analyzer
from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.enums import CaseStatus
from medmitra_desktop.domain.errors import NotFoundError
from medmitra_desktop.domain.records import CaseQuery, CaseRecord
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.services.case_results import PageView
from medmitra_desktop.ui.main_window import MainWindow
from medmitra_desktop.ui.models.detail_models import (
    DifferentialTableModel,
    DocumentTableModel,
    HistoryTableModel,
    MedicationTableModel,
)
from medmitra_desktop.ui.models.lab_table_model import (
    FLAG,
    KNOWLEDGE_BASE_NOTE,
    REFERENCE,
    RESULT,
    SOURCE,
    TEST,
    LabTableModel,
)
from medmitra_desktop.ui.theme import dark_palette
from medmitra_desktop.ui.views import evidence
from medmitra_desktop.ui.views.case_detail import (
    DOCUMENTS_TAB,
    LABS_TAB,
    MEDICATIONS_TAB,
    RADIOLOGY_TAB,
    CaseDetailView,
)
from medmitra_desktop.ui.views.case_edit_dialog import CaseEditDialog
from medmitra_desktop.ui.views.detail_documents import LOW_CONFIDENCE, highlight_low_confidence
from medmitra_desktop.ui.views.medication_review_dialog import MedicationReviewDialog
from medmitra_desktop.ui.widgets.clinical_colors import ClinicalColors, contrast_ratio
from medmitra_desktop.ui.workers import AnalysisRunner
from tests.factories import LAB_LINES, make_case, scanned_png, text_file, text_pdf
from tests.qt.palettes import PALETTE_CASES, palette_for

RADIOLOGY_TEXT = ("CHEST X-RAY PA VIEW\nFINDINGS: No pneumothorax. The heart is enlarged.\n"
                  "IMPRESSION: Cardiomegaly.\n")
CRITICAL_LINES = "Hemoglobin 5.8 g/dL 13.0-17.0\nPotassium 6.9 mmol/L\n"
# Shown windows on the offscreen platform log this harmless note.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def window(qtbot, context: AppContext, settings: QSettings) -> Iterator[MainWindow]:
    main = MainWindow(context, "dr-qt", settings)
    qtbot.addWidget(main)
    main.resize(1200, 760)
    main.show()
    qtbot.waitExposed(main)
    main.activateWindow()
    qtbot.waitUntil(main.isActiveWindow, timeout=2000)
    yield main


def analysed(context: AppContext, jobs: AnalysisJobs, **case_fields: object) -> CaseRecord:
    case = make_case(context.cases, **case_fields)  # type: ignore[arg-type]
    outcome = jobs.run_next()
    assert outcome is not None and outcome.case_id == case.case_id
    return context.cases.get_case(case.case_id)


def open_by_double_click(qtbot, window: MainWindow, row: int = 0) -> CaseDetailView:
    window.reload()
    centre = window.table.visualRect(window.model.index(row, 0)).center()
    # A real double-click: the first press selects, the second press and release open.
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseDClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert window.stack.currentWidget() is window.detail
    return window.detail


def drive_modal(qtbot, action: Callable[[QDialog], None]) -> list[BaseException]:
    """Run `action` on the next modal dialog once it is showing; errors are returned (and
    the dialog closed) instead of leaving exec() waiting forever."""
    errors: list[BaseException] = []

    def run() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QDialog):
            QTimer.singleShot(10, run)
            return
        try:
            action(dialog)
        except BaseException as error:  # handed to the test, which re-raises it
            errors.append(error)
            dialog.reject()

    QTimer.singleShot(0, run)
    return errors


def two_page_pdf(path: Path) -> Path:
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.drawString(60, 800, "CITY LAB - patient demographics, page one")
    pdf.showPage()
    y = 800
    for line in LAB_LINES:
        pdf.drawString(60, y, line)
        y -= 16
    pdf.save()
    return path


# ---- opening and going back -------------------------------------------------------------


def test_double_click_opens_the_case_and_back_returns(qtbot, window: MainWindow,
                                                      context: AppContext, jobs: AnalysisJobs,
                                                      tmp_path: Path) -> None:
    case = analysed(context, jobs, name="Asha Verma",
                    lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    detail = open_by_double_click(qtbot, window)
    assert detail.case_id == case.case_id
    assert detail.patient_label.text() == "Asha Verma"
    assert "45 y · Female" in detail.details_label.text()
    assert "Analysis completed" in detail.status_label.text()
    assert window.windowTitle().startswith("Asha Verma")
    # Opening is audited, and the History tab shows it.
    actions = [detail.history.model.index(r, 2).data()
               for r in range(detail.history.model.rowCount())]
    assert actions[0] == "Opened" and "Created" in actions

    qtbot.keyClick(detail.tabs, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.table
    assert window.selected_case_ids() == [case.case_id]

    open_by_double_click(qtbot, window)
    detail.labs.table.setFocus()
    qtbot.keyClick(detail.labs.table, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert window.stack.currentWidget() is window.table
    assert window.windowTitle() == "MedMitra Desktop"


def test_enter_opens_the_case(qtbot, window: MainWindow, context: AppContext,
                              jobs: AnalysisJobs, tmp_path: Path) -> None:
    analysed(context, jobs, name="Bela Rao", lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    make_case(context.cases, name="Chitra Nair")  # a second row, newest first
    window.reload()
    bela_row = next(r for r in range(window.model.rowCount())
                    if window.model.index(r, 0).data() == "Bela Rao")
    window.table.setFocus()
    window.table.setCurrentIndex(window.model.index(bela_row, 0))
    qtbot.keyClick(window.table, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is window.detail
    assert window.detail.patient_label.text() == "Bela Rao"
    window.detail.back_button.click()
    assert window.stack.currentWidget() is window.table


def test_list_reload_keeps_the_case_open_and_search_goes_back(
        qtbot, window: MainWindow, context: AppContext, jobs: AnalysisJobs,
        tmp_path: Path) -> None:
    analysed(context, jobs, lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    open_by_double_click(qtbot, window)
    make_case(context.cases, name="Someone Else")
    window.reload()  # F5: list and case read again
    assert window.stack.currentWidget() is window.detail
    assert window.count_label.text() == "2 cases"
    qtbot.keyClicks(window.search, "someone")
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.table, timeout=2000)


# ---- labs -------------------------------------------------------------------------------


def test_labs_tab_colours_low_and_critical_values(qtbot, qtmodeltester, window: MainWindow,
                                                  context: AppContext, jobs: AnalysisJobs,
                                                  tmp_path: Path) -> None:
    analysed(context, jobs, gender="male",
             lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES),
                  text_file(tmp_path / "critical.txt", CRITICAL_LINES)])
    detail = open_by_double_click(qtbot, window)
    detail.tabs.setCurrentIndex(LABS_TAB)
    model = detail.labs.model
    colors = detail.colors
    rows = {(model.index(r, TEST).data(), model.index(r, RESULT).data()): r
            for r in range(model.rowCount())}

    low = rows[("Hemoglobin", "9.1")]
    assert model.index(low, FLAG).data() == "Low"
    assert model.index(low, REFERENCE).data() == "13.0 - 17.0"
    assert model.index(low, SOURCE).data() == "cbc.pdf, page 1"
    assert model.index(low, TEST).data(Qt.ItemDataRole.BackgroundRole) == colors.abnormal_bg
    assert model.index(low, FLAG).data(Qt.ItemDataRole.ForegroundRole) == colors.abnormal_fg
    assert model.index(low, RESULT).data(Qt.ItemDataRole.FontRole).bold()
    assert model.index(low, TEST).data(Qt.ItemDataRole.FontRole) is None  # not critical
    assert "CRITICAL" not in model.index(low, FLAG).data()

    normal = rows[("White Blood Cell Count", "7.2")]
    assert model.index(normal, TEST).data(Qt.ItemDataRole.BackgroundRole) is None
    assert model.index(normal, TEST).data(Qt.ItemDataRole.ToolTipRole) == \
        "printed as “WBC”\nLOINC 6690-2"

    critical = rows[("Hemoglobin", "5.8")]
    assert model.index(critical, FLAG).data() == "⚠ CRITICAL LOW"
    assert model.index(critical, TEST).data(Qt.ItemDataRole.BackgroundRole) == \
        colors.critical_bg
    assert model.index(critical, RESULT).data(Qt.ItemDataRole.ForegroundRole) == \
        colors.critical_fg
    assert model.index(critical, TEST).data(Qt.ItemDataRole.FontRole).bold()
    assert model.index(critical, FLAG).data(Qt.ItemDataRole.AccessibleTextRole) \
        .startswith("critical")

    potassium = rows[("Potassium", "6.9")]  # no printed range: the knowledge base's
    reference = model.index(potassium, REFERENCE)
    assert reference.data().endswith("(knowledge base)")
    assert reference.data(Qt.ItemDataRole.FontRole).italic()
    assert reference.data(Qt.ItemDataRole.ToolTipRole) == KNOWLEDGE_BASE_NOTE
    assert "CRITICAL HIGH" in model.index(potassium, FLAG).data()

    assert "<b>6</b> results · <b>3</b> abnormal · <b>2</b> critical" in \
        detail.labs.counts.text()
    detail.labs.abnormal_only.setChecked(True)
    assert detail.labs.proxy.rowCount() == 3
    detail.labs.abnormal_only.setChecked(False)
    assert detail.labs.proxy.rowCount() == 6
    # Sorting by Flag puts the critical rows first.
    detail.labs.table.sortByColumn(FLAG, Qt.SortOrder.AscendingOrder)
    first = detail.labs.proxy.index(0, FLAG).data()
    assert first.startswith("⚠ CRITICAL")
    qtmodeltester.check(model)
    qtmodeltester.check(detail.labs.proxy)


def test_lab_row_opens_its_document_page(qtbot, window: MainWindow, context: AppContext,
                                         jobs: AnalysisJobs, tmp_path: Path) -> None:
    analysed(context, jobs, lab=[two_page_pdf(tmp_path / "two.pdf")])
    detail = open_by_double_click(qtbot, window)
    detail.tabs.setCurrentIndex(LABS_TAB)
    table = detail.labs.table
    table.setFocus()
    table.setCurrentIndex(detail.labs.proxy.index(0, 0))
    qtbot.keyClick(table, Qt.Key.Key_Return)
    assert detail.tabs.currentIndex() == DOCUMENTS_TAB
    assert detail.documents.page.value() == 2
    assert "Hemoglobin" in detail.documents.text.toPlainText()


# ---- summary and evidence ---------------------------------------------------------------


def test_evidence_link_opens_the_document_at_its_page(qtbot, qtmodeltester,
                                                      window: MainWindow, context: AppContext,
                                                      jobs: AnalysisJobs,
                                                      tmp_path: Path) -> None:
    analysed(context, jobs, lab=[text_file(tmp_path / "notes.txt", "Fasting sample\n"),
                                 two_page_pdf(tmp_path / "cbc.pdf")])
    detail = open_by_double_click(qtbot, window)
    summary = detail.summary
    assert "Hemoglobin 9.1 g/dL" in summary.summary_label.text()
    differential = summary.differential_model
    assert differential.rowCount() >= 1
    qtmodeltester.check(differential)
    anemia = next(r for r in range(differential.rowCount())
                  if "Anemia" in differential.index(r, 0).data())
    assert differential.index(anemia, 1).data() == "D64.9"
    assert differential.index(anemia, 2).data().endswith("%")
    assert "cbc.pdf, page 2: Hemoglobin 9.1 g/dL (L)" in differential.index(anemia, 3).data()

    summary.differential.selectRow(anemia)
    links = summary.evidence_links()
    _label, href = next(link for link in links if link[0] == "cbc.pdf, page 2")
    summary.evidence_label.linkActivated.emit(href)  # what a click on the link does
    assert detail.tabs.currentIndex() == DOCUMENTS_TAB
    shown = detail.documents.shown_document
    assert shown is not None and shown.file_name == "cbc.pdf"
    assert detail.documents.page.value() == 2
    assert "Hemoglobin" in detail.documents.text.toPlainText()
    assert "demographics" not in detail.documents.text.toPlainText()
    # The SOAP draft names the file in its text and cites the same page as a link.
    assert "[cbc.pdf, page 2]" in detail.soap_editor.editors["objective"].toPlainText()
    assert ("cbc.pdf, page 2", href) in detail.soap_editor.source_links()


def test_critical_alert_is_prominent(qtbot, window: MainWindow, context: AppContext,
                                     jobs: AnalysisJobs, tmp_path: Path) -> None:
    analysed(context, jobs, gender="male",
             lab=[text_file(tmp_path / "critical.txt", CRITICAL_LINES)])
    detail = open_by_double_click(qtbot, window)
    critical = [label for label in detail.summary.alert_labels
                if label.objectName() == "alert_critical"]
    assert critical, [label.text() for label in detail.summary.alert_labels]
    assert "CRITICAL" in critical[0].text() and "Hemoglobin 5.8" in \
        " ".join(label.text() for label in critical)
    assert detail.colors.critical_fg.name() in critical[0].styleSheet()


# ---- radiology --------------------------------------------------------------------------


def test_radiology_shows_negated_findings_struck_through(qtbot, window: MainWindow,
                                                         context: AppContext,
                                                         jobs: AnalysisJobs,
                                                         tmp_path: Path) -> None:
    analysed(context, jobs,
             radiology=[text_file(tmp_path / "cxr.txt", RADIOLOGY_TEXT)])
    detail = open_by_double_click(qtbot, window)
    detail.tabs.setCurrentIndex(RADIOLOGY_TAB)
    document = detail.radiology.browser.document()
    text = document.toPlainText()
    assert "Chest X-ray" in text
    assert text.index("Impression:") < text.index("Findings:")
    assert "[negated: absent]" in text

    def formats(word: str) -> list[QFont]:
        found, cursor = [], document.find(word)
        while not cursor.isNull():
            found.append(cursor.charFormat().font())
            cursor = document.find(word, cursor)
        return found

    assert any(font.strikeOut() for font in formats("pneumothorax"))
    assert not any(font.strikeOut() for font in formats("cardiomegaly"))
    assert any(font.bold() for font in formats("cardiomegaly"))


# ---- medications ------------------------------------------------------------------------


def test_review_dialog_stops_a_medication_with_a_reason(qtbot, qtmodeltester,
                                                        window: MainWindow,
                                                        context: AppContext,
                                                        jobs: AnalysisJobs) -> None:
    analysed(context, jobs, notes="On metformin 500 mg twice daily. Allergic to penicillin.")
    detail = open_by_double_click(qtbot, window)
    detail.tabs.setCurrentIndex(MEDICATIONS_TAB)
    tab = detail.medications
    assert tab.model.rowCount() == 1
    assert tab.model.index(0, 0).data() == "metformin"
    assert tab.model.index(0, 5).data() == "Verified"
    assert tab.model.index(0, 6).data() == "Doctor's notes"
    assert "penicillin" in tab.allergies.text()
    assert not tab.review_button.isEnabled()
    qtmodeltester.check(tab.model)

    tab.table.selectRow(0)
    assert tab.review_button.isEnabled()

    def stop(dialog: QDialog) -> None:
        assert isinstance(dialog, MedicationReviewDialog)
        dialog.select_state("stopped")
        dialog.save()  # no reason yet
        assert dialog.isVisible()
        assert dialog.messages["reason"].text() == "say why the medication was stopped"
        assert not dialog.messages["reason"].isHidden()
        qtbot.keyClicks(dialog.reason, "GI upset")
        qtbot.keyClicks(dialog.change_date, "2025-13-40")
        dialog.save()
        assert "YYYY-MM-DD" in dialog.messages["change_date"].text()
        dialog.change_date.clear()
        qtbot.keyClicks(dialog.change_date, "2025-03-01")
        dialog.save()

    with qtbot.waitSignal(tab.reviewed, timeout=5000):
        errors = drive_modal(qtbot, stop)
        tab.review_button.click()
    assert not errors, errors
    assert tab.model.index(0, 5).data() == "Stopped: GI upset, 2025-03-01 ✓"
    assert tab.model.index(0, 0).data(Qt.ItemDataRole.FontRole).strikeOut()
    assert "Reviewed by dr-qt" in tab.model.index(0, 5).data(Qt.ItemDataRole.ToolTipRole)
    medication = context.results.results(detail.case_id).medications[0]
    assert medication.review_state == "stopped"
    assert medication.review_details["reason"] == "GI upset"
    history = [detail.history.model.index(r, 3).data()
               for r in range(detail.history.model.rowCount())]
    assert any("state=stopped" in line for line in history)


def test_editing_a_dose_makes_the_review_a_change(qtbot, context: AppContext,
                                                  jobs: AnalysisJobs) -> None:
    case = analysed(context, jobs, notes="On metformin 500 mg twice daily.")
    medication = context.results.results(case.case_id).medications[0]
    dialog = MedicationReviewDialog(context.results, "dr-qt", case.case_id, medication)
    qtbot.addWidget(dialog)
    dialog.fields["dose"].clear()
    qtbot.keyClicks(dialog.fields["dose"], "1000 mg")
    assert dialog.state.currentData() == "changed"
    dialog.save()
    assert dialog.reviewed is not None
    assert dialog.reviewed.dose == "1000 mg"
    model = MedicationTableModel(ClinicalColors.from_palette(dialog.palette()))
    model.set_rows([dialog.reviewed])
    assert model.index(0, 5).data().startswith("Changed (was: dose 500 mg)")


# ---- documents --------------------------------------------------------------------------


def test_documents_tab_lists_documents_and_shows_ocr_text(qtbot, qtmodeltester,
                                                          window: MainWindow,
                                                          context: AppContext,
                                                          jobs: AnalysisJobs,
                                                          tmp_path: Path) -> None:
    locked = tmp_path / "locked.pdf"
    writer = PdfWriter(clone_from=text_pdf(tmp_path / "plain.pdf", LAB_LINES))
    writer.encrypt("secret")
    writer.write(locked)
    analysed(context, jobs, lab=[scanned_png(tmp_path / "scan.png", LAB_LINES), locked])
    detail = open_by_double_click(qtbot, window)
    # The summary warns that a document is missing from the results.
    warning = next(label for label in detail.summary.alert_labels
                   if label.objectName() == "alert_warning")
    assert "1 document could not be read" in warning.text()
    assert "locked.pdf</a>: needs a password" in warning.text()
    detail.tabs.setCurrentIndex(DOCUMENTS_TAB)
    tab = detail.documents
    qtmodeltester.check(tab.model)
    assert [tab.model.index(r, 0).data() for r in range(2)] == ["scan.png", "locked.pdf"]
    assert tab.model.index(0, 2).data() == "Analysed"
    assert tab.model.index(1, 2).data() == "Needs a password"
    assert "Hemoglobin" in tab.text.toPlainText()
    assert "OCR" in tab.page_info.text() and "mean OCR confidence" in tab.page_info.text()

    tab.table.selectRow(1)
    assert not tab.notice.isHidden()
    assert "password protected" in tab.notice.text()
    stored_error = tab.model.rows[1].error
    assert stored_error and stored_error in tab.notice.text()


def test_low_confidence_words_are_highlighted(qtbot) -> None:
    text = "Hemoglobin 9.1 g/dL\nWBC 7.2 10^3/uL\nWBC 7.2"
    words = (("Hemoglobin", 96.0, 0, 0, 1, 1), ("9.1", 42.0, 0, 0, 1, 1),
             ("g/dL", 88.0, 0, 0, 1, 1), ("WBC", 91.0, 0, 0, 1, 1),
             ("7.2", 93.0, 0, 0, 1, 1), ("10^3/uL", 12.0, 0, 0, 1, 1),
             ("missing", 5.0, 0, 0, 1, 1), ("WBC", float(LOW_CONFIDENCE - 1), 0, 0, 1, 1))
    page = PageView(1, "ocr", text, 70.0, words, None)
    document = QTextDocument()
    document.setPlainText(page.text)
    colors = ClinicalColors.from_palette(QPalette())
    assert highlight_low_confidence(document, page.text, page.words, colors) == 3

    def background_at(offset: int) -> QColor:
        cursor = document.find(text[offset:offset + 1], offset)  # selects that character
        return cursor.charFormat().background().color()

    assert background_at(text.index("9.1")) == colors.low_confidence_bg
    assert background_at(text.index("10^3")) == colors.low_confidence_bg
    assert background_at(text.rindex("WBC")) == colors.low_confidence_bg
    assert background_at(text.index("WBC")) != colors.low_confidence_bg  # the confident one
    assert background_at(0) != colors.low_confidence_bg


# ---- edit, delete, re-analyse -----------------------------------------------------------


def test_edit_dialog_shows_inline_errors_then_saves(qtbot, window: MainWindow,
                                                    context: AppContext,
                                                    jobs: AnalysisJobs,
                                                    tmp_path: Path) -> None:
    analysed(context, jobs, name="Imran Sheikh", lab=[text_pdf(tmp_path / "c.pdf", LAB_LINES)])
    detail = open_by_double_click(qtbot, window)
    seen: list[str] = []

    def edit(dialog: QDialog) -> None:
        assert isinstance(dialog, CaseEditDialog)
        dialog.age.clear()
        qtbot.keyClicks(dialog.age, "abc")
        dialog.save()
        assert dialog.isVisible()
        seen.append(dialog.messages["patient_age"].text())
        assert not dialog.messages["patient_age"].isHidden()
        assert dialog.messages["patient_name"].isHidden()
        dialog.age.clear()
        qtbot.keyClicks(dialog.age, "53")
        qtbot.keyClicks(dialog.record_number, "MRN-77")
        qtbot.keyClicks(dialog.notes, " Breathless on exertion.")
        dialog.save()

    with qtbot.waitSignal(detail.case_changed, timeout=5000):
        errors = drive_modal(qtbot, edit)
        detail.edit_button.click()
    assert not errors, errors
    assert "whole number of years" in seen[0]
    assert "53 y" in detail.details_label.text()
    assert "Record no. MRN-77" in detail.details_label.text()
    assert not detail.banner.isHidden() and "Re-analyse" in detail.banner.text()
    assert window.model.index(0, 1).data() == "53"
    assert context.cases.get_case(detail.case_id).patient_record_number == "MRN-77"


def test_delete_asks_then_moves_the_case_to_the_trash(qtbot, window: MainWindow,
                                                      context: AppContext,
                                                      jobs: AnalysisJobs, tmp_path: Path,
                                                      monkeypatch) -> None:
    case = analysed(context, jobs, lab=[text_pdf(tmp_path / "c.pdf", LAB_LINES)])
    detail = open_by_double_click(qtbot, window)
    questions: list[str] = []
    answer = QMessageBox.StandardButton.No

    def question(_parent: QWidget, _title: str, text: str, *_args: object
                 ) -> QMessageBox.StandardButton:
        questions.append(text)
        return answer

    monkeypatch.setattr(QMessageBox, "question", question)
    detail.delete_button.click()
    assert window.stack.currentWidget() is window.detail  # "No" keeps it
    assert context.cases.get_case(case.case_id).deleted_at is None

    answer = QMessageBox.StandardButton.Yes
    detail.delete_button.click()
    assert "Move the case of Asha Verma to the trash?" in questions[-1]
    assert window.stack.currentWidget() is window.empty_state
    with pytest.raises(NotFoundError):
        context.cases.get_case(case.case_id)
    assert context.cases.get_case(case.case_id, include_deleted=True).deleted_at is not None
    trash = context.cases.list_cases(CaseQuery(in_trash=True))
    assert [item.case_id for item in trash.items] == [case.case_id]


def test_reanalyse_queues_the_case(qtbot, window: MainWindow, context: AppContext,
                                   jobs: AnalysisJobs, tmp_path: Path) -> None:
    case = analysed(context, jobs, lab=[text_pdf(tmp_path / "c.pdf", LAB_LINES)])
    detail = open_by_double_click(qtbot, window)
    with qtbot.waitSignal(detail.reanalysis_requested) as requested:
        detail.reanalyse_button.click()
    assert requested.args == [case.case_id]
    assert "Analysing" in detail.status_label.text()
    assert "previous results" in detail.summary.placeholder.text()
    assert detail.labs.model.rowCount() == 4  # the old results stay until the new ones
    outcome = jobs.run_next()
    assert outcome is not None
    detail.on_job_finished(case.case_id, outcome.case_status.value, outcome.error or "")
    assert "Analysis completed" in detail.status_label.text()


def test_view_refreshes_when_the_runner_finishes_its_case(qtbot, context: AppContext,
                                                          analyzer: Analyzer,
                                                          settings: QSettings,
                                                          tmp_path: Path) -> None:
    case = make_case(context.cases, lab=[scanned_png(tmp_path / "scan.png", LAB_LINES)])
    runner = AnalysisRunner(lambda: AnalysisJobs(context.database, context.files, analyzer))
    window = MainWindow(context, "dr-qt", settings, runner)
    qtbot.addWidget(window)
    try:
        window.open_case(case.case_id)  # at once: the job is still running
        detail = window.detail
        started_processing = detail.case is not None and \
            detail.case.status is CaseStatus.PROCESSING
        if started_processing:
            assert "Analysing" in detail.status_label.text()
            assert detail.labs.model.rowCount() == 0
            assert "Analysis is running" in detail.summary.placeholder.text()
        with qtbot.waitSignal(runner.job_finished, timeout=60_000):
            pass
        qtbot.waitUntil(lambda: detail.labs.model.rowCount() == 4, timeout=5000)
        assert "Analysis completed" in detail.status_label.text()
        assert detail.progress.isHidden()
        assert detail.summary.placeholder.isHidden()
    finally:
        runner.stop()


# ---- keyboard, accessibility, colours ---------------------------------------------------


def test_controls_are_named_and_reachable_by_tab(qtbot, window: MainWindow,
                                                 context: AppContext, jobs: AnalysisJobs,
                                                 tmp_path: Path) -> None:
    analysed(context, jobs, lab=[text_pdf(tmp_path / "c.pdf", LAB_LINES)])
    detail = open_by_double_click(qtbot, window)
    for view in detail.findChildren(QAbstractItemView):
        if isinstance(view, QHeaderView):
            continue
        assert view.accessibleName(), view
        assert not view.tabKeyNavigation(), view.accessibleName()
    for button in detail.findChildren(QPushButton):
        assert button.accessibleName(), button.text()
    # Tab from Back walks the header buttons and then into the tabs.
    detail.back_button.setFocus()
    order = [detail.back_button]
    for _ in range(6):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        order.append(QApplication.focusWidget())
    assert order[1:5] == [detail.edit_button, detail.reanalyse_button, detail.delete_button,
                          detail.tabs.tabBar()]
    # The window's own shortcuts still work from the detail (Ctrl+F focuses the search).
    qtbot.keyClick(detail.tabs, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.search.hasFocus()


@pytest.mark.parametrize(("base", "text"), PALETTE_CASES)
def test_colours_are_readable_on_light_and_dark_palettes(qapp, base: str, text: str) -> None:
    palette = palette_for(base, text)
    colors = ClinicalColors.from_palette(palette)
    assert colors.dark == (palette.color(QPalette.ColorRole.Base).lightness() < 128)
    for foreground, background in (
            (colors.text, colors.abnormal_bg), (colors.text, colors.critical_bg),
            (colors.abnormal_fg, colors.abnormal_bg), (colors.critical_fg, colors.critical_bg),
            (colors.abnormal_fg, colors.base), (colors.critical_fg, colors.base),
            (colors.muted_fg, colors.base),
            (colors.low_confidence_fg, colors.low_confidence_bg)):
        assert contrast_ratio(foreground, background) >= 4.5, (foreground.name(),
                                                               background.name())


def test_history_and_evidence_helpers(qtbot, qtmodeltester, context: AppContext,
                                      jobs: AnalysisJobs, tmp_path: Path) -> None:
    case = analysed(context, jobs, lab=[text_pdf(tmp_path / "c.pdf", LAB_LINES)])
    colors = ClinicalColors.from_palette(QPalette())
    history = HistoryTableModel(colors)
    history.set_rows(context.cases.history(case.case_id))
    qtmodeltester.check(history)
    documents = DocumentTableModel(colors)
    documents.set_rows(case.documents)
    qtmodeltester.check(documents)
    empty = DifferentialTableModel(colors)
    qtmodeltester.check(empty)
    labs = LabTableModel(colors)
    qtmodeltester.check(labs)

    document_id = case.documents[0].document_id
    link = evidence.resolve("doc 0, page 1: Hemoglobin 9.1 g/dL (L)", case.documents)
    assert link == evidence.DocumentLink(document_id, 1)
    assert evidence.resolve("doc 5, page 1: x", case.documents) is None
    assert evidence.resolve("patient: female", case.documents) is None
    assert evidence.plain("doc 0, page 1 (findings): “x”", case.documents) == \
        "c.pdf, page 1 (findings): “x”"
    html = evidence.linkify("see [doc 0] and doc 9 <b>", case.documents)
    assert html == (f'see [<a href="document:{document_id}:0">c.pdf</a>] and doc 9 '
                    "&lt;b&gt;")
    assert evidence.parse_href(f"document:{document_id}:3") == \
        evidence.DocumentLink(document_id, 3)


def test_switching_to_the_dark_palette_recolours_everything(qtbot, window: MainWindow,
                                                            context: AppContext,
                                                            jobs: AnalysisJobs,
                                                            tmp_path: Path) -> None:
    analysed(context, jobs, gender="male",
             lab=[text_file(tmp_path / "critical.txt", CRITICAL_LINES)])
    detail = open_by_double_click(qtbot, window)
    light = detail.colors
    assert not light.dark
    window.setPalette(dark_palette())
    dark = detail.colors
    assert dark.dark and dark.critical_bg != light.critical_bg
    model = detail.labs.model
    assert model.index(0, TEST).data(Qt.ItemDataRole.BackgroundRole) == dark.critical_bg
    # Rich text is rebuilt with the dark palette's link colour.
    assert dark.link.name() in detail.summary.findings_label.text() + \
        detail.summary.evidence_label.text()
    assert dark.critical_fg.name() in detail.summary.alert_labels[0].styleSheet()
