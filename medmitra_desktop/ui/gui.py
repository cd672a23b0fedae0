"""Start the window: open the data folder, report start-up problems in a dialog."""

from __future__ import annotations

import getpass
import logging
import os
import sys
import traceback
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from .. import APP_NAME, __version__
from ..app import AppContext, build_analyzer, open_app
from ..domain.errors import MedMitraError
from ..logging_setup import configure_logging

if TYPE_CHECKING:
    from ..services.analysis_jobs import AnalysisJobs

log = logging.getLogger(__name__)


def _no_display() -> bool:
    return (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
        and not os.environ.get("QT_QPA_PLATFORM")
    )


def _install_crash_handler() -> None:
    """An unexpected error shows a dialog and is logged; the app keeps running."""

    def handle(kind: type[BaseException], error: BaseException,
               trace: TracebackType | None) -> None:
        # The traceback holds code locations only; exception text may quote input, so it
        # is logged at ERROR without it and with it at DEBUG.
        log.error("Unexpected error %s\n%s", kind.__name__,
                  "".join(traceback.format_tb(trace)))
        log.debug("Unexpected error text: %s", error)
        box = QMessageBox(QMessageBox.Icon.Critical, APP_NAME,
                          "Something went wrong. Your data is safe; you can keep working. "
                          "If it happens again, send the log file to support.")
        box.setDetailedText("".join(traceback.format_exception(kind, error, trace)))
        box.exec()

    sys.excepthook = handle


def make_jobs(context: AppContext) -> AnalysisJobs:
    """The analysis job service with the OCR settings the doctor chose."""
    from ..analysis.extract import ExtractOptions
    from ..services.analysis_jobs import AnalysisJobs

    settings = context.settings.load()
    options = ExtractOptions(ocr_language=settings.ocr_language,
                             tesseract_cmd=settings.tesseract_path or None)
    return AnalysisJobs(context.database, context.files, build_analyzer(options))


def _open_with_dialogs(data_dir_arg: str | None) -> AppContext | None:
    """open_app, with a progress dialog while a folder is encrypted and the recovery code
    asked for when the keychain has no key; None after a message (or a cancel)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QProgressDialog

    from ..config import resolve_data_dir
    from ..storage.encryption import DataKeyMissing
    from .views.encryption_dialogs import ask_recovery_code

    progress: QProgressDialog | None = None

    def sealing(done: int, total: int) -> None:
        nonlocal progress
        if progress is None:
            progress = QProgressDialog("Encrypting the data folder…", "", 0, total)
            progress.setWindowTitle(APP_NAME)
            progress.setCancelButton(None)  # stopping half-way helps nobody; it resumes
            progress.setWindowModality(Qt.WindowModality.ApplicationModal)
            progress.setMinimumDuration(0)
        progress.setValue(done)
        QApplication.processEvents()

    key = None
    try:
        while True:
            try:
                return open_app(data_dir_arg, data_key=key, progress=sealing)
            except DataKeyMissing as error:
                key = ask_recovery_code(resolve_data_dir(data_dir_arg), str(error))
                if key is None:
                    return None
    except MedMitraError as error:
        QMessageBox.critical(None, APP_NAME, str(error))
        return None
    finally:
        if progress is not None:
            progress.close()


def run_gui(data_dir_arg: str | None) -> int:
    if _no_display():
        print(
            f"{APP_NAME} needs a display, and none was found (DISPLAY is not set). Start it "
            f"from a desktop session, or under a virtual display: xvfb-run medmitra-desktop",
            file=sys.stderr,
        )
        return 1
    configure_logging(None)
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("MedMitra")
    app.setApplicationVersion(__version__)
    context = _open_with_dialogs(data_dir_arg)
    if context is None:
        return 1
    configure_logging(context.paths.logs)
    _install_crash_handler()
    from .audit_dialog import warn_if_audit_broken

    warn_if_audit_broken(None, context.database)  # a broken chain is told, never fatal
    from .theme import ThemeController

    themes = ThemeController(app)
    themes.apply(context.settings.load().theme)
    from .main_window import MainWindow
    from .sync_runner import SyncRunner
    from .views.sign_in_dialog import wait_for_account_calls
    from .workers import AnalysisRunner

    settings = QSettings()
    user_id = context.settings.load().user_id or getpass.getuser()
    runner = AnalysisRunner(lambda: make_jobs(context))
    sync = SyncRunner(context.sync)
    window = MainWindow(context, user_id, settings, runner, themes, sync=sync)
    window.show()
    try:
        return app.exec()
    finally:
        sync.stop()  # the window stops it when closed; this covers every other way out
        runner.stop()
        wait_for_account_calls()
        context.close()
