"""The window part of `medmitra-desktop --self-test`: a QApplication and the main window,
shown and closed off screen. Qt messages are collected, not printed: the caller fails the
self-test on any warning."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QMessageLogContext,
    QSettings,
    QtMsgType,
    qInstallMessageHandler,
    qVersion,
)
from PySide6.QtWidgets import QApplication

from .. import APP_NAME, __version__
from ..app import AppContext

# The offscreen platform plugin says so when a window asks for what only a real screen
# does; nothing is wrong with the app.
_OFFSCREEN_NOTICES = ("This plugin does not support",)


def show_main_window(context: AppContext, settings_file: Path,
                     qt_messages: list[str]) -> str:
    """Open the main window over `context`, let it load the case list, close it.
    Returns a line for the report; Qt warnings are appended to qt_messages."""

    def collect(kind: QtMsgType, _where: QMessageLogContext, message: str) -> None:
        if kind in (QtMsgType.QtDebugMsg, QtMsgType.QtInfoMsg):
            return
        if QApplication.platformName() == "offscreen" and message.startswith(
                _OFFSCREEN_NOTICES):
            return
        qt_messages.append(message)

    previous = qInstallMessageHandler(collect)
    try:
        app = QApplication.instance() or QApplication(["medmitra-desktop"])
        app.setApplicationName(APP_NAME)
        app.setOrganizationName("MedMitra")
        app.setApplicationVersion(__version__)
        from .main_window import MainWindow

        settings = QSettings(str(settings_file), QSettings.Format.IniFormat)
        window = MainWindow(context, "self-test", settings)
        window.show()
        app.processEvents()
        window.reload()
        app.processEvents()
        shown = window.isVisible()
        rows = window.model.rowCount()
        case_id = window.model.case_id_at(0)
        window.close()
        window.deleteLater()
        app.processEvents()
        settings.sync()
        if not shown:
            raise RuntimeError("the main window did not show")
        printed = _print_to_pdf(context, case_id, settings_file.parent)
        return (f"main window shown with {rows} case(s) and closed "
                f"(Qt {qVersion()}, platform {QApplication.platformName()}); {printed}")
    finally:
        qInstallMessageHandler(previous)


def _print_to_pdf(context: AppContext, case_id: str | None, folder: Path) -> str:
    """The case report through Qt's printing (an installer that dropped it fails here)."""
    if case_id is None:
        raise RuntimeError("no case to print")
    from .print_case import write_pdf

    target = folder / "self-test-report.pdf"
    write_pdf(context.documents.report(case_id), target)
    with target.open("rb") as handle:
        if handle.read(5) != b"%PDF-":
            raise RuntimeError("the case report is not a PDF")
    return f"case report printed to PDF ({target.stat().st_size // 1024} KiB)"
