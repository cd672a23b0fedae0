"""Each rule at its clinical thresholds: just below, at, and just above."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from medmitra_desktop.analysis.insights import PreviousLab
from tests.analysis.insights.insights_helpers import (
    codes,
    creatinine,
    egfr,
    glucose,
    hb,
    hba1c,
    hits,
    item,
    lab,
    mcv,
    obs,
    rbc,
    report,
    run,
)


def fired(*rows, **kw) -> set[str]:
    return set(hits(*rows, **kw))


# ------------------------------------------------------------------------------------------
# anaemia (WHO 2024) and red-cell typing


@pytest.mark.parametrize(
    ("gender", "value", "anemic"),
    [("male", 13.1, False), ("male", 13.0, False), ("male", 12.9, True),
     ("female", 12.1, False), ("female", 12.0, False), ("female", 11.9, True),
     (None, 12.0, False), (None, 11.9, True)],
)  # fmt: skip
def test_anemia_who_cutoffs(gender: str | None, value: float, anemic: bool) -> None:
    assert ("normocytic_anemia" in fired(hb(value), mcv(90), gender=gender)) is anemic


def test_anemia_by_printed_interval_even_above_who_cutoff() -> None:
    """Printed interval wins: Hb 13.1 flagged L against 13.5-17.5 is anaemia for that lab."""
    assert "normocytic_anemia" in fired(hb(13.1, flag="L", ref_low=13.5, ref_high=17.5), mcv(81))


@pytest.mark.parametrize(
    ("mcv_value", "rule"),
    [(79.9, "iron_deficiency_anemia"), (80, "normocytic_anemia"), (100, "normocytic_anemia"),
     (100.1, "macrocytic_anemia")],
)  # fmt: skip
def test_mcv_typing(mcv_value: float, rule: str) -> None:
    found = fired(hb(10.0), mcv(mcv_value))
    assert rule in found
    typed = {"iron_deficiency_anemia", "normocytic_anemia", "macrocytic_anemia"}
    assert found & typed == {rule}


def test_anemia_without_indices_is_unclassified_d64_9() -> None:
    result = run(hb(9.5))
    assert item(result, "D64.9").condition.startswith("Anemia (red-cell indices")


def test_microcytic_anemia_with_low_ferritin_is_iron_deficiency() -> None:
    with_ferritin = run(hb(9.8), mcv(72), lab("Ferritin", "2276-4", 8, "ng/mL"))
    without = run(hb(9.8), mcv(72))
    assert item(with_ferritin, "D50.9").confidence > item(without, "D50.9").confidence
    assert "doc 0, page 1: Ferritin 8 ng/mL" in item(with_ferritin, "D50.9").evidence


@pytest.mark.parametrize(("rbc_value", "trait"), [(5.4, True), (5.0, False), (5.9, True)])
def test_mentzer_below_13_suggests_thalassemia_trait(rbc_value: float, trait: bool) -> None:
    # MCV 65: Mentzer 12.0 at RBC 5.4, exactly 13.0 at 5.0 (not below 13)
    assert ("thalassemia_trait" in fired(hb(11.0), mcv(65), rbc(rbc_value))) is trait


def test_thalassemia_trait_reported_as_d56() -> None:
    result = run(hb(11.5), mcv(64), rbc(5.8))
    assert "D56.3" in codes(result)


def test_macrocytic_anemia_with_low_b12_is_b12_deficiency_anemia() -> None:
    result = run(hb(9.0), mcv(112), lab("Vitamin B12", "2132-9", 150, "pg/mL"))
    assert "D51.9" in codes(result)
    assert "D53.9" not in codes(result)  # the specific cause replaces "consider B12/folate"


def test_normocytic_anemia_with_ckd_is_anemia_of_ckd() -> None:
    result = run(hb(10.5), mcv(88), creatinine(2.5), age=60)
    assert "D63.1" in codes(result)
    assert "D64.9" not in codes(result)


# ------------------------------------------------------------------------------------------
# glycaemia (ADA 2025)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5.6, set()), (5.7, {"prediabetes"}), (6.4, {"prediabetes"}), (6.5, {"diabetes"}),
     (6.6, {"diabetes"})],
)  # fmt: skip
def test_hba1c_thresholds(value: float, expected: set[str]) -> None:
    found = fired(hba1c(value)) & {"prediabetes", "diabetes"}
    if "diabetes" in found:
        found.discard("prediabetes")
    assert found == expected


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [(99, "mg/dL", None), (100, "mg/dL", "R73.03"), (125, "mg/dL", "R73.03"),
     (126, "mg/dL", "E11.9"), (6.9, "mmol/L", "R73.03"), (7.0, "mmol/L", "E11.9")],
)  # fmt: skip
def test_fasting_glucose_thresholds(value: float, unit: str, expected: str | None) -> None:
    result = codes(run(glucose(value, unit, fasting=True)))
    found = [c for c in result if c in ("R73.03", "E11.9")]
    assert found == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("value", "expected"),
    [(139, None), (140, "R73.9"), (199, "R73.9"), (200, "E11.9")],
)
def test_random_glucose_thresholds(value: float, expected: str | None) -> None:
    found = [c for c in codes(run(glucose(value))) if c in ("R73.9", "E11.9")]
    assert found == ([expected] if expected else [])


def test_fasting_detected_from_the_test_name() -> None:
    row = lab("Glucose, Fasting (FBS)", "2345-7", 130, "mg/dL")
    assert "diabetes" in fired(row)
    assert "diabetes" not in fired(lab("Glucose (Random)", "2345-7", 130, "mg/dL"))


def test_two_diabetes_range_tests_raise_confidence() -> None:
    one = item(run(hba1c(7.0)), "E11.9").confidence
    two = item(run(hba1c(7.0), glucose(250)), "E11.9").confidence
    assert two > one


def test_hba1c_above_9_is_e11_65() -> None:
    assert "E11.65" in codes(run(hba1c(9.1)))
    assert "E11.65" not in codes(run(hba1c(9.0)))


# ------------------------------------------------------------------------------------------
# kidney (KDIGO 2012/2024, CKD-EPI 2021)


@pytest.mark.parametrize(
    ("value", "code"),
    [(61, None), (60, None), (59, "N18.31"), (45, "N18.31"), (44, "N18.32"), (30, "N18.32"),
     (29, "N18.4"), (15, "N18.4"), (14, "N18.5")],
)  # fmt: skip
def test_ckd_stage_from_printed_egfr(value: float, code: str | None) -> None:
    result = [c for c in codes(run(egfr(value))) if c.startswith("N18")]
    assert result == ([code] if code else [])


def test_ckd_stage_from_creatinine_when_egfr_not_printed() -> None:
    result = run(creatinine(2.03), age=52, gender="male")  # CKD-EPI 2021 -> 39 (G3b)
    assert "N18.32" in codes(result)
    assert any("CKD-EPI 2021" in e for e in item(result, "N18.32").evidence)


def test_egfr_printed_as_bound_is_not_staged_but_counts_below_60() -> None:
    result = run(egfr(60, value_text="<60"))
    assert "N18.9" in codes(result)


@pytest.mark.parametrize(("uacr", "albuminuric"), [(29, False), (30, True), (31, True)])
def test_albuminuria_threshold(uacr: float, albuminuric: bool) -> None:
    row = lab("Albumin/Creatinine Ratio", "14959-1", uacr, "mg/g")
    assert ("ckd_g2_albuminuria" in fired(row, egfr(75))) is albuminuric


def test_uacr_in_mg_per_mmol_is_converted() -> None:
    row = lab("ACR", "14959-1", 3.5, "mg/mmol")  # 30.9 mg/g
    assert "ckd_g1_albuminuria" in fired(row, egfr(95))


def test_albuminuria_with_egfr_above_90_printed_as_bound_is_stage_1() -> None:
    row = lab("UACR", "9318-7", 45, "mg/g")
    assert "N18.1" in codes(run(row, egfr(90, value_text=">90")))


def test_diabetes_with_low_egfr_is_diabetic_ckd_and_keeps_the_stage() -> None:
    result = run(hba1c(7.5), egfr(40))
    assert "E11.22" in codes(result)
    assert "N18.32" in codes(result)
    assert "E11.9" not in codes(result)  # the specific E11 code replaces the unspecified one


def test_diabetes_with_albuminuria_and_normal_egfr() -> None:
    result = run(hba1c(7.5), egfr(80), lab("UACR", "14959-1", 120, "mg/g"))
    assert {"E11.29", "N18.2"} <= set(codes(result))


def test_aki_needs_a_previous_creatinine() -> None:
    result = run(creatinine(2.0, flag="H", ref_high=1.3))
    assert "N17.9" not in codes(result)
    assert any("AKI cannot be assessed" in a.message for a in result.alerts)


@pytest.mark.parametrize(
    ("current", "hours", "aki"),
    [(1.29, 24, False), (1.3, 24, True), (1.3, 50, False), (1.5, 24 * 6, True),
     (1.49, 24 * 6, False), (1.5, 24 * 8, False)],
)  # fmt: skip
def test_aki_kdigo_criteria(current: float, hours: int, aki: bool) -> None:
    now = datetime(2025, 5, 1, 12)
    previous = [PreviousLab(creatinine(1.0), now - timedelta(hours=hours))]
    found = fired(creatinine(current), previous=previous, collected_at=now)
    assert ("aki" in found) is aki


def test_aki_with_unknown_timing_is_weaker() -> None:
    result = run(creatinine(2.0), previous=[PreviousLab(creatinine(1.0))])
    assert item(result, "N17.9").condition.startswith("Possible acute kidney injury")
    now = datetime(2025, 5, 1)
    dated = run(creatinine(2.0), previous=[PreviousLab(creatinine(1.0), now - timedelta(days=2))],
                collected_at=now)  # fmt: skip
    assert item(dated, "N17.9").confidence > item(result, "N17.9").confidence
    assert any(a.severity == "warning" and "AKI" in a.message for a in dated.alerts)


def test_previous_low_egfr_over_90_days_supports_chronicity() -> None:
    now = datetime(2025, 5, 1)
    earlier = [PreviousLab(egfr(50), now - timedelta(days=120))]
    single = item(run(egfr(50)), "N18.31").confidence
    chronic = item(run(egfr(50), previous=earlier, collected_at=now), "N18.31").confidence
    assert chronic > single


# ------------------------------------------------------------------------------------------
# liver (R ratio)


def _lfts(alt: float, alp: float) -> tuple:
    return (
        lab("ALT", "1742-6", alt, "U/L", ref_high=40, flag="H" if alt > 40 else "N"),
        lab("ALP", "6768-6", alp, "U/L", ref_high=120, flag="H" if alp > 120 else "N"),
    )


@pytest.mark.parametrize(
    ("alt", "alp", "rule"),
    [(400, 100, "hepatocellular_injury"),  # R = 10/0.83 = 12
     (60, 480, "cholestatic_injury"),  # R = 1.5/4 = 0.4
     (130, 180, "mixed_liver_injury"),  # R = 3.25/1.5 = 2.2
     (60, 100, "transaminase_elevation")],  # R = 1.8, ALP normal
)  # fmt: skip
def test_liver_injury_pattern_by_r_ratio(alt: float, alp: float, rule: str) -> None:
    found = fired(*_lfts(alt, alp))
    patterns = {"hepatocellular_injury", "cholestatic_injury", "mixed_liver_injury"}
    assert rule in found
    assert found & patterns <= {rule}


def test_normal_liver_enzymes_fire_nothing() -> None:
    assert not fired(*_lfts(40, 120)) & {"transaminase_elevation", "cholestatic_injury"}


# ------------------------------------------------------------------------------------------
# lipids (ATP III thresholds as stated in the brief: above 130 / 200 / 150)


def _lipid(name: str, loinc: str, value: float, unit: str = "mg/dL"):
    return lab(name, loinc, value, unit)


@pytest.mark.parametrize(
    ("ldl", "tc", "tg", "expected"),
    [(130, 180, 100, set()), (131, 180, 100, {"E78.5"}), (120, 200, 100, set()),
     (120, 201, 100, {"E78.5"}), (100, 180, 150, set()), (100, 180, 151, {"E78.1"}),
     (140, 220, 180, {"E78.2"}), (195, 280, 100, {"E78.00"})],
)  # fmt: skip
def test_dyslipidemia_thresholds(ldl: float, tc: float, tg: float, expected: set[str]) -> None:
    result = run(
        _lipid("LDL", "18262-6", ldl),
        _lipid("Total cholesterol", "2093-3", tc),
        _lipid("Triglycerides", "2571-8", tg),
        _lipid("HDL", "2085-9", 50),
    )
    assert {c for c in codes(result) if c.startswith("E78")} == expected


def test_calculated_ldl_used_when_ldl_missing() -> None:
    # Friedewald: 230 - 45 - 100/5 = 165 > 130, TC also > 200
    result = run(
        _lipid("TC", "2093-3", 230), _lipid("HDL", "2085-9", 45), _lipid("TG", "2571-8", 100)
    )
    assert "E78.5" in codes(result)


def test_cholesterol_in_mmol_per_l() -> None:
    assert "E78.5" in codes(run(_lipid("LDL", "13457-7", 3.5, "mmol/L")))  # 135 mg/dL
    assert "E78.5" not in codes(run(_lipid("LDL", "13457-7", 3.3, "mmol/L")))  # 128 mg/dL


# ------------------------------------------------------------------------------------------
# thyroid


def _tsh(value: float, **kw):
    return lab("TSH", "3016-3", value, "mIU/L", **kw)


def _ft4(value: float, **kw):
    return lab("Free T4", "3024-7", value, "ng/dL", **kw)


@pytest.mark.parametrize(("tsh", "fires"), [(4.5, False), (4.6, True)])
def test_tsh_default_upper_limit_without_printed_range(tsh: float, fires: bool) -> None:
    assert ("hypothyroidism_tsh_only" in fired(_tsh(tsh))) is fires


def test_printed_tsh_interval_wins_over_default() -> None:
    assert "hypothyroidism_tsh_only" not in fired(_tsh(4.8, flag="N", ref_low=0.4, ref_high=5.5))
    assert "hypothyroidism_tsh_only" in fired(_tsh(4.2, flag="H", ref_low=0.4, ref_high=4.0))


def test_thyroid_patterns() -> None:
    assert "primary_hypothyroidism" in fired(_tsh(12), _ft4(0.6))
    assert "subclinical_hypothyroidism" in fired(_tsh(7), _ft4(1.2))
    assert "hyperthyroidism" in fired(_tsh(0.01), _ft4(3.1))
    assert "subclinical_hyperthyroidism" in fired(_tsh(0.2), _ft4(1.3))
    assert "E03.9" in codes(run(_tsh(12), _ft4(0.6)))
    assert "E05.90" in codes(run(_tsh(0.01), _ft4(3.1)))


# ------------------------------------------------------------------------------------------
# electrolytes


@pytest.mark.parametrize(
    ("loinc", "value", "rule", "fires"),
    [("2951-2", 135, "hyponatremia", False), ("2951-2", 134, "hyponatremia", True),
     ("2951-2", 145, "hypernatremia", False), ("2951-2", 146, "hypernatremia", True),
     ("2823-3", 3.5, "hypokalemia", False), ("2823-3", 3.4, "hypokalemia", True),
     ("2823-3", 5.0, "hyperkalemia", False), ("2823-3", 5.1, "hyperkalemia", True)],
)  # fmt: skip
def test_sodium_potassium_thresholds(loinc: str, value: float, rule: str, fires: bool) -> None:
    assert (rule in fired(lab("Electrolyte", loinc, value, "mmol/L"))) is fires


@pytest.mark.parametrize(
    ("calcium", "albumin", "rule"),
    [(8.0, 3.0, None), (7.6, 3.0, "hypocalcemia"), (10.5, 4.2, None), (10.6, 4.2, "hypercalcemia"),
     (10.0, 2.0, "hypercalcemia")],  # 10.0 + 0.8 x 2 = 11.6
)  # fmt: skip
def test_calcium_corrected_for_albumin(calcium: float, albumin: float, rule: str | None) -> None:
    found = fired(
        lab("Calcium", "17861-6", calcium, "mg/dL"), lab("Albumin", "1751-7", albumin, "g/dL")
    )
    assert found & {"hypocalcemia", "hypercalcemia"} == ({rule} if rule else set())


def test_high_anion_gap_metabolic_acidosis() -> None:
    rows = (
        lab("Sodium", "2951-2", 140, "mmol/L"),
        lab("Chloride", "2075-0", 100, "mmol/L"),
    )
    assert "high_anion_gap_acidosis" in fired(*rows, lab("HCO3", "1963-8", 15, "mmol/L"))  # AG 25
    assert "high_anion_gap_acidosis" not in fired(*rows, lab("HCO3", "1963-8", 22, "mmol/L"))
    low_gap = fired(
        lab("Sodium", "2951-2", 138, "mmol/L"),
        lab("Chloride", "2075-0", 112, "mmol/L"),
        lab("HCO3", "1963-8", 16, "mmol/L"),
    )
    assert "normal_anion_gap_acidosis" in low_gap


# ------------------------------------------------------------------------------------------
# blood counts, inflammation, urine, vitamins


@pytest.mark.parametrize(
    ("loinc", "value", "unit", "rule", "fires"),
    [("777-3", 150, "10^3/uL", "thrombocytopenia", False),
     ("777-3", 149, "10^3/uL", "thrombocytopenia", True),
     ("777-3", 1.4, "lakhs/cumm", "thrombocytopenia", True),
     ("777-3", 450, "10^3/uL", "thrombocytosis", False),
     ("777-3", 451, "10^3/uL", "thrombocytosis", True),
     ("6690-2", 11.0, "10^3/uL", "leukocytosis", False),
     ("6690-2", 11.1, "10^3/uL", "leukocytosis", True),
     ("6690-2", 12500, "cells/cumm", "leukocytosis", True),
     ("751-8", 1.5, "10^3/uL", "neutropenia", False),
     ("751-8", 1.4, "10^3/uL", "neutropenia", True),
     ("1988-5", 10, "mg/L", "raised_crp", False),
     ("1988-5", 11, "mg/L", "raised_crp", True),
     ("1989-3", 20, "ng/mL", "vitamin_d_deficiency", False),
     ("1989-3", 19, "ng/mL", "vitamin_d_deficiency", True),
     ("1989-3", 40, "nmol/L", "vitamin_d_deficiency", True),
     ("2132-9", 200, "pg/mL", "b12_deficiency", False),
     ("2132-9", 199, "pg/mL", "b12_deficiency", True)],
)  # fmt: skip
def test_single_analyte_thresholds(
    loinc: str, value: float, unit: str, rule: str, fires: bool
) -> None:
    assert (rule in fired(lab("Test", loinc, value, unit))) is fires


def test_raised_wbc_and_crp_suggest_bacterial_infection() -> None:
    result = run(lab("WBC", "6690-2", 16, "10^3/uL"), lab("CRP", "1988-5", 80, "mg/L"),
                 notes="Fever and productive cough for 3 days.")  # fmt: skip
    assert "A49.9" in codes(result)
    assert "D72.829" not in codes(result)  # leukocytosis is part of the infection item
    assert any(e.startswith("notes:") for e in item(result, "A49.9").evidence)


@pytest.mark.parametrize(("text", "uti"), [("Positive", True), ("Negative", False), ("2+", True),
                                            ("Not detected", False)])  # fmt: skip
def test_urine_nitrite_result_text(text: str, uti: bool) -> None:
    row = lab("Nitrite", "5802-4", None, None, value_text=text)
    assert ("uti" in fired(row)) is uti


# ------------------------------------------------------------------------------------------
# imaging


def test_consolidation_with_fever_is_pneumonia_consideration() -> None:
    cxr = report(obs("consolidation", "Right lower lobe consolidation."))
    with_fever = run(radiology=[cxr], notes="Fever 38.9 C, cough.")
    assert item(with_fever, "J18.9").condition.startswith("Possible pneumonia")
    no_fever = run(radiology=[cxr], notes="No fever. Cough.")
    assert item(no_fever, "J18.9").condition.startswith("Consolidation on imaging")
    afebrile = hits(radiology=[cxr], notes="Patient afebrile.")
    assert "pneumonia_consider" not in afebrile


def test_negated_and_historical_findings_never_count() -> None:
    cxr = report(
        obs("pneumothorax", "No pneumothorax.", negated=True),
        obs("pleural effusion", "No pleural effusion.", negated=True),
        obs("pneumonia", "History of pneumonia in 2019.", historical=True),
    )
    result = run(radiology=[cxr])
    assert result.differential == []
    assert "pneumothorax" not in result.soap.objective.lower().replace("no pneumothorax", "")


def test_cardiomegaly_with_effusion_is_heart_failure_pattern() -> None:
    cxr = report(obs("cardiomegaly", "The heart is enlarged."),
                 obs("pleural effusion", "Small bilateral pleural effusions."))  # fmt: skip
    result = run(radiology=[cxr])
    assert "I50.9" in codes(result)
    alone = run(radiology=[report(obs("cardiomegaly", "The heart is enlarged."))])
    assert codes(alone) == ["I51.7"]


def test_high_bnp_alone_is_heart_failure_consideration() -> None:
    assert "I50.9" in codes(run(lab("BNP", "30934-4", 450, "pg/mL")))
    assert "I50.9" not in codes(run(lab("BNP", "30934-4", 99, "pg/mL")))


def test_uncertain_finding_has_lower_confidence() -> None:
    sure = run(radiology=[report(obs("pleural effusion"))])
    unsure = run(radiology=[report(obs("pleural effusion", uncertain=True))])
    assert item(unsure, "J90").confidence < item(sure, "J90").confidence


@pytest.mark.parametrize(
    ("finding", "code"),
    [("emphysema", "J43.9"), ("atelectasis", "J98.11"), ("pneumothorax", "J93.9"),
     ("nodule", "R91.1"), ("fracture", "S22.9XXA"), ("scoliosis", "M41.9"),
     ("degenerative change", "M47.814"), ("pneumonia", "J18.9"), ("opacity", "R91.8")],
)  # fmt: skip
def test_imaging_findings_map_to_codes(finding: str, code: str) -> None:
    assert code in codes(run(radiology=[report(obs(finding))]))


def test_degenerative_change_on_lumbar_film_is_lumbar_spondylosis() -> None:
    result = run(radiology=[report(obs("degenerative change"), body_part="lumbar spine")])
    assert codes(result) == ["M47.816"]


def test_pneumothorax_raises_a_warning() -> None:
    result = run(radiology=[report(obs("pneumothorax", "Small left apical pneumothorax."))])
    assert any(a.severity == "warning" and "Pneumothorax" in a.message for a in result.alerts)


# ------------------------------------------------------------------------------------------
# confidence depends on the data


def test_missing_expected_data_reduces_confidence() -> None:
    uacr = lab("UACR", "14959-1", 10, "mg/g")
    assert item(run(egfr(40), uacr), "N18.32").confidence > item(run(egfr(40)), "N18.32").confidence


def test_confidence_is_not_a_constant() -> None:
    earlier = [PreviousLab(hba1c(7.2), datetime(2024, 6, 1))]
    values = {
        item(run(hba1c(7.0)), "E11.9").confidence,
        item(run(hba1c(7.0), glucose(260)), "E11.9").confidence,
        item(run(hba1c(7.0), previous=earlier), "E11.9").confidence,
    }
    assert len(values) == 3
    assert all(0 < v <= 1 for v in values)
