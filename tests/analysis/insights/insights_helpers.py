"""Small builders for insight tests: lab rows, radiology reports and a one-call runner."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from pathlib import Path

from medmitra_desktop.analysis.insights import (
    CaseInsights,
    DifferentialItem,
    InsightKnowledge,
    PreviousLab,
    build_insights,
    load_insight_knowledge,
)
from medmitra_desktop.analysis.insights.derived import compute_derived
from medmitra_desktop.analysis.insights.differential import RuleHit, evaluate_rules
from medmitra_desktop.analysis.insights.facts import CaseFacts, build_facts
from medmitra_desktop.analysis.labs import LabKnowledge, load_lab_knowledge
from medmitra_desktop.analysis.labs.model import LabRow
from medmitra_desktop.analysis.radiology.model import Observation, RadiologyReport

RESOURCES = Path(__file__).resolve().parents[3] / "resources"


@cache
def lab_knowledge() -> LabKnowledge:
    return load_lab_knowledge(RESOURCES)


@cache
def knowledge() -> InsightKnowledge:
    """The rules over the lab knowledge base they read, both loaded once (as Knowledge.load)."""
    return load_insight_knowledge(RESOURCES, lab_knowledge())


def lab(
    test: str,
    loinc: str | None,
    value: float | None,
    unit: str | None,
    *,
    flag: str | None = None,
    ref_low: float | None = None,
    ref_high: float | None = None,
    value_text: str | None = None,
    page: int | None = 1,
    critical: bool = False,
    flag_printed: str | None = None,
) -> LabRow:
    ref_text = None
    if ref_low is not None or ref_high is not None:
        ref_text = f"{ref_low if ref_low is not None else ''} - {ref_high or ''}".strip(" -")
    return LabRow(
        test=test,
        loinc=loinc,
        value=value,
        value_text=value_text
        if value_text is not None
        else (f"{value:g}" if value is not None else ""),
        unit=unit,
        ref_low=ref_low,
        ref_high=ref_high,
        ref_text=ref_text,
        ref_source="report" if ref_text else None,
        flag=flag,
        flag_printed=flag_printed,
        page=page,
        critical=critical,
    )


# Common rows, values in conventional units.
def hb(value: float, **kw: object) -> LabRow:
    return lab("Hemoglobin", "718-7", value, "g/dL", **kw)  # type: ignore[arg-type]


def mcv(value: float) -> LabRow:
    return lab("MCV", "787-2", value, "fL")


def rbc(value: float) -> LabRow:
    return lab("RBC", "789-8", value, "x10E6/uL")


def creatinine(value: float, unit: str = "mg/dL", **kw: object) -> LabRow:
    return lab("Creatinine", "2160-0", value, unit, **kw)  # type: ignore[arg-type]


def egfr(value: float, value_text: str | None = None) -> LabRow:
    return lab("eGFR", "33914-3", value, "mL/min/1.73m2", value_text=value_text)


def hba1c(value: float) -> LabRow:
    return lab("Hemoglobin A1c", "4548-4", value, "%")


def glucose(value: float, unit: str = "mg/dL", *, fasting: bool = False) -> LabRow:
    if fasting:
        return lab("Glucose, Fasting", "1558-6", value, unit)
    return lab("Glucose", "2345-7", value, unit)


def report(
    *observations: Observation, impression: str = "", body_part: str = "chest"
) -> RadiologyReport:
    sections = {"impression": impression} if impression else {}
    return RadiologyReport(
        modality="XR", body_part=body_part, sections=sections, observations=observations
    )


def obs(
    finding: str,
    sentence: str | None = None,
    *,
    negated: bool = False,
    uncertain: bool = False,
    historical: bool = False,
    section: str = "findings",
) -> Observation:
    return Observation(
        finding=finding,
        negated=negated,
        uncertain=uncertain,
        sentence=sentence or f"{finding.capitalize()} is seen.",
        section=section,
        page=1,
        historical=historical,
    )


def run(
    *rows: LabRow,
    age: int | None = 55,
    gender: str | None = "male",
    notes: str = "",
    radiology: Sequence[RadiologyReport] = (),
    previous: Sequence[PreviousLab] = (),
    collected_at: datetime | None = None,
    kb: InsightKnowledge | None = None,
) -> CaseInsights:
    lab_documents = [(0, list(rows))] if rows else []
    radiology_documents = [(index + 1, r) for index, r in enumerate(radiology)]
    return build_insights(
        age=age,
        gender=gender,
        notes=notes,
        lab_documents=lab_documents,
        radiology_documents=radiology_documents,
        knowledge=kb or knowledge(),
        previous_labs=previous,
        collected_at=collected_at,
    )


def codes(insights: CaseInsights) -> list[str]:
    return [item.icd10 for item in insights.differential]


def item(insights: CaseInsights, code: str) -> DifferentialItem:
    found = [d for d in insights.differential if d.icd10 == code]
    assert found, f"{code} not in {codes(insights)}"
    return found[0]


def facts_for(
    *rows: LabRow,
    age: int | None = 55,
    gender: str | None = "male",
    notes: str = "",
    radiology: Sequence[RadiologyReport] = (),
    previous: Sequence[PreviousLab] = (),
    collected_at: datetime | None = None,
) -> CaseFacts:
    facts = build_facts(
        age=age,
        gender=gender,
        notes=notes,
        lab_documents=[(0, list(rows))] if rows else [],
        radiology_documents=[(index + 1, r) for index, r in enumerate(radiology)],
        previous_labs=previous,
        collected_at=collected_at,
        knowledge=knowledge(),
    )
    compute_derived(facts, knowledge())
    return facts


def hits(*rows: LabRow, **kw: object) -> dict[str, RuleHit]:
    """Every rule that matched (before suppression and the confidence cut), by id."""
    facts = facts_for(*rows, **kw)  # type: ignore[arg-type]
    return {hit.rule.id: hit for hit in evaluate_rules(facts, knowledge())}
