"""Evaluate the rule language of resources/insights/rules/ against a case's facts.

A condition holds when *some* fact satisfies it (any Hb row below the cut-off, any report with
the finding), and its evidence lists every fact that did, so an assessment can cite them all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from medmitra_desktop.analysis.insights.facts import CaseFacts, Fact
from medmitra_desktop.analysis.insights.knowledge import ULN_UNIT, InsightKnowledge
from medmitra_desktop.analysis.radiology.model import Observation


@dataclass(frozen=True)
class Match:
    ok: bool
    evidence: tuple[str, ...] = ()
    weight: float = 1.0  # < 1 when it rests on an uncertain finding or a guessed unit


NO_MATCH = Match(False)


def compare(value: float | None, op: str, threshold: Any, censor: str | None = None) -> bool:
    """Threshold test that stays honest for bounds: '<0.5' is below 1 but not known above 0.2."""
    if value is None or not math.isfinite(value):
        return False
    if op == "between":
        low, high = float(threshold[0]), float(threshold[1])
        return censor is None and low <= value <= high
    limit = float(threshold)
    if censor == "<":  # true value is below `value`
        return op in ("<", "<=") and value <= limit
    if censor == ">":  # true value is above `value`
        return op in (">", ">=") and value >= limit
    return {
        "<": value < limit,
        "<=": value <= limit,
        ">": value > limit,
        ">=": value >= limit,
    }[op]


class Evaluator:
    def __init__(self, facts: CaseFacts, knowledge: InsightKnowledge) -> None:
        self.facts = facts
        self.knowledge = knowledge
        self.fired: dict[str, Match] = {}  # rule id -> its match, filled in evaluation order

    def evaluate(self, expr: Mapping[str, Any]) -> Match:
        if "all" in expr:
            parts = []
            for sub in expr["all"]:
                match = self.evaluate(sub)
                if not match.ok:
                    return NO_MATCH
                parts.append(match)
            return _merge(parts, weight=min(p.weight for p in parts))
        if "any" in expr:
            hits = [m for m in (self.evaluate(sub) for sub in expr["any"]) if m.ok]
            return _merge(hits, weight=max(m.weight for m in hits)) if hits else NO_MATCH
        if "not" in expr:
            return Match(not self.evaluate(expr["not"]).ok)
        if "def" in expr:
            return self.evaluate(self.knowledge.definitions[expr["def"]])
        if "rule" in expr:
            return self.fired.get(expr["rule"], NO_MATCH)
        if "analyte" in expr:
            return self._analyte(expr)
        if "derived" in expr:
            facts = self.facts.derived.get(expr["derived"], [])
            return _facts_match([f for f in facts if _numeric_ok(f, expr)])
        if "missing" in expr:
            return Match(not self._present(str(expr["missing"])))
        if "present" in expr:
            return Match(self._present(str(expr["present"])))
        if "finding" in expr:
            return self._finding(expr)
        if "patient" in expr:
            return self._patient(expr)
        if "notes_mention" in expr:
            return self._notes(expr["notes_mention"])
        raise ValueError(f"unknown condition {sorted(expr)}")  # knowledge.py prevents this

    # --------------------------------------------------------------------------------------

    def _present(self, name: str) -> bool:
        return self.facts.has_value(name, self.knowledge.analytes)

    def _analyte(self, expr: Mapping[str, Any]) -> Match:
        pool = self.facts.previous if expr.get("time") == "previous" else self.facts.labs
        facts = pool.get(expr["analyte"], [])
        if "flag" in expr:
            flags = set(expr["flag"])
            fallback = expr.get("else")
            chosen = [
                f
                for f in facts
                if (f.flag in flags) or (f.flag is None and fallback and _numeric_ok(f, fallback))
            ]
        elif "result" in expr:
            chosen = [f for f in facts if self._result_is(f, expr["result"])]
        else:
            chosen = [f for f in facts if _numeric_ok(f, expr)]
        return _facts_match(chosen)

    def _result_is(self, fact: Fact, wanted: str) -> bool:
        text = fact.text
        policy = self.knowledge.policy
        if any(p.search(text) for p in policy.negative_text):
            return wanted == "negative"
        if any(p.search(text) for p in policy.positive_text):
            return wanted == "positive"
        return False

    def _finding(self, expr: Mapping[str, Any]) -> Match:
        wanted = {term.lower() for term in expr["finding"]}
        parts = [p.lower() for p in expr.get("body_part", [])]
        allow_uncertain = expr.get("certainty", "any") == "any"
        evidence: list[str] = []
        weight = 0.0
        for item in self.facts.imaging:
            obs = item.observation
            if not_about_patient_now(obs) or obs.finding.strip().lower() not in wanted:
                continue
            if obs.uncertain and not allow_uncertain:
                continue
            if parts and not _body_part_matches(item.report.body_part, parts):
                continue
            evidence.append(item.evidence)
            w = self.knowledge.policy.uncertain_finding_weight if obs.uncertain else 1.0
            weight = max(weight, w)
        return Match(True, tuple(evidence), weight) if evidence else NO_MATCH

    def _patient(self, expr: Mapping[str, Any]) -> Match:
        if expr["patient"] == "sex":
            ok = self.facts.sex in expr["in"]
            known = ok and self.facts.sex != "unknown"
            return Match(ok, (f"patient: {self.facts.sex}",) if known else ())
        age = self.facts.age
        ok = age is not None and compare(float(age), expr["op"], expr["value"])
        return Match(ok, (f"patient: age {age}",) if ok else ())

    def _notes(self, terms: list[str]) -> Match:
        notes = self.facts.notes
        policy = self.knowledge.policy
        for term in terms:
            for found in re.finditer(rf"\b{term}\b", notes, re.IGNORECASE):
                before = notes[max(0, found.start() - policy.notes_negation_window) : found.start()]
                before = re.split(r"[.;\n]", before)[-1]  # negation does not cross a sentence
                if any(p.search(before) for p in policy.notes_negation):
                    continue
                start, end = max(0, found.start() - 30), min(len(notes), found.end() + 30)
                snippet = " ".join(notes[start:end].split())
                return Match(True, (f'notes: "...{snippet}..."',))
        return NO_MATCH


def not_about_patient_now(obs: Observation) -> bool:
    """Negated, historical and family-history mentions never count for the patient today."""
    return obs.negated or obs.historical or bool(getattr(obs, "family", False))


def _numeric_ok(fact: Fact, expr: Mapping[str, Any]) -> bool:
    if expr.get("unit") == ULN_UNIT:
        return compare(fact.uln_ratio, expr["op"], expr["value"], fact.censor)
    return compare(fact.value, expr["op"], expr["value"], fact.censor)


def _facts_match(facts: list[Fact]) -> Match:
    if not facts:
        return NO_MATCH
    return Match(
        True, tuple(dict.fromkeys(f.evidence for f in facts)), max(f.weight for f in facts)
    )


def _merge(matches: list[Match], *, weight: float) -> Match:
    evidence = tuple(dict.fromkeys(e for m in matches for e in m.evidence))
    return Match(True, evidence, weight)


def _body_part_matches(body_part: str | None, wanted: list[str]) -> bool:
    if not body_part:
        return "unknown" in wanted
    text = body_part.lower()
    return any(w != "unknown" and w in text for w in wanted)
