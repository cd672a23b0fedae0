"""Read-only table views set up alike: whole rows, one selection, Tab moves on."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QWidget


def read_only_table(model: QAbstractItemModel, accessible_name: str,
                    widths: Sequence[int] = (), parent: QWidget | None = None) -> QTableView:
    table = QTableView(parent)
    table.setAccessibleName(accessible_name)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    # Tab leaves the table (arrow keys move inside it), so every control stays reachable.
    table.setTabKeyNavigation(False)
    table.verticalHeader().hide()
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    for column, width in enumerate(widths):
        header.resizeSection(column, width)
    return table


def heading(text: str, parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.15)
    label.setFont(font)
    return label


def fit_height_to_rows(table: QTableView, minimum_rows: int = 1, maximum_rows: int = 12) -> None:
    """A table as tall as its rows (within limits), for tables inside a scrolling page."""
    model = table.model()
    rows = max(minimum_rows, min(maximum_rows, model.rowCount() if model else 0))
    row_height = table.verticalHeader().defaultSectionSize()
    frame = table.frameWidth() * 2
    scrollbar = table.horizontalScrollBar().sizeHint().height()
    table.setFixedHeight(table.horizontalHeader().sizeHint().height() + rows * row_height
                         + frame + scrollbar)
