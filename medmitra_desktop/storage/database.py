"""Opening the case database: pragmas, the refuse-the-future check, backup, migrations.

SQLite errors are sorted into problems a user can act on (StorageError with a message)
and bugs (left to propagate to the crash reporter).

An encrypted data folder's database is opened with SQLCipher (the sqlcipher3 driver, the
same SQLite with page encryption) and its data key; everything above the connection is
the same.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlcipher3.dbapi2 as sqlcipher
from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from ..domain.errors import StorageError, StorageProblem
from .data_key import DataKey

log = logging.getLogger(__name__)

DB_FILE_NAME = "medmitra.sqlite3"
BUSY_TIMEOUT_MS = 5000
BACKUPS_KEPT = 5
WRITE_OPTION = "medmitra_write"
SQLITE_MAGIC = b"SQLite format 3\x00"  # an unencrypted database file's first bytes
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Every revision in migrations/versions, oldest first (a test keeps these in step with
# Alembic). Knowing them here lets a start-up on a current database skip importing and
# parsing Alembic's scripts, which costs more than the rest of opening the database.
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006")
SCHEMA_HEAD = KNOWN_REVISIONS[-1]
# What either driver raises when a file is not a database it can read.
DATABASE_ERRORS = (sqlite3.DatabaseError, sqlcipher.DatabaseError)


def _use_key(dbapi_connection: Any, key: DataKey) -> None:
    # First, before anything reads a page. SQLCipher's own log would print "hmac check
    # failed" to stderr on a wrong key; the app words that itself.
    dbapi_connection.execute("PRAGMA cipher_log_level = NONE")
    dbapi_connection.execute(f"PRAGMA key = {key.sqlcipher_pragma()}")


def connect(path: Path | str, key: DataKey | None = None, *, read_only: bool = False) -> Any:
    """A plain DB-API connection (backup API, checks), keyed when the folder is
    encrypted. Callers close it."""
    target = Path(path).as_uri() + "?mode=ro" if read_only else str(path)
    if key is None:
        return sqlite3.connect(target, uri=read_only)
    connection = sqlcipher.connect(target, uri=read_only)
    _use_key(connection, key)
    return connection


def _on_connect(dbapi_connection: Any, _record: object, key: DataKey | None = None) -> None:
    if key is not None:
        _use_key(dbapi_connection, key)
    # Transactions are begun by _on_begin, so that writers can ask for BEGIN IMMEDIATE.
    # (The busy timeout comes from the driver's `timeout` argument.)
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # NORMAL is durable across application crashes in WAL mode; only an OS crash can
        # lose the last transactions, never corrupt the file.
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _on_begin(connection: Connection) -> None:
    # A writer takes the write lock up front: a deferred transaction that reads and then
    # writes can fail with "database is locked" when another writer got there first.
    immediate = connection.get_execution_options().get(WRITE_OPTION)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def classify(error: BaseException, path: Path) -> StorageError | None:
    """A StorageError for problems a user can act on, None for bugs."""
    text = str(getattr(error, "orig", None) or error).lower()
    where = str(path)
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return StorageError(
            StorageProblem.CORRUPT,
            f"The case database {where} is damaged and cannot be read. Your attached files "
            f"are still in the data folder. Restore the database from a backup (the "
            f"'backups' folder beside it holds copies made before each upgrade).",
        )
    if "readonly" in text or "read-only" in text or "read only" in text:
        return StorageError(
            StorageProblem.READ_ONLY,
            f"The case database {where} is read-only, so changes cannot be saved. Give your "
            f"user account write permission on that file and its folder, then start again.",
        )
    if "locked" in text or "busy" in text:
        return StorageError(
            StorageProblem.LOCKED,
            f"The case database {where} is locked by another program. Close other copies "
            f"of MedMitra Desktop or any program that has it open, then try again.",
        )
    if "disk is full" in text or "disk full" in text or "no space" in text:
        return StorageError(
            StorageProblem.DISK_FULL,
            f"The disk holding {where} is full, so nothing was saved. Free some space and "
            f"try again.",
        )
    if "unable to open" in text or "disk i/o error" in text:
        return StorageError(
            StorageProblem.UNREADABLE,
            f"The case database {where} cannot be opened ({text}). Check that the data "
            f"folder exists and that your user account can read and write it.",
        )
    return None


@contextmanager
def storage_errors(path: Path) -> Iterator[None]:
    """Turn SQLite problems a user can act on into StorageError."""
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.DatabaseError, *DATABASE_ERRORS) as error:
        known = classify(error, path)
        if known is None:
            raise
        raise known from error


@dataclass
class Database:
    path: Path
    engine: Engine
    _writers: sessionmaker[Session]
    _readers: sessionmaker[Session]
    key: DataKey | None = None  # an encrypted folder's: backups and checks need it

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work that writes: committed on success, rolled back on any error."""
        with storage_errors(self.path), self._writers.begin() as session:
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A short read-only look; never blocks writers (WAL)."""
        with storage_errors(self.path), self._readers() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()


def make_engine(path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS,
                key: DataKey | None = None) -> Engine:
    engine = create_engine(
        # Built, not formatted: in "sqlite:///{path}" a "?" in a folder name starts the
        # query string, and the database would be made outside the data folder.
        URL.create("sqlite", database=str(path)),
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        **({} if key is None else {"module": sqlcipher}),
    )

    def on_connect(dbapi_connection: Any, record: object) -> None:
        _on_connect(dbapi_connection, record, key)

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _check_header(path: Path, key: DataKey | None) -> None:
    # An encrypted database has no readable header; its key was checked against the
    # folder's encryption.json before this, so a failure to read it means damage.
    if key is not None or not path.exists() or path.stat().st_size == 0:
        return
    with storage_errors(path):
        try:
            with path.open("rb") as handle:
                header = handle.read(len(SQLITE_MAGIC))
        except OSError as error:
            raise sqlite3.DatabaseError(f"unable to open database file: {error}") from error
        if header != SQLITE_MAGIC:
            raise sqlite3.DatabaseError("file is not a database")


def backup_database(path: Path, backup_dir: Path, label: str,
                    key: DataKey | None = None) -> Path:
    """A consistent copy through SQLite's backup API (safe even with WAL in use),
    encrypted with the same key as the database."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = backup_dir / f"medmitra-before-{label}-{stamp}.sqlite3"
    source = connect(path, key)
    try:
        destination = connect(target, key)
        try:
            source.backup(destination)
        finally:
            destination.close()
    finally:
        source.close()
    target.chmod(0o600)
    for old in sorted(backup_dir.glob("medmitra-before-*.sqlite3"))[:-BACKUPS_KEPT]:
        old.unlink(missing_ok=True)
    return target


