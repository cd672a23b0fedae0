"""A verified backup of the whole data folder in one file, and its restore.

The backup is a ZIP file: the database, every stored report file, the pre-upgrade copies
and the logs, and `manifest.json` with the SHA-256 and size of every one of them.

- The database is copied with SQLite's backup API from the running app's own database (a
  consistent snapshot even while the analysis worker writes, which a copy of the file and
  its WAL is not), and the copy must pass `PRAGMA integrity_check` before it goes in.
- Stored files are hashed as they are written into the archive; a file in the store
  whose content no longer matches its name, or one the database names but that is gone,
  is reported, not silently carried along.
- The archive is written beside its destination and read back in full (every entry
  re-hashed against the manifest) before it is renamed into place.

Restore goes only into a folder no MedMitra Desktop is running on (the instance lock says
so) and, unless forced, one that is empty. It unpacks into a new folder beside the target,
checks every hash and the database's integrity and schema, and only then moves it into
place; a forced restore keeps the folder it replaces under a new name, never deletes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..config import prepare_data_dir
from ..domain.enums import AuditAction
from ..domain.errors import (
    FileIntegrityError,
    InstanceLockedError,
    MedMitraError,
    ValidationError,
)
from ..domain.validation import check_user_id
from ..storage import encryption
from ..storage.blob_cipher import is_encrypted
from ..storage.data_key import DataKey, DataKeyStore
from ..storage.database import (
    DATABASE_ERRORS,
    DB_FILE_NAME,
    KNOWN_REVISIONS,
    connect,
    open_database,
)
from ..storage.filestore import FileStore
from ..storage.instance_lock import LOCK_FILE_NAME, InstanceLock
from . import audit

if TYPE_CHECKING:
    from ..app import AppContext

log = logging.getLogger(__name__)

BACKUP_FORMAT = "medmitra.backup/1"
MANIFEST = "manifest.json"
ENTITY = "data_folder"
CHUNK = 1024 * 1024
# Never in a backup: the live database's side files (the snapshot replaces them), the
# lock, and unfinished copies.
_SKIPPED = {DB_FILE_NAME, f"{DB_FILE_NAME}-wal", f"{DB_FILE_NAME}-shm",
            f"{DB_FILE_NAME}-journal", LOCK_FILE_NAME}


class BackupError(MedMitraError):
    """A backup that cannot be made, read or restored; the message says what to do."""


class BackupKeyNeeded(BackupError):
    """The backup is of an encrypted folder whose key this keychain does not hold."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    backup_id: str
    files: int  # entries besides the manifest, the database among them
    size_bytes: int
    problems: tuple[str, ...]  # damage found in the data folder (not carried into the backup)


@dataclass(frozen=True)
class RestoreResult:
    data_dir: Path
    backup_id: str
    files: int
    created_at: str  # when the backup was made (ISO 8601, UTC)
    replaced: Path | None  # where the folder's earlier contents were kept (forced restore)


# ---- backup ---------------------------------------------------------------------------------


def backup_data(context: AppContext, target: Path, *, user_id: str) -> BackupResult:
    """Write the whole data folder to `target` (one file) and read it back to verify."""
    clean_user = _user(user_id)
    data_dir = context.paths.data_dir.resolve()
    target = target.expanduser().resolve()
    if target.is_relative_to(data_dir):
        raise BackupError(f"Save the backup outside the data folder {data_dir} (on another "
                          f"disk or a USB drive): a backup inside it is lost with it.")
    if target.is_dir():
        raise BackupError(f"{target} is a folder; choose a file name for the backup.")
    if not target.parent.is_dir():
        raise BackupError(f"The folder {target.parent} does not exist.")
    backup_id = str(uuid.uuid4())
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".medmitra-backup-",
                                         suffix=".tmp")
    os.close(handle)
    temp = Path(temp_name)
    try:
        with tempfile.TemporaryDirectory(dir=data_dir, prefix=".backup-") as scratch:
            snapshot = Path(scratch) / DB_FILE_NAME
            key = context.database.key
            _snapshot_database(context.paths.database, snapshot, key)
            entries, problems = _write_archive(temp, data_dir, snapshot, backup_id,
                                               context.files, key)
        verify_archive(temp)
        temp.chmod(0o600)  # the backup holds every patient's record
        os.replace(temp, target)
    except OSError as error:
        raise BackupError(f"The backup could not be written to {target} ({error}). Check "
                          f"that the disk has space and you may write there.") from error
    finally:
        temp.unlink(missing_ok=True)
    size = target.stat().st_size
    with context.database.session() as session:
        audit.record(session, user_id=clean_user, action=AuditAction.BACKUP, entity=ENTITY,
                     entity_id=backup_id, detail=f"files={entries} bytes={size}")
    log.info("Backup %s written (%d files, %d bytes)", backup_id, entries, size)
    return BackupResult(path=target, backup_id=backup_id, files=entries, size_bytes=size,
                        problems=tuple(problems))


