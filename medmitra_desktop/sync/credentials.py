"""The sign-in token, kept only in the OS keychain (the keyring package).

One entry per server and doctor: service "MedMitra Desktop", account "<user>@<server>".
There is deliberately no fallback: when no keychain is usable the doctor is told so, and
sync stays off, rather than the token landing in a file or the database.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import keyring
from keyring.errors import PasswordDeleteError

from ..domain.errors import KeychainUnavailable
from ..keychain import SERVICE, keychain_errors

_OTHERWISE = "Sync stays off until it works; your cases stay on this computer."


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


def _keychain(doing: str) -> keychain_errors:
    return keychain_errors(doing, _OTHERWISE)
