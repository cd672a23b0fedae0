"""Lab results as a table: abnormal rows tinted, critical ones red and bold and marked."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont

from ...services.case_results import LabResultView
from ...services.result_wording import lab_source, reference_text
from .rows_model import RowsTableModel

SORT_ROLE = Qt.ItemDataRole.UserRole + 2

COLUMNS = ("Test", "Result", "Unit", "Reference", "Flag", "Source")
TEST, RESULT, UNIT, REFERENCE, FLAG, SOURCE = range(len(COLUMNS))

KNOWLEDGE_BASE_NOTE = ("reference range from the app's knowledge base: the report printed "
                       "none")
CRITICAL_MARK = "⚠ CRITICAL"
_FLAG_WORDS = {"L": "Low", "H": "High", "LL": "Low", "HH": "High", "A": "Abnormal"}
_FLAG_MEANING = {
    "L": "below the reference range",
    "H": "above the reference range",
    "LL": "below the critical limit",
    "HH": "above the critical limit",
    "A": "abnormal (the report marks it so, or a qualitative result out of range)",
    "N": "within the reference range",
}
# Sort order for the Flag column: critical first, then abnormal, then normal, then unknown.
_FLAG_RANK = {"LL": 0, "HH": 0, "L": 1, "H": 1, "A": 1, "N": 2}


def is_critical(row: LabResultView) -> bool:
    return row.critical or row.flag in ("LL", "HH")


def is_abnormal(row: LabResultView) -> bool:
    return is_critical(row) or row.flag in ("L", "H", "A")


def flag_text(row: LabResultView) -> str:
    if is_critical(row):
        word = _FLAG_WORDS.get(row.flag or "", "")
        return f"{CRITICAL_MARK} {word.upper()}".rstrip()
    if row.flag is None:
        return "—"
    return _FLAG_WORDS.get(row.flag, "")


class LabTableModel(RowsTableModel[LabResultView]):
    columns = COLUMNS

    def cell(self, row: LabResultView, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(row, column)
        if role == Qt.ItemDataRole.BackgroundRole:
            if is_critical(row):
                return self._colors.critical_bg
            if is_abnormal(row):
                return self._colors.abnormal_bg
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if column in (RESULT, FLAG):
                if is_critical(row):
                    return self._colors.critical_fg
                if is_abnormal(row):
                    return self._colors.abnormal_fg
            if column == REFERENCE and row.ref_source == "knowledge_base":
                return self._colors.muted_fg
            return None
        if role == Qt.ItemDataRole.FontRole:
            return _font(row, column)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return _accessible(row, column)
        if role == SORT_ROLE:
            return _sort_key(row, column)
        return None


def _display(row: LabResultView, column: int) -> str:
    if column == TEST:
        return row.test
    if column == RESULT:
        return row.value_text
    if column == UNIT:
        return row.unit or ""
    if column == REFERENCE:
        return reference_text(row)
    if column == FLAG:
        return flag_text(row)
    return lab_source(row)


def _tooltip(row: LabResultView, column: int) -> str | None:
    notes: list[str] = []
    if column == TEST:
        if row.test_printed and row.test_printed != row.test:
            notes.append(f"printed as “{row.test_printed}”")
        if row.loinc:
            notes.append(f"LOINC {row.loinc}")
    elif column == RESULT:
        if row.repaired:
            notes.append(f"OCR repair: {row.repaired}")
        if row.row_text:
            notes.append(f"as read: {row.row_text}")
    elif column == REFERENCE:
        if row.ref_source == "knowledge_base":
            notes.append(KNOWLEDGE_BASE_NOTE)
        elif row.ref_source is None and not reference_text(row):
            notes.append("no reference range: the report printed none and the app's "
                         "knowledge base has none for this test")
    elif column == FLAG:
        if row.flag is None:
            notes.append("no flag: there is no reference range to judge this value against")
        else:
            notes.append(f"{row.flag}: {_FLAG_MEANING.get(row.flag, row.flag)}")
        if row.critical and row.flag not in ("LL", "HH"):
            notes.append("critical value")
        if row.flag_printed:
            notes.append(f"the report printed the flag “{row.flag_printed}”")
        if row.flag_note:
            notes.append(row.flag_note)
        if row.repaired:
            notes.append(f"OCR repair: {row.repaired}")
    elif column == SOURCE and row.row_text:
        notes.append(f"as read: {row.row_text}")
    return "\n".join(notes) or None


def _font(row: LabResultView, column: int) -> QFont | None:
    bold = is_critical(row) or (is_abnormal(row) and column in (RESULT, FLAG))
    italic = column == REFERENCE and row.ref_source == "knowledge_base"
    if not (bold or italic):
        return None
    font = QFont()
    font.setBold(bold)
    font.setItalic(italic)
    return font


def _accessible(row: LabResultView, column: int) -> str:
    if column == FLAG:
        if is_critical(row):
            return f"critical, {_FLAG_MEANING.get(row.flag or '', 'abnormal')}"
        return _FLAG_MEANING.get(row.flag or "", "no flag")
    return _display(row, column)


def _sort_key(row: LabResultView, column: int) -> Any:
    if column == RESULT:
        return row.value if row.value is not None else float("inf")
    if column == FLAG:
        return 0 if is_critical(row) else _FLAG_RANK.get(row.flag or "", 3)
    if column == SOURCE:
        return f"{(row.document_name or '').casefold()}\x00{row.page or 0:06d}"
    return _display(row, column).casefold()
