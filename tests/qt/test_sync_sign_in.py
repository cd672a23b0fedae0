"""Signing in and out from Settings against the reference MedMitra server over real HTTP:
the token goes to the keychain only, errors are shown inline in words, a missing or
locked keychain gets its own plain message, and the window's sync follows."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLineEdit, QMessageBox

from medmitra_desktop.app import AppContext
from medmitra_desktop.sync.credentials import SERVICE, account
from medmitra_desktop.ui.main_window import MainWindow
from medmitra_desktop.ui.models.case_table_model import SYNC_COLUMN
from medmitra_desktop.ui.sync_runner import NOT_SYNCING, SyncRunner
from medmitra_desktop.ui.views.settings_dialog import SettingsDialog
from medmitra_desktop.ui.views.sign_in_dialog import (
    KEYCHAIN_TITLE,
    SignInDialog,
    wait_for_account_calls,
)
from tests.memory_keyring import MemoryKeyring
from tests.qt.test_sync_runner import USER, closed_port_url, sign_in
from tests.sync.reference_server import ReferenceServer

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture(autouse=True)
def _account_calls_end() -> Iterator[None]:
    yield
    wait_for_account_calls()  # before the database closes


@pytest.fixture
def window(qtbot, context: AppContext, settings: QSettings) -> Iterator[MainWindow]:
    runner = SyncRunner(context.sync)
    main = MainWindow(context, USER, settings, sync=runner)
    qtbot.addWidget(main)
    with qtbot.waitSignal(runner.round_finished, timeout=10_000):
        main.show()
    yield main
    runner.stop()


def sign_in_dialog(qtbot, context: AppContext, server_url: str,
                   user_id: str = USER) -> SignInDialog:
    dialog = SignInDialog(context.sync, server_url, user_id)
    qtbot.addWidget(dialog)
    return dialog


def submit(qtbot, dialog: SignInDialog, token: str) -> None:
    dialog.token.setText(token)
    dialog.sign_in()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=15_000)


def test_sign_in_from_settings_keeps_the_token_in_the_keychain_and_starts_sync(
        qtbot, window: MainWindow, context: AppContext, reference_server: ReferenceServer,
        memory_keyring: MemoryKeyring) -> None:
    assert window.sync_label.text() == NOT_SYNCING
    assert window.table.isColumnHidden(SYNC_COLUMN)
    steps: list[str] = []

    def drive_sign_in(dialog: SignInDialog) -> bool:
        qtbot.addWidget(dialog)
        assert dialog.server_url.text() == reference_server.base_url
        assert dialog.user_id.text() == USER
        assert dialog.token.echoMode() == QLineEdit.EchoMode.Password
        ended: list[int] = []
        dialog.finished.connect(ended.append)
        submit(qtbot, dialog, "not-the-token")
        assert dialog.message.isVisibleTo(dialog)
        assert "did not accept this access token" in dialog.message.text()
        assert not dialog.keychain_message.isVisibleTo(dialog)
        assert ended == []
        # Busy while the server is asked: nothing can be changed, Esc does not close it.
        reference_server.faults.add("GET", "/cases/all_cases", "slow", seconds=0.6)
        dialog.token.setText(reference_server.token)
        dialog.sign_in()
        assert dialog.busy and dialog.busy_row.isVisibleTo(dialog)
        assert not dialog.token.isEnabled() and not dialog.buttons.isEnabled()
        dialog.reject()
        assert ended == [] and dialog.busy
        qtbot.waitUntil(lambda: ended == [SignInDialog.DialogCode.Accepted.value],
                        timeout=15_000)
        assert dialog.token.text() == ""  # not kept in the widget either
        steps.append("signed in")
        return True

    def drive_settings(dialog: SettingsDialog) -> bool:
        qtbot.addWidget(dialog)
        group = dialog.sync_group
        assert group is not None
        qtbot.waitUntil(lambda: not group.busy, timeout=5_000)
        assert "Not set up" in group.status_label.text()
        assert not group.sign_out_button.isEnabled()
        dialog.server_url.setText(reference_server.base_url)
        dialog.user_id.setText(USER)
        group.run_sign_in = drive_sign_in
        with qtbot.waitSignal(window._sync.round_finished, timeout=10_000):
            group.sign_in_button.click()
        assert f"Signed in as <b>{USER}</b>" in group.status_label.text()
        assert group.sign_out_button.isEnabled()
        return False  # Cancel: the sign-in stands on its own

    window.run_settings_dialog = drive_settings
    window.open_settings()

    assert steps == ["signed in"]
    assert memory_keyring.secrets == {
        (SERVICE, account(reference_server.base_url, USER)): reference_server.token}
    stored = context.settings.load()
    assert (stored.server_url, stored.user_id) == (reference_server.base_url, USER)
    assert window.sync_label.text().startswith("Synced · ")
    assert not window.table.isColumnHidden(SYNC_COLUMN)


def test_sign_out_removes_the_token_and_sync_stops(
        qtbot, context: AppContext, settings: QSettings, reference_server: ReferenceServer,
        memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    sign_in(context, reference_server)
    runner = SyncRunner(context.sync)
    window = MainWindow(context, USER, settings, sync=runner)
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window.sync_label.text().startswith("Synced · "),
                        timeout=10_000)
        questions: list[str] = []

        def answer_yes(_parent, _title, text, *_args):
            questions.append(text)
            return QMessageBox.StandardButton.Yes

        monkeypatch.setattr(QMessageBox, "question", staticmethod(answer_yes))

        def drive_settings(dialog: SettingsDialog) -> bool:
            qtbot.addWidget(dialog)
            group = dialog.sync_group
            assert group is not None
            qtbot.waitUntil(lambda: not group.busy, timeout=5_000)
            assert group.sign_out_button.isEnabled()
            with qtbot.waitSignal(runner.round_finished, timeout=10_000):
                group.sign_out_button.click()
            assert "Signed out of" in group.status_label.text()
            assert not group.sign_out_button.isEnabled()
            return False

        window.run_settings_dialog = drive_settings
        window.open_settings()
        assert "Cases stay on this computer" in questions[0]
        assert memory_keyring.secrets == {}
        assert window.sync_label.text() == "Offline · signed out"
        assert runner.next_round_in() is None
    finally:
        runner.stop()


def test_a_missing_keychain_gets_its_own_plain_message(
        qtbot, context: AppContext, reference_server: ReferenceServer) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    dialog = sign_in_dialog(qtbot, context, reference_server.base_url)
    submit(qtbot, dialog, reference_server.token)
    assert dialog.keychain_message.isVisibleTo(dialog)
    text = dialog.keychain_message.text()
    assert KEYCHAIN_TITLE in text and "no system keychain" in text
    assert "token" not in text.lower()  # not mistaken for a wrong token
    assert not dialog.message.isVisibleTo(dialog)
    assert dialog.result() != SignInDialog.DialogCode.Accepted
    assert context.settings.load().server_url == ""  # nothing half-saved


def test_a_locked_keychain_shows_in_settings_and_in_the_status_bar(
        qtbot, context: AppContext, settings: QSettings,
        reference_server: ReferenceServer) -> None:
    sign_in(context, reference_server)
    keyring.set_keyring(keyring.backends.fail.Keyring())
    dialog = SettingsDialog(context.settings, context.paths.data_dir, sync=context.sync)
    qtbot.addWidget(dialog)
    assert dialog.sync_group is not None
    qtbot.waitUntil(lambda: not dialog.sync_group.busy, timeout=5_000)
    assert KEYCHAIN_TITLE in dialog.sync_group.status_label.text()

    runner = SyncRunner(context.sync)
    window = MainWindow(context, USER, settings, sync=runner)
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window.sync_label.text().startswith("Sync problem"),
                        timeout=10_000)
        assert "keychain" in window.sync_label.toolTip()
    finally:
        runner.stop()


def test_sign_in_errors_are_shown_inline(qtbot, context: AppContext) -> None:
    dialog = sign_in_dialog(qtbot, context, "http://clinic.example.org", "")
    submit(qtbot, dialog, "")
    messages = dialog.form.messages
    assert "access token" in messages["token"].text() and messages["token"].isVisibleTo(dialog)
    assert "required" in messages["user_id"].text()

    dialog.user_id.setText(USER)
    submit(qtbot, dialog, "some-token")
    assert "https://" in messages["server_url"].text()


def test_an_unreachable_server_is_named_not_blamed_on_the_token(
        qtbot, context: AppContext) -> None:
    dialog = sign_in_dialog(qtbot, context, closed_port_url())
    submit(qtbot, dialog, "some-token")
    assert dialog.message.isVisibleTo(dialog)
    assert "token" not in dialog.message.text().lower()
    assert not dialog.keychain_message.isVisibleTo(dialog)
