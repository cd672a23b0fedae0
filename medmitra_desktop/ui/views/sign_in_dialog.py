"""Signing in to a MedMitra server and out again: the Sign in dialog, and the Sync group
of the Settings dialog (server address, who is signed in, Sign in…, Sign out).

Signing in asks the server (network) and writes the OS keychain; reading or deleting the
sign-in reads the keychain, which may wait for the system's unlock prompt. All of it runs
on a QThread (`run_in_thread`), never on the GUI thread; the dialog shows it is busy.
A keychain that is missing or locked gets its own plain message: it is not a wrong token.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...domain.errors import KeychainUnavailable, MedMitraError, ValidationError
from ...services.sync_account import SyncAccount, SyncStatus
from ..widgets.clinical_colors import ClinicalColors
from ..widgets.confirm import ask_yes_no
from ..widgets.field_form import FieldForm

log = logging.getLogger(__name__)

KEYCHAIN_TITLE = "The system keychain cannot be used"


class _CallThread(QThread):
    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(self, call: Callable[[], object]) -> None:
        super().__init__()
        self._call = call

    def run(self) -> None:
        try:
            result = self._call()
        except Exception as error:  # handed to the GUI thread, which shows it
            if not isinstance(error, MedMitraError):
                log.exception("Sync account call failed")
            self.failed.emit(error)
            return
        self.succeeded.emit(result)


# Threads still running, kept alive here (not by the dialog that started them), so a
# dialog closed meanwhile never destroys a running QThread.
_RUNNING: set[_CallThread] = set()


def run_in_thread(call: Callable[[], object], on_success: Callable[[Any], None],
                  on_failure: Callable[[BaseException], None]) -> _CallThread:
    """Run `call` on its own QThread; the result or the error arrives on the GUI thread.
    Pass bound methods of a QObject: Qt drops the delivery if it is gone by then."""
    thread = _CallThread(call)
    thread.succeeded.connect(on_success)
    thread.failed.connect(on_failure)
    _RUNNING.add(thread)

    def finished() -> None:
        _RUNNING.discard(thread)
        thread.deleteLater()

    thread.finished.connect(finished)
    thread.start()
    return thread


def wait_for_account_calls(timeout_ms: int = 30_000) -> None:
    """Wait for the calls still running (at exit, and in tests)."""
    for thread in list(_RUNNING):
        thread.wait(timeout_ms)


def _error_style(owner: QWidget) -> str:
    return f"color: {ClinicalColors.from_palette(owner.palette()).critical_fg.name()};"


def _keychain_style(owner: QWidget) -> str:
    colors = ClinicalColors.from_palette(owner.palette())
    return (f"QLabel {{ background: {colors.abnormal_bg.name()}; color: {colors.text.name()};"
            f" border-left: 5px solid {colors.abnormal_fg.name()}; padding: 6px; }}")


class SignInDialog(QDialog):
    """Server address, user id and access token; Sign in checks the token with the server
    and keeps it in the keychain. `status` holds the account after a sign-in."""

    def __init__(self, account: SyncAccount, server_url: str = "", user_id: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in to a MedMitra server")
        self._account = account
        self._busy = False
        self.status: SyncStatus | None = None

        self.server_url = QLineEdit(server_url)
        self.server_url.setPlaceholderText("https://medmitra.example.org")
        self.server_url.setAccessibleName("Server address")
        self.user_id = QLineEdit(user_id)
        self.user_id.setAccessibleName("User id")
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("paste it from your MedMitra account")
        self.token.setAccessibleName("Access token")
        self.token.setToolTip("Kept only in this computer's system keychain, never in a file")
        self.form = FieldForm()
        self.form.add_field("server_url", "&Server address", self.server_url)
        self.form.add_field("user_id", "&User id", self.user_id)
        self.form.add_field("token", "Access &token", self.token)

        self.message = QLabel()
        self.message.setObjectName("signInMessage")
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Sign-in problem")
        self.message.hide()
        self.keychain_message = QLabel()
        self.keychain_message.setObjectName("keychainMessage")
        self.keychain_message.setWordWrap(True)
        self.keychain_message.setAccessibleName(KEYCHAIN_TITLE)
        self.keychain_message.hide()
        self.busy_label = QLabel("Signing in… checking the token with the server.")
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # no end known: a moving bar
        self.busy_bar.setMaximumHeight(8)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setAccessibleName("Signing in")
        busy = QHBoxLayout()
        busy.addWidget(self.busy_label)
        busy.addWidget(self.busy_bar, 1)
        self.busy_row = QWidget()
        self.busy_row.setLayout(busy)
        self.busy_row.hide()

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.sign_in_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.sign_in_button.setText("&Sign in")
        self.buttons.accepted.connect(self.sign_in)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.keychain_message)
        layout.addWidget(self.message)
        layout.addWidget(self.busy_row)
        layout.addWidget(self.buttons)
        self.resize(520, 0)
        (self.token if server_url and user_id else self.server_url).setFocus()

    @property
    def busy(self) -> bool:
        return self._busy

    def sign_in(self) -> None:
        if self._busy:
            return
        server_url, user_id = self.server_url.text().strip(), self.user_id.text().strip()
        token = self.token.text()
        self.form.show_errors({}, self)
        self.message.hide()
        self.keychain_message.hide()
        self._set_busy(True)
        run_in_thread(lambda: self._account.sign_in(server_url, user_id, token),
                      self._signed_in, self._failed)

    def _signed_in(self, status: SyncStatus) -> None:
        self._set_busy(False)
        self.status = status
        self.token.clear()
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        if isinstance(error, ValidationError):
            rest = self.form.show_errors(error.by_field(), self)
            if rest:
                self._show_message("\n".join(rest))
        elif isinstance(error, KeychainUnavailable):
            self.keychain_message.setText(f"<b>{KEYCHAIN_TITLE}</b><br>{html.escape(str(error))}")
            self.keychain_message.setStyleSheet(_keychain_style(self))
            self.keychain_message.show()
        elif isinstance(error, MedMitraError):
            self._show_message(str(error))
        else:
            self._show_message(f"Signing in failed unexpectedly ({type(error).__name__}); "
                               f"the log file has the details.")

    def _show_message(self, text: str) -> None:
        self.message.setStyleSheet(_error_style(self))
        self.message.setText(text)
        self.message.show()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy_row.setVisible(busy)
        for widget in (self.server_url, self.user_id, self.token, self.buttons):
            widget.setEnabled(not busy)

    def reject(self) -> None:
        if not self._busy:  # the answer is on its way (within the client's timeouts)
            super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._busy:
            event.ignore()
            return
        super().closeEvent(event)


class SyncGroup(QGroupBox):
    """The Settings dialog's Sync group. `server_url` and `user_id` are the Settings
    fields (a sign-in fills them with what it signed in with); `account_changed` is
    emitted after signing in or out."""

    account_changed = Signal()

    def __init__(self, account: SyncAccount, server_url: QLineEdit, user_id: QLineEdit,
                 parent: QWidget | None = None) -> None:
        super().__init__("Sync with a MedMitra server", parent)
        self._account = account
        self._server_url = server_url
        self._user_id = user_id
        self._busy = False
        self.account: SyncStatus | None = None

        self.status_label = QLabel("Checking the sign-in…")
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.RichText)
        self.status_label.setAccessibleName("Sync sign-in")
        self.sign_in_button = QPushButton("Sign &in…")
        self.sign_in_button.setAccessibleName("Sign in to the MedMitra server")
        self.sign_in_button.clicked.connect(self.open_sign_in)
        self.sign_out_button = QPushButton("Si&gn out")  # O is the clinic logo's
        self.sign_out_button.setAccessibleName("Sign out of the MedMitra server")
        self.sign_out_button.setToolTip("Remove the access token from this computer's "
                                        "keychain; cases stay on this computer")
        self.sign_out_button.clicked.connect(self.sign_out)
        self.sign_out_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.sign_in_button)
        buttons.addWidget(self.sign_out_button)
        buttons.addStretch(1)
        self.form = FieldForm()
        self.server_message = self.form.add_field("server_url", "&Server address", server_url)
        self.form.addRow("Status", self.status_label)
        self.form.addRow("", buttons)
        self.setLayout(self.form)
        self.refresh()

    @property
    def busy(self) -> bool:
        return self._busy

    def refresh(self) -> None:
        """Read who is signed in again (the keychain, off the GUI thread)."""
        self._set_busy(True)
        run_in_thread(self._account.status, self._show_status, self._failed)

    def open_sign_in(self) -> None:
        current = self.account
        dialog = SignInDialog(
            self._account,
            self._server_url.text().strip() or (current.server_url if current else ""),
            self._user_id.text().strip() or (current.user_id if current else ""),
            self)
        if self.run_sign_in(dialog) and dialog.status is not None:
            status = dialog.status
            self._server_url.setText(status.server_url)
            self._user_id.setText(status.user_id)
            self._show_status(status)
            self.account_changed.emit()

    def run_sign_in(self, dialog: SignInDialog) -> bool:
        """Modal; a test replaces this to drive the dialog itself."""
        return bool(dialog.exec())

    def sign_out(self) -> None:
        current = self.account
        where = f" of {current.server_url}" if current and current.server_url else ""
        if not ask_yes_no(self, f"Sign out{where}?\n\nThe access token is removed from this "
                                "computer's keychain, and sync stops until you sign in again "
                                "with it. Cases stay on this computer."):
            return
        self._set_busy(True)
        run_in_thread(self._account.sign_out, self._signed_out, self._failed)

    def _signed_out(self, status: SyncStatus) -> None:
        self._show_status(status)
        self.account_changed.emit()

    def _show_status(self, status: SyncStatus) -> None:
        self._set_busy(False)
        self.account = status
        self.status_label.setStyleSheet("")
        if status.problem:
            self._show_keychain_problem(status.problem)
        elif not status.configured:
            self.status_label.setText("Not set up: cases stay on this computer. Enter the "
                                      "server address and choose Sign in… to sync.")
        elif status.signed_in:
            self.status_label.setText(f"Signed in as <b>{html.escape(status.user_id)}</b> at "
                                      f"{html.escape(status.server_url)}.")
        else:
            self.status_label.setText(f"Signed out of {html.escape(status.server_url)}. "
                                      f"Choose Sign in… to sync again.")
        self.sign_out_button.setEnabled(status.signed_in)

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        if isinstance(error, KeychainUnavailable):
            self._show_keychain_problem(str(error))
        else:
            self.status_label.setStyleSheet(_error_style(self))
            self.status_label.setText(html.escape(str(error)) if isinstance(error, MedMitraError)
                                      else f"Could not read the sign-in "
                                           f"({type(error).__name__}).")

    def _show_keychain_problem(self, text: str) -> None:
        self.status_label.setStyleSheet(_keychain_style(self))
        self.status_label.setText(f"<b>{KEYCHAIN_TITLE}</b><br>{html.escape(text)}")

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.sign_in_button.setEnabled(not busy)
        if busy:
            self.sign_out_button.setEnabled(False)

