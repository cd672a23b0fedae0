"""Encryption at rest of a data folder: nothing readable without the key, everything
working with it, a missing key named, the recovery code, and a crash mid-way resumed."""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from medmitra_desktop.app import AppContext, open_app
from medmitra_desktop.domain.enums import DocumentCategory
from medmitra_desktop.domain.errors import FileIntegrityError, StorageError
from medmitra_desktop.domain.records import CaseQuery, NewAttachment
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.services.backup import BackupKeyNeeded, backup_data, restore_backup
from medmitra_desktop.storage import encryption
from medmitra_desktop.storage.blob_cipher import CHUNK_BYTES
from medmitra_desktop.storage.data_key import DataKey, DataKeyStore
from medmitra_desktop.storage.database import backup_database
from medmitra_desktop.storage.filestore import FileStore
from tests.factories import LAB_LINES, make_case, text_file, text_pdf
from tests.memory_keyring import MemoryKeyring

# In the patient's name and in an attached file: found anywhere on disk, it leaked.
MARKER = "Zorbaqxplaintext"


def all_bytes_of(folder: Path) -> list[tuple[Path, bytes]]:
    return [(path, path.read_bytes()) for path in sorted(folder.rglob("*")) if path.is_file()]


def leaks(folder: Path) -> list[Path]:
    return [path for path, data in all_bytes_of(folder)
            if MARKER.encode() in data or MARKER.encode("utf-16-le") in data]


@pytest.fixture
def plain_folder(data_dir: Path, tmp_path: Path) -> Path:
    """A plain data folder with a case, its files and a copy made before an upgrade."""
    with_files = open_app(str(data_dir))
    try:
        make_case(with_files.cases, name=f"Asha {MARKER}",
                  lab=[text_file(tmp_path / "cbc.txt", f"{MARKER}\n" + "\n".join(LAB_LINES)),
                       text_pdf(tmp_path / "cbc.pdf", LAB_LINES)],
                  notes=f"Seen for {MARKER}")
        backup_database(with_files.paths.database, with_files.paths.backups, "0005")
    finally:
        with_files.close()
    assert leaks(data_dir)  # the check below can see a leak
    return data_dir


def encrypt(data_dir: Path) -> DataKey:
    """What `medmitra-desktop encrypt` does: begin, then a start that seals."""
    key = encryption.begin(data_dir, DataKeyStore())
    open_app(str(data_dir)).close()
    return key


def test_an_encrypted_folder_has_nothing_readable_and_the_app_works_as_before(
        plain_folder: Path, analyzer, tmp_path: Path) -> None:
    encrypt(plain_folder)

    assert leaks(plain_folder) == []
    database = plain_folder / "medmitra.sqlite3"
    assert not database.read_bytes().startswith(b"SQLite format 3")
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        sqlite3.connect(database).execute("SELECT * FROM cases").fetchall()
    for path in (plain_folder / "backups").glob("*.sqlite3"):
        assert not path.read_bytes().startswith(b"SQLite format 3")

    context = open_app(str(plain_folder))
    try:
        (found,) = context.cases.list_cases(CaseQuery(search=MARKER)).items
        case = context.cases.get_case(found.case_id)
        text = next(d for d in case.documents if d.file_name == "cbc.txt")
        with context.files.opened(text.sha256) as path:
            assert path.read_text(encoding="utf-8").startswith(MARKER)
        with context.files.reading(text.sha256) as stream:
            assert stream.read().startswith(MARKER.encode())
        added = context.cases.attach_documents(
            case.case_id, user_id="dr-test", attachments=[NewAttachment(
                text_file(tmp_path / "more.txt", f"{MARKER} later"), DocumentCategory.LAB)])
        jobs = AnalysisJobs(context.database, context.files, analyzer)
        while jobs.run_next() is not None:
            pass
        results = context.results.results(case.case_id)
        assert "Hemoglobin" in {r.test for r in results.labs}
        assert len(added.documents) == 3
        assert leaks(plain_folder) == []
        viewed = context.files.verify(text.sha256)  # the viewer's copy, kept while open
        assert viewed.exists()
    finally:
        context.close()
    assert not viewed.exists()
    assert not (plain_folder / "files" / "open").exists()


