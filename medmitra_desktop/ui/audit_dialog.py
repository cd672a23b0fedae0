"""The audit log, read-only (File > Audit log…), and the check of its hash chain that the
window runs at every start. Nothing here can change the trail."""

from __future__ import annotations

import logging

from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..services.audit_review import AuditCheck, check_chain, list_events
from ..storage.database import Database
from .widgets.tables import read_only_table

log = logging.getLogger(__name__)

HEADERS = ("When (UTC)", "User", "Action", "Record", "Detail", "Chain")
SHOWN_ROWS = 1000


def warn_if_audit_broken(parent: QWidget | None, database: Database) -> AuditCheck:
    """The start-up check: a broken chain is told to the doctor in a message box (the app
    goes on); an intact one says nothing."""
    check = check_chain(database)
    if not check.intact:
        # Row ids only: the trail holds no patient data, but the log needs no more.
        log.warning("Audit chain broken at %d of %d rows (first id %d)", len(check.broken),
                    check.rows, check.broken[0])
        QMessageBox.warning(parent, APP_NAME, check.message())
    else:
        log.info("Audit chain verified: %d rows", check.rows)
    return check


class AuditLogDialog(QDialog):
    def __init__(self, database: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Audit log")
        self.resize(900, 520)
        self.check = check_chain(database)
        self.summary = QLabel(self._summary_text())
        self.summary.setWordWrap(True)
        self.model = QStandardItemModel(0, len(HEADERS), self)
        self.model.setHorizontalHeaderLabels(list(HEADERS))
        for row in list_events(database, limit=SHOWN_ROWS):
            event = row.event
            cells = (f"{event.at:%Y-%m-%d %H:%M:%S}", event.user_id, event.action,
                     f"{event.entity} {event.entity_id}", event.detail,
                     "ok" if row.intact else "CHANGED")
            items = []
            for text in cells:
                item = QStandardItem(text)
                item.setEditable(False)
                items.append(item)
            self.model.appendRow(items)
        self.table = read_only_table(self.model, "Audit log entries",
                                     (150, 110, 110, 300, 160, 80), self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)

    def _summary_text(self) -> str:
        if not self.check.intact:
            return self.check.message()
        shown = min(self.check.rows, SHOWN_ROWS)
        return (f"{self.check.rows:,} entries; the chain of hashes checks out. "
                f"The newest {shown:,} are shown. The log records who did what to which "
                f"case and when; it holds no patient data and cannot be edited here.")
