"""Table models of the case detail: differential, medications, documents, history.

Each holds plain immutable rows handed over by the view; none reads the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont

from ...domain.enums import DocumentStatus
from ...domain.records import DocumentRecord
from ...services.audit import AuditEvent
from ...services.case_results import MedicationView
from ...services.result_wording import STATE_WORDS, medication_source, review_text
from ..views import evidence
from ..widgets.clinical_colors import ClinicalColors
from .rows_model import RowsTableModel

# ---- differential ---------------------------------------------------------------------


class DifferentialTableModel(RowsTableModel[dict[str, Any]]):
    """The rule-based differential; evidence cites documents by their file names."""

    columns = ("Condition", "ICD-10", "Confidence", "Evidence")

    def __init__(self, colors: ClinicalColors, parent: Any = None) -> None:
        super().__init__(colors, parent)
        self._documents: tuple[DocumentRecord, ...] = ()

    def set_differential(self, items: Sequence[dict[str, Any]],
                         documents: Sequence[DocumentRecord]) -> None:
        self._documents = tuple(documents)
        self.set_rows(items)

    def cell(self, row: dict[str, Any], column: int, role: int) -> Any:
        entries = [str(e) for e in row.get("evidence") or ()]
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return str(row.get("condition") or "")
            if column == 1:
                return str(row.get("icd10") or "")
            if column == 2:
                return confidence_text(row.get("confidence"))
            return "; ".join(evidence.plain(e, self._documents) for e in entries)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0:
                source = f"\nRule source: {row['source']}" if row.get("source") else ""
                return f"{row.get('condition') or ''}{source}"
            if column == 3 and entries:
                return "\n".join(evidence.plain(e, self._documents) for e in entries)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def confidence_text(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.0%}"
    return ""


# ---- medications ----------------------------------------------------------------------

STATE_MEANING = {
    "verified": "seen in this case's documents or notes (as on the earlier case, if any)",
    "changed": "dose, route or frequency differs from the earlier case or was edited",
    "stopped": "stopped or held",
    "unverified": "on the patient's earlier case but not seen in this one",
    "flagged": "only partly captured or conflicting: check it",
}


class MedicationTableModel(RowsTableModel[MedicationView]):
    columns = ("Medication", "Dose", "Route", "Frequency", "Duration", "Review", "Source")

    def cell(self, row: MedicationView, column: int, role: int) -> Any:
        state = row.review_state
        if role == Qt.ItemDataRole.DisplayRole:
            values = (row.name, row.dose, row.route, row.frequency, row.duration,
                      review_text(row), medication_source(row))
            return values[column] or ""
        if role == Qt.ItemDataRole.ToolTipRole:
            return _medication_tooltip(row, column)
        if role == Qt.ItemDataRole.BackgroundRole and state == "flagged":
            return self._colors.abnormal_bg
        if role == Qt.ItemDataRole.ForegroundRole:
            if state in ("stopped", "unverified"):
                return self._colors.muted_fg
            if state == "flagged" and column == 5:
                return self._colors.abnormal_fg
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            if state == "stopped" and column == 0:
                font.setStrikeOut(True)
                return font
            if state in ("flagged", "changed") and column == 5:
                font.setBold(True)
                return font
            if state == "unverified" and column == 5:
                font.setItalic(True)
                return font
        return None


def _medication_tooltip(row: MedicationView, column: int) -> str | None:
    details = row.review_details
    if column == 5:
        lines = [f"{STATE_WORDS.get(row.review_state, row.review_state)}: "
                 f"{STATE_MEANING.get(row.review_state, '')}"]
        if details.get("reason"):
            lines.append(f"Reason: {details['reason']}")
        if details.get("change_date"):
            lines.append(f"Date of change: {details['change_date']}")
        if details.get("is_approved") == "yes":
            lines.append(f"Reviewed by {details.get('approved_doctor') or 'a doctor'}"
                         + (f" at {details['approved_at']}" if details.get("approved_at")
                            else ""))
        return "\n".join(lines)
    if column == 6 or column == 0:
        return f"As written: {row.source_text}" if row.source_text else None
    return None


# ---- documents ------------------------------------------------------------------------

DOCUMENT_STATUS_WORDS = {
    DocumentStatus.QUEUED: "Waiting for analysis",
    DocumentStatus.PROCESSING: "Being analysed",
    DocumentStatus.OK: "Analysed",
    DocumentStatus.FAILED: "Failed",
    DocumentStatus.NEEDS_PASSWORD: "Needs a password",
    DocumentStatus.OCR_UNAVAILABLE: "OCR not available",
}


class DocumentTableModel(RowsTableModel[DocumentRecord]):
    columns = ("File", "Type", "Status", "Pages", "Problem")

    def cell(self, row: DocumentRecord, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return row.file_name
            if column == 1:
                return "Lab report" if row.category.value == "lab" else "Radiology report"
            if column == 2:
                return DOCUMENT_STATUS_WORDS.get(row.status, row.status.value)
            if column == 3:
                return "" if row.pages is None else str(row.pages)
            return row.error or ""
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 4 and row.error:
                return row.error
            if column == 0:
                return f"{row.mime_type}, {row.size_bytes:,} bytes"
        if role == Qt.ItemDataRole.ForegroundRole and column in (2, 4) and row.status in (
                DocumentStatus.FAILED, DocumentStatus.NEEDS_PASSWORD,
                DocumentStatus.OCR_UNAVAILABLE):
            return self._colors.critical_fg if row.status is DocumentStatus.FAILED \
                else self._colors.abnormal_fg
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 3:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


# ---- history --------------------------------------------------------------------------

ACTION_WORDS = {
    "create": "Created",
    "view": "Opened",
    "update": "Changed",
    "delete": "Moved to trash",
    "restore": "Restored from trash",
    "purge": "Deleted permanently",
    "export": "Exported",
    "attach": "Documents attached",
    "remove_document": "Document removed",
    "reanalyze": "Re-analysis requested",
    "link_patient": "Linked to a patient",
    "unlink_patient": "Unlinked from its patient",
}


def history_detail(event: AuditEvent) -> str:
    detail = event.detail or ""
    if detail.startswith("fields="):
        names = [name.replace("patient_", "").replace("_", " ")
                 for name in detail.removeprefix("fields=").split(",")]
        return "changed " + ", ".join(names)
    if detail.startswith("documents="):
        return f"{detail.removeprefix('documents=')} document(s)"
    return detail


class HistoryTableModel(RowsTableModel[AuditEvent]):
    columns = ("Time", "User", "Action", "Detail")

    def cell(self, row: AuditEvent, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return row.at.astimezone().strftime("%d %b %Y %H:%M:%S")
            if column == 1:
                return row.user_id
            if column == 2:
                return ACTION_WORDS.get(row.action, row.action)
            return history_detail(row)
        if role == Qt.ItemDataRole.ToolTipRole and column == 3 and row.detail:
            return row.detail
        return None