def _user(user_id: str) -> str:
    clean, error = check_user_id(user_id)
    if error is not None or clean is None:
        raise ValidationError([error] if error else [])
    return clean


def _snapshot_database(source: Path, target: Path, key: DataKey | None) -> None:
    # One step (pages=-1): the copy is a single consistent read, whatever writes meanwhile.
    # An encrypted database's copy is encrypted with the same key.
    origin = connect(source, key, read_only=True)
    try:
        copy = connect(target, key)
        try:
            origin.backup(copy)
            result = copy.execute("PRAGMA integrity_check").fetchall()
        finally:
            copy.close()
    finally:
        origin.close()
    if result != [("ok",)]:
        raise BackupError("The case database fails SQLite's integrity check, so no backup "
                          "was made from it. Keep your last good backup and restore from it.")


def _data_files(data_dir: Path) -> Iterator[tuple[str, Path]]:
    """(archive name, path) of every regular file to back up, in a stable order."""
    for folder, dirs, names in os.walk(data_dir):
        here = Path(folder)
        relative = here.relative_to(data_dir)
        # Hidden folders are this module's and the importer's scratch space; incoming
        # holds the file store's half-written copies, open an encrypted store's
        # decrypted ones (never to leave the folder).
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (relative / d).as_posix() not in ("files/incoming",
                                                               "files/open"))
        for name in sorted(names):
            path = here / name
            if relative == Path(".") and (name in _SKIPPED or name.startswith(".")):
                continue
            if path.is_symlink() or not path.is_file():
                continue
            yield (relative / name).as_posix(), path


def _write_archive(temp: Path, data_dir: Path, snapshot: Path, backup_id: str,
                   files: FileStore, key: DataKey | None) -> tuple[int, list[str]]:
    manifest: list[dict[str, Any]] = []
    problems: list[str] = []
    damaged: set[str] = set()
    with zipfile.ZipFile(temp, "w", allowZip64=True) as archive:
        manifest.append(_add(archive, DB_FILE_NAME, snapshot, zipfile.ZIP_DEFLATED))
        for name, path in _data_files(data_dir):
            is_blob = name.startswith("files/")
            # Reports are PDFs and images, compressed already; deflating them is wasted time.
            entry = _add(archive, name, path,
                         zipfile.ZIP_STORED if is_blob else zipfile.ZIP_DEFLATED)
            if is_blob and _looks_like_hash(path.name) and _damaged(files, path, entry):
                # Its bytes stay in the ZIP body, unlisted: restore extracts only what the
                # manifest lists, so the damage is reported here and never restored.
                problems.append(f"The stored file {path.name} is damaged (its content no "
                                f"longer matches its name); it is not in the backup.")
                damaged.add(path.name)
                continue
            manifest.append(entry)
        stored = {PurePosixPath(e["path"]).name for e in manifest if e["path"].startswith("files/")}
        for sha256 in sorted(_referenced_blobs(snapshot, key) - stored - damaged):
            problems.append(f"The stored file {sha256} that a case names is missing from the "
                            f"data folder; it is not in the backup.")
        schema = _schema_revision(snapshot, key)
        document = {
            "format": BACKUP_FORMAT, "backup_id": backup_id, "app_version": __version__,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "schema": schema, "files": manifest, "problems": problems,
        }
        archive.writestr(_info(MANIFEST), json.dumps(document, indent=1),
                         compress_type=zipfile.ZIP_DEFLATED)
    with temp.open("rb+") as handle:
        os.fsync(handle.fileno())
    return len(manifest), problems


