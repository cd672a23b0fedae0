"""Asking before something a doctor may regret: No is the default answer."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from ... import APP_NAME


def ask_yes_no(parent: QWidget | None, question: str) -> bool:
    """True only when the doctor chooses Yes (Enter and Esc both keep No)."""
    answer = QMessageBox.question(
        parent, APP_NAME, question,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes
