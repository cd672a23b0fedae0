"""Which earlier case belongs to the same patient.

The clinic's patient record number decides when the case has one. Without it, the same
name (ignoring case), the same gender and an age within a year of the earlier case's mean
the same patient: a visit a year later adds a year, and a birthday may fall in between.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..storage.orm import Case

AGE_TOLERANCE_YEARS = 1


def previous_case(session: Session, case: Case) -> Case | None:
    """The same patient's most recent case created before this one, if any."""
    conditions = [Case.deleted_at.is_(None), Case.id != case.id,
                  Case.created_at < case.created_at]
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
    return session.execute(
        select(Case).where(*conditions).order_by(Case.created_at.desc()).limit(1)
    ).scalar_one_or_none()
