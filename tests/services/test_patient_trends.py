"""A patient's lab trends (one unit per test, gaps where a visit has no value, values that
cannot be converted listed instead of plotted) and medication changes across visits."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.records import CaseRecord
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.services.patient_history import MedicationChange
from medmitra_desktop.storage.orm import Case, LabResult
from tests.factories import make_case, text_pdf

HEADER = "Test                 Result    Units     Reference Interval"
VISIT_DATES = [datetime(2026, 1, 10, 9, tzinfo=UTC), datetime(2026, 4, 12, 9, tzinfo=UTC),
               datetime(2026, 7, 14, 9, tzinfo=UTC)]


def dated(context: AppContext, case: CaseRecord, when: datetime) -> None:
    with context.database.session() as session:
        session.query(Case).filter_by(uid=case.case_id).one().created_at = when


def visit(context: AppContext, jobs: AnalysisJobs, tmp_path: Path, number: int,
          lines: list[str], notes: str = "") -> CaseRecord:
    pdf = text_pdf(tmp_path / f"visit{number}.pdf", ["KIDNEY FUNCTION", HEADER, *lines])
    case = make_case(context.cases, name="Vikram Shah", age=58, gender="male", lab=[pdf],
                     notes=notes)
    dated(context, case, VISIT_DATES[number])
    assert jobs.run_next() is not None
    return case


def test_creatinine_in_two_units_is_one_trend_with_a_gap(context: AppContext,
                                                        jobs: AnalysisJobs,
                                                        tmp_path: Path) -> None:
    first = visit(context, jobs, tmp_path, 0, [
        "Creatinine           1.1       mg/dL     0.7 - 1.3",
        "Hemoglobin           12.1      g/dL      13.0 - 17.0"])
    visit(context, jobs, tmp_path, 1, [
        "Creatinine           150       µmol/L    62 - 115",
        "Potassium            5.6       mmol/L    3.5 - 5.1"])
    last = visit(context, jobs, tmp_path, 2, [
        "Creatinine           2.0       mg/dL     0.7 - 1.3",
        "Hemoglobin           11.0      g/dL      13.0 - 17.0"])

    trends = context.history.lab_trends(last.case_id)
    assert [v.case_id for v in trends.visits] == [first.case_id, trends.visits[1].case_id,
                                                  last.case_id]
    assert [t.name for t in trends.trends] == ["Creatinine", "Hemoglobin", "Potassium"]

    creatinine = trends.trend("creatinine")
    assert creatinine is not None and creatinine.unit == "mg/dL"  # two visits of three
    values = [p.value for p in creatinine.points]
    assert values[0] == pytest.approx(1.1) and values[2] == pytest.approx(2.0)
    assert values[1] == pytest.approx(150 * 0.01131)  # µmol/L -> mg/dL, the KB factor
    middle = creatinine.points[1]
    assert middle.converted and middle.value_text == "150" and middle.printed_unit == "µmol/L"
    assert middle.ref_low == pytest.approx(62 * 0.01131)  # the printed range, converted
    assert middle.ref_high == pytest.approx(115 * 0.01131)
    assert [p.abnormal for p in creatinine.points] == [False, True, True]
    assert [p.at for p in creatinine.points] == VISIT_DATES
    assert len(creatinine.segments()) == 1 and creatinine.unplotted == ()

    hemoglobin = trends.trend("hgb")
    assert hemoglobin is not None
    assert [p.measured for p in hemoglobin.points] == [True, False, True]
    assert [len(run) for run in hemoglobin.segments()] == [1, 1]  # the gap breaks the line
    gap = hemoglobin.points[1]
    assert (gap.ref_low, gap.ref_high) == (13.0, 17.0)  # the band goes on through the gap


def write_lab(context: AppContext, case: CaseRecord, test: str, value: float | None,
              value_text: str, unit: str | None, flag: str | None = "N",
              ref: tuple[float | None, float | None] = (None, None)) -> None:
    with context.database.session() as session:
        case_pk = session.query(Case).filter_by(uid=case.case_id).one().id
        session.add(LabResult(case_id=case_pk, test=test, value=value,
                              value_text=value_text, unit=unit, ref_low=ref[0],
                              ref_high=ref[1], flag=flag,
                              ref_source="printed" if ref != (None, None) else None))


def test_values_that_cannot_be_converted_are_listed_not_plotted(context: AppContext) -> None:
    cases = [make_case(context.cases, name="Neha Joshi", age=35) for _ in range(4)]
    for case, when in zip(cases, [*VISIT_DATES, datetime(2026, 9, 1, tzinfo=UTC)],
                          strict=True):
        dated(context, case, when)
    write_lab(context, cases[0], "Glucose, Fasting", 90, "90", "mg/dL", ref=(70, 100))
    write_lab(context, cases[1], "Glucose, Fasting", 7.0, "7.0", "mmol/L", "H")
    write_lab(context, cases[1], "Glucose, Fasting", 126, "126", "mg/dL", "H")  # again
    write_lab(context, cases[2], "Glucose, Fasting", 95, "95", "g/dL")  # not a glucose unit
    write_lab(context, cases[2], "Glucose, Fasting", 96, "96", "zz/qq")
    write_lab(context, cases[3], "Glucose, Fasting", 5.2, "5.2", "mmo1/L")  # OCR-damaged
    write_lab(context, cases[3], "Urine Ketones", None, "Negative", None)
    write_lab(context, cases[0], "Mystery Marker", 3.0, "3.0", "U/mL")
    write_lab(context, cases[1], "Mystery Marker", 4.0, "4.0", "kU/L")

    trends = context.history.lab_trends(cases[0].case_id)
    assert [t.name for t in trends.trends] == ["Glucose, Fasting", "Mystery Marker"]
    glucose = trends.trends[0]
    assert glucose.unit == "mg/dL"
    assert glucose.points[0].value == pytest.approx(90)
    assert glucose.points[1].value == pytest.approx(126.1, abs=0.2)  # 7.0 mmol/L, first row
    assert glucose.points[1].converted
    assert [p.measured for p in glucose.points] == [True, True, False, True]
    reasons = {u.value_text: u.reason for u in glucose.unplotted}
    assert "another result for this test at the same visit" in reasons["126"]
    assert reasons["95"] == "Glucose, Fasting is not measured in g/dL, so it cannot be converted"
    assert reasons["96"] == "the unit 'zz/qq' is not recognised"
    assert len(glucose.unplotted) == 3
    repaired = glucose.points[3]
    assert repaired.assumed_unit and repaired.value == pytest.approx(5.2 * 18.016, rel=0.01)
    assert glucose.points[2].ref_low == pytest.approx(70)  # the nearest printed range

    mystery = trends.trends[1]  # not in the knowledge base: same printed unit or nothing
    assert mystery.key.startswith("name:") and mystery.unit == "kU/L"  # latest wins a tie
    assert [p.measured for p in mystery.points] == [False, True, False, False]
    assert "no conversion" in mystery.unplotted[0].reason


def test_a_missing_unit_is_read_only_when_one_unit_is_plausible(context: AppContext) -> None:
    cases = [make_case(context.cases, name="Omar Ali", age=50, gender="male")
             for _ in range(2)]
    for case, when in zip(cases, VISIT_DATES[:2], strict=True):
        dated(context, case, when)
    write_lab(context, cases[0], "Creatinine", 1.0, "1.0", "mg/dL")
    write_lab(context, cases[1], "Creatinine", 97, "97", None)  # plausible only in µmol/L
    creatinine = context.history.lab_trends(cases[1].case_id).trend("creatinine")
    assert creatinine is not None and creatinine.unit == "mg/dL"
    assert creatinine.points[1].value == pytest.approx(97 * 0.01131)
    assert creatinine.points[1].assumed_unit


def test_medication_changes_across_visits(context: AppContext, jobs: AnalysisJobs) -> None:
    notes = ["On metformin 500 mg BD, atorvastatin 10 mg OD and amlodipine 5 mg OD.",
             "Metformin 1000 mg BD. Atorvastatin 10 mg OD. Started telmisartan 40 mg OD.",
             "Metformin 1000 mg BD. Telmisartan 40 mg OD. Atorvastatin 10 mg OD."]
    cases = []
    for number, text in enumerate(notes):
        case = make_case(context.cases, name="Vikram Shah", age=58, gender="male",
                         notes=text)
        dated(context, case, VISIT_DATES[number])
        jobs.run_next()
        cases.append(case)
    atorvastatin = next(m for m in context.results.results(cases[2].case_id).medications
                        if m.name == "atorvastatin")
    context.results.review_medication(cases[2].case_id, atorvastatin.id, user_id="dr",
                                      state="stopped", reason="myalgia")

    history = context.history.medication_history(cases[0].case_id)
    assert [v.case_id for v in history.visits] == [c.case_id for c in cases]
    rows = {t.name: [(e.change if e else None) for e in t.entries]
            for t in history.medications}
    C = MedicationChange
    assert rows["metformin"] == [C.RECORDED, C.CHANGED, C.CONTINUED]
    assert rows["telmisartan"] == [None, C.STARTED, C.CONTINUED]
    assert rows["atorvastatin"] == [C.RECORDED, C.CONTINUED, C.STOPPED]
    assert rows["amlodipine"] == [C.RECORDED, C.NOT_MENTIONED, C.NOT_MENTIONED]
    metformin = next(t for t in history.medications if t.name == "metformin")
    changed = metformin.entries[1]
    assert changed is not None and changed.previous == "500 mg · twice daily"
    assert changed.regimen == "1000 mg · twice daily"
    stopped = next(t for t in history.medications if t.name == "atorvastatin").entries[2]
    assert stopped is not None and stopped.reason == "myalgia"
