"""Doctors' free-text notes: current, negated, stopped, held and hypothetical statements."""

from __future__ import annotations

import pytest

from medmitra_desktop.analysis.meds import StatusHint


def test_note_with_two_drugs_and_an_allergy(read) -> None:
    result = read("On metformin 500 mg BD and telmisartan 40 mg OD. Allergic to penicillin (rash).")
    meds = [(m.name, m.dose, m.frequency, m.flagged_reason) for m in result.medications]
    assert meds == [
        ("metformin", "500 mg", "twice daily", None),
        ("telmisartan", "40 mg", "once daily", None),
    ]
    assert [(a.substance, a.reaction) for a in result.allergies] == [("penicillin", "rash")]
    m = result.medications[0]
    assert m.sentence == "On metformin 500 mg BD and telmisartan 40 mg OD."
    assert m.start == 3
    assert m.page is None


def test_page_is_carried(knowledge) -> None:
    from medmitra_desktop.analysis.meds import extract_medications

    result = extract_medications("Metformin 500 mg BD", knowledge, page=3)
    assert result.medications[0].page == 3


def test_partly_captured_drugs_are_flagged(meds) -> None:
    found = meds("Known diabetic on metformin. Takes amlodipine 5 mg. Aspirin daily.")
    assert found["metformin"].flagged_reason == "dose and frequency not stated"
    assert found["amlodipine"].flagged_reason == "frequency not stated"
    assert found["aspirin"].flagged_reason == "dose not stated"


def test_drug_classes_and_unspecified_insulin_are_flagged(meds) -> None:
    found = meds("Known DM on OHA and insulin, HTN on antihypertensives.")
    assert set(found) == {
        "oral hypoglycaemic agent (unspecified)",
        "insulin (type not stated)",
        "antihypertensive (unspecified)",
    }
    assert all(m.flagged_reason for m in found.values())
    assert "insulin named without its type" in found["insulin (type not stated)"].flagged_reason


def test_manufacturer_name_only_is_flagged(one, read) -> None:
    m = one("New medicine from Sandoz 2 times a day.")
    assert (m.name, m.frequency) == ("sandoz", "twice daily")
    assert "manufacturer" in m.flagged_reason
    # A manufacturer labelling a known drug, or in a letterhead, is not a medication.
    assert [x.name for x in read("Tab Telma 40 (Glenmark) OD").medications] == ["telmisartan"]
    assert read("Telma 40 (Glenmark) OD").medications[0].frequency == "once daily"
    assert read("Reagents: Abbott Architect analyser").medications == ()


@pytest.mark.parametrize(
    "text",
    [
        "Not on any medication.",
        "Not on aspirin.",
        "Not on aspirin or clopidogrel.",
        "Patient denies taking metformin.",
        "No h/o insulin use.",
        "Never took statins.",
        "Avoid NSAIDs and aspirin.",
        "Ibuprofen contraindicated.",
        "Do not give metformin.",
        "Consider statin therapy.",
        "May benefit from metformin.",
        "Refused insulin.",
    ],
)
def test_negated_and_hypothetical_drugs_are_not_medications(read, text: str) -> None:
    assert read(text).medications == ()


def test_not_on_any_medication_is_reported(read) -> None:
    assert read("Not on any medication. NKDA.").no_current_medications
    assert read("Medications: nil").no_current_medications
    assert not read("Metformin 500 mg BD").no_current_medications


def test_contradiction_is_reported_not_hidden(read) -> None:
    result = read("Not on any medication. Takes metformin 500 mg BD.")
    assert [m.name for m in result.medications] == ["metformin"]
    assert not result.no_current_medications
    assert any("no current medications" in c for c in result.conflicts)


def test_negation_does_not_reach_past_the_clause(meds) -> None:
    found = meds("No fever, on metformin 500 mg BD.")
    assert found["metformin"].status_hint is None
    found = meds("Not on insulin but takes metformin 500 mg BD.")
    assert set(found) == {"metformin"}


