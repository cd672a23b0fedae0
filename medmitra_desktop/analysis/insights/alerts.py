"""Alerts: critical values (the report's own marking first, app defaults otherwise), warnings
attached to rules, and notes on what could not be assessed."""

from __future__ import annotations

from medmitra_desktop.analysis.insights.derived import kdigo_stage
from medmitra_desktop.analysis.insights.differential import RuleHit
from medmitra_desktop.analysis.insights.facts import CaseFacts, Fact, describe_row, effective_flag
from medmitra_desktop.analysis.insights.knowledge import CriticalLimit, InsightKnowledge
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
    for limit in knowledge.critical_labs:
        if limit.name != fact.name:
            continue
        breach = _breach(fact, limit)
        if breach:
            word = "critical" if limit.severity == "critical" else "markedly abnormal"
            return Alert(
                limit.severity,
                f"{describe_row(row)}: {word} per app default ({breach})",
                evidence,
            )
    return None


def _breach(fact: Fact, limit: CriticalLimit) -> str:
    if fact.value is None:
        return ""
    unit = f" {fact.unit}" if fact.unit else ""
    low_ok = fact.censor != ">"  # "> 5" is not known to be below anything
    high_ok = fact.censor != "<"
    if limit.low is not None and low_ok and fact.value < limit.low:
        return f"< {limit.low:g}{unit}"
    if limit.high is not None and high_ok and fact.value > limit.high:
        return f"> {limit.high:g}{unit}"
    return ""


def _derived_alerts(facts: CaseFacts, knowledge: InsightKnowledge) -> list[Alert]:
    alerts = []
    for limit in knowledge.critical_derived:
        for fact in facts.derived.get(limit.name, []):
            breach = _breach(fact, limit)
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
