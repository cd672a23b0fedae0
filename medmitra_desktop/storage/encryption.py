"""Encryption at rest of a whole data folder: its state, its key, and turning it on.

A folder is encrypted when `encryption.json` sits beside the database. That file holds
no secret: the folder's random id (the keychain account of its key), a check value that
tells the right key from a wrong one, and whether the one-time encryption has finished.

Turning it on (`begin`, then `finish`) happens with the folder closed and locked:
- `begin` makes the key, stores it in the keychain, reads it back, and writes the state
  file saying "encrypting". From then on the key is needed to open the folder.
- `finish` seals the database (SQLCipher's `sqlcipher_export` into a new file), the
  copies made before upgrades, and every stored file, one at a time. Each step writes a
  new file, syncs it and renames it over the old one, so a crash leaves every file
  either as it was or sealed; the next start sees "encrypting" and carries on.

What it does not do: erase the old plaintext blocks from the disk. A file system (and
an SSD's wear levelling) may keep them until they are reused; full-disk encryption is
what covers that, and the README says so.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlcipher3.dbapi2 as sqlcipher

from ..config import AppPaths
from ..domain.errors import KeychainUnavailable, MedMitraError, StorageError, StorageProblem
from .blob_cipher import BlobCipher, is_encrypted
from .data_key import DataKey, DataKeyStore, RecoveryCodeError
from .database import SQLITE_MAGIC

log = logging.getLogger(__name__)

STATE_FILE = "encryption.json"
FORMAT = "medmitra.encryption/1"

Progress = Callable[[int, int], None]  # (steps done, steps in all)


@dataclass(frozen=True)
class FolderEncryption:
    folder_id: str
    key_check: str
    finished: bool


class EncryptionError(MedMitraError):
    """Encryption cannot be turned on, or a recovery code does not fit; says why."""


class DataKeyMissing(StorageError):
    """The folder is encrypted and its key is not in this user's keychain."""

    def __init__(self, message: str) -> None:
        super().__init__(StorageProblem.KEY_MISSING, message)


def read_state(data_dir: Path) -> FolderEncryption | None:
    path = data_dir / STATE_FILE
    try:
        return parse_state(path.read_bytes(), path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StorageError(StorageProblem.UNREADABLE, _damaged_state(path, error)) from error


def parse_state(data: bytes, where: Path | str) -> FolderEncryption:
    try:
        document = json.loads(data)
    except ValueError as error:
        raise StorageError(StorageProblem.UNREADABLE, _damaged_state(where, error)) from error
    if not isinstance(document, dict) or document.get("format") != FORMAT \
            or not isinstance(document.get("folder_id"), str) \
            or not isinstance(document.get("key_check"), str):
        raise StorageError(StorageProblem.UNREADABLE, _damaged_state(where, "unknown format"))
    return FolderEncryption(document["folder_id"], document["key_check"],
                            document.get("state") == "encrypted")


def has_key(state: FolderEncryption, keys: DataKeyStore) -> bool:
    """Whether this user's keychain holds the right key (False when it cannot be read)."""
    try:
        key = keys.load(state.folder_id)
    except KeychainUnavailable:
        return False
    return key is not None and key.check_value() == state.key_check


def _damaged_state(path: Path | str, why: object) -> str:
    return (f"{path} cannot be read ({why}). It says how this data folder is encrypted; "
            f"restore the folder from a backup.")


def _write_state(data_dir: Path, state: FolderEncryption) -> None:
    document = {"format": FORMAT, "folder_id": state.folder_id, "key_check": state.key_check,
                "state": "encrypted" if state.finished else "encrypting"}
    temp = data_dir / f".{STATE_FILE}.tmp"
    with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w",
                   encoding="utf-8") as out:
        json.dump(document, out, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, data_dir / STATE_FILE)
    _sync_folder(data_dir)


def unlock(data_dir: Path, keys: DataKeyStore) -> DataKey | None:
    """The data key of an encrypted folder from the keychain; None for a plain folder.
    Raises DataKeyMissing, in words, when the key is not there."""
    state = read_state(data_dir)
    if state is None:
        return None
    try:
        key = keys.load(state.folder_id)
    except KeychainUnavailable as error:
        raise DataKeyMissing(f"The data folder {data_dir} is encrypted. {error}") from error
    if key is None or key.check_value() != state.key_check:
        raise DataKeyMissing(
            f"The data folder {data_dir} is encrypted, and its key is not in this user's "
            f"keychain (another computer or user account, or a reset keychain). Type the "
            f"recovery code that was shown when encryption was turned on: the window asks "
            f"for it, or run `medmitra-desktop unlock --data-dir \"{data_dir}\"`.")
    return key


