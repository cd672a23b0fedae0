"""Durable analysis jobs: queued in the database, run by a worker, resumed after a crash.

A job reads its case's documents, runs the pure pipeline on verified copies from the
file store, and writes every result in one transaction that first deletes the case's
previous results, so a job interrupted at any point and run again leaves exactly one set
of rows. The worker thread that calls run_next lives in ui/workers.py; nothing here
imports Qt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..analysis.contract_json import radiology_json
from ..analysis.extract import CancelToken, ExtractionCancelled
from ..analysis.insights import PreviousLab
from ..analysis.labs import LabRow
from ..analysis.meds import (
    MedicationMention,
    MedsResult,
    PreviousMedication,
    dedupe_mentions,
    review_medications,
)
from ..analysis.pipeline import (
    Analyzer,
    CaseAnalysis,
    DocumentAnalysis,
    DocumentInput,
    Patient,
)
from ..domain.enums import CaseStatus, DocumentStatus, JobKind, JobStatus
from ..domain.errors import FileIntegrityError
from ..storage import search_index
from ..storage.database import Database
from ..storage.filestore import FileStore
from ..storage.orm import (
    Allergy,
    Case,
    Document,
    DocumentPage,
    Insight,
    Job,
    LabResult,
    Medication,
    RadiologyObservation,
    utcnow,
)
from . import patients

log = logging.getLogger(__name__)

# A job that was running when the app died this many times is not tried again: the
# document probably crashes the process, and the doctor should hear about it.
MAX_ATTEMPTS = 3
CANCELLED_MESSAGE = "Analysis was cancelled. Choose Re-analyse to run it again."


@dataclass(frozen=True)
class JobProgress:
    job_id: int
    case_id: str
    fraction: float  # 0..1 over all pages of all documents
    message: str


@dataclass(frozen=True)
class JobOutcome:
    job_id: int
    case_id: str
    status: JobStatus
    case_status: CaseStatus
    error: str | None = None


@dataclass(frozen=True)
class _ClaimedDocument:
    pk: int
    uid: str
    sha256: str
    file_name: str
    category: str


@dataclass(frozen=True)
class _ClaimedJob:
    job_id: int
    case_pk: int
    case_uid: str
    patient: Patient
    documents: tuple[_ClaimedDocument, ...]
    collected_at: datetime
    # The same patient's earlier case, for medication review and lab trends (AKI).
    previous_case_uid: str | None = None
    previous_medications: tuple[PreviousMedication, ...] = ()
    previous_labs: tuple[PreviousLab, ...] = ()


@dataclass
class _PageCounter:
    documents: int
    done: dict[int, tuple[int, int]] = field(default_factory=dict)

    def fraction(self) -> float:
        if not self.documents:
            return 1.0
        parts = [done / total if total else 0.0 for done, total in self.done.values()]
        return sum(parts) / self.documents


class AnalysisJobs:
    def __init__(self, database: Database, files: FileStore, analyzer: Analyzer) -> None:
        self._db = database
        self._files = files
        self._analyzer = analyzer
        # Passwords for protected PDFs live in memory only, for the next run.
        self._passwords: dict[str, str] = {}

    def provide_password(self, document_id: str, password: str) -> None:
        self._passwords[document_id] = password

    # ---- start-up -----------------------------------------------------------------------

    def recover_interrupted(self) -> int:
        """Jobs a crash left running go back to the queue (or fail after MAX_ATTEMPTS)."""
        with self._db.session() as session:
            stuck = list(session.execute(
                select(Job).where(Job.status == JobStatus.RUNNING.value)).scalars())
            for job in stuck:
                if job.attempts >= MAX_ATTEMPTS:
                    job.status = JobStatus.FAILED.value
                    job.error = (f"Analysis was interrupted {job.attempts} times and was "
                                 f"stopped. One of the documents may be damaged; remove it "
                                 f"and choose Re-analyse.")
                    job.finished_at = utcnow()
                    _set_case_status(session, job.case_id, CaseStatus.FAILED)
                else:
                    job.status = JobStatus.QUEUED.value
            if stuck:
                log.info("Recovered %d interrupted analysis job(s)", len(stuck))
            return len(stuck)

    # ---- running ------------------------------------------------------------------------

    def has_queued(self) -> bool:
        with self._db.read_session() as session:
            return session.execute(
                select(Job.id).where(Job.status == JobStatus.QUEUED.value).limit(1)
            ).first() is not None

    def run_next(self, *, progress: Callable[[JobProgress], None] | None = None,
                 cancel: CancelToken | None = None) -> JobOutcome | None:
        """Claim the oldest queued job and run it to a result. None when the queue is empty."""
        claimed = self._claim()
        if claimed is None:
            return None
        counter = _PageCounter(documents=len(claimed.documents))

        def report(index: int, done: int, total: int) -> None:
            counter.done[index] = (done, total)
            if progress is not None:
                progress(JobProgress(
                    claimed.job_id, claimed.case_uid, counter.fraction(),
                    f"Reading document {index + 1} of {counter.documents}: page {done} of "
                    f"{total}"))

        try:
            analysis, unreadable = self._analyse(claimed, report, cancel)
        except ExtractionCancelled:
            return self._finish_cancelled(claimed)
        except Exception as error:
            # A bug in the pipeline must not leave the case processing for ever.
            log.exception("Analysis job %d failed", claimed.job_id)
            return self._finish_failed(claimed, f"Analysis failed unexpectedly ({error}).")
        return self._store(claimed, analysis, unreadable)

    def _claim(self) -> _ClaimedJob | None:
        with self._db.session() as session:
            while True:
                job = session.execute(
                    select(Job).where(Job.status == JobStatus.QUEUED.value,
                                      Job.kind == JobKind.ANALYZE.value)
                    .order_by(Job.id).limit(1)
                ).scalar_one_or_none()
                if job is None:
                    return None
                case = session.get(Case, job.case_id)
                if case is not None and case.deleted_at is None:
                    break
                # The case went to the trash while its job waited.
                job.status = JobStatus.CANCELLED.value
                job.finished_at = utcnow()
                session.flush()
            job.status = JobStatus.RUNNING.value
            job.attempts += 1
            job.started_at = utcnow()
            job.progress = 0.0
            for document in case.documents:
                document.status = DocumentStatus.PROCESSING.value
            earlier = patients.previous_case(session, case)
            return _ClaimedJob(
                job_id=job.id, case_pk=case.id, case_uid=case.uid,
                patient=Patient(age=case.patient_age, gender=case.patient_gender,
                                notes=case.case_summary),
                documents=tuple(
                    _ClaimedDocument(d.id, d.uid, d.sha256, d.file_name, d.category)
                    for d in case.documents),
                collected_at=case.created_at,
                previous_case_uid=earlier.uid if earlier else None,
                previous_medications=_previous_medications(session, earlier),
                previous_labs=_previous_labs(session, earlier),
            )

    def _analyse(
        self, claimed: _ClaimedJob, report: Callable[[int, int, int], None],
        cancel: CancelToken | None,
    ) -> tuple[CaseAnalysis, dict[int, str]]:
        inputs: list[DocumentInput] = []
        unreadable: dict[int, str] = {}
        with ExitStack() as opened:  # an encrypted folder's decrypted copies go after
            for index, document in enumerate(claimed.documents):
                try:
                    path = opened.enter_context(self._files.opened(document.sha256))
                except FileIntegrityError as error:
                    unreadable[index] = f"{document.file_name}: {error}"
                    path = Path("/nonexistent")  # analysed as missing; error is replaced
                inputs.append(DocumentInput(
                    path=path, display_name=document.file_name, category=document.category,
                    password=self._passwords.get(document.uid)))
            analysis = self._analyzer.case(
                inputs, claimed.patient, progress=report, cancel=cancel,
                previous_labs=claimed.previous_labs, collected_at=claimed.collected_at)
        return analysis, unreadable

    # ---- results ------------------------------------------------------------------------

    def _store(self, claimed: _ClaimedJob, analysis: CaseAnalysis,
               unreadable: dict[int, str]) -> JobOutcome:
        with self._db.session() as session:
            job = session.get(Job, claimed.job_id)
            case = session.get(Case, claimed.case_pk)
            if job is None or case is None:
                return JobOutcome(claimed.job_id, claimed.case_uid, JobStatus.CANCELLED,
                                  CaseStatus.FAILED, "The case was deleted during analysis.")
            _delete_results(session, case.id)
            documents = {d.id: d for d in case.documents}
            ok = 0
            for index, (claimed_doc, result) in enumerate(
                    zip(claimed.documents, analysis.documents, strict=True)):
                document = documents.get(claimed_doc.pk)
                if document is None:  # removed while the job ran
                    continue
                error = unreadable.get(index) or result.extracted.error
                status = (DocumentStatus.FAILED if index in unreadable
                          else result.extracted.status)
                # Text-layer pages of a PDF still count when only the OCR engine is missing.
                ok += status is DocumentStatus.OK or (
                    status is DocumentStatus.OCR_UNAVAILABLE and bool(result.extracted.pages))
                _write_document(session, case.id, document, result, status, error)
            self._write_medication_reviews(session, claimed, analysis)
            insights = analysis.insights
            revision = (session.execute(
                select(Insight.revision).where(Insight.case_id == case.id,
                                               Insight.source == "local")
                .order_by(Insight.revision.desc()).limit(1)).scalar_one_or_none() or 0) + 1
            payload = _insight_payload(insights)
            payload["no_known_allergies"] = analysis.notes_meds.no_known_allergies or any(
                result.meds is not None and result.meds.no_known_allergies
                for result in analysis.documents)
            payload["radiology_reports"] = [
                {"document_id": claimed_doc.uid, "document_index": index,
                 **radiology_json(result.radiology)}
                for index, (claimed_doc, result) in enumerate(
                    zip(claimed.documents, analysis.documents, strict=True))
                if result.radiology is not None
            ]
            session.add(Insight(case_id=case.id, source="local", revision=revision,
                                payload=payload))
            case.one_line_summary = getattr(insights, "one_line", None) or None
            failed_all = bool(documents) and ok == 0
            case.status = (CaseStatus.FAILED if failed_all else CaseStatus.COMPLETED).value
            case.updated_at = utcnow()
            case.version += 1
            session.flush()
            search_index.reindex_case(session, case)
            job.status = JobStatus.DONE.value
            job.progress = 1.0
            job.finished_at = utcnow()
            job.error = None
            outcome = JobOutcome(job.id, case.uid, JobStatus.DONE, CaseStatus(case.status))
        log.info("Analysis job %d done: case %s %s", outcome.job_id, outcome.case_id,
                 outcome.case_status.value)
        return outcome

    def _write_medication_reviews(self, session: Session, claimed: _ClaimedJob,
                                  analysis: CaseAnalysis) -> None:
        """Medications seen now, reviewed against the patient's earlier case."""
        document_of: dict[int, int | None] = {}
        mentions: list[MedicationMention] = []
        for claimed_doc, result in zip(claimed.documents, analysis.documents, strict=True):
            if result.meds is not None:
                for mention in result.meds.medications:
                    document_of[id(mention)] = claimed_doc.pk
                    mentions.append(mention)
        mentions.extend(analysis.notes_meds.medications)
        _write_allergies(session, claimed.case_pk, None, analysis.notes_meds)
        reviews = review_medications(dedupe_mentions(mentions), claimed.previous_medications,
                                     knowledge=self._analyzer.knowledge.meds)
        # A drug the doctor already reviewed on this case keeps the doctor's row.
        reviewed = set(session.execute(
            select(Medication.name).where(Medication.case_id == claimed.case_pk)).scalars())
        for review in reviews:
            if review.name in reviewed:
                continue
            details = review.review_details()
            if claimed.previous_case_uid and review.previous is not None:
                details["previous_case_id"] = claimed.previous_case_uid
            if review.mention is not None and review.mention.flagged_reason:
                details.setdefault("reason", review.mention.flagged_reason)
            mention = review.mention
            session.add(Medication(
                case_id=claimed.case_pk,
                document_id=document_of.get(id(mention)) if mention is not None else None,
                page=mention.page if mention is not None else None,
                name=review.name, dose=review.dose, route=review.route,
                frequency=review.frequency, duration=review.duration,
                review_state=str(review.state), review_details=details,
                source_text=mention.sentence if mention is not None else None,
            ))

    def _finish_failed(self, claimed: _ClaimedJob, message: str) -> JobOutcome:
        return self._finish(claimed, JobStatus.FAILED, message)

    def _finish_cancelled(self, claimed: _ClaimedJob) -> JobOutcome:
        return self._finish(claimed, JobStatus.CANCELLED, CANCELLED_MESSAGE)

    def _finish(self, claimed: _ClaimedJob, status: JobStatus, message: str) -> JobOutcome:
        with self._db.session() as session:
            job = session.get(Job, claimed.job_id)
            if job is not None:
                job.status = status.value
                job.error = message
                job.finished_at = utcnow()
            session.execute(
                update(Document).where(Document.case_id == claimed.case_pk,
                                       Document.status == DocumentStatus.PROCESSING.value)
                .values(status=DocumentStatus.FAILED.value, error=message))
            _set_case_status(session, claimed.case_pk, CaseStatus.FAILED)
        return JobOutcome(claimed.job_id, claimed.case_uid, status, CaseStatus.FAILED, message)


