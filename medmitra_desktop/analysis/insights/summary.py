"""Key findings, the ten-second summary paragraph, a one-line header and bullets."""

from __future__ import annotations

from medmitra_desktop.analysis.insights.facts import (
    ABNORMAL_FLAGS,
    CaseFacts,
    ImagingFact,
    describe_row,
    effective_flag,
)
from medmitra_desktop.analysis.insights.knowledge import InsightKnowledge
from medmitra_desktop.analysis.insights.model import Alert, DerivedValue, DifferentialItem
from medmitra_desktop.analysis.insights.rules import not_about_patient_now
from medmitra_desktop.analysis.labs.model import LabRow
from medmitra_desktop.analysis.radiology.model import RadiologyReport

_MODALITIES = {
    "XR": "X-ray", "CR": "X-ray", "DX": "X-ray", "CT": "CT", "MR": "MRI", "MRI": "MRI",
    "US": "ultrasound", "NM": "nuclear medicine scan", "MG": "mammogram",
}  # fmt: skip
_IMPRESSION_MAX = 400


def imaging_phrase(report: RadiologyReport) -> str:
    """'chest X-ray', 'CT chest', 'imaging'."""
    kind = _MODALITIES.get((report.modality or "").strip().upper())
    part = (report.body_part or "").strip().lower()
    if kind == "X-ray":
        return f"{part} X-ray" if part else "X-ray"
    if kind:
        return f"{kind} {part}".strip()
    return f"{part} imaging" if part else "imaging"


def positive_findings(facts: CaseFacts, doc: int | None = None) -> list[ImagingFact]:
    """Positive (not negated, not historical) observations, one per finding and document."""
    chosen: dict[tuple[int, str], ImagingFact] = {}
    for item in facts.imaging:
        obs = item.observation
        if not_about_patient_now(obs) or (doc is not None and item.doc != doc):
            continue
        key = (item.doc, obs.finding.strip().lower())
        current = chosen.get(key)
        if current is None or (current.observation.uncertain and not obs.uncertain):
            chosen[key] = item
    return list(chosen.values())


def finding_phrase(item: ImagingFact) -> str:
    finding = item.observation.finding.strip().lower()
    text = f"possible {finding}" if item.observation.uncertain else finding
    return f"{text[:1].upper()}{text[1:]} on {imaging_phrase(item.report)}"


def critical_rows(facts: CaseFacts) -> list[tuple[int, LabRow]]:
    return [(d, r) for d, r in facts.lab_rows if effective_flag(r) in ("LL", "HH") or r.critical]


def abnormal_rows(facts: CaseFacts) -> list[tuple[int, LabRow]]:
    return [
        (d, r)
        for d, r in facts.lab_rows
        if effective_flag(r) in ABNORMAL_FLAGS
        and not (effective_flag(r) in ("LL", "HH") or r.critical)
    ]


def key_findings(
    facts: CaseFacts,
    derived: list[DerivedValue],
    differential: list[DifferentialItem],
    knowledge: InsightKnowledge,
) -> list[str]:
    critical = [describe_row(r, flag_style="word") for _, r in critical_rows(facts)]
    imaging = [finding_phrase(item) for item in positive_findings(facts)]
    computed = _notable_derived(derived, differential, facts)
    room = max(0, knowledge.policy.key_findings_max - len(critical) - len(imaging) - len(computed))
    abnormal = [describe_row(r, flag_style="word") for _, r in abnormal_rows(facts)][:room]
    return list(dict.fromkeys(critical + abnormal + computed + imaging))


def _notable_derived(
    derived: list[DerivedValue], differential: list[DifferentialItem], facts: CaseFacts
) -> list[str]:
    """A computed eGFR standing in for a printed one, and any value the differential cites."""
    cited = [e for item in differential for e in item.evidence]
    printed_egfr = any(f.value is not None for f in facts.labs.get("egfr_printed", []))
    notes = []
    for value in derived:
        text = f"{value.name} {value.value:g}{' ' + value.unit if value.unit else ''}"
        if value.name.startswith("eGFR") and not printed_egfr:
            notes.append(f"{text} (computed)")
        elif any(e.startswith(text) for e in cited):
            notes.append(text)
    return notes


