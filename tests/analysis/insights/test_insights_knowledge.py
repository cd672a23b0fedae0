"""The rule files load, are internally consistent, read the lab knowledge base for every fact
about a lab test, and a broken copy is refused clearly."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from medmitra_desktop.analysis.insights import InsightKnowledgeError, load_insight_knowledge
from medmitra_desktop.analysis.insights.facts import analytes_for_row
from medmitra_desktop.analysis.insights.vocabulary import DERIVED_UNITS
from medmitra_desktop.analysis.labs import load_lab_knowledge
from tests.analysis.insights.insights_helpers import (
    RESOURCES,
    knowledge,
    lab,
    lab_knowledge,
    run,
)

ICD10_CM = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")


def _loinc_check_digit_ok(code: str) -> bool:
    """LOINC mod-10 check digit (LOINC Users' Guide, appendix)."""
    body, _, check = code.partition("-")
    reversed_digits = body[::-1]
    doubled = str(int(reversed_digits[0::2]) * 2)
    total = sum(int(c) for c in reversed_digits[1::2] + doubled)
    return (10 - total % 10) % 10 == int(check)


def test_loads_from_resources_dir_or_insights_dir() -> None:
    assert load_insight_knowledge(RESOURCES, lab_knowledge()).rules
    assert load_insight_knowledge(RESOURCES / "insights", lab_knowledge()).rules


def test_every_emittable_code_is_in_the_subset_and_well_formed() -> None:
    kb = knowledge()
    for rule in kb.rules:
        assert rule.icd10 in kb.icd10, rule.id
    for code in kb.icd10:
        assert ICD10_CM.match(code), code


def test_every_rule_names_a_source_with_a_year_and_next_steps() -> None:
    for rule in knowledge().rules:
        assert re.search(r"(19|20)\d\d", rule.source), rule.id
        assert rule.next_steps, rule.id
        assert 0 < rule.strength <= 1, rule.id


def test_rule_ids_unique_and_references_resolve() -> None:
    kb = knowledge()
    ids = [rule.id for rule in kb.rules]
    assert len(ids) == len(set(ids))
    position = {rule_id: index for index, rule_id in enumerate(ids)}
    for rule in kb.rules:
        for other in rule.suppressed_by:
            assert other in position
        # evaluation order puts referenced rules first
        for ref in re.findall(r"'rule': '([a-z0-9_]+)'", str(rule.when)):
            assert position[ref] < position[rule.id]


def test_brief_codes_are_reachable() -> None:
    """Codes the evaluator matches by category must each have a rule that can emit them."""
    emittable = knowledge().emittable_codes()
    for code in ("D50.9", "D64.9", "E11.9", "E11.22", "E11.29", "E11.21", "R73.03", "N18.31",
                 "N18.32", "N18.4", "N18.5", "N18.1", "N18.2", "N17.9", "E78.5", "E78.1",
                 "E78.2", "E03.9", "E05.90", "J18.9", "J90", "I51.7", "I50.9", "J43.9",
                 "J98.11", "J93.9", "R91.1", "M41.9", "M47.814", "S22.9XXA"):  # fmt: skip
        assert code in emittable, code


def test_every_analyte_reads_lab_knowledge_base_tests() -> None:
    kb = knowledge()
    for analyte in kb.analytes.values():
        assert analyte.tests, analyte.key
        for test in analyte.tests:
            assert kb.labs.test(test.key) is test, (analyte.key, test.key)
            assert analyte.key in kb.analytes_by_test[test.key]
            for code in test.all_loincs:
                assert _loinc_check_digit_ok(code), (analyte.key, code)
            if analyte.unit is not None:
                assert analyte.unit in test.units, (analyte.key, test.key)


@pytest.mark.parametrize(
    ("loinc", "analyte"),
    [("14749-6", "glucose_any"), ("14771-0", "glucose_fasting"), ("59261-8", "hba1c"),
     ("14647-2", "cholesterol_total"), ("39469-2", "ldl"), ("14646-4", "hdl"),
     ("3043-7", "triglycerides"), ("14920-3", "ft4"), ("1744-2", "alt"),
     ("14631-6", "bilirubin_total"), ("2862-1", "albumin"), ("14685-2", "b12"),
     ("14732-2", "folate"), ("35365-6", "vitamin_d"), ("83107-3", "ntprobnp"),
     ("14958-3", "uacr"), ("46418-0", "inr"), ("49563-0", "troponin"),
     ("89579-7", "troponin"), ("30522-7", "crp")],
)  # fmt: skip
def test_codes_are_resolved_by_the_lab_knowledge_base(loinc: str, analyte: str) -> None:
    """Codes the insights once listed on their own now come from lab_tests.json."""
    assert analyte in analytes_for_row(lab("Test", loinc, 1.0, None), knowledge())


def test_rows_without_loinc_are_named_by_the_lab_alias_lookup() -> None:
    kb = knowledge()
    assert analytes_for_row(lab("S. Creatinine", None, 1.0, "mg/dL"), kb) == ["creatinine"]
    assert analytes_for_row(lab("Total Leucocyte Count", None, 9.0, None), kb) == ["wbc"]
    assert analytes_for_row(lab("MCH", None, 29, "pg"), kb) == []  # no rule reads it
    assert analytes_for_row(lab("Pus cells", None, 8, "/hpf"), kb) == ["urine_wbc"]


def test_critical_limits_come_from_the_lab_knowledge_base(tmp_path: Path) -> None:
    """One place to change a limit: an edited lab_tests.json moves the insights alert too."""
    assert not any(a.severity == "critical" for a in run(lab("K", "2823-3", 5.9, "mmol/L")).alerts)
    folder = tmp_path / "knowledge"
    shutil.copytree(RESOURCES / "knowledge", folder)
    path = folder / "lab_tests.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    for test in doc["tests"]:
        if test["key"] == "potassium":
            test["critical_high"] = 5.8
    path.write_text(json.dumps(doc), encoding="utf-8")
    edited = load_insight_knowledge(RESOURCES, load_lab_knowledge(folder))
    alerts = run(lab("K", "2823-3", 5.9, "mmol/L"), kb=edited).alerts
    assert [a.severity for a in alerts] == ["critical"]
    assert "per app default (> 5.8 mmol/L)" in alerts[0].message


def test_data_files_cite_sources() -> None:
    base = RESOURCES / "insights"
    derived = json.loads((base / "derived.json").read_text())
    for name, spec in derived.items():
        if isinstance(spec, dict):
            assert re.search(r"(19|20)\d\d", spec["source"]), name
    critical = json.loads((base / "critical_values.json").read_text())
    for entry in critical["lab_warnings"] + critical["derived"]:
        assert entry["source"]
    assert knowledge().sources["icd10"]


def test_derived_vocabulary_units_are_consistent_with_derived_json() -> None:
    assert DERIVED_UNITS["egfr"] == knowledge().derived_params["egfr_ckd_epi_2021"]["unit"]


# ------------------------------------------------------------------------------------------
# a broken copy is refused with a message naming the place


@pytest.fixture
def copy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "insights"
    shutil.copytree(RESOURCES / "insights", target)
    return target


def _edit_rule(base: Path, file: str, rule_id: str, **changes: object) -> None:
    path = base / "rules" / file
    doc = json.loads(path.read_text())
    for rule in doc["rules"]:
        if rule["id"] == rule_id:
            for key, value in changes.items():
                if value is None:
                    rule.pop(key, None)
                else:
                    rule[key] = value
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"icd10": "Z99.999"}, "not in icd10_subset"),
        ({"source": None}, "missing source"),
        ({"source": "A textbook"}, "source must name its year"),
        ({"strength": 1.5}, "strength"),
        ({"suppressed_by": ["no_such_rule"]}, "no_such_rule"),
        ({"expects": ["no_such_value"]}, "no_such_value"),
        ({"when": {"analyte": "hba1c", "op": ">=", "value": 48, "unit": "mmol/mol"}}, "unit"),
        (
            {"when": {"analyte": "no_such_test", "op": ">", "value": 1, "unit": "x"}},
            "unknown analyte",
        ),
        ({"when": {"analyte": "hba1c", "op": "=>", "value": 6.5, "unit": "%"}}, "op must be"),
        ({"when": {"analyte": "hba1c", "op": ">=", "value": 6.5}}, "state its unit"),
        ({"when": {"analyte": "hba1c", "flag": ["HIGH"]}}, "flags must be"),
        ({"when": {"def": "no_such_definition"}}, "unknown definition"),
        ({"when": {"finding": "cardiomegaly"}}, "text lists"),
        ({"when": {"anylyte": "hba1c"}}, "unknown condition"),
        ({"when": {"rule": "diabetes"}}, "cycle"),
    ],
)
def test_broken_rule_is_refused(copy_dir: Path, changes: dict[str, object], message: str) -> None:
    _edit_rule(copy_dir, "glycaemia.json", "diabetes", **changes)
    with pytest.raises(InsightKnowledgeError, match=message) as caught:
        load_insight_knowledge(copy_dir, lab_knowledge())
    assert "diabetes" in str(caught.value) or "cycle" in str(caught.value)


