"""Edit a case's patient details and notes; the service's validation messages show inline."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from ...domain.enums import Gender
from ...domain.errors import ConflictError, MedMitraError, ValidationError
from ...domain.records import CaseRecord
from ...services.cases import CaseService
from ..widgets.clinical_colors import ClinicalColors
from ..widgets.field_form import FieldForm


class CaseEditDialog(QDialog):
    def __init__(self, service: CaseService, user_id: str, case: CaseRecord,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Edit case: {case.patient_name}")
        self.saved: CaseRecord | None = None
        self._service = service
        self._user_id = user_id
        self._case = case

        self.name = QLineEdit(case.patient_name)
        self.name.setAccessibleName("Patient name")
        self.age = QLineEdit(str(case.patient_age))
        self.age.setAccessibleName("Patient age")
        self.age.setPlaceholderText("years")
        self.gender = QComboBox()
        self.gender.setAccessibleName("Patient gender")
        for gender in Gender:
            self.gender.addItem(gender.value.capitalize(), gender.value)
        self.gender.setCurrentIndex(self.gender.findData(case.patient_gender.value))
        self.record_number = QLineEdit(case.patient_record_number or "")
        self.record_number.setAccessibleName("Patient record number")
        self.record_number.setPlaceholderText("the clinic's own number (optional)")
        self.notes = QPlainTextEdit(case.case_summary)
        self.notes.setAccessibleName("Doctor's notes")
        self.notes.setTabChangesFocus(True)

        self.form = FieldForm()
        self.form.add_field("patient_name", "Patient &name", self.name)
        self.form.add_field("patient_age", "&Age", self.age)
        self.form.add_field("patient_gender", "&Gender", self.gender)
        self.form.add_field("patient_record_number", "&Record number", self.record_number)
        self.form.add_field("case_summary", "N&otes", self.notes)

        self.general_message = QLabel()
        self.general_message.setWordWrap(True)
        self.general_message.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.general_message)
        layout.addLayout(self.form, 1)
        layout.addWidget(buttons)
        self.resize(520, 460)

    @property
    def messages(self) -> dict[str, QLabel]:
        return self.form.messages

    def changes(self) -> dict[str, object]:
        return {
            "patient_name": self.name.text(),
            "patient_age": self.age.text(),
            "patient_gender": self.gender.currentData(),
            "patient_record_number": self.record_number.text(),
            "case_summary": self.notes.toPlainText(),
        }

    def save(self) -> None:
        try:
            self.saved = self._service.update_case(
                self._case.case_id, user_id=self._user_id, changes=self.changes(),
                expected_version=self._case.version)
        except ValidationError as error:
            self._show_general(self.form.show_errors(error.by_field(), self))
            return
        except ConflictError as error:
            self.form.show_errors({}, self)
            self._show_general([str(error)])
            return
        except MedMitraError as error:
            self._show_general([str(error)])
            return
        self.accept()

    def _show_general(self, lines: list[str]) -> None:
        colour = ClinicalColors.from_palette(self.palette()).critical_fg.name()
        self.general_message.setStyleSheet(f"color: {colour};")
        self.general_message.setText("\n".join(lines))
        self.general_message.setVisible(bool(lines))
