"""The case service: create, read, update, attach, trash, restore, purge, re-analyse, list.

Every write is one transaction that also appends its audit row, so a case never exists
without its audit trail and a crash never leaves half a case behind. Files are copied into
the content-addressed store before the transaction (copying is idempotent), and blobs no
row references are collected when a case is purged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ..domain.enums import (
    AuditAction,
    CaseStatus,
    DocumentCategory,
    DocumentStatus,
    Gender,
    JobKind,
    JobStatus,
    OutboxOperation,
    SyncState,
)
from ..domain.errors import ConflictError, FieldError, NotFoundError, ValidationError
from ..domain.filetypes import Sniffed
from ..domain.records import (
    CaseListItem,
    CasePage,
    CaseQuery,
    CaseRecord,
    DocumentRecord,
    NewAttachment,
)
from ..domain.validation import (
    bare_file_name,
    check_attachment,
    check_case_query,
    check_user_id,
    validate_case_fields,
)
from ..storage import case_queries, search_index
from ..storage.database import Database
from ..storage.filestore import FileStore, StoredBlob
from ..storage.orm import Case, Document, Insight, Job, utcnow
from . import audit, outbox

log = logging.getLogger(__name__)

UPDATABLE_FIELDS = ("patient_name", "patient_age", "patient_gender", "case_summary",
                    "patient_record_number", "status")
CASE_ENTITY = "case"
# The fields the MedMitra API keeps: what sync sends, and what a conflict is made of.
SYNCED_FIELDS = ("patient_name", "patient_age", "patient_gender", "case_summary")


class CaseService:
    def __init__(self, database: Database, files: FileStore) -> None:
        self._db = database
        self._files = files

    # ---- create -------------------------------------------------------------------------

    def create_case(
        self,
        *,
        user_id: object,
        patient_name: object,
        patient_age: object,
        patient_gender: object,
        case_summary: object = "",
        lab_files: Sequence[NewAttachment] = (),
        radiology_files: Sequence[NewAttachment] = (),
        patient_record_number: object = None,
    ) -> CaseRecord:
        """A new case with its files, queued for analysis. Raises one ValidationError
        naming every bad field and file."""
        errors: list[FieldError] = []
        clean_user, user_error = check_user_id(user_id)
        if user_error:
            errors.append(user_error)
        try:
            fields = validate_case_fields(
                {
                    "patient_name": patient_name,
                    "patient_age": patient_age,
                    "patient_gender": patient_gender,
                    "case_summary": case_summary,
                    "patient_record_number": patient_record_number,
                }
            )
        except ValidationError as error:
            errors.extend(error.errors)
            fields = {}
        attachments = [
            *(NewAttachment(a.path, DocumentCategory.LAB, a.file_name) for a in lab_files),
            *(NewAttachment(a.path, DocumentCategory.RADIOLOGY, a.file_name)
              for a in radiology_files),
        ]
        checked = self._check_attachments(attachments, errors)
        if errors:
            raise ValidationError(errors)
        assert clean_user is not None
        return self._insert(clean_user, fields, self._store(checked))

    def create_from_server(self, *, user_id: str, pulled: Sequence[PulledCase]
                           ) -> list[str | ValidationError]:
        """Cases other workstations created, pulled from the server with their files
        (each with the server's file id) and the server's insights: stored as synced,
        analysed here too, and never sent back. One transaction holds them all, since a
        pull brings thousands and a commit each would cost more than the network. A case
        whose values break the local rules is not stored: its place in the answer holds
        the ValidationError, and the others are stored all the same. Returns the new
        cases' ids."""
        outcomes: list[str | ValidationError | None] = []
        ready: list[tuple[int, PulledCase, dict[str, object],
                          list[tuple[NewAttachment, Sniffed]]]] = []
        for item in pulled:
            errors: list[FieldError] = []
            try:
                clean = validate_case_fields(dict(item.fields))
            except ValidationError as error:
                errors.extend(error.errors)
            checked = self._check_attachments([a for a, _ in item.attachments], errors)
            outcomes.append(ValidationError(errors) if errors else None)
            if not errors:
                ready.append((len(outcomes) - 1, item, clean, checked))
        all_stored: list[tuple[NewAttachment, Sniffed, StoredBlob]] = []
        with self._unsaved_removed(all_stored):
            inserts = []
            for index, item, clean, checked in ready:
                stored = self._store(checked)
                all_stored.extend(stored)
                file_ids = {id(a): file_id for a, file_id in item.attachments}
                inserts.append((index, clean, stored, RemoteOrigin(
                    item.remote_case_id, [file_ids[id(a)] for a, _ in checked],
                    {**item.fields, "status": item.status},
                    dict(item.insights) if item.insights else None)))
            with self._db.session() as session:
                case_ids = self._insert_all(session, user_id, [
                    (clean, stored, origin) for _, clean, stored, origin in inserts])
            for (index, *_), case_id in zip(inserts, case_ids, strict=True):
                outcomes[index] = case_id
        log.info("%d case(s) created from the server", len(inserts))
        return [outcome for outcome in outcomes if outcome is not None]

    def _insert(
        self, user_id: str, fields: Mapping[str, object],
        stored: Sequence[tuple[NewAttachment, Sniffed, StoredBlob]],
    ) -> CaseRecord:
        with self._unsaved_removed(stored), self._db.session() as session:
            case_id, = self._insert_all(session, user_id, [(fields, stored, None)])
            record = _case_record(_load(session, case_id))
        log.info("Case %s created with %d document(s)", record.case_id, len(stored))
        return record

    def _insert_all(
        self, session: Session, user_id: str,
        new_cases: Sequence[tuple[Mapping[str, object],
                                  Sequence[tuple[NewAttachment, Sniffed, StoredBlob]],
                                  RemoteOrigin | None]],
    ) -> list[str]:
        """Insert cases with their documents, analysis jobs, search entries, outbox and
        audit rows; returns their ids. Each kind of row goes in as one statement, so a
        batch of pulled cases costs little more per case than writing its rows."""
        case_rows = []
        for fields, stored, remote in new_cases:
            has_work = bool(stored) or bool(fields["case_summary"])
            row: dict[str, object] = {
                "uid": str(uuid.uuid4()),
                "user_id": user_id,
                "patient_name": fields["patient_name"],
                "patient_age": fields["patient_age"],
                "patient_gender": Gender(fields["patient_gender"]).value,
                "case_summary": fields["case_summary"],
                "patient_record_number": fields.get("patient_record_number"),
                "status": (CaseStatus.PROCESSING if has_work else CaseStatus.COMPLETED).value,
                "sync_state": SyncState.LOCAL.value,
            }
            if remote is not None:
                row.update(remote_id=remote.case_id, remote_base=dict(remote.base),
                           sync_state=SyncState.SYNCED.value)
            case_rows.append(row)
        # Core inserts (the ORM's bulk path costs as much again), one per shape of row:
        # a remote base left out stays SQL NULL rather than JSON null.
        for shape in (True, False):
            rows = [row for row in case_rows if ("remote_id" in row) == shape]
            if rows:
                session.execute(insert(Case.__table__), rows)
        # Looked up after, not RETURNING: SQLite returns rows in order only one insert
        # at a time, and one statement for the batch is the point.
        cases = Case.__table__.c
        id_of = {uid: pk for uid, pk in session.connection().execute(
            select(cases.uid, cases.id).where(cases.uid.in_([row["uid"] for row in case_rows])))}
        ids = [id_of[str(row["uid"])] for row in case_rows]
        documents, jobs, insights, index = [], [], [], []
        for case_id, row, (_fields, stored, remote) in zip(ids, case_rows, new_cases,
                                                          strict=True):
            file_ids = remote.file_ids if remote is not None else [None] * len(stored)
            documents.extend({**_document_row(*item), "case_id": case_id, "remote_id": file_id}
                             for item, file_id in zip(stored, file_ids, strict=True))
            if row["status"] == CaseStatus.PROCESSING.value:  # nothing to supersede yet
                jobs.append({"case_id": case_id, "kind": JobKind.ANALYZE.value,
                             "status": JobStatus.QUEUED.value})
            if remote is not None and remote.insights:
                insights.append({"case_id": case_id, "source": "remote", "revision": 1,
                                 "payload": remote.insights})
            index.append(search_index.Entry(
                case_id, str(row["patient_name"]), str(row["case_summary"]),
                [bare_file_name(attachment.display_name) for attachment, _, _ in stored]))
        for model, rows in ((Document, documents), (Job, jobs), (Insight, insights)):
            if rows:
                session.execute(insert(model.__table__), rows)
        search_index.add(session, index)
        local = [case_id for case_id, (_, _, remote) in zip(ids, new_cases, strict=True)
                 if remote is None]
        outbox.record_created(session, local)
        for action, from_server in ((AuditAction.CREATE, False),
                                    (AuditAction.SYNC_PULL, True)):
            audit.record_many(
                session, user_id=user_id, action=action, entity=CASE_ENTITY,
                entries=[(str(row["uid"]), f"documents={len(stored)}")
                         for row, (_, stored, remote) in zip(case_rows, new_cases,
                                                             strict=True)
                         if (remote is not None) == from_server])
        return [str(row["uid"]) for row in case_rows]

    def _check_attachments(
        self, attachments: Sequence[NewAttachment], errors: list[FieldError]
    ) -> list[tuple[NewAttachment, Sniffed]]:
        checked = []
        for attachment in attachments:
            field = f"{attachment.category.value}_files"
            sniffed, error = check_attachment(attachment, field)
            if error:
                errors.append(error)
            elif sniffed is not None:
                checked.append((attachment, sniffed))
        return checked

    def _store(
        self, checked: Sequence[tuple[NewAttachment, Sniffed]]
    ) -> list[tuple[NewAttachment, Sniffed, StoredBlob]]:
        stored: list[tuple[NewAttachment, Sniffed, StoredBlob]] = []
        with self._unsaved_removed(stored):  # the disk may fill up after the first file
            for attachment, sniffed in checked:
                stored.append((attachment, sniffed, self._files.put(attachment.path)))
        return stored

    @contextmanager
    def _unsaved_removed(
        self, stored: Sequence[tuple[NewAttachment, Sniffed, StoredBlob]]
    ) -> Iterator[None]:
        """Files copied in for a change that then failed (most often on a full disk) are
        removed again unless a row already uses them: only purges collect blobs, so they
        would otherwise hold on to the space for ever. (A sync thread storing the same
        bytes at that moment would find its blob gone and ask for the file again.)"""
        try:
            yield
        except BaseException:
            hashes = [blob.sha256 for _attachment, _sniffed, blob in stored]
            try:
                if hashes:
                    with self._db.read_session() as session:
                        used = set(session.execute(select(Document.sha256).where(
                            Document.sha256.in_(hashes))).scalars())
                    self._files.delete_unreferenced(hashes, used)
            except Exception:  # the first error is the one the doctor must read
                log.warning("Files of a change that was not saved stay in the store",
                            exc_info=True)
            raise

    @staticmethod
    def _queue_analysis(session: Session, case: Case) -> None:
        """At most one waiting analysis job per case: a newer request supersedes it."""
        waiting = session.execute(
            select(Job).where(
                Job.case_id == case.id,
                Job.kind == JobKind.ANALYZE.value,
                Job.status == JobStatus.QUEUED.value,
            )
        ).scalar_one_or_none()
        if waiting is None:
            session.add(Job(case_id=case.id, kind=JobKind.ANALYZE.value,
                            status=JobStatus.QUEUED.value))
        case.status = CaseStatus.PROCESSING.value

    @staticmethod
    def _reindex(session: Session, case: Case) -> None:
        session.flush()
        search_index.reindex_case(session, case)

    # ---- read ---------------------------------------------------------------------------

    def get_case(self, case_id: str, *, user_id: str | None = None,
                 include_deleted: bool = False) -> CaseRecord:
        """A case with its documents. Given a user_id, the view is audited."""
        if user_id is None:
            with self._db.read_session() as session:
                case = _load(session, case_id, include_deleted=include_deleted)
                return _case_record(case, last_error=_last_job_error(session, case))
        with self._db.session() as session:
            case = _load(session, case_id, include_deleted=include_deleted)
            audit.record(session, user_id=user_id, action=AuditAction.VIEW,
                         entity=CASE_ENTITY, entity_id=case.uid)
            return _case_record(case, last_error=_last_job_error(session, case))

    def list_cases(self, query: CaseQuery) -> CasePage:
        check_case_query(query)
        with self._db.read_session() as session:
            return case_queries.list_cases(session, query)

    def iter_all(self, query: CaseQuery) -> Iterable[CaseListItem]:
        """Every case matching a query, a page at a time (for exports and scripts)."""
        start = 1
        while True:
            page = self.list_cases(
                CaseQuery(**{**query.__dict__, "start": start, "size": 500})
            )
            yield from page.items
            if not page.has_more:
                return
            start += len(page.items)

    def history(self, case_id: str) -> list[audit.AuditEvent]:
        with self._db.read_session() as session:
            return audit.events_for(session, case_id)

    # ---- update -------------------------------------------------------------------------

    def update_case(self, case_id: str, *, user_id: str, changes: Mapping[str, object],
                    expected_version: int | None = None) -> CaseRecord:
        """Change patient fields, summary or status. With expected_version, refuse to
        overwrite a newer change (ConflictError)."""
        unknown = sorted(set(changes) - set(UPDATABLE_FIELDS))
        errors = [
            FieldError(name, f"cannot be changed (allowed: {', '.join(UPDATABLE_FIELDS)})")
            for name in unknown
        ]
        field_changes = {
            name: value for name, value in changes.items()
            if name in UPDATABLE_FIELDS and name != "status"
        }
        clean: dict[str, object] = {}
        try:
            clean = validate_case_fields(field_changes, partial=True)
        except ValidationError as error:
            errors.extend(error.errors)
        if "status" in changes:
            try:
                clean["status"] = CaseStatus(str(changes["status"]).strip().lower()).value
            except ValueError:
                allowed = ", ".join(status.value for status in CaseStatus)
                errors.append(FieldError("status", f"must be one of {allowed} "
                                                   f"(got {changes['status']!r})"))
        if errors:
            raise ValidationError(errors)

        with self._db.session() as session:
            case = _load(session, case_id)
            if expected_version is not None and case.version != expected_version:
                raise ConflictError(
                    "This case was changed elsewhere since you opened it. Reload it to see "
                    "the latest version, then make your change again."
                )
            changed = sorted(name for name, value in clean.items()
                             if getattr(case, name) != _stored_value(value))
            if not changed:
                return _case_record(case)
            for name in changed:
                setattr(case, name, _stored_value(clean[name]))
            case.version += 1
            case.updated_at = utcnow()
            self._reindex(session, case)
            if set(changed) & set(SYNCED_FIELDS):
                outbox.record(session, case, OutboxOperation.UPDATE)
            audit.record(session, user_id=user_id, action=AuditAction.UPDATE,
                         entity=CASE_ENTITY, entity_id=case.uid,
                         detail="fields=" + ",".join(changed))
            session.flush()
            return _case_record(case)

    # ---- documents ----------------------------------------------------------------------

    def attach_documents(self, case_id: str, *, user_id: str,
                         attachments: Sequence[NewAttachment],
                         remote_file_ids: Sequence[str] | None = None) -> CaseRecord:
        """Attach files and queue the case for analysis. With remote_file_ids (one per
        attachment) the files came from the server, added on another workstation: they
        are linked to their server ids and never sent back."""
        errors: list[FieldError] = []
        checked = self._check_attachments(attachments, errors)
        if not attachments:
            errors.append(FieldError("files", "choose at least one file to attach"))
        if errors:
            raise ValidationError(errors)
        with self._db.read_session() as session:
            _load(session, case_id)  # fail before copying anything into the store
        stored = self._store(checked)
        with self._unsaved_removed(stored), self._db.session() as session:
            case = _load(session, case_id)
            added = _new_documents(stored)
            case.documents.extend(added)
            session.flush()
            if remote_file_ids is None:
                for document in added:
                    outbox.record(session, case, OutboxOperation.UPLOAD, document)
            else:
                for document, file_id in zip(added, remote_file_ids, strict=True):
                    document.remote_id = file_id
            self._queue_analysis(session, case)
            self._touch(case)
            self._reindex(session, case)
            audit.record(session, user_id=user_id,
                         action=AuditAction.ATTACH if remote_file_ids is None
                         else AuditAction.SYNC_PULL,
                         entity=CASE_ENTITY, entity_id=case.uid,
                         detail=f"documents={len(stored)}")
            session.flush()
            return _case_record(case)

    def remove_document(self, case_id: str, document_id: str, *, user_id: str) -> CaseRecord:
        with self._db.session() as session:
            case = _load(session, case_id)
            document = next((d for d in case.documents if d.uid == document_id), None)
            if document is None:
                raise NotFoundError(f"This case has no document {document_id}.")
            sha256 = document.sha256
            outbox.record(session, case, OutboxOperation.REMOVE, document)
            case.documents.remove(document)
            session.flush()
            self._touch(case)
            self._reindex(session, case)
            audit.record(session, user_id=user_id, action=AuditAction.REMOVE_DOCUMENT,
                         entity=CASE_ENTITY, entity_id=case.uid,
                         detail=f"document={document_id}")
            self._collect_blobs(session, [sha256])
            return _case_record(case)

    def reanalyze(self, case_id: str, *, user_id: str) -> CaseRecord:
        with self._db.session() as session:
            case = _load(session, case_id)
            for document in case.documents:
                document.status = DocumentStatus.QUEUED.value
                document.error = None
            self._queue_analysis(session, case)
            self._touch(case)
            outbox.record(session, case, OutboxOperation.REANALYZE)
            audit.record(session, user_id=user_id, action=AuditAction.REANALYZE,
                         entity=CASE_ENTITY, entity_id=case.uid)
            session.flush()
            return _case_record(case)

    # ---- sync ---------------------------------------------------------------------------

    def resolve_conflict(self, case_id: str, *, user_id: str,
                         choices: Mapping[str, str]) -> CaseRecord:
        """The doctor's choice for each conflicting field: "local" keeps this computer's
        value (and sends it to the server), "remote" takes the server's."""
        with self._db.session() as session:
            case = _load(session, case_id)
            conflict = dict(case.sync_conflict or {})
            missing = sorted(set(conflict) - set(choices))
            bad = sorted(name for name, side in choices.items()
                         if name not in conflict or side not in ("local", "remote"))
            if missing or bad:
                raise ValidationError(
                    [FieldError(name, "choose local or remote") for name in missing]
                    + [FieldError(name, "is not in conflict, or the choice is not local or "
                                        "remote") for name in bad])
            base = dict(case.remote_base or {})
            taken = {}
            for name, side in choices.items():
                remote_value = conflict[name]["remote"]
                base[name] = remote_value  # what the server holds now
                if side == "remote":
                    taken[name] = remote_value
            case.remote_base = base
            case.sync_conflict = None
            case.sync_state = SyncState.PENDING.value
            set_fields(session, case, taken)
            if any(getattr(case, name) != base.get(name) for name in SYNCED_FIELDS):
                outbox.record(session, case, OutboxOperation.UPDATE)
            if not outbox.rows_for(session, case.id):
                case.sync_state = SyncState.SYNCED.value
            audit.record(session, user_id=user_id, action=AuditAction.RESOLVE_CONFLICT,
                         entity=CASE_ENTITY, entity_id=case.uid,
                         detail="fields=" + ",".join(sorted(choices)))
            session.flush()
            return _case_record(case)

    # ---- trash --------------------------------------------------------------------------

    def delete_case(self, case_id: str, *, user_id: str) -> None:
        """Move to the trash; restore_case brings it back until purge_case."""
        with self._db.session() as session:
            case = _load(session, case_id)
            case.deleted_at = utcnow()
            self._touch(case)
            outbox.record(session, case, OutboxOperation.DELETE)
            search_index.drop_case(session, case.id)
            audit.record(session, user_id=user_id, action=AuditAction.DELETE,
                         entity=CASE_ENTITY, entity_id=case.uid)

    def restore_case(self, case_id: str, *, user_id: str) -> CaseRecord:
        with self._db.session() as session:
            case = _load(session, case_id, include_deleted=True)
            if case.deleted_at is None:
                return _case_record(case)
            case.deleted_at = None
            self._touch(case)
            outbox.restored(session, case)
            self._reindex(session, case)
            audit.record(session, user_id=user_id, action=AuditAction.RESTORE,
                         entity=CASE_ENTITY, entity_id=case.uid)
            session.flush()
            return _case_record(case)

    def purge_case(self, case_id: str, *, user_id: str) -> None:
        """Delete for good a case that is in the trash, with files no other case uses."""
        with self._db.session() as session:
            case = _load(session, case_id, include_deleted=True)
            if case.deleted_at is None:
                raise ValidationError([FieldError(
                    "case_id", "only a case in the trash can be deleted permanently; "
                               "move it to the trash first")])
            hashes = [document.sha256 for document in case.documents]
            search_index.drop_case(session, case.id)
            session.delete(case)
            session.flush()
            audit.record(session, user_id=user_id, action=AuditAction.PURGE,
                         entity=CASE_ENTITY, entity_id=case_id,
                         detail=f"documents={len(hashes)}")
            self._collect_blobs(session, hashes)

    def _collect_blobs(self, session: Session, hashes: Sequence[str]) -> None:
        if not hashes:
            return
        still_used = set(session.execute(
            select(Document.sha256).where(Document.sha256.in_(hashes))
        ).scalars())
        # Runs before commit: if the commit then fails, a blob may be gone while a row
        # still names it; reads verify hashes, so that shows as "attach again", never as
        # wrong data. Deleting after commit instead could leak blobs forever on a crash.
        self._files.delete_unreferenced(hashes, still_used)

    @staticmethod
    def _touch(case: Case) -> None:
        case.version += 1
        case.updated_at = utcnow()

    def count_cases(self) -> int:
        with self._db.read_session() as session:
            return session.execute(
                select(func.count()).select_from(Case).where(Case.deleted_at.is_(None))
            ).scalar_one()


@dataclass(frozen=True)
class RemoteOrigin:
    """Where a pulled case comes from: its server id, its files' ids, the fields and
    status the server holds (the base for later merges), and the server's insights."""

    case_id: str
    file_ids: Sequence[str]
    base: Mapping[str, object]
    insights: dict[str, object] | None


def set_fields(session: Session, case: Case, values: Mapping[str, object]) -> list[str]:
    """Write already-validated patient fields, keeping version and search index right.
    Returns the names that changed."""
    changed = sorted(name for name, value in values.items() if getattr(case, name) != value)
    for name in changed:
        setattr(case, name, values[name])
    if changed:
        case.version += 1
        case.updated_at = utcnow()
        session.flush()
        search_index.reindex_case(session, case)
    return changed


def _document_row(attachment: NewAttachment, sniffed: Sniffed, blob: StoredBlob
                  ) -> dict[str, object]:
    return {"uid": str(uuid.uuid4()), "category": attachment.category.value,
            "file_name": bare_file_name(attachment.display_name), "sha256": blob.sha256,
            "mime_type": sniffed.mime_type, "size_bytes": blob.size_bytes,
            "status": DocumentStatus.QUEUED.value}


def _new_documents(stored: Iterable[tuple[NewAttachment, Sniffed, StoredBlob]]
                   ) -> list[Document]:
    return [Document(**_document_row(*item)) for item in stored]


@dataclass(frozen=True)
class PulledCase:
    """A case another workstation created, as the server holds it: its fields and
    status, its files (downloaded here, each with the server's file id) and insights."""

    remote_case_id: str
    fields: Mapping[str, object]
    attachments: Sequence[tuple[NewAttachment, str]]
    status: str | None
    insights: Mapping[str, object] | None


def _load(session: Session, case_id: str, *, include_deleted: bool = False) -> Case:
    case = session.execute(select(Case).where(Case.uid == case_id)).scalar_one_or_none()
    if case is None or (case.deleted_at is not None and not include_deleted):
        raise NotFoundError(f"No case with id {case_id} (it may have been deleted).")
    return case


def _last_job_error(session: Session, case: Case) -> str | None:
    latest = session.execute(
        select(Job.status, Job.error).where(Job.case_id == case.id).order_by(Job.id.desc())
        .limit(1)).first()
    if latest is None or latest.status not in (JobStatus.FAILED.value,
                                               JobStatus.CANCELLED.value):
        return None
    return latest.error


def _stored_value(value: object) -> object:
    return value.value if isinstance(value, Gender | CaseStatus) else value


def _document_record(case_uid: str, document: Document) -> DocumentRecord:
    return DocumentRecord(
        document_id=document.uid,
        case_id=case_uid,
        category=DocumentCategory(document.category),
        file_name=document.file_name,
        mime_type=document.mime_type,
        size_bytes=document.size_bytes,
        sha256=document.sha256,
        status=DocumentStatus(document.status),
        error=document.error,
        pages=document.pages,
        text_source=document.text_source,
        created_at=document.created_at,
    )


def _case_record(case: Case, *, last_error: str | None = None) -> CaseRecord:
    return CaseRecord(
        case_id=case.uid,
        user_id=case.user_id,
        patient_name=case.patient_name,
        patient_age=case.patient_age,
        patient_gender=Gender(case.patient_gender),
        case_summary=case.case_summary,
        status=CaseStatus(case.status),
        created_at=case.created_at,
        updated_at=case.updated_at,
        version=case.version,
        one_line_summary=case.one_line_summary,
        deleted_at=case.deleted_at,
        documents=tuple(_document_record(case.uid, document) for document in case.documents),
        patient_record_number=case.patient_record_number,
        last_error=last_error,
        sync_state=SyncState(case.sync_state),
        sync_error=case.sync_error,
        sync_conflict=case.sync_conflict or None,
    )
