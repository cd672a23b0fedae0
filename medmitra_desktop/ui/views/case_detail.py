"""One case in full: patient header with actions, then tabs for the summary and insights,
labs, radiology, medications and allergies, documents, and the audit history.

Everything shown is read on the GUI thread with small SQLite queries (no OCR; original
files are checked and decoded by the document viewer off the GUI thread); the analysis
itself runs in the AnalysisRunner, whose progress and end the main window forwards here
(on_job_progress / on_job_finished).

Attaching or removing a document and entering a PDF's password queue the case for
analysis and emit `reanalysis_requested` (and wake the runner when one was given). The
SOAP note may hold unsaved edits: leaving the case goes through `confirm_leave()`.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ... import APP_NAME
from ...domain.enums import CaseStatus, DocumentCategory
from ...domain.errors import MedMitraError, ValidationError
from ...domain.records import CaseRecord, NewAttachment
from ...services.audit import AuditEvent
from ...services.case_results import CaseResults, CaseResultsService
from ...services.cases import CaseService
from ...services.patient_history import PatientHistoryService
from ...services.patients import PatientService
from ...services.settings import SettingsService
from ...services.soap_notes import SoapNoteService
from ..widgets.clinical_colors import ClinicalColors
from ..widgets.confirm import ask_yes_no
from . import evidence
from .case_edit_dialog import CaseEditDialog
from .conflict_dialog import SyncLine
from .detail_documents import DocumentsTab
from .detail_summary import SummaryTab
from .detail_tabs import HistoryTab, LabsTab, MedicationsTab, RadiologyTab
from .patient_view import PatientTab
from .soap_editor import SoapEditor

if TYPE_CHECKING:
    from ...storage.filestore import FileStore
    from ..workers import AnalysisRunner

FILE_FILTER = ("Reports (*.pdf *.png *.jpg *.jpeg *.tif *.tiff *.bmp *.txt *.csv);;"
               "All files (*)")
CATEGORY_WORDS = {DocumentCategory.LAB: "lab reports",
                  DocumentCategory.RADIOLOGY: "radiology reports"}
SUMMARY_TAB, LABS_TAB, RADIOLOGY_TAB, MEDICATIONS_TAB, DOCUMENTS_TAB, HISTORY_TAB = range(6)
PATIENT_TAB = 6  # present when the view is given the patient services


class CaseDetailView(QWidget):
    back_requested = Signal()
    case_changed = Signal(str)  # edited or reviewed: lists showing it should refresh
    case_deleted = Signal(str)  # moved to the trash
    reanalysis_requested = Signal(str)  # queued: the runner should wake
    sync_requested = Signal(str)  # a sync conflict was resolved: sync the case now

    def __init__(self, cases: CaseService, results: CaseResultsService, user_id: str,
                 parent: QWidget | None = None, *, files: FileStore | None = None,
                 soap_notes: SoapNoteService | None = None,
                 settings: SettingsService | None = None,
                 runner: AnalysisRunner | None = None,
                 patients: PatientService | None = None,
                 history: PatientHistoryService | None = None) -> None:
        """Without `files` the Documents tab shows no original files; without
        `soap_notes` and `settings` the SOAP note is read-only; without `runner` a PDF
        password cannot be handed to the analysis; without `patients` and `history`
        there is no Patient tab."""
        super().__init__(parent)
        self._cases = cases
        self._results = results
        self._user_id = user_id
        self._runner = runner
        self._case: CaseRecord | None = None
        self._case_results: CaseResults | None = None
        self._history: list[AuditEvent] = []
        self._progress: tuple[float, str] | None = None
        self._last_error = ""
        self._notes_changed = False
        self.colors = ClinicalColors.from_palette(self.palette())

        # ---- header ----
        self.back_button = QPushButton("← &Back")
        self.back_button.setAccessibleName("Back to the case list")
        self.back_button.setToolTip("Back to the case list (Esc, Alt+Left)")
        self.back_button.clicked.connect(self.go_back)
        self.patient_label = QLabel()
        self.patient_label.setAccessibleName("Patient")
        self.patient_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.patient_label.setTextFormat(Qt.TextFormat.PlainText)
        # A right-to-left name would otherwise be aligned by its own direction, away from
        # the rest of the header.
        self.patient_label.setAlignment(Qt.AlignmentFlag.AlignLeft
                                        | Qt.AlignmentFlag.AlignAbsolute
                                        | Qt.AlignmentFlag.AlignVCenter)
        font = self.patient_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.patient_label.setFont(font)
        self.details_label = QLabel()
        self.details_label.setAccessibleName("Case details")
        self.details_label.setWordWrap(True)
        self.status_label = QLabel()
        self.status_label.setAccessibleName("Case status")
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Analysis progress")
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(200)
        self.progress.hide()
        self.edit_button = QPushButton("&Edit…")
        self.edit_button.setAccessibleName("Edit patient details and notes")
        self.edit_button.clicked.connect(self.edit_case)
        self.reanalyse_button = QPushButton("&Re-analyse")
        self.reanalyse_button.setAccessibleName("Re-analyse this case")
        self.reanalyse_button.setToolTip("Analyse all of this case's documents and notes again")
        self.reanalyse_button.clicked.connect(self.reanalyse)
        self.delete_button = QPushButton("&Delete…")
        self.delete_button.setAccessibleName("Move this case to the trash")
        self.delete_button.setToolTip("Move this case to the trash (it can be restored)")
        self.delete_button.clicked.connect(self.delete_case)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setAccessibleName("Notice")
        self.banner.hide()
        self.sync_line = SyncLine(cases, user_id)
        self.sync_line.resolved.connect(self._after_resolve)

        names = QVBoxLayout()
        names.setSpacing(2)
        names.addWidget(self.patient_label)
        names.addWidget(self.details_label)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_label)
        status_row.addWidget(self.progress)
        status_row.addStretch(1)
        names.addLayout(status_row)
        names.addWidget(self.sync_line)
        header = QHBoxLayout()
        header.addWidget(self.back_button, 0, Qt.AlignmentFlag.AlignTop)
        header.addSpacing(8)
        header.addLayout(names, 1)
        for button in (self.edit_button, self.reanalyse_button, self.delete_button):
            header.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)

        # ---- tabs ----
        self.soap_editor = SoapEditor(soap_notes, settings, user_id, self.colors)
        self.soap_editor.changed.connect(self._show_history)
        self.summary = SummaryTab(self.colors, self.soap_editor)
        self.labs = LabsTab(self.colors)
        self.radiology = RadiologyTab(self.colors)
        self.medications = MedicationsTab(self.colors, results, user_id)
        self.documents = DocumentsTab(self.colors, results, files)
        self.documents.attach_requested.connect(
            lambda category: self.attach_files(DocumentCategory(category)))
        self.documents.remove_requested.connect(self.remove_document)
        self.documents.password_requested.connect(self.enter_password)
        self.history = HistoryTab(self.colors)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Case sections")
        for widget, title in ((self.summary, "&Summary"), (self.labs, "&Labs"),
                              (self.radiology, "Radi&ology"),
                              (self.medications, "&Medications && allergies"),
                              (self.documents, "Do&cuments"), (self.history, "&History")):
            self.tabs.addTab(widget, title)
        self.patient: PatientTab | None = None
        if patients is not None and history is not None:
            self.patient = PatientTab(patients, history, user_id, self.colors)
            self.patient.open_case_requested.connect(self.open_case)
            self.patient.changed.connect(self._show_history)  # the audit rows it left
            self.tabs.addTab(self.patient, "&Patient")
        for tab in (self.summary, self.labs, self.radiology, self.soap_editor):
            tab.link_activated.connect(self.open_link)
        self.medications.reviewed.connect(self._after_review)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addLayout(header)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)

        back = QAction("Back to the case list", self)
        back.setShortcuts([QKeySequence(Qt.Key.Key_Escape),
                           QKeySequence(QKeySequence.StandardKey.Back)])
        back.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        back.triggered.connect(self.go_back)
        self.addAction(back)
        self.back_action = back

    # ---- what is shown ------------------------------------------------------------------

    @property
    def case_id(self) -> str | None:
        return self._case.case_id if self._case else None

    @property
    def case(self) -> CaseRecord | None:
        return self._case

    def open_case(self, case_id: str) -> bool:
        """Show a case from its Summary tab; the opening is recorded in the audit log.
        False when it could not be read, or the doctor chose to stay with unsaved edits
        of the case shown."""
        if self._case is not None and self._case.case_id != case_id \
                and not self.confirm_leave():
            return False
        try:
            record = self._cases.get_case(case_id, user_id=self._user_id)
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            return False
        self._progress = None
        self._last_error = ""
        self._notes_changed = False
        self._show(record)
        self.tabs.setCurrentIndex(SUMMARY_TAB)
        return True

    def refresh(self) -> None:
        """Read the shown case again (after analysis, an edit or a review)."""
        if self._case is None:
            return
        try:
            record = self._cases.get_case(self._case.case_id)
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            self.back_requested.emit()
            return
        self._show(record)

    def has_unsaved_changes(self) -> bool:
        """True while the SOAP note holds edits that are not saved."""
        return self._case is not None and self.soap_editor.has_unsaved_changes()

    def confirm_leave(self) -> bool:
        """Call before this case leaves the screen (another case, the list, quitting).
        With unsaved edits the doctor saves, discards or cancels: False means stay."""
        if not self.has_unsaved_changes():
            return True
        self.tabs.setCurrentIndex(SUMMARY_TAB)
        return self.soap_editor.resolve_unsaved()

    def go_back(self) -> None:
        """Back to the list (Back, Esc, Alt+Left), once unsaved edits are dealt with."""
        if self.confirm_leave():
            self.back_requested.emit()

    def on_job_progress(self, case_id: str, fraction: float, message: str) -> None:
        if case_id != self.case_id:
            return
        self._progress = (fraction, message)
        self._show_status()

    def on_job_finished(self, case_id: str, status: str, error: str) -> None:
        if case_id != self.case_id:
            return
        self._progress = None
        self._last_error = error if status == CaseStatus.FAILED.value else ""
        self._notes_changed = False
        self.refresh()

    def open_link(self, href: str) -> None:
        """Follow an evidence link: the Documents tab at that document and page."""
        link = evidence.parse_href(href)
        if link is None:
            return
        if self.documents.show_document(link.document_id, link.page or 1):
            self.tabs.setCurrentIndex(DOCUMENTS_TAB)
            self.documents.text.setFocus(Qt.FocusReason.OtherFocusReason)

    def _show(self, record: CaseRecord) -> None:
        """Read the case's results and history, then show everything."""
        self._case = record
        self._case_results = self._results.results(record.case_id)
        self._history = self._cases.history(record.case_id)
        self._render()
        if self.patient is not None:
            self.patient.set_case(record.case_id)  # read when its tab is shown
        insight = self._case_results.latest_insight()
        self.soap_editor.show_case(record.case_id, record.documents,
                                   (insight.payload if insight else {}).get("soap"))

    def _render(self) -> None:
        """Show what was last read (again after a palette change: rich text keeps the
        colours it was made with)."""
        record, results = self._case, self._case_results
        if record is None or results is None:
            return
        insight = results.latest_insight()
        payload: dict[str, Any] = insight.payload if insight else {}
        state_note = self._state_note(record, bool(payload))
        documents = record.documents
        self._show_header(record)
        self.summary.show_results(documents, record.case_summary, payload, state_note)
        self.summary.show_remote(results.latest_insight("remote"))
        self.labs.show_labs(results.labs, payload.get("derived") or (), documents,
                            state_note if not results.labs else "")
        self.radiology.show_reports(payload.get("radiology_reports") or (), results.findings,
                                    documents, state_note if not payload else "")
        self.medications.show_medications(record.case_id, results.medications,
                                          results.allergies,
                                          state_note if not results.medications else "")
        self.documents.show_documents(record.case_id, documents)
        self.history.show_events(self._history)

    def _state_note(self, record: CaseRecord, has_results: bool) -> str:
        if record.status is CaseStatus.PROCESSING:
            return ("Re-analysis is running: these are the previous results until it finishes."
                    if has_results else
                    "Analysis is running: results appear here when it finishes.")
        if record.status is CaseStatus.FAILED and not has_results:
            return "Analysis failed, so there are no results. " + self._failure_text()
        if not has_results:
            return "No results: this case has no documents or notes to analyse."
        return ""

    def _failure_text(self) -> str:
        if self._last_error:
            return self._last_error
        return ("See each document's problem in the Documents tab, then choose Re-analyse.")

    # ---- header -------------------------------------------------------------------------

    def _show_header(self, record: CaseRecord) -> None:
        self.patient_label.setText(record.patient_name)
        parts = [f"{record.patient_age} y", record.patient_gender.value.capitalize()]
        if record.patient_record_number:
            parts.append(f"Record no. {html.escape(record.patient_record_number)}")
        parts.append(f"{len(record.documents)} document"
                     f"{'s' if len(record.documents) != 1 else ''}")
        parts.append(f"Created {_when(record.created_at)}")
        parts.append(f"Updated {_when(record.updated_at)}")
        self.details_label.setText(" · ".join(parts))
        self._show_status()
        self.sync_line.show_case(record, self.colors)
        if self._notes_changed:
            self._show_banner("The notes changed after the last analysis: choose Re-analyse "
                              "to include them in the summary and SOAP draft.")
        else:
            self.banner.hide()

    def _show_status(self) -> None:
        record = self._case
        if record is None:
            return
        colors = self.colors
        if record.status is CaseStatus.PROCESSING:
            fraction, message = self._progress or (None, "")
            text = "<b>Analysing…</b>" if fraction is None else \
                f"<b>Analysing… {fraction:.0%}</b>"
            if message:
                text += f" <span style='color:{colors.muted_fg.name()}'>" \
                        f"{html.escape(message)}</span>"
            self.progress.setVisible(fraction is not None)
            if fraction is not None:
                self.progress.setValue(round(fraction * 100))
        elif record.status is CaseStatus.FAILED:
            text = (f"<span style='color:{colors.critical_fg.name()}'><b>Analysis failed</b>"
                    f"</span>: {html.escape(self._failure_text())}")
            self.progress.hide()
        else:
            text = "<b>Analysis completed</b>"
            self.progress.hide()
        self.status_label.setText(text)

    def _show_banner(self, text: str) -> None:
        colors = self.colors
        self.banner.setText(text)
        self.banner.setStyleSheet(
            f"QLabel {{ background: {colors.abnormal_bg.name()}; color: {colors.text.name()};"
            f" border-left: 5px solid {colors.abnormal_fg.name()}; padding: 6px; }}")
        self.banner.show()

    # ---- actions ------------------------------------------------------------------------

    def edit_case(self) -> None:
        if self._case is None:
            return
        dialog = CaseEditDialog(self._cases, self._user_id, self._case, self)
        self.run_edit_dialog(dialog)

    def run_edit_dialog(self, dialog: CaseEditDialog) -> None:
        """Modal edit; a test replaces this to drive the dialog itself."""
        if dialog.exec():
            self.after_edit(dialog)

    def after_edit(self, dialog: CaseEditDialog) -> None:
        if dialog.saved is None or self._case is None:
            return
        if dialog.saved.case_summary != self._case.case_summary:
            self._notes_changed = True
        self.refresh()
        self.case_changed.emit(dialog.saved.case_id)

    def reanalyse(self) -> None:
        if self._case is None:
            return
        # Re-analysis keeps the doctor's medication reviews (services/analysis_jobs).
        try:
            self._cases.reanalyze(self._case.case_id, user_id=self._user_id)
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            return
        self._analysis_queued()

    def delete_case(self) -> None:
        record = self._case
        if record is None:
            return
        if not ask_yes_no(self, f"Move the case of {record.patient_name} to the trash?\n\n"
                                "It can be restored from the trash until the trash is emptied."):
            return
        try:
            self._cases.delete_case(record.case_id, user_id=self._user_id)
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            return
        self._case = None
        self.soap_editor.clear()
        self.case_deleted.emit(record.case_id)

    # ---- documents ----------------------------------------------------------------------

    def attach_files(self, category: DocumentCategory) -> None:
        """Choose files and attach them as lab or radiology reports; analysis is queued."""
        record = self._case
        if record is None:
            return
        names, _ = QFileDialog.getOpenFileNames(
            self, f"Attach {CATEGORY_WORDS[category]} to the case of {record.patient_name}",
            "", FILE_FILTER)
        if not names:
            return
        before = {document.document_id for document in record.documents}
        try:
            attached = self._cases.attach_documents(
                record.case_id, user_id=self._user_id,
                attachments=[NewAttachment(Path(name), category) for name in names])
        except ValidationError as error:
            QMessageBox.warning(self, APP_NAME, "Nothing was attached:\n\n" + "\n".join(
                f"• {problem.message}" for problem in error.errors)
                + "\n\nChoose the files again without the ones named here.")
            return
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            return
        self._analysis_queued()
        new = [d for d in attached.documents if d.document_id not in before]
        if new:
            self.documents.show_document(new[0].document_id)

    def remove_document(self, document_id: str) -> None:
        """Remove one document after the doctor confirms; the case is analysed again."""
        record = self._case
        document = next((d for d in record.documents if d.document_id == document_id),
                        None) if record else None
        if record is None or document is None:
            return
        if not ask_yes_no(self, f"Remove {document.file_name} from the case of "
                                f"{record.patient_name}?\n\nThe case is analysed again without "
                                "it. To have it back, attach the file again."):
            return
        try:
            self._cases.remove_document(record.case_id, document_id, user_id=self._user_id)
            self._cases.reanalyze(record.case_id, user_id=self._user_id)
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            self.refresh()
            return
        self._analysis_queued()

    def enter_password(self, document_id: str) -> None:
        """Ask for a protected PDF's password and analyse the case again with it. The
        password stays in memory (the analysis worker and the viewer); it is never saved
        or logged."""
        record = self._case
        document = next((d for d in record.documents if d.document_id == document_id),
                        None) if record else None
        if record is None or document is None:
            return
        if self._runner is None:
            QMessageBox.warning(self, APP_NAME, "The analysis is not running in this window, "
                                                "so the password cannot be used.")
            return
        password, ok = QInputDialog.getText(
            self, APP_NAME, f"Password of {document.file_name}:\n(kept in memory for this "
                            "analysis only, never saved)", QLineEdit.EchoMode.Password)
        if not ok or not password:
            return
        self._runner.provide_password(document_id, password)
        self.documents.remember_password(document_id, password)
        try:
            self._cases.reanalyze(record.case_id, user_id=self._user_id)
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            return
        self._analysis_queued()

    def _analysis_queued(self) -> None:
        """After a change that queued analysis: show it, let the list and runner know."""
        if self._case is None:
            return
        self._progress = None
        self._last_error = ""
        self.refresh()
        self.reanalysis_requested.emit(self._case.case_id)
        if self._runner is not None:
            self._runner.wake()

    def _show_history(self) -> None:
        if self._case is None:
            return
        self._history = self._cases.history(self._case.case_id)
        self.history.show_events(self._history)

    def _after_resolve(self, case_id: str) -> None:
        self.refresh()
        self.case_changed.emit(case_id)
        self.sync_requested.emit(case_id)

    def _after_review(self) -> None:
        self.refresh()
        if self._case is not None:
            self.case_changed.emit(self._case.case_id)

    # ---- palette ------------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "back_action"):
            self.colors = ClinicalColors.from_palette(self.palette())
            for tab in (self.summary, self.labs, self.radiology, self.medications,
                        self.documents, self.soap_editor):
                tab.set_colors(self.colors)
            self._render()


def _when(moment: Any) -> str:
    return moment.astimezone().strftime("%d %b %Y %H:%M")
