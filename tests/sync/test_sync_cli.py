"""`medmitra-desktop sync ...` headless, in-process (the stand-in keychain lives in this
process; a subprocess on this headless machine would meet keyring's "no backend")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.in_process import run
from tests.factories import LAB_LINES, text_pdf
from tests.sync.reference_server import ReferenceServer

USER = "dr-cli"


def test_sign_in_sync_now_status_and_sign_out(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], data_dir: Path,
        reference_server: ReferenceServer, tmp_path: Path) -> None:
    pdf = text_pdf(tmp_path / "cbc.pdf", LAB_LINES)
    code, _, err = run(monkeypatch, capsys, data_dir, "cases", "create", "--user", USER,
                       "--name", "Farah Khan", "--age", "37", "--gender", "female",
                       "--lab", str(pdf))
    assert code == 0, err
    code, _, err = run(monkeypatch, capsys, data_dir, "sync", "now")
    assert code == 1 and "sign in first" in err

    code, out, err = run(monkeypatch, capsys, data_dir, "sync", "sign-in", "--server",
                         reference_server.base_url, "--user", USER,
                         stdin=reference_server.token + "\n")
    assert code == 0, err
    assert f"Signed in as {USER}" in out and reference_server.token not in out

    code, out, err = run(monkeypatch, capsys, data_dir, "sync", "now", "--json")
    assert code == 0, err
    assert json.loads(out)["pushed"] >= 1
    assert [c["patient_name"] for c in reference_server.cases(USER)] == ["Farah Khan"]

    code, out, _ = run(monkeypatch, capsys, data_dir, "sync", "status", "--json")
    status = json.loads(out)
    assert status["changes_waiting"] == 0 and status["cases"] == {"synced": 1}

    code, out, _ = run(monkeypatch, capsys, data_dir, "sync", "sign-out")
    assert code == 0 and "Signed out" in out


def test_sync_now_offline_exits_3_with_the_reason(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], data_dir: Path,
        reference_server: ReferenceServer) -> None:
    run(monkeypatch, capsys, data_dir, "sync", "sign-in", "--server",
        reference_server.base_url, "--user", USER, stdin=reference_server.token)
    reference_server.faults.add("GET", "/cases/all_cases", "drop_before", times=3)
    code, _, err = run(monkeypatch, capsys, data_dir, "sync", "now")
    assert code == 3
    assert "dropped the connection" in err
