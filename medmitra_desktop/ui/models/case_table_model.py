"""The case list as a Qt table model that pages lazily through the case service.

Only the rows scrolled into view are ever loaded (canFetchMore / fetchMore), so a list of
100,000 cases costs one page of memory and one page query at a time.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from ...domain.records import CaseListItem, CaseQuery
from ...domain.validation import PAGE_SIZE_MAX
from ...services.cases import CaseService
from ..widgets.sync_state import sync_explanation, sync_word

PAGE_SIZE = 100
Index = QModelIndex | QPersistentModelIndex

# (header, sort key in the service or None when the column cannot be sorted)
COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("Patient", "patient_name"),
    ("Age", "patient_age"),
    ("Gender", "patient_gender"),
    ("Status", "status"),
    ("Documents", None),
    ("Updated", "updated_at"),
    ("Sync", None),
    ("Summary", None),
)
CASE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
# The Status column's status value ("processing", ...), and the running analysis's progress
# (0..1) or None.
STATUS_ROLE = Qt.ItemDataRole.UserRole + 2
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 3
STATUS_COLUMN = 3
# The Sync column's SyncState value, drawn with its icon by widgets/sync_state.py.
SYNC_ROLE = Qt.ItemDataRole.UserRole + 4
SYNC_COLUMN = 6
SUMMARY_COLUMN = 7
NEEDS_REVIEW = "needs_review"  # shown in place of "completed" (STATUS_ROLE)
NEEDS_REVIEW_TEXT = "Needs review"


class CaseTableModel(QAbstractTableModel):
    def __init__(self, service: CaseService, parent: Any = None) -> None:
        super().__init__(parent)
        self._service = service
        self._query = CaseQuery(size=PAGE_SIZE)
        self._rows: list[CaseListItem] = []
        self._row_of: dict[str, int] = {}  # case id -> row, for progress updates
        self._total = 0
        self._progress: dict[str, float] = {}

    # ---- what is shown ------------------------------------------------------------------

    @property
    def total(self) -> int:
        return self._total

    @property
    def query(self) -> CaseQuery:
        return self._query

    def set_query(self, query: CaseQuery) -> None:
        """Show the cases matching a query, from its first page."""
        self._query = dataclasses.replace(query, start=1, size=PAGE_SIZE)
        self.refresh()

    def refresh(self) -> None:
        page = self._service.list_cases(self._query)
        self.beginResetModel()
        self._rows = list(page.items)
        self._row_of = {item.case_id: row for row, item in enumerate(self._rows)}
        self._total = page.total
        self.endResetModel()

    def reload_loaded(self) -> None:
        """Read the loaded rows again after a change made in the background (a sync
        round). When the same cases come back in the same order, the rows are updated in
        place, so the selection, the current row and the scroll position stay; otherwise
        the model is reset with as many rows loaded as before."""
        wanted = max(len(self._rows), PAGE_SIZE)
        items: list[CaseListItem] = []
        total = 0
        while len(items) < wanted:
            page = self._service.list_cases(dataclasses.replace(
                self._query, start=len(items) + 1, size=min(PAGE_SIZE_MAX, wanted - len(items))))
            total = page.total
            items.extend(page.items)
            if not page.items or len(items) >= total:
                break
        if [item.case_id for item in items] == [item.case_id for item in self._rows] \
                and total == self._total:
            self._rows = items
            if items:
                self.dataChanged.emit(self.index(0, 0),
                                      self.index(len(items) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self._rows = items
        self._row_of = {item.case_id: row for row, item in enumerate(items)}
        self._total = total
        self.endResetModel()

    def set_progress(self, case_id: str, fraction: float) -> None:
        """Show a running analysis's progress in the Status column."""
        self._progress[case_id] = fraction
        self._status_changed(case_id)

    def clear_progress(self, case_id: str) -> None:
        if self._progress.pop(case_id, None) is not None:
            self._status_changed(case_id)

    def _status_changed(self, case_id: str) -> None:
        row = self._row_of.get(case_id)
        if row is not None:
            index = self.index(row, STATUS_COLUMN)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole, PROGRESS_ROLE])

    def case_id_at(self, row: int) -> str | None:
        return self._rows[row].case_id if 0 <= row < len(self._rows) else None

    def row_of(self, case_id: str) -> int | None:
        """The row of a loaded case, or None when it is not (yet) loaded."""
        return self._row_of.get(case_id)

    def patient_name_at(self, row: int) -> str | None:
        return self._rows[row].patient_name if 0 <= row < len(self._rows) else None

    # ---- Qt model API -------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def canFetchMore(self, parent: Index) -> bool:
        return not parent.isValid() and len(self._rows) < self._total

    def fetchMore(self, parent: Index) -> None:
        if not self.canFetchMore(parent):
            return
        page = self._service.list_cases(
            dataclasses.replace(self._query, start=len(self._rows) + 1)
        )
        if not page.items:
            # Rows vanished since the count (deleted elsewhere): stop asking for more.
            self._total = len(self._rows)
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page.items) - 1)
        self._rows.extend(page.items)
        self._row_of.update((item.case_id, row) for row, item in enumerate(page.items, first))
        self._total = page.total
        self.endInsertRows()

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(COLUMNS):
            return COLUMNS[section][0]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        item = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == STATUS_COLUMN and item.case_id in self._progress:
                return f"Processing {self._progress[item.case_id]:.0%}"
            if column == STATUS_COLUMN and item.needs_review:
                return NEEDS_REVIEW_TEXT
            return _display(item, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == STATUS_COLUMN and item.needs_review:
            return ("Analysed, but a document could not be read or a medication is only "
                    "partly captured: open the case to review it.")
        if role == Qt.ItemDataRole.ToolTipRole and column == SYNC_COLUMN:
            return sync_explanation(item.sync_state, item.sync_error)
        if role == Qt.ItemDataRole.ToolTipRole and column == SUMMARY_COLUMN:
            return item.one_line_summary
        if role == Qt.ItemDataRole.ToolTipRole and column == 5:
            return item.updated_at.astimezone().strftime("%d %b %Y %H:%M:%S")
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (1, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == CASE_ID_ROLE:
            return item.case_id
        if role == STATUS_ROLE and column == STATUS_COLUMN:
            return NEEDS_REVIEW if item.needs_review else item.status.value
        if role == PROGRESS_ROLE and column == STATUS_COLUMN:
            return self._progress.get(item.case_id)
        if role == SYNC_ROLE and column == SYNC_COLUMN:
            return item.sync_state.value
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        key = COLUMNS[column][1]
        if key is None:
            return
        self._query = dataclasses.replace(
            self._query, sort=key, descending=order == Qt.SortOrder.DescendingOrder
        )
        self.refresh()


def _display(item: CaseListItem, column: int) -> str | None:
    if column == 0:
        return item.patient_name
    if column == 1:
        return str(item.patient_age)
    if column == 2:
        return item.patient_gender.value.capitalize()
    if column == 3:
        return item.status.value.capitalize()
    if column == 4:
        return str(item.document_count)
    if column == 5:
        return item.updated_at.astimezone().strftime("%d %b %Y %H:%M")
    if column == SYNC_COLUMN:
        return sync_word(item.sync_state)
    if column == SUMMARY_COLUMN:
        return item.one_line_summary or ""
    return None
