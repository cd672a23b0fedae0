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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from ..domain.enums import AuditAction, DocumentCategory, OutboxOperation, SyncState
from ..domain.errors import MedMitraError, ValidationError
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
from ..sync.wire import CASE_FIELDS, RemoteCase, RemoteCaseDetail, RemoteFile
from . import audit, outbox
from .cases import CASE_ENTITY, CaseService, PulledCase, set_fields
from .prefetch import Batching, Failed, Prefetch

log = logging.getLogger(__name__)

Op = OutboxOperation
REFUSED_RETRY = timedelta(hours=1)  # a refused change waits for the doctor or "Sync now"
PUSH_BATCH = 50  # new cases marked sent, and their answers recorded, per transaction
# Pulled cases are stored in batches, one transaction each: up to 500 cases, fewer once
# their files add up to 64 MB, or what arrived in 2 s (cases appear soon on a slow
# network).
IMPORT_BATCHING = Batching(most=500, wait=2.0, weight=64 * 1024 * 1024)


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
        self._listing: list[RemoteCase] | None = None

    def close(self) -> None:
        self._client.close()

    # ---- one round ----------------------------------------------------------------------

    def run_once(self, *, force: bool = False, pull: bool = True,
                 should_stop: Callable[[], bool] = lambda: False) -> SyncReport:
        """Push what is due (everything, with force), then pull (unless pull=False). Never
        raises for network or server trouble: the report says what happened."""
        report = SyncReport()
        self._new_conflicts = 0
        self._listing = None
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
        """Sync was just set up (or cases predate it): every local-only case not in the
        trash is queued for creation on the server."""
        local_live = (Case.sync_state == SyncState.LOCAL.value, Case.deleted_at.is_(None))
        with self._db.session() as session:
            local = session.execute(select(Case.id).where(*local_live)).scalars().all()
            if not local:
                return
            with_create = set(session.execute(select(OutboxEntry.case_id).where(
                OutboxEntry.operation == Op.CREATE.value)).scalars())
            outbox.record_created(session, [case_id for case_id in local
                                            if case_id not in with_create])
            session.execute(update(Case).where(*local_live)
                            .values(sync_state=SyncState.PENDING.value)
                            .execution_options(synchronize_session=False))

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
            creates = _unsent_creates(session, case_ids)
        handled: set[int] = set()
        for start in range(0, len(creates), PUSH_BATCH):
            if should_stop():
                return
            handled |= self._push_creates(creates[start:start + PUSH_BATCH], report,
                                          should_stop)
        for case_id in case_ids:
            if should_stop():
                return
            if case_id not in handled:
                self._push_one(case_id, report)

    def _push_one(self, case_id: int | None, report: SyncReport) -> None:
        try:
            report.pushed += self._push_case(case_id)
        except (ServerUnreachable, UntrustedServer, SignInRequired) as error:
            self._reschedule(case_id, error)
            raise  # no point trying the other cases now
        except ServerRefused as error:
            self._refused(case_id, error)
            report.problems.append(str(error))
        except (SyncError, MedMitraError) as error:  # busy server, damaged file: later
            self._reschedule(case_id, error)
            report.problems.append(str(error))

    def _push_creates(self, rows: list[tuple[int, int]], report: SyncReport,
                      should_stop: Callable[[], bool]) -> set[int]:
        """New cases whose only outbox row is their create, sent as a batch: one
        transaction marks them all sent, the creates go one by one, and one transaction
        records the answers. A crash in between leaves rows marked sent, which the next
        round reconciles with the server like any lost answer. Returns the cases it is
        done with this round; the others (files that cannot be read, files added while
        the create was in flight) are left to the case-by-case path."""
        row_of = dict(rows)
        ready: list[tuple[_Snapshot, list[UploadFile]]] = []
        for snap in self._snapshots(list(row_of)):
            if snap.remote_id is not None or snap.deleted:
                continue
            try:
                ready.append((snap, [self._upload_of(doc) for doc in snap.documents]))
            except MedMitraError:
                continue
        if not ready:
            return set()
        with self._db.session() as session:
            _mark_sent_in(session, {row_of[snap.id]: {"sent": snap.fields}
                                    for snap, _ in ready})
        answers: list[tuple[_Snapshot, RemoteCase, list[RemoteFile]]] = []
        failures: list[tuple[_Snapshot, SyncError]] = []
        attempted: set[int] = set()
        handled: set[int] = set()
        try:
            for snap, uploads in ready:
                if should_stop() or any(_ends_round(error) for _, error in failures):
                    break
                attempted.add(snap.id)
                try:
                    answers.append((snap, *self._client.create_case(
                        self._user, snap.fields, uploads)))
                except SyncError as error:
                    failures.append((snap, error))
        finally:
            with self._db.session() as session:
                handled |= self._record_created(session, answers, row_of)
                _unmark_sent_in(session, [row_of[snap.id] for snap, _ in ready
                                          if snap.id not in attempted])  # never left
        report.pushed += len(answers)
        for snap, error in failures:
            handled.add(snap.id)
            if _ends_round(error):
                self._reschedule(snap.id, error)
                raise error  # (only ever the last one tried)
            if isinstance(error, ServerRefused):
                self._refused(snap.id, error)
            else:
                self._reschedule(snap.id, error)
            report.problems.append(str(error))
        return handled

    @staticmethod
    def _record_created(session: Session,
                        answers: list[tuple[_Snapshot, RemoteCase, list[RemoteFile]]],
                        row_of: Mapping[int, int]) -> set[int]:
        """Link a batch of new cases to the server cases their creates made, in one
        transaction. Returns those with nothing left to send."""
        ids = [snap.id for snap, _, _ in answers]
        answer_of = {snap.id: (remote, files) for snap, remote, files in answers}
        session.execute(delete(OutboxEntry).where(
            OutboxEntry.id.in_([row_of[case_id] for case_id in ids])))
        # As the cases are now: files may have been added while the creates were out.
        linked = [_linked(snap, *answer_of[snap.id]) for snap in _snapshots_in(session, ids)]
        _write_links(session, linked)
        with_rows = set(session.execute(select(OutboxEntry.case_id).where(
            OutboxEntry.case_id.in_(ids))).scalars())
        queued = _follow_up_in(session, [snap for snap in linked if snap.id not in with_rows])
        return set(ids) - with_rows - queued

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
            found = self._find_created(sent)
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
        """After a case's rows: queue what they left, or call the case synced. True if
        work was queued."""
        with self._db.session() as session:
            if outbox.rows_for(session, case_id):
                return True
            return bool(_follow_up_in(session, _snapshots_in(session, [case_id])))

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
            with_insights = set(session.execute(
                select(Insight.case_id).where(Insight.source == "remote").distinct()
            ).scalars())
        to_import: list[RemoteCase] = []
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
                    to_import.append(remote)
                elif local.deleted_at is None and local.id not in with_rows:
                    self._refresh_case(local.id, local.remote_base or {}, remote, report,
                                       has_insight=local.id in with_insights)
            except (ServerUnreachable, UntrustedServer, SignInRequired):
                raise
            except (SyncError, MedMitraError) as error:
                report.problems.append(str(error))
        if to_import and not self._import_cases(to_import, report, should_stop):
            return
        if not problems:
            self._notice_remote_deletions(known, {r.case_id for r in remote_cases},
                                          with_rows)

    def _refresh_case(self, case_id: int, base: Mapping[str, object], remote: RemoteCase,
                      report: SyncReport, *, has_insight: bool) -> None:
        seen_status = base.get("status")
        needs_detail = remote.status == "processing" or remote.status != seen_status \
            or (remote.status == "completed" and not has_insight)
        if remote.fields() == {name: base.get(name) for name in CASE_FIELDS} \
                and not needs_detail:
            return  # nothing new on the server: most cases, most rounds
        snap = self._snapshot(case_id)
        if snap is None or snap.state is SyncState.CONFLICT:
            return
        apply_here, _, conflicts = merge(base, snap.fields, remote.fields())
        if apply_here or conflicts:
            self._record_merge(case_id, remote, apply_here, conflicts)
            report.updated += bool(apply_here)
        if needs_detail:
            self._fetch_detail(snap, remote, report)

    def _fetch_detail(self, snap: _Snapshot, remote: RemoteCase, report: SyncReport) -> None:
        assert snap.remote_id is not None
        detail = self._client.get_case(snap.remote_id)
        if detail.case.status == "processing":
            report.processing += 1
        linked = {d.remote_id for d in snap.documents}
        new_files = [f for f in detail.files if f.file_id not in linked]
        if new_files:
            attachments, paths = _download(self._client, self._incoming, new_files)
            try:
                if attachments:
                    self._cases.attach_documents(
                        snap.uid, user_id=self._user,
                        attachments=[attachment for attachment, _ in attachments],
                        remote_file_ids=[file_id for _, file_id in attachments])
            finally:
                _remove(paths)
        with self._db.session() as session:
            case = session.get(Case, snap.id)
            if case is None:
                return
            case.remote_base = {**(case.remote_base or {}), "status": detail.case.status}
            if detail.insights and _store_insight(session, case.id, detail.insights):
                report.insights += 1

    def _import_cases(self, remotes: list[RemoteCase], report: SyncReport,
                      should_stop: Callable[[], bool]) -> bool:
        """Cases made on other workstations. Their details and files are fetched on a
        thread of their own while those already fetched are stored here, many per
        transaction. False if stopped before the end."""
        with Prefetch(self._fetch_new_case, remotes, IMPORT_BATCHING,
                      discard=_Fetched.discard, weigh=_Fetched.size,
                      stops_after=_ends_round) as prefetch:
            while batch := prefetch.take():
                fetched = [item for item in batch if isinstance(item, _Fetched)]
                try:
                    self._store_imported(fetched, report)
                finally:
                    for item in fetched:
                        item.discard()
                for failure in (item for item in batch if isinstance(item, Failed)):
                    if _ends_round(failure.error):
                        raise failure.error
                    report.problems.append(str(failure.error))
                if should_stop():
                    return False
        return True

    def _fetch_new_case(self, remote: RemoteCase) -> _Fetched:
        """Runs on the prefetch thread: network and the data folder's incoming area only."""
        detail = self._client.get_case(remote.case_id)
        attachments, paths = _download(self._client, self._incoming, detail.files)
        return _Fetched(detail, attachments, paths)

    def _store_imported(self, fetched: list[_Fetched], report: SyncReport) -> None:
        if not fetched:
            return
        try:
            outcomes = self._cases.create_from_server(user_id=self._user, pulled=[
                PulledCase(item.detail.case.case_id, item.detail.case.fields(),
                           item.attachments, item.detail.case.status, item.detail.insights)
                for item in fetched])
        except MedMitraError as error:  # a full disk, say: the next round tries again
            report.problems.append(str(error))
            return
        for item, outcome in zip(fetched, outcomes, strict=True):
            if isinstance(outcome, ValidationError):
                report.problems.append(str(outcome))
                continue
            report.pulled += 1
            report.insights += bool(item.detail.insights)
            report.processing += item.detail.case.status == "processing"

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
        found = self._snapshots([case_id])
        return found[0] if found else None

    def _snapshots(self, case_ids: list[int]) -> list[_Snapshot]:
        with self._db.read_session() as session:
            return _snapshots_in(session, case_ids)

    def _upload_of(self, doc: _Doc) -> UploadFile:
        """Checked now (a damaged file keeps its case out of a batch), read when sent."""
        files, sha256 = self._files, doc.sha256
        files.check(sha256)
        return UploadFile(doc.file_name, doc.category, lambda: files.reading(sha256),
                          doc.mime_type)

    def _find_created(self, sent: Mapping[str, object]
                      ) -> tuple[RemoteCase, list[RemoteFile]] | None:
        """Our create whose answer was lost: the oldest server case with the fields we
        sent that no local case is linked to yet. The server's list is read once a round:
        after a crash a whole batch of creates can be waiting to be found, and every one
        of them was sent before this round began."""
        if self._listing is None:
            self._listing, _ = self._client.list_cases(self._user)
        remote_cases = self._listing
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
            _write_links(session, [_linked(now, remote, files)
                                   for now in _snapshots_in(session, [snap.id])])
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

    @property
    def _incoming(self) -> Path:
        return self._files.root / "incoming"

    def _mark_sent(self, row_id: int, payload: dict[str, object]) -> None:
        with self._db.session() as session:
            _mark_sent_in(session, {row_id: payload})

    def _finish_row(self, row_id: int) -> None:
        with self._db.session() as session:
            self._delete_row(session, row_id)

    @staticmethod
    def _delete_row(session: Session, row_id: int) -> None:
        row = session.get(OutboxEntry, row_id)
        if row is not None:
            session.delete(row)

    def _reschedule(self, case_id: int | None, error: Exception) -> None:
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


