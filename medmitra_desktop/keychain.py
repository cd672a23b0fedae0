"""The OS keychain (the keyring package): one service name, errors in words.

Two kinds of secret live there: sync sign-in tokens (sync/credentials.py) and the data
keys of encrypted data folders (storage/data_key.py). Neither ever falls back to a file.
"""

from __future__ import annotations

import logging

from keyring.errors import KeyringError, KeyringLocked, NoKeyringError, PasswordDeleteError

from .domain.errors import KeychainUnavailable

log = logging.getLogger(__name__)

SERVICE = "MedMitra Desktop"


class keychain_errors:
    """Turn keyring's errors into one plain message; the secret is never in it.

    `doing` says what was being done ("read the sign-in"); `otherwise` what that means
    for the doctor ("Sync stays off; ...")."""

    def __init__(self, doing: str, otherwise: str) -> None:
        self._doing = doing
        self._otherwise = otherwise

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 _tb: object) -> bool:
        if error is None or not isinstance(error, KeyringError | RuntimeError):
            return False
        if isinstance(error, PasswordDeleteError):
            raise KeychainUnavailable("Nothing was stored.") from error
        if isinstance(error, KeyringLocked):
            words = (f"The system keychain is locked, so MedMitra could not {self._doing}. "
                     f"Unlock it (log in to your keychain) and try again.")
        elif isinstance(error, NoKeyringError):
            words = (f"This computer has no system keychain MedMitra can use, so it could "
                     f"not {self._doing}. {self._otherwise} On Linux, install and unlock "
                     f"GNOME Keyring or KWallet.")
        else:
            words = (f"The system keychain refused to {self._doing} "
                     f"({type(error).__name__}). {self._otherwise}")
        log.warning("Keychain unavailable: %s", type(error).__name__)
        raise KeychainUnavailable(words) from error
