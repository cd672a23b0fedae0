from __future__ import annotations

import logging
import sys

import pytest
from PySide6.QtWidgets import QMessageBox

from medmitra_desktop.ui import gui


def test_unexpected_error_shows_a_dialog_and_logs_no_patient_text(
        qtbot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    shown: list[QMessageBox] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box) or 0)
    previous = sys.excepthook
    gui._install_crash_handler()
    try:
        patient = "Asha Verma"  # as in real code: patient data arrives in variables
        try:
            raise ValueError(f"patient {patient} has an invalid value")
        except ValueError as error:
            with caplog.at_level(logging.INFO):
                sys.excepthook(type(error), error, error.__traceback__)
    finally:
        sys.excepthook = previous
    assert len(shown) == 1
    box = shown[0]
    assert "Your data is safe" in box.text()
    assert "ValueError" in box.detailedText()
    logged = [record for record in caplog.records if record.levelno >= logging.INFO]
    assert logged and all("Asha" not in record.getMessage() for record in logged)
    assert any("ValueError" in record.getMessage() for record in logged)