_CASE_COLUMNS = (Case.id, Case.uid, *(getattr(Case, name) for name in CASE_FIELDS),
                 Case.remote_base, Case.remote_id, Case.sync_state, Case.deleted_at)
_DOC_COLUMNS = (Document.case_id, Document.uid, Document.file_name, Document.category,
                Document.sha256, Document.mime_type, Document.size_bytes, Document.remote_id)


def _snapshots_in(session: Session, case_ids: list[int]) -> list[_Snapshot]:
    """The cases as they are now, in the order asked (missing ones left out). Plain
    columns, not ORM objects: a push reads hundreds of these."""
    documents: dict[int, list[_Doc]] = {}
    for row in session.execute(select(*_DOC_COLUMNS).where(Document.case_id.in_(case_ids))
                               .order_by(Document.id)):
        documents.setdefault(row.case_id, []).append(_Doc(
            row.uid, row.file_name, DocumentCategory(row.category), row.sha256,
            row.mime_type, row.size_bytes, row.remote_id))
    found = {row.id: _Snapshot(
        id=row.id, uid=row.uid, fields={name: getattr(row, name) for name in CASE_FIELDS},
        base=dict(row.remote_base or {}), remote_id=row.remote_id,
        state=SyncState(row.sync_state), deleted=row.deleted_at is not None,
        documents=tuple(documents.get(row.id, ())))
        for row in session.execute(select(*_CASE_COLUMNS).where(Case.id.in_(case_ids)))}
    return [found[case_id] for case_id in case_ids if case_id in found]