def _set_case_status(session: Session, case_pk: int, status: CaseStatus) -> None:
    case = session.get(Case, case_pk)
    if case is not None:
        case.status = status.value
        case.updated_at = utcnow()
        case.version += 1


def _delete_results(session: Session, case_pk: int) -> None:
    """Clear what the analysis wrote last time. Medications a doctor has reviewed are the
    doctor's record, not the machine's, and stay; so do lab results and findings no
    document backs (imported from a FHIR bundle without its files: nothing here could
    read them again). The analysis writes those only from documents."""
    document_ids = select(Document.id).where(Document.case_id == case_pk)
    session.execute(delete(DocumentPage).where(DocumentPage.document_id.in_(document_ids)))
    for table in (LabResult, RadiologyObservation):
        session.execute(delete(table).where(table.case_id == case_pk,
                                            table.document_id.is_not(None)))
    session.execute(delete(Allergy).where(Allergy.case_id == case_pk))
    for medication in session.execute(
            select(Medication).where(Medication.case_id == case_pk)).scalars():
        if not _doctor_reviewed(medication):
            session.delete(medication)
    session.flush()


def _doctor_reviewed(medication: Medication) -> bool:
    return (medication.review_details or {}).get("is_approved") == "yes"


def _write_document(session: Session, case_pk: int, document: Document,
                    result: DocumentAnalysis, status: DocumentStatus, error: str | None) -> None:
    extracted = result.extracted
    document.status = status.value
    document.error = error
    document.pages = len(extracted.pages) or None
    document.text_source = extracted.text_source
    document.text_chars = sum(len(page.text) for page in extracted.pages)
    if result.category is not None:
        document.category = result.category.value
    for page in extracted.pages:
        session.add(DocumentPage(
            document_id=document.id, number=page.number, source=page.source, text=page.text,
            mean_confidence=page.mean_confidence, error=page.error,
            words=[[w.text, w.confidence, w.left, w.top, w.width, w.height]
                   for w in page.words] or None,
        ))
    for row in result.lab_rows:
        session.add(LabResult(
            case_id=case_pk, document_id=document.id, page=row.page, test=row.test,
            loinc=row.loinc, value=row.value, value_text=row.value_text, unit=row.unit,
            ref_low=row.ref_low, ref_high=row.ref_high, ref_text=row.ref_text,
            ref_source=row.ref_source, flag=row.flag, flag_printed=row.flag_printed,
            row_text=row.row_text, flag_note=row.flag_note, critical=row.critical,
            repaired=row.repaired, test_printed=row.test_printed,
        ))
    if result.radiology is not None:
        for observation in result.radiology.observations:
            session.add(RadiologyObservation(
                case_id=case_pk, document_id=document.id, page=observation.page,
                finding=observation.finding, negated=observation.negated,
                uncertain=observation.uncertain, section=observation.section,
                sentence=observation.sentence, historical=observation.historical,
                hypothetical=observation.hypothetical, family=observation.family,
            ))
    if result.meds is not None:
        _write_allergies(session, case_pk, document.id, result.meds)