def key_from_recovery_code(data_dir: Path, code: str, keys: DataKeyStore
                           ) -> tuple[DataKey, str | None]:
    """The folder's key from its recovery code, stored in the keychain for next time.
    The second value, if any, says why it could not be stored (it then works for this
    session only)."""
    state = read_state(data_dir)
    if state is None:
        raise EncryptionError(f"The data folder {data_dir} is not encrypted; it needs no "
                              f"recovery code.")
    try:
        key = DataKey.from_recovery_code(code)
    except RecoveryCodeError as error:
        raise EncryptionError(str(error)) from None
    if key.check_value() != state.key_check:
        raise EncryptionError("That recovery code belongs to another data folder (it is "
                              "well formed, but it is not this folder's key).")
    try:
        keys.save(state.folder_id, key)
    except KeychainUnavailable as error:
        return key, f"{error} The key is used for this session only."
    return key, None


def begin(data_dir: Path, keys: DataKeyStore) -> DataKey:
    """Make the folder's key, keep it in the keychain and mark the folder "encrypting".
    Nothing is sealed yet: `finish` does that with the folder closed. Raises
    EncryptionError (already encrypted, no keychain) without changing anything."""
    if read_state(data_dir) is not None:
        raise EncryptionError(f"The data folder {data_dir} is already encrypted.")
    key = DataKey.generate()
    folder_id = str(uuid.uuid4())
    try:
        keys.save(folder_id, key)
        stored = keys.load(folder_id)
    except KeychainUnavailable as error:
        raise EncryptionError(f"Encryption needs the system keychain to hold the folder's "
                              f"key, and it cannot be used: {error} Nothing was "
                              f"changed.") from error
    if stored != key:
        raise EncryptionError("The system keychain did not give back the key just stored "
                              "in it, so encryption was not turned on. Nothing was changed.")
    _write_state(data_dir, FolderEncryption(folder_id, key.check_value(), finished=False))
    log.info("Data folder encryption begun")
    return key


def needs_finishing(data_dir: Path) -> bool:
    state = read_state(data_dir)
    return state is not None and not state.finished


def finish(paths: AppPaths, key: DataKey, progress: Progress | None = None) -> int:
    """Seal whatever is still plaintext in a folder marked "encrypting" (the caller holds
    the folder's lock and has nothing open in it). Returns the files sealed."""
    state = read_state(paths.data_dir)
    if state is None or state.key_check != key.check_value():
        raise EncryptionError("This is not the key of the data folder being encrypted.")
    steps = [paths.database, *sorted(paths.backups.glob("*.sqlite3")),
             *_stored_files(paths.files)]
    cipher = BlobCipher(key)
    sealed = 0
    for done, path in enumerate(steps):
        if progress is not None:
            progress(done, len(steps))
        if path.parent in (paths.data_dir, paths.backups):
            sealed += _seal_database(path, key)
        else:
            sealed += _seal_file(path, cipher, paths.files / "incoming")
    _write_state(paths.data_dir, FolderEncryption(state.folder_id, state.key_check, True))
    if progress is not None:
        progress(len(steps), len(steps))
    log.info("Data folder encrypted (%d files sealed)", sealed)
    return sealed


def _stored_files(root: Path) -> Iterator[Path]:
    for folder in sorted(root.glob("[0-9a-f][0-9a-f]")):
        for path in sorted(folder.iterdir()):
            if len(path.name) == 64 and path.is_file():
                yield path


def _is_plain_database(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except FileNotFoundError:
        return False


def _seal_database(path: Path, key: DataKey) -> int:
    if not _is_plain_database(path):
        return 0  # sealed already (or none yet: the first start makes it keyed)
    temp = path.with_name(f"{path.name}.sealing")
    temp.unlink(missing_ok=True)  # a crash's half-written copy
    # Everything into the main file, so the copy below misses nothing and the WAL left
    # behind is empty (a plaintext WAL beside a sealed database would be read as its own).
    plain = sqlite3.connect(path)
    try:
        plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        plain.close()
    connection = sqlcipher.connect(str(path))
    try:
        connection.execute("PRAGMA cipher_log_level = NONE")
        connection.execute(f"ATTACH DATABASE ? AS sealed KEY {key.sqlcipher_pragma()}",
                           (str(temp),))
        connection.execute("SELECT sqlcipher_export('sealed')")
        connection.execute("DETACH DATABASE sealed")
    finally:
        connection.close()
    _sync_file(temp)
    temp.chmod(0o600)
    for side in ("-wal", "-shm"):
        path.with_name(path.name + side).unlink(missing_ok=True)
    os.replace(temp, path)
    _sync_folder(path.parent)
    return 1


def _seal_file(path: Path, cipher: BlobCipher, incoming: Path) -> int:
    if is_encrypted(path):
        return 0
    incoming.mkdir(mode=0o700, exist_ok=True)
    temp = incoming / f"seal-{path.name}"
    with path.open("rb") as source, os.fdopen(
            os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        # A file already damaged stays damaged: reading it later reports it, as before.
        cipher.encrypt(source, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)
    return 1


def _sync_file(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def _sync_folder(folder: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a folder to sync it; its renames are journaled
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
