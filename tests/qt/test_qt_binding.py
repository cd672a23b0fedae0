"""The Qt binding itself must not corrupt the interpreter.

PySide6 6.12.0 on Python 3.11 dropped a reference to None on every Qt call returning
void, so a long session died with "Fatal Python error: none_dealloc". This guards upgrades.
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel


def test_void_qt_calls_keep_none_alive(qtbot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(20_000):
        label.setEnabled(True)
    # Other threads may hold or drop a few references meanwhile; a leak is one per call.
    assert sys.getrefcount(None) >= before - 100