def _write_allergies(session: Session, case_pk: int, document_pk: int | None,
                     meds: MedsResult) -> None:
    for allergy in meds.allergies:
        session.add(Allergy(
            case_id=case_pk, document_id=document_pk, page=allergy.page,
            substance=allergy.substance, reaction=allergy.reaction,
            severity=allergy.severity, source_text=allergy.sentence,
        ))


def _previous_medications(session: Session, earlier: Case | None
                          ) -> tuple[PreviousMedication, ...]:
    if earlier is None:
        return ()
    rows = session.execute(
        select(Medication).where(Medication.case_id == earlier.id,
                                 Medication.review_state != "stopped")
        .order_by(Medication.id)).scalars()
    return tuple(PreviousMedication(name=row.name, dose=row.dose, frequency=row.frequency,
                                    route=row.route, duration=row.duration, record_id=row.id)
                 for row in rows)


def _previous_labs(session: Session, earlier: Case | None) -> tuple[PreviousLab, ...]:
    if earlier is None:
        return ()
    rows = session.execute(
        select(LabResult).where(LabResult.case_id == earlier.id).order_by(LabResult.id)
    ).scalars()
    label = f"previous case of {earlier.created_at:%d %b %Y}"
    return tuple(
        PreviousLab(
            row=LabRow(test=row.test, loinc=row.loinc, value=row.value,
                       value_text=row.value_text, unit=row.unit, ref_low=row.ref_low,
                       ref_high=row.ref_high, ref_text=row.ref_text,
                       ref_source=row.ref_source, flag=row.flag, page=row.page),
            collected=earlier.created_at, label=label)
        for row in rows)


def _insight_payload(insights: object) -> dict:
    payload = dict(insights.to_contract_dict())  # type: ignore[attr-defined]
    for extra in ("one_line", "bullets"):
        value = getattr(insights, extra, None)
        if value is not None:
            payload[extra] = value
    return payload