def _linked(snap: _Snapshot, remote: RemoteCase, files: list[RemoteFile]) -> _Snapshot:
    """The case once linked to the server case our create made (or a lost answer's,
    found later), each of the server's files matched to one of ours."""
    unlinked = [doc for doc in snap.documents if doc.remote_id is None]
    file_of: dict[str, str] = {}
    for remote_file in files:
        match = next((doc for doc in unlinked if _same_file(remote_file, doc)), None)
        if match is not None:
            file_of[match.uid] = remote_file.file_id
            unlinked.remove(match)
    return replace(snap, remote_id=remote.case_id,
                   base={**remote.fields(), "status": remote.status},
                   documents=tuple(replace(doc, remote_id=file_of.get(doc.uid, doc.remote_id))
                                   for doc in snap.documents))


def _write_links(session: Session, linked: list[_Snapshot]) -> None:
    if not linked:
        return
    session.execute(update(Case), [{"id": snap.id, "remote_id": snap.remote_id,
                                    "remote_base": snap.base} for snap in linked])
    documents = [{"doc_uid": doc.uid, "file_id": doc.remote_id}
                 for snap in linked for doc in snap.documents if doc.remote_id is not None]
    if documents:
        session.execute(update(Document.__table__)
                        .where(Document.__table__.c.uid == bindparam("doc_uid"))
                        .values(remote_id=bindparam("file_id")), documents)


