"""Cases grouped into patients: automatically, and as the doctor links and unlinks them."""

from __future__ import annotations

import pytest

from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.errors import NotFoundError, ValidationError
from medmitra_desktop.domain.records import CaseRecord
from tests.factories import make_case


def visit_ids(context: AppContext, case: CaseRecord) -> list[str]:
    return [v.case_id for v in context.patients.patient(case.case_id).visits]


def record_case(context: AppContext, name: str, age: int, record: str | None,
                gender: str = "female") -> CaseRecord:
    return context.cases.create_case(user_id="dr", patient_name=name, patient_age=age,
                                     patient_gender=gender, patient_record_number=record)


def test_visits_chain_from_year_to_year_and_by_record_number(context: AppContext) -> None:
    first = make_case(context.cases, name="Sunita Rao", age=60)
    second = make_case(context.cases, name="SUNITA RAO", age=61)
    third = make_case(context.cases, name="Sunita Rao", age=62)  # 2 years from the first
    make_case(context.cases, name="Sunita Rao", age=61, gender="male")  # not her
    make_case(context.cases, name="Sunita Rao", age=75)  # not her either
    expected = [first.case_id, second.case_id, third.case_id]  # oldest first
    assert visit_ids(context, first) == visit_ids(context, third) == expected
    patient = context.patients.patient(second.case_id)
    assert not patient.decided_by_doctor and not patient.several_match
    assert patient.latest.patient_age == 62

    numbered = record_case(context, "S. Rao", 58, "MRN-7")
    later = record_case(context, "Sunita R.", 66, "MRN-7")  # the number decides
    assert visit_ids(context, later) == [numbered.case_id, later.case_id]
    assert context.patients.patient(later.case_id).record_numbers == ("MRN-7",)


def test_trashed_visits_are_left_out(context: AppContext) -> None:
    first = make_case(context.cases, name="Meena Das", age=40)
    second = make_case(context.cases, name="Meena Das", age=41)
    context.cases.delete_case(first.case_id, user_id="dr")
    assert visit_ids(context, second) == [second.case_id]
    with pytest.raises(NotFoundError):
        context.patients.patient(first.case_id)


def test_doctor_links_cases_the_rule_cannot_see(context: AppContext) -> None:
    nickname = make_case(context.cases, name="Bablu Sharma", age=30, gender="male")
    full = make_case(context.cases, name="Rakesh Sharma", age=31, gender="male")
    again = make_case(context.cases, name="Rakesh Sharma", age=31, gender="male")
    assert visit_ids(context, nickname) == [nickname.case_id]

    patient = context.patients.link(nickname.case_id, full.case_id, user_id="dr-link")
    assert [v.case_id for v in patient.visits] == [nickname.case_id, full.case_id,
                                                   again.case_id]
    assert patient.decided_by_doctor
    assert visit_ids(context, again) == visit_ids(context, nickname)
    # A later visit under the usual name joins the linked patient by itself.
    later = make_case(context.cases, name="Rakesh Sharma", age=32, gender="male")
    assert visit_ids(context, nickname)[-1] == later.case_id
    assert visit_ids(context, later) == visit_ids(context, nickname)

    history = [(e.action, e.user_id, e.detail) for e in context.cases.history(full.case_id)]
    assert ("link_patient", "dr-link", f"with case {nickname.case_id}") in history
    with pytest.raises(ValidationError):
        context.patients.link(full.case_id, full.case_id, user_id="dr")


def test_unlink_separates_a_case_for_good(context: AppContext) -> None:
    mother = make_case(context.cases, name="Lakshmi Iyer", age=60)
    same = make_case(context.cases, name="Lakshmi Iyer", age=61)
    namesake = make_case(context.cases, name="Lakshmi Iyer", age=60)  # another Lakshmi
    assert len(visit_ids(context, namesake)) == 3

    alone = context.patients.unlink(namesake.case_id, user_id="dr-u")
    assert [v.case_id for v in alone.visits] == [namesake.case_id]
    assert visit_ids(context, mother) == [mother.case_id, same.case_id]
    assert ("unlink_patient", "from 2 case(s)") in [
        (e.action, e.detail) for e in context.cases.history(namesake.case_id)]

    # A new visit matching both by name is not guessed into either; the doctor decides.
    newcomer = make_case(context.cases, name="Lakshmi Iyer", age=61)
    patient = context.patients.patient(newcomer.case_id)
    assert [v.case_id for v in patient.visits] == [newcomer.case_id]
    assert patient.several_match
    context.patients.link(newcomer.case_id, mother.case_id, user_id="dr-u")
    assert visit_ids(context, mother) == [mother.case_id, same.case_id, newcomer.case_id]
    assert visit_ids(context, namesake) == [namesake.case_id]

    with pytest.raises(ValidationError, match="not linked to any other case"):
        context.patients.unlink(namesake.case_id, user_id="dr-u")


def test_link_candidates_leave_out_the_patient_itself(context: AppContext) -> None:
    mine = make_case(context.cases, name="Farah Khan", age=50)
    also_mine = make_case(context.cases, name="Farah Khan", age=50)
    other = make_case(context.cases, name="Farida Khan", age=50)
    male = make_case(context.cases, name="Faraz Khan", age=50, gender="male")
    found = [v.case_id for v in context.patients.link_candidates(mine.case_id, "far")]
    assert also_mine.case_id not in found and mine.case_id not in found
    assert set(found) == {other.case_id, male.case_id}
    # Without words: the same gender only, as a first guess.
    assert [v.case_id for v in context.patients.link_candidates(mine.case_id)] == [
        other.case_id]
    assert context.patients.link_candidates(mine.case_id, "100%_") == ()


def test_previous_case_for_analysis_follows_the_doctors_links(context: AppContext) -> None:
    from medmitra_desktop.services import patients
    from medmitra_desktop.storage.orm import Case

    first = make_case(context.cases, name="Kiran Rao", age=40, gender="male")
    second = make_case(context.cases, name="Kiran Rao", age=40, gender="male")

    def previous(case: CaseRecord) -> str | None:
        with context.database.read_session() as session:
            row = session.query(Case).filter_by(uid=case.case_id).one()
            earlier = patients.previous_case(session, row)
            return earlier.uid if earlier else None

    assert previous(second) == first.case_id
    context.patients.unlink(second.case_id, user_id="dr")
    assert previous(second) is None  # the medication review will not compare with hers
