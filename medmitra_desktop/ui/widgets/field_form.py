"""A form whose rows each carry an inline message for the service's validation errors."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from .clinical_colors import ClinicalColors


class FieldForm(QFormLayout):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.messages: dict[str, QLabel] = {}

    def add_field(self, field: str, label: str, widget: QWidget, *,
                  focus: QWidget | None = None, note: QWidget | None = None) -> QLabel:
        """A row for `widget` with a hidden message under it; `label` may hold a &mnemonic
        that moves the focus to `focus` (default: the widget). `note` goes between the
        widget and the message (a hint or a status line)."""
        message = QLabel()
        message.setObjectName("fieldError")
        message.setWordWrap(True)
        message.hide()
        self.messages[field] = message
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(widget)
        if note is not None:
            column.addWidget(note)
        column.addWidget(message)
        self.addRow(label, column)
        buddy = self.labelForField(column)
        if isinstance(buddy, QLabel):
            buddy.setBuddy(focus or widget)
        return message

    def show_errors(self, by_field: dict[str, str], palette_owner: QWidget) -> list[str]:
        """Show each message under its field; returns the messages no field here owns."""
        colour = ClinicalColors.from_palette(palette_owner.palette()).critical_fg.name()
        for field, label in self.messages.items():
            text = by_field.get(field)
            label.setStyleSheet(f"color: {colour};")
            label.setText(text or "")
            label.setVisible(bool(text))
        return [f"{field}: {text}" for field, text in by_field.items()
                if field not in self.messages]
