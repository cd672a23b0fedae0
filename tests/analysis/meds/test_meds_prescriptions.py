"""Prescription lines: Indian dosing notation, brands, forms and routes, units, durations."""

from __future__ import annotations

import pytest


def test_indian_prescription_line(one) -> None:
    m = one("Tab. Glycomet 500mg 1-0-1 x 30 days")
    assert (m.name, m.name_printed) == ("metformin", "Glycomet")
    assert m.dose == "500 mg"
    assert m.route == "oral"
    assert m.frequency == "1-0-1 (morning and night)"
    assert m.duration == "30 days"
    assert m.flagged_reason is None
    assert m.status_hint is None
    assert m.sentence == "Tab. Glycomet 500mg 1-0-1 x 30 days"


def test_injection_line(one) -> None:
    m = one("Inj. Insulin glargine 10 units SC HS")
    assert (m.name, m.dose, m.route, m.frequency) == (
        "insulin glargine", "10 units", "SC", "at bedtime",
    )  # fmt: skip
    assert m.flagged_reason is None


@pytest.mark.parametrize(
    ("pattern", "frequency"),
    [
        ("1-0-1", "1-0-1 (morning and night)"),
        ("1-1-1", "1-1-1 (morning, noon and night)"),
        ("1-0-0", "1-0-0 (morning)"),
        ("0-0-1", "0-0-1 (night)"),
        ("0-1-0", "0-1-0 (noon)"),
        ("1 - 0 - 1", "1-0-1 (morning and night)"),
        ("1-0-0-1", "1-0-0-1 (morning and night)"),
        ("1-1-1-1", "1-1-1-1 (morning, noon, evening and night)"),
        ("½-0-½", "½-0-½ (morning and night)"),
        ("1/2-0-1/2", "1/2-0-1/2 (morning and night)"),
    ],
)
def test_morning_noon_night_patterns(one, pattern: str, frequency: str) -> None:
    assert one(f"Tab Telma 40 {pattern}").frequency == frequency


@pytest.mark.parametrize(
    ("written", "frequency"),
    [
        ("OD", "once daily"),
        ("o.d.", "once daily"),
        ("once a day", "once daily"),
        ("1 time a day", "once daily"),
        ("daily", "once daily"),
        ("BD", "twice daily"),
        ("BID", "twice daily"),
        ("b.i.d.", "twice daily"),
        ("twice a day", "twice daily"),
        ("2 times a day", "twice daily"),
        ("12 hourly", "twice daily"),
        ("TDS", "three times daily"),
        ("TID", "three times daily"),
        ("q8h", "three times daily"),
        ("8 hourly", "three times daily"),
        ("QID", "four times daily"),
        ("q6h", "four times daily"),
        ("every 4 hours", "every 4 hours"),
        ("HS", "at bedtime"),
        ("QHS", "at bedtime"),
        ("at night", "at bedtime"),
        ("SOS", "as needed"),
        ("PRN", "as needed"),
        ("as needed", "as needed"),
        ("stat", "immediately (once)"),
        ("weekly", "weekly"),
        ("on alternate days", "alternate days"),
    ],
)
def test_frequency_abbreviations(one, written: str, frequency: str) -> None:
    assert one(f"Tab. Metformin 500 mg {written}").frequency == frequency


@pytest.mark.parametrize(
    ("written", "food"),
    [("AC", "before food"), ("before food", "before food"), ("empty stomach", "before food"),
     ("PC", "after food"), ("after meals", "after food"), ("with food", "with food")],
)  # fmt: skip
def test_food_timing(one, written: str, food: str) -> None:
    m = one(f"Tab Metformin 500 mg BD {written}")
    assert (m.frequency, m.food_timing) == ("twice daily", food)


@pytest.mark.parametrize(
    ("line", "route"),
    [
        ("Inj Ceftriaxone 1 g IV BD", "IV"),
        ("Inj Ceftriaxone 1 g intravenous BD", "IV"),
        ("Ceftriaxone 1 g IM stat", "IM"),
        ("Inj Enoxaparin 40 mg s/c OD", "SC"),
        ("Metformin 500 mg PO BD", "oral"),
        ("Metformin 500 mg orally BD", "oral"),
        ("Tab Metformin 500 mg BD", "oral"),
        ("Cap Omeprazole 20 mg OD", "oral"),
        ("Syp Calpol 5 ml TDS", "oral"),
        ("Inj Ceftriaxone 1 g BD", "injection"),
        ("Salbutamol inhaler 2 puffs SOS", "inhaled"),
        ("Budesonide 200 mcg inhaled BD", "inhaled"),
        ("Mupirocin ointment local application TDS", "topical"),
        ("Nitroglycerin 0.5 mg SL SOS", "SL"),
        ("Timolol 0.5% eye drops 1 drop BD", "ophthalmic"),
    ],
)
def test_routes(one, line: str, route: str) -> None:
    assert one(line).route == route


