from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from medmitra_desktop.domain.errors import FileIntegrityError
from medmitra_desktop.storage.filestore import FileStore


def test_same_bytes_stored_once(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    first = tmp_path / "a.txt"
    second = tmp_path / "copy with another name.txt"
    first.write_bytes(b"Hb 10.2")
    second.write_bytes(b"Hb 10.2")
    one, two = store.put(first), store.put(second)
    assert one.sha256 == two.sha256 == hashlib.sha256(b"Hb 10.2").hexdigest()
    stored = [p for p in (tmp_path / "files").rglob("*") if p.is_file()]
    assert stored == [one.path]
    assert one.path.stat().st_mode & 0o077 == 0


def test_failed_write_leaves_no_file_under_a_hash(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileStore(tmp_path / "files")
    source = tmp_path / "scan.png"
    source.write_bytes(os.urandom(4096))

    def crash(*_args: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("medmitra_desktop.storage.filestore.os.replace", crash)
    with pytest.raises(OSError):
        store.put(source)
    assert [p for p in (tmp_path / "files").rglob("*") if p.is_file()] == []


def test_leftovers_of_a_crash_are_cleaned(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    (tmp_path / "files" / "incoming").mkdir(exist_ok=True)
    (tmp_path / "files" / "incoming" / "put-half").write_bytes(b"half a file")
    store.clean_incoming()
    assert list((tmp_path / "files" / "incoming").iterdir()) == []


def test_reads_verify_the_hash(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    source = tmp_path / "r.txt"
    source.write_bytes(b"Creatinine 1.2")
    blob = store.put(source)
    assert store.verify(blob.sha256) == blob.path
    blob.path.write_bytes(b"Creatinine 9.9")
    with pytest.raises(FileIntegrityError, match="changed or damaged"):
        store.verify(blob.sha256)
    blob.path.unlink()
    with pytest.raises(FileIntegrityError, match="missing"):
        store.verify(blob.sha256)


def test_hash_names_are_checked(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    with pytest.raises(ValueError):
        store.path_for("../../etc/passwd")