def _info(name: str, compress_type: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=datetime.now(UTC).timetuple()[:6])
    info.compress_type = compress_type
    info.external_attr = 0o600 << 16
    return info


def _add(archive: zipfile.ZipFile, name: str, path: Path, compress_type: int
         ) -> dict[str, Any]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as source, archive.open(_info(name, compress_type), "w",
                                                 force_zip64=True) as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return {"path": name, "sha256": digest.hexdigest(), "size": size}


def _looks_like_hash(name: str) -> bool:
    return len(name) == 64 and all(ch in "0123456789abcdef" for ch in name)


def _damaged(files: FileStore, path: Path, entry: dict[str, Any]) -> bool:
    """Whether a stored file's content no longer matches its name (the plaintext's hash:
    a sealed file is opened to tell)."""
    if not files.encrypted:
        return entry["sha256"] != path.name
    try:
        files.check(path.name)
    except FileIntegrityError:
        return True
    return False


def _referenced_blobs(database: Path, key: DataKey | None) -> set[str]:
    connection = connect(database, key)
    try:
        has_table = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'documents'").fetchone()
        if not has_table:
            return set()
        return {row[0] for row in connection.execute("SELECT DISTINCT sha256 FROM documents")}
    finally:
        connection.close()


def _schema_revision(database: Path, key: DataKey | None) -> str | None:
    connection = connect(database, key)
    try:
        has_table = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
        if not has_table:
            return None
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None
    finally:
        connection.close()


# ---- reading a backup -----------------------------------------------------------------------


def read_manifest(archive: zipfile.ZipFile, name: str = "The file") -> dict[str, Any]:
    """The manifest, checked for shape and for names that could leave the target folder."""
    try:
        document = json.loads(archive.read(MANIFEST))
    except KeyError:
        raise BackupError(f"{name} is not a MedMitra Desktop backup (it has no "
                          f"manifest).") from None
    except ValueError as error:
        raise BackupError(f"{name} is damaged: its manifest cannot be read ({error}).") from None
    if not isinstance(document, dict) or document.get("format") != BACKUP_FORMAT:
        raise BackupError(f"{name} is not a backup this version can read (format "
                          f"{document.get('format') if isinstance(document, dict) else '?'}; "
                          f"expected {BACKUP_FORMAT}).")
    files = document.get("files")
    if not isinstance(files, list) or not all(
            isinstance(e, dict) and isinstance(e.get("path"), str)
            and isinstance(e.get("sha256"), str) and isinstance(e.get("size"), int)
            for e in files):
        raise BackupError(f"{name} is damaged: its manifest lists files incompletely.")
    paths = [e["path"] for e in files]
    for path in paths:
        if not _safe_name(path):
            raise BackupError(f"{name} lists a file outside the data folder ({path!r}); it "
                              f"is not a backup this app made.")
    if DB_FILE_NAME not in paths:
        raise BackupError(f"{name} has no database; it is not a complete backup.")
    if len(set(paths)) != len(paths):
        raise BackupError(f"{name} is damaged: its manifest lists a file twice.")
    return document


def _safe_name(name: str) -> bool:
    path = PurePosixPath(name)
    return (bool(name) and not path.is_absolute() and "\\" not in name and ":" not in name
            and all(part not in ("", ".", "..") for part in path.parts)
            and not path.parts[0].startswith("."))


def verify_archive(path: Path) -> dict[str, Any]:
    """Read every file of a backup and check it against the manifest; the manifest."""
    with _open_zip(path) as archive:
        manifest = read_manifest(archive, path.name)
        for entry in manifest["files"]:
            digest = hashlib.sha256()
            size = 0
            with _member(archive, entry["path"], path.name) as source:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
            _check(entry, digest.hexdigest(), size, path.name)
    return manifest


@contextlib.contextmanager
def _open_zip(path: Path) -> Iterator[zipfile.ZipFile]:
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise BackupError(f"The file {path} does not exist.") from None
    except (zipfile.BadZipFile, OSError) as error:
        raise BackupError(f"The file {path.name} is not a MedMitra Desktop backup, or it is "
                          f"damaged ({error}).") from None
    with archive:
        yield archive


