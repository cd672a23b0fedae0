"""Which cases are the same patient, and the doctor's say in it.

Automatically: the clinic's patient record number decides when a case has one. Without
it, the same name (ignoring case), the same gender and an age within a year mean the
same patient: a visit a year later adds a year, and a birthday may fall in between. The
relation is followed from visit to visit, so a patient seen yearly for five years is one
patient although the first and last ages differ by five.

The doctor overrides it with a patient key on the case (cases.patient_key): cases that
share a key are one patient whatever their names say. Linking gives both sides one key;
unlinking gives the case a key of its own and the rest of its patient another, so that a
later visit matching both by name cannot join them again. An unkeyed case still joins a
keyed patient automatically when it matches exactly one such patient; when it matches
several, it stays on its own until the doctor decides (`several_match`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..domain.enums import AuditAction, CaseStatus, Gender
from ..domain.errors import FieldError, NotFoundError, ValidationError
from ..storage.database import Database
from ..storage.orm import Case
from . import audit

AGE_TOLERANCE_YEARS = 1
CASE_ENTITY = "case"
CANDIDATES_SHOWN = 50


# ---- matching (in the caller's session; the analysis job uses these too) -------------


def _automatic_matches(session: Session, case: Case) -> list[Case]:
    """Live cases the automatic rule calls the same patient as `case` (one step)."""
    conditions = [Case.deleted_at.is_(None), Case.id != case.id]
    if case.patient_record_number:
        conditions.append(Case.patient_record_number == case.patient_record_number)
    else:
        conditions += [
            Case.patient_name == case.patient_name,  # NOCASE column collation
            Case.patient_gender == case.patient_gender,
            Case.patient_age.between(case.patient_age - AGE_TOLERANCE_YEARS,
                                     case.patient_age + AGE_TOLERANCE_YEARS),
            # A case with its own record number belongs to that record only.
            Case.patient_record_number.is_(None),
        ]
    return list(session.execute(select(Case).where(*conditions)).scalars())


def _component(session: Session, start: Case) -> tuple[dict[int, Case], set[str]]:
    """The unkeyed cases reachable from `start` by automatic matches, and the keys of the
    doctor-linked patients they touch."""
    members = {start.id: start}
    keys: set[str] = set()
    frontier = [start]
    while frontier:
        current = frontier.pop()
        for match in _automatic_matches(session, current):
            if match.patient_key is not None:
                keys.add(match.patient_key)
            elif match.id not in members:
                members[match.id] = match
                frontier.append(match)
    return members, keys


def _keyed(session: Session, key: str) -> list[Case]:
    return list(session.execute(
        select(Case).where(Case.patient_key == key, Case.deleted_at.is_(None))).scalars())


@dataclass(frozen=True)
class _Group:
    cases: tuple[Case, ...]  # oldest first
    key: str | None  # the doctor's patient key, when the doctor has decided
    several_match: bool  # automatic matching found more than one linked patient


def _group(session: Session, case: Case) -> _Group:
    key = case.patient_key
    if key is None:
        members, keys = _component(session, case)
        if len(keys) != 1:
            return _Group(_ordered(members.values()), None, len(keys) > 1)
        key = next(iter(keys))
    found = {c.id: c for c in _keyed(session, key)}
    found.setdefault(case.id, case)
    # Unkeyed visits that match this patient and no other linked one belong to it too.
    seen: set[int] = set()
    for member in list(found.values()):
        for match in _automatic_matches(session, member):
            if match.patient_key is not None or match.id in seen or match.id in found:
                continue
            component, keys = _component(session, match)
            seen.update(component)
            if keys == {key}:
                found.update(component)
    return _Group(_ordered(found.values()), key, False)


def _ordered(cases: Iterable[Case]) -> tuple[Case, ...]:
    return tuple(sorted(cases, key=lambda c: (c.created_at, c.id)))


def patient_cases(session: Session, case: Case) -> tuple[Case, ...]:
    """Every live case of this case's patient, the case itself included, oldest first."""
    return _group(session, case).cases


def previous_case(session: Session, case: Case) -> Case | None:
    """The same patient's most recent case created before this one, if any."""
    earlier = [c for c in patient_cases(session, case)
               if c.id != case.id and c.created_at < case.created_at]
    return earlier[-1] if earlier else None


# ---- the service ----------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """One case of the patient, as the patient view lists it."""

    case_id: str
    created_at: datetime
    patient_name: str
    patient_age: int
    patient_gender: Gender
    patient_record_number: str | None
    status: CaseStatus
    one_line_summary: str | None
    linked_by_doctor: bool


