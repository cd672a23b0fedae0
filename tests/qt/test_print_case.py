"""File > Print case… (Ctrl+P) and Save case as PDF…: when they are offered, the print
dialog, the PDF written, the audit row left, and problems told to the doctor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QItemSelectionModel, QSettings, Qt
from PySide6.QtGui import QKeySequence, QTextDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

from medmitra_desktop.app import AppContext
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.services.case_document import CaseReport
from medmitra_desktop.ui import print_case
from medmitra_desktop.ui.main_window import MainWindow
from medmitra_desktop.ui.print_case import default_pdf_name
from tests.factories import LAB_LINES, make_case, text_pdf
from tests.qt.test_case_detail import analysed
from tests.qt.test_case_detail_soap import type_into

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

ODD_NAME = 'Ravi <Kumar> & "Sons"'


@pytest.fixture
def window(qtbot, context: AppContext, settings: QSettings) -> Iterator[MainWindow]:
    main = MainWindow(context, "dr-qt", settings)
    qtbot.addWidget(main)
    main.resize(1200, 760)
    main.show()
    qtbot.waitExposed(main)
    yield main


@pytest.fixture
def printed(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """The print dialog answers as told (Accepted unless changed); the report is recorded
    with the printer (its text as QTextDocument reads the HTML) instead of printed."""
    calls: dict[str, list] = {"dialogs": [], "answer": [QDialog.DialogCode.Accepted],
                              "printed": []}

    def exec_dialog(dialog: QPrintDialog) -> int:
        calls["dialogs"].append(dialog.printer())
        return calls["answer"][0]

    def print_report(report: CaseReport, printer: QPrinter) -> int:
        document = QTextDocument()
        document.setHtml(report.html)
        calls["printed"].append((printer, document.toPlainText()))
        return 1

    monkeypatch.setattr(QPrintDialog, "exec", exec_dialog)
    monkeypatch.setattr(print_case, "paint_report", print_report)
    return calls


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning",
                        lambda _parent, _title, text, *_args: shown.append(text))
    return shown


def file_menu_texts(window: MainWindow) -> list[str]:
    menu = window.menuBar().actions()[0].menu()
    return [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]


def select_rows(window: MainWindow, *rows: int) -> None:
    window.table.selectionModel().clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for row in rows:
        window.table.selectionModel().select(window.model.index(row, 0), flags)


def exports(context: AppContext, case_id: str) -> list[tuple[str, str]]:
    return [(e.action, e.detail) for e in context.cases.history(case_id)
            if e.action == "export"]


def test_print_is_offered_for_one_case_only(window: MainWindow, context: AppContext) -> None:
    assert file_menu_texts(window)[:3] == ["New case…", "Print case…", "Save case as PDF…"]
    assert QKeySequence("Ctrl+P") in window.print_action.shortcuts()
    assert not window.print_action.isEnabled()  # no cases at all

    for name in ("Asha Verma", "Bela Rao"):
        make_case(context.cases, name=name)
    window.reload()
    window.table.selectionModel().clearSelection()
    assert not window.print_action.isEnabled() and not window.save_pdf_action.isEnabled()
    select_rows(window, 0)
    assert window.print_action.isEnabled() and window.save_pdf_action.isEnabled()
    select_rows(window, 0, 1)
    assert not window.print_action.isEnabled()  # which one? neither

    window.open_case(window.model.case_id_at(1) or "")
    assert window.showing_detail()
    assert window.print_action.isEnabled() and window.save_pdf_action.isEnabled()
    window.show_list()
    window.new_case()
    assert not window.print_action.isEnabled()  # the New case page prints nothing


def test_print_uses_the_print_dialog_and_is_audited(qtbot, window: MainWindow,
                                                    context: AppContext, jobs: AnalysisJobs,
                                                    tmp_path: Path,
                                                    printed: dict[str, list]) -> None:
    case = analysed(context, jobs, name=ODD_NAME,
                    lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    window.open_case(case.case_id)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.keyClick(window.detail.tabs, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)

    assert len(printed["dialogs"]) == 1
    printer, text = printed["printed"][0]
    assert printer is printed["dialogs"][0]  # the printer the dialog set up
    assert printer.resolution() >= 300  # high resolution, not screen resolution
    assert printer.docName() == "MedMitra case report"  # no patient name in print queues
    assert ODD_NAME in text and "DRAFT — UNSIGNED" in text and "Hemoglobin" in text
    assert exports(context, case.case_id) == [("export", "print")]
    assert window.statusBar().currentMessage() == "Case sent to the printer."

    printed["answer"] = [QDialog.DialogCode.Rejected]  # Cancel in the dialog
    window.print_action.trigger()
    assert len(printed["dialogs"]) == 2 and len(printed["printed"]) == 1
    assert exports(context, case.case_id) == [("export", "print")]


def test_save_as_pdf_writes_a_readable_pdf(window: MainWindow, context: AppContext,
                                           jobs: AnalysisJobs, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    case = analysed(context, jobs, name=ODD_NAME,
                    lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    window.reload()
    select_rows(window, 0)  # from the list, without opening the case
    asked: list[str] = []

    def choose(_parent: QWidget, _caption: str, suggested: str, _filter: str
               ) -> tuple[str, str]:
        asked.append(suggested)
        return str(tmp_path / "out" / "ravi"), _filter  # no .pdf typed

    (tmp_path / "out").mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", choose)
    window.save_pdf_action.trigger()

    assert Path(asked[0]).name == f"Ravi_Kumar_Sons_{date.today().isoformat()}.pdf"
    target = tmp_path / "out" / "ravi.pdf"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["ravi.pdf"]  # no temp left
    # Qt places each word on its own, so pypdf reads the gaps as tabs: compare words.
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(target).pages).split())
    assert ODD_NAME in text
    assert "DRAFT" in text and "Hemoglobin" in text and "Low" in text
    assert exports(context, case.case_id) == [("export", "pdf")]
    assert str(target) in window.statusBar().currentMessage()


def test_pdf_problems_reach_the_doctor(window: MainWindow, context: AppContext,
                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       warnings: list[str]) -> None:
    case = make_case(context.cases, name="Asha Verma")
    window.reload()
    select_rows(window, 0)
    missing = tmp_path / "no such folder" / "asha.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *_args: (str(missing), "PDF documents (*.pdf)"))
    window.save_pdf_action.trigger()
    assert len(warnings) == 1
    assert "asha.pdf could not be saved in" in warnings[0]
    assert "Choose another folder" in warnings[0]
    assert not missing.parent.exists() and exports(context, case.case_id) == []

    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_args: ("", ""))
    window.save_pdf_action.trigger()  # cancelled: nothing said, nothing written
    assert len(warnings) == 1 and exports(context, case.case_id) == []


def test_unsaved_soap_edits_are_offered_to_save_first(qtbot, window: MainWindow,
                                                      context: AppContext,
                                                      jobs: AnalysisJobs, tmp_path: Path,
                                                      printed: dict[str, list],
                                                      monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    case = analysed(context, jobs, notes="Tired for two months.",
                    lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    window.open_case(case.case_id)
    editor = window.detail.soap_editor
    type_into(qtbot, editor, "plan", "\nRecheck CBC in 4 weeks.")
    assert window.detail.has_unsaved_changes()
    Button = QMessageBox.StandardButton
    answers = [Button.Cancel, Button.Ignore, Button.Save]
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: answers.pop(0))

    window.print_action.trigger()  # Cancel: nothing printed
    assert printed["dialogs"] == [] and window.detail.has_unsaved_changes()
    window.print_action.trigger()  # Ignore: the saved version (the draft) is printed
    assert "Recheck CBC" not in printed["printed"][0][1]
    assert window.detail.has_unsaved_changes()  # the edits are still there
    assert "Recheck CBC in 4 weeks." in editor.editors["plan"].toPlainText()
    window.print_action.trigger()  # Save: revision 1 saved, then printed
    assert [r.revision for r in context.soap_notes.revisions(case.case_id)] == [1]
    assert not window.detail.has_unsaved_changes()
    assert "Recheck CBC in 4 weeks." in printed["printed"][1][1]
    history = window.detail.history.model
    assert (history.index(0, 2).data(), history.index(0, 3).data()) == ("Exported", "print")


def test_default_pdf_name() -> None:
    today = date(2026, 5, 1)
    assert default_pdf_name('Ravi <Kumar> & "Sons"', today) == "Ravi_Kumar_Sons_2026-05-01.pdf"
    assert default_pdf_name("José Núñez", today) == "Jose_Nunez_2026-05-01.pdf"
    assert default_pdf_name("../../etc/passwd", today) == "etc_passwd_2026-05-01.pdf"
    assert default_pdf_name("<>", today) == "case_2026-05-01.pdf"
