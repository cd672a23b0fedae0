"""build_insights end to end: contract shape, evidence, summary, SOAP, alerts, robustness."""

from __future__ import annotations

import json
import math
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmitra_desktop.analysis.insights import CaseInsights, build_insights
from medmitra_desktop.analysis.labs.model import LabRow
from tests.analysis.insights.insights_helpers import (
    codes,
    creatinine,
    egfr,
    hb,
    hba1c,
    item,
    knowledge,
    lab,
    mcv,
    obs,
    report,
    run,
)

EVIDENCE = re.compile(
    r"^(doc \d+(, page \d+)?( \([a-z ]+\))?: .+|notes: .+|patient: .+|previous.*: .+"
    r"|.+\(.*doc \d+.*\))$"
)


def _anemic_ckd_case() -> CaseInsights:
    cxr = report(
        obs("cardiomegaly", "The heart is enlarged."),
        obs("pneumothorax", "No pneumothorax.", negated=True),
        impression="Cardiomegaly. No acute pulmonary disease.",
    )
    return run(
        hb(10.2, flag="L", ref_low=13.5, ref_high=17.5),
        mcv(88),
        creatinine(2.03, flag="H", ref_high=1.35, page=2),
        egfr(35),
        lab("Potassium", "2823-3", 6.8, "mmol/L", flag="HH", page=2),
        age=52,
        gender="male",
        notes="Tiredness for 2 months.",
        radiology=[cxr],
    )


def test_contract_shape() -> None:
    data = _anemic_ckd_case().to_contract_dict()
    assert {"summary", "key_findings", "alerts", "soap", "differential"} <= set(data)
    assert isinstance(data["summary"], str) and data["summary"]
    assert all(isinstance(k, str) for k in data["key_findings"])
    for alert in data["alerts"]:
        assert set(alert) == {"severity", "message", "evidence"}
        assert alert["severity"] in ("critical", "warning", "info")
        assert all(isinstance(e, str) for e in alert["evidence"])
    assert set(data["soap"]) == {"subjective", "objective", "assessment", "plan"}
    assert all(isinstance(v, str) for v in data["soap"].values())
    for entry in data["differential"]:
        assert {"condition", "icd10", "confidence", "evidence"} <= set(entry)
        assert entry["icd10"] in knowledge().icd10
        assert 0.0 <= entry["confidence"] <= 1.0
    json.dumps(data)  # serialisable as is


def test_every_differential_item_cites_document_page_and_row() -> None:
    result = _anemic_ckd_case()
    assert result.differential
    for entry in result.differential:
        assert entry.evidence, entry.condition
        assert entry.source and entry.next_steps
        for evidence in entry.evidence:
            assert EVIDENCE.match(evidence), evidence
    assert "doc 0, page 1: Hemoglobin 10.2 g/dL (L)" in item(result, "D63.1").evidence
    assert 'doc 1, page 1 (findings): "The heart is enlarged."' in item(result, "I51.7").evidence


def test_critical_values_alert_per_app_default_or_per_report() -> None:
    result = _anemic_ckd_case()
    critical = [a for a in result.alerts if a.severity == "critical"]
    assert critical[0].message == "Potassium 6.8 mmol/L (HH): critical per app default"
    assert critical[0].evidence == ["doc 0, page 2: Potassium 6.8 mmol/L (HH)"]
    printed = run(lab("Potassium", "2823-3", 6.8, "mmol/L", flag="HH", flag_printed="HH"))
    assert printed.alerts[0].message.endswith("critical per report")
    # no flag from the report at all: the app's default limits still catch it
    unflagged = run(lab("Sodium", "2951-2", 118, "mmol/L"))
    assert unflagged.alerts[0].severity == "critical"
    assert "per app default (< 120 mmol/L)" in unflagged.alerts[0].message
    assert run(lab("Sodium", "2951-2", 121, "mmol/L")).alerts == []


def test_derived_critical_alert() -> None:
    result = run(lab("Calcium", "17861-6", 12.0, "mg/dL"), lab("Albumin", "1751-7", 2.0, "g/dL"))
    assert any(a.severity == "critical" and a.message.startswith("Corrected calcium 13.6")
               for a in result.alerts)  # fmt: skip


def test_alerts_sorted_by_severity() -> None:
    order = {"critical": 0, "warning": 1, "info": 2}
    severities = [order[a.severity] for a in _anemic_ckd_case().alerts]
    assert severities == sorted(severities)


def test_summary_reads_in_ten_seconds() -> None:
    summary = _anemic_ckd_case().summary
    assert summary.startswith("52-year-old male.")
    assert "Hemoglobin 10.2 g/dL (low)" in summary
    assert 'impression: "Cardiomegaly. No acute pulmonary disease."' in summary  # verbatim
    assert "Considerations:" in summary and "(D63.1)" in summary
    assert "Critical" in summary
    assert len(summary) < 1200


def test_key_findings_are_short_readable_strings() -> None:
    findings = _anemic_ckd_case().key_findings
    assert "Hemoglobin 10.2 g/dL (low)" in findings
    assert "Potassium 6.8 mmol/L (critical high)" in findings
    assert "Cardiomegaly on chest X-ray" in findings
    assert not any("pneumothorax" in f.lower() for f in findings)