@contextlib.contextmanager
def _member(archive: zipfile.ZipFile, name: str, archive_name: str) -> Iterator[Any]:
    try:
        with archive.open(name) as source:
            yield source
    except KeyError:
        raise BackupError(f"{archive_name} is damaged: {name} is missing from it.") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as error:
        raise BackupError(f"{archive_name} is damaged: {name} cannot be read "
                          f"({error}).") from None


def _check(entry: dict[str, Any], sha256: str, size: int, archive_name: str) -> None:
    if sha256 != entry["sha256"] or size != entry["size"]:
        raise BackupError(f"{archive_name} is damaged: {entry['path']} does not match the "
                          f"hash recorded when the backup was made. Use another backup.")


# ---- restore --------------------------------------------------------------------------------


def restore_backup(archive_path: Path, data_dir: Path, *, user_id: str,
                   force: bool = False, recovery_code: str | None = None) -> RestoreResult:
    """Restore a backup into `data_dir`, which must be empty (or force=True) and not in
    use by a running MedMitra Desktop. A backup of an encrypted folder needs its key: in
    this user's keychain, or given as `recovery_code` (then stored in the keychain)."""
    clean_user = _user(user_id)
    data_dir = data_dir.expanduser().resolve()
    if archive_path.expanduser().resolve().is_relative_to(data_dir):
        raise BackupError(f"The backup file is inside {data_dir}, the folder to restore "
                          f"into. Move it elsewhere first.")
    _check_target(data_dir, force)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=data_dir.parent, prefix=f".{data_dir.name}.restoring-"))
    try:
        with _open_zip(archive_path) as archive:
            manifest = read_manifest(archive, archive_path.name)
            _check_space(manifest, data_dir.parent)
            for entry in manifest["files"]:
                _extract(archive, entry, staging, archive_path.name)
        paths = prepare_data_dir(staging)  # files/, backups/, logs/: user-only
        key = _backup_key(staging, recovery_code, archive_path.name)
        if key is not None:
            if encryption.needs_finishing(staging):  # made while encryption was pending
                encryption.finish(paths, key)
            _check_sealed_files(FileStore(paths.files, key), manifest, archive_path.name)
        _check_database(staging / DB_FILE_NAME, archive_path.name, key)
        database = open_database(paths.database, paths.backups, key=key)
        try:
            with database.session() as session:
                audit.record(session, user_id=clean_user, action=AuditAction.RESTORE_BACKUP,
                             entity=ENTITY, entity_id=str(manifest.get("backup_id") or "")[:36],
                             detail=f"files={len(manifest['files'])}")
        finally:
            database.close()
        replaced = _move_into_place(staging, data_dir, force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("Backup %s restored into %s", manifest.get("backup_id"), data_dir)
    return RestoreResult(data_dir=data_dir, backup_id=str(manifest.get("backup_id") or ""),
                         files=len(manifest["files"]),
                         created_at=str(manifest.get("created_at") or ""), replaced=replaced)


def _contents(data_dir: Path) -> list[Path]:
    if not data_dir.exists():
        return []
    if not data_dir.is_dir():
        raise BackupError(f"{data_dir} is a file, not a folder.")
    return [p for p in data_dir.iterdir() if p.name != LOCK_FILE_NAME]


def _check_target(data_dir: Path, force: bool) -> None:
    if data_dir.exists():
        _check_not_running(data_dir)
    if _contents(data_dir) and not force:
        raise BackupError(
            f"The folder {data_dir} already holds data. Restore into a new, empty folder and "
            f"open that one; or, to replace this folder's data, restore with --force (its "
            f"present contents are kept beside it under another name).")


def _check_not_running(data_dir: Path) -> None:
    if not (data_dir / LOCK_FILE_NAME).exists():
        return  # a running app made the lock file; testing the lock would leave one behind
    lock = InstanceLock(data_dir)
    try:
        lock.acquire()
    except InstanceLockedError as error:
        raise BackupError(f"Cannot restore into {data_dir}: MedMitra Desktop is using that "
                          f"folder. Close it first, or restore into a new folder.") from error
    lock.release()


def _check_space(manifest: dict[str, Any], folder: Path) -> None:
    needed = sum(int(e["size"]) for e in manifest["files"])
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise BackupError(f"The backup needs {needed / 1024 ** 2:,.0f} MB and the disk has "
                          f"{free / 1024 ** 2:,.0f} MB free. Free some space, or restore onto "
                          f"another disk.")


def _extract(archive: zipfile.ZipFile, entry: dict[str, Any], staging: Path,
             archive_name: str) -> None:
    target = staging.joinpath(*PurePosixPath(entry["path"]).parts)
    for folder in reversed(target.relative_to(staging).parents[:-1]):
        (staging / folder).mkdir(mode=0o700, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with _member(archive, entry["path"], archive_name) as source, \
            os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > entry["size"]:  # never write more than the manifest promised
                break
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    _check(entry, digest.hexdigest(), size, archive_name)
    # (A sealed file's bytes are not its plaintext: _check_sealed_files opens those.)
    if entry["path"].startswith("files/") and _looks_like_hash(target.name) \
            and target.name != entry["sha256"] and not is_encrypted(target):
        raise BackupError(f"{archive_name} is damaged: the stored file {target.name} holds "
                          f"other content than its name says.")


def _backup_key(staging: Path, recovery_code: str | None, archive_name: str
                ) -> DataKey | None:
    keys = DataKeyStore()
    if recovery_code is not None:
        try:
            key, _ = encryption.key_from_recovery_code(staging, recovery_code, keys)
        except encryption.EncryptionError as error:
            raise BackupError(f"{archive_name}: {error}") from None
        return key
    try:
        return encryption.unlock(staging, keys)
    except encryption.DataKeyMissing:
        raise BackupKeyNeeded(
            f"{archive_name} is a backup of an encrypted data folder, and its key is not in "
            f"this user's keychain. Restore it with the folder's recovery code (the "
            f"window asks for it; on the command line add --recovery-code).") from None


def needs_recovery_code(archive_path: Path) -> bool:
    """Whether restoring this backup needs its folder's recovery code: it is of an
    encrypted folder whose key this user's keychain does not hold."""
    with _open_zip(archive_path) as archive:
        try:
            data = archive.read(encryption.STATE_FILE)
        except KeyError:
            return False
        except (zipfile.BadZipFile, OSError) as error:
            raise BackupError(f"{archive_path.name} is damaged ({error}).") from None
    state = encryption.parse_state(data, f"{archive_path.name}: {encryption.STATE_FILE}")
    return not encryption.has_key(state, DataKeyStore())


def _check_sealed_files(files: FileStore, manifest: dict[str, Any], archive_name: str
                        ) -> None:
    for entry in manifest["files"]:
        name = PurePosixPath(entry["path"]).name
        if entry["path"].startswith("files/") and _looks_like_hash(name):
            try:
                files.check(name)
            except FileIntegrityError:
                raise BackupError(f"{archive_name} is damaged: the stored file {name} does "
                                  f"not open with the folder's key to the content its name "
                                  f"says.") from None


def _check_database(path: Path, archive_name: str, key: DataKey | None) -> None:
    connection = connect(path, key, read_only=True)
    try:
        result = connection.execute("PRAGMA integrity_check").fetchall()
    except DATABASE_ERRORS as error:
        raise BackupError(f"The database in {archive_name} cannot be read ({error}).") from None
    finally:
        connection.close()
    if result != [("ok",)]:
        raise BackupError(f"The database in {archive_name} fails SQLite's integrity check; "
                          f"use another backup.")
    schema = _schema_revision(path, key)
    if schema is not None and schema not in KNOWN_REVISIONS:
        raise BackupError(f"{archive_name} was made by a newer MedMitra Desktop (schema "
                          f"{schema}). Install that version to restore it.")


def _move_into_place(staging: Path, data_dir: Path, force: bool) -> Path | None:
    replaced: Path | None = None
    if data_dir.exists():
        _check_not_running(data_dir)  # again: an app may have started meanwhile
        if _contents(data_dir):
            if not force:
                raise BackupError(f"The folder {data_dir} is no longer empty; nothing was "
                                  f"restored.")
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            replaced = data_dir.with_name(f"{data_dir.name}.replaced-{stamp}")
            data_dir.rename(replaced)
        else:
            (data_dir / LOCK_FILE_NAME).unlink(missing_ok=True)
            data_dir.rmdir()
    staging.rename(data_dir)
    if os.name == "posix":
        data_dir.chmod(0o700)
    return replaced
