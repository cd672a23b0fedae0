"""Load and validate the insight rule files in resources/insights/.

Validation is strict and happens once at load: a typo in a rule file should stop the app
with a message naming the file and the rule, not silently make a rule never fire.

Facts about lab tests (LOINC codes, aliases, units and their factors, reference intervals,
critical limits, plausibility) are not repeated here: the caller passes the LabKnowledge it
loaded once, and analytes.json only says which of its tests each rule key reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from medmitra_desktop.analysis.insights.model import Severity
from medmitra_desktop.analysis.insights.vocabulary import DERIVED_UNITS
from medmitra_desktop.analysis.labs.knowledge import LabKnowledge, LabTest

COMPARISON_OPS = frozenset({"<", "<=", ">", ">=", "between"})
LAB_FLAGS = frozenset({"LL", "L", "N", "H", "HH", "A"})
SEVERITIES = frozenset({"critical", "warning", "info"})
SEXES = frozenset({"male", "female", "unknown"})
ULN_UNIT = "xULN"
TESTS_FILE = "resources/knowledge/lab_tests.json"
# Keys that document an expression and never change its meaning.
_COMMENT_KEYS = frozenset({"source", "note", "about"})


class InsightKnowledgeError(ValueError):
    """A rule file is missing, unreadable or inconsistent; the message names where."""


@dataclass(frozen=True)
class Analyte:
    """A key the rules use ("glucose_any"), read from one or more lab knowledge base tests."""

    key: str
    label: str
    tests: tuple[LabTest, ...]
    unit: str | None  # UCUM code values are compared in (the first test's canonical unit)
    unit_display: str  # how that unit prints ("" when the results are words)

    @property
    def text_only(self) -> bool:
        """Results are words ("Positive", "2+"), not numbers in a unit (urine nitrite)."""
        return self.unit is None


@dataclass(frozen=True)
class Support:
    when: Mapping[str, Any]
    weight: float
    note: str


@dataclass(frozen=True)
class RuleAlert:
    severity: Severity
    message: str


@dataclass(frozen=True)
class Rule:
    id: str
    condition: str
    icd10: str
    strength: float
    when: Mapping[str, Any]
    source: str
    next_steps: tuple[str, ...]
    support: tuple[Support, ...] = ()
    expects: tuple[str, ...] = ()
    suppressed_by: tuple[str, ...] = ()
    alert: RuleAlert | None = None
    file: str = ""


@dataclass(frozen=True)
class CriticalLimit:
    """An insights alert limit: on a derived value, or a warning on an analyte. Critical limits
    of lab tests themselves are LabTest.critical_low / critical_high."""

    name: str  # analyte key or derived name
    low: float | None
    high: float | None
    severity: Severity
    source: str


@dataclass(frozen=True)
class Policy:
    missing_penalty: float
    uncertain_finding_weight: float
    assumed_unit_weight: float
    min_confidence_floor: float
    max_confidence_cap: float
    consistent_with_at: float
    max_items: int
    min_confidence: float
    max_evidence_per_item: int
    key_findings_max: int
    summary_max_labs: int
    summary_max_considerations: int
    positive_text: tuple[re.Pattern[str], ...]
    negative_text: tuple[re.Pattern[str], ...]
    notes_negation: tuple[re.Pattern[str], ...]
    notes_negation_window: int


@dataclass(frozen=True)
class InsightKnowledge:
    labs: LabKnowledge  # the one source of facts about lab tests
    analytes: dict[str, Analyte]
    analytes_by_test: dict[str, tuple[str, ...]]  # lab test key -> analyte keys reading it
    derived_params: dict[str, Any]
    icd10: dict[str, str]
    definitions: dict[str, Mapping[str, Any]]
    rules: tuple[Rule, ...]  # in evaluation order: a rule comes after every rule it refers to
    lab_warnings: tuple[CriticalLimit, ...]
    critical_derived: tuple[CriticalLimit, ...]
    report_critical_markers: frozenset[str]
    policy: Policy
    sources: dict[str, str] = field(default_factory=dict)

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def emittable_codes(self) -> set[str]:
        return {rule.icd10 for rule in self.rules}


def load_insight_knowledge(resources_dir: Path, labs: LabKnowledge) -> InsightKnowledge:
    """Read resources/insights/ (pass resources/ or resources/insights/ itself) over the lab
    knowledge base the caller loaded (load_lab_knowledge), whose tests the rules read."""
    base = resources_dir / "insights" if (resources_dir / "insights").is_dir() else resources_dir
    analytes_doc = _read_json(base / "analytes.json")
    derived_doc = _read_json(base / "derived.json")
    icd_doc = _read_json(base / "icd10_subset.json")
    critical_doc = _read_json(base / "critical_values.json")
    policy_doc = _read_json(base / "policy.json")
    definitions_doc = _read_json(base / "rules" / "definitions.json")

    analytes = {
        key: _parse_analyte(key, spec, labs)
        for key, spec in _dict(analytes_doc, "analytes", "analytes.json").items()
    }
    by_test: dict[str, list[str]] = {}
    for analyte in analytes.values():
        for test in analyte.tests:
            by_test.setdefault(test.key, []).append(analyte.key)
    icd10 = {str(k): str(v) for k, v in _dict(icd_doc, "codes", "icd10_subset.json").items()}
    definitions = dict(_dict(definitions_doc, "definitions", "rules/definitions.json"))

    rule_files = sorted(p for p in (base / "rules").glob("*.json") if p.name != "definitions.json")
    if not rule_files:
        raise InsightKnowledgeError(f"{base / 'rules'}: no rule files found")
    rules: list[Rule] = []
    for path in rule_files:
        doc = _read_json(path)
        entries = doc.get("rules")
        if not isinstance(entries, list):
            raise InsightKnowledgeError(f"{path.name}: expected a 'rules' list")
        rules.extend(_parse_rule(entry, path.name) for entry in entries)

    knowledge = InsightKnowledge(
        labs=labs,
        analytes=analytes,
        analytes_by_test={test: tuple(keys) for test, keys in by_test.items()},
        derived_params={k: v for k, v in derived_doc.items() if isinstance(v, dict)},
        icd10=icd10,
        definitions=definitions,
        rules=tuple(_evaluation_order(rules)),
        lab_warnings=tuple(_parse_lab_warnings(critical_doc, analytes)),
        critical_derived=tuple(_parse_limits(critical_doc, "derived", "derived", DERIVED_UNITS)),
        report_critical_markers=frozenset(
            str(m).upper() for m in critical_doc.get("report_critical_markers", [])
        ),
        policy=_parse_policy(policy_doc),
        sources={
            "labs": f"{TESTS_FILE} {labs.version}".strip(),
            "icd10": str(icd_doc.get("source", "")),
            "critical_values": str(critical_doc.get("source", "")),
        },
    )
    _validate(knowledge)
    return knowledge


# ------------------------------------------------------------------------------------------
# parsing


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InsightKnowledgeError(f"{path}: insight knowledge file is missing") from exc
    except (OSError, ValueError) as exc:
        raise InsightKnowledgeError(f"{path}: cannot be read as JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise InsightKnowledgeError(f"{path}: expected a JSON object at the top level")
    return data


def _dict(doc: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = doc.get(key)
    if not isinstance(value, dict):
        raise InsightKnowledgeError(f"{where}: expected an object under '{key}'")
    return value


def _patterns(values: Any, where: str) -> tuple[re.Pattern[str], ...]:
    try:
        return tuple(re.compile(str(v), re.IGNORECASE) for v in values or [])
    except re.error as exc:
        raise InsightKnowledgeError(f"{where}: bad name pattern ({exc})") from exc


def _parse_analyte(key: str, spec: Any, labs: LabKnowledge) -> Analyte:
    where = f"analytes.json: {key}"
    if not isinstance(spec, dict):
        raise InsightKnowledgeError(f"{where}: expected an object with 'tests'")
    extra = set(spec) - {"tests", "label"} - _COMMENT_KEYS
    if extra:
        raise InsightKnowledgeError(
            f"{where}: unexpected keys {sorted(extra)} (facts about a test belong in {TESTS_FILE})"
        )
    names = spec.get("tests")
    if not _str_list(names):
        raise InsightKnowledgeError(f"{where}: 'tests' must list lab test keys of {TESTS_FILE}")
    tests = []
    for name in names:
        try:
            tests.append(labs.test(name))
        except KeyError:
            raise InsightKnowledgeError(f"{where}: no lab test '{name}' in {TESTS_FILE}") from None
    unit = tests[0].unit
    for test in tests[1:]:
        if (unit is None) != (test.unit is None) or (unit is not None and unit not in test.units):
            raise InsightKnowledgeError(
                f"{where}: lab test '{test.key}' cannot be read in {unit or 'words'} "
                f"(the unit of '{tests[0].key}')"
            )
    return Analyte(
        key=key,
        label=str(spec.get("label") or tests[0].name),
        tests=tuple(tests),
        unit=unit,
        unit_display=(labs.unit_display(unit) or unit) if unit else "",
    )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _parse_rule(entry: Any, file: str) -> Rule:
    if not isinstance(entry, dict):
        raise InsightKnowledgeError(f"{file}: every rule must be an object")
    rule_id = str(entry.get("id") or "")
    where = f"{file}: rule '{rule_id or '?'}'"
    required = ("id", "condition", "icd10", "strength", "when", "source", "next_steps")
    missing = [k for k in required if not entry.get(k)]
    if missing:
        raise InsightKnowledgeError(f"{where}: missing {', '.join(missing)}")
    try:
        support = tuple(
            Support(when=s["when"], weight=float(s["weight"]), note=str(s.get("note", "")))
            for s in entry.get("support", [])
        )
        alert = None
        if entry.get("alert"):
            severity = str(entry["alert"]["severity"])
            if severity not in SEVERITIES:
                raise InsightKnowledgeError(f"{where}: alert severity '{severity}'")
            alert = RuleAlert(cast(Severity, severity), str(entry["alert"]["message"]))
        return Rule(
            id=rule_id,
            condition=str(entry["condition"]),
            icd10=str(entry["icd10"]),
            strength=float(entry["strength"]),
            when=entry["when"],
            source=str(entry["source"]),
            next_steps=tuple(str(s) for s in entry["next_steps"]),
            support=support,
            expects=tuple(str(e) for e in entry.get("expects", [])),
            suppressed_by=tuple(str(s) for s in entry.get("suppressed_by", [])),
            alert=alert,
            file=file,
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, InsightKnowledgeError):
            raise
        raise InsightKnowledgeError(f"{where}: {exc!r}") from exc


def _parse_lab_warnings(
    doc: Mapping[str, Any], analytes: Mapping[str, Analyte]
) -> list[CriticalLimit]:
    if "labs" in doc:
        raise InsightKnowledgeError(
            f"critical_values.json: critical limits of lab tests belong in {TESTS_FILE} "
            "(critical_low / critical_high); this file holds only 'lab_warnings'"
        )
    limits = _parse_limits(doc, "lab_warnings", "analyte", analytes)
    for limit in limits:
        if limit.severity == "critical":
            raise InsightKnowledgeError(
                f"critical_values.json: {limit.name}: a critical limit of a lab test belongs "
                f"in {TESTS_FILE}; lab_warnings are 'warning' or 'info'"
            )
        if analytes[limit.name].text_only:
            raise InsightKnowledgeError(f"critical_values.json: {limit.name}: not numeric")
    return limits


def _parse_limits(
    doc: Mapping[str, Any], section: str, name_key: str, known: Mapping[str, Any]
) -> list[CriticalLimit]:
    limits = []
    for entry in doc.get(section, []):
        name = str(entry.get(name_key, ""))
        if name not in known:
            raise InsightKnowledgeError(f"critical_values.json: unknown {name_key} '{name}'")
        severity = str(entry.get("severity", "critical"))
        if severity not in SEVERITIES:
            raise InsightKnowledgeError(f"critical_values.json: {name}: bad severity {severity}")
        if not entry.get("source"):
            raise InsightKnowledgeError(f"critical_values.json: {name}: no source")
        limits.append(
            CriticalLimit(
                name=name,
                low=_opt_float(entry.get("low")),
                high=_opt_float(entry.get("high")),
                severity=cast(Severity, severity),
                source=str(entry["source"]),
            )
        )
    return limits


def _parse_policy(doc: Mapping[str, Any]) -> Policy:
    try:
        conf = doc["confidence"]
        diff = doc["differential"]
        text = doc["result_text"]
        return Policy(
            missing_penalty=float(conf["missing_penalty"]),
            uncertain_finding_weight=float(conf["uncertain_finding_weight"]),
            assumed_unit_weight=float(conf["assumed_unit_weight"]),
            min_confidence_floor=float(conf["min"]),
            max_confidence_cap=float(conf["max"]),
            consistent_with_at=float(conf["consistent_with_at"]),
            max_items=int(diff["max_items"]),
            min_confidence=float(diff["min_confidence"]),
            max_evidence_per_item=int(diff["max_evidence_per_item"]),
            key_findings_max=int(doc["key_findings_max"]),
            summary_max_labs=int(doc["summary_max_labs"]),
            summary_max_considerations=int(doc["summary_max_considerations"]),
            positive_text=_patterns(text["positive"], "policy.json"),
            negative_text=_patterns(text["negative"], "policy.json"),
            notes_negation=_patterns(doc["notes_negation"], "policy.json"),
            notes_negation_window=int(doc["notes_negation_window_chars"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, InsightKnowledgeError):
            raise
        raise InsightKnowledgeError(f"policy.json: {exc!r}") from exc


def _evaluation_order(rules: list[Rule]) -> list[Rule]:
    """Order rules so that {"rule": id} references are already decided; refuse cycles."""
    by_id: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in by_id:
            raise InsightKnowledgeError(
                f"{rule.file}: rule id '{rule.id}' already used in {by_id[rule.id].file}"
            )
        by_id[rule.id] = rule
    ordered: list[Rule] = []
    state: dict[str, str] = {}

    def visit(rule: Rule, chain: tuple[str, ...]) -> None:
        if state.get(rule.id) == "done":
            return
        if state.get(rule.id) == "visiting":
            raise InsightKnowledgeError(f"rule references form a cycle: {' -> '.join(chain)}")
        state[rule.id] = "visiting"
        refs = set(_rule_refs(rule.when))
        for support in rule.support:
            refs.update(_rule_refs(support.when))
        for ref in sorted(refs):
            if ref not in by_id:
                raise InsightKnowledgeError(f"{rule.file}: rule '{rule.id}': unknown rule '{ref}'")
            visit(by_id[ref], (*chain, ref))
        state[rule.id] = "done"
        ordered.append(rule)

    for rule in rules:
        visit(rule, (rule.id,))
    return ordered


def _rule_refs(expr: Any) -> list[str]:
    if isinstance(expr, dict):
        found = [str(expr["rule"])] if "rule" in expr else []
        for value in expr.values():
            found.extend(_rule_refs(value))
        return found
    if isinstance(expr, list):
        return [ref for item in expr for ref in _rule_refs(item)]
    return []


# ------------------------------------------------------------------------------------------
# validation


def _validate(knowledge: InsightKnowledge) -> None:
    rule_ids = {rule.id for rule in knowledge.rules}
    for name, expr in knowledge.definitions.items():
        _check_expr(expr, knowledge, rule_ids, f"definitions.json: '{name}'", set())
    for rule in knowledge.rules:
        where = f"{rule.file}: rule '{rule.id}'"
        if rule.icd10 not in knowledge.icd10:
            raise InsightKnowledgeError(f"{where}: ICD-10 code {rule.icd10} not in icd10_subset")
        if not 0.0 < rule.strength <= 1.0:
            raise InsightKnowledgeError(f"{where}: strength must be in (0, 1]")
        if not re.search(r"(19|20)\d\d", rule.source):
            raise InsightKnowledgeError(f"{where}: source must name its year")
        _check_expr(rule.when, knowledge, rule_ids, where, set())
        for support in rule.support:
            if not -1.0 <= support.weight <= 1.0:
                raise InsightKnowledgeError(f"{where}: support weight must be in [-1, 1]")
            _check_expr(support.when, knowledge, rule_ids, where, set())
        for name in rule.expects:
            if name not in knowledge.analytes and name not in DERIVED_UNITS:
                raise InsightKnowledgeError(f"{where}: expects unknown value '{name}'")
        for other in rule.suppressed_by:
            if other not in rule_ids or other == rule.id:
                raise InsightKnowledgeError(f"{where}: suppressed_by unknown rule '{other}'")


def _check_expr(
    expr: Any, knowledge: InsightKnowledge, rule_ids: set[str], where: str, seen_defs: set[str]
) -> None:
    if not isinstance(expr, dict) or not expr:
        raise InsightKnowledgeError(f"{where}: a condition must be a non-empty object: {expr!r}")
    keys = set(expr) - _COMMENT_KEYS
    if keys & {"all", "any"}:
        (combinator,) = keys & {"all", "any"}
        parts = expr[combinator]
        if keys != {combinator} or not isinstance(parts, list) or not parts:
            raise InsightKnowledgeError(f"{where}: '{combinator}' needs a non-empty list only")
        for part in parts:
            _check_expr(part, knowledge, rule_ids, where, seen_defs)
    elif "not" in keys:
        _only(keys, {"not"}, where)
        _check_expr(expr["not"], knowledge, rule_ids, where, seen_defs)
    elif "def" in keys:
        _only(keys, {"def"}, where)
        name = str(expr["def"])
        if name not in knowledge.definitions:
            raise InsightKnowledgeError(f"{where}: unknown definition '{name}'")
        if name in seen_defs:
            raise InsightKnowledgeError(f"{where}: definition '{name}' refers to itself")
        _check_expr(knowledge.definitions[name], knowledge, rule_ids, where, {*seen_defs, name})
    elif "rule" in keys:
        _only(keys, {"rule"}, where)
        if expr["rule"] not in rule_ids:
            raise InsightKnowledgeError(f"{where}: unknown rule '{expr['rule']}'")
    elif "analyte" in keys:
        _check_analyte_atom(expr, keys, knowledge, where)
    elif "derived" in keys:
        _only(keys, {"derived", "op", "value", "unit"}, where)
        name = str(expr["derived"])
        if name not in DERIVED_UNITS:
            raise InsightKnowledgeError(f"{where}: unknown derived value '{name}'")
        _check_comparison(expr, DERIVED_UNITS[name], where, allow_uln=False)
    elif keys & {"missing", "present"}:
        (kind,) = keys & {"missing", "present"}
        _only(keys, {kind}, where)
        name = str(expr[kind])
        if name not in knowledge.analytes and name not in DERIVED_UNITS:
            raise InsightKnowledgeError(f"{where}: '{kind}' of unknown value '{name}'")
    elif "finding" in keys:
        _only(keys, {"finding", "certainty", "body_part"}, where)
        if not _str_list(expr["finding"]) or not _str_list(expr.get("body_part", ["x"])):
            raise InsightKnowledgeError(f"{where}: 'finding' and 'body_part' need text lists")
        if expr.get("certainty", "any") not in ("any", "positive"):
            raise InsightKnowledgeError(f"{where}: certainty must be 'any' or 'positive'")
    elif "patient" in keys:
        if expr["patient"] == "sex":
            _only(keys, {"patient", "in"}, where)
            if not _str_list(expr.get("in")) or not set(expr["in"]) <= SEXES:
                raise InsightKnowledgeError(f"{where}: sex must be in {sorted(SEXES)}")
        elif expr["patient"] == "age":
            _only(keys, {"patient", "op", "value", "unit"}, where)
            _check_comparison(expr, "years", where, allow_uln=False)
        else:
            raise InsightKnowledgeError(f"{where}: patient condition must be 'sex' or 'age'")
    elif "notes_mention" in keys:
        _only(keys, {"notes_mention"}, where)
        if not _str_list(expr["notes_mention"]):
            raise InsightKnowledgeError(f"{where}: notes_mention needs a list of words")
        _patterns(expr["notes_mention"], where)
    else:
        raise InsightKnowledgeError(f"{where}: unknown condition {sorted(keys)}")


def _check_analyte_atom(
    expr: Mapping[str, Any], keys: set[str], knowledge: InsightKnowledge, where: str
) -> None:
    name = str(expr["analyte"])
    analyte = knowledge.analytes.get(name)
    if analyte is None:
        raise InsightKnowledgeError(f"{where}: unknown analyte '{name}'")
    if expr.get("time", "current") not in ("current", "previous"):
        raise InsightKnowledgeError(f"{where}: time must be 'current' or 'previous'")
    base = {"analyte", "time"}
    if "flag" in keys:
        _only(keys, base | {"flag", "else"}, where)
        flags = expr["flag"]
        if not _str_list(flags) or not set(flags) <= LAB_FLAGS:
            raise InsightKnowledgeError(f"{where}: flags must be among {sorted(LAB_FLAGS)}")
        if "else" in expr:
            fallback = expr["else"]
            if not isinstance(fallback, dict):
                raise InsightKnowledgeError(f"{where}: 'else' must be a comparison")
            _only(set(fallback), {"op", "value", "unit"}, where)
            _check_analyte_comparison(fallback, analyte, knowledge.labs, where)
    elif "result" in keys:
        _only(keys, base | {"result"}, where)
        if expr["result"] not in ("positive", "negative"):
            raise InsightKnowledgeError(f"{where}: result must be 'positive' or 'negative'")
    else:
        _only(keys, base | {"op", "value", "unit"}, where)
        _check_analyte_comparison(expr, analyte, knowledge.labs, where)


def _check_analyte_comparison(
    expr: Mapping[str, Any], analyte: Analyte, labs: LabKnowledge, where: str
) -> None:
    """A threshold on a lab value states the analyte's unit, spelled any way the lab unit
    registry knows ("10^3/uL" for 10*3/uL), or xULN."""
    if analyte.unit is None:
        raise InsightKnowledgeError(f"{where}: '{analyte.key}' results are words, not numbers")
    stated = expr.get("unit")
    same = isinstance(stated, str) and analyte.unit in (stated, labs.unit_code(stated))
    _check_comparison(expr, stated if same else analyte.unit_display, where, allow_uln=True)


def _check_comparison(expr: Mapping[str, Any], unit: str, where: str, *, allow_uln: bool) -> None:
    op = expr.get("op")
    if op not in COMPARISON_OPS:
        raise InsightKnowledgeError(f"{where}: op must be one of {sorted(COMPARISON_OPS)}")
    value = expr.get("value")
    if op == "between":
        ok = (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, int | float) for v in value)
            and value[0] <= value[1]
        )
        if not ok:
            raise InsightKnowledgeError(f"{where}: 'between' needs [low, high]")
    elif not isinstance(value, int | float) or isinstance(value, bool):
        raise InsightKnowledgeError(f"{where}: value must be a number")
    stated = expr.get("unit")
    if stated is None:
        raise InsightKnowledgeError(f"{where}: a threshold must state its unit")
    if stated != unit and not (allow_uln and stated == ULN_UNIT):
        raise InsightKnowledgeError(
            f"{where}: unit '{stated}' does not match the canonical unit '{unit}'"
        )


def _only(keys: set[str], allowed: set[str], where: str) -> None:
    extra = keys - allowed
    if extra:
        raise InsightKnowledgeError(f"{where}: unexpected keys {sorted(extra)}")


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