def test_soap_sections() -> None:
    soap = _anemic_ckd_case().soap
    assert soap.subjective == "Tiredness for 2 months."
    assert "- Hemoglobin 10.2 g/dL (L), ref 13.5 - 17.5 [doc 0, page 1]" in soap.objective
    assert 'cardiomegaly: "The heart is enlarged."' in soap.objective
    # a negated finding is never listed as a positive
    assert "pneumothorax:" not in soap.objective
    assert re.search(r"^1\. (Consistent with|Consider) ", soap.assessment, re.M)
    assert "- Act on: Potassium 6.8 mmol/L" in soap.plan
    assert "Echocardiogram" in soap.plan


def test_soap_without_notes_or_documents() -> None:
    result = run()
    assert result.soap.subjective == "No history entered."
    assert result.differential == []
    assert result.summary == "55-year-old male."
    assert result.soap.objective == "No results in this case."


def test_notes_whitespace_only_counts_as_no_history() -> None:
    assert run(notes="   \n").soap.subjective == "No history entered."


def test_previous_value_shown_as_trend_in_objective() -> None:
    from datetime import datetime

    from medmitra_desktop.analysis.insights import PreviousLab

    result = run(
        hba1c(8.1),
        previous=[PreviousLab(hba1c(7.4), datetime(2024, 11, 2))],
        collected_at=datetime(2025, 5, 2),
    )
    assert "previous 7.4 % on 2024-11-02" in result.soap.objective


def test_unspecified_code_dropped_when_specific_sibling_present() -> None:
    result = run(hba1c(7.5), egfr(40))
    e11 = [c for c in codes(result) if c.startswith("E11")]
    assert e11 == ["E11.22"]


def test_differential_size_is_capped_and_ranked() -> None:
    findings = ("cardiomegaly", "emphysema", "atelectasis", "nodule", "scoliosis", "fracture")
    cxr = report(*(obs(f) for f in (*findings, "pneumothorax", "opacity")))
    result = run(hb(9.0), mcv(70), hba1c(7.0), egfr(40), radiology=[cxr])
    assert len(result.differential) <= knowledge().policy.max_items
    confidences = [d.confidence for d in result.differential]
    assert confidences == sorted(confidences, reverse=True)


def test_one_line_and_bullets() -> None:
    result = _anemic_ckd_case()
    assert result.one_line.startswith("52 y male: ")
    assert result.one_line.endswith("1 critical value")
    assert result.bullets[0].startswith("Critical: Potassium 6.8")
    assert any(b.startswith(("Consistent with", "Consider")) for b in result.bullets)


def test_derived_values_exposed() -> None:
    result = run(creatinine(1.2), age=55, gender="male")
    assert [(d.name, d.value) for d in result.derived] == [("eGFR (CKD-EPI 2021)", 71)]
    assert "eGFR (CKD-EPI 2021) 71 mL/min/1.73m2 (computed)" in result.key_findings
    assert result.to_contract_dict()["derived"][0]["formula"].startswith("142 x")


def test_unknown_sex_gets_no_egfr_and_says_so() -> None:
    result = run(creatinine(1.2), gender="other")
    assert result.derived == []
    assert any("eGFR not computed" in a.message for a in result.alerts)


# ------------------------------------------------------------------------------------------
# robustness: arbitrary lab rows never crash the engine

_loincs = st.sampled_from(
    [None, "718-7", "787-2", "789-8", "2160-0", "33914-3", "4548-4", "2345-7", "1558-6",
     "2093-3", "13457-7", "2085-9", "2571-8", "3016-3", "3024-7", "1742-6", "6768-6",
     "2951-2", "2823-3", "2075-0", "1963-8", "17861-6", "1751-7", "6690-2", "777-3",
     "5802-4", "9318-7", "2276-4", "99999-9"]
)  # fmt: skip
_floats = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))
_text = st.text(max_size=12)
_rows = st.builds(
    LabRow,
    test=st.one_of(_text, st.sampled_from(["Hemoglobin", "Glucose Fasting", "eGFR", "TSH"])),
    loinc=_loincs,
    value=_floats,
    value_text=st.one_of(_text, st.sampled_from(["<0.5", ">90", "Positive", "negative"])),
    unit=st.one_of(st.none(), _text, st.sampled_from(["mg/dL", "mmol/L", "umol/L", "%"])),
    ref_low=_floats,
    ref_high=_floats,
    ref_text=st.one_of(st.none(), _text),
    ref_source=st.sampled_from([None, "report", "knowledge_base"]),
    flag=st.sampled_from([None, "LL", "L", "N", "H", "HH", "A", "x"]),
    flag_printed=st.one_of(st.none(), _text),
    page=st.one_of(st.none(), st.integers(min_value=-1, max_value=5)),
    critical=st.booleans(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    docs=st.lists(st.lists(_rows, max_size=12), max_size=3),
    age=st.one_of(st.none(), st.integers(min_value=-5, max_value=140)),
    gender=st.sampled_from([None, "male", "female", "other", "", "F"]),
    notes=st.text(max_size=60),
)
def test_build_insights_never_crashes(
    docs: list[list[LabRow]], age: int | None, gender: str | None, notes: str
) -> None:
    result = build_insights(
        age=age,
        gender=gender,
        notes=notes,
        lab_documents=list(enumerate(docs)),
        radiology_documents=[],
        knowledge=knowledge(),
    )
    data = result.to_contract_dict()
    json.dumps(data, allow_nan=False)
    for entry in result.differential:
        assert 0.0 <= entry.confidence <= 1.0 and not math.isnan(entry.confidence)
        assert entry.evidence