def test_stopped_drug_is_kept_with_reason(meds) -> None:
    found = meds("Stopped aspirin 2 weeks ago due to gastritis, started clopidogrel 75 mg OD.")
    assert found["aspirin"].status_hint == StatusHint.STOPPED
    assert found["aspirin"].status_reason == "gastritis"
    assert found["aspirin"].flagged_reason is None
    assert found["clopidogrel"].status_hint is None
    assert found["clopidogrel"].dose == "75 mg"


@pytest.mark.parametrize(
    ("text", "name", "reason", "date"),
    [
        ("Metformin was stopped on 2025-10-01 due to adverse reaction.", "metformin",
         "adverse reaction", "2025-10-01"),
        ("Previously on amlodipine 5 mg, stopped by cardiologist because of pedal edema on "
         "12 March 2025.", "amlodipine", "pedal edema", "12 March 2025"),
        ("Discontinued atorvastatin in view of myalgia.", "atorvastatin", "myalgia", None),
        ("Metformin 500 mg BD - stopped", "metformin", None, None),
        ("No longer on glimepiride.", "glimepiride", None, None),
        ("Aspirin (stopped)", "aspirin", None, None),
    ],
)  # fmt: skip
def test_stopped_statements(one, text, name, reason, date) -> None:
    m = one(text)
    assert (m.name, m.status_hint, m.status_reason, m.status_date) == (
        name, StatusHint.STOPPED, reason, date,
    )  # fmt: skip


def test_stop_reaches_a_whole_list(meds) -> None:
    found = meds("Aspirin and clopidogrel were stopped.")
    assert {n: m.status_hint for n, m in found.items()} == {
        "aspirin": StatusHint.STOPPED,
        "clopidogrel": StatusHint.STOPPED,
    }


def test_stop_cue_belongs_to_the_right_drug(meds) -> None:
    found = meds("On metformin 500 mg BD, stopped aspirin.")
    assert found["metformin"].status_hint is None
    assert found["aspirin"].status_hint == StatusHint.STOPPED
    found = meds("Aspirin was stopped and metformin started.")
    assert found["aspirin"].status_hint == StatusHint.STOPPED
    assert found["metformin"].status_hint is None


def test_held_drug(one) -> None:
    m = one("Hold metformin before contrast.")
    assert m.status_hint == StatusHint.HELD


def test_stopped_section(meds) -> None:
    found = meds(
        "Stopped medications:\nAspirin 75 mg OD\nGlimepiride 1 mg OD\n\nMetformin 500 mg BD"
    )
    assert found["aspirin"].status_hint == StatusHint.STOPPED
    assert found["glimepiride"].status_hint == StatusHint.STOPPED
    assert found["metformin"].status_hint is None


def test_duplicates_within_a_text_are_merged(read) -> None:
    text = (
        "History: on metformin 500 mg BD. Plan: continue metformin. "
        "Rx: Tab Glycomet 500 mg BD after food."
    )
    meds = read(text).medications
    assert [m.name for m in meds] == ["metformin"]
    assert (meds[0].dose, meds[0].frequency, meds[0].food_timing) == (
        "500 mg", "twice daily", "after food",
    )  # fmt: skip


def test_different_doses_of_one_drug_are_both_kept(read) -> None:
    meds = read("Metformin 500 mg BD. Later increased: metformin 1 g BD.").medications
    assert [(m.name, m.dose) for m in meds] == [("metformin", "500 mg"), ("metformin", "1 g")]


def test_text_without_drugs(read) -> None:
    for text in ("", "   ", "Patient is comfortable. Vitals stable.", "BP 130/80 mmHg, HR 78"):
        result = read(text)
        assert result.medications == () and result.allergies == ()
        assert not result.no_known_allergies


def test_brand_sold_as_several_products_is_flagged(one) -> None:
    m = one("Inj Huminsulin 10 units BD")
    assert (m.name, m.dose, m.frequency) == ("huminsulin", "10 units", "twice daily")
    assert "could be insulin regular, insulin nph, biphasic insulin 30/70" in m.flagged_reason
    m = one("Inj Huminsulin R 10 units BD")
    assert (m.name, m.flagged_reason) == ("insulin regular", None)


def test_nil_advice_is_not_a_statement_about_medications(read) -> None:
    assert not read("Advice: nil").no_current_medications
    assert read("Current medications: none").no_current_medications
