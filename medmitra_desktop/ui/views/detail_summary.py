"""The Summary tab: what the analysis concluded, every statement linked to its document.

Left: summary, alerts (critical ones first and red), key findings, the differential and
the evidence of the chosen condition. Right: the SOAP note panel the case view hands in
(the doctor edits and signs it there; see soap_editor.py).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...domain.enums import DocumentStatus
from ...domain.records import DocumentRecord
from ...services.case_results import InsightView
from ..models.detail_models import DifferentialTableModel
from ..widgets.clinical_colors import ClinicalColors
from ..widgets.tables import fit_height_to_rows, heading, read_only_table
from . import evidence
from .remote_insights import RemoteInsightsPanel

SEVERITY_WORDS = {"critical": "CRITICAL", "warning": "Warning", "info": "Note"}
UNREADABLE = {DocumentStatus.NEEDS_PASSWORD: "needs a password",
              DocumentStatus.FAILED: "could not be analysed",
              DocumentStatus.OCR_UNAVAILABLE: "scanned pages, and OCR is not available"}
LINK_FLAGS = Qt.TextInteractionFlag.TextBrowserInteraction


def _text_label(accessible_name: str) -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAccessibleName(accessible_name)
    return label


def _paragraphs(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def _list_html(items: Sequence[str]) -> str:
    return "<ul style='margin-left: -20px'>" + "".join(
        f"<li>{item}</li>" for item in items) + "</ul>"


class SummaryTab(QWidget):
    link_activated = Signal(str)  # "document:<id>:<page>"

    def __init__(self, colors: ClinicalColors, soap_panel: QWidget,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._colors = colors
        self._documents: tuple[DocumentRecord, ...] = ()
        self._alerts: list[dict[str, Any]] = []

        self.placeholder = _text_label("Analysis state")
        self.summary_heading = heading("Summary")
        self.summary_label = _text_label("Case summary")
        self.notes_heading = heading("Doctor's notes")
        self.notes_label = _text_label("Doctor's notes")
        self.alerts_heading = heading("Alerts")
        self.alerts_box = QVBoxLayout()
        self.alerts_box.setSpacing(6)
        self.alert_labels: list[QLabel] = []
        self.findings_heading = heading("Key findings")
        self.findings_label = _text_label("Key findings")
        self.differential_heading = heading("Differential diagnosis")
        self.differential_note = _text_label("About the differential")
        self.differential_note.setText(
            "Rule-based considerations from this case's documents, for clinician review. "
            "Choose a row to see its evidence; the links open the document page.")
        self.differential_model = DifferentialTableModel(colors, self)
        self.differential = read_only_table(self.differential_model, "Differential diagnosis",
                                            (280, 70, 90))
        self.differential.selectionModel().selectionChanged.connect(self._show_evidence)
        self.evidence_label = QLabel()
        self.evidence_label.setWordWrap(True)
        self.evidence_label.setTextFormat(Qt.TextFormat.RichText)
        self.evidence_label.setTextInteractionFlags(LINK_FLAGS)
        self.evidence_label.setAccessibleName("Evidence for the chosen condition")
        self.evidence_label.linkActivated.connect(self.link_activated)
        # The server's own analysis (after sync), in its own frame under this computer's.
        self.remote_insights = RemoteInsightsPanel(colors)

        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(8, 8, 12, 8)
        # Most urgent first: alerts, then the summary, the differential, the findings.
        column.addWidget(self.placeholder)
        column.addWidget(self.alerts_heading)
        column.addLayout(self.alerts_box)
        column.addWidget(self.summary_heading)
        column.addWidget(self.summary_label)
        column.addWidget(self.differential_heading)
        column.addWidget(self.differential_note)
        column.addWidget(self.differential)
        column.addWidget(self.evidence_label)
        column.addWidget(self.findings_heading)
        column.addWidget(self.findings_label)
        column.addWidget(self.notes_heading)
        column.addWidget(self.notes_label)
        column.addSpacing(8)
        column.addWidget(self.remote_insights)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)

        self.soap_panel = soap_panel

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(soap_panel)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    # ---- filling ------------------------------------------------------------------------

    def show_results(self, documents: Sequence[DocumentRecord], notes: str,
                     payload: dict[str, Any] | None, state_note: str) -> None:
        """Show one insight payload; `state_note` says why there is none (or is old)."""
        self._documents = tuple(documents)
        payload = payload or {}
        self.placeholder.setText(html.escape(state_note))
        self.placeholder.setVisible(bool(state_note))

        summary = str(payload.get("summary") or "")
        self.summary_label.setText(_paragraphs(summary))
        for widget in (self.summary_heading, self.summary_label):
            widget.setVisible(bool(summary))
        self.notes_label.setText(_paragraphs(notes) if notes else
                                 "<i>No notes were written for this case.</i>")

        self._alerts = [*_unread_documents_alert(self._documents),
                        *(a for a in payload.get("alerts") or () if isinstance(a, dict))]
        self._fill_alerts()
        has_insight = bool(payload)
        self.alerts_heading.setVisible(has_insight or bool(self._alerts))

        findings = [evidence.linkify(str(f), self._documents, self._link)
                    for f in payload.get("key_findings") or ()]
        self.findings_label.setText(_list_html(findings) if findings else
                                    "<i>No key findings.</i>")
        for widget in (self.findings_heading, self.findings_label):
            widget.setVisible(has_insight)

        differential = [d for d in payload.get("differential") or () if isinstance(d, dict)]
        self.differential_model.set_differential(differential, self._documents)
        fit_height_to_rows(self.differential, maximum_rows=8)
        for widget in (self.differential_heading, self.differential_note, self.differential,
                       self.evidence_label):
            widget.setVisible(bool(differential))
        if differential:
            self.differential.selectRow(0)
        self._show_evidence()

    def show_remote(self, insight: InsightView | None) -> None:
        """The MedMitra server's latest insights beside these (hidden when none)."""
        self.remote_insights.show_insight(insight)

    def set_colors(self, colors: ClinicalColors) -> None:
        self._colors = colors
        self.differential_model.set_colors(colors)
        self._fill_alerts()
        self.remote_insights.set_colors(colors)

    def evidence_links(self) -> list[tuple[str, str]]:
        """(label, href) of the links in the evidence panel, in order (for tests)."""
        return _links(self.evidence_label.text())

    # ---- parts --------------------------------------------------------------------------

    def _fill_alerts(self) -> None:
        for label in self.alert_labels:
            self.alerts_box.removeWidget(label)
            label.deleteLater()
        self.alert_labels = []
        alerts = self._alerts
        if not alerts:
            label = _text_label("No alerts")
            label.setText("<i>No alerts.</i>")
            self.alert_labels.append(label)
            self.alerts_box.addWidget(label)
            return
        for alert in alerts:
            label = self._alert_label(alert)
            self.alert_labels.append(label)
            self.alerts_box.addWidget(label)

    def _alert_label(self, alert: dict[str, Any]) -> QLabel:
        severity = str(alert.get("severity") or "info")
        colors = self._colors
        word = SEVERITY_WORDS.get(severity, severity.capitalize())
        message = html.escape(str(alert.get("message") or ""))
        links = [evidence.linkify(str(e), self._documents, self._link)
                 for e in alert.get("evidence") or ()]
        label = QLabel()
        label.setObjectName(f"alert_{severity}")
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(LINK_FLAGS)
        label.setAccessibleName(f"{word} alert")
        label.linkActivated.connect(self.link_activated)
        if severity == "critical":
            accent, background = colors.critical_fg, colors.critical_bg
            text = f"<b>{word}:</b> <b>{message}</b>"
        elif severity == "warning":
            accent, background = colors.abnormal_fg, colors.abnormal_bg
            text = f"<b>{word}:</b> {message}"
        else:
            accent, background = colors.muted_fg, colors.base
            text = f"<b>{word}:</b> {message}"
        if links:
            text += "<br><small>" + "; ".join(links) + "</small>"
        label.setText(text)
        label.setStyleSheet(
            f"QLabel#{label.objectName()} {{ background: {background.name()}; "
            f"color: {colors.text.name()}; border-left: 5px solid {accent.name()}; "
            f"padding: 6px 8px; }}")
        return label

    def _show_evidence(self, *_: QItemSelection) -> None:
        rows = self.differential.selectionModel().selectedRows()
        item = self.differential_model.row_at(rows[0].row()) if rows else None
        if item is None:
            self.evidence_label.setText("")
            return
        condition = html.escape(str(item.get("condition") or ""))
        parts = [f"<b>Evidence for {condition}</b>"]
        entries = [evidence.linkify(str(e), self._documents, self._link)
                   for e in item.get("evidence") or ()]
        parts.append(_list_html(entries) if entries else "<p><i>No evidence cited.</i></p>")
        steps = [html.escape(str(s)) for s in item.get("next_steps") or ()]
        if steps:
            parts.append("<b>Next steps</b>" + _list_html(steps))
        if item.get("source"):
            parts.append(f"<small>Rule source: {html.escape(str(item['source']))}</small>")
        self.evidence_label.setText("".join(parts))

    @property
    def _link(self) -> str:
        return self._colors.link.name()


def _unread_documents_alert(documents: Sequence[DocumentRecord]) -> list[dict[str, Any]]:
    """A warning naming the documents the analysis could not read: their findings are
    missing from everything on this page."""
    unread = [index for index, document in enumerate(documents)
              if document.status in UNREADABLE]
    if not unread:
        return []
    count = len(unread)
    return [{
        "severity": "warning",
        "message": (f"{count} document{'s' if count != 1 else ''} could not be read, so "
                    f"{'they are' if count != 1 else 'it is'} not part of these results "
                    "(see the Documents tab)."),
        "evidence": [f"doc {index}: {UNREADABLE[documents[index].status]}"
                     for index in unread],
    }]


def _links(rich_text: str) -> list[tuple[str, str]]:
    return [(html.unescape(re.sub(r"<[^>]+>", "", label)), html.unescape(href))
            for href, label in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', rich_text)]