def test_duplicate_rule_id_is_refused(copy_dir: Path) -> None:
    _edit_rule(copy_dir, "glycaemia.json", "prediabetes", id="diabetes")
    with pytest.raises(InsightKnowledgeError, match="already used"):
        load_insight_knowledge(copy_dir, lab_knowledge())


def test_missing_file_is_refused(copy_dir: Path) -> None:
    (copy_dir / "analytes.json").unlink()
    with pytest.raises(InsightKnowledgeError, match=r"analytes\.json"):
        load_insight_knowledge(copy_dir, lab_knowledge())


def test_unreadable_json_is_refused(copy_dir: Path) -> None:
    (copy_dir / "rules" / "lipids.json").write_text("{not json")
    with pytest.raises(InsightKnowledgeError, match=r"lipids\.json"):
        load_insight_knowledge(copy_dir, lab_knowledge())


def test_unknown_critical_value_analyte_is_refused(copy_dir: Path) -> None:
    path = copy_dir / "critical_values.json"
    doc = json.loads(path.read_text())
    doc["lab_warnings"].append({"analyte": "unobtainium", "high": 1, "severity": "warning",
                                "source": "x 2020"})  # fmt: skip
    path.write_text(json.dumps(doc))
    with pytest.raises(InsightKnowledgeError, match="unobtainium"):
        load_insight_knowledge(copy_dir, lab_knowledge())


