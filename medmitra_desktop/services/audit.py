"""The audit trail: who did what to which record, when. Never patient data.

Rows form a hash chain (each row's hash covers the previous one), so an edited or deleted
row is detected by verify_chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..domain.enums import AuditAction
from ..storage.orm import AuditEntry, utcnow

GENESIS_HASH = "0" * 64
_CHAIN_END = "audit.chain_end"  # key in Session.info


@dataclass(frozen=True)
class AuditEvent:
    at: datetime
    user_id: str
    action: str
    entity: str
    entity_id: str
    detail: str


def _row_hash(prev_hash: str, at: datetime, user_id: str, action: str, entity: str,
              entity_id: str, detail: str) -> str:
    canonical = json.dumps(
        [prev_hash, at.isoformat(), user_id, action, entity, entity_id, detail],
        ensure_ascii=True, separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(session: Session, *, user_id: str, action: AuditAction, entity: str,
           entity_id: str, detail: str = "") -> None:
    """Append one audit row in the caller's transaction (writes are serialised)."""
    record_many(session, user_id=user_id, action=action, entity=entity,
                entries=[(entity_id, detail)])


def record_many(session: Session, *, user_id: str, action: AuditAction, entity: str,
                entries: Sequence[tuple[str, str]]) -> None:
    """Append one audit row per (entity id, detail), in order, in one statement."""
    # A writing session holds the write lock until it ends, so the row it appended last
    # is still the end of the chain: a batch of thousands asks the database once.
    prev_hash = session.info.get(_CHAIN_END) or session.execute(
        select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).scalar_one_or_none() or GENESIS_HASH
    # Second precision: SQLite round-trips it exactly, so the hash can be re-derived.
    at = utcnow().replace(microsecond=0)
    rows = []
    for entity_id, detail in entries:
        row_hash = _row_hash(prev_hash, at, user_id, action.value, entity, entity_id, detail)
        rows.append({"at": at, "user_id": user_id, "action": action.value, "entity": entity,
                     "entity_id": entity_id, "detail": detail, "prev_hash": prev_hash,
                     "hash": row_hash})
        prev_hash = row_hash
    if rows:
        # One executemany inserts in list order, so ids follow the chain.
        session.execute(insert(AuditEntry.__table__), rows)
        session.info[_CHAIN_END] = prev_hash


def events_for(session: Session, entity_id: str) -> list[AuditEvent]:
    rows = session.execute(
        select(AuditEntry).where(AuditEntry.entity_id == entity_id).order_by(AuditEntry.id)
    ).scalars()
    return [
        AuditEvent(row.at, row.user_id, row.action, row.entity, row.entity_id, row.detail)
        for row in rows
    ]


def verify_chain(session: Session) -> list[int]:
    """Ids of audit rows whose hash or link does not check out (empty when intact)."""
    broken: list[int] = []
    expected_prev = GENESIS_HASH
    for row in session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars():
        digest = _row_hash(row.prev_hash, row.at, row.user_id, row.action, row.entity,
                           row.entity_id, row.detail)
        if row.prev_hash != expected_prev or digest != row.hash:
            broken.append(row.id)
        expected_prev = row.hash
    return broken
