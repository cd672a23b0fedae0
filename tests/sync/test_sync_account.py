"""Sign-in, sign-out and the token: only ever in the keychain, never in the database, the
data folder or the logs; a missing or locked keychain says so plainly."""

from __future__ import annotations

import logging
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import KeyringLocked

from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.errors import KeychainUnavailable, ValidationError
from medmitra_desktop.logging_setup import configure_logging
from medmitra_desktop.sync.credentials import SERVICE, CredentialStore, account
from medmitra_desktop.sync.errors import SignInRequired
from tests.factories import LAB_LINES, make_case, text_pdf
from tests.memory_keyring import MemoryKeyring
from tests.sync.reference_server import ReferenceServer

USER = "dr-account"


class LockedKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("locked")


def test_sign_in_keeps_the_token_in_the_keychain_per_server_and_user(
        context: AppContext, reference_server: ReferenceServer,
        memory_keyring: MemoryKeyring) -> None:
    status = context.sync.sign_in(reference_server.base_url, USER, reference_server.token)
    assert status.signed_in and status.summary == f"Signed in as {USER}"
    assert memory_keyring.secrets == {
        (SERVICE, account(reference_server.base_url, USER)): reference_server.token}
    assert account("HTTP://127.0.0.1:80/", "u") == account("http://127.0.0.1:80", "u")
    assert context.settings.load().server_url == reference_server.base_url
    engine = context.sync.engine()
    assert engine is not None
    engine.close()

    status = context.sync.sign_out()
    assert not status.signed_in and status.configured
    assert memory_keyring.secrets == {}
    assert context.sync.engine() is None
    assert context.sync.sign_out().summary == "Signed out"  # twice is fine


def test_a_refused_token_is_not_stored(context: AppContext,
                                       reference_server: ReferenceServer,
                                       memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(SignInRequired, match="did not accept this access token"):
        context.sync.sign_in(reference_server.base_url, USER, "wrong")
    assert memory_keyring.secrets == {}
    assert context.settings.load().server_url == ""


def test_sign_in_checks_every_field_and_refuses_plain_http_to_other_computers(
        context: AppContext, reference_server: ReferenceServer) -> None:
    with pytest.raises(ValidationError) as raised:
        context.sync.sign_in("", "", "")
    assert set(raised.value.by_field()) == {"server_url", "user_id", "token"}
    with pytest.raises(ValidationError) as raised:
        context.sync.sign_in("http://medmitra.example.org", USER, "t")
    assert "https" in raised.value.by_field()["server_url"]


@pytest.mark.parametrize(("backend", "words"), [
    (fail.Keyring(), "no system keychain"),
    (LockedKeyring(), "keychain is locked"),
])
def test_an_unusable_keychain_is_named_plainly_and_nothing_falls_back(
        backend: KeyringBackend, words: str, context: AppContext,
        reference_server: ReferenceServer, data_dir: Path) -> None:
    keyring.set_keyring(backend)
    with pytest.raises(KeychainUnavailable) as raised:
        context.sync.sign_in(reference_server.base_url, USER, reference_server.token)
    message = str(raised.value)
    assert words in message and "password" not in message.lower()
    assert context.settings.load().server_url == ""
    assert not _files_containing(data_dir, reference_server.token.encode())
    with pytest.raises(KeychainUnavailable):
        CredentialStore().load(reference_server.base_url, USER)


def test_the_token_is_nowhere_but_the_keychain_after_a_day_of_sync(
        context: AppContext, reference_server: ReferenceServer, data_dir: Path,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log_dir = tmp_path / "logs"
    root = logging.getLogger()
    level = root.level
    monkeypatch.setenv("MEDMITRA_DEBUG", "1")  # everything, DEBUG included, to the file
    configure_logging(log_dir)
    try:
        context.sync.sign_in(reference_server.base_url, USER, reference_server.token)
        make_case(context.cases, user_id=USER, lab=[text_pdf(tmp_path / "a.pdf", LAB_LINES)])
        reference_server.add_case(USER, "Remote Patient", 33, "male")
        engine = context.sync.engine()
        assert engine is not None
        reference_server.faults.add("GET", "/cases/all_cases", "500")
        engine.run_once()
        engine.run_once()
        engine.close()
        context.sync.sign_out()
    finally:
        for handler in list(root.handlers):
            if getattr(handler, "_medmitra", False):
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)
    token = reference_server.token.encode()
    assert list(log_dir.iterdir()), "the test must have written a log"
    assert _files_containing(log_dir, token) == []
    assert _files_containing(data_dir, token) == []


def _files_containing(folder: Path, needle: bytes) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()
            and needle in path.read_bytes()]
