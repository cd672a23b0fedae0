"""build_insights: one case's documents and notes in, summary / alerts / SOAP / differential out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from medmitra_desktop.analysis.insights.alerts import build_alerts
from medmitra_desktop.analysis.insights.derived import compute_derived
from medmitra_desktop.analysis.insights.differential import build_differential, evaluate_rules
from medmitra_desktop.analysis.insights.facts import build_facts
from medmitra_desktop.analysis.insights.knowledge import InsightKnowledge
from medmitra_desktop.analysis.insights.model import CaseInsights, PreviousLab
from medmitra_desktop.analysis.insights.soap import build_soap
from medmitra_desktop.analysis.insights.summary import (
    bullets,
    key_findings,
    one_line,
    summary_paragraph,
)
from medmitra_desktop.analysis.labs.model import LabRow
from medmitra_desktop.analysis.radiology.model import RadiologyReport


def build_insights(
    *,
    age: int | None,
    gender: str | None,
    notes: str,
    lab_documents: Sequence[tuple[int, Sequence[LabRow]]],
    radiology_documents: Sequence[tuple[int, RadiologyReport]],
    knowledge: InsightKnowledge,
    previous_labs: Sequence[PreviousLab] = (),
    collected_at: datetime | date | None = None,
) -> CaseInsights:
    """Case-level insights over all documents.

    The int in each document pair is the document's index in the case, used in evidence
    ("doc 0, page 1: Hemoglobin 10.2 g/dL (L)"). `collected_at` is when the current labs were
    taken; with dated `previous_labs` it lets AKI (48 h / 7 day windows) and CKD chronicity
    (> 90 days) be assessed. Without it a creatinine rise is reported with timing unknown.
    """
    facts = build_facts(
        age=age,
        gender=gender,
        notes=notes,
        lab_documents=lab_documents,
        radiology_documents=radiology_documents,
        previous_labs=previous_labs,
        collected_at=collected_at,
        knowledge=knowledge,
    )
    derived = compute_derived(facts, knowledge)
    hits = evaluate_rules(facts, knowledge)
    differential = build_differential(hits, knowledge)
    alerts = build_alerts(facts, knowledge, hits)
    return CaseInsights(
        summary=summary_paragraph(facts, differential, alerts, knowledge),
        key_findings=key_findings(facts, derived, differential, knowledge),
        alerts=alerts,
        soap=build_soap(facts, derived, differential, alerts, knowledge),
        differential=differential,
        derived=derived,
        one_line=one_line(facts, differential, alerts),
        bullets=bullets(differential, alerts, knowledge),
    )
