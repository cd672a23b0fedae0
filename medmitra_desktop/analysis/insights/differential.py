"""Rule hits -> a short, ranked, deduplicated differential with confidence and evidence."""

from __future__ import annotations

from dataclasses import dataclass, replace

from medmitra_desktop.analysis.insights.facts import CaseFacts
from medmitra_desktop.analysis.insights.knowledge import InsightKnowledge, Rule
from medmitra_desktop.analysis.insights.model import DifferentialItem
from medmitra_desktop.analysis.insights.rules import Evaluator, Match


@dataclass(frozen=True)
class RuleHit:
    rule: Rule
    match: Match
    confidence: float
    evidence: tuple[str, ...]
    notes: tuple[str, ...]  # the support notes that applied ("low ferritin", ...)
    missing: tuple[str, ...]  # expected values the case lacks
    suppressed: bool = False


def evaluate_rules(facts: CaseFacts, knowledge: InsightKnowledge) -> list[RuleHit]:
    """Every rule that matched, in evaluation order, with confidence and suppression decided."""
    evaluator = Evaluator(facts, knowledge)
    hits: list[RuleHit] = []
    for rule in knowledge.rules:
        match = evaluator.evaluate(rule.when)
        if not match.ok:
            continue
        evaluator.fired[rule.id] = match
        hits.append(_score(rule, match, evaluator, facts, knowledge))
    fired = set(evaluator.fired)
    return [replace(h, suppressed=any(s in fired for s in h.rule.suppressed_by)) for h in hits]


def _score(
    rule: Rule, match: Match, evaluator: Evaluator, facts: CaseFacts, knowledge: InsightKnowledge
) -> RuleHit:
    """Confidence = (strength + matching support) x match weight x data completeness.

    Completeness is what makes two cases with the same abnormal value differ: anaemia typed
    without a ferritin is a weaker statement than with one.
    """
    policy = knowledge.policy
    raw = rule.strength
    evidence = list(match.evidence)
    notes = []
    for support in rule.support:
        supported = evaluator.evaluate(support.when)
        if supported.ok:
            raw += support.weight
            notes.append(support.note)
            if support.weight > 0:
                evidence.extend(supported.evidence)
    # Document citations first: "patient: female" is context, not the finding itself.
    evidence.sort(key=lambda e: e.startswith("patient:"))
    missing = tuple(n for n in rule.expects if not facts.has_value(n, knowledge.analytes))
    completeness = 1.0 - (len(missing) / len(rule.expects) if rule.expects else 0.0)
    confidence = raw * match.weight * (1.0 - policy.missing_penalty * (1.0 - completeness))
    confidence = min(policy.max_confidence_cap, max(policy.min_confidence_floor, confidence))
    return RuleHit(
        rule=rule,
        match=match,
        confidence=round(confidence, 2),
        evidence=tuple(dict.fromkeys(evidence)),
        notes=tuple(notes),
        missing=missing,
    )


def build_differential(hits: list[RuleHit], knowledge: InsightKnowledge) -> list[DifferentialItem]:
    policy = knowledge.policy
    items: dict[str, DifferentialItem] = {}
    order: dict[str, int] = {}
    for index, hit in enumerate(h for h in hits if not h.suppressed):
        if hit.confidence < policy.min_confidence:
            continue
        item = _item(hit, policy.max_evidence_per_item, knowledge)
        previous = items.get(item.icd10)
        if previous is None:
            items[item.icd10] = item
            order[item.icd10] = index
        else:
            items[item.icd10] = _merge_same_code(previous, item, policy.max_evidence_per_item)
    kept = _drop_unspecified_siblings(list(items.values()))
    kept.sort(key=lambda d: (-d.confidence, order[d.icd10]))
    return kept[: policy.max_items]


def _item(hit: RuleHit, max_evidence: int, knowledge: InsightKnowledge) -> DifferentialItem:
    steps = list(hit.rule.next_steps)
    if hit.missing:
        labels = [value_label(name, knowledge) for name in hit.missing]
        steps.append("Not in this case, would firm this up: " + ", ".join(labels))
    return DifferentialItem(
        condition=hit.rule.condition,
        icd10=hit.rule.icd10,
        confidence=hit.confidence,
        evidence=list(hit.evidence[:max_evidence]),
        next_steps=steps,
        source=hit.rule.source,
        rule_id=hit.rule.id,
    )


def _merge_same_code(
    a: DifferentialItem, b: DifferentialItem, max_evidence: int
) -> DifferentialItem:
    best, other = (a, b) if a.confidence >= b.confidence else (b, a)
    return DifferentialItem(
        condition=best.condition,
        icd10=best.icd10,
        confidence=best.confidence,
        evidence=list(dict.fromkeys(best.evidence + other.evidence))[:max_evidence],
        next_steps=list(dict.fromkeys(best.next_steps + other.next_steps)),
        source=best.source,
        rule_id=best.rule_id,
    )


def value_label(name: str, knowledge: InsightKnowledge) -> str:
    analyte = knowledge.analytes.get(name)
    if analyte is not None:
        return analyte.label
    return {"egfr": "eGFR", "anion_gap": "anion gap (Na, Cl, HCO3)"}.get(
        name, name.replace("_", " ")
    )


def _category(code: str) -> str:
    return code.replace(".", "")[:3]


def _is_unspecified(code: str) -> bool:
    return code.partition(".")[2] == "9"


def _drop_unspecified_siblings(items: list[DifferentialItem]) -> list[DifferentialItem]:
    """E11.9 next to E11.22 says less than E11.22 alone: keep the specific code."""
    categories: dict[str, set[str]] = {}
    for item in items:
        categories.setdefault(_category(item.icd10), set()).add(item.icd10)
    return [
        item
        for item in items
        if not (_is_unspecified(item.icd10) and len(categories[_category(item.icd10)]) > 1)
    ]
