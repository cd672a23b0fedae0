"""The Patient tab of the case detail: every visit of this case's patient, a lab trend
chart for any test seen across them, and how the medications changed from visit to visit.

The doctor corrects the grouping here: Link another case… (the same patient under another
name, say) and Unlink this case (a namesake). Everything is read on a worker thread (the
first trend loads the lab knowledge base), only when the tab is shown, and again after
the case changes.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import QEvent, QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QFont, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ... import APP_NAME
from ...domain.errors import MedMitraError
from ...services.patient_history import (
    CHANGE_WORDS,
    LabTrend,
    LabTrends,
    MedicationChange,
    MedicationEntry,
    MedicationHistory,
    MedicationTimeline,
    PatientHistoryService,
)
from ...services.patients import PatientRecord, PatientService, Visit
from ..models.rows_model import RowsTableModel
from ..widgets.clinical_colors import ClinicalColors
from ..widgets.confirm import ask_yes_no
from ..widgets.tables import heading, read_only_table
from ..widgets.trend_chart import TrendChart, value_text

log = logging.getLogger(__name__)
SHUTDOWN_WAIT_MS = 10_000
VISITS_SIDE_BY_SIDE = 5
STATUS_WORDS = {"processing": "Being analysed", "completed": "Analysed", "failed": "Failed"}


def _date(moment: datetime) -> str:
    return moment.astimezone().strftime("%d %b %Y")


# ---- loading off the GUI thread -------------------------------------------------------


@dataclass(frozen=True)
class PatientData:
    patient: PatientRecord
    trends: LabTrends
    medications: MedicationHistory


class _Signals(QObject):
    done = Signal(int, object)  # token, PatientData or the error's message


class _Load(QRunnable):
    def __init__(self, signals: _Signals, token: int, case_id: str, patients: PatientService,
                 history: PatientHistoryService) -> None:
        super().__init__()
        self._signals, self._token, self._case_id = signals, token, case_id
        self._patients, self._history = patients, history

    def run(self) -> None:
        try:
            result: PatientData | str = PatientData(
                self._patients.patient(self._case_id),
                self._history.lab_trends(self._case_id),
                self._history.medication_history(self._case_id))
        except MedMitraError as error:
            result = str(error)
        except Exception as error:  # shown in the tab, never a dead thread
            log.exception("The patient history could not be read")
            result = f"The patient history could not be read ({error})."
        self._signals.done.emit(self._token, result)


# ---- tables ---------------------------------------------------------------------------


class VisitsModel(RowsTableModel[Visit]):
    columns = ("Visit", "Age", "Status", "Summary")

    def __init__(self, colors: ClinicalColors, parent: Any = None) -> None:
        super().__init__(colors, parent)
        self.current: str | None = None

    def cell(self, row: Visit, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            name = "" if row.case_id != self.current else " (this case)"
            values = (_date(row.created_at) + name, str(row.patient_age),
                      STATUS_WORDS.get(row.status.value, row.status.value),
                      row.one_line_summary or "")
            return values[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [f"{row.patient_name}, {row.patient_age} y, {row.patient_gender.value}"]
            if row.patient_record_number:
                parts.append(f"Record no. {row.patient_record_number}")
            if row.linked_by_doctor:
                parts.append("Linked to this patient by a doctor")
            parts.append("Double-click to open this visit")
            return "\n".join(parts)
        if role == Qt.ItemDataRole.FontRole and row.case_id == self.current:
            font = QFont()
            font.setBold(True)
            return font
        return None


class MedicationChangesModel(RowsTableModel[MedicationTimeline]):
    """A medication per row, a visit per column: what happened to it at that visit."""

    def __init__(self, colors: ClinicalColors, parent: Any = None) -> None:
        super().__init__(colors, parent)
        self.columns = ("Medication",)

    def set_history(self, history: MedicationHistory) -> None:
        self.beginResetModel()
        self.columns = ("Medication", *(_date(v.created_at) for v in history.visits))
        self._rows = list(history.medications)
        self.endResetModel()

    def entry(self, row: MedicationTimeline, column: int) -> MedicationEntry | None:
        return row.entries[column - 1] if 0 < column <= len(row.entries) else None

    def cell(self, row: MedicationTimeline, column: int, role: int) -> Any:
        if column == 0:
            if role == Qt.ItemDataRole.DisplayRole:
                return row.name
            if role == Qt.ItemDataRole.FontRole and row.changed:
                font = QFont()
                font.setBold(True)
                return font
            return None
        entry = self.entry(row, column)
        if entry is None:
            return "—" if role == Qt.ItemDataRole.DisplayRole else None
        if role == Qt.ItemDataRole.DisplayRole:
            word = CHANGE_WORDS[entry.change]
            if entry.change in (MedicationChange.RECORDED, MedicationChange.CONTINUED):
                return entry.regimen or word  # the baseline, or nothing new
            if entry.change in (MedicationChange.STARTED, MedicationChange.CHANGED) \
                    and entry.regimen:
                return f"{word}: {entry.regimen}"
            return word
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [CHANGE_WORDS[entry.change]]
            if entry.regimen:
                lines.append(f"Recorded: {entry.regimen}")
            if entry.previous:
                lines.append(f"Before: {entry.previous}")
            if entry.reason:
                lines.append(f"Reason: {entry.reason}")
            if entry.change is MedicationChange.NOT_MENTIONED:
                lines.append("Taken at the visit before; not found in this visit's "
                             "documents or notes")
            return "\n".join(lines)
        if role == Qt.ItemDataRole.BackgroundRole:
            if entry.change is MedicationChange.CHANGED:
                return self._colors.abnormal_bg
            if entry.change is MedicationChange.STOPPED:
                return self._colors.critical_bg
        if role == Qt.ItemDataRole.ForegroundRole and entry.change in (
                MedicationChange.NOT_MENTIONED, MedicationChange.CONTINUED):
            return self._colors.muted_fg
        if role == Qt.ItemDataRole.FontRole and entry.change in (
                MedicationChange.STARTED, MedicationChange.CHANGED, MedicationChange.STOPPED):
            font = QFont()
            font.setBold(True)
            return font
        return None


# ---- the tab --------------------------------------------------------------------------


class PatientTab(QWidget):
    open_case_requested = Signal(str)
    changed = Signal()  # the doctor linked or unlinked cases

    def __init__(self, patients: PatientService, history: PatientHistoryService,
                 user_id: str, colors: ClinicalColors, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._patients = patients
        self._history = history
        self._user_id = user_id
        self._colors = colors
        self._case_id: str | None = None
        self._stale = False
        self._token = 0
        self.data: PatientData | None = None
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.done.connect(self._on_loaded)

        self.title = QLabel()
        self.title.setAccessibleName("Patient")
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.title.setFont(font)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setAccessibleName("Patient details")
        self.link_button = QPushButton("&Link another case…")
        self.link_button.setAccessibleName("Link another case to this patient")
        self.link_button.setToolTip("The same patient recorded under another name, age or "
                                    "record number: make both one patient")
        self.link_button.clicked.connect(self.link_case)
        self.unlink_button = QPushButton("&Unlink this case")
        self.unlink_button.setAccessibleName("Unlink this case from its patient")
        self.unlink_button.setToolTip("This case is a different person with the same name: "
                                      "make it a patient of its own")
        self.unlink_button.clicked.connect(self.unlink_case)

        self.visits = VisitsModel(colors, self)
        self.visits_table = read_only_table(self.visits, "Visits", (165, 40, 100))
        self.visits_table.doubleClicked.connect(self._open_visit)
        self.medications = MedicationChangesModel(colors, self)
        self.medications_table = read_only_table(self.medications, "Medication changes",
                                                 (170,))
        self.medications_table.setWordWrap(False)
        self.no_medications = QLabel("No medications recorded at any visit.")
        self.no_medications.hide()

        self.test = QComboBox()
        self.test.setAccessibleName("Lab test")
        self.test.view().setAccessibleName("Lab tests")
        self.test.setMinimumContentsLength(28)
        self.test.currentIndexChanged.connect(self._show_selected_test)
        test_label = QLabel("&Test:")
        test_label.setBuddy(self.test)
        self.chart = TrendChart(colors)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setAccessibleName("Trend notes")
        self.notes.setTextFormat(Qt.TextFormat.RichText)
        self.status = QLabel()
        self.status.setAccessibleName("Patient history status")

        header = QHBoxLayout()
        names = QVBoxLayout()
        names.addWidget(self.title)
        names.addWidget(self.details)
        header.addLayout(names, 1)
        header.addWidget(self.link_button, 0, Qt.AlignmentFlag.AlignTop)
        header.addWidget(self.unlink_button, 0, Qt.AlignmentFlag.AlignTop)

        # Visits beside the chart; the medication changes below both, full width, since
        # each visit is a column of regimens that must be readable whole.
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(heading("Visits"))
        left_layout.addWidget(self.visits_table, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        picker = QHBoxLayout()
        picker.addWidget(heading("Lab trends"))
        picker.addStretch(1)
        picker.addWidget(test_label)
        picker.addWidget(self.test)
        right_layout.addLayout(picker)
        right_layout.addWidget(self.chart, 1)
        right_layout.addWidget(self.notes)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(left)
        top.addWidget(right)
        top.setStretchFactor(0, 2)
        top.setStretchFactor(1, 3)
        top.setChildrenCollapsible(False)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(heading("Medication changes"))
        bottom_layout.addWidget(self.medications_table, 1)
        bottom_layout.addWidget(self.no_medications)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self._splitter_moved = False
        self.splitter.splitterMoved.connect(lambda *_: setattr(self, "_splitter_moved", True))

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.status)
        layout.addWidget(self.splitter, 1)
        self._set_enabled(False)

    # ---- what is shown ------------------------------------------------------------------

    @property
    def loading(self) -> bool:
        return self._stale or self._pool.activeThreadCount() > 0

    def set_case(self, case_id: str | None) -> None:
        """Show this case's patient (read when the tab is next shown)."""
        self._case_id = case_id
        self._stale = True
        if self.isVisible():
            self.reload()

    def reload(self) -> None:
        if self._case_id is None:
            return
        self._stale = False
        self._token += 1
        self.status.setText("Reading the patient's visits…")
        self.status.show()
        self._pool.start(_Load(self._signals, self._token, self._case_id, self._patients,
                               self._history))

    def wait(self, timeout_ms: int = SHUTDOWN_WAIT_MS) -> bool:
        """Wait for a read in progress (tests; before the tab goes away)."""
        return self._pool.waitForDone(timeout_ms)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.reload()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "chart"):
            self._colors = ClinicalColors.from_palette(self.palette())
            for model in (self.visits, self.medications):
                model.set_colors(self._colors)
            self.chart.set_colors(self._colors)

    def _on_loaded(self, token: int, result: PatientData | str) -> None:
        if token != self._token:
            return  # an older read, overtaken by another case
        if isinstance(result, str):
            self.status.setText(result)
            self.status.show()
            self._set_enabled(False)
            return
        self.status.hide()
        self.data = result
        patient = result.patient
        self.visits.current = patient.case_id
        self.visits.set_rows(patient.visits)
        latest = patient.latest
        self.title.setText(latest.patient_name)
        parts = [latest.patient_gender.value.capitalize(), f"{latest.patient_age} years",
                 f"{len(patient.visits)} visit{'s' * (len(patient.visits) != 1)}"]
        if patient.record_numbers:
            parts.append("Record no. " + ", ".join(patient.record_numbers))
        if patient.decided_by_doctor:
            parts.append("visits linked by a doctor")
        elif patient.several_match:
            parts.append("more than one patient matches this name: link this case to the "
                         "right one")
        else:
            parts.append("visits matched by record number, or by name, gender and age")
        self.details.setText(" · ".join(parts))
        self.medications.set_history(result.medications)
        header = self.medications_table.horizontalHeader()
        few = len(result.medications.visits) <= VISITS_SIDE_BY_SIDE
        for column in range(1, self.medications.columnCount()):
            # A few visits share the width; more scroll sideways at a readable width.
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch if few
                                        else QHeaderView.ResizeMode.Interactive)
            if not few:
                header.resizeSection(column, 190)
        has_medications = bool(result.medications.medications)
        self.medications_table.setVisible(has_medications)
        self.no_medications.setVisible(not has_medications)
        self._fit_medications(len(result.medications.medications))
        self._set_enabled(True)
        self._fill_tests(result.trends)
        self.unlink_button.setEnabled(len(patient.visits) > 1)

    def _fit_medications(self, rows: int) -> None:
        """The medication table as tall as its rows (at most half the tab), the chart the
        rest; once the doctor moves the divider, it stays where they put it."""
        total = sum(self.splitter.sizes())
        if self._splitter_moved or total <= 0:
            return
        table = self.medications_table
        wanted = (table.horizontalHeader().sizeHint().height()
                  + max(1, rows) * table.verticalHeader().defaultSectionSize()
                  + table.horizontalScrollBar().sizeHint().height()
                  + 2 * table.frameWidth() + self.no_medications.sizeHint().height() * 2)
        bottom = min(wanted, total // 2)
        self.splitter.setSizes([total - bottom, bottom])

    def _fill_tests(self, trends: LabTrends) -> None:
        previous = self.test.currentData()
        self.test.blockSignals(True)
        self.test.clear()
        for trend in trends.trends:
            count = len(trend.measured)
            self.test.addItem(f"{trend.name} · {count} value{'s' * (count != 1)}", trend.key)
        self.test.blockSignals(False)
        keys = [t.key for t in trends.trends]
        chosen = previous if previous in keys else _first_choice(trends.trends)
        self.test.setEnabled(bool(keys))
        if chosen is not None:
            self.test.setCurrentIndex(keys.index(chosen))
        self._show_selected_test()

    def select_test(self, key: str) -> bool:
        index = self.test.findData(key)
        if index >= 0:
            self.test.setCurrentIndex(index)
        return index >= 0

    def _show_selected_test(self) -> None:
        trends = self.data.trends if self.data else None
        trend = trends.trend(str(self.test.currentData())) if trends else None
        self.chart.show_trend(trend)
        self.notes.setText(_trend_notes(trend) if trend else
                           "No lab results in this patient's visits yet.")

    def _set_enabled(self, on: bool) -> None:
        for widget in (self.link_button, self.unlink_button, self.test):
            widget.setEnabled(on)

    # ---- the doctor's corrections -------------------------------------------------------

    def _open_visit(self) -> None:
        row = self.visits.row_at(self.visits_table.currentIndex().row())
        if row is not None and row.case_id != self._case_id:
            self.open_case_requested.emit(row.case_id)

    def link_case(self) -> None:
        if self._case_id is None:
            return
        dialog = LinkCaseDialog(self._patients, self._case_id, self)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.chosen is None:
            return
        try:
            self._patients.link(self._case_id, dialog.chosen.case_id, user_id=self._user_id)
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            return
        self.changed.emit()
        self.reload()

    def unlink_case(self) -> None:
        if self._case_id is None or self.data is None:
            return
        others = len(self.data.patient.visits) - 1
        if not ask_yes_no(self, f"Make this case a patient of its own? It will no longer be "
                                f"grouped with the other {others} visit"
                                f"{'s' * (others != 1)}, and its medications and lab "
                                "trends will not be compared with theirs."):
            return
        try:
            self._patients.unlink(self._case_id, user_id=self._user_id)
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            return
        self.changed.emit()
        self.reload()


def _first_choice(trends: tuple[LabTrend, ...]) -> str | None:
    """The test seen at the most visits (abnormal ones first among equals)."""
    if not trends:
        return None
    best = max(trends, key=lambda t: (len(t.measured), sum(p.abnormal for p in t.measured)))
    return best.key


def _trend_notes(trend: LabTrend) -> str:
    """Below the chart, in words: what was converted, and what could not be plotted."""
    parts: list[str] = []
    converted = [p for p in trend.measured if p.converted or p.assumed_unit]
    if converted:
        parts.append(f"Shown in {html.escape(trend.unit or '')}: " + "; ".join(
            f"{_date(p.at)} {html.escape(value_text(p, trend.unit))}" for p in converted))
    missing = len(trend.points) - len(trend.measured)
    if missing:
        parts.append(f"Not measured at {missing} visit{'s' * (missing != 1)} (a gap in the "
                     "line).")
    if trend.unplotted:
        items = "".join(
            f"<li>{_date(u.at)}: {html.escape(u.value_text)} "
            f"{html.escape(u.printed_unit or '')} — {html.escape(u.reason)}</li>"
            for u in trend.unplotted)
        parts.append(f"Not plotted:<ul style='margin-top: 0px'>{items}</ul>")
    if not parts:
        return ""
    return "<br>".join(parts)


class LinkCaseDialog(QDialog):
    """Choose the case of the same patient: search by name or record number."""

    def __init__(self, patients: PatientService, case_id: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Link another case to this patient")
        self._patients = patients
        self._case_id = case_id
        self.chosen: Visit | None = None
        self.search = QLineEdit()
        self.search.setPlaceholderText("Name or record number")
        self.search.setAccessibleName("Search cases to link")
        self.search.setClearButtonEnabled(True)
        self.model = _CandidatesModel(ClinicalColors.from_palette(self.palette()), self)
        self.table = read_only_table(self.model, "Cases to link", (170, 110, 40, 80))
        self.table.doubleClicked.connect(self.accept)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.link_button = self.buttons.addButton(
            "&Link", QDialogButtonBox.ButtonRole.AcceptRole)
        self.link_button.setAccessibleName("Link the chosen case")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        explanation = QLabel("The case you choose and all visits of its patient become "
                             "visits of this patient. Unlink undoes it for one case.")
        explanation.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.buttons)
        self.search.textChanged.connect(self.find)
        self.table.selectionModel().selectionChanged.connect(self._update)
        self.resize(620, 420)
        self.find()

    def find(self) -> None:
        try:
            rows = self._patients.link_candidates(self._case_id, self.search.text())
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            rows = ()
        self.model.set_rows(rows)
        self._update()

    def _update(self) -> None:
        self.link_button.setEnabled(self.table.selectionModel().hasSelection())

    def accept(self) -> None:
        row = self.model.row_at(self.table.currentIndex().row())
        if row is None or not self.table.selectionModel().hasSelection():
            return
        self.chosen = row
        super().accept()


class _CandidatesModel(RowsTableModel[Visit]):
    columns = ("Patient", "Record no.", "Age", "Gender", "Created")

    def cell(self, row: Visit, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return (row.patient_name, row.patient_record_number or "", str(row.patient_age),
                    row.patient_gender.value.capitalize(), _date(row.created_at))[column]
        return None
