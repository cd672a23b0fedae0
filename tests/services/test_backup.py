"""Backup of the whole data folder to one file, and restore: every file's hash checked, the
database's integrity checked, the instance lock and a non-empty folder respected."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import threading
import zipfile
from pathlib import Path

import pytest

from medmitra_desktop.app import AppContext, open_app
from medmitra_desktop.domain.records import CaseListItem, CaseQuery
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.services.backup import (
    BackupError,
    backup_data,
    restore_backup,
    verify_archive,
)
from medmitra_desktop.storage.database import DB_FILE_NAME
from tests.factories import LAB_LINES, make_case, png_image, text_pdf

SKIPPED = {DB_FILE_NAME, f"{DB_FILE_NAME}-wal", f"{DB_FILE_NAME}-shm", "medmitra.lock"}


def hashes(data_dir: Path) -> dict[str, str]:
    """SHA-256 of every file of a data folder but the live database and the lock."""
    return {
        path.relative_to(data_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(data_dir.rglob("*"))
        if path.is_file() and path.name not in SKIPPED
    }


@pytest.fixture
def filled(context: AppContext, jobs: AnalysisJobs, tmp_path: Path) -> AppContext:
    make_case(context.cases, lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)], notes="Tired")
    make_case(context.cases, name="Bela Rao", radiology=[png_image(tmp_path / "cxr.png")])
    while jobs.run_next() is not None:
        pass
    (context.paths.logs / "medmitra.log").write_text("a log line\n", encoding="utf-8")
    return context


def test_backup_and_restore_round_trip_with_every_hash_checked(
        filled: AppContext, tmp_path: Path) -> None:
    archive = tmp_path / "backup.zip"
    result = backup_data(filled, archive, user_id="dr-a")

    assert result.problems == () and result.size_bytes == archive.stat().st_size
    if os.name == "posix":
        assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    manifest = verify_archive(archive)
    assert manifest["backup_id"] == result.backup_id and manifest["schema"]
    listed = {entry["path"]: entry["sha256"] for entry in manifest["files"]}
    before = hashes(filled.paths.data_dir)
    assert {name: digest for name, digest in listed.items() if name != DB_FILE_NAME} == before
    assert len([n for n in listed if n.startswith("files/")]) == 2
    assert [e.action for e in filled.cases.history(result.backup_id)] == ["backup"]

    target = tmp_path / "restored"
    restored = restore_backup(archive, target, user_id="dr-b")

    assert (restored.backup_id, restored.files, restored.replaced) == (
        result.backup_id, result.files, None)
    assert hashes(target) == before  # every file, byte for byte
    connection = sqlite3.connect(target / DB_FILE_NAME)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        connection.close()
    if os.name == "posix":
        assert stat.S_IMODE(target.stat().st_mode) == 0o700
        assert all(stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600)
                   for p in target.rglob("*"))
    reopened = open_app(str(target))
    try:
        case_ids = [item.case_id for item in _all(filled)]
        assert len(case_ids) == 2
        for case_id in case_ids:
            assert reopened.cases.get_case(case_id) == filled.cases.get_case(case_id)
            assert reopened.results.results(case_id).labs == filled.results.results(
                case_id).labs
            for document in reopened.cases.get_case(case_id).documents:
                reopened.files.verify(document.sha256)
        assert [e.action for e in reopened.cases.history(result.backup_id)] == [
            "restore_backup"]
    finally:
        reopened.close()


def _all(context: AppContext) -> list[CaseListItem]:
    return list(context.cases.iter_all(CaseQuery()))


def test_backup_is_consistent_while_the_app_writes(filled: AppContext,
                                                   tmp_path: Path) -> None:
    stop = threading.Event()

    def keep_writing() -> None:
        while not stop.is_set():
            make_case(filled.cases, name="Writer Case")

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        backup_data(filled, tmp_path / "busy.zip", user_id="dr-a")
    finally:
        stop.set()
        writer.join()
    target = tmp_path / "restored"
    restore_backup(tmp_path / "busy.zip", target, user_id="dr-a")
    reopened = open_app(str(target))
    try:
        assert len(_all(reopened)) >= 2  # a consistent snapshot; its integrity was checked
    finally:
        reopened.close()


def test_restore_refuses_a_running_apps_folder_and_a_non_empty_one(
        filled: AppContext, tmp_path: Path) -> None:
    archive = tmp_path / "backup.zip"
    backup_data(filled, archive, user_id="dr-a")
    before = hashes(filled.paths.data_dir)

    with pytest.raises(BackupError, match="MedMitra Desktop is using that folder"):
        restore_backup(archive, filled.paths.data_dir, user_id="dr-a", force=True)
    assert hashes(filled.paths.data_dir) == before

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(BackupError, match="already holds data"):
        restore_backup(archive, busy, user_id="dr-a")
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]

    forced = restore_backup(archive, busy, user_id="dr-a", force=True)
    assert forced.replaced is not None
    assert (forced.replaced / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (busy / DB_FILE_NAME).is_file()
    assert not [p for p in tmp_path.iterdir() if ".restoring-" in p.name]


def test_a_damaged_backup_is_refused_and_restores_nothing(filled: AppContext,
                                                          tmp_path: Path) -> None:
    archive = tmp_path / "backup.zip"
    backup_data(filled, archive, user_id="dr-a")
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(damaged, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("files/"):
                data = data[:-1] + bytes([data[-1] ^ 0xFF])  # one bit of one report
            out.writestr(info, data)

    with pytest.raises(BackupError, match="does not match the hash"):
        verify_archive(damaged)
    with pytest.raises(BackupError, match="does not match the hash"):
        restore_backup(damaged, tmp_path / "target", user_id="dr-a")
    assert not (tmp_path / "target").exists()
    assert not [p for p in tmp_path.iterdir() if ".restoring-" in p.name]


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.write_bytes(b"PK\x03\x04 truncated"), "not a MedMitra Desktop backup"),
    (lambda p: p.write_text("hello", encoding="utf-8"), "not a MedMitra Desktop backup"),
    (lambda p: _zip(p, {"readme.txt": b"x"}), "it has no manifest"),
    (lambda p: _zip(p, {"manifest.json": b"{not json"}), "manifest cannot be read"),
    (lambda p: _zip(p, {"manifest.json": json.dumps({"format": "other/9"}).encode()}),
     "not a backup this version can read"),
    (lambda p: _zip(p, {"manifest.json": json.dumps({
        "format": "medmitra.backup/1", "files": [
            {"path": DB_FILE_NAME, "sha256": "0" * 64, "size": 1},
            {"path": "../escape.txt", "sha256": "0" * 64, "size": 1}]}).encode()}),
     "outside the data folder"),
])
def test_files_that_are_not_backups_are_refused_in_words(tmp_path: Path, make, message
                                                         ) -> None:
    archive = tmp_path / "input.zip"
    make(archive)
    with pytest.raises(BackupError, match=message):
        restore_backup(archive, tmp_path / "target", user_id="dr-a")
    assert not (tmp_path / "target").exists() and not (tmp_path / "escape.txt").exists()


def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_damage_in_the_data_folder_is_reported_not_backed_up(
        filled: AppContext, tmp_path: Path) -> None:
    documents = [d for item in _all(filled)
                 for d in filled.cases.get_case(item.case_id).documents]
    damaged = filled.files.path_for(documents[0].sha256)
    damaged.write_bytes(b"not the report any more")
    filled.files.path_for(documents[1].sha256).unlink()

    result = backup_data(filled, tmp_path / "backup.zip", user_id="dr-a")

    assert len(result.problems) == 2
    assert any("damaged" in p and documents[0].sha256 in p for p in result.problems)
    assert any("missing" in p and documents[1].sha256 in p for p in result.problems)
    manifest = verify_archive(tmp_path / "backup.zip")
    assert not [e for e in manifest["files"] if e["path"].startswith("files/")]
    restore_backup(tmp_path / "backup.zip", tmp_path / "restored", user_id="dr-a")
    assert not (tmp_path / "restored" / "files" / documents[0].sha256[:2]
                / documents[0].sha256).exists()


def test_a_backup_inside_the_data_folder_is_refused(context: AppContext) -> None:
    with pytest.raises(BackupError, match="outside the data folder"):
        backup_data(context, context.paths.data_dir / "backups" / "b.zip", user_id="dr-a")


def test_folders_with_odd_names_back_up_and_restore(tmp_path: Path) -> None:
    """"#", "?" and "%" mean something in URLs and SQLite URIs; in folder names they are
    just characters (a "?" once sent the database outside the data folder)."""
    odd = open_app(str(tmp_path / "clinic #1 ?data% é"))
    try:
        case = make_case(odd.cases)
        archive = tmp_path / "odd backup #2.zip"
        backup_data(odd, archive, user_id="dr-a")
    finally:
        odd.close()
    target = tmp_path / "restored #3 ?é"
    restore_backup(archive, target, user_id="dr-a")
    reopened = open_app(str(target))
    try:
        assert reopened.cases.get_case(case.case_id).patient_name == case.patient_name
    finally:
        reopened.close()
