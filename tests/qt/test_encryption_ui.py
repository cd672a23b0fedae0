"""Encryption at rest in the window: Settings turns it on and shows the recovery code
once, the next start seals the folder behind a progress dialog, and a start without the
key asks for the recovery code."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QProgressDialog
from sqlalchemy import select

from medmitra_desktop.app import AppContext, open_app
from medmitra_desktop.domain.records import CaseQuery
from medmitra_desktop.services import folder_encryption
from medmitra_desktop.storage import encryption
from medmitra_desktop.storage.data_key import DataKey
from medmitra_desktop.storage.orm import AuditEntry
from medmitra_desktop.ui import gui
from medmitra_desktop.ui.views.encryption_dialogs import (
    OFF,
    ON,
    PENDING,
    RecoveryCodeDialog,
    RecoveryCodePrompt,
)
from medmitra_desktop.ui.views.settings_dialog import SettingsDialog
from tests.factories import make_case, text_file
from tests.memory_keyring import MemoryKeyring


def test_settings_turns_encryption_on_and_shows_the_recovery_code_once(
        qtbot, context: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    dialog = SettingsDialog(context.settings, context.paths.data_dir,
                            turn_on_encryption=lambda: folder_encryption.turn_on(
                                context, user_id="dr-test"))
    qtbot.addWidget(dialog)
    row = dialog.encryption
    assert row.status.text() == OFF and not row.button.isHidden()

    shown: list[str] = []

    def write_it_down(self: RecoveryCodeDialog) -> int:
        ok = self.buttons.button(self.buttons.StandardButton.Ok)
        assert not ok.isEnabled()  # not before the doctor says it is written down
        shown.append(self.code.text())
        self.written.setChecked(True)
        assert ok.isEnabled()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(QMessageBox, "question",
                        lambda *_: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QMessageBox, "information", lambda *_: None)
    monkeypatch.setattr(RecoveryCodeDialog, "exec", write_it_down)
    qtbot.mouseClick(row.button, Qt.MouseButton.LeftButton)

    (code,) = shown
    assert DataKey.from_recovery_code(code) is not None
    assert row.status.text() == PENDING and row.button.isHidden()
    with context.database.read_session() as session:
        assert session.execute(select(AuditEntry.user_id).where(
            AuditEntry.action == "encrypt")).scalars().all() == ["dr-test"]


def test_without_a_keychain_settings_says_so_and_changes_nothing(
        qtbot, context: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    dialog = SettingsDialog(context.settings, context.paths.data_dir,
                            turn_on_encryption=lambda: folder_encryption.turn_on(
                                context, user_id="dr-test"))
    qtbot.addWidget(dialog)
    warned: list[str] = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *_: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text: warned.append(
        text))
    dialog.encryption.encrypt()
    assert warned and "no system keychain" in warned[0]
    assert dialog.encryption.status.text() == OFF
    assert encryption.read_state(context.paths.data_dir) is None


def test_the_next_start_seals_the_folder_behind_a_progress_dialog(
        qtbot, data_dir: Path, tmp_path: Path) -> None:
    plain = open_app(str(data_dir))
    for number in range(3):
        make_case(plain.cases, name=f"Patient {number}",
                  lab=[text_file(tmp_path / f"r{number}.txt", f"report {number}")])
    folder_encryption.turn_on(plain, user_id="dr-test")
    plain.close()

    seen: list[tuple[int, int]] = []

    def watch() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QProgressDialog) and widget.isVisible():
                seen.append((widget.value(), widget.maximum()))

    timer = QTimer()
    timer.timeout.connect(watch)
    timer.start(0)
    context = gui._open_with_dialogs(str(data_dir))
    timer.stop()
    assert context is not None
    try:
        assert context.database.key is not None
        assert context.cases.list_cases(CaseQuery()).total == 3
        row = SettingsDialog(context.settings, data_dir).encryption
        qtbot.addWidget(row)
        assert row.status.text() == ON
    finally:
        context.close()
    assert seen and seen[-1][1] == 4  # the database and three files


def test_a_start_without_the_key_asks_for_the_recovery_code(
        qtbot, data_dir: Path, memory_keyring: MemoryKeyring,
        monkeypatch: pytest.MonkeyPatch) -> None:
    plain = open_app(str(data_dir))
    code = folder_encryption.turn_on(plain, user_id="dr-test").recovery_code()
    plain.close()
    open_app(str(data_dir)).close()  # sealed
    memory_keyring.secrets.clear()

    typed = iter(["not a code", DataKey.generate().recovery_code(), code])
    messages: list[str] = []

    def answer(self: RecoveryCodePrompt) -> int:
        messages.append(self.why.text())
        self.code.setText(next(typed))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(RecoveryCodePrompt, "exec", answer)
    context = gui._open_with_dialogs(str(data_dir))
    assert context is not None
    context.close()
    assert "not in this user's keychain" in messages[0]
    assert "not a valid recovery code" in messages[1]
    assert "another data folder" in messages[2]
    assert len(memory_keyring.secrets) == 1  # kept for the next start

    memory_keyring.secrets.clear()
    monkeypatch.setattr(RecoveryCodePrompt, "exec", lambda self: QDialog.DialogCode.Rejected)
    assert gui._open_with_dialogs(str(data_dir)) is None
