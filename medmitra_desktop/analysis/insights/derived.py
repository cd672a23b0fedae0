"""Values computed from lab rows: eGFR (CKD-EPI 2021), anion gap, corrected calcium, LDL,
Mentzer index, R ratio and creatinine change. Parameters come from resources/insights/derived.json.

Inputs are combined within one document where possible: two reports of the same case may be
weeks apart, and mixing their sodium and chloride would invent a gap nobody measured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from medmitra_desktop.analysis.insights.facts import CaseFacts, Fact
from medmitra_desktop.analysis.insights.knowledge import InsightKnowledge
from medmitra_desktop.analysis.insights.model import DerivedValue
from medmitra_desktop.analysis.insights.vocabulary import DERIVED_UNITS, EGFR_UNIT


def egfr_ckd_epi_2021(
    creatinine_mg_dl: float, age: int, sex: str, params: Mapping[str, Any]
) -> float | None:
    """Race-free CKD-EPI 2021 creatinine equation; None outside its domain (child, sex unknown)."""
    if sex not in ("male", "female") or age < float(params["min_age"]):
        return None
    if not math.isfinite(creatinine_mg_dl) or creatinine_mg_dl <= 0:
        return None
    ratio = creatinine_mg_dl / float(params["kappa"][sex])
    egfr = (
        float(params["constant"])
        * min(ratio, 1.0) ** float(params["alpha"][sex])
        * max(ratio, 1.0) ** float(params["exponent_above_kappa"])
        * float(params["age_base"]) ** age
        * (float(params["female_factor"]) if sex == "female" else 1.0)
    )
    return egfr if math.isfinite(egfr) else None


def kdigo_stage(egfr: float, params: Mapping[str, Any]) -> str:
    for stage in params["stages"]:
        if egfr >= float(stage["min"]):
            return str(stage["stage"])
    return str(params["stages"][-1]["stage"])


def compute_derived(facts: CaseFacts, knowledge: InsightKnowledge) -> list[DerivedValue]:
    """Fill facts.derived (for rules) and return the values worth showing."""
    params = knowledge.derived_params
    shown: list[DerivedValue] = []
    _egfr(facts, params, shown)
    _anion_gap(facts, params, shown)
    _calcium(facts, params, shown)
    _lipids(facts, params, shown)
    _mentzer(facts, params, shown)
    _r_ratio(facts, params, shown)
    _creatinine_change(facts, params, shown)
    return shown


# ------------------------------------------------------------------------------------------


def _usable(fact: Fact) -> bool:
    return fact.value is not None and fact.censor is None


def _groups(facts: CaseFacts, names: tuple[str, ...]) -> list[dict[str, Fact]]:
    """One set of inputs per document that has them all; else one set across documents."""
    docs = sorted({f.doc for n in names for f in facts.labs.get(n, []) if f.doc is not None})
    groups = []
    for doc in docs:
        picked = {}
        for name in names:
            match = next((f for f in facts.labs.get(name, []) if f.doc == doc and _usable(f)), None)
            if match is None:
                break
            picked[name] = match
        else:
            groups.append(picked)
    if groups:
        return groups
    firsts = {n: next((f for f in facts.labs.get(n, []) if _usable(f)), None) for n in names}
    if all(firsts.values()):
        return [{n: f for n, f in firsts.items() if f is not None}]
    return []


def _add(
    facts: CaseFacts,
    shown: list[DerivedValue] | None,
    name: str,
    label: str,
    value: float,
    formula: str,
    inputs: list[Fact],
    *,
    digits: int = 1,
    extra: str = "",
    censor: str | None = None,
) -> Fact | None:
    if not math.isfinite(value):
        return None  # absurd inputs (OCR noise) must not turn into an absurd derived value
    value = round(value, digits) if digits else float(round(value))
    unit = DERIVED_UNITS[name]
    sources = [f.evidence for f in inputs] + ([extra] if extra else [])
    shown_value = f"{value:g}" if digits else f"{value:.0f}"
    bound = censor or ""
    evidence = f"{label} {bound}{shown_value}{' ' + unit if unit else ''} ({'; '.join(sources)})"
    fact = Fact(
        name=name,
        value=value,
        unit=unit,
        evidence=evidence,
        censor=censor,
        weight=min((f.weight for f in inputs), default=1.0),
        doc=inputs[0].doc if inputs else None,
    )
    facts.derived.setdefault(name, []).append(fact)
    if shown is not None:
        shown.append(DerivedValue(label, value, unit, formula, sources))
    return fact


def egfr_formula_for(spec: Mapping[str, Any], sex: str | None) -> str:
    """The equation with this patient's constants, so the note shows what was computed
    (the general form with a "[female]" term reads as if it applied to everyone)."""
    if sex not in spec["kappa"]:
        return str(spec["formula"])
    kappa, alpha = spec["kappa"][sex], spec["alpha"][sex]
    text = (f"{spec['constant']} x min(Scr/{kappa},1)^{alpha} x "
            f"max(Scr/{kappa},1)^{spec['exponent_above_kappa']} x {spec['age_base']}^age")
    return text + (f" x {spec['female_factor']}" if sex == "female" else "")


def _egfr(facts: CaseFacts, params: Mapping[str, Any], shown: list[DerivedValue]) -> None:
    spec = params["egfr_ckd_epi_2021"]
    computed: list[Fact] = []
    printed = [f for f in facts.labs.get("egfr_printed", []) if f.value is not None]
    for creatinine in facts.labs.get("creatinine", []):
        if creatinine.value is None or facts.age is None:
            continue
        egfr = egfr_ckd_epi_2021(creatinine.value, facts.age, facts.sex, spec)
        if egfr is None:
            continue
        # A creatinine printed as "<0.5" bounds the eGFR from the other side.
        censor = {"<": ">", ">": "<"}.get(creatinine.censor or "")
        fact = _add(
            facts,
            shown,
            "egfr_ckd_epi_2021",
            "eGFR (CKD-EPI 2021)",
            egfr,
            egfr_formula_for(spec, facts.sex),
            [creatinine],
            digits=0,
            extra=f"age {facts.age}, {facts.sex}",
            censor=censor,
        )
        if fact is not None:
            computed.append(fact)
    chosen = printed or computed
    facts.derived["egfr"] = [replace(f, name="egfr") for f in chosen]
    _egfr_previous(facts, spec, params["aki_kdigo"])


def _egfr_previous(facts: CaseFacts, spec: Mapping[str, Any], aki: Mapping[str, Any]) -> None:
    if facts.collected_at is None:
        return
    min_age = timedelta(days=int(aki["chronic_min_days"]))
    candidates: list[Fact] = [
        f for f in facts.previous.get("egfr_printed", []) if f.value is not None and f.collected
    ]
    if facts.age is not None:
        for creatinine in facts.previous.get("creatinine", []):
            if creatinine.value is None or creatinine.collected is None:
                continue
            egfr = egfr_ckd_epi_2021(creatinine.value, facts.age, facts.sex, spec)
            if egfr is not None:
                candidates.append(
                    replace(
                        creatinine,
                        value=round(egfr),
                        evidence=f"eGFR (CKD-EPI 2021) {round(egfr)} {EGFR_UNIT} "
                        f"from {creatinine.evidence}",
                    )
                )
    for fact in candidates:
        if fact.collected is not None and facts.collected_at - fact.collected >= min_age:
            facts.derived.setdefault("egfr_previous_90d", []).append(
                replace(fact, name="egfr_previous_90d", unit=EGFR_UNIT)
            )


def _anion_gap(facts: CaseFacts, params: Mapping[str, Any], shown: list[DerivedValue]) -> None:
    spec = params["anion_gap"]
    for group in _groups(facts, ("sodium", "chloride", "bicarbonate")):
        na, cl, hco3 = group["sodium"], group["chloride"], group["bicarbonate"]
        gap = _num(na) - (_num(cl) + _num(hco3))
        _add(facts, shown, "anion_gap", "Anion gap", gap, str(spec["formula"]), [na, cl, hco3])
    if "anion_gap" not in facts.derived:
        # Some reports print the gap without its inputs; use theirs rather than none.
        printed = [f for f in facts.labs.get("anion_gap_printed", []) if _usable(f)]
        facts.derived["anion_gap"] = [replace(f, name="anion_gap") for f in printed]


def _calcium(facts: CaseFacts, params: Mapping[str, Any], shown: list[DerivedValue]) -> None:
    spec = params["corrected_calcium"]
    corrected = []
    for group in _groups(facts, ("calcium", "albumin")):
        ca, alb = group["calcium"], group["albumin"]
        if _num(alb) >= float(spec["apply_below_albumin_g_dl"]):
            continue  # correcting downward for high-normal albumin would invent hypocalcaemia
        value = _num(ca) + float(spec["factor"]) * (float(spec["normal_albumin_g_dl"]) - _num(alb))
        fact = _add(
            facts,
            shown,
            "corrected_calcium",
            "Corrected calcium",
            value,
            str(spec["formula"]),
            [ca, alb],
        )
        if fact is not None:
            corrected.append(fact)
    if corrected:
        facts.derived["calcium_adjusted"] = [replace(f, name="calcium_adjusted") for f in corrected]
    else:
        facts.derived["calcium_adjusted"] = [
            replace(f, name="calcium_adjusted", evidence=f"{f.evidence} (albumin not available)")
            for f in facts.labs.get("calcium", [])
            if f.value is not None
        ]


def _lipids(facts: CaseFacts, params: Mapping[str, Any], shown: list[DerivedValue]) -> None:
    friedewald = params["ldl_friedewald"]
    measured_docs = {f.doc for f in facts.labs.get("ldl", []) if f.value is not None}
    for group in _groups(facts, ("cholesterol_total", "hdl")):
        tc, hdl = group["cholesterol_total"], group["hdl"]
        _add(
            facts,
            shown,
            "non_hdl",
            "Non-HDL cholesterol",
            _num(tc) - _num(hdl),
            str(params["non_hdl"]["formula"]),
            [tc, hdl],
            digits=0,
        )
    for group in _groups(facts, ("cholesterol_total", "hdl", "triglycerides")):
        tc, hdl, tg = group["cholesterol_total"], group["hdl"], group["triglycerides"]
        # Friedewald assumes VLDL = TG/5, which fails at high TG; a measured LDL always wins.
        if tc.doc in measured_docs or _num(tg) >= float(friedewald["max_tg_mg_dl"]):
            continue
        ldl = _num(tc) - _num(hdl) - _num(tg) / float(friedewald["tg_divisor"])
        _add(
            facts,
            shown,
            "ldl_calculated",
            "LDL cholesterol (Friedewald)",
            ldl,
            str(friedewald["formula"]),
            [tc, hdl, tg],
            digits=0,
        )


def _mentzer(facts: CaseFacts, params: Mapping[str, Any], shown: list[DerivedValue]) -> None:
    spec = params["mentzer_index"]
    for group in _groups(facts, ("mcv", "rbc")):
        mcv, rbc = group["mcv"], group["rbc"]
        if _num(rbc) <= 0:
            continue
        # The index only means something in microcytosis; elsewhere it is noise on screen.
        show = shown if _num(mcv) < 80 else None
        _add(
            facts,
            show,
            "mentzer_index",
            "Mentzer index",
            _num(mcv) / _num(rbc),
            str(spec["formula"]),
            [mcv, rbc],
        )


def _r_ratio(facts: CaseFacts, params: Mapping[str, Any], shown: list[DerivedValue]) -> None:
    spec = params["r_ratio"]
    docs = sorted({f.doc for f in facts.labs.get("alt", []) if f.doc is not None})
    for doc in docs or [None]:
        alt = _first(facts.labs.get("alt", []), doc, lambda f: f.uln_ratio is not None)
        alp = _first(facts.labs.get("alp", []), doc, lambda f: f.uln_ratio is not None)
        if alt is None or alp is None or not alp.uln_ratio or alt.uln_ratio is None:
            continue
        if alt.uln_ratio <= 1 and alp.uln_ratio <= 1:
            continue  # the pattern classifies injury; with normal enzymes there is none
        _add(
            facts,
            shown,
            "r_ratio",
            "R ratio",
            alt.uln_ratio / alp.uln_ratio,
            str(spec["formula"]),
            [alt, alp],
        )


def _first(facts: list[Fact], doc: int | None, ok: Any) -> Fact | None:
    same = [f for f in facts if f.doc == doc and ok(f)]
    return same[0] if same else next((f for f in facts if ok(f)), None)


def _creatinine_change(
    facts: CaseFacts, params: Mapping[str, Any], shown: list[DerivedValue]
) -> None:
    spec = params["aki_kdigo"]
    window_abs = timedelta(hours=float(spec["absolute_window_hours"]))
    window_rel = timedelta(days=float(spec["relative_window_days"]))
    current = [f for f in facts.labs.get("creatinine", []) if _usable(f)]
    baseline = [f for f in facts.previous.get("creatinine", []) if _usable(f) and _num(f) > 0]
    for now in current:
        for before in baseline:
            ratio = _num(now) / _num(before)
            rise = _num(now) - _num(before)
            if facts.collected_at is None or before.collected is None:
                _add(
                    facts,
                    shown,
                    "creatinine_ratio_undated",
                    "Creatinine ratio (timing unknown)",
                    ratio,
                    "current / previous creatinine",
                    [now, before],
                    digits=2,
                )
                continue
            elapsed = facts.collected_at - before.collected
            if elapsed <= timedelta(0):
                continue
            hours = f"{elapsed.total_seconds() / 3600:.0f} h apart"
            if elapsed <= window_abs:
                _add(
                    facts,
                    shown,
                    "creatinine_rise_48h",
                    "Creatinine rise within 48 h",
                    rise,
                    "current - previous creatinine",
                    [now, before],
                    digits=2,
                    extra=hours,
                )
            if elapsed <= window_rel:
                _add(
                    facts,
                    shown,
                    "creatinine_ratio_7d",
                    "Creatinine ratio within 7 days",
                    ratio,
                    "current / previous creatinine",
                    [now, before],
                    digits=2,
                    extra=hours,
                )


def _num(fact: Fact) -> float:
    return fact.value if fact.value is not None else math.nan
