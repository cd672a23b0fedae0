"""The doctor's review of one medication: state, reason, date of change, corrected fields."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ...domain.errors import MedMitraError, ValidationError
from ...services.case_results import REVIEW_STATES, CaseResultsService, MedicationView
from ..models.detail_models import STATE_MEANING, STATE_WORDS
from ..widgets.clinical_colors import ClinicalColors
from ..widgets.field_form import FieldForm

EDITABLE_FIELDS = ("dose", "route", "frequency", "duration")
STATE_CHOICES = {
    "verified": "Verified: the patient takes it as written",
    "changed": "Changed: dose, route, frequency or duration is different",
    "stopped": "Stopped: no longer taken (or held)",
    "unverified": "Unverified: not confirmed for this case",
    "flagged": "Flagged: needs checking",
}


class MedicationReviewDialog(QDialog):
    def __init__(self, service: CaseResultsService, user_id: str, case_id: str,
                 medication: MedicationView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Review medication: {medication.name}")
        self.reviewed: MedicationView | None = None
        self._service = service
        self._user_id = user_id
        self._case_id = case_id
        self._medication = medication
        details = medication.review_details

        self.state = QComboBox()
        self.state.setAccessibleName("Review state")
        for state in REVIEW_STATES:
            self.state.addItem(STATE_CHOICES.get(state, STATE_WORDS[state]), state)
            self.state.setItemData(self.state.count() - 1, STATE_MEANING[state],
                                   Qt.ItemDataRole.ToolTipRole)
        self.state.setCurrentIndex(max(0, self.state.findData(medication.review_state)))
        self.reason = QLineEdit(str(details.get("reason") or ""))
        self.reason.setAccessibleName("Reason")
        self.reason.setPlaceholderText("why it was stopped, changed or flagged")
        self.change_date = QLineEdit(str(details.get("change_date") or ""))
        self.change_date.setAccessibleName("Date of change")
        self.change_date.setPlaceholderText("YYYY-MM-DD (optional)")
        self.fields: dict[str, QLineEdit] = {}
        for name in EDITABLE_FIELDS:
            edit = QLineEdit(getattr(medication, name) or "")
            edit.setAccessibleName(name.capitalize())
            edit.textEdited.connect(self._field_edited)
            self.fields[name] = edit

        self.form = FieldForm()
        self.form.add_field("state", "&State", self.state)
        self.form.add_field("reason", "&Reason", self.reason)
        self.form.add_field("change_date", "Date of &change", self.change_date)
        self.form.add_field("dose", "&Dose", self.fields["dose"])
        self.form.add_field("route", "R&oute", self.fields["route"])
        self.form.add_field("frequency", "&Frequency", self.fields["frequency"])
        self.form.add_field("duration", "D&uration", self.fields["duration"])

        title = QLabel(" ".join(part for part in (medication.name, medication.dose,
                                                  medication.route, medication.frequency)
                                if part))
        font = title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        title.setFont(font)
        title.setTextFormat(Qt.TextFormat.PlainText)
        source = QLabel(f"As written: “{medication.source_text}”" if medication.source_text
                        else "From the patient's earlier case.")
        source.setTextFormat(Qt.TextFormat.PlainText)
        source.setWordWrap(True)
        self.general_message = QLabel()
        self.general_message.setWordWrap(True)
        self.general_message.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(source)
        layout.addWidget(self.general_message)
        layout.addLayout(self.form)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.resize(560, self.sizeHint().height())

    @property
    def messages(self) -> dict[str, QLabel]:
        return self.form.messages

    def select_state(self, state: str) -> None:
        self.state.setCurrentIndex(self.state.findData(state))

    def changes(self) -> dict[str, str | None]:
        """Only the fields the doctor changed (an emptied field becomes None)."""
        edited: dict[str, str | None] = {}
        for name, edit in self.fields.items():
            value = edit.text().strip() or None
            if value != getattr(self._medication, name):
                edited[name] = value
        return edited

    def save(self) -> None:
        change_date = self.change_date.text().strip() or None
        if change_date is not None and not _is_iso_date(change_date):
            self._show({"change_date": "must be a date written as YYYY-MM-DD, e.g. 2025-01-31"})
            return
        try:
            self.reviewed = self._service.review_medication(
                self._case_id, self._medication.id, user_id=self._user_id,
                state=str(self.state.currentData()), reason=self.reason.text().strip() or None,
                change_date=change_date, changes=self.changes())
        except ValidationError as error:
            self._show(error.by_field())
            return
        except MedMitraError as error:
            self._show({"": str(error)})
            return
        self.accept()

    def _show(self, by_field: dict[str, str]) -> None:
        unplaced = self.form.show_errors(by_field, self)
        colour = ClinicalColors.from_palette(self.palette()).critical_fg.name()
        self.general_message.setStyleSheet(f"color: {colour};")
        self.general_message.setText("\n".join(line.lstrip(": ") for line in unplaced))
        self.general_message.setVisible(bool(unplaced))

    def _field_edited(self) -> None:
        # Editing dose, route, frequency or duration is a change unless the doctor says
        # otherwise (stopped or flagged stay as chosen).
        if self.state.currentData() in ("verified", "unverified") and self.changes():
            self.select_state("changed")


def _is_iso_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10