def demographics(facts: CaseFacts) -> str:
    sex = facts.sex if facts.sex != "unknown" else None
    if facts.age is not None and sex:
        return f"{facts.age}-year-old {sex}."
    if facts.age is not None:
        return f"{facts.age}-year-old patient (sex not given)."
    if sex:
        return f"{sex.capitalize()}, age not given."
    return "Age and sex not given."


def _short_demographics(facts: CaseFacts) -> str:
    parts = [
        f"{facts.age} y" if facts.age is not None else "",
        "" if facts.sex == "unknown" else facts.sex,
    ]
    return " ".join(p for p in parts if p) or "Patient"


def short_condition(condition: str) -> str:
    return condition.split(" (")[0]


def impression_text(report: RadiologyReport) -> str:
    sections = {k.lower(): v for k, v in report.sections.items()}
    text = " ".join((sections.get("impression") or "").split())
    if len(text) <= _IMPRESSION_MAX:
        return text
    # Cut at a sentence end so the quote stays verbatim as far as it goes.
    cut = text[:_IMPRESSION_MAX]
    end = max(cut.rfind(". "), cut.rfind("; "))
    return (cut[: end + 1] if end > 0 else cut).rstrip() + " …"


def summary_paragraph(
    facts: CaseFacts,
    differential: list[DifferentialItem],
    alerts: list[Alert],
    knowledge: InsightKnowledge,
) -> str:
    policy = knowledge.policy
    parts = [demographics(facts)]
    labs = _ranked_abnormal_labs(facts, differential)
    if labs:
        shown = labs[: policy.summary_max_labs]
        more = f"; +{len(labs) - len(shown)} more" if len(labs) > len(shown) else ""
        parts.append("Abnormal labs: " + "; ".join(shown) + more + ".")
    elif facts.lab_rows:
        parts.append(f"Labs: no abnormal results flagged ({len(facts.lab_rows)} results).")
    for doc, report in facts.radiology:
        phrase = imaging_phrase(report)
        impression = impression_text(report)
        if impression:
            parts.append(f'{phrase[:1].upper()}{phrase[1:]} impression: "{impression}"')
            continue
        positives = [item.observation.finding for item in positive_findings(facts, doc)]
        found = ", ".join(positives) if positives else "no positive findings reported"
        parts.append(f"{phrase[:1].upper()}{phrase[1:]}: {found}.")
    if differential:
        top = differential[: policy.summary_max_considerations]
        parts.append(
            "Considerations: " + "; ".join(f"{d.condition} ({d.icd10})" for d in top) + "."
        )
    critical = [a for a in alerts if a.severity == "critical"]
    if critical:
        parts.append(
            f"Critical ({len(critical)}): " + "; ".join(a.message for a in critical[:3]) + "."
        )
    return " ".join(parts)


def _ranked_abnormal_labs(facts: CaseFacts, differential: list[DifferentialItem]) -> list[str]:
    """Critical rows first, then rows the differential rests on, then the rest."""
    cited = " ".join(e for d in differential for e in d.evidence)
    critical = [describe_row(r, flag_style="word") for _, r in critical_rows(facts)]
    used, other = [], []
    for _, row in abnormal_rows(facts):
        text = describe_row(row, flag_style="word")
        (used if describe_row(row) in cited else other).append(text)
    return list(dict.fromkeys(critical + used + other))


def one_line(facts: CaseFacts, differential: list[DifferentialItem], alerts: list[Alert]) -> str:
    head = _short_demographics(facts)
    conditions = [short_condition(d.condition) for d in differential[:3]]
    text = f"{head}: " + ("; ".join(conditions) if conditions else "no rule-based considerations")
    critical = sum(1 for a in alerts if a.severity == "critical")
    return text + (f"; {critical} critical value{'s' if critical != 1 else ''}" if critical else "")


def bullets(
    differential: list[DifferentialItem], alerts: list[Alert], knowledge: InsightKnowledge
) -> list[str]:
    lines = [f"{a.severity.capitalize()}: {a.message}" for a in alerts if a.severity != "info"][:4]
    for item in differential:
        verb = (
            "Consistent with"
            if item.confidence >= knowledge.policy.consistent_with_at
            else "Consider"
        )
        lines.append(f"{verb} {item.condition} ({item.icd10}), confidence {item.confidence:.2f}")
    return lines
