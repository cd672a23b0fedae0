"""The New case view: patient details, the doctor's notes, lab and radiology reports.

Every rule is the service's: a field is checked when it loses focus with
`domain.validation.case_field_errors` (the rule set `create_case` uses), each file the
moment it is added with `check_attachment`, and Save hands everything to
`CaseService.create_case`, whose one ValidationError is shown next to each field and each
list of files. Save returns at once: the service stores the case and its files and queues
the analysis, which runs elsewhere. Nothing typed or attached is lost when saving fails.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ...domain.enums import DocumentCategory, Gender
from ...domain.errors import MedMitraError, ValidationError
from ...domain.validation import case_field_errors
from ...services.cases import CaseService
from ..widgets.attachment_list import AttachmentArea, AttachmentListModel
from ..widgets.clinical_colors import ClinicalColors
from ..widgets.field_form import FieldForm
from ..widgets.file_preview import PreviewLoader
from ..widgets.tables import heading

PATIENT_FIELDS = ("patient_name", "patient_age", "patient_gender", "patient_record_number",
                  "case_summary")
FILE_FIELDS = ("lab_files", "radiology_files")
FIELD_WORDS = {"patient_name": "patient name", "patient_age": "age", "patient_gender": "gender",
               "patient_record_number": "record number", "case_summary": "notes",
               "lab_files": "lab reports", "radiology_files": "radiology reports"}
# Messages for fields the form has no row for.
OTHER_FIELD_HINTS = {"user_id": "The doctor's user id {message}: set it in File › Settings."}


class NewCaseView(QWidget):
    case_created = Signal(str)  # the new case's id; the form is already clear for the next
    cancelled = Signal()

    def __init__(self, service: CaseService, user_id: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._user_id = user_id
        self._messages: dict[str, str] = {}
        self._edited: set[str] = set()  # fields typed in since the form was cleared
        # First child: deleted first, so it waits for previews before the lists go.
        self.loader = PreviewLoader(self)

        # ---- patient ----
        self.name = QLineEdit()
        self.name.setAccessibleName("Patient name")
        self.name.setPlaceholderText("Full name")
        self.age = QLineEdit()
        self.age.setAccessibleName("Patient age in years")
        self.age.setMaximumWidth(80)
        age_row = QWidget()
        age_layout = QHBoxLayout(age_row)
        age_layout.setContentsMargins(0, 0, 0, 0)
        age_layout.addWidget(self.age)
        age_layout.addWidget(QLabel("years"))
        age_layout.addStretch(1)
        self.gender = QComboBox()
        self.gender.setAccessibleName("Patient gender")
        self.gender.addItem("Choose…", "")
        for gender in Gender:
            self.gender.addItem(gender.value.capitalize(), gender.value)
        self.gender.setMinimumWidth(140)
        self.gender.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.record_number = QLineEdit()
        self.record_number.setAccessibleName("Clinic record number (optional)")
        self.record_number.setPlaceholderText("Optional: the clinic's patient number")
        self.notes = QPlainTextEdit()
        self.notes.setAccessibleName("Doctor's notes")
        self.notes.setPlaceholderText("Presenting complaint, history, current medicines, "
                                      "allergies…")
        self.notes.setTabChangesFocus(True)
        self.notes.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        self.form = FieldForm()
        self.form.add_field("patient_name", "Patient &name", self.name)
        self.form.add_field("patient_age", "Ag&e", age_row, focus=self.age)
        self.form.add_field("patient_gender", "&Gender", self.gender)
        self.form.add_field("patient_record_number", "&Record number", self.record_number)
        self.form.add_field("case_summary", "N&otes", self.notes)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)

        # ---- reports ----
        self.lab = AttachmentArea(
            "Lab reports", AttachmentListModel(DocumentCategory.LAB, self.loader, self))
        self.radiology = AttachmentArea(
            "Radiology reports",
            AttachmentListModel(DocumentCategory.RADIOLOGY, self.loader, self))
        self.lab.listed_elsewhere = self._listed_in(self.radiology)
        self.radiology.listed_elsewhere = self._listed_in(self.lab)
        self.files_form = FieldForm()
        # Labels beside the lists, as on the left: a form whose labels sit above its fields
        # does not give them the height they could use.
        self.files_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.files_form.add_field("lab_files", "&Lab reports", self.lab,
                                  focus=self.lab.add_button)
        self.files_form.add_field("radiology_files", "Ra&diology reports", self.radiology,
                                  focus=self.radiology.add_button)
        for form, fields in ((self.form, PATIENT_FIELDS), (self.files_form, FILE_FIELDS)):
            for field in fields:
                form.messages[field].setAccessibleName(f"Problem with {FIELD_WORDS[field]}")

        # ---- actions ----
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Save status")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.save_button = QPushButton("&Save case")
        self.save_button.setAccessibleName("Save case")
        self.save_button.setToolTip("Save the case and start its analysis (Ctrl+S)")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel new case")
        self.cancel_button.setToolTip("Leave without saving (Esc)")
        self.cancel_button.clicked.connect(self.cancel)

        title = heading("New case")
        subtitle = QLabel("Patient details, your notes and the reports. The analysis starts "
                          "when you save; you can keep working meanwhile.")
        subtitle.setWordWrap(True)
        self._subtitle = subtitle
        patient = QWidget()
        patient.setLayout(self.form)
        patient.setAccessibleName("Patient details")
        reports = QWidget()
        reports.setLayout(self.files_form)
        reports.setAccessibleName("Reports")
        self.form.setContentsMargins(0, 0, 0, 0)
        self.files_form.setContentsMargins(0, 0, 0, 0)
        columns = QHBoxLayout()
        columns.setSpacing(24)
        columns.addWidget(patient, 4)
        columns.addWidget(reports, 6)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(title)
        layout.addWidget(subtitle)
        layout.addSpacing(6)
        layout.addLayout(columns, 1)
        layout.addLayout(buttons)

        save = QAction("Save case", self)
        save.setShortcut(QKeySequence.StandardKey.Save)
        save.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        save.triggered.connect(self.save)
        cancel = QAction("Cancel new case", self)
        cancel.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        cancel.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        cancel.triggered.connect(self.cancel)
        self.addActions([save, cancel])
        self.save_action, self.cancel_action = save, cancel

        # ---- checks as the doctor goes ----
        # Only fields the doctor has typed in since the form was cleared: passing through
        # an empty field on the way to another is not a mistake.
        for line, field in ((self.name, "patient_name"), (self.age, "patient_age"),
                            (self.record_number, "patient_record_number")):
            line.textEdited.connect(lambda _text, field=field: self._edited.add(field))
            line.editingFinished.connect(lambda field=field: self._left_field(field))
        self.gender.activated.connect(lambda _index: self.check_field("patient_gender"))
        self.notes.installEventFilter(self)
        # A message goes away as soon as the field is right again.
        self.name.textChanged.connect(lambda: self._recheck_shown("patient_name"))
        self.age.textChanged.connect(lambda: self._recheck_shown("patient_age"))
        self.record_number.textChanged.connect(
            lambda: self._recheck_shown("patient_record_number"))
        self.gender.currentIndexChanged.connect(lambda: self._recheck_shown("patient_gender"))
        self.notes.textChanged.connect(lambda: self._recheck_shown("case_summary"))
        for area in (self.lab, self.radiology):
            area.rows_rebuilt.connect(self._update_tab_order)
            area.files_changed.connect(lambda area=area: self._files_changed(area))
        self._update_tab_order()
        self._apply_colors()

    # ---- public -------------------------------------------------------------------------

    @property
    def user_id(self) -> str:
        return self._user_id

    def set_user_id(self, user_id: str) -> None:
        self._user_id = user_id

    def has_input(self) -> bool:
        """Whether leaving would lose something the doctor entered."""
        texts = (self.name.text(), self.age.text(), self.record_number.text(),
                 self.notes.toPlainText())
        return (any(text.strip() for text in texts) or self.gender.currentIndex() > 0
                or self.lab.model.rowCount() > 0 or self.radiology.model.rowCount() > 0)

    def field_values(self) -> dict[str, object]:
        """The form's raw values under the service's field names."""
        return {
            "patient_name": self.name.text(),
            "patient_age": self.age.text(),
            "patient_gender": self.gender.currentData() or "",
            "patient_record_number": self.record_number.text(),
            "case_summary": self.notes.toPlainText(),
        }

    def reset(self) -> None:
        """Clear everything for the next patient."""
        self._messages = {}  # first, so clearing the fields does not check them again
        self._edited.clear()
        self.loader.forget_all()
        for line in (self.name, self.age, self.record_number):
            line.clear()
        self.gender.setCurrentIndex(0)
        self.notes.clear()
        self.notes.document().setModified(False)
        self.lab.clear()
        self.radiology.clear()
        self._messages = {}
        self._show_messages()
        self._set_status("")
        self.name.setFocus(Qt.FocusReason.OtherFocusReason)

    def save(self) -> str | None:
        """Create the case; its id, or None when something must be corrected first."""
        values = self.field_values()
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            record = self._service.create_case(
                user_id=self._user_id,
                patient_name=values["patient_name"],
                patient_age=values["patient_age"],
                patient_gender=values["patient_gender"],
                case_summary=values["case_summary"],
                patient_record_number=values["patient_record_number"],
                lab_files=self.lab.model.attachments(),
                radiology_files=self.radiology.model.attachments(),
            )
        except ValidationError as error:
            self._not_saved(error.by_field())
            return None
        except (MedMitraError, OSError) as error:
            self._set_status(f"The case was not saved: {error}. Everything you entered is "
                             "still here; try again.")
            return None
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.reset()
        self.case_created.emit(record.case_id)
        return record.case_id

    def cancel(self) -> None:
        """Leave; asks first when something was entered (then the form is cleared)."""
        if self.has_input():
            if not self._confirm_discard():
                return
            self.reset()
        self.cancelled.emit()

    def check_field(self, field: str) -> str:
        """Check one field with the service's rules and show its message; returns it."""
        errors = case_field_errors({field: self.field_values()[field]}, partial=True)
        message = errors.get(field, "")
        if message:
            self._messages[field] = message
        else:
            self._messages.pop(field, None)
        self._show_messages()
        return message

    def messages(self) -> dict[str, str]:
        """The messages shown now, by field."""
        return dict(self._messages)

    # ---- parts --------------------------------------------------------------------------

    def _not_saved(self, by_field: dict[str, str]) -> None:
        messages = dict(by_field)
        for area in (self.lab, self.radiology):
            field = area.model.field
            if field in messages:
                area.model.recheck()  # a file may have changed on disk since it was added
                messages[field] = self._files_message(area, messages[field])
                area.show_first_problem()
        self._messages = messages
        self._show_messages()
        others = [OTHER_FIELD_HINTS.get(field, "{field}: {message}").format(
                  field=field, message=message)
                  for field, message in by_field.items()
                  if field not in PATIENT_FIELDS + FILE_FIELDS]
        marked = len(by_field) - len(others)
        lines = []
        if marked:
            lines.append(f"Not saved: correct the {marked} field{'s' if marked != 1 else ''} "
                         "marked in red.")
        lines.extend(others)
        self._set_status(" ".join(lines))
        first = next((field for field in (*PATIENT_FIELDS, *FILE_FIELDS) if field in by_field),
                     None)
        focus = {"patient_name": self.name, "patient_age": self.age,
                 "patient_gender": self.gender, "patient_record_number": self.record_number,
                 "case_summary": self.notes, "lab_files": self.lab.add_button,
                 "radiology_files": self.radiology.add_button}
        if first is not None:
            focus[first].setFocus(Qt.FocusReason.OtherFocusReason)

    @staticmethod
    def _files_message(area: AttachmentArea, message: str) -> str:
        """The service's message for a list of files, or, when each of its problems is
        shown on its file already, a short pointer to them."""
        problems = area.model.problems()
        rest = message
        for problem in problems:
            rest = rest.replace(problem, "")
        if not problems or rest.strip("; "):
            return message
        count = len(problems)
        return (f"{count} file{'s are' if count != 1 else ' is'} not accepted (marked in red): "
                f"remove {'them' if count != 1 else 'it'} to save the case.")

    def _show_messages(self) -> None:
        self.form.show_errors(self._messages, self)
        self.files_form.show_errors(self._messages, self)

    def _left_field(self, field: str) -> None:
        if field in self._edited:
            self.check_field(field)

    def _recheck_shown(self, field: str) -> None:
        if field in self._messages:
            self.check_field(field)

    def _files_changed(self, area: AttachmentArea) -> None:
        # The list's message came from the last save; once no file in it has a problem,
        # it no longer applies (each remaining problem is shown on its file).
        field = area.model.field
        if field in self._messages and area.model.problem_count() == 0:
            self._messages.pop(field)
            self._show_messages()

    @staticmethod
    def _listed_in(other: AttachmentArea) -> Callable[[str], str | None]:
        def check(key: str) -> str | None:
            return other.title.lower() if key in other.model.file_keys() else None
        return check

    def _update_tab_order(self) -> None:
        chain: list[QWidget] = [self.name, self.age, self.gender, self.record_number,
                                self.notes, *self.lab.focus_chain(),
                                *self.radiology.focus_chain(), self.save_button,
                                self.cancel_button]
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)

    def _confirm_discard(self) -> bool:
        files = self.lab.model.rowCount() + self.radiology.model.rowCount()
        what = "The patient details and notes" if not files else (
            f"The patient details, notes and {files} attached file{'s' if files != 1 else ''}")
        box = QMessageBox(QMessageBox.Icon.Question, "Discard new case?",
                          f"{what} have not been saved. Discard them?",
                          QMessageBox.StandardButton.NoButton, self)
        discard = box.addButton("&Discard", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("&Keep editing", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.exec()
        return box.clickedButton() is discard

    def _set_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def _apply_colors(self) -> None:
        colors = ClinicalColors.from_palette(self.palette())
        for label, colour in ((self.status, colors.critical_fg),
                              (self._subtitle, colors.muted_fg)):
            palette = label.palette()
            palette.setColor(QPalette.ColorRole.WindowText, colour)
            label.setPalette(palette)

    # ---- events -------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (watched is self.notes and event.type() == QEvent.Type.FocusOut
                and self.notes.document().isModified()):
            self.notes.document().setModified(False)
            self.check_field("case_summary")
        return super().eventFilter(watched, event)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "status"):
            self._apply_colors()
            self._show_messages()  # the inline messages take the new palette's red