def _follow_up_in(session: Session, snaps: list[_Snapshot]) -> set[int]:
    """After cases' outbox rows are all done: queue what they left (files added while a
    create was in flight, edits made meanwhile), or call the case synced. Returns the
    cases with work queued."""
    rows: list[dict[str, object]] = []
    synced: list[int] = []
    with_work: set[int] = set()
    for snap in snaps:
        if snap.remote_id is None or snap.deleted or snap.state is SyncState.CONFLICT:
            continue
        queued = [{"case_id": snap.id, "operation": Op.UPLOAD.value,
                   "payload": {"document": doc.uid}}
                  for doc in snap.documents if doc.remote_id is None]
        if any(snap.fields.get(name) != snap.base.get(name) for name in CASE_FIELDS):
            queued.append({"case_id": snap.id, "operation": Op.UPDATE.value, "payload": {}})
        rows.extend(queued)
        if queued:
            with_work.add(snap.id)
        else:
            synced.append(snap.id)
    if rows:
        session.execute(insert(OutboxEntry), rows)
    if synced:
        session.execute(update(Case).where(Case.id.in_(synced))
                        .values(sync_state=SyncState.SYNCED.value, sync_error=None)
                        .execution_options(synchronize_session=False))
    return with_work


def _unsent_creates(session: Session, case_ids: list[int | None]) -> list[tuple[int, int]]:
    """(case id, row id) of the given cases whose only outbox row is a create never
    sent: new cases, which can go to the server in batches."""
    rows = session.execute(
        select(OutboxEntry.case_id, func.min(OutboxEntry.id), func.count(),
               func.min(OutboxEntry.operation), func.max(OutboxEntry.sent_at))
        .where(OutboxEntry.case_id.in_([c for c in case_ids if c is not None]))
        .group_by(OutboxEntry.case_id))
    plain = {case_id: row_id for case_id, row_id, count, operation, sent in rows
             if count == 1 and operation == Op.CREATE.value and sent is None}
    return [(case_id, plain[case_id]) for case_id in case_ids
            if case_id is not None and case_id in plain]


