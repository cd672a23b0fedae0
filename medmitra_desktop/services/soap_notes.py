"""The SOAP note a doctor edits and signs.

The analysis drafts S, O, A and P; the doctor's edits are saved as new revisions (never in
place), and signing stamps the doctor and the time on one revision. A signed revision is
final: a later edit starts a new, unsigned revision, and every revision stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.enums import AuditAction
from ..domain.errors import ConflictError, FieldError, NotFoundError, ValidationError
from ..storage.database import Database
from ..storage.orm import Case, Insight, SoapNote, utcnow
from . import audit

SECTIONS = ("subjective", "objective", "assessment", "plan")
SECTION_MAX_CHARS = 20_000


@dataclass(frozen=True)
class SoapRevision:
    revision: int  # 0: the analysis draft, not yet saved by a doctor
    subjective: str
    objective: str
    assessment: str
    plan: str
    saved_at: datetime | None
    signed_by: str | None
    signed_at: datetime | None

    @property
    def signed(self) -> bool:
        return self.signed_at is not None


class SoapNoteService:
    def __init__(self, database: Database) -> None:
        self._db = database

    def current(self, case_id: str) -> SoapRevision:
        """The latest saved revision, else the draft from the latest local analysis."""
        with self._db.read_session() as session:
            case = _case(session, case_id)
            latest = _latest(session, case.id)
            if latest is not None:
                return _revision(latest)
            return _draft(session, case.id)

    def revisions(self, case_id: str) -> list[SoapRevision]:
        with self._db.read_session() as session:
            case = _case(session, case_id)
            rows = session.execute(select(SoapNote).where(SoapNote.case_id == case.id)
                                   .order_by(SoapNote.revision)).scalars()
            return [_revision(row) for row in rows]

    def save(self, case_id: str, *, user_id: str, sections: dict[str, str],
             based_on: int | None = None) -> SoapRevision:
        """A new revision with the doctor's text. `based_on` is the revision the doctor
        edited; if someone saved another since, ConflictError instead of overwriting."""
        _check_sections(sections)
        with self._db.session() as session:
            case = _case(session, case_id)
            latest = _latest(session, case.id)
            latest_number = latest.revision if latest is not None else 0
            if based_on is not None and based_on != latest_number:
                raise ConflictError(
                    "The SOAP note was changed elsewhere since you opened it. Reload it, "
                    "then make your changes again.")
            base = _revision(latest) if latest is not None else _draft(session, case.id)
            values = {name: sections.get(name, getattr(base, name)) for name in SECTIONS}
            row = SoapNote(case_id=case.id, revision=latest_number + 1, **values)
            session.add(row)
            session.flush()
            audit.record(session, user_id=user_id, action=AuditAction.UPDATE, entity="case",
                         entity_id=case.uid, detail=f"soap_revision={row.revision}")
            return _revision(row)

    def sign(self, case_id: str, *, user_id: str, doctor_name: str,
             revision: int | None = None) -> SoapRevision:
        """Sign the latest revision (saving the draft first when nothing was saved)."""
        if not doctor_name.strip():
            raise ValidationError([FieldError("doctor_name", "is required to sign a note; "
                                                             "set it in Settings")])
        with self._db.session() as session:
            case = _case(session, case_id)
            latest = _latest(session, case.id)
            if latest is None:
                draft = _draft(session, case.id)
                latest = SoapNote(case_id=case.id, revision=1,
                                  **{name: getattr(draft, name) for name in SECTIONS})
                session.add(latest)
                session.flush()
            if revision is not None and revision != latest.revision:
                raise ConflictError("Only the latest revision of the SOAP note can be signed.")
            if latest.signed_at is not None:
                return _revision(latest)
            latest.signed_by = doctor_name.strip()
            latest.signed_at = utcnow()
            session.flush()
            audit.record(session, user_id=user_id, action=AuditAction.UPDATE, entity="case",
                         entity_id=case.uid, detail=f"soap_signed={latest.revision}")
            return _revision(latest)


def _check_sections(sections: dict[str, str]) -> None:
    errors = [FieldError(name, f"is not a SOAP section ({', '.join(SECTIONS)})")
              for name in sorted(set(sections) - set(SECTIONS))]
    errors += [FieldError(name, f"must be at most {SECTION_MAX_CHARS} characters")
               for name, text in sections.items()
               if name in SECTIONS and len(text) > SECTION_MAX_CHARS]
    if errors:
        raise ValidationError(errors)


def _case(session: Session, case_id: str) -> Case:
    case = session.execute(select(Case).where(Case.uid == case_id,
                                              Case.deleted_at.is_(None))).scalar_one_or_none()
    if case is None:
        raise NotFoundError(f"No case with id {case_id} (it may have been deleted).")
    return case


def _latest(session: Session, case_pk: int) -> SoapNote | None:
    newest = select(func.max(SoapNote.revision)).where(SoapNote.case_id == case_pk)
    return session.execute(select(SoapNote).where(
        SoapNote.case_id == case_pk, SoapNote.revision == newest.scalar_subquery())
    ).scalar_one_or_none()


def _draft(session: Session, case_pk: int) -> SoapRevision:
    payload = session.execute(
        select(Insight.payload).where(Insight.case_id == case_pk, Insight.source == "local")
        .order_by(Insight.revision.desc()).limit(1)).scalar_one_or_none() or {}
    soap = payload.get("soap") or {}
    return SoapRevision(0, *(str(soap.get(name) or "") for name in SECTIONS),
                        saved_at=None, signed_by=None, signed_at=None)


def _revision(row: SoapNote) -> SoapRevision:
    return SoapRevision(row.revision, row.subjective, row.objective, row.assessment, row.plan,
                        saved_at=row.created_at, signed_by=row.signed_by,
                        signed_at=row.signed_at)
