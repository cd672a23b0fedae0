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
        window.close()
        window.deleteLater()
        app.processEvents()
        settings.sync()
        if not shown:
            raise RuntimeError("the main window did not show")
        return (f"main window shown with {rows} case(s) and closed "
                f"(Qt {qVersion()}, platform {QApplication.platformName()})")
    finally:
        qInstallMessageHandler(previous)