def _mark_sent_in(session: Session, payloads: Mapping[int, dict[str, object]]) -> None:
    """Outbox rows (by id) about to leave, with what they send added to their payload."""
    now = utcnow()
    for row in session.execute(select(OutboxEntry).where(
            OutboxEntry.id.in_(list(payloads)))).scalars():
        row.sent_at = now
        row.payload = {**row.payload, **payloads[row.id]}


def _unmark_sent_in(session: Session, row_ids: list[int]) -> None:
    if row_ids:
        session.execute(update(OutboxEntry).where(OutboxEntry.id.in_(row_ids))
                        .values(sent_at=None))


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


def _same_file(remote: RemoteFile, doc: _Doc) -> bool:
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


@dataclass(frozen=True)
class _Fetched:
    """A server case fetched for import: its detail and its files, downloaded."""

    detail: RemoteCaseDetail
    attachments: list[tuple[NewAttachment, str]]
    paths: list[Path]

    def discard(self) -> None:
        _remove(self.paths)

    def size(self) -> int:
        return sum(path.stat().st_size for path in self.paths if path.exists())


def _ends_round(error: Exception) -> bool:
    return isinstance(error, ServerUnreachable | UntrustedServer | SignInRequired)


def _download(client: MedMitraClient, incoming: Path, files: Sequence[RemoteFile]
              ) -> tuple[list[tuple[NewAttachment, str]], list[Path]]:
    """Download server files into the data folder's incoming area (never to a path a
    server chose: names are only labels) and check each by content. Returns the
    attachments that passed, with their server ids, and every temporary path made,
    which the caller removes."""
    attachments: list[tuple[NewAttachment, str]] = []
    paths: list[Path] = []
    if files:
        incoming.mkdir(parents=True, exist_ok=True)
    try:
        for remote_file in files:
            with tempfile.NamedTemporaryFile(dir=incoming, prefix="pull-",
                                             delete=False) as handle:
                paths.append(Path(handle.name))
                client.download(remote_file.file_id, handle)
            attachment = NewAttachment(paths[-1], remote_file.category, remote_file.file_name)
            _, problem = check_attachment(attachment, f"{remote_file.category.value}_files")
            if problem is not None:
                # The message names the file, and file names can name patients.
                log.warning("A file from the server was refused by the content check")
                log.debug("Refused server file: %s", problem.message)
                continue
            attachments.append((attachment, remote_file.file_id))
    except BaseException:
        _remove(paths)
        raise
    return attachments, paths


def _remove(paths: Sequence[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
