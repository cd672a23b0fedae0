from __future__ import annotations

import pytest

from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.errors import ConflictError, ValidationError
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.services.soap_notes import SoapNoteService
from tests.factories import make_case


@pytest.fixture
def notes(context: AppContext) -> SoapNoteService:
    return context.soap_notes


def test_draft_comes_from_the_analysis(context: AppContext, jobs: AnalysisJobs,
                                       notes: SoapNoteService) -> None:
    case = make_case(context.cases, notes="Cough and fever for five days")
    jobs.run_next()
    draft = notes.current(case.case_id)
    assert draft.revision == 0 and not draft.signed
    assert "Cough and fever" in draft.subjective
    assert notes.revisions(case.case_id) == []


def test_edits_are_revisions_and_signing_stamps_doctor_and_time(
        context: AppContext, jobs: AnalysisJobs, notes: SoapNoteService) -> None:
    case = make_case(context.cases, notes="Headache")
    jobs.run_next()
    first = notes.save(case.case_id, user_id="dr-1",
                       sections={"assessment": "Tension headache"}, based_on=0)
    assert (first.revision, first.assessment) == (1, "Tension headache")
    assert "Headache" in first.subjective  # unedited sections kept from the draft
    signed = notes.sign(case.case_id, user_id="dr-1", doctor_name="Dr. Meera Rao")
    assert signed.signed_by == "Dr. Meera Rao" and signed.signed_at is not None
    assert notes.sign(case.case_id, user_id="dr-1", doctor_name="Someone Else").signed_by == (
        "Dr. Meera Rao")  # signing twice changes nothing
    second = notes.save(case.case_id, user_id="dr-1", sections={"plan": "Review in 1 week"},
                        based_on=1)
    assert second.revision == 2 and not second.signed  # a signed revision stays as signed
    history = notes.revisions(case.case_id)
    assert [(r.revision, r.signed) for r in history] == [(1, True), (2, False)]
    assert history[0].plan != "Review in 1 week"
    details = [e.detail for e in context.cases.history(case.case_id)]
    assert details[-3:] == ["soap_revision=1", "soap_signed=1", "soap_revision=2"]


def test_stale_edit_and_bad_input_are_refused(context: AppContext,
                                              notes: SoapNoteService) -> None:
    case = make_case(context.cases)
    notes.save(case.case_id, user_id="dr", sections={"plan": "A"}, based_on=0)
    with pytest.raises(ConflictError):
        notes.save(case.case_id, user_id="dr", sections={"plan": "B"}, based_on=0)
    with pytest.raises(ValidationError) as caught:
        notes.save(case.case_id, user_id="dr", sections={"diagnosis": "x", "plan": "y" * 20_001})
    assert set(caught.value.by_field()) == {"diagnosis", "plan"}
    with pytest.raises(ValidationError, match="doctor_name"):
        notes.sign(case.case_id, user_id="dr", doctor_name="  ")
    with pytest.raises(ConflictError):
        notes.sign(case.case_id, user_id="dr", doctor_name="Dr. X", revision=0)


def test_signing_an_unsaved_draft_saves_it_first(context: AppContext, jobs: AnalysisJobs,
                                                 notes: SoapNoteService) -> None:
    case = make_case(context.cases, notes="Routine check")
    jobs.run_next()
    signed = notes.sign(case.case_id, user_id="dr", doctor_name="Dr. A")
    assert (signed.revision, signed.signed) == (1, True)
    assert "Routine check" in signed.subjective
