"""A form for a new case. Validation messages come from the service's rules, shown inline."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...domain.enums import DocumentCategory, Gender
from ...domain.errors import ValidationError
from ...domain.records import CaseRecord, NewAttachment
from ...services.cases import CaseService
from ..widgets.field_form import FieldForm

FILE_FILTER = "Reports (*.pdf *.png *.jpg *.jpeg *.tif *.tiff *.bmp *.txt *.csv);;All files (*)"


class _FileList(QWidget):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.paths: list[Path] = []
        self.list = QListWidget()
        self.list.setAccessibleName(title)
        self.list.setMaximumHeight(80)
        add = QPushButton("Add…")
        add.setAccessibleName(f"Add {title.lower()}")
        add.clicked.connect(self._choose)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addWidget(add)

    def add_paths(self, paths: list[Path]) -> None:
        for path in paths:
            if path not in self.paths:
                self.paths.append(path)
                self.list.addItem(path.name)

    def _choose(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Choose files", "", FILE_FILTER)
        self.add_paths([Path(name) for name in names])


class NewCaseDialog(QDialog):
    def __init__(self, service: CaseService, user_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New case")
        self.created: CaseRecord | None = None
        self._service = service
        self._user_id = user_id

        self.name = QLineEdit()
        self.name.setAccessibleName("Patient name")
        self.age = QLineEdit()
        self.age.setAccessibleName("Patient age")
        self.age.setPlaceholderText("years")
        self.gender = QComboBox()
        self.gender.setAccessibleName("Patient gender")
        self.gender.addItem("Choose…", "")
        for gender in Gender:
            self.gender.addItem(gender.value.capitalize(), gender.value)
        self.notes = QPlainTextEdit()
        self.notes.setAccessibleName("Doctor's notes")
        self.notes.setPlaceholderText("Presenting complaint, history, current medicines…")
        self.lab_files = _FileList("Lab reports")
        self.radiology_files = _FileList("Radiology reports")

        self.form = FieldForm()
        self.form.add_field("patient_name", "Patient &name", self.name)
        self.form.add_field("patient_age", "&Age", self.age)
        self.form.add_field("patient_gender", "&Gender", self.gender)
        self.form.add_field("case_summary", "N&otes", self.notes)
        self.form.add_field("lab_files", "&Lab reports", self.lab_files,
                            focus=self.lab_files.list)
        self.form.add_field("radiology_files", "&Radiology reports", self.radiology_files,
                            focus=self.radiology_files.list)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(buttons)
        self.resize(520, 520)

    def show_errors(self, by_field: dict[str, str]) -> None:
        self.form.show_errors(by_field, self)

    def save(self) -> None:
        try:
            self.created = self._service.create_case(
                user_id=self._user_id,
                patient_name=self.name.text(),
                patient_age=self.age.text(),
                patient_gender=self.gender.currentData(),
                case_summary=self.notes.toPlainText(),
                lab_files=[NewAttachment(p, DocumentCategory.LAB) for p in self.lab_files.paths],
                radiology_files=[NewAttachment(p, DocumentCategory.RADIOLOGY)
                                 for p in self.radiology_files.paths],
            )
        except ValidationError as error:
            self.show_errors(error.by_field())
            return
        self.accept()
