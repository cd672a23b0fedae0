"""`encrypt`, `unlock` and `restore --recovery-code` from the command line: the recovery
code printed once, read only from standard input, and refusals in words."""

from __future__ import annotations

import re
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from medmitra_desktop.storage import encryption
from tests.cli.in_process import run
from tests.factories import text_file
from tests.memory_keyring import MemoryKeyring

CODE = re.compile(r"\b(?:[A-Z2-7]{5}-){10}[A-Z2-7]{5}\b")


def test_encrypt_prints_the_code_once_and_unlock_takes_it_from_stdin(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], data_dir: Path,
        tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    report = text_file(tmp_path / "cbc.txt", "Hemoglobin 9.1 g/dL 13.0-17.0\n")
    code, _, err = run(monkeypatch, capsys, data_dir, "cases", "create", "--user-id", "dr-a",
                       "--name", "Asha Verma", "--age", "45", "--gender", "female",
                       "--lab", str(report))
    assert code == 0, err

    code, out, err = run(monkeypatch, capsys, data_dir, "encrypt")
    assert code == 2 and "user_id" in err  # the change is audited: who did it

    code, out, err = run(monkeypatch, capsys, data_dir, "encrypt", "--user-id", "dr-a")
    assert code == 0, err
    (recovery,) = CODE.findall(out)
    assert "shown only now" in out and "now encrypted" in out
    assert CODE.findall(err) == []
    assert not encryption.needs_finishing(data_dir)

    code, _, err = run(monkeypatch, capsys, data_dir, "encrypt", "--user-id", "dr-a")
    assert code == 1 and "already encrypted" in err

    memory_keyring.secrets.clear()
    code, out, err = run(monkeypatch, capsys, data_dir, "cases", "list")
    assert code == 1 and "recovery code" in err and "unlock" in err

    code, out, err = run(monkeypatch, capsys, data_dir, "unlock", stdin="AAAAA-BBBBB\n")
    assert code == 1 and "not a valid recovery code" in err
    code, out, err = run(monkeypatch, capsys, data_dir, "unlock", stdin=recovery + "\n")
    assert code == 0 and "keychain again" in out, err
    code, out, err = run(monkeypatch, capsys, data_dir, "cases", "list")
    assert code == 0 and "Asha Verma" in out, err


def test_encrypt_without_a_keychain_is_refused_and_changes_nothing(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        data_dir: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    code, out, err = run(monkeypatch, capsys, data_dir, "encrypt", "--user-id", "dr-a")
    assert code == 1 and "no system keychain" in err and "Nothing was changed" in err
    assert CODE.findall(out + err) == []
    assert encryption.read_state(data_dir) is None


def test_restore_of_an_encrypted_backup_elsewhere_reads_the_code_from_stdin(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], data_dir: Path,
        tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    run(monkeypatch, capsys, data_dir, "cases", "create", "--user-id", "dr-a", "--name",
        "Bela Rao", "--age", "30", "--gender", "female")
    _, out, _ = run(monkeypatch, capsys, data_dir, "encrypt", "--user-id", "dr-a")
    (recovery,) = CODE.findall(out)
    archive = tmp_path / "backup.zip"
    code, _, err = run(monkeypatch, capsys, data_dir, "backup", str(archive), "--user-id",
                       "dr-a")
    assert code == 0, err
    memory_keyring.secrets.clear()

    elsewhere = tmp_path / "elsewhere"
    code, _, err = run(monkeypatch, capsys, elsewhere, "restore", str(archive), "--user-id",
                       "dr-b")
    assert code == 1 and "--recovery-code" in err
    code, out, err = run(monkeypatch, capsys, elsewhere, "restore", str(archive),
                         "--user-id", "dr-b", "--recovery-code", stdin=recovery + "\n")
    assert code == 0, err
    code, out, err = run(monkeypatch, capsys, elsewhere, "cases", "list")
    assert code == 0 and "Bela Rao" in out, err
