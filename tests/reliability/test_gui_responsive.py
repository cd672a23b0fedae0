"""The window stays usable while hostile files are analysed: the worker ends every job
with a signal, the GUI thread never runs extraction or OCR, and its event loop keeps
turning (a QTimer fires) all along. No timing bounds are asserted, only behaviour."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, QTimer

from medmitra_desktop.analysis import pipeline
from medmitra_desktop.analysis.extract import ocr
from medmitra_desktop.analysis.pipeline import Analyzer
from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.errors import InstanceLockedError
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.ui.main_window import MainWindow
from medmitra_desktop.ui.workers import AnalysisRunner
from tests.factories import LAB_LINES, make_case, scanned_png
from tests.reliability.bad_inputs import (
    garbage_pdf,
    many_pages_pdf,
    png_bomb,
    tiff_bomb,
    truncated_png,
)


def _recording(calls: list[int], function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(threading.get_ident())
        return function(*args, **kwargs)

    return wrapper


def test_hostile_files_fail_off_the_gui_thread_while_it_keeps_turning(
        qtbot, context: AppContext, analyzer: Analyzer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    extract_threads: list[int] = []
    ocr_threads: list[int] = []
    monkeypatch.setattr(pipeline, "extract_document",
                        _recording(extract_threads, pipeline.extract_document))
    monkeypatch.setattr(ocr.TesseractOcr, "read_page_any_orientation",
                        _recording(ocr_threads, ocr.TesseractOcr.read_page_any_orientation))
    hostile = [png_bomb(tmp_path / "bomb.png"), tiff_bomb(tmp_path / "bomb.tif"),
               garbage_pdf(tmp_path / "garbage.pdf"), truncated_png(tmp_path / "half.png"),
               many_pages_pdf(tmp_path / "pages.pdf", 20_000)]
    case = make_case(context.cases, lab=[*hostile, scanned_png(tmp_path / "scan.png",
                                                               LAB_LINES)])
    runner = AnalysisRunner(lambda: AnalysisJobs(context.database, context.files, analyzer))
    ticks: list[int] = []
    heartbeat = QTimer()
    heartbeat.setInterval(20)
    heartbeat.timeout.connect(lambda: ticks.append(threading.get_ident()))
    window = MainWindow(context, "dr-qt",
                        QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), runner)
    qtbot.addWidget(window)
    gui_thread = threading.get_ident()
    try:
        heartbeat.start()
        with qtbot.waitSignal(runner.job_finished, timeout=120_000) as finished:
            pass  # the window woke the runner when it opened
        ticks_during_job = len(ticks)
        heartbeat.stop()
    finally:
        runner.stop()
    assert finished.args[:2] == [case.case_id, "completed"]  # the scan was read
    assert ticks_during_job > 0 and set(ticks) == {gui_thread}
    assert len(extract_threads) == len(hostile) + 1
    assert gui_thread not in extract_threads
    assert ocr_threads and gui_thread not in ocr_threads
    stored = context.cases.get_case(case.case_id)
    failed = {d.file_name: d.error for d in stored.documents if d.status.value == "failed"}
    assert set(failed) == {path.name for path in hostile}
    assert all(failed[name] and name in failed[name] for name in failed)
    # Still answering: a search typed now filters the list.
    make_case(context.cases, name="Zubin Afterwards")
    window.reload()
    qtbot.keyClicks(window.search, "zubin")
    qtbot.waitUntil(lambda: window.model.total == 1, timeout=5000)


def test_a_second_window_on_the_same_folder_is_refused(context: AppContext) -> None:
    """What run_gui shows in its start-up dialog when another instance holds the folder
    (the CLI's refusal is tested in tests/cli/test_cases_cli.py)."""
    from medmitra_desktop.app import open_app

    with pytest.raises(InstanceLockedError) as refused:
        open_app(str(context.paths.data_dir))
    assert "already running on the data folder" in str(refused.value)
    # The first instance is untouched and still writes.
    make_case(context.cases, name="Still Mine")
    assert context.cases.count_cases() == 1
