"""Sync with the MedMitra API: push the outbox, then pull the server's cases and insights.

Rules that keep the clinic's record safe:
- No database transaction is open during a network call; each answer is recorded in its
  own short transaction, so a crash at any point repeats at most one idempotent call.
- A POST (create, upload) is marked sent before it leaves. If its answer is lost, the next
  try first looks for it on the server (`GET /cases/all_cases`, `GET /cases/files`) and
  adopts what it finds, so a lost answer never makes a duplicate.
- The server has no versions, so before changing a case there the engine reads it and
  compares with the base both sides last agreed on. A field changed on both sides becomes
  a conflict for the doctor; nothing is overwritten silently in either direction.
- The server's ai_insights are stored as insights with source "remote", beside the
  local ones, never over them.
"""

from __future__ import annotations

import contextlib
import logging
import random
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.enums import AuditAction, DocumentCategory, OutboxOperation, SyncState
from ..domain.errors import MedMitraError
from ..domain.records import NewAttachment
from ..domain.validation import check_attachment, validate_case_fields
from ..storage.database import Database
from ..storage.filestore import FileStore
from ..storage.orm import Case, Document, Insight, OutboxEntry, utcnow
from ..sync.client import MedMitraClient, UploadFile
from ..sync.errors import (
    RemoteNotFound,
    ServerRefused,
    ServerUnreachable,
    SignInRequired,
    SyncError,
    UntrustedServer,
)
from ..sync.wire import CASE_FIELDS, RemoteCase, RemoteFile
from . import audit, outbox
from .cases import CASE_ENTITY, CaseService, set_fields

log = logging.getLogger(__name__)

Op = OutboxOperation
REFUSED_RETRY = timedelta(hours=1)  # a refused change waits for the doctor or "Sync now"


@dataclass
class SyncReport:
    pushed: int = 0          # outbox rows done
    pulled: int = 0          # cases created here from the server
    updated: int = 0         # cases changed here by remote edits
    conflicts: int = 0
    insights: int = 0        # new server insights stored
    processing: int = 0      # server analyses still running: poll again soon
    problems: list[str] = field(default_factory=list)
    offline: str | None = None   # the server could not be reached (normal when offline)
    sign_in: str | None = None   # the server refused the sign-in

    @property
    def ok(self) -> bool:
        return self.offline is None and self.sign_in is None and not self.problems


@dataclass(frozen=True)
class _Doc:
    uid: str
    file_name: str
    category: DocumentCategory
    sha256: str
    mime_type: str
    size_bytes: int
    remote_id: str | None


@dataclass(frozen=True)
class _Snapshot:
    id: int
    uid: str
    fields: dict[str, object]
    base: dict[str, object]
    remote_id: str | None
    state: SyncState
    deleted: bool
    documents: tuple[_Doc, ...]