def _edit_json(path: Path, edit: object) -> None:
    doc = json.loads(path.read_text())
    edit(doc)  # type: ignore[operator]
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("file", "edit", "message"),
    [
        ("analytes.json", lambda d: d["analytes"]["hba1c"].update(tests=["hba1c_ifcc"]),
         "no lab test 'hba1c_ifcc'"),
        ("analytes.json", lambda d: d["analytes"]["creatinine"].update(units={"umol/l": 0.0113}),
         "belong in"),
        ("analytes.json", lambda d: d["analytes"]["hemoglobin"].update(tests=["hgb", "mcv"]),
         "cannot be read in g/dL"),
        ("analytes.json", lambda d: d["analytes"]["hba1c"].update(tests=[]), "'tests' must"),
        ("critical_values.json",
         lambda d: d.update(labs=[{"analyte": "sodium", "low": 120, "source": "x 2020"}]),
         "belong in"),
        ("critical_values.json",
         lambda d: d["lab_warnings"].append({"analyte": "sodium", "low": 125,
                                             "severity": "critical", "source": "x 2020"}),
         "belongs in"),
    ],
)  # fmt: skip
def test_facts_about_lab_tests_are_refused_outside_the_lab_knowledge_base(
    copy_dir: Path, file: str, edit: object, message: str
) -> None:
    _edit_json(copy_dir / file, edit)
    with pytest.raises(InsightKnowledgeError, match=message):
        load_insight_knowledge(copy_dir, lab_knowledge())


def test_numeric_threshold_on_a_word_result_is_refused(copy_dir: Path) -> None:
    when = {"analyte": "urine_nitrite", "op": ">", "value": 1, "unit": "mg/dL"}
    _edit_rule(copy_dir, "glycaemia.json", "diabetes", when=when)
    with pytest.raises(InsightKnowledgeError, match="words, not numbers"):
        load_insight_knowledge(copy_dir, lab_knowledge())
