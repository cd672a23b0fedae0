"""Computed values: eGFR CKD-EPI 2021, units, anion gap, corrected calcium, LDL, Mentzer..."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from types import MappingProxyType

import pytest

from medmitra_desktop.analysis.insights import PreviousLab
from medmitra_desktop.analysis.insights.derived import egfr_ckd_epi_2021, kdigo_stage
from medmitra_desktop.analysis.insights.units import Converted, read_value
from medmitra_desktop.analysis.labs.knowledge import Conversion
from tests.analysis.insights.insights_helpers import (
    creatinine,
    facts_for,
    glucose,
    knowledge,
    lab,
    lab_knowledge,
    mcv,
    rbc,
)


def _params() -> dict:
    return knowledge().derived_params["egfr_ckd_epi_2021"]


def _derived(facts, name: str) -> list[float]:
    return [f.value for f in facts.derived.get(name, [])]


def test_egfr_test_vector_male_55_scr_1_2_is_71() -> None:
    assert round(egfr_ckd_epi_2021(1.2, 55, "male", _params())) == 71


@pytest.mark.parametrize(
    ("scr", "age", "sex", "expected"),
    [
        (0.7, 40, "female", 112),  # at kappa: 142 x 0.9938^40 x 1.012
        (0.9, 40, "male", 111),  # at kappa: 142 x 0.9938^40
        (1.0, 60, "female", 64),
        (2.03, 52, "male", 39),
        (0.5, 30, "male", 141),  # below kappa uses alpha
    ],
)
def test_egfr_equation_values(scr: float, age: int, sex: str, expected: int) -> None:
    assert round(egfr_ckd_epi_2021(scr, age, sex, _params())) == expected


def test_egfr_outside_its_domain_is_none() -> None:
    assert egfr_ckd_epi_2021(1.0, 16, "male", _params()) is None
    assert egfr_ckd_epi_2021(1.0, 50, "unknown", _params()) is None
    assert egfr_ckd_epi_2021(0.0, 50, "male", _params()) is None
    assert egfr_ckd_epi_2021(float("nan"), 50, "male", _params()) is None


def test_egfr_computed_from_creatinine_in_umol_per_l() -> None:
    facts = facts_for(creatinine(106, "µmol/L"), age=55, gender="male")
    assert _derived(facts, "egfr_ckd_epi_2021") == [71]
    assert _derived(facts, "egfr") == [71]
    assert "Creatinine 106 µmol/L" in facts.derived["egfr"][0].evidence


def test_printed_egfr_wins_over_computed() -> None:
    facts = facts_for(creatinine(2.81), lab("eGFR", "33914-3", 79, "mL/min/1.73m2"), age=70,
                      gender="female")  # fmt: skip
    assert _derived(facts, "egfr") == [79]
    assert _derived(facts, "egfr_ckd_epi_2021") == [18]


@pytest.mark.parametrize(
    ("value", "stage"),
    [(90, "G1"), (89, "G2"), (60, "G2"), (59, "G3a"), (45, "G3a"), (44, "G3b"), (30, "G3b"),
     (29, "G4"), (15, "G4"), (14, "G5"), (0, "G5")],
)  # fmt: skip
def test_kdigo_stages(value: float, stage: str) -> None:
    assert kdigo_stage(value, knowledge().derived_params["kdigo_g_stages"]) == stage


def _read(key: str, value: float, unit: str | None) -> Converted | None:
    """A value of the analyte's first lab test, printed in `unit`, in the analyte's unit."""
    a = knowledge().analytes[key]
    return read_value(value, unit, a.tests[0], a.unit, lab_knowledge())


@pytest.mark.parametrize(
    ("unit", "code"),
    [
        ("x10E3/uL", "10*3/uL"),
        ("10^3/µL", "10*3/uL"),
        ("x 10³/µL", "10*3/uL"),
        ("cells/cumm", "/uL"),
        ("lakhs/cumm", "10*5/uL"),
        ("mL/min/1.73m²", "mL/min/{1.73_m2}"),
        ("mg/dL", "mg/dL"),
        (None, None),
    ],
)
def test_printed_units_are_read_through_the_lab_unit_registry(
    unit: str | None, code: str | None
) -> None:
    assert lab_knowledge().unit_code(unit) == code


def test_analytes_compare_in_the_lab_tests_canonical_units() -> None:
    analytes = knowledge().analytes
    assert analytes["wbc"].unit == "10*3/uL"
    assert analytes["egfr_printed"].unit_display == "mL/min/1.73m2"
    assert analytes["troponin"].unit == "ng/mL"  # hs assays in ng/L convert to it
    assert analytes["urine_nitrite"].text_only


def test_unit_conversions_into_canonical_units() -> None:
    def conv(key: str, value: float, unit: str | None) -> float | None:
        result = _read(key, value, unit)
        return None if result is None else round(result.value, 2)

    assert conv("glucose_any", 7.0, "mmol/L") == 126.11
    assert conv("creatinine", 88.4, "umol/L") == 1.0
    assert conv("wbc", 9190, "cells/cumm") == 9.19
    assert conv("platelets", 3.81, "lakhs/cumm") == 381
    assert conv("hba1c", 48, "mmol/mol") == 6.54
    assert conv("hemoglobin", 102, "g/L") == 10.2
    assert conv("cholesterol_total", 5.2, "mmol/L") == 201.08
    assert conv("crp", 1.5, "mg/dL") == 15


def test_missing_unit_is_guessed_only_when_unambiguous() -> None:
    plain = _read("creatinine", 1.1, None)
    assert plain is not None and plain.value == 1.1 and plain.assumed
    guessed = _read("creatinine", 97, "umo1/L")  # OCR-damaged unit
    assert guessed is not None and round(guessed.value, 2) == 1.1 and guessed.assumed
    assert _read("creatinine", float("inf"), "mg/dL") is None
    inr = _read("inr", 1.2, None)  # a ratio printed without a unit is not missing one
    assert inr is not None and inr.value == 1.2 and not inr.assumed
    labs = lab_knowledge()
    base = labs.test("creatinine")
    units = MappingProxyType({"mg/dL": Conversion(1.0), "mmol/L": Conversion(2.0),
                              "umol/L": Conversion(3.0)})  # fmt: skip

    def guess(value: float, plausible: tuple[float, float]) -> Converted | None:
        test = replace(base, unit="mg/dL", units=units, plausible=plausible)
        return read_value(value, None, test, "mg/dL", labs)

    assert guess(1000, (1, 3000)) is not None
    assert guess(5000, (1, 20)) is None
    assert guess(0.5, (1, 20)) is None  # plausible as mmol/L and as umol/L: no guess
    only = guess(0.52, (1, 1.1))  # plausible only as mmol/L
    assert only is not None and only.value == pytest.approx(1.04) and only.assumed


def test_damaged_or_variant_unit_is_read_as_the_registry_spelling_it_is_closest_to() -> None:
    low = _read("creatinine", 20, "umo1/L")  # 20 mg/dL would be plausible too: the print wins
    assert low is not None and round(low.value, 2) == 0.23 and low.assumed
    variant = _read("mcv", 65, "cu. microns")
    assert variant is not None and variant.value == 65
    assert _read("rbc", 5.5, "millions/uL") is not None
    assert _read("hemoglobin", 10.2, "furlongs") is not None  # plausible as g/dL only


def test_glucose_in_mmol_per_l_reaches_the_diabetes_threshold() -> None:
    facts = facts_for(glucose(7.0, "mmol/L", fasting=True))
    assert [round(v) for v in (f.value for f in facts.labs["glucose_fasting"])] == [126]


def test_anion_gap_and_corrected_calcium() -> None:
    facts = facts_for(
        lab("Sodium", "2951-2", 140, "mmol/L"),
        lab("Chloride", "2075-0", 100, "mmol/L"),
        lab("Bicarbonate", "1963-8", 18, "mmol/L"),
        lab("Calcium", "17861-6", 8.0, "mg/dL"),
        lab("Albumin", "1751-7", 3.0, "g/dL"),
    )
    assert _derived(facts, "anion_gap") == [22]
    assert _derived(facts, "corrected_calcium") == [8.8]
    assert _derived(facts, "calcium_adjusted") == [8.8]


def test_calcium_not_corrected_downward_for_normal_albumin() -> None:
    facts = facts_for(
        lab("Calcium", "17861-6", 8.7, "mg/dL"), lab("Albumin", "1751-7", 4.5, "g/dL")
    )
    assert _derived(facts, "corrected_calcium") == []
    assert _derived(facts, "calcium_adjusted") == [8.7]


def test_friedewald_ldl_only_without_measured_ldl_and_tg_below_400() -> None:
    tc, hdl = lab("Cholesterol", "2093-3", 200, "mg/dL"), lab("HDL", "2085-9", 50, "mg/dL")
    assert _derived(facts_for(tc, hdl, lab("TG", "2571-8", 150, "mg/dL")), "ldl_calculated") == [
        120
    ]
    assert _derived(facts_for(tc, hdl, lab("TG", "2571-8", 400, "mg/dL")), "ldl_calculated") == []
    measured = lab("LDL", "18262-6", 110, "mg/dL")
    with_ldl = facts_for(tc, hdl, lab("TG", "2571-8", 150, "mg/dL"), measured)
    assert _derived(with_ldl, "ldl_calculated") == []
    assert _derived(with_ldl, "non_hdl") == [150]


def test_mentzer_index() -> None:
    facts = facts_for(mcv(65), rbc(5.5))
    assert _derived(facts, "mentzer_index") == [11.8]


def test_r_ratio_uses_printed_upper_limits() -> None:
    facts = facts_for(
        lab("ALT", "1742-6", 400, "U/L", ref_high=40, flag="H"),
        lab("ALP", "6768-6", 100, "U/L", ref_high=100, flag="N"),
    )
    assert _derived(facts, "r_ratio") == [10.0]


def test_creatinine_change_windows() -> None:
    now = datetime(2025, 3, 10, 8)
    previous = [
        PreviousLab(creatinine(1.0), now - timedelta(hours=30)),
        PreviousLab(creatinine(0.8), now - timedelta(days=5)),
        PreviousLab(creatinine(0.6), now - timedelta(days=20)),
    ]
    facts = facts_for(creatinine(1.4), previous=previous, collected_at=now)
    assert _derived(facts, "creatinine_rise_48h") == [0.4]
    assert sorted(_derived(facts, "creatinine_ratio_7d")) == [1.4, 1.75]
    assert _derived(facts, "creatinine_ratio_undated") == []
    undated = facts_for(creatinine(1.4), previous=[PreviousLab(creatinine(0.7))])
    assert _derived(undated, "creatinine_ratio_undated") == [2.0]


def test_rows_without_loinc_are_matched_by_name_and_unknown_loinc_is_not_guessed() -> None:
    facts = facts_for(
        lab("Haemoglobin (Hb)", None, 10.1, "g/dL"),
        lab("Fasting Blood Sugar (FBS)", None, 131, "mg/dL"),
        lab("Mean Corpuscular Hemoglobin", "785-6", 29, "pg"),
        lab("Hemoglobin A1c", None, 6.1, "%"),
    )
    assert [f.value for f in facts.labs["hemoglobin"]] == [10.1]
    assert [f.value for f in facts.labs["glucose_fasting"]] == [131]
    assert [f.value for f in facts.labs["hba1c"]] == [6.1]


def test_printed_anion_gap_used_when_inputs_missing() -> None:
    facts = facts_for(lab("Anion Gap", "33037-3", 19, "mmol/L"))
    assert _derived(facts, "anion_gap") == [19]


def test_egfr_formula_shows_the_patients_own_constants() -> None:
    from medmitra_desktop.analysis.insights.derived import egfr_formula_for

    spec = {"formula": "general", "constant": 142, "kappa": {"female": 0.7, "male": 0.9},
            "alpha": {"female": -0.241, "male": -0.302}, "exponent_above_kappa": -1.2,
            "age_base": 0.9938, "female_factor": 1.012}
    male = egfr_formula_for(spec, "male")
    assert "0.9" in male and "-0.302" in male and "1.012" not in male
    female = egfr_formula_for(spec, "female")
    assert "0.7" in female and "-0.241" in female and female.endswith("x 1.012")
    assert egfr_formula_for(spec, None) == "general"