class SyncEngine:
    def __init__(
        self,
        database: Database,
        files: FileStore,
        cases: CaseService,
        client: MedMitraClient,
        user_id: str,
        *,
        backoff_base: timedelta = timedelta(seconds=30),
        backoff_max: timedelta = timedelta(minutes=30),
        rng: random.Random | None = None,
    ) -> None:
        self._db = database
        self._files = files
        self._cases = cases
        self._client = client
        self._user = user_id
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._rng = rng or random.Random()
        self._new_conflicts = 0

    def close(self) -> None:
        self._client.close()

    # ---- one round ----------------------------------------------------------------------

    def run_once(self, *, force: bool = False, pull: bool = True,
                 should_stop: Callable[[], bool] = lambda: False) -> SyncReport:
        """Push what is due (everything, with force), then pull (unless pull=False). Never
        raises for network or server trouble: the report says what happened."""
        report = SyncReport()
        self._new_conflicts = 0
        try:
            self._enrol_local_cases()
            self._push(report, force=force, should_stop=should_stop)
            if pull and not should_stop():
                self._pull(report, should_stop)
        except (ServerUnreachable, UntrustedServer) as error:
            report.offline = str(error)
        except SignInRequired as error:
            report.sign_in = str(error)
        except SyncError as error:  # a broken answer to the case list: next round
            report.problems.append(str(error))
        report.conflicts = self._new_conflicts  # found while pushing or pulling
        return report

    def _enrol_local_cases(self) -> None:
        """Sync was just set up (or cases predate it): every local-only case, in the
        trash or not, is queued for creation on the server."""
        with self._db.session() as session:
            local = session.execute(
                select(Case).where(Case.sync_state == SyncState.LOCAL.value,
                                   Case.deleted_at.is_(None))).scalars().all()
            for case in local:
                case.sync_state = SyncState.PENDING.value
                if not any(row.operation == Op.CREATE.value
                           for row in outbox.rows_for(session, case.id)):
                    outbox.record(session, case, Op.CREATE)

    # ---- push ---------------------------------------------------------------------------

    def _push(self, report: SyncReport, *, force: bool,
              should_stop: Callable[[], bool]) -> None:
        now = utcnow()
        with self._db.read_session() as session:
            due = select(OutboxEntry.case_id, func.min(OutboxEntry.id).label("first")) \
                .group_by(OutboxEntry.case_id).order_by("first")
            if not force:
                due = due.where((OutboxEntry.next_try_at.is_(None))
                                | (OutboxEntry.next_try_at <= now))
            case_ids = [row.case_id for row in session.execute(due)]
        for case_id in case_ids:
            if should_stop():
                return
            try:
                report.pushed += self._push_case(case_id)
            except (ServerUnreachable, UntrustedServer, SignInRequired) as error:
                self._reschedule(case_id, error)
                raise  # no point trying the other cases now
            except ServerRefused as error:
                self._refused(case_id, error)
                report.problems.append(str(error))
            except SyncError as error:  # busy server, broken answer: later
                self._reschedule(case_id, error)
                report.problems.append(str(error))

    def _push_case(self, case_id: int | None) -> int:
        done = 0
        for _ in range(3):  # a create can leave uploads and an update to follow
            with self._db.read_session() as session:
                rows = list(session.execute(
                    select(OutboxEntry.id, OutboxEntry.operation, OutboxEntry.payload,
                           OutboxEntry.sent_at)
                    .where(OutboxEntry.case_id.is_(None) if case_id is None
                           else OutboxEntry.case_id == case_id)
                    .order_by(OutboxEntry.id)))
            if not rows:
                break
            for row in rows:
                handler = {
                    Op.CREATE.value: self._push_create,
                    Op.UPDATE.value: self._push_update,
                    Op.UPLOAD.value: self._push_upload,
                    Op.REMOVE.value: self._push_remove,
                    Op.REANALYZE.value: self._push_reanalyze,
                    Op.DELETE.value: self._push_delete,
                }[row.operation]
                handler(case_id, row)
                done += 1
            if case_id is None or not self._follow_up(case_id):
                break
        return done

    def _push_create(self, case_id: int | None, row: Any) -> None:
        snap = self._snapshot(case_id)
        if snap is None or snap.remote_id is not None:
            self._finish_row(row.id)
            return
        if row.sent_at is not None:
            sent = row.payload.get("sent") or snap.fields
            found = self._find_created(sent, [d for d in snap.documents])
            if found is not None:
                self._adopt(snap, row.id, *found)
                return
        if snap.deleted:
            self._finish_row(row.id)  # trashed before it ever reached the server
            return
        uploads = [self._upload_of(doc) for doc in snap.documents]
        self._mark_sent(row.id, {"sent": snap.fields})
        remote, files = self._client.create_case(self._user, snap.fields, uploads)
        self._adopt(snap, row.id, remote, files)

    def _push_update(self, case_id: int | None, row: Any) -> None:
        snap = self._snapshot(case_id)
        if snap is None or snap.remote_id is None or snap.deleted \
                or snap.state is SyncState.CONFLICT:
            self._finish_row(row.id)  # the create, the delete or the doctor covers it
            return
        local_changes = {name: value for name, value in snap.fields.items()
                         if snap.base.get(name) != value}
        if not local_changes:
            self._finish_row(row.id)
            return
        try:
            remote = self._client.get_case(snap.remote_id).case
        except RemoteNotFound:
            self._deleted_on_server(snap.id, row.id)
            return
        apply_here, push, conflicts = merge(snap.base, snap.fields, remote.fields())
        if conflicts:
            self._record_merge(snap.id, remote, apply_here, conflicts, row_id=row.id)
            return
        updated = self._client.update_case(snap.remote_id, push) if push else remote
        self._record_merge(snap.id, updated, apply_here, {}, row_id=row.id)

    def _push_upload(self, case_id: int | None, row: Any) -> None:
        snap = self._snapshot(case_id)
        doc = None if snap is None else next(
            (d for d in snap.documents if d.uid == row.payload.get("document")), None)
        if snap is None or doc is None or doc.remote_id is not None or snap.remote_id is None \
                or snap.deleted:
            self._finish_row(row.id)
            return
        remote_file = None
        if row.sent_at is not None:
            linked = {d.remote_id for d in snap.documents if d.remote_id}
            remote_file = next((f for f in self._client.list_files(snap.remote_id)
                                if f.file_id not in linked and _same_file(f, doc)), None)
        if remote_file is None:
            self._mark_sent(row.id, {"document": doc.uid})
            remote_file = self._client.upload(snap.remote_id, self._upload_of(doc))
        with self._db.session() as session:
            document = session.execute(
                select(Document).where(Document.uid == doc.uid)).scalar_one_or_none()
            if document is not None:
                document.remote_id = remote_file.file_id
            self._delete_row(session, row.id)

    def _push_remove(self, case_id: int | None, row: Any) -> None:
        snap = self._snapshot(case_id)
        remote_file = row.payload.get("remote_id")
        if snap is not None and snap.remote_id is not None and remote_file:
            with contextlib.suppress(RemoteNotFound):  # gone there: the wanted end
                self._client.delete_file(remote_file, snap.remote_id)
        self._finish_row(row.id)

    def _push_reanalyze(self, case_id: int | None, row: Any) -> None:
        snap = self._snapshot(case_id)
        if snap is not None and snap.remote_id is not None and not snap.deleted:
            try:
                self._client.analyze(snap.remote_id)
            except RemoteNotFound:
                self._deleted_on_server(snap.id, row.id)
                return
            with self._db.session() as session:
                case = session.get(Case, snap.id)
                if case is not None:
                    case.remote_base = {**(case.remote_base or {}), "status": "processing"}
        self._finish_row(row.id)

    def _push_delete(self, case_id: int | None, row: Any) -> None:
        snap = self._snapshot(case_id)
        remote_id = (snap.remote_id if snap is not None else None) \
            or row.payload.get("remote_id")
        if snap is not None and not snap.deleted:
            self._finish_row(row.id)  # restored meanwhile
            return
        if remote_id:
            with contextlib.suppress(RemoteNotFound):
                self._client.delete_case(remote_id)
        with self._db.session() as session:
            if snap is not None:
                case = session.get(Case, snap.id)
                if case is not None:
                    outbox.forget_remote(case)
            self._delete_row(session, row.id)

    def _follow_up(self, case_id: int) -> bool:
        """After a case's rows: queue what they left (files added while the create was
        in flight, edits made meanwhile), or call the case synced. True if work was
        queued."""
        with self._db.session() as session:
            case = session.get(Case, case_id)
            if case is None:
                return False
            if outbox.rows_for(session, case_id):
                return True
            if case.remote_id is None or case.deleted_at is not None \
                    or case.sync_state == SyncState.CONFLICT.value:
                return False
            queued = False
            for document in case.documents:
                if document.remote_id is None:
                    session.add(OutboxEntry(case_id=case.id, operation=Op.UPLOAD.value,
                                            payload={"document": document.uid}))
                    queued = True
            base = case.remote_base or {}
            if any(getattr(case, name) != base.get(name) for name in CASE_FIELDS):
                session.add(OutboxEntry(case_id=case.id, operation=Op.UPDATE.value,
                                        payload={}))
                queued = True
            if not queued:
                case.sync_state = SyncState.SYNCED.value
                case.sync_error = None
            return queued

    # ---- pull ---------------------------------------------------------------------------

    def _pull(self, report: SyncReport, should_stop: Callable[[], bool]) -> None:
        remote_cases, problems = self._client.list_cases(self._user)
        report.problems.extend(problems)
        with self._db.read_session() as session:
            known = {row.remote_id: row for row in session.execute(
                select(Case.id, Case.remote_id, Case.deleted_at, Case.sync_state,
                       Case.remote_base).where(Case.remote_id.is_not(None)))}
            waiting_deletes = {row.payload.get("remote_id") for row in session.execute(
                select(OutboxEntry.payload).where(OutboxEntry.operation == Op.DELETE.value))}
            # What our creates whose answers were lost sent: a server case with those
            # fields may be ours, to be adopted by the push, not imported as new.
            unconfirmed = [row.get("sent") for row in session.execute(
                select(OutboxEntry.payload).where(
                    OutboxEntry.operation == Op.CREATE.value,
                    OutboxEntry.sent_at.is_not(None))).scalars()]
            with_rows = set(session.execute(select(OutboxEntry.case_id).distinct()).scalars())
        for remote in remote_cases:
            if should_stop():
                return
            try:
                local = known.get(remote.case_id)
                if remote.case_id in waiting_deletes:
                    continue
                if local is None:
                    if remote.fields() in unconfirmed:
                        continue  # could be our own create whose answer was lost
                    self._import_case(remote, report)
                elif local.deleted_at is None and local.id not in with_rows:
                    self._refresh_case(local.id, local.remote_base or {}, remote, report)
            except (ServerUnreachable, UntrustedServer, SignInRequired):
                raise
            except (SyncError, MedMitraError) as error:
                report.problems.append(str(error))
        if not problems:
            self._notice_remote_deletions(known, {r.case_id for r in remote_cases},
                                          with_rows)

    def _refresh_case(self, case_id: int, base: Mapping[str, object], remote: RemoteCase,
                      report: SyncReport) -> None:
        snap = self._snapshot(case_id)
        if snap is None or snap.state is SyncState.CONFLICT:
            return
        apply_here, _, conflicts = merge(base, snap.fields, remote.fields())
        if apply_here or conflicts:
            self._record_merge(case_id, remote, apply_here, conflicts)
            report.updated += bool(apply_here)
        seen_status = base.get("status")
        if remote.status == "processing" or remote.status != seen_status \
                or (remote.status == "completed" and not self._has_remote_insight(case_id)):
            self._fetch_detail(snap, remote, report)

    def _fetch_detail(self, snap: _Snapshot, remote: RemoteCase, report: SyncReport) -> None:
        assert snap.remote_id is not None
        detail = self._client.get_case(snap.remote_id)
        if detail.case.status == "processing":
            report.processing += 1
        linked = {d.remote_id for d in snap.documents}
        new_files = [f for f in detail.files if f.file_id not in linked]
        if new_files:
            with self._downloads(new_files) as attachments:
                if attachments:
                    self._cases.attach_documents(
                        snap.uid, user_id=self._user,
                        attachments=[attachment for attachment, _ in attachments],
                        remote_file_ids=[file_id for _, file_id in attachments])
        with self._db.session() as session:
            case = session.get(Case, snap.id)
            if case is None:
                return
            case.remote_base = {**(case.remote_base or {}), "status": detail.case.status}
            if detail.insights and _store_insight(session, case.id, detail.insights):
                report.insights += 1

    def _import_case(self, remote: RemoteCase, report: SyncReport) -> None:
        detail = self._client.get_case(remote.case_id)
        with self._downloads(detail.files) as attachments:
            self._cases.create_from_server(
                user_id=self._user, remote_case_id=remote.case_id,
                fields=detail.case.fields(), attachments=attachments,
                remote_status=detail.case.status, remote_insights=detail.insights)
        report.pulled += 1
        report.insights += bool(detail.insights)
        if detail.case.status == "processing":
            report.processing += 1

    def _notice_remote_deletions(self, known: Mapping[str, Any], listed: set[str],
                                 with_rows: set[int | None]) -> None:
        gone = [row.id for remote_id, row in known.items()
                if remote_id not in listed and row.deleted_at is None
                and row.id not in with_rows and row.sync_state != SyncState.ERROR.value]
        if not gone:
            return
        with self._db.session() as session:
            for case_id in gone:
                case = session.get(Case, case_id)
                if case is not None:
                    case.sync_state = SyncState.ERROR.value
                    case.sync_error = ("This case was deleted on the MedMitra server (perhaps "
                                       "from another workstation). It is kept here.")

    # ---- helpers ------------------------------------------------------------------------

    def _snapshot(self, case_id: int | None) -> _Snapshot | None:
        if case_id is None:
            return None
        with self._db.read_session() as session:
            case = session.get(Case, case_id)
            if case is None:
                return None
            return _Snapshot(
                id=case.id, uid=case.uid,
                fields={name: getattr(case, name) for name in CASE_FIELDS},
                base=dict(case.remote_base or {}), remote_id=case.remote_id,
                state=SyncState(case.sync_state), deleted=case.deleted_at is not None,
                documents=tuple(
                    _Doc(d.uid, d.file_name, DocumentCategory(d.category), d.sha256,
                         d.mime_type, d.size_bytes, d.remote_id) for d in case.documents),
            )

    def _upload_of(self, doc: _Doc) -> UploadFile:
        return UploadFile(doc.file_name, doc.category, self._files.verify(doc.sha256),
                          doc.mime_type)

    def _find_created(self, sent: Mapping[str, object], documents: list[_Doc]
                      ) -> tuple[RemoteCase, list[RemoteFile]] | None:
        """Our create whose answer was lost: the oldest server case with the fields we
        sent that no local case is linked to yet."""
        remote_cases, _ = self._client.list_cases(self._user)
        with self._db.read_session() as session:
            linked = set(session.execute(
                select(Case.remote_id).where(Case.remote_id.is_not(None))).scalars())
        for remote in remote_cases:
            if remote.case_id not in linked and remote.fields() == dict(sent):
                return remote, self._client.list_files(remote.case_id)
        return None

    def _adopt(self, snap: _Snapshot, row_id: int, remote: RemoteCase,
               files: list[RemoteFile]) -> None:
        with self._db.session() as session:
            case = session.get(Case, snap.id)
            if case is not None:
                case.remote_id = remote.case_id
                case.remote_base = {**remote.fields(), "status": remote.status}
                unlinked = [d for d in case.documents if d.remote_id is None]
                for remote_file in files:
                    match = next((d for d in unlinked if _same_file(remote_file, d)), None)
                    if match is not None:
                        match.remote_id = remote_file.file_id
                        unlinked.remove(match)
            self._delete_row(session, row_id)

    def _record_merge(self, case_id: int, remote: RemoteCase, apply_here: Mapping[str, Any],
                      conflicts: Mapping[str, Any], *, row_id: int | None = None) -> None:
        if apply_here:  # the server's values must meet the local rules too
            validate_case_fields(dict(apply_here), partial=True)
        with self._db.session() as session:
            case = session.get(Case, case_id)
            if case is not None:
                base = {**(case.remote_base or {})}
                for name, value in remote.fields().items():
                    if name not in conflicts:
                        base[name] = value
                changed = set_fields(session, case, dict(apply_here))
                case.remote_base = base
                if conflicts:
                    self._new_conflicts += 1
                    case.sync_conflict = dict(conflicts)
                    case.sync_state = SyncState.CONFLICT.value
                    case.sync_error = ("Changed here and on the server: choose which "
                                       "values to keep.")
                if changed:
                    audit.record(session, user_id=self._user, action=AuditAction.SYNC_PULL,
                                 entity=CASE_ENTITY, entity_id=case.uid,
                                 detail="fields=" + ",".join(changed))
            if row_id is not None:
                self._delete_row(session, row_id)

    def _deleted_on_server(self, case_id: int, row_id: int) -> None:
        with self._db.session() as session:
            case = session.get(Case, case_id)
            if case is not None:
                case.sync_state = SyncState.ERROR.value
                case.sync_error = ("This case was deleted on the MedMitra server (perhaps "
                                   "from another workstation). It is kept here.")
            self._delete_row(session, row_id)

    def _has_remote_insight(self, case_id: int) -> bool:
        with self._db.read_session() as session:
            return session.execute(select(Insight.id).where(
                Insight.case_id == case_id, Insight.source == "remote").limit(1)).first() \
                is not None

    def _downloads(self, files: tuple[RemoteFile, ...] | list[RemoteFile]) -> _Downloads:
        return _Downloads(self._client, self._files.root / "incoming", files)

    def _mark_sent(self, row_id: int, payload: dict[str, object]) -> None:
        with self._db.session() as session:
            row = session.get(OutboxEntry, row_id)
            if row is not None:
                row.sent_at = utcnow()
                row.payload = {**row.payload, **payload}

    def _finish_row(self, row_id: int) -> None:
        with self._db.session() as session:
            self._delete_row(session, row_id)

    @staticmethod
    def _delete_row(session: Session, row_id: int) -> None:
        row = session.get(OutboxEntry, row_id)
        if row is not None:
            session.delete(row)

    def _reschedule(self, case_id: int | None, error: SyncError) -> None:
        with self._db.session() as session:
            rows = session.execute(select(OutboxEntry).where(
                OutboxEntry.case_id.is_(None) if case_id is None
                else OutboxEntry.case_id == case_id)).scalars().all()
            for row in rows:
                row.attempts += 1
                row.last_error = str(error)
                row.next_try_at = utcnow() + self._backoff(row.attempts)
            case = session.get(Case, case_id) if case_id is not None else None
            if case is not None and case.sync_state != SyncState.CONFLICT.value:
                case.sync_error = str(error)

    def _refused(self, case_id: int | None, error: SyncError) -> None:
        with self._db.session() as session:
            for row in session.execute(select(OutboxEntry).where(
                    OutboxEntry.case_id.is_(None) if case_id is None
                    else OutboxEntry.case_id == case_id)).scalars():
                row.sent_at = None  # a 4xx answer: the server did not carry it out
                row.attempts += 1
                row.last_error = str(error)
                row.next_try_at = utcnow() + REFUSED_RETRY
            case = session.get(Case, case_id) if case_id is not None else None
            if case is not None:
                case.sync_state = SyncState.ERROR.value
                case.sync_error = str(error)

    def _backoff(self, attempts: int) -> timedelta:
        ceiling = min(self._backoff_max, self._backoff_base * 2 ** min(attempts - 1, 16))
        return ceiling * self._rng.uniform(0.5, 1.0)


