"""The knowledge base is data: these tests keep it complete, consistent and sourced."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from medmitra_desktop.analysis.labs import KnowledgeError, LabKnowledge, load_lab_knowledge
from medmitra_desktop.analysis.labs.knowledge import loinc_check_digit_ok
from medmitra_desktop.analysis.labs.textmatch import name_key
from tests.analysis.labs.lab_helpers import RESOURCES

KNOWLEDGE = RESOURCES / "knowledge"


def raw_tests() -> list[dict]:
    return json.loads((KNOWLEDGE / "lab_tests.json").read_text(encoding="utf-8"))["tests"]


# --------------------------------------------------------------------------- the data itself


def test_at_least_80_tests_with_loinc_unit_ranges_source_aliases(kb: LabKnowledge) -> None:
    assert len(kb.tests) >= 80
    for t in kb.tests:
        assert loinc_check_digit_ok(t.loinc), t.key
        assert t.aliases, t.key
        if t.kind == "qualitative":
            assert t.normal_values, t.key
        else:
            assert t.ref, t.key
            assert t.unit is None or t.unit in kb.units, t.key
        assert t.ref_source, t.key
        for r in t.ref:
            assert r.low is not None or r.high is not None, t.key
            if r.low is not None and r.high is not None:
                assert r.low < r.high, t.key


def test_every_source_named_is_declared_with_a_year(kb: LabKnowledge) -> None:
    for ident, src in kb.sources.items():
        assert src.get("title") and isinstance(src.get("year"), int), ident
    for t in kb.tests:
        for field in (t.ref_source, t.critical_source):
            if field:
                for part in field.split(";"):
                    assert part.strip().split(" ")[0] in kb.sources, (t.key, part)


def test_aliases_are_unique_across_tests_after_normalisation() -> None:
    owner: dict[str, str] = {}
    for t in raw_tests():
        for alias in [t["name"], *t["aliases"]]:
            key = name_key(alias)
            assert owner.setdefault(key, t["key"]) == t["key"], (alias, owner[key], t["key"])


def test_every_equivalent_loinc_is_valid_and_shared_only_within_a_group() -> None:
    # Random glucose and glucose share LOINC 2345-7 on purpose (same analyte, same specimen);
    # any other sharing would be a copy-paste error.
    seen: dict[str, dict] = {}
    for t in raw_tests():
        for code in [t["loinc"], *t["loinc_equiv"]]:
            assert loinc_check_digit_ok(code), (t["key"], code)
            other = seen.setdefault(code, t)
            if other is not t:
                assert set(other.get("groups", ())) & set(t.get("groups", ())), (code, t["key"])


def test_limits_are_ordered_and_inside_plausibility(kb: LabKnowledge) -> None:
    for t in kb.tests:
        if t.plausible is None:
            continue
        lo, hi = t.plausible
        for r in t.ref:
            for bound in (r.low, r.high):
                if bound is not None:
                    assert lo <= bound <= hi, t.key
        for crit in (t.critical_low, t.critical_high):
            if crit is not None:
                assert lo <= crit <= hi, t.key
        if t.critical_low is not None and t.critical_high is not None:
            assert t.critical_low < t.critical_high, t.key


def test_critical_limits_are_marked_default_editable() -> None:
    doc = json.loads((KNOWLEDGE / "lab_tests.json").read_text(encoding="utf-8"))
    assert "default, editable" in doc["critical_limits"]
    assert "Regenstrief" in doc["loinc_notice"]


def test_units_and_factors_point_into_the_unit_registry(kb: LabKnowledge) -> None:
    for t in kb.tests:
        for code, conv in t.units.items():
            assert code in kb.units, (t.key, code)
            assert conv.factor > 0
        if t.unit is not None:
            assert t.units[t.unit].factor == 1.0


@pytest.mark.parametrize("key", [
    "wbc", "rbc", "hgb", "hct", "mcv", "mch", "mchc", "rdw_cv", "rdw_sd", "plt", "mpv", "pdw",
    "neutrophils_pct", "lymphocytes_pct", "monocytes_pct", "eosinophils_pct", "basophils_pct",
    "neutrophils_abs", "lymphocytes_abs", "monocytes_abs", "eosinophils_abs", "basophils_abs",
    "glucose", "glucose_fasting", "glucose_random", "glucose_pp", "hba1c", "eag", "bun", "urea",
    "creatinine", "egfr", "sodium", "potassium", "chloride", "bicarbonate", "calcium",
    "calcium_ionized", "magnesium", "phosphorus", "uric_acid", "total_protein", "albumin",
    "globulin", "ag_ratio", "bili_total", "bili_direct", "alt", "ast", "alp", "ggt", "ldh",
    "amylase", "lipase", "chol_total", "tg", "hdl", "ldl", "vldl", "non_hdl", "tsh", "ft4", "ft3",
    "t4", "t3", "ferritin", "iron", "tibc", "tsat", "pt", "inr", "aptt", "fibrinogen", "u_sg",
    "u_ph", "u_protein", "u_glucose", "u_ketones", "u_blood", "u_nitrite", "u_le", "u_pus",
    "uacr", "trop_i", "trop_t", "ckmb", "bnp", "ntprobnp", "crp", "hscrp", "esr",
    "pct_procalcitonin", "b12", "folate", "vitd",
])
def test_required_panels_are_covered(kb: LabKnowledge, key: str) -> None:
    assert kb.test(key).loinc


def test_clinical_references_defaults_are_carried(kb: LabKnowledge) -> None:
    # The proposed defaults of shared/CLINICAL-REFERENCES.md, in canonical units.
    assert (kb.test("potassium").critical_low, kb.test("potassium").critical_high) == (2.8, 6.0)
    assert (kb.test("sodium").critical_low, kb.test("sodium").critical_high) == (120, 160)
    assert kb.test("hgb").critical_low == 7.0
    assert kb.test("plt").critical_low == 20
    assert kb.test("inr").critical_high == 5.0
    male, female = kb.test("hgb").reference("male"), kb.test("hgb").reference("female")
    assert male is not None and male.low == 13.0  # WHO 2024
    assert female is not None and female.low == 12.0


# --------------------------------------------------------------------------- lookups


@pytest.mark.parametrize(("printed", "key"), [
    ("Hb", "hgb"), ("HAEMOGLOBIN", "hgb"), ("Haemoglobin (Hb)", "hgb"), ("TLC", "wbc"),
    ("Total Leucocyte Count", "wbc"), ("Total Leukocyte Count (TLC)", "wbc"),
    ("Neutrophils %", "neutrophils_pct"), ("Neutrophils #", "neutrophils_abs"),
    ("SGPT", "alt"), ("SGOT", "ast"), ("S. Creatinine", "creatinine"),
    ("Serum Creatinine", "creatinine"), ("Creatinine, Serum", "creatinine"),
    ("Blood Urea", "urea"), ("FBS", "glucose_fasting"), ("PPBS", "glucose_pp"),
    ("T.Bil", "bili_total"), ("t. bil", "bili_total"), ("Serum  Sodium", "sodium"),
    ("Sodium (Na+)", "sodium"), ("HbA1c", "hba1c"), ("Glycosylated Haemoglobin (HbA1c)", "hba1c"),
    ("Platelet Count", "plt"), ("25-OH Vitamin D", "vitd"), ("LDL-C", "ldl"),
])
def test_alias_lookup_is_robust_to_case_punctuation_and_specimen_words(
        kb: LabKnowledge, printed: str, key: str) -> None:
    found = kb.lookup_test(printed)
    assert found is not None and found.test.key == key


@pytest.mark.parametrize(("printed", "key"), [
    ("HEMOGIOBIN", "hgb"),  # l read as I, b as o
    ("Haemog1obin", "hgb"),
    ("Creatinlne", "creatinine"),
    ("TrighyCErideS", "tg"),
    ("White Blood Gell Count", "wbc"),
    ("MCW", "mcv"),
    ("Hemoglobin Alc", "hba1c"),
    ("Red Blood Cell Counticiscs-lesteesnserees", "rbc"),  # a leader glued to the name
])
def test_ocr_damaged_names_match_within_a_tight_threshold(
        kb: LabKnowledge, printed: str, key: str) -> None:
    found = kb.lookup_test(printed)
    assert found is not None and found.test.key == key


@pytest.mark.parametrize("printed", [
    "FSH", "LH", "Creatinine Clearance", "Hemoglobin Electrophoresis", "Patient Name",
    "Age", "Collected", "Page", "MH", "Lipoprotein (a)",
])
def test_unknown_names_are_not_forced_onto_a_known_test(kb: LabKnowledge, printed: str) -> None:
    assert kb.lookup_test(printed) is None


def test_urine_context_picks_the_dipstick_test(kb: LabKnowledge) -> None:
    glucose = kb.lookup_test("Glucose", specimen="urine")
    serum = kb.lookup_test("Glucose")
    assert glucose is not None and glucose.test.key == "u_glucose"
    assert serum is not None and serum.test.key == "glucose"
    protein = kb.lookup_test("Protein", specimen="urine")
    assert protein is not None and protein.test.key == "u_protein"


def test_alias_specific_loinc(kb: LabKnowledge) -> None:
    found = kb.lookup_test("LDL Cholesterol (Direct)")
    assert found is not None
    assert found.test.loinc_for(found.alias) == "18262-6"
    plain = kb.lookup_test("LDL Cholesterol")
    assert plain is not None and plain.test.loinc_for(plain.alias) == plain.test.loinc


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize(("printed", "code"), [
    ("cells/cumm", "/uL"), ("/cumm", "/uL"), ("10^3/uL", "10*3/uL"), ("x10^9/L", "10*9/L"),
    ("thou/mm3", "10*3/uL"), ("lakhs/cumm", "10*5/uL"), ("million/cumm", "10*6/uL"),
    ("mg/dl", "mg/dL"), ("MG / DL", "mg/dL"), ("µmol/L", "umol/L"), ("mEq/L", "meq/L"),
    ("mIU/L", "u[IU]/mL"), ("gm%", "g/dL"),
])
def test_unit_spellings_map_to_ucum(kb: LabKnowledge, printed: str, code: str) -> None:
    assert kb.unit_code(printed) == code


@pytest.mark.parametrize(("damaged", "spelling"), [
    ("Q/dL", "g/dL"), ("1043/UL", "10^3/µL"), ("10*3/pL", "10^3/µL"), ("mMQ/dL", "mg/dL"),
    ("xX10E3/uL", "x10E3/uL"),
])
def test_ocr_damaged_units_match_a_registry_spelling(
        kb: LabKnowledge, damaged: str, spelling: str) -> None:
    found = kb.match_unit(damaged)
    assert found is not None and found.spelling == spelling and found.cost > 0


def test_conversions_between_units(kb: LabKnowledge) -> None:
    plt = kb.test("plt")
    assert plt.to_canonical(1.5, "10*5/uL") == pytest.approx(150)
    assert plt.to_canonical(150000, "/uL") == pytest.approx(150)
    glucose = kb.test("glucose")
    assert glucose.to_canonical(5.5, "mmol/L") == pytest.approx(99.1, abs=0.1)
    creat = kb.test("creatinine")
    assert creat.to_canonical(88.4, "umol/L") == pytest.approx(1.0, abs=0.01)
    a1c = kb.test("hba1c")
    assert a1c.to_canonical(48, "mmol/mol") == pytest.approx(6.5, abs=0.05)
    assert a1c.from_canonical(6.5, "mmol/mol") == pytest.approx(47.5, abs=0.5)
    assert glucose.to_canonical(5.0, "fL") is None  # not a unit of glucose


def test_conversion_into_any_unit_of_the_test(kb: LabKnowledge) -> None:
    troponin_hs = kb.test("trop_i_hs")
    assert troponin_hs.convert(34, "ng/L", "ng/mL") == pytest.approx(0.034)
    assert troponin_hs.convert(0.05, "ng/mL", "pg/mL") == pytest.approx(50)
    a1c = kb.test("hba1c")  # an offset, both ways
    assert a1c.convert(48, "mmol/mol", "%") == pytest.approx(a1c.to_canonical(48, "mmol/mol"))
    assert a1c.convert(6.5, "%", "mmol/mol") == pytest.approx(a1c.from_canonical(6.5, "mmol/mol"))
    glucose = kb.test("glucose")
    assert glucose.convert(7.0, "mmol/L", "mg/dL") == pytest.approx(126.1, abs=0.05)
    assert glucose.convert(7.0, "fL", "mg/dL") is None
    assert glucose.convert(7.0, "mmol/L", "fL") is None


def test_reference_by_sex_and_union_when_unknown(kb: LabKnowledge) -> None:
    creat = kb.test("creatinine")
    male, female = creat.reference("male"), creat.reference("female")
    unknown = creat.reference(None)
    assert male is not None and female is not None and unknown is not None
    assert (unknown.low, unknown.high) == (female.low, male.high)


# --------------------------------------------------------------------------- validation


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, target)
    return target


Edit = Callable[[dict[str, Any]], object]


def _edit_tests(folder: Path, edit: Edit) -> None:
    path = folder / "lab_tests.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    edit(doc)
    path.write_text(json.dumps(doc), encoding="utf-8")


def test_loader_accepts_the_resources_dir_or_the_knowledge_dir() -> None:
    assert len(load_lab_knowledge(RESOURCES).tests) == len(load_lab_knowledge(KNOWLEDGE).tests)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["tests"][0].update(loinc="718-8"), "check digit"),
    (lambda d: d["tests"][0]["ref"][0].update(low=50), "below high"),
    (lambda d: d["tests"][1]["aliases"].append("Hb"), "names both"),
    (lambda d: d["tests"][0].update(unit="furlongs"), "not in lab_units.json"),
    (lambda d: d["tests"][0].update(ref_source="Wikipedia"), "unknown source"),
    (lambda d: d.pop("loinc_notice"), "LOINC copyright notice"),
    (lambda d: d["tests"].append(dict(d["tests"][0])), "appears twice"),
])
def test_loader_rejects_broken_data_with_a_clear_message(
        tmp_path: Path, edit: Edit, message: str) -> None:
    folder = _copy(tmp_path)
    _edit_tests(folder, edit)
    with pytest.raises(KnowledgeError, match=message):
        load_lab_knowledge(folder)


def test_missing_and_corrupt_files_raise_knowledge_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="not found"):
        load_lab_knowledge(tmp_path)
    folder = _copy(tmp_path)
    (folder / "lab_units.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="cannot be read"):
        load_lab_knowledge(folder)


def test_readme_documents_columns_and_sources() -> None:
    text = (KNOWLEDGE / "README.md").read_text(encoding="utf-8")
    for word in ("loinc_equiv", "aliases", "critical_low", "plausible", "ABIM", "NBME", "WHO",
                 "default, editable", "Regenstrief"):
        assert word in text
