"""What the analysis found for a case, as the case detail shows it, and the doctor's review
of medications (verify, change, stop, flag, approve).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.enums import AuditAction
from ..domain.errors import FieldError, NotFoundError, ValidationError
from ..storage.database import Database
from ..storage.orm import (
    Allergy,
    Case,
    DocumentPage,
    Insight,
    LabResult,
    Medication,
    RadiologyObservation,
    utcnow,
)
from . import audit

REVIEW_STATES = ("verified", "changed", "stopped", "unverified", "flagged")
API_FIELD_NAMES = {"dose": "dosage"}
CASE_ENTITY = "case"


@dataclass(frozen=True)
class LabResultView:
    id: int
    document_id: str | None
    document_name: str | None
    page: int | None
    test: str
    test_printed: str | None
    loinc: str | None
    value: float | None
    value_text: str
    unit: str | None
    ref_low: float | None
    ref_high: float | None
    ref_text: str | None
    ref_source: str | None
    flag: str | None
    flag_printed: str | None
    flag_note: str | None
    critical: bool
    repaired: str | None
    row_text: str | None


@dataclass(frozen=True)
class FindingView:
    id: int
    document_id: str | None
    document_name: str | None
    page: int | None
    finding: str
    negated: bool
    uncertain: bool
    historical: bool
    section: str | None
    sentence: str


@dataclass(frozen=True)
class MedicationView:
    id: int
    document_id: str | None
    document_name: str | None  # None: from the doctor's notes or the earlier case
    page: int | None
    name: str
    dose: str | None
    route: str | None
    frequency: str | None
    duration: str | None
    review_state: str
    review_details: dict[str, Any]
    source_text: str | None


@dataclass(frozen=True)
class AllergyView:
    id: int
    document_name: str | None
    substance: str
    reaction: str | None
    severity: str | None
    source_text: str | None


@dataclass(frozen=True)
class InsightView:
    source: str  # "local" | "remote"
    revision: int
    created_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class PageView:
    number: int
    source: str
    text: str
    mean_confidence: float | None
    # (text, confidence, left, top, width, height) per OCR word
    words: tuple[tuple[str, float, int, int, int, int], ...]
    error: str | None


@dataclass(frozen=True)
class CaseResults:
    case_id: str
    labs: tuple[LabResultView, ...]
    findings: tuple[FindingView, ...]
    medications: tuple[MedicationView, ...]
    allergies: tuple[AllergyView, ...]
    insights: tuple[InsightView, ...]  # newest local first, then newest remote

    def latest_insight(self, source: str = "local") -> InsightView | None:
        return next((i for i in self.insights if i.source == source), None)


class CaseResultsService:
    def __init__(self, database: Database) -> None:
        self._db = database

    def results(self, case_id: str) -> CaseResults:
        with self._db.read_session() as session:
            case = _case(session, case_id)
            names = {d.id: (d.uid, d.file_name) for d in case.documents}

            def doc(pk: int | None) -> tuple[str | None, str | None]:
                return names.get(pk, (None, None)) if pk is not None else (None, None)

            labs = tuple(
                LabResultView(r.id, *doc(r.document_id), r.page, r.test, r.test_printed,
                              r.loinc, r.value, r.value_text, r.unit, r.ref_low, r.ref_high,
                              r.ref_text, r.ref_source, r.flag, r.flag_printed, r.flag_note,
                              bool(r.critical), r.repaired, r.row_text)
                for r in _rows(session, LabResult, case.id))
            findings = tuple(
                FindingView(r.id, *doc(r.document_id), r.page, r.finding, r.negated,
                            r.uncertain, r.historical, r.section, r.sentence)
                for r in _rows(session, RadiologyObservation, case.id))
            medications = tuple(_medication_view(r, doc) for r in
                                _rows(session, Medication, case.id))
            allergies = tuple(
                AllergyView(r.id, doc(r.document_id)[1], r.substance, r.reaction, r.severity,
                            r.source_text)
                for r in _rows(session, Allergy, case.id))
            insight_rows = session.execute(
                select(Insight).where(Insight.case_id == case.id)
                .order_by(Insight.source, Insight.revision.desc())).scalars()
            insights = tuple(sorted(
                (InsightView(r.source, r.revision, r.created_at, r.payload)
                 for r in insight_rows),
                key=lambda i: (i.source != "local", -i.revision)))
            return CaseResults(case.uid, labs, findings, medications, allergies, insights)

    def document_pages(self, case_id: str, document_id: str) -> tuple[PageView, ...]:
        with self._db.read_session() as session:
            case = _case(session, case_id)
            document = next((d for d in case.documents if d.uid == document_id), None)
            if document is None:
                raise NotFoundError(f"This case has no document {document_id}.")
            rows = session.execute(
                select(DocumentPage).where(DocumentPage.document_id == document.id)
                .order_by(DocumentPage.number)).scalars()
            return tuple(
                PageView(r.number, r.source, r.text, r.mean_confidence,
                         tuple(tuple(w) for w in (r.words or ())),  # type: ignore[misc]
                         r.error)
                for r in rows)

    def review_medication(self, case_id: str, medication_id: int, *, user_id: str,
                          state: str, reason: str | None = None,
                          change_date: str | None = None,
                          changes: dict[str, str | None] | None = None) -> MedicationView:
        """The doctor's decision on one medication; approving stamps doctor and time.

        `changes` edits dose / route / frequency / duration; the earlier values are kept in
        review_details.previous_fields (state "changed")."""
        errors: list[FieldError] = []
        if state not in REVIEW_STATES:
            errors.append(FieldError("state", f"must be one of {', '.join(REVIEW_STATES)} "
                                              f"(got {state!r})"))
        editable = {"dose", "route", "frequency", "duration"}
        unknown = sorted(set(changes or {}) - editable)
        if unknown:
            errors.append(FieldError("changes", f"only {', '.join(sorted(editable))} can be "
                                                f"changed (got {', '.join(unknown)})"))
        if state == "stopped" and not (reason and reason.strip()):
            errors.append(FieldError("reason", "say why the medication was stopped"))
        if errors:
            raise ValidationError(errors)
        with self._db.session() as session:
            case = _case(session, case_id)
            row = session.get(Medication, medication_id)
            if row is None or row.case_id != case.id:
                raise NotFoundError(f"This case has no medication {medication_id}.")
            details = dict(row.review_details or {})
            previous_fields = dict(details.get("previous_fields") or {})
            for field, value in (changes or {}).items():
                if getattr(row, field) != value:
                    # Keys as the MedMitra API names them ("dosage"), as sync sends them.
                    api_name = API_FIELD_NAMES.get(field, field)
                    previous_fields.setdefault(api_name, getattr(row, field))
                    setattr(row, field, value)
            if previous_fields:
                details["previous_fields"] = previous_fields
            details.update({
                "state": state,
                "reason": reason or details.get("reason"),
                "change_date": change_date or details.get("change_date"),
                "is_approved": "yes",
                "approved_doctor": user_id,
                "approved_at": utcnow().isoformat(timespec="seconds"),
            })
            row.review_state = state
            row.review_details = details
            row.version += 1
            case.updated_at = utcnow()
            audit.record(session, user_id=user_id, action=AuditAction.UPDATE,
                         entity=CASE_ENTITY, entity_id=case.uid,
                         detail=f"medication={row.id} state={state}")
            session.flush()
            names = {d.id: (d.uid, d.file_name) for d in case.documents}
            return _medication_view(row, lambda pk: names.get(pk, (None, None))
                                    if pk is not None else (None, None))


def _case(session: Session, case_id: str) -> Case:
    case = session.execute(select(Case).where(Case.uid == case_id)).scalar_one_or_none()
    if case is None:
        raise NotFoundError(f"No case with id {case_id} (it may have been deleted).")
    return case


def _rows(session: Session, table: Any, case_pk: int) -> list[Any]:
    return list(session.execute(
        select(table).where(table.case_id == case_pk)
        .order_by(table.document_id.is_(None), table.document_id, table.page, table.id)
    ).scalars())


def _medication_view(row: Medication, doc: Any) -> MedicationView:
    document_id, document_name = doc(row.document_id)
    return MedicationView(row.id, document_id, document_name, row.page, row.name, row.dose,
                          row.route, row.frequency, row.duration, row.review_state,
                          dict(row.review_details or {}), row.source_text)