def merge(base: Mapping[str, object], local: Mapping[str, object],
          remote: Mapping[str, object]) -> tuple[dict[str, object], dict[str, object],
                                                  dict[str, dict[str, object]]]:
    """Three-way merge of the patient fields against the base both sides agreed on:
    (remote changes to apply here, local changes to send, fields changed on both sides
    to different values)."""
    apply_here: dict[str, object] = {}
    push: dict[str, object] = {}
    conflicts: dict[str, dict[str, object]] = {}
    for name in CASE_FIELDS:
        was, mine, theirs = base.get(name), local.get(name), remote.get(name)
        if mine != was and theirs != was and mine != theirs:
            conflicts[name] = {"local": mine, "remote": theirs}
        elif theirs != was and mine == was:
            apply_here[name] = theirs
        elif mine != was and theirs == was:
            push[name] = mine
    return apply_here, push, conflicts


def _same_file(remote: RemoteFile, doc: _Doc | Document) -> bool:
    size = doc.size_bytes
    return remote.category.value == str(doc.category) and remote.file_name == doc.file_name \
        and (remote.file_size is None or remote.file_size == size)


def _store_insight(session: Session, case_id: int, payload: dict[str, Any]) -> bool:
    """A new revision of the server's insights, unless they are unchanged."""
    latest = session.execute(
        select(Insight).where(Insight.case_id == case_id, Insight.source == "remote")
        .order_by(Insight.revision.desc()).limit(1)).scalar_one_or_none()
    if latest is not None and latest.payload == payload:
        return False
    session.add(Insight(case_id=case_id, source="remote",
                        revision=(latest.revision + 1) if latest else 1, payload=payload))
    return True


