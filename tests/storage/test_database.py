from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from medmitra_desktop.domain.errors import StorageError, StorageProblem
from medmitra_desktop.storage.database import (
    KNOWN_REVISIONS,
    SCHEMA_HEAD,
    alembic_config,
    classify,
    make_engine,
    open_database,
)
from medmitra_desktop.storage.orm import Base, include_in_migrations

SCRIPTS = ScriptDirectory.from_config(alembic_config())
HEAD = SCRIPTS.get_current_head()


def test_known_revisions_match_the_migration_scripts() -> None:
    in_scripts = [revision.revision for revision in SCRIPTS.walk_revisions()][::-1]
    assert list(KNOWN_REVISIONS) == in_scripts
    assert SCHEMA_HEAD == HEAD


def test_new_database_is_migrated_with_pragmas(tmp_path: Path) -> None:
    db = open_database(tmp_path / "m.sqlite3", tmp_path / "backups")
    try:
        with db.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == HEAD
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            tables = {row[0] for row in connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"cases", "documents", "document_pages", "lab_results", "radiology_observations",
                "medications", "allergies", "insights", "soap_notes", "jobs", "outbox",
                "audit_log", "settings", "case_search"} <= tables
        assert not (tmp_path / "backups").exists() or not any((tmp_path / "backups").iterdir())
    finally:
        db.close()
    assert (tmp_path / "m.sqlite3").stat().st_mode & 0o077 == 0


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    db = open_database(tmp_path / "m.sqlite3", tmp_path / "backups")
    try:
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_object": include_in_migrations, "compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        db.close()


def test_older_schema_is_backed_up_then_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    engine = make_engine(path)
    config = alembic_config()
    config.attributes["engine"] = engine
    command.upgrade(config, "0001")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO cases (uid, user_id, patient_name, patient_age, patient_gender, "
            "case_summary, status, created_at, updated_at, version) VALUES "
            "('u1', 'dr', 'Old Patient', 70, 'male', '', 'completed', "
            "'2025-01-01 00:00:00', '2025-01-01 00:00:00', 1)")
    engine.dispose()

    db = open_database(path, tmp_path / "backups")
    try:
        with db.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == HEAD
            assert connection.exec_driver_sql(
                "SELECT patient_record_number FROM cases WHERE uid='u1'").scalar() is None
    finally:
        db.close()
    backups = list((tmp_path / "backups").glob("medmitra-before-0001-*.sqlite3"))
    assert len(backups) == 1
    with sqlite3.connect(backups[0]) as saved:
        assert saved.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
        assert saved.execute("SELECT patient_name FROM cases").fetchone() == ("Old Patient",)


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    open_database(path, tmp_path / "backups").close()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    before = path.read_bytes()
    with pytest.raises(StorageError) as caught:
        open_database(path, tmp_path / "backups")
    assert caught.value.problem is StorageProblem.NEWER_SCHEMA
    assert "newer version of MedMitra Desktop" in str(caught.value)
    assert path.read_bytes() == before


def test_garbage_file_is_reported_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "bad.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StorageError) as caught:
        open_database(path, tmp_path / "backups")
    assert caught.value.problem is StorageProblem.CORRUPT
    assert "damaged" in str(caught.value) and str(path) in str(caught.value)


def test_truncated_database_is_reported_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "cut.sqlite3"
    db = open_database(path, tmp_path / "backups")
    db.close()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=DELETE")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(StorageError) as caught:
        open_database(path, tmp_path / "backups")
    assert caught.value.problem is StorageProblem.CORRUPT


def test_read_only_database_error_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "ro.sqlite3"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    # root ignores file modes, so make SQLite itself refuse the write.
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as caught:
        connection.execute("INSERT INTO t VALUES (1)")
    connection.close()
    problem = classify(caught.value, path)
    assert problem is not None and problem.problem is StorageProblem.READ_ONLY
    assert "read-only" in str(problem) and "write permission" in str(problem)


def test_locked_database_gives_a_message_not_a_hang(tmp_path: Path) -> None:
    from medmitra_desktop.services.cases import CaseService
    from medmitra_desktop.storage.filestore import FileStore

    path = tmp_path / "locked.sqlite3"
    db = open_database(path, tmp_path / "backups", busy_timeout_ms=200)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        service = CaseService(db, FileStore(tmp_path / "files"))
        with pytest.raises(StorageError) as caught:
            service.create_case(user_id="dr", patient_name="A B", patient_age=30,
                                patient_gender="male")
        assert caught.value.problem is StorageProblem.LOCKED
        assert "locked by another program" in str(caught.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
        db.close()
    db = open_database(path, tmp_path / "backups")
    try:
        service = CaseService(db, FileStore(tmp_path / "files"))
        assert service.count_cases() == 0  # the failed create left nothing behind
    finally:
        db.close()
