from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from medmitra_desktop.analysis.pipeline import Analyzer
from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.enums import CaseStatus
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.ui.main_window import MainWindow
from medmitra_desktop.ui.workers import AnalysisRunner
from tests.factories import LAB_LINES, image_pdf, make_case, scanned_png, text_pdf


def test_window_runs_queued_jobs_off_the_gui_thread(qtbot, context: AppContext,
                                                    analyzer: Analyzer, tmp_path: Path) -> None:
    case = make_case(context.cases, lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES),
                                         scanned_png(tmp_path / "scan.png", LAB_LINES)])
    runner = AnalysisRunner(lambda: AnalysisJobs(context.database, context.files, analyzer))
    progress: list[float] = []
    runner.progress.connect(lambda _case, fraction, _message: progress.append(fraction))
    window = MainWindow(context, "dr-qt",
                        QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), runner)
    qtbot.addWidget(window)
    try:
        with qtbot.waitSignal(runner.job_finished, timeout=60_000) as finished:
            pass  # the window woke the runner when it opened
        assert finished.args[:2] == [case.case_id, "completed"]
        assert progress and max(progress) == 1.0
        qtbot.waitUntil(lambda: window.model.index(0, 3).data() == "Completed", timeout=5000)
        assert context.cases.get_case(case.case_id).status is CaseStatus.COMPLETED
    finally:
        runner.stop()


def test_cancel_from_the_window(qtbot, context: AppContext, analyzer: Analyzer,
                                tmp_path: Path) -> None:
    case = make_case(context.cases, lab=[image_pdf(tmp_path / "scan.pdf", [LAB_LINES] * 8)])
    runner = AnalysisRunner(lambda: AnalysisJobs(context.database, context.files, analyzer))
    window = MainWindow(context, "dr-qt",
                        QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), runner)
    qtbot.addWidget(window)
    try:
        with qtbot.waitSignal(runner.progress, timeout=30_000):
            pass
        with qtbot.waitSignal(runner.job_finished, timeout=60_000) as finished:
            window.cancel_analysis()
        assert finished.args[:2] == [case.case_id, "failed"]
        assert "cancelled" in finished.args[2]
    finally:
        runner.stop()