@pytest.mark.parametrize(
    ("line", "dose"),
    [
        ("Metformin 500mg BD", "500 mg"),
        ("Metformin 0.5 g BD", "0.5 g"),
        ("Levothyroxine 50 mcg OD", "50 mcg"),
        ("Levothyroxine 50 µg OD", "50 mcg"),
        ("Cholecalciferol 60,000 IU weekly", "60,000 IU"),
        ("Cholecalciferol 60K IU weekly", "60K IU"),
        ("Insulin glargine 12 units HS", "12 units"),
        ("Salbutamol 2 puffs SOS", "2 puffs"),
        ("Timolol 1 drop BD", "1 drop"),
        ("Syp Calpol 250 mg/5 ml 5 ml TDS", "5 ml"),
        ("Metformin 1 tab BD", "1 tab"),
        ("Paracetamol 15 mg/kg q6h", "15 mg/kg"),
        ("Tab Dolo 650 SOS", "650"),
        ("Tab Pan 40 1-0-0", "40"),
    ],
)
def test_dose_units(one, line: str, dose: str) -> None:
    assert one(line).dose == dose


@pytest.mark.parametrize(
    ("line", "duration"),
    [
        ("Tab Amoxicillin 500 mg TDS for 5 days", "5 days"),
        ("Tab Amoxicillin 500 mg TDS x 5 days", "5 days"),
        ("Tab Amoxicillin 500 mg TDS × 7 days", "7 days"),
        ("Tab Amoxicillin 500 mg TDS x 5/7", "5 days"),
        ("Tab Metformin 500 mg BD x 2 weeks", "2 weeks"),
        ("Tab Metformin 500 mg BD for 1 month", "1 month"),
        ("Tab Metformin 500 mg BD x 3 months", "3 months"),
        ("Tab Metformin 500 mg BD - continue", "continue"),
        ("Tab Metformin 500 mg BD, to continue", "continue"),
        ("Tab Metformin 500 mg BD long term", "long term"),
        ("Metformin 500 mg BD since 5 years", "5 years"),
    ],
)
def test_durations(one, line: str, duration: str) -> None:
    assert one(line).duration == duration


@pytest.mark.parametrize(
    ("line", "generic"),
    [
        ("Tab Glycomet 500 mg BD", "metformin"),
        ("Tab Ecosprin 75 mg OD", "aspirin"),
        ("Tab Thyronorm 50 mcg OD", "levothyroxine"),
        ("Tab Eltroxin 100 mcg OD", "levothyroxine"),
        ("Tab Crocin 500 mg SOS", "paracetamol"),
        ("Tab Dolo 650 TDS", "paracetamol"),
        ("Tab Telma 40 OD", "telmisartan"),
        ("Tab Amlong 5 OD", "amlodipine"),
        ("Tab Amlip 5 OD", "amlodipine"),
        ("Tab Pan 40 OD", "pantoprazole"),
        ("Tab Pantocid 40 OD", "pantoprazole"),
        ("Tab Augmentin 625 mg BD", "amoxicillin-clavulanate"),
        ("Tab Lipitor 20 mg HS", "atorvastatin"),
        ("Tylenol 500 mg q6h", "paracetamol"),
        ("Tab Telma-H 40/12.5 OD", "telmisartan-hydrochlorothiazide"),
        ("Tab Glycomet-GP 1 1-0-0", "glimepiride-metformin"),
        ("Inj Lantus 10 units HS", "insulin glargine"),
        ("Asthalin inhaler 2 puffs SOS", "salbutamol"),
        ("Tab Metformin SR 500 mg OD", "metformin"),
        ("Tab Losartan potassium 50 mg OD", "losartan"),
        ("Tab Atorvastatin calcium 10 mg HS", "atorvastatin"),
    ],
)
def test_brands_and_salts_map_to_generics(one, line: str, generic: str) -> None:
    m = one(line)
    assert m.name == generic
    assert m.flagged_reason is None


def test_common_word_brand_needs_a_prescription_context(read) -> None:
    assert read("Tab Pan 40 OD").medications[0].name == "pantoprazole"
    assert read("Pan 40 mg OD before breakfast").medications[0].name == "pantoprazole"
    assert read("Heat the oil in a pan and fry.").medications == ()
    assert read("Patient has a candid discussion with family.").medications == ()


def test_generic_with_brand_in_brackets_is_one_drug(one) -> None:
    m = one("Tab. Metformin (Glycomet) 500 mg BD")
    assert (m.name, m.dose, m.frequency) == ("metformin", "500 mg", "twice daily")


