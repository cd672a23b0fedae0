"""Settings > Clinic logo: a chosen image is checked, previewed and saved with Settings;
a file that is not a logo is refused under the field."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtWidgets import QFileDialog

from medmitra_desktop.app import AppContext
from medmitra_desktop.ui.views.settings_dialog import SettingsDialog


def test_logo_is_chosen_previewed_and_saved(qtbot, context: AppContext, tmp_path: Path,
                                            monkeypatch) -> None:
    logo = tmp_path / "logo.png"
    Image.new("RGB", (200, 80), (30, 90, 160)).save(logo, format="PNG")
    not_a_logo = tmp_path / "notes.png"
    not_a_logo.write_text("hello")
    dialog = SettingsDialog(context.settings, context.paths.data_dir)
    qtbot.addWidget(dialog)
    picker = dialog.clinic_logo
    assert "No logo" in picker.preview.text() and not picker.remove_button.isEnabled()

    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *_args: (str(not_a_logo), ""))
    picker.choose_button.click()
    message = dialog.form.messages["clinic_logo"]
    assert not message.isHidden() and "must be a PNG or JPEG image" in message.text()
    assert picker.name == ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_args: (str(logo), ""))
    picker.choose_button.click()
    assert message.isHidden() and picker.name.endswith(".png")
    assert not picker.preview.pixmap().isNull() and picker.preview.pixmap().height() == 40
    assert picker.remove_button.isEnabled()
    assert context.settings.load().clinic_logo == ""  # not until Settings are saved

    dialog.save()
    assert dialog.saved is not None and context.settings.load().clinic_logo == picker.name

    again = SettingsDialog(context.settings, context.paths.data_dir)
    qtbot.addWidget(again)
    again.clinic_logo.remove_button.click()
    again.save()
    assert context.settings.load().clinic_logo == ""
    assert list(context.paths.branding.iterdir()) == []  # the unused copy is removed