def open_database(path: Path, backup_dir: Path, *,
                  busy_timeout_ms: int = BUSY_TIMEOUT_MS,
                  key: DataKey | None = None) -> Database:
    """Open (creating if needed) and migrate the database to this version's schema.
    `key`: the data key of an encrypted data folder."""
    _check_header(path, key)
    if not path.exists():
        # SQLite gives the -wal and -shm files the database file's permissions.
        path.touch(mode=0o600)
    engine = make_engine(path, busy_timeout_ms, key)
    try:
        with storage_errors(path):
            migrate(engine, path, backup_dir, key)
    except BaseException:
        engine.dispose()
        raise
    return Database(
        path=path,
        engine=engine,
        _writers=sessionmaker(engine.execution_options(**{WRITE_OPTION: True}),
                              expire_on_commit=False),
        _readers=sessionmaker(engine, expire_on_commit=False),
        key=key,
    )


def current_revision(connection: Connection) -> str | None:
    has_version_table = connection.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).first()
    if not has_version_table:
        return None
    row = connection.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    return row[0] if row else None


def migrate(engine: Engine, path: Path, backup_dir: Path, key: DataKey | None = None) -> None:
    with engine.connect() as connection:
        current = current_revision(connection)
        has_tables = bool(
            connection.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' LIMIT 1"
            ).first()
        )
    if current == SCHEMA_HEAD:
        return
    if current is not None and current not in KNOWN_REVISIONS:
        raise StorageError(
            StorageProblem.NEWER_SCHEMA,
            f"The case database {path} was written by a newer version of MedMitra Desktop "
            f"(schema {current}). This version cannot read it safely. Install the newer "
            f"version, or choose another data folder.",
        )
    if has_tables:
        saved = backup_database(path, backup_dir, current or "unversioned", key)
        log.info("Database backed up before migration to %s", saved.name)

    config = alembic_config()
    config.attributes["engine"] = engine
    try:
        command.upgrade(config, SCHEMA_HEAD)
    except (sa_exc.OperationalError, sa_exc.DatabaseError):
        raise
    except Exception as error:
        raise StorageError(
            StorageProblem.MIGRATION_FAILED,
            f"Upgrading the case database {path} failed ({error}). Nothing was changed; "
            f"a copy made before the upgrade is in {backup_dir}.",
        ) from error
    log.info("Database schema upgraded from %s to %s", current, SCHEMA_HEAD)
