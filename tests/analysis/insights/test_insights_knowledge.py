"""The rule files load, are internally consistent, and a broken copy is refused clearly."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from medmitra_desktop.analysis.insights import InsightKnowledgeError, load_insight_knowledge
from medmitra_desktop.analysis.insights.vocabulary import DERIVED_UNITS
from tests.analysis.insights.insights_helpers import RESOURCES, knowledge

ICD10_CM = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")


def _loinc_check_digit_ok(code: str) -> bool:
    """LOINC mod-10 check digit (LOINC Users' Guide, appendix)."""
    body, _, check = code.partition("-")
    reversed_digits = body[::-1]
    doubled = str(int(reversed_digits[0::2]) * 2)
    total = sum(int(c) for c in reversed_digits[1::2] + doubled)
    return (10 - total % 10) % 10 == int(check)


def test_loads_from_resources_dir_or_insights_dir() -> None:
    assert load_insight_knowledge(RESOURCES).rules
    assert load_insight_knowledge(RESOURCES / "insights").rules


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


def test_analyte_loinc_codes_have_valid_check_digits() -> None:
    for analyte in knowledge().analytes.values():
        for code in analyte.loinc | analyte.loinc_if_named:
            assert _loinc_check_digit_ok(code), (analyte.key, code)


def test_data_files_cite_sources() -> None:
    base = RESOURCES / "insights"
    derived = json.loads((base / "derived.json").read_text())
    for name, spec in derived.items():
        if isinstance(spec, dict):
            assert re.search(r"(19|20)\d\d", spec["source"]), name
    critical = json.loads((base / "critical_values.json").read_text())
    for entry in critical["labs"] + critical["derived"]:
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
        load_insight_knowledge(copy_dir)
    assert "diabetes" in str(caught.value) or "cycle" in str(caught.value)


def test_duplicate_rule_id_is_refused(copy_dir: Path) -> None:
    _edit_rule(copy_dir, "glycaemia.json", "prediabetes", id="diabetes")
    with pytest.raises(InsightKnowledgeError, match="already used"):
        load_insight_knowledge(copy_dir)


def test_missing_file_is_refused(copy_dir: Path) -> None:
    (copy_dir / "analytes.json").unlink()
    with pytest.raises(InsightKnowledgeError, match=r"analytes\.json"):
        load_insight_knowledge(copy_dir)


def test_unreadable_json_is_refused(copy_dir: Path) -> None:
    (copy_dir / "rules" / "lipids.json").write_text("{not json")
    with pytest.raises(InsightKnowledgeError, match=r"lipids\.json"):
        load_insight_knowledge(copy_dir)


def test_unknown_critical_value_analyte_is_refused(copy_dir: Path) -> None:
    path = copy_dir / "critical_values.json"
    doc = json.loads(path.read_text())
    doc["labs"].append({"analyte": "unobtainium", "high": 1, "source": "x 2020"})
    path.write_text(json.dumps(doc))
    with pytest.raises(InsightKnowledgeError, match="unobtainium"):
        load_insight_knowledge(copy_dir)