class _Downloads:
    """Download server files into the data folder's incoming area (never to a path a
    server chose: names are only labels), check each by content, and clean up after."""

    def __init__(self, client: MedMitraClient, incoming: Path,
                 files: tuple[RemoteFile, ...] | list[RemoteFile]) -> None:
        self._client = client
        self._incoming = incoming
        self._files = list(files)
        self._paths: list[Path] = []

    def __enter__(self) -> list[tuple[NewAttachment, str]]:
        self._incoming.mkdir(parents=True, exist_ok=True)
        attachments = []
        for remote_file in self._files:
            handle = tempfile.NamedTemporaryFile(dir=self._incoming, prefix="pull-",
                                                 delete=False)
            path = Path(handle.name)
            self._paths.append(path)
            with handle:
                self._client.download(remote_file.file_id, handle)
            attachment = NewAttachment(path, remote_file.category, remote_file.file_name)
            _, problem = check_attachment(attachment, f"{remote_file.category.value}_files")
            if problem is not None:
                # The message names the file, and file names can name patients.
                log.warning("A file from the server was refused by the content check")
                log.debug("Refused server file: %s", problem.message)
                continue
            attachments.append((attachment, remote_file.file_id))
        return attachments

    def __exit__(self, *_: object) -> None:
        for path in self._paths:
            path.unlink(missing_ok=True)

