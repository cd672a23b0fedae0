"""Alerts: critical values (the report's own marking first, app defaults otherwise), warnings
attached to rules, and notes on what could not be assessed.

The app-default critical limits of lab tests are the lab knowledge base's (LabTest.critical_low
/ critical_high); critical_values.json adds limits on derived values and lab warnings."""

from __future__ import annotations

from medmitra_desktop.analysis.insights.derived import kdigo_stage
from medmitra_desktop.analysis.insights.differential import RuleHit
from medmitra_desktop.analysis.insights.facts import (
    CaseFacts,
    Fact,
    describe_row,
    effective_flag,
    value_in_test_unit,
)
from medmitra_desktop.analysis.insights.knowledge import InsightKnowledge
from medmitra_desktop.analysis.insights.model import Alert
from medmitra_desktop.analysis.labs.model import LabRow

_ORDER = {"critical": 0, "warning": 1, "info": 2}
_DERIVED_LABELS = {
    "corrected_calcium": "Corrected calcium",
    "egfr": "eGFR",
    "anion_gap": "Anion gap",
}


def build_alerts(facts: CaseFacts, knowledge: InsightKnowledge, hits: list[RuleHit]) -> list[Alert]:
    alerts: list[Alert] = []
    alerts.extend(_lab_alerts(facts, knowledge))
    alerts.extend(_derived_alerts(facts, knowledge))
    for hit in hits:
        if hit.rule.alert is not None:
            alerts.append(
                Alert(hit.rule.alert.severity, hit.rule.alert.message, list(hit.evidence[:4]))
            )
    alerts.extend(_kidney_notes(facts, knowledge))
    unique: dict[tuple[str, str], Alert] = {}
    for alert in alerts:
        unique.setdefault((alert.severity, alert.message), alert)
    return sorted(unique.values(), key=lambda a: _ORDER[a.severity])  # stable sort


def _lab_alerts(facts: CaseFacts, knowledge: InsightKnowledge) -> list[Alert]:
    alerts = []
    by_row: dict[int, list[Fact]] = {}
    for fact_list in facts.labs.values():
        for fact in fact_list:
            if fact.row is not None:
                by_row.setdefault(id(fact.row), []).append(fact)
    for doc, row in facts.lab_rows:
        evidence = [f"{_place(doc, row)}: {describe_row(row)}"]
        flag = effective_flag(row)
        printed = (row.flag_printed or "").strip().upper() in knowledge.report_critical_markers
        if printed:
            alerts.append(Alert("critical", f"{describe_row(row)}: critical per report", evidence))
            continue
        if flag in ("LL", "HH") or row.critical:
            alerts.append(
                Alert("critical", f"{describe_row(row)}: critical per app default", evidence)
            )
            continue
        for fact in by_row.get(id(row), []):
            alert = _default_limit_alert(fact, row, knowledge, evidence)
            if alert is not None:
                alerts.append(alert)
                break
    return alerts


def _default_limit_alert(
    fact: Fact, row: LabRow, knowledge: InsightKnowledge, evidence: list[str]
) -> Alert | None:
    if fact.name == "troponin" and fact.flag in ("H", "HH"):
        return Alert(
            "critical",
            f"{describe_row(row)}: critical per app default (troponin above the assay limit)",
            evidence,
        )
    breach = _lab_critical_breach(fact, knowledge)
    if breach:
        message = f"{describe_row(row)}: critical per app default ({breach})"
        return Alert("critical", message, evidence)
    for limit in knowledge.lab_warnings:  # never critical: those are the lab test's own limits
        if limit.name != fact.name:
            continue
        breach = _breach(fact.value, fact.unit, fact.censor, limit.low, limit.high)
        if breach:
            message = f"{describe_row(row)}: markedly abnormal per app default ({breach})"
            return Alert(limit.severity, message, evidence)
    return None


def _lab_critical_breach(fact: Fact, knowledge: InsightKnowledge) -> str:
    """The lab knowledge base's critical limits of the row's test, in that test's unit."""
    test = fact.test
    if test is None or fact.value is None:
        return ""
    if test.critical_low is None and test.critical_high is None:
        return ""
    value = value_in_test_unit(fact.value, knowledge.analytes[fact.name], test)
    unit = (knowledge.labs.unit_display(test.unit) or test.unit or "") if test.unit else ""
    return _breach(value, unit, fact.censor, test.critical_low, test.critical_high)


def _breach(
    value: float | None, unit: str, censor: str | None, low: float | None, high: float | None
) -> str:
    if value is None:
        return ""
    shown = f" {unit}" if unit else ""
    low_ok = censor != ">"  # "> 5" is not known to be below anything
    high_ok = censor != "<"
    if low is not None and low_ok and value < low:
        return f"< {low:g}{shown}"
    if high is not None and high_ok and value > high:
        return f"> {high:g}{shown}"
    return ""


def _derived_alerts(facts: CaseFacts, knowledge: InsightKnowledge) -> list[Alert]:
    alerts = []
    for limit in knowledge.critical_derived:
        for fact in facts.derived.get(limit.name, []):
            breach = _breach(fact.value, fact.unit, fact.censor, limit.low, limit.high)
            if not breach:
                continue
            label = _DERIVED_LABELS.get(limit.name, limit.name)
            word = "critical" if limit.severity == "critical" else "warning"
            bound = fact.censor or ""
            alerts.append(
                Alert(
                    limit.severity,
                    f"{label} {bound}{fact.value:g} {fact.unit}: {word} per app default ({breach})",
                    [fact.evidence],
                )
            )
    return alerts


def _kidney_notes(facts: CaseFacts, knowledge: InsightKnowledge) -> list[Alert]:
    notes = []
    creatinine = [f for f in facts.labs.get("creatinine", []) if f.value is not None]
    egfr = facts.derived.get("egfr", [])
    concerning = any(f.flag in ("H", "HH") for f in creatinine) or any(
        f.value is not None and f.value < 60 and f.censor != ">" for f in egfr
    )
    has_previous = any(f.value is not None for f in facts.previous.get("creatinine", []))
    if creatinine and concerning and not has_previous:
        notes.append(
            Alert(
                "info",
                "AKI cannot be assessed: no previous creatinine in this case "
                "(KDIGO needs a baseline within 7 days)",
                [creatinine[0].evidence],
            )
        )
    printed = [f for f in facts.labs.get("egfr_printed", []) if f.value is not None]
    computed = facts.derived.get("egfr_ckd_epi_2021", [])
    stages = knowledge.derived_params["kdigo_g_stages"]
    for p in printed:
        for c in computed:
            if c.doc != p.doc or p.censor or c.value is None or p.value is None:
                continue
            ps, cs = kdigo_stage(p.value, stages), kdigo_stage(c.value, stages)
            if ps != cs:
                notes.append(
                    Alert(
                        "info",
                        f"Printed eGFR {p.value:g} ({ps}) and CKD-EPI 2021 eGFR {c.value:g} ({cs}) "
                        "disagree; staging uses the printed value",
                        [p.evidence, c.evidence],
                    )
                )
    if creatinine and not printed and not computed:
        notes.append(
            Alert(
                "info",
                "eGFR not computed: CKD-EPI 2021 needs adult age and sex (male or female)",
                [creatinine[0].evidence],
            )
        )
    return notes


def _place(doc: int, row: LabRow) -> str:
    return f"doc {doc}, page {row.page}" if row.page is not None else f"doc {doc}"
