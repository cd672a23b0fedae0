"""Report jobs: a case made into a PDF file off the GUI thread, polled by id.

The shape of a web API's "POST /reports, then GET /reports/:id until it is done":
create() checks the request, queues a row in report_jobs and returns its id at once;
run() does the work (a worker thread in the window, the command itself in the CLI) and
writes its progress, a message in words and the outcome into that row, so get() from any
thread or connection sees where it is: queued, running, succeeded (with the file and its
page count), failed (with the reason in words) or cancelled.

The drawing itself is Qt's (ui/report_pdf.py); it is handed in as a `renderer`, so this
module stays free of Qt. The file appears complete or not at all: the renderer writes a
temporary file beside the target and renames it when done. A finished PDF is an export of
the case and leaves an audit row (who, which case, "pdf"; never the path or patient data).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.enums import AuditAction, ReportStatus
from ..domain.errors import FieldError, MedMitraError, NotFoundError, ValidationError
from ..domain.validation import check_user_id
from ..storage.database import Database
from ..storage.orm import Case, ReportJob, utcnow
from . import audit
from .case_document import CaseDocumentService, CaseReport

log = logging.getLogger(__name__)

CASE_PDF = "case_pdf"
KINDS = (CASE_PDF,)
CASE_ENTITY = "case"
FINISHED = frozenset({ReportStatus.SUCCEEDED, ReportStatus.FAILED, ReportStatus.CANCELLED})
INTERRUPTED_MESSAGE = ("The app closed while this report was being made. Make it again; "
                       "no file was written.")
CANCELLED_MESSAGE = "Cancelled; no file was written."
# Share of the progress bar for collecting the case; drawing the pages takes the rest.
_COLLECT_SHARE = 0.1


class ReportCancelled(Exception):  # a request to stop, not a fault
    """Raised inside run() when the job was cancelled; it ends as CANCELLED."""


class Renderer(Protocol):
    def __call__(self, report: CaseReport, target: Path,
                 step: Callable[[float, str], None]) -> int:
        """Write `report` as a PDF at `target`, calling step(fraction 0..1, message) as it
        goes (step raises ReportCancelled to stop); the number of pages written."""
        ...


@dataclass(frozen=True)
class ReportJobView:
    job_id: str
    case_id: str
    kind: str
    user_id: str
    status: ReportStatus
    progress: float  # 0..1
    message: str  # the step in words ("Page 2 of 3")
    error: str | None  # why it failed, in words
    output_path: Path
    pages: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


class ReportJobService:
    def __init__(self, database: Database, documents: CaseDocumentService) -> None:
        self._db = database
        self._documents = documents

    # ---- requests -----------------------------------------------------------------------

    def create(self, case_id: str, *, user_id: object, output_path: Path,
               kind: str = CASE_PDF) -> ReportJobView:
        """Queue a report of a live case; ValidationError names every bad field, and
        NotFoundError says when the case is gone."""
        errors: list[FieldError] = []
        clean_user, user_error = check_user_id(user_id)
        if user_error:
            errors.append(user_error)
        if kind not in KINDS:
            errors.append(FieldError("kind", f"must be one of {', '.join(KINDS)}"))
        target = Path(output_path).expanduser().absolute()
        if target.suffix.lower() != ".pdf":
            errors.append(FieldError("output_path", "must be a file name ending in .pdf"))
        elif target.is_dir():
            errors.append(FieldError("output_path", f"{target} is a folder; name a file in it"))
        elif not target.parent.is_dir():
            errors.append(FieldError("output_path", f"the folder {target.parent} does not "
                                                    "exist"))
        if errors:
            raise ValidationError(errors)
        assert clean_user is not None
        with self._db.session() as session:
            case = _live_case(session, case_id)
            job = ReportJob(uid=str(uuid.uuid4()), case_id=case.id, user_id=clean_user,
                            kind=kind, status=ReportStatus.QUEUED.value, progress=0.0,
                            message="Waiting to start", output_path=str(target))
            session.add(job)
            session.flush()
            return _view(job, case.uid)

    def get(self, job_id: str) -> ReportJobView:
        with self._db.read_session() as session:
            row = session.execute(
                select(ReportJob, Case.uid).join(Case, Case.id == ReportJob.case_id)
                .where(ReportJob.uid == job_id)).first()
            if row is None:
                raise NotFoundError(f"No report job {job_id}.")
            return _view(row[0], row[1])

    def jobs_for_case(self, case_id: str) -> list[ReportJobView]:
        """The case's report jobs, newest first."""
        with self._db.read_session() as session:
            rows = session.execute(
                select(ReportJob, Case.uid).join(Case, Case.id == ReportJob.case_id)
                .where(Case.uid == case_id).order_by(ReportJob.id.desc())).all()
            return [_view(job, uid) for job, uid in rows]

    def cancel(self, job_id: str) -> ReportJobView:
        """A queued job is cancelled at once; a running one stops at its next step."""
        with self._db.session() as session:
            job = _job(session, job_id)
            if job.status == ReportStatus.QUEUED.value:
                _finish(job, ReportStatus.CANCELLED, CANCELLED_MESSAGE)
            elif job.status == ReportStatus.RUNNING.value:
                job.cancel_requested = True
        return self.get(job_id)

    def recover_interrupted(self) -> int:
        """Jobs a crash or quit left running are failed, not retried: the doctor may no
        longer want the file, and making it again is one click."""
        with self._db.read_session() as session:  # the usual answer: none, no write
            if session.execute(select(ReportJob.id).where(
                    ReportJob.status == ReportStatus.RUNNING.value).limit(1)).first() is None:
                return 0
        with self._db.session() as session:
            stuck = list(session.execute(select(ReportJob).where(
                ReportJob.status == ReportStatus.RUNNING.value)).scalars())
            for job in stuck:
                _finish(job, ReportStatus.FAILED, INTERRUPTED_MESSAGE, error=True)
            return len(stuck)

    # ---- work ---------------------------------------------------------------------------

    def run(self, job_id: str, renderer: Renderer, *,
            cancel: threading.Event | None = None,
            progress: Callable[[float, str], None] | None = None) -> ReportJobView:
        """Make the report of a queued job; returns the finished job (whatever the
        outcome: a failure is a status, not an exception). `cancel` set from another
        thread stops it at the next step, as cancel(job_id) does."""
        claimed = self._claim(job_id)
        if claimed is None:
            return self.get(job_id)
        case_id, target, user_id = claimed
        last = [-1.0]

        def step(fraction: float, message: str) -> None:
            overall = min(1.0, max(0.0, fraction))
            if cancel is not None and cancel.is_set():
                raise ReportCancelled
            if progress is not None:
                progress(overall, message)
            # One small write per step (a page); polling readers see it at once.
            if overall - last[0] >= 0.01 or overall >= 1.0:
                last[0] = overall
                if self._note_progress(job_id, overall, message):
                    raise ReportCancelled

        try:
            step(0.0, "Collecting the case")
            report = self._documents.report(case_id)
            step(_COLLECT_SHARE, "Laying out the pages")
            pages = renderer(report, target, lambda fraction, message: step(
                _COLLECT_SHARE + (1 - _COLLECT_SHARE) * fraction, message))
        except ReportCancelled:
            return self._end(job_id, ReportStatus.CANCELLED, CANCELLED_MESSAGE)
        except MedMitraError as error:
            return self._end(job_id, ReportStatus.FAILED, str(error), error=True)
        except OSError as error:
            return self._end(job_id, ReportStatus.FAILED, _write_problem(target, error),
                             error=True)
        except Exception as error:  # a bug must end the job, not leave it running
            log.exception("Report job %s failed", job_id)
            return self._end(job_id, ReportStatus.FAILED,
                             f"The report could not be made because of an unexpected "
                             f"error ({error}).", error=True)
        with self._db.session() as session:
            job = _job(session, job_id)
            job.pages = pages
            _finish(job, ReportStatus.SUCCEEDED, f"Saved, {pages} page{'s' * (pages != 1)}")
            case = session.get(Case, job.case_id)
            if case is not None:
                audit.record(session, user_id=user_id, action=AuditAction.EXPORT,
                             entity=CASE_ENTITY, entity_id=case.uid, detail="pdf")
        log.info("Report job %s: case %s saved as a PDF of %d page(s)", job_id, case_id, pages)
        return self.get(job_id)

    def _claim(self, job_id: str) -> tuple[str, Path, str] | None:
        with self._db.session() as session:
            job = _job(session, job_id)
            if job.status != ReportStatus.QUEUED.value:
                return None  # finished, cancelled or another worker has it
            case = session.get(Case, job.case_id)
            if case is None or case.deleted_at is not None:
                _finish(job, ReportStatus.FAILED, "The case was moved to the trash before "
                                                  "its report was made.", error=True)
                return None
            job.status = ReportStatus.RUNNING.value
            job.started_at = utcnow()
            return case.uid, Path(job.output_path), job.user_id

    def _note_progress(self, job_id: str, fraction: float, message: str) -> bool:
        """Record progress; True when the job was cancelled meanwhile."""
        with self._db.session() as session:
            job = _job(session, job_id)
            job.progress = fraction
            job.message = message
            return bool(job.cancel_requested)

    def _end(self, job_id: str, status: ReportStatus, message: str, *,
             error: bool = False) -> ReportJobView:
        with self._db.session() as session:
            _finish(_job(session, job_id), status, message, error=error)
        log.info("Report job %s %s", job_id, status.value)
        return self.get(job_id)


