"""The MedMitra server's own analysis of a case, shown beside this computer's results on
the Summary tab, never in their place: a framed panel, labelled as the server's, with the
time it arrived. It is shown only when the server has sent insights for the case.

Everything in it comes from the network and is shown as text (escaped), never as markup.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from ...services.case_results import InsightView
from ..widgets.clinical_colors import ClinicalColors, blend

SOAP_PARTS = (("soap_subjective", "S"), ("soap_objective", "O"),
              ("soap_assessment", "A"), ("soap_plan", "P"))
SCORES = (("summary_confidence_score", "summary"), ("soap_confidence_score", "SOAP"),
          ("diagnosis_confidence_score", "diagnosis"))


class RemoteInsightsPanel(QFrame):
    def __init__(self, colors: ClinicalColors, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("remoteInsights")
        self.setAccessibleName("Insights from the MedMitra server")
        self._colors = colors
        self._insight: InsightView | None = None
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.title.setAccessibleName("Source of these insights")
        self.body = QLabel()
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setAccessibleName("The MedMitra server's summary, findings and diagnosis")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        self._style()
        self.hide()

    def show_insight(self, insight: InsightView | None) -> None:
        """Show the server's latest insights, or hide the panel when there are none."""
        self._insight = insight
        if insight is None or not insight.payload:
            self.title.clear()
            self.body.clear()
            self.hide()
            return
        when = insight.created_at.astimezone().strftime("%d %b %Y %H:%M")
        muted = self._colors.muted_fg.name()
        self.title.setText(
            f"<b>MedMitra server</b> <span style='color:{muted}'>· its own analysis, "
            f"received {when}. This computer's results above are separate and "
            f"unchanged.</span>")
        self.body.setText(_body_html(insight.payload))
        self.show()

    def set_colors(self, colors: ClinicalColors) -> None:
        self._colors = colors
        self._style()
        self.show_insight(self._insight)

    def _style(self) -> None:
        colors = self._colors
        accent = colors.link
        self.setStyleSheet(
            f"QFrame#remoteInsights {{ background: {blend(colors.base, accent, 0.06).name()};"
            f" border: 1px solid {blend(colors.base, accent, 0.35).name()};"
            f" border-left: 5px solid {accent.name()}; }}"
            f" QFrame#remoteInsights QLabel {{ background: transparent; border: none;"
            f" color: {colors.text.name()}; }}")


def _text(value: object) -> str:
    return html.escape(str(value)).replace("\n", "<br>") if value not in (None, "") else ""


def _items(values: object) -> list[str]:
    if not isinstance(values, Sequence) or isinstance(values, str):
        return []
    return [_text(value) for value in values if value not in (None, "")]


def _list(items: Sequence[str]) -> str:
    return "<ul style='margin-left: -20px'>" + "".join(f"<li>{i}</li>" for i in items) \
        + "</ul>"


def _body_html(payload: dict[str, Any]) -> str:
    parts: list[str] = []
    summary = _text(payload.get("comprehensive_summary"))
    if summary:
        parts.append(f"<p>{summary}</p>")
    findings = _items(payload.get("key_findings"))
    if findings:
        parts.append("<b>Key findings</b>" + _list(findings))
    diagnosis = _text(payload.get("primary_diagnosis"))
    if diagnosis:
        code = _text(payload.get("icd_code"))
        line = f"<b>Diagnosis:</b> {diagnosis}" + (f" ({code})" if code else "")
        description = _text(payload.get("diagnosis_description"))
        if description:
            line += f"<br>{description}"
        parts.append(f"<p>{line}</p>")
        evidence = _items(payload.get("supporting_evidence"))
        if evidence:
            parts.append("<b>Supporting evidence</b>" + _list(evidence))
    soap = [(letter, _text(payload.get(key))) for key, letter in SOAP_PARTS]
    if any(text for _, text in soap):
        parts.append("<b>SOAP</b><br>" + "<br>".join(
            f"<b>{letter}:</b> {text}" for letter, text in soap if text))
    scores = [f"{word} {value:.0%}" for key, word in SCORES
              if isinstance(value := payload.get(key), int | float)
              and not isinstance(value, bool) and 0 <= value <= 1]
    if scores:
        parts.append(f"<p><small>Server's confidence: {', '.join(scores)}</small></p>")
    return "".join(parts) or "<i>The server sent no readable insights.</i>"
