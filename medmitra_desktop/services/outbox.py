"""The outbox: every local change a server must hear about, written in the same
transaction as the change itself, so a change is never lost or sent without being made.

Rows are intents, not snapshots: the sync engine sends the case as it is when the row is
drained, so rows that another row already covers are not written at all (a case waiting
to be created needs no update rows; one waiting update covers the next ones). A clinic
that never sets up sync keeps at most one create row per case.
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..domain.enums import OutboxOperation, SyncState
from ..storage.orm import Case, Document, OutboxEntry

Op = OutboxOperation
# Operations the engine derives from the case's state when it pushes: one row is enough.
_ONE_PER_CASE = {Op.CREATE, Op.UPDATE, Op.REANALYZE}


def rows_for(session: Session, case_id: int) -> list[OutboxEntry]:
    return list(session.execute(
        select(OutboxEntry).where(OutboxEntry.case_id == case_id).order_by(OutboxEntry.id)
    ).scalars())


def record(session: Session, case: Case, operation: Op,
           document: Document | None = None) -> None:
    """Note one local change to a case (call inside the change's own transaction)."""
    rows = rows_for(session, case.id)
    operations = {row.operation for row in rows}
    waiting_create = Op.CREATE.value in operations
    if operation in (Op.UPDATE, Op.UPLOAD, Op.REANALYZE) and waiting_create:
        return  # the create sends the case as it will be then, files included
    if operation in _ONE_PER_CASE and operation.value in operations:
        return
    payload: dict[str, object] = {}
    if document is not None:
        payload = {"document": document.uid}
        if operation is Op.UPLOAD and any(
                row.operation == Op.UPLOAD.value and row.payload == payload for row in rows):
            return
        if operation is Op.REMOVE:
            if document.remote_id is None:
                _drop(session, [row for row in rows if row.payload.get("document")
                                == document.uid])
                return  # never reached the server
            payload["remote_id"] = document.remote_id
    if operation is Op.DELETE:
        if case.remote_id is None and not any(row.sent_at for row in rows):
            _drop(session, rows)  # the server never saw it
            return
        payload = {"remote_id": case.remote_id}
    session.add(OutboxEntry(case_id=case.id, operation=operation.value, payload=payload))
    mark_pending(case)


def record_created(session: Session, case_ids: list[int]) -> None:
    """Cases the server must hear about as new (just made here, or made before sync was
    set up): one create row each."""
    if case_ids:
        session.execute(insert(OutboxEntry.__table__), [
            {"case_id": case_id, "operation": Op.CREATE.value, "payload": {}}
            for case_id in case_ids])


def restored(session: Session, case: Case) -> None:
    """A case came back from the trash. If its delete never left, the server still has
    it; otherwise it is created on the server again, as a new case there."""
    rows = rows_for(session, case.id)
    deletes = [row for row in rows if row.operation == Op.DELETE.value and not row.sent_at]
    if deletes:
        _drop(session, deletes)
        if not rows_for(session, case.id) and case.sync_state == SyncState.PENDING.value:
            case.sync_state = SyncState.SYNCED.value
        return
    if case.remote_id is not None:
        forget_remote(case)
    record(session, case, Op.CREATE)


def forget_remote(case: Case) -> None:
    case.remote_id = None
    case.remote_base = None
    case.sync_conflict = None
    for document in case.documents:
        document.remote_id = None


def mark_pending(case: Case) -> None:
    # "local" stays local until sync is set up; a conflict stays until the doctor decides.
    if case.sync_state in (SyncState.SYNCED.value, SyncState.ERROR.value):
        case.sync_state = SyncState.PENDING.value
        case.sync_error = None


def _drop(session: Session, rows: list[OutboxEntry]) -> None:
    for row in rows:
        session.delete(row)
    session.flush()
