"""The key of an encrypted data folder: made at random, kept in the OS keychain, and
written down once by the doctor as a recovery code.

The keychain entry is service "MedMitra Desktop", account "data-key:<folder id>"; the
folder id is a random id in the folder's encryption.json, so two data folders never
share a key. The key never touches a file, a log or the database.

The recovery code is the key itself in base32 (RFC 4648, no 0/1/8/9 to misread) with a
two-byte checksum, in groups of five: anyone holding it can read the folder, so the app
shows it once and tells the doctor to keep it as they keep the clinic's keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import keyring

from ..keychain import SERVICE, keychain_errors

KEY_BYTES = 32  # AES-256 for the files; SQLCipher 4's raw key for the database
_CHECKSUM_BYTES = 2
_CHECK_LABEL = b"MedMitra data key check/1"
_OTHERWISE = ("The encrypted data folder cannot be opened without it; type the recovery "
              "code instead.")


class RecoveryCodeError(ValueError):
    """A recovery code that is mistyped or belongs to another data folder."""


class DataKey:
    """256 random bits. Never printed: repr() and str() do not show the key."""

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise ValueError("a data key is 32 bytes")
        self._raw = bytes(raw)

    @classmethod
    def generate(cls) -> DataKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    @property
    def raw(self) -> bytes:
        return self._raw

    def sqlcipher_pragma(self) -> str:
        """PRAGMA key's value for a raw key: SQLCipher skips its passphrase KDF."""
        return f"\"x'{self._raw.hex()}'\""

    def check_value(self) -> str:
        """A public fingerprint: tells the right key from a wrong one without opening the
        database (a wrong key and a damaged file both read as "not a database")."""
        return hmac.new(self._raw, _CHECK_LABEL, hashlib.sha256).hexdigest()[:32]

    def recovery_code(self) -> str:
        checksum = hashlib.sha256(self._raw).digest()[:_CHECKSUM_BYTES]
        text = base64.b32encode(self._raw + checksum).decode("ascii").rstrip("=")
        return "-".join(text[i:i + 5] for i in range(0, len(text), 5))

    @classmethod
    def from_recovery_code(cls, code: str) -> DataKey:
        text = "".join(ch for ch in code.upper() if ch.isalnum())
        text = text.replace("0", "O").replace("1", "I").replace("8", "B")
        try:
            data = base64.b32decode(text + "=" * (-len(text) % 8))
        except ValueError:
            data = b""
        raw, checksum = data[:KEY_BYTES], data[KEY_BYTES:]
        if len(raw) != KEY_BYTES or len(checksum) != _CHECKSUM_BYTES \
                or hashlib.sha256(raw).digest()[:_CHECKSUM_BYTES] != checksum:
            raise RecoveryCodeError(
                "That is not a valid recovery code: check it letter by letter (it has 55 "
                "letters and digits in groups of five).")
        return cls(raw)

    def __repr__(self) -> str:
        return "DataKey(<hidden>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataKey) and hmac.compare_digest(self._raw, other._raw)

    def __hash__(self) -> int:
        return hash(self.check_value())


def _account(folder_id: str) -> str:
    return f"data-key:{folder_id}"


class DataKeyStore:
    """Data keys in the OS keychain. Raises KeychainUnavailable in words."""

    def load(self, folder_id: str) -> DataKey | None:
        with keychain_errors("read this data folder's key", _OTHERWISE):
            stored = keyring.get_password(SERVICE, _account(folder_id))
        if not stored:
            return None
        try:
            return DataKey(bytes.fromhex(stored))
        except ValueError:
            return None  # not ours, or damaged: the recovery code replaces it

    def save(self, folder_id: str, key: DataKey) -> None:
        with keychain_errors("store this data folder's key", _OTHERWISE):
            keyring.set_password(SERVICE, _account(folder_id), key.raw.hex())
