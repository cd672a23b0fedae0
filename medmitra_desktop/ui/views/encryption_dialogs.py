"""Encryption at rest in the window: its state and switch in Settings, the recovery code
shown once, and the recovery code asked for when the keychain has no key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ... import APP_NAME
from ...domain.errors import MedMitraError
from ...storage import encryption
from ...storage.data_key import DataKey, DataKeyStore

# One line each (a wrapped label in a form is cut off); the tooltip says more.
OFF = "Off: readable by your user account only."
PENDING = "On at the next start: close MedMitra Desktop and open it again."
ON = "On: database and files encrypted; the key is in this computer's keychain."
DETAIL = ("Without encryption the data folder is protected by its permissions (your user "
          "account only) and by disk encryption (BitLocker, FileVault, LUKS) where it is on. "
          "Encrypted, the database and every stored file can be read only with a key kept "
          "in this computer's keychain, or with the recovery code.")


class EncryptionRow(QWidget):
    """Settings' row: what protects the folder now, and the button that encrypts it."""

    def __init__(self, data_dir: Path, turn_on: Callable[[], DataKey] | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._data_dir = data_dir
        self._turn_on = turn_on
        self.status = QLabel()
        self.status.setToolTip(DETAIL)
        self.button = QPushButton("Encrypt this data folder…")
        self.button.setAccessibleName("Encrypt this data folder")
        self.button.clicked.connect(self.encrypt)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignLeft)
        self.refresh()

    def refresh(self) -> None:
        try:
            state = encryption.read_state(self._data_dir)
        except MedMitraError as error:
            self.status.setText(str(error))
            self.button.hide()
            return
        self.status.setText(OFF if state is None else ON if state.finished else PENDING)
        self.button.setVisible(state is None and self._turn_on is not None)

    def encrypt(self) -> None:
        if self._turn_on is None:
            return
        answer = QMessageBox.question(
            self, "Encrypt this data folder",
            "The database and every stored report file will be encrypted with a key kept "
            "in this computer's keychain. Copies of the data (backups) stay encrypted too."
            "\n\nYou will be shown a recovery code once. Without it the data cannot be "
            "read if the keychain is lost or the folder moves to another computer.\n\n"
            "Encryption cannot be turned off again. Continue?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            key = self._turn_on()
        except MedMitraError as error:
            QMessageBox.warning(self, "Encryption not turned on", str(error))
            return
        RecoveryCodeDialog(key.recovery_code(), self).exec()
        self.refresh()
        QMessageBox.information(
            self, "Encryption turned on",
            "Close MedMitra Desktop and open it again to finish: the folder is encrypted "
            "as it opens (about a minute for each few gigabytes). An interruption loses "
            "nothing; it carries on at the next start.")


class RecoveryCodeDialog(QDialog):
    """The recovery code, once; OK only when the doctor says it is written down."""

    def __init__(self, code: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Recovery code")
        intro = QLabel(
            "<b>Write this recovery code down</b> and keep it where you keep the clinic's "
            "keys, not on this computer. It opens this data folder if the keychain is "
            "lost or on another computer. Anyone who has it can read the data. It is "
            "shown only now.")
        intro.setWordWrap(True)
        self.code = QLineEdit(code)
        self.code.setReadOnly(True)
        self.code.setAccessibleName("Recovery code")
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.code.setFont(font)
        self.code.setMinimumWidth(self.code.fontMetrics().horizontalAdvance(code) + 24)
        copy = QPushButton("Copy")
        copy.setAccessibleName("Copy the recovery code")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(code))
        self.written = QCheckBox("I have written the recovery code down")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(False)
        self.written.toggled.connect(ok.setEnabled)
        self.buttons.accepted.connect(self.accept)
        row = QHBoxLayout()
        row.addWidget(self.code, 1)
        row.addWidget(copy)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(row)
        layout.addWidget(self.written)
        layout.addWidget(self.buttons)

    def reject(self) -> None:
        if self.written.isChecked():  # Escape closes only once the code is safe
            super().reject()


def ask_recovery_code(data_dir: Path, why: str,
                      parent: QWidget | None = None) -> DataKey | None:
    """At start, when the keychain has no key: ask until a code fits or the doctor
    gives up (None)."""
    message = why
    while True:
        dialog = RecoveryCodePrompt(message, parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        try:
            key, not_kept = encryption.key_from_recovery_code(data_dir, dialog.code.text(),
                                                              DataKeyStore())
        except MedMitraError as error:
            message = str(error)
            continue
        if not_kept:
            QMessageBox.warning(parent, APP_NAME, not_kept)
        return key


class RecoveryCodePrompt(QDialog):
    def __init__(self, why: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{APP_NAME}: recovery code")
        self.why = QLabel(why)
        self.why.setWordWrap(True)
        self.code = QLineEdit()
        self.code.setAccessibleName("Recovery code")
        self.code.setPlaceholderText("XXXXX-XXXXX-XXXXX-…")
        self.code.setEchoMode(QLineEdit.EchoMode.Password)
        show = QCheckBox("Show")
        show.toggled.connect(lambda on: self.code.setEchoMode(
            QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Open")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.code, 1)
        row.addWidget(show)
        layout = QVBoxLayout(self)
        layout.addWidget(self.why)
        layout.addLayout(row)
        layout.addWidget(buttons)
        # A wrapped label's height depends on its width, which a layout's minimum size
        # does not follow: fix the width, so the text is never cut off.
        self.why.setFixedWidth(540)
        self.why.setMinimumHeight(self.why.heightForWidth(540))