def test_combination_written_with_plus_and_slash(one) -> None:
    m = one("Tab Telmisartan 40 mg + Amlodipine 5 mg OD")
    assert (m.name, m.dose, m.frequency) == ("telmisartan-amlodipine", "40 mg + 5 mg", "once daily")
    m = one("Acetaminophen/Guaifenesin 20mg 1 time a day for 1 year")
    assert (m.name, m.dose, m.frequency, m.duration) == (
        "paracetamol-guaifenesin", "20 mg", "once daily", "1 year",
    )  # fmt: skip
    m = one("Amoxicillin + Clavulanic acid 625 mg BD")
    assert m.name == "amoxicillin-clavulanate"


def test_wrapped_prescription_line_continues(meds) -> None:
    found = meds("Tab Glycomet 500 mg\n1-0-1 after food x 30 days\nTab Telma 40 OD")
    assert found["metformin"].frequency == "1-0-1 (morning and night)"
    assert found["metformin"].food_timing == "after food"
    assert found["metformin"].duration == "30 days"
    assert found["telmisartan"].frequency == "once daily"


def test_unknown_name_after_dosage_form_is_flagged(meds) -> None:
    found = meds("Tab. Xyzzol 10 mg OD\nTab. Metformin 500 mg BD")
    assert found["xyzzol"].dose == "10 mg"
    assert "not in the drug vocabulary" in found["xyzzol"].flagged_reason
    assert found["metformin"].flagged_reason is None


def test_words_after_dosage_form_that_are_directions_are_not_drugs(read) -> None:
    assert read("Tab. as advised. 1 tab daily. Inj. stat.").medications == ()


DISCHARGE_SUMMARY = """\
DISCHARGE SUMMARY
Diagnosis: Type 2 DM, Hypertension, CAD
Drug allergy: Sulfa (rash)
Investigations: HbA1c 8.2%, S. Creatinine 1.1 mg/dL, 25 (OH) Vitamin D 14 ng/ml
Course in hospital: Treated with Inj. Ceftriaxone 1 g IV BD for 5 days and Inj. Insulin
Actrapid as per sliding scale. Metformin was withheld during admission.
Discharge medications:
1. Tab. Metformin SR 1000 mg 1-0-1 after food - to continue
2. Tab. Glimepiride 2 mg 1-0-0 before breakfast
3. Tab. Atorva 40 0-0-1
4. Tab. Ecosprin-AV 75/10 0-0-1
5. Tab. Clopilet 75 mg OD x 1 year
6. Tab. Met XL 25 1-0-0
7. Inj. Lantus 14 units s/c at bedtime
8. Tab. Pan 40 mg OD before breakfast x 2 weeks
9. Cap. Vitamin D3 60,000 IU once a week x 8 weeks
Stopped: Aspirin (replaced by Ecosprin-AV)
Advice: Avoid NSAIDs. Review after 2 weeks with FBS, PPBS.
"""


def test_discharge_summary_medication_list(read) -> None:
    result = read(DISCHARGE_SUMMARY)
    current = {m.name: m for m in result.medications if m.status_hint is None}
    expected = {
        "ceftriaxone": ("1 g", "IV", "twice daily"),
        "metformin": ("1000 mg", "oral", "1-0-1 (morning and night)"),
        "glimepiride": ("2 mg", "oral", "1-0-0 (morning)"),
        "atorvastatin": ("40", "oral", "0-0-1 (night)"),
        "aspirin-atorvastatin": ("75/10", "oral", "0-0-1 (night)"),
        "clopidogrel": ("75 mg", "oral", "once daily"),
        "metoprolol": ("25", "oral", "1-0-0 (morning)"),
        "insulin glargine": ("14 units", "SC", "at bedtime"),
        "pantoprazole": ("40 mg", "oral", "once daily"),
        "cholecalciferol": ("60,000 IU", "oral", "weekly"),
    }
    for name, (dose, route, frequency) in expected.items():
        m = current[name]
        assert (m.dose, m.route, m.frequency) == (dose, route, frequency), name
    assert current["metformin"].duration == "continue"
    assert current["clopidogrel"].duration == "1 year"
    assert current["cholecalciferol"].duration == "8 weeks"
    assert current["insulin regular"].frequency == "sliding scale"
    stopped = {m.name: m.status_hint for m in result.medications if m.status_hint}
    assert stopped == {"metformin": "held", "aspirin": "stopped"}
    assert [a.substance for a in result.allergies] == ["sulfonamides"]
    # The laboratory lines and the advice to avoid NSAIDs are not medications.
    names = {m.name for m in result.medications}
    assert not names & {"cholecalciferol (lab)", "nsaids"}
    assert len([m for m in result.medications if m.name == "cholecalciferol"]) == 1