@dataclass(frozen=True)
class PatientRecord:
    case_id: str  # the case the patient was asked for
    visits: tuple[Visit, ...]  # oldest first; the asked-for case is one of them
    decided_by_doctor: bool  # a link or unlink decided this grouping
    several_match: bool  # more than one linked patient matches: the doctor should choose

    @property
    def latest(self) -> Visit:
        return self.visits[-1]

    @property
    def record_numbers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.patient_record_number for v in self.visits
                                   if v.patient_record_number))


def visit_of(case: Case) -> Visit:
    return Visit(case.uid, case.created_at, case.patient_name, case.patient_age,
                 Gender(case.patient_gender), case.patient_record_number,
                 CaseStatus(case.status), case.one_line_summary, case.patient_key is not None)


class PatientService:
    """A case's patient (all visits), and the doctor's link and unlink, audited."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def patient(self, case_id: str) -> PatientRecord:
        with self._db.read_session() as session:
            case = live_case(session, case_id)
            group = _group(session, case)
            return PatientRecord(case.uid, tuple(visit_of(c) for c in group.cases),
                                 group.key is not None, group.several_match)

    def link_candidates(self, case_id: str, search: str = "") -> tuple[Visit, ...]:
        """Live cases of other patients the doctor may link to this one, the closest
        names first: matching `search` (name or record number) when given."""
        with self._db.read_session() as session:
            case = live_case(session, case_id)
            mine = {c.id for c in patient_cases(session, case)}
            query = select(Case).where(Case.deleted_at.is_(None))
            words = search.strip()
            if words:
                pattern = f"%{_escape_like(words)}%"
                query = query.where(or_(Case.patient_name.like(pattern, escape="\\"),
                                        Case.patient_record_number.like(pattern, escape="\\")))
            else:
                query = query.where(Case.patient_gender == case.patient_gender)
            rows = session.execute(
                query.order_by(Case.patient_name, Case.created_at.desc())
                .limit(CANDIDATES_SHOWN + len(mine))).scalars()
            return tuple(visit_of(c) for c in rows if c.id not in mine)[:CANDIDATES_SHOWN]

    def link(self, case_id: str, other_case_id: str, *, user_id: str) -> PatientRecord:
        """The doctor says the two cases are one patient: both patients become one."""
        if case_id == other_case_id:
            raise ValidationError([FieldError("other_case_id", "choose another case")])
        with self._db.session() as session:
            case = live_case(session, case_id)
            other = live_case(session, other_case_id)
            mine, theirs = _group(session, case), _group(session, other)
            if other.id not in {c.id for c in mine.cases}:
                key = mine.key or theirs.key or str(uuid.uuid4())
                for member in (*mine.cases, *theirs.cases):
                    member.patient_key = key
                # Visits keyed to either patient before (in the trash, say) follow.
                for old in {mine.key, theirs.key} - {None, key}:
                    for member in session.execute(
                            select(Case).where(Case.patient_key == old)).scalars():
                        member.patient_key = key
                for this, that in ((case, other), (other, case)):
                    audit.record(session, user_id=user_id, action=AuditAction.LINK_PATIENT,
                                 entity=CASE_ENTITY, entity_id=this.uid,
                                 detail=f"with case {that.uid}")
            session.flush()
        return self.patient(case_id)

    def unlink(self, case_id: str, *, user_id: str) -> PatientRecord:
        """The doctor says this case is not the patient of the others: it becomes a
        patient of its own, and the others stay one patient."""
        with self._db.session() as session:
            case = live_case(session, case_id)
            group = _group(session, case)
            others = [c for c in group.cases if c.id != case.id]
            if not others:
                raise ValidationError([FieldError(
                    "case_id", "this case is not linked to any other case")])
            case.patient_key = str(uuid.uuid4())
            rest = str(uuid.uuid4())
            for member in others:
                member.patient_key = rest
            if group.key is not None:
                for member in session.execute(
                        select(Case).where(Case.patient_key == group.key)).scalars():
                    member.patient_key = rest  # trashed visits stay with the others
            audit.record(session, user_id=user_id, action=AuditAction.UNLINK_PATIENT,
                         entity=CASE_ENTITY, entity_id=case.uid,
                         detail=f"from {len(others)} case(s)")
            session.flush()
        return self.patient(case_id)


def live_case(session: Session, case_id: str) -> Case:
    case = session.execute(
        select(Case).where(Case.uid == case_id, Case.deleted_at.is_(None))
    ).scalar_one_or_none()
    if case is None:
        raise NotFoundError(f"No case with id {case_id} (it may have been deleted).")
    return case


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
