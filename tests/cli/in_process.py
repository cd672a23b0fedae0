"""Headless commands run in this process, so they meet the tests' in-memory keychain (a
subprocess on this headless machine would meet keyring's "no backend")."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from medmitra_desktop.__main__ import main


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], data_dir: Path,
        *args: str, stdin: str = "") -> tuple[int, str, str]:
    """`medmitra-desktop --data-dir DATA_DIR ARGS...` with `stdin`: (status, out, err)."""
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["--data-dir", str(data_dir), *args])
    out, err = capsys.readouterr()
    return code, out, err
