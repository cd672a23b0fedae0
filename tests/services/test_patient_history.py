"""A patient's earlier case feeds medication review and lab trends."""

from __future__ import annotations

from pathlib import Path

import pytest

from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.errors import NotFoundError, ValidationError
from medmitra_desktop.services import patients
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.storage.orm import Case
from tests.factories import LAB_LINES, make_case, text_pdf


def _previous_uid(context: AppContext, case_id: str) -> str | None:
    with context.database.read_session() as session:
        case = session.query(Case).filter_by(uid=case_id).one()
        earlier = patients.previous_case(session, case)
        return earlier.uid if earlier else None


def test_same_patient_by_name_gender_and_age_within_a_year(context: AppContext) -> None:
    first = make_case(context.cases, name="Sunita Rao", age=60, gender="female")
    make_case(context.cases, name="Sunita Rao", age=60, gender="male")  # not her
    make_case(context.cases, name="Sunita Rao", age=75, gender="female")  # not her
    later = make_case(context.cases, name="sunita rao", age=61, gender="female")
    assert _previous_uid(context, later.case_id) == first.case_id
    assert _previous_uid(context, first.case_id) is None


def test_record_number_decides_when_given(context: AppContext) -> None:
    other = make_case(context.cases, name="Sunita Rao", age=60, gender="female")
    mine = context.cases.create_case(
        user_id="dr", patient_name="S. Rao", patient_age=58, patient_gender="female",
        patient_record_number="MRN-77")
    later = context.cases.create_case(
        user_id="dr", patient_name="Sunita Rao", patient_age=60, patient_gender="female",
        patient_record_number="MRN-77")
    assert _previous_uid(context, later.case_id) == mine.case_id != other.case_id


def test_medications_are_reviewed_against_the_earlier_visit(context: AppContext,
                                                            jobs: AnalysisJobs) -> None:
    make_case(context.cases, name="Vikram Shah", age=58, gender="male",
              notes="On metformin 500 mg BD, atorvastatin 10 mg OD and amlodipine 5 mg OD.")
    jobs.run_next()
    later = make_case(context.cases, name="Vikram Shah", age=59, gender="male",
                      notes="Metformin 1000 mg BD. Atorvastatin 10 mg OD. "
                            "Started telmisartan 40 mg OD.")
    jobs.run_next()
    states = {m.name: m for m in context.results.results(later.case_id).medications}
    assert states["metformin"].review_state == "changed"
    assert states["metformin"].review_details["previous_fields"]["dosage"] == "500 mg"
    assert states["atorvastatin"].review_state == "verified"
    assert states["amlodipine"].review_state == "unverified"  # not mentioned this time
    assert states["amlodipine"].document_name is None
    assert states["telmisartan"].review_state == "verified"


def test_doctor_reviews_a_medication(context: AppContext, jobs: AnalysisJobs) -> None:
    case = make_case(context.cases, notes="Taking aspirin 75 mg OD and pantoprazole 40 mg OD")
    jobs.run_next()
    aspirin = next(m for m in context.results.results(case.case_id).medications
                   if m.name == "aspirin")
    with pytest.raises(ValidationError) as caught:
        context.results.review_medication(case.case_id, aspirin.id, user_id="dr-k",
                                          state="stopped")
    assert "reason" in caught.value.by_field()
    with pytest.raises(ValidationError, match="state: must be one of"):
        context.results.review_medication(case.case_id, aspirin.id, user_id="dr-k",
                                          state="paused")
    stopped = context.results.review_medication(
        case.case_id, aspirin.id, user_id="dr-k", state="stopped", reason="GI bleed",
        change_date="2026-11-01")
    assert stopped.review_state == "stopped"
    assert stopped.review_details["approved_doctor"] == "dr-k"
    assert stopped.review_details["reason"] == "GI bleed"
    changed = context.results.review_medication(
        case.case_id, aspirin.id, user_id="dr-k", state="changed",
        changes={"dose": "150 mg"})
    assert (changed.dose, changed.review_details["previous_fields"]) == ("150 mg",
                                                                         {"dosage": "75 mg"})
    history = context.cases.history(case.case_id)
    assert history[-1].detail == f"medication={aspirin.id} state=changed"
    with pytest.raises(NotFoundError):
        context.results.review_medication(case.case_id, 999_999, user_id="dr", state="verified")


def test_earlier_creatinine_reaches_the_insights(context: AppContext, jobs: AnalysisJobs,
                                                 tmp_path: Path) -> None:
    before = [line.replace("1.1       mg/dL", "0.9       mg/dL") for line in LAB_LINES]
    after = [line.replace("1.1       mg/dL", "2.4       mg/dL") for line in LAB_LINES]
    make_case(context.cases, name="Lata Menon", age=70,
              lab=[text_pdf(tmp_path / "before.pdf", before)])
    jobs.run_next()
    later = make_case(context.cases, name="Lata Menon", age=70,
                      lab=[text_pdf(tmp_path / "after.pdf", after)])
    jobs.run_next()
    insight = context.results.results(later.case_id).latest_insight()
    assert insight is not None
    differential = insight.payload["differential"]
    aki = [item for item in differential if item["icd10"].startswith("N17")]
    assert aki, differential
    assert any("previous" in evidence for evidence in aki[0]["evidence"])


def test_reanalysis_keeps_the_doctors_medication_reviews(context: AppContext,
                                                         jobs: AnalysisJobs) -> None:
    case = make_case(context.cases, notes="Taking aspirin 75 mg OD and pantoprazole 40 mg OD")
    jobs.run_next()
    aspirin = next(m for m in context.results.results(case.case_id).medications
                   if m.name == "aspirin")
    context.results.review_medication(case.case_id, aspirin.id, user_id="dr-k",
                                      state="stopped", reason="GI bleed")
    context.cases.reanalyze(case.case_id, user_id="dr-k")
    jobs.run_next()
    after = {m.name: m for m in context.results.results(case.case_id).medications}
    assert sorted(after) == ["aspirin", "pantoprazole"]  # no duplicate aspirin row
    assert after["aspirin"].review_state == "stopped"
    assert after["aspirin"].review_details["reason"] == "GI bleed"
    assert after["pantoprazole"].review_state == "verified"


def test_no_known_drug_allergies_is_kept(context: AppContext, jobs: AnalysisJobs) -> None:
    case = make_case(context.cases, notes="NKDA. On metformin 500 mg BD.")
    jobs.run_next()
    insight = context.results.results(case.case_id).latest_insight()
    assert insight is not None and insight.payload["no_known_allergies"] is True
