"""Screenshots of the real window on a real (virtual) screen, for review.

    xvfb-run -a -s "-screen 0 1366x800x24" .venv/bin/python build/screenshots.py \
        --data-dir DIR --out build/screenshots

Opens MedMitra Desktop on DIR (a demo database: create cases first, e.g. with
`medmitra-desktop cases create`), lets queued analysis finish, and writes one PNG per view:
the case list, then the detail of the first case (or --case NAME) tab by tab, its dialogs,
and the same tabs in the dark palette. The pixels come from the X server
(QScreen.grabWindow), so they are what a doctor sees.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QDialog

from medmitra_desktop.app import open_app
from medmitra_desktop.ui.gui import make_jobs
from medmitra_desktop.ui.main_window import MainWindow
from medmitra_desktop.ui.theme import ThemeController
from medmitra_desktop.ui.views.case_detail import (
    DOCUMENTS_TAB,
    HISTORY_TAB,
    LABS_TAB,
    MEDICATIONS_TAB,
    RADIOLOGY_TAB,
    SUMMARY_TAB,
)
from medmitra_desktop.ui.views.case_edit_dialog import CaseEditDialog
from medmitra_desktop.ui.views.medication_review_dialog import MedicationReviewDialog
from medmitra_desktop.ui.workers import AnalysisRunner

STEP_MS = 400
DETAIL_TABS = ((SUMMARY_TAB, "summary"), (LABS_TAB, "labs"), (RADIOLOGY_TAB, "radiology"),
               (MEDICATIONS_TAB, "medications"), (DOCUMENTS_TAB, "documents"),
               (HISTORY_TAB, "history"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", type=Path, default=Path("build/screenshots"))
    parser.add_argument("--wait-ms", type=int, default=60_000,
                        help="longest wait for queued analysis")
    parser.add_argument("--case", default="",
                        help="open the case of this patient (default: the first in the list)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    app = QApplication(sys.argv)
    app.setApplicationName("MedMitra Desktop")
    themes = ThemeController(app)
    themes.apply("light")
    context = open_app(args.data_dir)
    runner = AnalysisRunner(lambda: make_jobs(context))
    settings = QSettings(str(args.out / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(context, "dr-demo", settings, runner)
    window.resize(1280, 720)
    window.show()

    def shoot(name: str) -> None:
        screen = app.primaryScreen()
        screen.grabWindow(0).save(str(args.out / f"{name}.png"))
        print(args.out / f"{name}.png")

    steps: list[Callable[[], object]] = []

    def run_steps() -> None:
        if steps:
            steps.pop(0)()
            QTimer.singleShot(STEP_MS, run_steps)
        else:
            app.quit()

    def open_detail() -> None:
        row = 0
        for number in range(window.model.rowCount()):
            if args.case.casefold() in str(window.model.index(number, 0).data()).casefold():
                row = number
                break
        window.open_case_at(row)

    def shoot_tabs(suffix: str = "") -> None:
        detail = window.detail
        for index, name in DETAIL_TABS:
            steps.append(lambda index=index: detail.tabs.setCurrentIndex(index))
            steps.append(lambda name=name: shoot(f"case_detail_{name}{suffix}"))

    def show_dialog(dialog: QDialog, name: str, prepare: Callable[[QDialog], object]) -> None:
        dialog.show()
        prepare(dialog)
        QTimer.singleShot(STEP_MS // 2, lambda: (shoot(name), dialog.reject()))

    def edit_dialog() -> None:
        detail = window.detail
        if detail.case is None:
            return
        dialog = CaseEditDialog(context.cases, "dr-demo", detail.case, window)

        def bad_age(d: QDialog) -> None:
            assert isinstance(d, CaseEditDialog)
            d.age.setText("abc")
            d.save()  # shows the inline message; nothing is saved

        show_dialog(dialog, "case_detail_edit_dialog", bad_age)

    def review_dialog() -> None:
        detail = window.detail
        medications = detail.medications.model.rows
        if detail.case_id is None or not medications:
            return
        dialog = MedicationReviewDialog(context.results, "dr-demo", detail.case_id,
                                        medications[0], window)

        def stop_without_reason(d: QDialog) -> None:
            assert isinstance(d, MedicationReviewDialog)
            d.select_state("stopped")
            d.reason.clear()
            d.save()  # "say why the medication was stopped", nothing is saved

        show_dialog(dialog, "case_detail_review_dialog", stop_without_reason)

    def scanned_document() -> None:
        detail = window.detail
        for document in detail.documents.model.rows:
            if document.text_source == "ocr":
                detail.open_link(f"document:{document.document_id}:1")
                return

    started: list[bool] = []

    def finish() -> None:
        if started:
            return  # the idle signal and the time limit both call this
        started.append(True)
        shoot("case_list")
        window.search.setText("asha")
        steps.extend([
            lambda: shoot("case_list_search"),
            lambda: window.search.clear(),
            lambda: None,
            open_detail,
        ])
        shoot_tabs()
        steps.extend([
            scanned_document,
            lambda: shoot("case_detail_documents_ocr"),
            lambda: window.detail.tabs.setCurrentIndex(MEDICATIONS_TAB),
            lambda: window.detail.medications.table.selectRow(0),
            review_dialog,
            lambda: None,
            edit_dialog,
            lambda: None,
            lambda: themes.apply("dark"),
        ])
        shoot_tabs("_dark")
        QTimer.singleShot(STEP_MS, run_steps)

    runner.idle.connect(lambda: QTimer.singleShot(500, finish))
    QTimer.singleShot(args.wait_ms, finish)
    try:
        return app.exec()
    finally:
        runner.stop()
        context.close()


if __name__ == "__main__":
    sys.exit(main())
