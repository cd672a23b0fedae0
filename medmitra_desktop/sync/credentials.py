"""The sign-in token, kept only in the OS keychain (the keyring package).

One entry per server and doctor: service "MedMitra Desktop", account "<user>@<server>".
There is deliberately no fallback: when no keychain is usable the doctor is told so, and
sync stays off, rather than the token landing in a file or the database.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import keyring
from keyring.errors import KeyringError, KeyringLocked, NoKeyringError, PasswordDeleteError

from .errors import KeychainUnavailable

log = logging.getLogger(__name__)

SERVICE = "MedMitra Desktop"


def normalise_server(url: str) -> str:
    """One account per server whatever the doctor typed: scheme://host[:port][/path]."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/')}"


def account(server_url: str, user_id: str) -> str:
    return f"{user_id}@{normalise_server(server_url)}"


class CredentialStore:
    def save(self, server_url: str, user_id: str, token: str) -> None:
        with _keychain("store the sign-in"):
            keyring.set_password(SERVICE, account(server_url, user_id), token)

    def load(self, server_url: str, user_id: str) -> str | None:
        with _keychain("read the sign-in"):
            return keyring.get_password(SERVICE, account(server_url, user_id))

    def delete(self, server_url: str, user_id: str) -> None:
        try:
            with _keychain("remove the sign-in"):
                keyring.delete_password(SERVICE, account(server_url, user_id))
        except KeychainUnavailable as error:
            if isinstance(error.__cause__, PasswordDeleteError):
                return  # nothing stored: already signed out
            raise


class _keychain:
    """Turn keyring's errors into one plain message; the token is never in it."""

    def __init__(self, doing: str) -> None:
        self._doing = doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 _tb: object) -> bool:
        if error is None or not isinstance(error, KeyringError | RuntimeError):
            return False
        if isinstance(error, PasswordDeleteError):
            raise KeychainUnavailable("No sign-in was stored.") from error
        if isinstance(error, KeyringLocked):
            words = (f"The system keychain is locked, so MedMitra could not {self._doing}. "
                     f"Unlock it (log in to your keychain) and try again.")
        elif isinstance(error, NoKeyringError):
            words = (f"This computer has no system keychain MedMitra can use, so it could "
                     f"not {self._doing}. Sync stays off; your cases stay on this computer. "
                     f"On Linux, install and unlock GNOME Keyring or KWallet.")
        else:
            words = (f"The system keychain refused to {self._doing} ({type(error).__name__}). "
                     f"Sync stays off until it works; your cases stay on this computer.")
        log.warning("Keychain unavailable: %s", type(error).__name__)
        raise KeychainUnavailable(words) from error
