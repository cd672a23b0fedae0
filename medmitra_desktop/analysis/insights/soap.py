"""The SOAP draft: S as typed, O from flagged rows and positive imaging, A from the
differential ("consistent with / consider"), P from the next steps attached to each rule."""

from __future__ import annotations

from datetime import datetime

from medmitra_desktop.analysis.insights.facts import CaseFacts, analytes_for_row, describe_row
from medmitra_desktop.analysis.insights.knowledge import InsightKnowledge
from medmitra_desktop.analysis.insights.model import Alert, DerivedValue, DifferentialItem, Soap
from medmitra_desktop.analysis.insights.summary import (
    abnormal_rows,
    critical_rows,
    imaging_phrase,
    impression_text,
    positive_findings,
)
from medmitra_desktop.analysis.labs.model import LabRow

NO_HISTORY = "No history entered."
DRAFT_NOTE = "Rule-based draft from the documents in this case; for clinician review."


def build_soap(
    facts: CaseFacts,
    derived: list[DerivedValue],
    differential: list[DifferentialItem],
    alerts: list[Alert],
    knowledge: InsightKnowledge,
) -> Soap:
    return Soap(
        subjective=facts.notes.strip() or NO_HISTORY,
        objective=_objective(facts, derived, differential, knowledge),
        assessment=_assessment(differential, knowledge),
        plan=_plan(differential, alerts),
    )


def _objective(
    facts: CaseFacts,
    derived: list[DerivedValue],
    differential: list[DifferentialItem],
    knowledge: InsightKnowledge,
) -> str:
    lines: list[str] = []
    flagged = critical_rows(facts) + abnormal_rows(facts)
    # A row a rule relied on belongs here even when the report gave it no flag (no interval).
    cited = {e for d in differential for e in d.evidence}
    flagged += [
        (doc, row)
        for doc, row in facts.lab_rows
        if (doc, row) not in flagged and any(describe_row(row) in e for e in cited)
    ]
    if flagged:
        lines.append("Laboratory (abnormal, critical, or cited below):")
        for doc, row in flagged:
            ref = f", ref {row.ref_text}" if row.ref_text else ""
            page = f", page {row.page}" if row.page is not None else ""
            trend = _trend(row, facts, knowledge)
            lines.append(f"- {describe_row(row)}{ref}{trend} [doc {doc}{page}]")
    elif facts.lab_rows:
        lines.append(f"Laboratory: no abnormal results flagged ({len(facts.lab_rows)} results).")
    if derived:
        lines.append("Computed:")
        for value in derived:
            unit = f" {value.unit}" if value.unit else ""
            lines.append(f"- {value.name} {value.value:g}{unit} ({value.formula})")
    for doc, report in facts.radiology:
        phrase = imaging_phrase(report)
        lines.append(f"Imaging, {phrase} [doc {doc}]:")
        positives = positive_findings(facts, doc)
        if positives:
            for item in positives:
                obs = item.observation
                label = f"possible {obs.finding}" if obs.uncertain else obs.finding
                # Quote the sentence rather than rephrase it, so a negation is never inverted.
                lines.append(f'- {label}: "{obs.sentence.strip()}"')
        else:
            lines.append("- no positive findings reported")
        impression = impression_text(report)
        if impression:
            lines.append(f'- impression: "{impression}"')
    return "\n".join(lines) if lines else "No results in this case."


def _trend(row: LabRow, facts: CaseFacts, knowledge: InsightKnowledge) -> str:
    """', previous 1.1 mg/dL on 2025-01-02' from the latest earlier result of the same test."""
    earlier = [
        fact
        for key in analytes_for_row(row, knowledge)
        for fact in facts.previous.get(key, [])
        if fact.row is not None
    ]
    if not earlier:
        return ""
    latest = max(earlier, key=lambda f: f.collected or datetime.min)
    previous_row = latest.row
    if previous_row is None:
        return ""
    when = f" on {latest.collected:%Y-%m-%d}" if latest.collected else ""
    unit = f" {previous_row.unit}" if previous_row.unit else ""
    return f", previous {previous_row.value_text}{unit}{when}"


def _assessment(differential: list[DifferentialItem], knowledge: InsightKnowledge) -> str:
    if not differential:
        return (
            "No rule-based considerations from the available results; clinical assessment "
            "required.\n" + DRAFT_NOTE
        )
    lines = []
    for number, item in enumerate(differential, start=1):
        verb = (
            "Consistent with"
            if item.confidence >= knowledge.policy.consistent_with_at
            else "Consider"
        )
        evidence = "; ".join(item.evidence[:3])
        lines.append(
            f"{number}. {verb} {_lower_first(item.condition)} ({item.icd10}), "
            f"confidence {item.confidence:.2f}. Evidence: {evidence}"
        )
    lines.append(DRAFT_NOTE)
    return "\n".join(lines)


def _plan(differential: list[DifferentialItem], alerts: list[Alert]) -> str:
    lines = []
    urgent = [a.message for a in alerts if a.severity in ("critical", "warning")]
    if urgent:
        lines.append("- Act on: " + "; ".join(urgent))
    for item in differential:
        lines.append(f"- {item.condition}: " + "; ".join(item.next_steps))
    return "\n".join(lines) if lines else "- Review results clinically; no rule-based follow-up."


def _lower_first(text: str) -> str:
    # Keep acronyms and proper nouns ("CKD", "Type 2"...) as they are.
    first = text.split(" ", 1)[0]
    return (
        text if first.isupper() or any(c.isdigit() for c in first) else text[:1].lower() + text[1:]
    )
