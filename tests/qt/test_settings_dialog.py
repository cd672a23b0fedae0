from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from medmitra_desktop.app import AppContext
from medmitra_desktop.ui.theme import ThemeController, is_dark
from medmitra_desktop.ui.views.settings_dialog import SettingsDialog


def test_settings_are_saved_with_inline_messages(qtbot, context: AppContext) -> None:
    dialog = SettingsDialog(context.settings, context.paths.data_dir)
    qtbot.addWidget(dialog)
    assert dialog.data_dir.text() == str(context.paths.data_dir)
    assert dialog.data_dir.isReadOnly()
    dialog.server_url.setText("http://clinic.lan")
    dialog.tesseract_path.setText("/no/such/tesseract")
    dialog.save()
    assert dialog.saved is None
    assert "https://" in dialog.form.messages["server_url"].text()
    assert "OCR engine not installed" in dialog.tesseract_status.text()

    dialog.server_url.clear()
    dialog.tesseract_path.setText(sys.executable)
    qtbot.keyClicks(dialog.doctor_name, "Dr. Meera Rao")
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.save()
    assert dialog.saved is not None
    stored = context.settings.load()
    assert (stored.doctor_name, stored.theme) == ("Dr. Meera Rao", "dark")


def test_tesseract_found_is_reported(qtbot, context: AppContext) -> None:
    dialog = SettingsDialog(context.settings, Path("/tmp"))
    qtbot.addWidget(dialog)
    dialog.tesseract_path.clear()
    assert "is ready" in dialog.tesseract_status.text()


def test_dark_and_light_palettes(qtbot) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    themes = ThemeController(app)
    try:
        themes.apply("dark")
        assert is_dark(app)
        text = app.palette().color(QPalette.ColorRole.WindowText)
        window = app.palette().color(QPalette.ColorRole.Window)
        assert contrast(text, window) >= 4.5  # WCAG AA for body text
        themes.apply("light")
        assert not is_dark(app)
        text = app.palette().color(QPalette.ColorRole.WindowText)
        window = app.palette().color(QPalette.ColorRole.Window)
        assert contrast(text, window) >= 4.5
    finally:
        themes.apply("system")
        themes.deleteLater()
    assert is_dark(app) == (app.styleHints().colorScheme() == Qt.ColorScheme.Dark)


def contrast(first: QColor, second: QColor) -> float:
    def luminance(colour: QColor) -> float:
        def channel(value: float) -> float:
            return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4
        return (0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF())
                + 0.0722 * channel(colour.blueF()))
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_settings_from_the_main_window_apply_theme_and_user(qtbot, context: AppContext,
                                                            tmp_path: Path,
                                                            monkeypatch) -> None:
    from PySide6.QtCore import QSettings

    from medmitra_desktop.ui.main_window import MainWindow

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    themes = ThemeController(app)
    window = MainWindow(context, "dr-old",
                        QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                        themes=themes)
    qtbot.addWidget(window)

    def fill_and_save(dialog: SettingsDialog) -> int:
        dialog.user_id.setText("dr-new")
        dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
        dialog.save()
        return int(dialog.result())

    monkeypatch.setattr(SettingsDialog, "exec", fill_and_save)
    try:
        window.open_settings()
        assert window._user_id == "dr-new"
        assert is_dark(app)
        assert context.settings.load().theme == "dark"
    finally:
        themes.apply("system")
        themes.deleteLater()
