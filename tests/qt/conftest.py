"""Pieces several Qt test files share."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

# The reference MedMitra server (one uvicorn per run) for the window's sync tests.
from tests.sync.conftest import _reference_server_process, reference_server  # noqa: F401


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """Window settings in a file of the test's own, never the user's."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
