"""A case's sync line in its header (state and reason, and Resolve conflict… in a
conflict), and
the dialog in which the doctor resolves a conflict field by field.

A conflict is a field changed both on this computer and on the server since they last
agreed. Nothing is chosen for the doctor: every field starts with neither value
selected, and OK stays disabled until each has one.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ...domain.enums import SyncState
from ...domain.errors import MedMitraError, ValidationError
from ...domain.records import CaseRecord
from ...services.cases import CaseService
from ..widgets.clinical_colors import ClinicalColors
from ..widgets.sync_state import ICON_SIZE, sync_explanation, sync_icon, sync_word

FIELD_LABELS = {
    "patient_name": "Patient name",
    "patient_age": "Age",
    "patient_gender": "Gender",
    "case_summary": "Notes",
}
SIDES = (("local", "This computer"), ("remote", "Server"))
INLINE_LIMIT = 60  # longer values (notes) go under their choice, wrapped
HERE = ("Changed here and on the server since the last sync: choose Resolve conflict… to "
        "pick the values to keep.")


def shown_value(name: str, value: object) -> str:
    """A field's value as the doctor reads it."""
    if value is None or value == "":
        return "(empty)"
    if name == "patient_gender":
        return str(value).capitalize()
    return str(value)


class ConflictDialog(QDialog):
    """One group per conflicting field with "This computer: …" and "Server: …"."""

    def __init__(self, cases: CaseService, user_id: str, record: CaseRecord,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Resolve sync conflict – {record.patient_name}")
        self._cases = cases
        self._user_id = user_id
        self._case_id = record.case_id
        self.saved: CaseRecord | None = None
        self.groups: dict[str, QButtonGroup] = {}
        self.choices: dict[str, dict[str, QRadioButton]] = {}
        conflict = record.sync_conflict or {}

        intro = QLabel(
            "These details were changed on this computer and on the MedMitra server since "
            "they last agreed. For each one, choose the value to keep; it is then the same "
            "in both places.")
        intro.setWordWrap(True)
        fields = QWidget()
        column = QVBoxLayout(fields)
        column.setContentsMargins(0, 0, 0, 0)
        for name in sorted(conflict, key=_field_order):
            column.addWidget(self._field_group(name, conflict[name]))
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(fields)

        self.message = QLabel()
        self.message.setObjectName("conflictMessage")
        self.message.setWordWrap(True)
        self.message.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("&Keep the chosen values")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._update_ok()
        # As tall as the choices (up to a limit, then they scroll), no empty band.
        scroll.setMinimumHeight(min(460, fields.sizeHint().height()))
        self.resize(560, self.sizeHint().height())

    def _field_group(self, name: str, sides: dict[str, object]) -> QGroupBox:
        label = FIELD_LABELS.get(name, name.replace("_", " ").capitalize())
        box = QGroupBox(label)
        box.setAccessibleName(f"{label}: choose the value to keep")
        group = QButtonGroup(box)
        group.setExclusive(True)
        rows = QVBoxLayout(box)
        self.groups[name] = group
        self.choices[name] = {}
        for side, where in SIDES:
            value = shown_value(name, sides.get(side))
            inline = "\n" not in value and len(value) <= INLINE_LIMIT
            # "&" would become a mnemonic in a button's text.
            button = QRadioButton(f"{where}: {value.replace('&', '&&')}" if inline
                                  else f"{where}:")
            button.setAccessibleName(f"Keep {where.lower()}'s {label.lower()}: {value}")
            group.addButton(button)
            self.choices[name][side] = button
            button.toggled.connect(self._update_ok)
            rows.addWidget(button)
            if not inline:
                text = QLabel(value)
                text.setTextFormat(Qt.TextFormat.PlainText)
                text.setWordWrap(True)
                text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                text.setContentsMargins(24, 0, 0, 4)  # under the radio's own text
                text.setAccessibleName(f"{where}'s {label.lower()}")
                rows.addWidget(text)
        return box

    def chosen(self) -> dict[str, str]:
        """{field: "local" | "remote"} for the fields chosen so far."""
        return {name: side for name, buttons in self.choices.items()
                for side, button in buttons.items() if button.isChecked()}

    def _update_ok(self) -> None:
        left = len(self.choices) - len(self.chosen())
        self.ok_button.setEnabled(left == 0)
        self.ok_button.setToolTip("" if left == 0 else
                                  f"Choose a value for {left} more detail"
                                  f"{'s' if left != 1 else ''}")

    def save(self) -> None:
        if len(self.chosen()) != len(self.choices):
            return
        try:
            self.saved = self._cases.resolve_conflict(self._case_id, user_id=self._user_id,
                                                      choices=self.chosen())
        except ValidationError:
            # Another sync round changed the conflict while the dialog was open.
            self._show_message("The server's values changed while this was open. Close "
                               "this, and choose Resolve conflict… again to see them.")
            return
        except MedMitraError as error:
            self._show_message(str(error))
            return
        self.accept()

    def _show_message(self, text: str) -> None:
        colour = ClinicalColors.from_palette(self.palette()).critical_fg.name()
        self.message.setStyleSheet(f"color: {colour};")
        self.message.setText(text)
        self.message.show()


class SyncLine(QWidget):
    """The sync state of the case shown, with its reason; "Resolve conflict…" then.
    Hidden for cases kept on this computer only while sync is not set up."""

    resolved = Signal(str)  # case id: the conflict is resolved, sync it

    def __init__(self, cases: CaseService, user_id: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cases = cases
        self._user_id = user_id
        self._record: CaseRecord | None = None
        self.icon = QLabel()
        self.icon.setFixedSize(ICON_SIZE, ICON_SIZE)
        self.label = QLabel()
        self.label.setAccessibleName("Sync state")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        # Alt+T: the header's, the Summary tab's and the menus' letters are taken (T is
        # used only on the Documents and Patient tabs).
        self.resolve_button = QPushButton("Resolve conflic&t…")
        self.resolve_button.setAccessibleName("Resolve the sync conflict")
        self.resolve_button.setToolTip("Choose, detail by detail, the values to keep")
        self.resolve_button.clicked.connect(self.resolve)
        self.resolve_button.hide()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.label, 1)
        row.addWidget(self.resolve_button, 0, Qt.AlignmentFlag.AlignVCenter)

    def set_user_id(self, user_id: str) -> None:
        self._user_id = user_id

    def show_case(self, record: CaseRecord, colors: ClinicalColors) -> None:
        self._record = record
        state = record.sync_state
        # A clinic that never syncs sees no sync line at all.
        self.setVisible(state is not SyncState.LOCAL)
        word = html.escape(sync_word(state))
        reason = html.escape(HERE if state is SyncState.CONFLICT
                             else sync_explanation(state, record.sync_error))
        if state is SyncState.CONFLICT:
            word = f"<span style='color:{colors.abnormal_fg.name()}'><b>{word}</b></span>"
        elif state is SyncState.ERROR:
            word = f"<span style='color:{colors.critical_fg.name()}'><b>{word}</b></span>"
        else:
            word = f"<b>{word}</b>"
        self.label.setText(f"{word} <span style='color:{colors.muted_fg.name()}'>· "
                           f"{reason}</span>")
        self.label.setAccessibleDescription(f"{sync_word(state)}. {html.unescape(reason)}")
        self.icon.setPixmap(sync_icon(state, colors.dark).pixmap(ICON_SIZE, ICON_SIZE))
        self.resolve_button.setVisible(state is SyncState.CONFLICT
                                       and bool(record.sync_conflict))

    def resolve(self) -> None:
        record = self._record
        if record is None or not record.sync_conflict:
            return
        dialog = ConflictDialog(self._cases, self._user_id, record, self)
        if self.run_dialog(dialog) and dialog.saved is not None:
            self.resolved.emit(record.case_id)

    def run_dialog(self, dialog: ConflictDialog) -> bool:
        """Modal; a test replaces this to drive the dialog itself."""
        return bool(dialog.exec())


def _field_order(name: str) -> int:
    order = list(FIELD_LABELS)
    return order.index(name) if name in order else len(order)
