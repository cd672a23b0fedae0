"""The Labs, Radiology, Medications and History tabs of the case detail."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ...domain.records import DocumentRecord
from ...services.audit import AuditEvent
from ...services.case_results import (
    AllergyView,
    CaseResultsService,
    FindingView,
    LabResultView,
    MedicationView,
)
from ...services.result_wording import allergy_parts
from ..models.detail_models import HistoryTableModel, MedicationTableModel
from ..models.lab_table_model import SORT_ROLE, LabTableModel, is_abnormal, is_critical
from ..widgets.clinical_colors import ClinicalColors
from ..widgets.tables import fit_height_to_rows, heading, read_only_table
from . import evidence
from .medication_review_dialog import MedicationReviewDialog

Index = QModelIndex | QPersistentModelIndex


def _muted_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


# ---- labs -----------------------------------------------------------------------------


class _AbnormalFilter(QSortFilterProxyModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._abnormal_only = False
        self.setSortRole(SORT_ROLE)

    def set_abnormal_only(self, on: bool) -> None:
        self.beginFilterChange()
        self._abnormal_only = on
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self._abnormal_only:
            return True
        model = self.sourceModel()
        row = model.row_at(source_row) if isinstance(model, LabTableModel) else None
        return row is not None and is_abnormal(row)


class LabsTab(QWidget):
    link_activated = Signal(str)

    def __init__(self, colors: ClinicalColors, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LabTableModel(colors, self)
        self.proxy = _AbnormalFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = read_only_table(self.proxy, "Lab results", (230, 90, 100, 200, 150))
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.activated.connect(self._open_source)
        self.table.setToolTip("Enter or double-click opens the document page the row is from")

        self.abnormal_only = QCheckBox("Show abnormal results only")
        self.abnormal_only.setAccessibleName("Show abnormal results only")
        self.abnormal_only.toggled.connect(self.proxy.set_abnormal_only)
        self.counts = QLabel()
        self.counts.setAccessibleName("Lab result counts")
        self.legend = _muted_label()
        self.derived = _muted_label()
        self.derived.setAccessibleName("Computed values")
        self.derived.setTextFormat(Qt.TextFormat.RichText)
        self.derived.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.derived.linkActivated.connect(self.link_activated)
        self.empty = _muted_label()

        bar = QHBoxLayout()
        bar.addWidget(self.counts)
        bar.addStretch(1)
        bar.addWidget(self.abnormal_only)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.legend)
        layout.addWidget(self.derived)
        self.set_colors(colors)

    def show_labs(self, labs: Sequence[LabResultView], derived: Sequence[dict[str, Any]],
                  documents: Sequence[DocumentRecord], state_note: str) -> None:
        self.model.set_rows(labs)
        abnormal = sum(1 for row in labs if is_abnormal(row))
        critical = sum(1 for row in labs if is_critical(row))
        self.counts.setText(
            f"<b>{len(labs)}</b> result{'s' if len(labs) != 1 else ''} · "
            f"<b>{abnormal}</b> abnormal · <b>{critical}</b> critical")
        self.empty.setText(state_note or "No lab results were found in this case's documents.")
        self.empty.setVisible(not labs)
        self.table.setVisible(bool(labs))
        lines = []
        seen: set[tuple[str, str]] = set()
        for item in derived:
            value = item.get("value")
            shown = f"{value:g}" if isinstance(value, int | float) else str(value)
            key = (str(item.get("name")), shown)
            if key in seen:
                continue
            seen.add(key)
            sources = [evidence.linkify(str(e), documents, self.model.colors.link.name())
                       for e in item.get("evidence") or ()]
            lines.append(f"<b>{html.escape(key[0])}</b> {html.escape(shown)} "
                         f"{html.escape(str(item.get('unit') or ''))}"
                         + (f" <small>(from {'; '.join(sources)})</small>" if sources else ""))
        self.derived.setText("Computed: " + " · ".join(lines) if lines else "")
        self.derived.setVisible(bool(lines))

    def set_colors(self, colors: ClinicalColors) -> None:
        self.model.set_colors(colors)
        muted = colors.muted_fg.name()
        self.legend.setText(
            f"<span style='background:{colors.abnormal_bg.name()}; "
            f"color:{colors.abnormal_fg.name()}'>&nbsp;<b>Low / High</b>&nbsp;</span> outside "
            f"the reference range &nbsp; <span style='background:{colors.critical_bg.name()}; "
            f"color:{colors.critical_fg.name()}'>&nbsp;<b>⚠ CRITICAL</b>&nbsp;</span> past a "
            f"critical limit &nbsp; <span style='color:{muted}'><i>italic range (knowledge "
            f"base)</i></span>: the report printed none. Hover a cell for details.")

    def _open_source(self, index: QModelIndex) -> None:
        row = self.model.row_at(self.proxy.mapToSource(index).row())
        if row is not None and row.document_id:
            self.link_activated.emit(evidence.document_href(row.document_id, row.page))


# ---- radiology ------------------------------------------------------------------------

MODALITY_WORDS = {"XR": "X-ray", "CR": "X-ray", "DX": "X-ray", "CT": "CT", "MR": "MRI",
                  "MRI": "MRI", "US": "ultrasound", "NM": "nuclear medicine scan",
                  "PET": "PET scan", "MG": "mammogram"}


class RadiologyTab(QWidget):
    link_activated = Signal(str)

    def __init__(self, colors: ClinicalColors, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._colors = colors
        self.browser = QTextBrowser()
        self.browser.setAccessibleName("Radiology reports")
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(lambda url: self.link_activated.emit(url.toString()))
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        self._last: tuple[Any, ...] = ((), (), (), "")

    def show_reports(self, reports: Sequence[dict[str, Any]], findings: Sequence[FindingView],
                     documents: Sequence[DocumentRecord], state_note: str) -> None:
        self._last = (tuple(reports), tuple(findings), tuple(documents), state_note)
        names = {d.document_id: d.file_name for d in documents}
        parts = []
        if state_note:
            parts.append(f"<p><i>{html.escape(state_note)}</i></p>")
        if reports:
            parts.append("<hr>".join(self._report_html(report, names) for report in reports))
        elif findings:
            parts.append("<hr>".join(self._findings_html(findings, names)))
        elif not state_note:
            parts.append("<p><i>No radiology reports in this case.</i></p>")
        self.browser.setHtml("".join(parts))

    def set_colors(self, colors: ClinicalColors) -> None:
        self._colors = colors
        self.show_reports(*self._last)

    def _report_html(self, report: dict[str, Any], names: dict[str, str]) -> str:
        document_id = str(report.get("document_id") or "")
        modality = str(report.get("modality") or "")
        body_part = str(report.get("body_part") or "")
        title = " ".join(p for p in (body_part.capitalize(),
                                     MODALITY_WORDS.get(modality.upper(), modality)) if p)
        parts = [f"<h3 style='margin-bottom: 2px'>{html.escape(title or 'Radiology report')}"
                 "</h3>"]
        if document_id in names:
            href = evidence.document_href(document_id, 1)
            parts.append(f"<p style='margin-top: 0'><a href=\"{html.escape(href)}\">"
                         f"{html.escape(names[document_id])}</a>"
                         + (f" · modality {html.escape(modality)}" if modality else "")
                         + "</p>")
        if report.get("normal"):
            parts.append("<p><b>Reported as normal.</b></p>")
        sections = dict(report.get("sections") or {})
        ordered = sorted(sections, key=lambda name: (name != "impression", name != "findings"))
        for name in ordered:
            text = str(sections[name] or "").strip()
            if not text:
                continue
            label = "Other text" if name == "other" else name.replace("_", " ").capitalize()
            parts.append(f"<p><b>{html.escape(label)}:</b> "
                         f"{html.escape(text).replace(chr(10), '<br>')}</p>")
        observations = [o for o in report.get("observations") or () if isinstance(o, dict)]
        parts.append(self._observations_html(observations, document_id))
        return "".join(parts)

    def _findings_html(self, findings: Sequence[FindingView],
                       names: dict[str, str]) -> list[str]:
        by_document: dict[str, list[dict[str, Any]]] = {}
        for f in findings:
            by_document.setdefault(f.document_id or "", []).append({
                "finding": f.finding, "negated": f.negated, "uncertain": f.uncertain,
                "historical": f.historical, "sentence": f.sentence, "page": f.page})
        return [f"<h3>{html.escape(names.get(document_id, 'Radiology report'))}</h3>"
                + self._observations_html(observations, document_id)
                for document_id, observations in by_document.items()]

    def _observations_html(self, observations: Sequence[dict[str, Any]],
                           document_id: str) -> str:
        if not observations:
            return "<p><i>No findings from the app's lexicon were recognised.</i></p>"
        ordered = sorted(observations, key=lambda o: (bool(o.get("negated")),
                                                      bool(o.get("uncertain"))))
        items = "".join(f"<li>{self.observation_html(o, document_id)}</li>" for o in ordered)
        return f"<p><b>Observations</b></p><ul>{items}</ul>"

    def observation_html(self, observation: dict[str, Any], document_id: str = "") -> str:
        colors = self._colors
        finding = html.escape(str(observation.get("finding") or ""))
        labels = []
        if observation.get("negated"):
            shown = f"<s style='color:{colors.muted_fg.name()}'>{finding}</s>"
            labels.append(("negated: absent", colors.muted_fg))
        elif observation.get("uncertain"):
            shown = f"<i>{finding}</i>"
        else:
            shown = f"<b>{finding}</b>"
        if observation.get("uncertain"):
            labels.append(("uncertain", colors.abnormal_fg))
        for key, word in (("historical", "history"), ("hypothetical", "hypothetical"),
                          ("family", "family history")):
            if observation.get(key):
                labels.append((word, colors.muted_fg))
        label_html = "".join(f" <span style='color:{colour.name()}'>[{word}]</span>"
                             for word, colour in labels)
        sentence = str(observation.get("sentence") or "")
        quote = f" — “{html.escape(sentence)}”" if sentence else ""
        page = observation.get("page")
        link = ""
        if document_id and isinstance(page, int):
            href = html.escape(evidence.document_href(document_id, page))
            link = f" <a href=\"{href}\">page {page}</a>"
        return f"{shown}{label_html}{quote}{link}"


# ---- medications ----------------------------------------------------------------------


class MedicationsTab(QWidget):
    reviewed = Signal()

    def __init__(self, colors: ClinicalColors, service: CaseResultsService, user_id: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._user_id = user_id
        self._case_id = ""
        self.model = MedicationTableModel(colors, self)
        self.table = read_only_table(self.model, "Medications",
                                     (170, 90, 70, 130, 90, 330))
        self.table.activated.connect(lambda _index: self.review_selected())
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.review_button = QPushButton("Revie&w…")
        self.review_button.setAccessibleName("Review selected medication")
        self.review_button.setToolTip("Verify, change, stop or flag the selected medication "
                                      "(Enter on a row does the same)")
        self.review_button.clicked.connect(self.review_selected)
        self.empty = _muted_label()
        self.allergies = QLabel()
        self.allergies.setWordWrap(True)
        self.allergies.setTextFormat(Qt.TextFormat.RichText)
        self.allergies.setAccessibleName("Allergies")
        self.allergies.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        bar = QHBoxLayout()
        bar.addWidget(heading("Medications"))
        bar.addStretch(1)
        bar.addWidget(self.review_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.empty)
        layout.addWidget(self.table)
        layout.addSpacing(8)
        layout.addWidget(heading("Allergies"))
        layout.addWidget(self.allergies)
        layout.addStretch(1)
        self._update_buttons()

    def show_medications(self, case_id: str, medications: Sequence[MedicationView],
                         allergies: Sequence[AllergyView], state_note: str) -> None:
        selected = self.selected()
        self._case_id = case_id
        self.model.set_rows(medications)
        if selected is not None:
            for row, medication in enumerate(medications):
                if medication.id == selected.id:
                    self.table.selectRow(row)
        self.empty.setText(state_note or "No medications were found in the documents or notes.")
        self.empty.setVisible(not medications)
        self.table.setVisible(bool(medications))
        fit_height_to_rows(self.table, maximum_rows=14)
        if allergies:
            by_substance: dict[str, list[AllergyView]] = {}
            for allergy in allergies:
                by_substance.setdefault(allergy.substance.casefold(), []).append(allergy)
            self.allergies.setText("<ul style='margin-left: -20px'>" + "".join(
                f"<li>{_allergy_html(group)}</li>" for group in by_substance.values())
                + "</ul>")
        else:
            self.allergies.setText(
                "<i>No allergies recorded in the documents or notes (this does not confirm "
                "NKDA: ask the patient).</i>")
        self._update_buttons()

    def set_colors(self, colors: ClinicalColors) -> None:
        self.model.set_colors(colors)

    def selected(self) -> MedicationView | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def review_selected(self) -> None:
        medication = self.selected()
        if medication is None:
            return
        dialog = MedicationReviewDialog(self._service, self._user_id, self._case_id,
                                        medication, self)
        self.open_dialog(dialog)

    def open_dialog(self, dialog: MedicationReviewDialog) -> None:
        """Modal review; a test replaces this to drive the dialog itself."""
        if dialog.exec() and dialog.reviewed is not None:
            self.reviewed.emit()

    def _update_buttons(self, *_: object) -> None:
        self.review_button.setEnabled(self.selected() is not None)


def _allergy_html(mentions: Sequence[AllergyView]) -> str:
    """One substance, with every reaction and severity and where each mention came from."""
    substance, details = allergy_parts(mentions)
    text = f"<b>{html.escape(substance)}</b>"
    if details:
        text += f": {html.escape(', '.join(details))}"
    sources = []
    for allergy in mentions:
        source = html.escape(allergy.document_name or "doctor's notes")
        if allergy.source_text:
            source += f": “{html.escape(allergy.source_text)}”"
        sources.append(source)
    return text + f" <small>({'; '.join(sources)})</small>"


# ---- history --------------------------------------------------------------------------


class HistoryTab(QWidget):
    def __init__(self, colors: ClinicalColors, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = HistoryTableModel(colors, self)
        self.table = read_only_table(self.model, "Case history", (170, 140, 170))
        note = _muted_label("Every change to this case, who made it and when "
                            "(the audit trail).")
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table)

    def show_events(self, events: Sequence[AuditEvent]) -> None:
        self.model.set_rows(list(reversed(events)))  # newest first
