"""Checking and reading the audit trail as a whole: the check run at every start of the
window (and by `audit verify`), and the read-only listing behind the Audit log dialog and
`audit list`.

The check walks the chain in id order with plain tuples (no ORM objects), so a start-up
with a large trail stays quick. A broken chain is reported to the doctor in words, never
raised: the cases themselves are not affected by it, and the app keeps working.

What the chain shows: a row edited or deleted by anything that did not recompute every
later hash. Someone able to rewrite the whole table consistently is not caught by a chain
kept in the same file; that needs a copy of the last hash elsewhere (a backup, the server).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..storage.database import Database
from ..storage.orm import AuditEntry
from .audit import GENESIS_HASH, AuditEvent, _row_hash

_BATCH = 2000


@dataclass(frozen=True)
class AuditCheck:
    rows: int
    broken: tuple[int, ...]  # ids of rows whose hash or link does not check out
    first_broken_at: datetime | None = None

    @property
    def intact(self) -> bool:
        return not self.broken

    def message(self) -> str:
        """What the doctor reads; empty when the trail is intact."""
        if self.intact:
            return ""
        when = (f", the first from {self.first_broken_at:%d %b %Y %H:%M} UTC"
                if self.first_broken_at else "")
        return (
            f"The audit log was changed outside MedMitra Desktop: {len(self.broken)} of its "
            f"{self.rows} entries do not match the chain of entries before them{when}. "
            f"Your cases are not affected and you can keep working. Keep a copy of the data "
            f"folder as it is now and tell whoever looks after this computer: the log can no "
            f"longer prove who did what before that point.")


def check_chain(database: Database) -> AuditCheck:
    """Walk the whole chain; never raises for a broken one."""
    broken: list[int] = []
    first_at: datetime | None = None
    expected_prev = GENESIS_HASH
    rows = 0
    columns = (AuditEntry.id, AuditEntry.at, AuditEntry.user_id, AuditEntry.action,
               AuditEntry.entity, AuditEntry.entity_id, AuditEntry.detail,
               AuditEntry.prev_hash, AuditEntry.hash)
    last_id = 0
    with database.read_session() as session:
        while True:
            batch = session.execute(select(*columns).where(AuditEntry.id > last_id)
                                    .order_by(AuditEntry.id).limit(_BATCH)).all()
            if not batch:
                break
            for (row_id, at, user_id, action, entity, entity_id, detail, prev_hash,
                 stored_hash) in batch:
                rows += 1
                digest = _row_hash(prev_hash, at, user_id, action, entity, entity_id,
                                   detail or "")
                if prev_hash != expected_prev or digest != stored_hash:
                    broken.append(row_id)
                    first_at = first_at or at
                expected_prev = stored_hash
            last_id = batch[-1][0]
    return AuditCheck(rows, tuple(broken), first_at)


@dataclass(frozen=True)
class AuditRow:
    """One row as the viewer shows it: who, when, what, on which record. No patient data
    is in the trail, so nothing here needs hiding."""

    id: int
    event: AuditEvent
    intact: bool


def list_events(database: Database, *, entity_id: str | None = None, limit: int = 500,
                before_id: int | None = None) -> list[AuditRow]:
    """The newest events first, `limit` at a time (page back with before_id); each marked
    with whether its row checks out against the one before it."""
    limit = max(1, min(limit, 5000))
    with database.read_session() as session:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if entity_id is not None:
            query = query.where(AuditEntry.entity_id == entity_id)
        if before_id is not None:
            query = query.where(AuditEntry.id < before_id)
        rows = list(session.execute(query).scalars())
        result = []
        for row in rows:
            # The link is checked against whatever row precedes it now (a deleted row
            # shows as a link that no longer fits), as check_chain does.
            expected_prev = session.execute(
                select(AuditEntry.hash).where(AuditEntry.id < row.id)
                .order_by(AuditEntry.id.desc()).limit(1)).scalar_one_or_none() or GENESIS_HASH
            digest = _row_hash(row.prev_hash, row.at, row.user_id, row.action, row.entity,
                               row.entity_id, row.detail or "")
            intact = digest == row.hash and row.prev_hash == expected_prev
            result.append(AuditRow(row.id, AuditEvent(row.at, row.user_id, row.action,
                                                      row.entity, row.entity_id,
                                                      row.detail or ""), intact))
        return result