def test_a_missing_or_wrong_key_is_named_and_the_recovery_code_brings_it_back(
        plain_folder: Path, memory_keyring: MemoryKeyring) -> None:
    code = encrypt(plain_folder).recovery_code()
    memory_keyring.secrets.clear()  # another computer, or a reset keychain

    with pytest.raises(encryption.DataKeyMissing, match="recovery code") as caught:
        open_app(str(plain_folder))
    assert "not in this user's keychain" in str(caught.value)
    assert memory_keyring.secrets == {}  # a failed start stores nothing

    other = DataKey.generate().recovery_code()
    with pytest.raises(encryption.EncryptionError, match="another data folder"):
        encryption.key_from_recovery_code(plain_folder, other, DataKeyStore())
    with pytest.raises(encryption.EncryptionError, match="not a valid recovery code"):
        # One letter mistyped (the checksum catches all but 1 in 65,536 such slips).
        mistyped = code[:3] + ("B" if code[3] != "B" else "C") + code[4:]
        encryption.key_from_recovery_code(plain_folder, mistyped, DataKeyStore())

    # Typed in lower case, with spaces, and 0 for O: still the code.
    typed = code.lower().replace("-", " ").replace("o", "0")
    key, not_kept = encryption.key_from_recovery_code(plain_folder, typed, DataKeyStore())
    assert not_kept is None and len(memory_keyring.secrets) == 1
    open_app(str(plain_folder)).close()  # from the keychain again

    state = encryption.read_state(plain_folder)
    assert state is not None
    memory_keyring.secrets[("MedMitra Desktop", f"data-key:{state.folder_id}")] = \
        DataKey.generate().raw.hex()  # a wrong key under the folder's name
    with pytest.raises(encryption.DataKeyMissing):
        open_app(str(plain_folder))
    open_app(str(plain_folder), data_key=key).close()


