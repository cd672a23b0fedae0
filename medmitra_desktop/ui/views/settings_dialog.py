"""Settings: the data folder and its encryption, the doctor, OCR, the server and the
theme."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...analysis.extract import ocr_engine_status
from ...config import AppPaths
from ...domain.errors import ValidationError
from ...services.clinic_logo import ClinicLogoStore
from ...services.settings import THEMES, AppSettings, SettingsService, tesseract_location
from ...services.sync_account import SyncAccount
from ...storage.data_key import DataKey
from ..widgets.field_form import FieldForm
from ..widgets.logo_picker import LogoPicker
from .encryption_dialogs import EncryptionRow
from .sign_in_dialog import SyncGroup


class SettingsDialog(QDialog):
    def __init__(self, service: SettingsService, data_dir: Path,
                 parent: QWidget | None = None, *, sync: SyncAccount | None = None,
                 turn_on_encryption: Callable[[], DataKey] | None = None) -> None:
        """With `sync`, the server address sits in a Sync group with the sign-in; with
        `turn_on_encryption`, the Encryption row can encrypt the data folder."""
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._service = service
        self.saved: AppSettings | None = None
        current = service.load()

        self.data_dir = QLineEdit(str(data_dir))
        self.data_dir.setReadOnly(True)
        self.data_dir.setAccessibleName("Data folder")
        self.data_dir.setToolTip("Change it by starting with --data-dir or MEDMITRA_HOME")
        open_folder = QPushButton("Open folder")
        open_folder.setAccessibleName("Open the data folder")
        open_folder.clicked.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(data_dir))))

        self.doctor_name = QLineEdit(current.doctor_name)
        self.doctor_name.setPlaceholderText("as it appears on signed notes")
        self.user_id = QLineEdit(current.user_id)
        self.clinic_name = QLineEdit(current.clinic_name)
        self.clinic_logo = LogoPicker(ClinicLogoStore(AppPaths(data_dir).branding),
                                      current.clinic_logo)
        self.ocr_language = QLineEdit(current.ocr_language)
        self.ocr_language.setPlaceholderText("eng, or eng+hin for several")
        self.tesseract_path = QLineEdit(current.tesseract_path)
        self.tesseract_path.setPlaceholderText(tesseract_location(AppSettings()) or
                                               "not found on this computer")
        browse = QPushButton("Browse…")
        browse.setAccessibleName("Choose the Tesseract program")
        browse.clicked.connect(self._choose_tesseract)
        self.tesseract_status = QLabel()
        self.tesseract_status.setWordWrap(True)
        self.tesseract_path.textChanged.connect(self._check_tesseract)
        self.server_url = QLineEdit(current.server_url)
        self.server_url.setPlaceholderText("empty: work offline")
        self.theme = QComboBox()
        for theme in THEMES:
            self.theme.addItem("Follow the system" if theme == "system" else theme.capitalize(),
                               theme)
        self.theme.setCurrentIndex(max(0, self.theme.findData(current.theme)))

        for widget, name in ((self.doctor_name, "Doctor name"), (self.user_id, "User id"),
                             (self.clinic_name, "Clinic name"),
                             (self.ocr_language, "OCR language"),
                             (self.tesseract_path, "Tesseract program"),
                             (self.server_url, "Server address"), (self.theme, "Theme")):
            widget.setAccessibleName(name)

        self.encryption = EncryptionRow(data_dir, turn_on_encryption)
        self.form = FieldForm()
        self.form.addRow("Data folder", _row(self.data_dir, open_folder))
        self.form.addRow("Encryption", self.encryption)
        self.form.add_field("doctor_name", "&Doctor name", self.doctor_name)
        self.form.add_field("user_id", "&User id", self.user_id)
        self.form.add_field("clinic_name", "&Clinic name", self.clinic_name)
        self.form.add_field("clinic_logo", "Clinic l&ogo", self.clinic_logo,
                            focus=self.clinic_logo.choose_button)
        self.clinic_logo.problem.connect(
            lambda text: self.form.show_errors({"clinic_logo": text} if text else {}, self))
        self.form.add_field("ocr_language", "OCR &language", self.ocr_language)
        self.form.add_field("tesseract_path", "&Tesseract program",
                            _row(self.tesseract_path, browse), focus=self.tesseract_path,
                            note=self.tesseract_status)
        self.sync_group = (SyncGroup(sync, self.server_url, self.user_id)
                           if sync is not None else None)
        if self.sync_group is None:
            self.form.add_field("server_url", "&Server address", self.server_url)
        else:  # the address is in the Sync group; its message shows this form's errors
            self.form.messages["server_url"] = self.sync_group.server_message
        self.form.add_field("theme", "T&heme", self.theme)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        if self.sync_group is not None:
            layout.addWidget(self.sync_group)
            # In reading order: the theme, then the Sync group under it.
            QWidget.setTabOrder(self.theme, self.server_url)
            QWidget.setTabOrder(self.server_url, self.sync_group.sign_in_button)
            QWidget.setTabOrder(self.sync_group.sign_in_button,
                                self.sync_group.sign_out_button)
        layout.addWidget(buttons)
        self._check_tesseract()
        self.resize(620, 0)

    def values(self) -> AppSettings:
        return replace(
            AppSettings(),
            doctor_name=self.doctor_name.text(), user_id=self.user_id.text(),
            clinic_name=self.clinic_name.text(), ocr_language=self.ocr_language.text(),
            tesseract_path=self.tesseract_path.text(), server_url=self.server_url.text(),
            theme=str(self.theme.currentData()), clinic_logo=self.clinic_logo.name,
        )

    def save(self) -> None:
        try:
            self.saved = self._service.save(self.values())
        except ValidationError as error:
            self.form.show_errors(error.by_field(), self)
            return
        self.clinic_logo.store.prune(keep=self.saved.clinic_logo)  # copies no longer named
        self.accept()

    def _choose_tesseract(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Choose the Tesseract program")
        if name:
            self.tesseract_path.setText(name)

    def _check_tesseract(self) -> None:
        chosen = self.tesseract_path.text().strip()
        found, detail = ocr_engine_status(chosen or tesseract_location(AppSettings()))
        self.tesseract_status.setText(
            f"Tesseract {detail} is ready." if found else
            f"OCR engine not installed: {detail}. Text PDFs still work; scans and photos "
            f"need Tesseract.")


def _row(*widgets: QWidget) -> QWidget:
    holder = QWidget()
    layout = QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1 if isinstance(widget, QLineEdit) else 0)
    return holder