def _finish(job: ReportJob, status: ReportStatus, message: str, *,
            error: bool = False) -> None:
    job.status = status.value
    job.message = message
    job.error = message if error else None
    job.finished_at = utcnow()
    if status is ReportStatus.SUCCEEDED:
        job.progress = 1.0


def _write_problem(target: Path, error: OSError) -> str:
    return (f"{target.name} could not be saved in {target.parent}: "
            f"{error.strerror or error}. Choose another folder, or check that there is "
            "space on the disk.")


def _view(job: ReportJob, case_uid: str) -> ReportJobView:
    return ReportJobView(
        job_id=job.uid, case_id=case_uid, kind=job.kind, user_id=job.user_id,
        status=ReportStatus(job.status), progress=job.progress, message=job.message,
        error=job.error, output_path=Path(job.output_path), pages=job.pages,
        created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at)


def _job(session: Session, job_id: str) -> ReportJob:
    job = session.execute(select(ReportJob).where(ReportJob.uid == job_id)
                          ).scalar_one_or_none()
    if job is None:
        raise NotFoundError(f"No report job {job_id}.")
    return job


def _live_case(session: Session, case_id: str) -> Case:
    case = session.execute(select(Case).where(Case.uid == case_id, Case.deleted_at.is_(None))
                           ).scalar_one_or_none()
    if case is None:
        raise NotFoundError(f"No case with id {case_id} (it may have been deleted).")
    return case