def test_without_a_keychain_encryption_is_refused_and_nothing_changes(
        plain_folder: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(encryption.EncryptionError, match="no system keychain") as caught:
        encryption.begin(plain_folder, DataKeyStore())
    assert "Nothing was changed" in str(caught.value)
    assert not (plain_folder / encryption.STATE_FILE).exists()
    open_app(str(plain_folder)).close()


def test_a_recovery_code_opens_the_folder_for_the_session_when_no_keychain_keeps_it(
        plain_folder: Path) -> None:
    code = encrypt(plain_folder).recovery_code()
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(encryption.DataKeyMissing, match="no system keychain"):
        open_app(str(plain_folder))
    key, not_kept = encryption.key_from_recovery_code(plain_folder, code, DataKeyStore())
    assert not_kept and "this session only" in not_kept
    context = open_app(str(plain_folder), data_key=key)
    try:
        assert context.cases.list_cases(CaseQuery(search=MARKER)).total == 1
    finally:
        context.close()


def test_a_crash_while_sealing_resumes_at_the_next_start(
        plain_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    more = open_app(str(plain_folder))
    try:
        for number in range(6):
            make_case(more.cases, name=f"Patient {number}",
                      lab=[text_file(tmp_path / f"r{number}.txt", f"{MARKER} {number}")])
    finally:
        more.close()
    key = encryption.begin(plain_folder, DataKeyStore())
    real_seal = encryption._seal_file
    sealed: list[Path] = []

    def crash_after_three(path: Path, *args: object) -> int:
        if len(sealed) == 3:
            raise KeyboardInterrupt  # the power goes
        sealed.append(path)
        return real_seal(path, *args)

    monkeypatch.setattr(encryption, "_seal_file", crash_after_three)
    with pytest.raises(KeyboardInterrupt):
        open_app(str(plain_folder))
    assert encryption.needs_finishing(plain_folder) and leaks(plain_folder)

    monkeypatch.setattr(encryption, "_seal_file", real_seal)
    context = open_app(str(plain_folder))
    try:
        assert not encryption.needs_finishing(plain_folder)
        assert leaks(plain_folder) == []
        assert context.cases.list_cases(CaseQuery()).total == 7
        for item in context.cases.list_cases(CaseQuery(search="Patient")).items:
            (document,) = context.cases.get_case(item.case_id).documents
            with context.files.reading(document.sha256) as stream:
                assert stream.read().startswith(MARKER.encode())
    finally:
        context.close()
    assert context.database.key == key


def test_backup_of_an_encrypted_folder_stays_encrypted_and_restores_with_key_or_code(
        plain_folder: Path, tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    code = encrypt(plain_folder).recovery_code()
    context = open_app(str(plain_folder))
    archive = tmp_path / "backup.zip"
    try:
        made = backup_data(context, archive, user_id="dr-a")
    finally:
        context.close()
    assert made.problems == ()
    with zipfile.ZipFile(archive) as opened:
        for name in opened.namelist():
            assert MARKER.encode() not in opened.read(name), name

    same_computer = tmp_path / "restored-here"
    restore_backup(archive, same_computer, user_id="dr-a")
    with _opened(same_computer) as restored:
        assert restored.cases.list_cases(CaseQuery(search=MARKER)).total == 1

    memory_keyring.secrets.clear()  # another computer
    elsewhere = tmp_path / "restored-elsewhere"
    with pytest.raises(BackupKeyNeeded, match="recovery code"):
        restore_backup(archive, elsewhere, user_id="dr-b")
    assert not elsewhere.exists()
    restore_backup(archive, elsewhere, user_id="dr-b", recovery_code=code)
    with _opened(elsewhere) as restored:
        assert restored.cases.list_cases(CaseQuery(search=MARKER)).total == 1
        assert restored.database.key is not None


class _opened:
    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def __enter__(self) -> AppContext:
        self._context = open_app(str(self._folder))
        return self._context

    def __exit__(self, *_: object) -> None:
        self._context.close()


# ---- the sealed file format -----------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files", DataKey.generate())


@pytest.mark.parametrize("size", [0, 1, CHUNK_BYTES, 2 * CHUNK_BYTES + 7])
def test_sealed_files_round_trip_at_chunk_edges(store: FileStore, tmp_path: Path,
                                                size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    blob = store.put(source)
    assert blob.size_bytes == size and blob.path.read_bytes() != data
    assert store.put(source).path == blob.path  # the same bytes are stored once
    with store.reading(blob.sha256) as stream:
        assert stream.read() == data


@pytest.mark.parametrize("damage", ["flip", "cut", "drop_chunk", "swap_chunks", "plain"])
def test_a_changed_sealed_file_is_refused(store: FileStore, tmp_path: Path,
                                          damage: str) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(b"a" * CHUNK_BYTES + b"b" * CHUNK_BYTES + b"c" * 10)
    blob = store.put(source)
    sealed = blob.path.read_bytes()
    head, chunk = 8, 12 + CHUNK_BYTES + 16
    first, second, rest = (sealed[head:head + chunk], sealed[head + chunk:head + 2 * chunk],
                           sealed[head + 2 * chunk:])
    changed = {
        "flip": sealed[:100] + bytes([sealed[100] ^ 1]) + sealed[101:],
        "cut": sealed[:head + 2 * chunk],  # ends at a chunk boundary
        "drop_chunk": sealed[:head] + first + rest,
        "swap_chunks": sealed[:head] + second + first + rest,
        "plain": source.read_bytes(),
    }[damage]
    blob.path.write_bytes(changed)
    with pytest.raises(FileIntegrityError, match="changed or damaged"):
        store.check(blob.sha256)
    with pytest.raises(FileIntegrityError):
        store.verify(blob.sha256)
    assert list((store.root / "open").iterdir()) == []  # no half-decrypted copy left


def test_a_damaged_encryption_state_file_is_named_and_nothing_is_opened(
        plain_folder: Path) -> None:
    encrypt(plain_folder)
    state_file = plain_folder / encryption.STATE_FILE
    good = state_file.read_bytes()
    state_file.write_text("{not json", encoding="utf-8")
    with pytest.raises(StorageError, match=r"encryption\.json cannot be read") as caught:
        open_app(str(plain_folder))
    assert "restore the folder from a backup" in str(caught.value)
    state_file.write_bytes(good)
    open_app(str(plain_folder)).close()  # the failed start let go of the folder's lock
