"""The Documents tab of the case detail: the original file in a viewer beside its text,
a protected PDF's password, attaching and removing files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter
from PySide6.QtCore import Qt
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMessageBox, QWidget

from medmitra_desktop.analysis.pipeline import Analyzer
from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.enums import CaseStatus, DocumentStatus
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.ui.views.case_detail import DOCUMENTS_TAB, CaseDetailView
from medmitra_desktop.ui.widgets.document_viewer import IMAGE, PDF, TEXT, ZOOM_STEP
from medmitra_desktop.ui.workers import AnalysisRunner
from tests.factories import LAB_LINES, make_case, png_image, scanned_png, text_file, text_pdf
from tests.qt.test_case_detail import analysed, two_page_pdf

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
LOAD_MS = 10_000

MakeDetail = Callable[..., CaseDetailView]


@pytest.fixture
def make_detail(qtbot, context: AppContext) -> Iterator[MakeDetail]:
    """The detail view as the main window builds it, with every service it can use."""

    def make(runner: AnalysisRunner | None = None) -> CaseDetailView:
        detail = CaseDetailView(context.cases, context.results, "dr-qt",
                                files=context.files, soap_notes=context.soap_notes,
                                settings=context.settings, runner=runner)
        qtbot.addWidget(detail)
        detail.resize(1200, 760)
        detail.show()
        qtbot.waitExposed(detail)
        return detail

    yield make


def documents_of(detail: CaseDetailView, case_id: str) -> CaseDetailView:
    assert detail.open_case(case_id)
    detail.tabs.setCurrentIndex(DOCUMENTS_TAB)
    return detail


def locked_pdf(tmp_path: Path, password: str) -> Path:
    locked = tmp_path / "locked.pdf"
    writer = PdfWriter(clone_from=text_pdf(tmp_path / "plain.pdf", LAB_LINES))
    writer.encrypt(password)
    writer.write(locked)
    return locked


# ---- the viewer -------------------------------------------------------------------------


def test_pdf_is_shown_with_its_pages_and_zoom(qtbot, make_detail: MakeDetail,
                                              context: AppContext, jobs: AnalysisJobs,
                                              tmp_path: Path) -> None:
    case = analysed(context, jobs, lab=[two_page_pdf(tmp_path / "cbc.pdf")])
    detail = documents_of(make_detail(), case.case_id)
    tab = detail.documents
    viewer = tab.viewer
    qtbot.waitUntil(lambda: viewer.kind == PDF, timeout=LOAD_MS)
    assert viewer.page_count == 2 and viewer.pdf_document.pageCount() == 2
    assert tab.page_count.text() == "of 2" and tab.page.maximum() == 2
    assert viewer.current_page == 1 and "demographics" in tab.text.toPlainText()
    assert not tab.previous_button.isEnabled() and tab.next_button.isEnabled()

    tab.next_button.click()
    assert viewer.current_page == 2 and tab.page.value() == 2
    assert "Hemoglobin" in tab.text.toPlainText()  # the text follows the viewer
    assert viewer.pdf_view.pageNavigator().currentPage() == 1
    assert not tab.next_button.isEnabled()

    viewer.pdf_view.setFocus()
    qtbot.keyClick(viewer.pdf_view, Qt.Key.Key_PageUp)
    assert viewer.current_page == 1 and "demographics" in tab.text.toPlainText()
    qtbot.keyClick(viewer.pdf_view, Qt.Key.Key_PageDown)
    assert viewer.current_page == 2
    tab.page.setValue(1)  # typing a page number
    assert viewer.current_page == 1
    # Reading the case again (analysis finished, F5) keeps the file open at its page.
    tab.next_button.click()
    detail.refresh()
    assert viewer.kind == PDF and not viewer.loading and viewer.current_page == 2
    assert tab.page.value() == 2 and "Hemoglobin" in tab.text.toPlainText()
    tab.previous_button.click()

    # Zoom: fit to the width at first, then Ctrl+= / Ctrl+- step from what is shown.
    assert viewer.is_fit_width() and viewer.zoom_label.text().startswith("Fit width")
    fitted = viewer.zoom_factor()
    assert fitted > 0.3
    qtbot.keyClick(viewer.pdf_view, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert viewer.pdf_view.zoomMode() == QPdfView.ZoomMode.Custom
    assert viewer.zoom_factor() == pytest.approx(fitted * ZOOM_STEP)
    assert viewer.pdf_view.zoomFactor() == pytest.approx(fitted * ZOOM_STEP)
    assert viewer.zoom_label.text() == f"{fitted * ZOOM_STEP:.0%}"
    qtbot.keyClick(viewer.pdf_view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(viewer.pdf_view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert viewer.zoom_factor() == pytest.approx(fitted / ZOOM_STEP)
    viewer.fit_button.click()
    assert viewer.is_fit_width() and viewer.zoom_factor() == pytest.approx(fitted)
    # The zoom keys work from the text beside the viewer too.
    tab.text.setFocus()
    qtbot.keyClick(tab.text, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert viewer.zoom_factor() == pytest.approx(fitted * ZOOM_STEP)


def test_image_is_shown_and_zoomable(qtbot, make_detail: MakeDetail, context: AppContext,
                                     jobs: AnalysisJobs, tmp_path: Path) -> None:
    case = analysed(context, jobs, lab=[scanned_png(tmp_path / "scan.png", LAB_LINES)])
    tab = documents_of(make_detail(), case.case_id).documents
    viewer = tab.viewer
    qtbot.waitUntil(lambda: viewer.kind == IMAGE, timeout=LOAD_MS)
    assert viewer.page_count == 1 and viewer.stack.currentWidget() is viewer.image_view
    assert viewer.image_view.item.pixmap().width() == 1700  # decoded at full size
    assert "Hemoglobin" in tab.text.toPlainText()
    fitted = viewer.zoom_factor()
    assert viewer.is_fit_width() and 0 < fitted < 1  # a wide scan, scaled to fit
    viewer.zoom_in_button.click()
    assert viewer.zoom_factor() == pytest.approx(fitted * ZOOM_STEP)
    assert not viewer.is_fit_width()
    viewer.zoom_out_button.click()
    viewer.zoom_out_button.click()
    assert viewer.zoom_factor() == pytest.approx(fitted / ZOOM_STEP)
    viewer.image_view.setFocus()
    qtbot.keyClick(viewer.image_view, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert viewer.is_fit_width() and viewer.zoom_factor() == pytest.approx(fitted)


def test_every_frame_of_a_tiff_is_a_page(qtbot, make_detail: MakeDetail, context: AppContext,
                                         tmp_path: Path) -> None:
    scan = tmp_path / "two-page.tif"
    first, second = Image.new("L", (300, 400), 255), Image.new("L", (500, 200), 0)
    first.save(scan, format="TIFF", save_all=True, append_images=[second])
    case = make_case(context.cases, lab=[scan])  # not analysed: the viewer needs no text
    tab = documents_of(make_detail(), case.case_id).documents
    viewer = tab.viewer
    qtbot.waitUntil(lambda: viewer.kind == IMAGE, timeout=LOAD_MS)
    assert viewer.page_count == 2 and tab.page_count.text() == "of 2"
    assert viewer.image_view.item.pixmap().width() == 300
    assert "waiting for analysis" in tab.notice.text()
    tab.next_button.click()
    qtbot.waitUntil(lambda: viewer.image_view.item.pixmap().width() == 500, timeout=LOAD_MS)
    assert viewer.current_page == 2


def test_text_file_is_shown_as_text(qtbot, make_detail: MakeDetail, context: AppContext,
                                    jobs: AnalysisJobs, tmp_path: Path) -> None:
    case = analysed(context, jobs, lab=[text_file(tmp_path / "cbc.csv",
                                                  "Test,Result\nHemoglobin,9.1\n")])
    viewer = documents_of(make_detail(), case.case_id).documents.viewer
    qtbot.waitUntil(lambda: viewer.kind == TEXT, timeout=LOAD_MS)
    assert viewer.text_view.toPlainText() == "Test,Result\nHemoglobin,9.1\n"
    assert not viewer.zoom_in_button.isEnabled()


def test_evidence_link_moves_the_viewer_to_its_page(qtbot, make_detail: MakeDetail,
                                                    context: AppContext, jobs: AnalysisJobs,
                                                    tmp_path: Path) -> None:
    case = analysed(context, jobs, lab=[text_file(tmp_path / "notes.txt", "Fasting\n"),
                                        two_page_pdf(tmp_path / "cbc.pdf")])
    detail = make_detail()
    assert detail.open_case(case.case_id)
    summary = detail.summary
    anemia = next(r for r in range(summary.differential_model.rowCount())
                  if "Anemia" in summary.differential_model.index(r, 0).data())
    summary.differential.selectRow(anemia)
    _label, href = next(link for link in summary.evidence_links()
                        if link[0] == "cbc.pdf, page 2")
    summary.evidence_label.linkActivated.emit(href)
    assert detail.tabs.currentIndex() == DOCUMENTS_TAB
    viewer = detail.documents.viewer
    # The page is kept while the file loads, then shown.
    qtbot.waitUntil(lambda: viewer.kind == PDF and viewer.current_page == 2, timeout=LOAD_MS)
    assert detail.documents.page.value() == 2
    assert "Hemoglobin" in detail.documents.text.toPlainText()

    # A link to page 1 of the same (already loaded) document moves it back at once.
    detail.open_link(href.rsplit(":", 1)[0] + ":1")
    assert viewer.current_page == 1 and detail.documents.page.value() == 1


def test_a_damaged_stored_file_shows_the_integrity_message(qtbot, make_detail: MakeDetail,
                                                           context: AppContext,
                                                           jobs: AnalysisJobs,
                                                           tmp_path: Path) -> None:
    case = analysed(context, jobs, lab=[two_page_pdf(tmp_path / "cbc.pdf"),
                                        png_image(tmp_path / "photo.png")])
    stored = context.files.path_for(case.documents[0].sha256)
    damaged = bytearray(stored.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01  # one bit flipped on disk
    stored.write_bytes(bytes(damaged))
    tab = documents_of(make_detail(), case.case_id).documents
    viewer = tab.viewer
    qtbot.waitUntil(lambda: "changed or damaged" in viewer.message_text(), timeout=LOAD_MS)
    assert viewer.message_text().startswith("cbc.pdf cannot be shown: A stored file was "
                                            "changed or damaged on disk")
    assert "Attach the original file again" in viewer.message_text()
    assert viewer.kind == "" and not viewer.zoom_in_button.isEnabled()
    # The text read when the file was whole is still there, page by page.
    assert tab.page.maximum() == 2 and "demographics" in tab.text.toPlainText()

    context.files.path_for(case.documents[1].sha256).unlink()
    tab.table.selectRow(1)
    qtbot.waitUntil(lambda: "is missing" in viewer.message_text(), timeout=LOAD_MS)


# ---- password ---------------------------------------------------------------------------


def test_password_is_asked_and_the_pdf_is_analysed_with_it(
        qtbot, make_detail: MakeDetail, context: AppContext, jobs: AnalysisJobs,
        analyzer: Analyzer, data_dir: Path, tmp_path: Path, monkeypatch) -> None:
    password = "clinic-42-pw"
    case = analysed(context, jobs, lab=[locked_pdf(tmp_path, password)])
    assert case.documents[0].status is DocumentStatus.NEEDS_PASSWORD
    # The runner builds its jobs lazily on its thread: the password waits for them.
    runner = AnalysisRunner(lambda: AnalysisJobs(context.database, context.files, analyzer))
    try:
        detail = make_detail(runner)
        runner.job_finished.connect(detail.on_job_finished)
        tab = documents_of(detail, case.case_id).documents
        assert not tab.password_button.isHidden()
        assert "enter its password" in tab.notice.text()
        qtbot.waitUntil(lambda: "password protected" in tab.viewer.message_text(),
                        timeout=LOAD_MS)
        assert "Enter password" in tab.viewer.message_text()

        prompts: list[tuple[str, object]] = []
        typed = ["wrong-one"]

        def get_text(_parent: QWidget, _title: str, label: str, echo: object, *_args: object
                     ) -> tuple[str, bool]:
            prompts.append((label, echo))
            return typed[0], True

        monkeypatch.setattr(QInputDialog, "getText", get_text)
        with qtbot.waitSignal(runner.job_finished, timeout=60_000):
            tab.password_button.click()
        assert "locked.pdf" in prompts[0][0]
        assert prompts[0][1] == QLineEdit.EchoMode.Password
        qtbot.waitUntil(lambda: detail.case is not None
                        and detail.case.status is not CaseStatus.PROCESSING, timeout=5000)
        wrong = detail.case.documents[0]
        assert wrong.status is DocumentStatus.NEEDS_PASSWORD
        assert "the password was not accepted" in tab.notice.text()
        assert not tab.password_button.isHidden()

        typed[0] = password
        with qtbot.waitSignal(runner.job_finished, timeout=60_000):
            tab.password_button.click()
        qtbot.waitUntil(lambda: detail.case is not None
                        and detail.case.documents[0].status is DocumentStatus.OK, timeout=5000)
        assert tab.password_button.isHidden() and tab.notice.isHidden()
        assert "Hemoglobin" in tab.text.toPlainText()
        assert detail.labs.model.rowCount() == 4
        # The viewer opens the PDF with the password typed this session.
        qtbot.waitUntil(lambda: tab.viewer.kind == PDF, timeout=LOAD_MS)
    finally:
        runner.stop()
    # Memory only: the password is in no file of the data folder (database, WAL, logs).
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path


def test_password_without_a_runner_says_why(qtbot, make_detail: MakeDetail,
                                            context: AppContext, jobs: AnalysisJobs,
                                            tmp_path: Path, monkeypatch) -> None:
    case = analysed(context, jobs, lab=[locked_pdf(tmp_path, "pw")])
    tab = documents_of(make_detail(), case.case_id).documents
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning",
                        lambda _parent, _title, text, *_args: warnings.append(text))
    monkeypatch.setattr(QInputDialog, "getText", pytest.fail)
    tab.password_button.click()
    assert "cannot be used" in warnings[0]


# ---- attach and remove ------------------------------------------------------------------


def test_attach_and_remove_update_the_list_and_queue_analysis(
        qtbot, make_detail: MakeDetail, context: AppContext, jobs: AnalysisJobs,
        tmp_path: Path, monkeypatch) -> None:
    case = analysed(context, jobs, lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    detail = make_detail()
    tab = documents_of(detail, case.case_id).documents
    xray = text_file(tmp_path / "cxr.txt", "CHEST X-RAY\nIMPRESSION: Cardiomegaly.\n")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    chosen: list[list[str]] = [[str(xray), str(empty)]]
    dialogs: list[str] = []

    def get_open_file_names(_parent: QWidget, caption: str, *_args: object
                            ) -> tuple[list[str], str]:
        dialogs.append(caption)
        return chosen[0], ""

    warnings: list[str] = []
    monkeypatch.setattr("PySide6.QtWidgets.QFileDialog.getOpenFileNames",
                        get_open_file_names)
    monkeypatch.setattr(QMessageBox, "warning",
                        lambda _parent, _title, text, *_args: warnings.append(text))

    # One bad file: nothing is attached, and the message names each problem.
    tab.attach_radiology_action.trigger()
    assert "radiology reports" in dialogs[0]
    assert warnings and "Nothing was attached" in warnings[0]
    assert "• empty.pdf is empty (0 bytes)" in warnings[0]
    assert tab.model.rowCount() == 1

    chosen[0] = [str(xray)]
    with qtbot.waitSignal(detail.reanalysis_requested) as requested:
        tab.attach_radiology_action.trigger()
    assert requested.args == [case.case_id]
    assert [tab.model.index(r, 0).data() for r in range(2)] == ["cbc.pdf", "cxr.txt"]
    assert tab.model.index(1, 1).data() == "Radiology report"
    assert tab.shown_document is not None and tab.shown_document.file_name == "cxr.txt"
    assert detail.case is not None and detail.case.status is CaseStatus.PROCESSING
    assert "Analysing" in detail.status_label.text()
    assert jobs.has_queued()
    outcome = jobs.run_next()
    assert outcome is not None and outcome.case_id == case.case_id
    detail.on_job_finished(case.case_id, outcome.case_status.value, "")
    assert detail.radiology.browser.toPlainText().count("Cardiomegaly") >= 1

    # Remove asks first; "No" keeps the file.
    answers = [QMessageBox.StandardButton.No]
    questions: list[str] = []

    def question(_parent: QWidget, _title: str, text: str, *_args: object
                 ) -> QMessageBox.StandardButton:
        questions.append(text)
        return answers[0]

    monkeypatch.setattr(QMessageBox, "question", question)
    tab.table.selectRow(0)
    tab.remove_button.click()
    assert "Remove cbc.pdf from the case of Asha Verma?" in questions[0]
    assert tab.model.rowCount() == 2 and not jobs.has_queued()

    answers[0] = QMessageBox.StandardButton.Yes
    with qtbot.waitSignal(detail.reanalysis_requested):
        tab.remove_button.click()
    assert [tab.model.index(r, 0).data() for r in range(tab.model.rowCount())] == ["cxr.txt"]
    assert jobs.has_queued()
    assert [d.file_name for d in context.cases.get_case(case.case_id).documents] == \
        ["cxr.txt"]
    history = [detail.history.model.index(r, 2).data()
               for r in range(detail.history.model.rowCount())]
    assert "Document removed" in history and "Documents attached" in history
