"""A patient's history across visits: lab trends in one unit per test, and medication
changes from visit to visit. The visits are the cases services/patients.py groups.

Lab values are converted with the lab knowledge base (resources/knowledge/lab_tests.json
and lab_units.json): creatinine printed in µmol/L at one visit and mg/dL at the next is one
line in one unit. A value is never plotted in a unit it may not be in: a unit the test is
not measured in, or a missing unit that fits more than one of the test's units, leaves the
value listed with the reason instead. A visit without the test is a gap, not a line drawn
across it.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import select

from ..storage.database import Database
from ..storage.orm import LabResult, Medication
from .patients import Visit, live_case, patient_cases, visit_of

if TYPE_CHECKING:
    # Imported where used: the app context builds this service at every start, and
    # loading the analysis package is for when a trend is asked for.
    from ..analysis.labs.knowledge import LabKnowledge, LabTest

ABNORMAL_FLAGS = frozenset({"L", "H", "LL", "HH", "A"})
_UNKNOWN_TEST = "name:"


# ---- lab trends -------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    """One visit on a test's trend; `value` None: not measured (or not plottable) then."""

    case_id: str
    at: datetime
    value: float | None  # in the trend's unit
    value_text: str  # as printed ("" when not measured)
    printed_unit: str | None
    converted: bool  # printed in another unit and converted
    assumed_unit: bool  # no usable unit printed: read in the only unit it is plausible in
    flag: str | None
    abnormal: bool
    critical: bool
    ref_low: float | None  # in the trend's unit
    ref_high: float | None
    ref_from_knowledge_base: bool  # the app's default interval, not the printed one

    @property
    def measured(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class UnplottedValue:
    """A result the trend cannot place on its axis, and why."""

    case_id: str
    at: datetime
    value_text: str
    printed_unit: str | None
    reason: str


@dataclass(frozen=True)
class LabTrend:
    key: str  # the knowledge-base test key, or "name:<printed name>" for unknown tests
    name: str
    unit: str | None  # the display unit every point is in
    points: tuple[TrendPoint, ...]  # one per visit, oldest first
    unplotted: tuple[UnplottedValue, ...]

    @property
    def measured(self) -> tuple[TrendPoint, ...]:
        return tuple(p for p in self.points if p.measured)

    def segments(self) -> list[list[TrendPoint]]:
        """Runs of visits measured one after another: a visit without a value breaks the
        line, so a gap is not drawn as if the value had been seen."""
        runs: list[list[TrendPoint]] = []
        current: list[TrendPoint] = []
        for point in self.points:
            if point.measured:
                current.append(point)
            elif current:
                runs.append(current)
                current = []
        if current:
            runs.append(current)
        return runs


@dataclass(frozen=True)
class LabTrends:
    visits: tuple[Visit, ...]
    trends: tuple[LabTrend, ...]  # by name

    def trend(self, key: str) -> LabTrend | None:
        return next((t for t in self.trends if t.key == key), None)


# ---- medication changes ---------------------------------------------------------------


class MedicationChange(StrEnum):
    RECORDED = "recorded"  # on the first visit: nothing earlier to compare with
    STARTED = "started"
    CONTINUED = "continued"
    CHANGED = "changed"  # dose, frequency or route differs from the visit before
    STOPPED = "stopped"  # the doctor stopped it
    NOT_MENTIONED = "not mentioned"  # taken at the visit before, not found at this one


CHANGE_WORDS = {
    MedicationChange.RECORDED: "Recorded",
    MedicationChange.STARTED: "Started",
    MedicationChange.CONTINUED: "Continued",
    MedicationChange.CHANGED: "Changed",
    MedicationChange.STOPPED: "Stopped",
    MedicationChange.NOT_MENTIONED: "Not mentioned",
}


@dataclass(frozen=True)
class MedicationEntry:
    change: MedicationChange
    regimen: str  # "1000 mg · oral · twice daily" as recorded at this visit
    previous: str | None  # the regimen at the visit before, when it changed
    reason: str | None  # the doctor's reason, when given


@dataclass(frozen=True)
class MedicationTimeline:
    name: str
    entries: tuple[MedicationEntry | None, ...]  # one per visit; None: not on it then

    @property
    def changed(self) -> bool:
        return any(e is not None and e.change not in (MedicationChange.CONTINUED,
                                                      MedicationChange.RECORDED)
                   for e in self.entries)


@dataclass(frozen=True)
class MedicationHistory:
    visits: tuple[Visit, ...]
    medications: tuple[MedicationTimeline, ...]  # by name


@dataclass(frozen=True)
class _Med:
    name: str
    dose: str | None
    route: str | None
    frequency: str | None
    review_state: str
    reason: str | None
    carried: bool  # copied from the earlier visit by the analysis, not found in this one

    @property
    def regimen(self) -> str:
        return " · ".join(p for p in (self.dose, self.route, self.frequency) if p)

    def same_regimen(self, other: _Med) -> bool:
        def norm(text: str | None) -> str:
            return " ".join((text or "").casefold().split())

        return all(norm(getattr(self, f)) == norm(getattr(other, f))
                   for f in ("dose", "route", "frequency"))


class PatientHistoryService:
    """Reads only. `labs` loads the lab knowledge base; it is called once, on first use
    (it takes a moment, and listing visits does not need it)."""

    def __init__(self, database: Database, labs: Callable[[], LabKnowledge]) -> None:
        self._db = database
        self._load_labs = labs
        self._labs: LabKnowledge | None = None
        self._lock = threading.Lock()

    def _knowledge(self) -> LabKnowledge:
        with self._lock:
            if self._labs is None:
                self._labs = self._load_labs()
            return self._labs

    # ---- labs ---------------------------------------------------------------------------

    def lab_trends(self, case_id: str) -> LabTrends:
        with self._db.read_session() as session:
            case = live_case(session, case_id)
            cases = patient_cases(session, case)
            visits = tuple(visit_of(c) for c in cases)
            index = {c.id: i for i, c in enumerate(cases)}
            rows = list(session.execute(
                select(LabResult).where(LabResult.case_id.in_(index))
                .order_by(LabResult.document_id.is_(None), LabResult.document_id,
                          LabResult.page, LabResult.id)).scalars())
            gender = cases[-1].patient_gender
        labs = self._knowledge()
        grouped: dict[str, tuple[LabTest | None, str, list[tuple[int, LabResult]]]] = {}
        for row in rows:
            test = _test_of(labs, row)
            key = test.key if test else _UNKNOWN_TEST + " ".join(row.test.casefold().split())
            name = test.name if test else row.test
            grouped.setdefault(key, (test, name, []))[2].append((index[row.case_id], row))
        trends = []
        for key, (test, name, found) in grouped.items():
            if not any(_number(row.value) is not None for _, row in found):
                continue  # words only ("Positive"): nothing to draw
            trends.append(_trend(key, name, test, found, visits, labs, gender))
        trends.sort(key=lambda t: t.name.casefold())
        return LabTrends(visits, tuple(trends))

    # ---- medications --------------------------------------------------------------------

    def medication_history(self, case_id: str) -> MedicationHistory:
        with self._db.read_session() as session:
            case = live_case(session, case_id)
            cases = patient_cases(session, case)
            visits = tuple(visit_of(c) for c in cases)
            index = {c.id: i for i, c in enumerate(cases)}
            per_visit: list[dict[str, _Med]] = [{} for _ in cases]
            for row in session.execute(
                    select(Medication).where(Medication.case_id.in_(index))
                    .order_by(Medication.id)).scalars():
                details = row.review_details or {}
                per_visit[index[row.case_id]].setdefault(row.name.casefold(), _Med(
                    name=row.name, dose=row.dose, route=row.route, frequency=row.frequency,
                    review_state=row.review_state, reason=details.get("reason"),
                    carried=(row.document_id is None and row.source_text is None
                             and bool(details.get("previous_case_id")))))
        names: dict[str, str] = {}
        for meds in per_visit:
            for folded, med in meds.items():
                names.setdefault(folded, med.name)
        timelines = [MedicationTimeline(names[folded], _entries(folded, per_visit))
                     for folded in names]
        timelines.sort(key=lambda t: t.name.casefold())
        return MedicationHistory(visits, tuple(timelines))


# ---- lab trend building ---------------------------------------------------------------


def _test_of(labs: LabKnowledge, row: LabResult) -> LabTest | None:
    if row.loinc:
        test = labs.by_loinc(row.loinc)
        if test is not None:
            return test
    match = labs.lookup_test(row.test, fuzzy=False, prefix=False)
    return match.test if match else None


def _number(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _trend(key: str, name: str, test: LabTest | None, found: Sequence[tuple[int, LabResult]],
           visits: Sequence[Visit], labs: LabKnowledge, gender: str) -> LabTrend:
    numeric = [(i, row) for i, row in found if _number(row.value) is not None]
    if test is not None and test.unit is not None:
        unit_code = _chosen_code(test, numeric, labs)
        unit = labs.unit_display(unit_code) or unit_code
    else:
        unit_code = None
        unit = _chosen_printed_unit(numeric)
    default_ref = _knowledge_base_range(test, gender, unit_code)
    points: list[TrendPoint | None] = [None] * len(visits)
    unplotted: list[UnplottedValue] = []
    for i, row in found:
        visit = visits[i]
        value = _number(row.value)
        if value is None:
            unplotted.append(UnplottedValue(visit.case_id, visit.created_at, row.value_text,
                                            row.unit, "not a number"))
            continue
        if points[i] is not None:
            unplotted.append(UnplottedValue(
                visit.case_id, visit.created_at, row.value_text, row.unit,
                "another result for this test at the same visit (the first is plotted)"))
            continue
        placed = (_place_known(row, value, test, unit_code, labs)
                  if test is not None and test.unit is not None
                  else _place_unknown(row, value, unit))
        if isinstance(placed, str):
            unplotted.append(UnplottedValue(visit.case_id, visit.created_at, row.value_text,
                                            row.unit, placed))
            continue
        converted_value, code, converted, assumed = placed
        ref_low, ref_high, from_kb = _row_range(row, test, code, unit_code, default_ref)
        points[i] = TrendPoint(
            case_id=visit.case_id, at=visit.created_at, value=converted_value,
            value_text=row.value_text, printed_unit=row.unit, converted=converted,
            assumed_unit=assumed, flag=row.flag,
            abnormal=bool(row.critical) or (row.flag or "") in ABNORMAL_FLAGS,
            critical=bool(row.critical) or row.flag in ("LL", "HH"),
            ref_low=ref_low, ref_high=ref_high, ref_from_knowledge_base=from_kb)
    return LabTrend(key, name, unit, _with_gaps(points, visits, default_ref),
                    tuple(unplotted))


def _with_gaps(points: Sequence[TrendPoint | None], visits: Sequence[Visit],
               default_ref: tuple[float | None, float | None]) -> tuple[TrendPoint, ...]:
    """A point without a value for each visit that has none. Its reference interval is
    the nearest measured visit's (the earlier one first), so the shaded band does not
    jump to the app's default between two visits that printed their own."""
    filled: list[TrendPoint] = []
    for i, (point, visit) in enumerate(zip(points, visits, strict=True)):
        if point is not None:
            filled.append(point)
            continue
        nearest = next((p for p in (*reversed(points[:i]), *points[i + 1:]) if p is not None),
                       None)
        low, high = (nearest.ref_low, nearest.ref_high) if nearest else default_ref
        filled.append(TrendPoint(
            case_id=visit.case_id, at=visit.created_at, value=None, value_text="",
            printed_unit=None, converted=False, assumed_unit=False, flag=None,
            abnormal=False, critical=False, ref_low=low, ref_high=high,
            ref_from_knowledge_base=(nearest.ref_from_knowledge_base if nearest
                                     else default_ref != (None, None))))
    return tuple(filled)


def _chosen_code(test: LabTest, numeric: Sequence[tuple[int, LabResult]],
                 labs: LabKnowledge) -> str:
    """The unit most of the visits printed (the latest visit breaks a tie), so the doctor
    reads the trend in the unit of their usual laboratory; else the test's own unit."""
    counts: Counter[str] = Counter()
    latest: dict[str, int] = {}
    for i, row in numeric:
        code = labs.unit_code(row.unit)
        if code is not None and test.accepts_unit(code):
            counts[code] += 1
            latest[code] = max(latest.get(code, -1), i)
    if not counts:
        return test.unit or ""
    return max(counts, key=lambda code: (counts[code], latest[code]))


def _chosen_printed_unit(numeric: Sequence[tuple[int, LabResult]]) -> str | None:
    from ..analysis.labs.textmatch import unit_key

    counts: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    latest: dict[str, int] = {}
    for i, row in numeric:
        key = unit_key(row.unit or "")
        counts[key] += 1
        spelling.setdefault(key, (row.unit or "").strip())
        latest[key] = max(latest.get(key, -1), i)
    if not counts:
        return None
    key = max(counts, key=lambda k: (counts[k], latest[k]))
    return spelling[key] or None


def _place_known(row: LabResult, value: float, test: LabTest, unit_code: str | None,
                 labs: LabKnowledge) -> tuple[float, str | None, bool, bool] | str:
    """(value in the trend's unit, the printed unit's code, converted, assumed), or why
    the value cannot be placed."""
    code = labs.unit_code(row.unit)
    assumed = False
    printed = (row.unit or "").strip()
    if code is None and printed:
        # An OCR-damaged spelling ("mmol/ litre") is read as the registry spelling it is
        # closest to, as the lab parser does, only if the value is plausible in it.
        match = labs.match_unit(printed)
        if match is None or not test.accepts_unit(match.code) or not test.plausible_in(
                value, match.code):
            return f"the unit {row.unit!r} is not recognised"
        code, assumed = match.code, True
    if code is not None:
        if not test.accepts_unit(code):
            shown = labs.unit_display(code) or row.unit
            return f"{test.name} is not measured in {shown}, so it cannot be converted"
        converted = test.convert(value, code, unit_code)
        if converted is None:
            return "no conversion is known for this unit"
        return converted, code, code != unit_code, assumed
    from ..analysis.insights.units import read_value

    # No unit printed: the analysis's own rule, a value plausible in exactly one of the
    # test's units (a wrong guess would draw creatinine 88 as 88 mg/dL).
    guess = read_value(value, None, test, unit_code, labs)
    if guess is None:
        return "no unit printed, and the value fits more than one unit (or none)"
    return guess.value, None, False, guess.assumed


def _place_unknown(row: LabResult, value: float, unit: str | None
                   ) -> tuple[float, str | None, bool, bool] | str:
    from ..analysis.labs.textmatch import unit_key

    if unit_key(row.unit or "") == unit_key(unit or ""):
        return value, None, False, False
    return (f"printed in {row.unit or 'no unit'}; the app knows no conversion to "
            f"{unit or 'no unit'} for this test")


def _row_range(row: LabResult, test: LabTest | None, code: str | None, unit_code: str | None,
               default: tuple[float | None, float | None]
               ) -> tuple[float | None, float | None, bool]:
    """The printed interval in the trend's unit; the knowledge base's when none was
    printed (or it was printed in a unit that cannot be told)."""
    printed = row.ref_source != "knowledge_base" and (row.ref_low is not None
                                                      or row.ref_high is not None)
    if printed and test is None:
        return row.ref_low, row.ref_high, False
    if printed and test is not None and code is not None:
        def convert(bound: float | None) -> float | None:
            return None if bound is None else test.convert(bound, code, unit_code)

        return convert(row.ref_low), convert(row.ref_high), False
    return default[0], default[1], default != (None, None)


def _knowledge_base_range(test: LabTest | None, gender: str, unit_code: str | None
                          ) -> tuple[float | None, float | None]:
    if test is None or test.unit is None:
        return None, None
    interval = test.reference(gender)
    if interval is None:
        return None, None

    def convert(bound: float | None) -> float | None:
        return None if bound is None else test.from_canonical(bound, unit_code)

    return convert(interval.low), convert(interval.high)


# ---- medication changes ---------------------------------------------------------------


def _entries(folded: str, per_visit: Sequence[dict[str, _Med]]
             ) -> tuple[MedicationEntry | None, ...]:
    entries: list[MedicationEntry | None] = []
    before: _Med | None = None  # taken at the visit before (None: not taken then)
    for number, meds in enumerate(per_visit):
        med = meds.get(folded)
        if med is None:
            entries.append(MedicationEntry(MedicationChange.NOT_MENTIONED, "", None, None)
                           if before is not None else None)
            before = None
            continue
        if med.review_state == "stopped":
            entries.append(MedicationEntry(MedicationChange.STOPPED, med.regimen, None,
                                           med.reason))
            before = None
            continue
        if med.carried:
            entries.append(MedicationEntry(MedicationChange.NOT_MENTIONED, med.regimen, None,
                                           None))
            before = med
            continue
        if number == 0:
            change = MedicationChange.RECORDED
        elif before is None:
            change = MedicationChange.STARTED
        elif med.same_regimen(before):
            change = MedicationChange.CONTINUED
        else:
            change = MedicationChange.CHANGED
        entries.append(MedicationEntry(
            change, med.regimen,
            before.regimen if change is MedicationChange.CHANGED and before else None,
            med.reason if change is MedicationChange.CHANGED else None))
        before = med
    return tuple(entries)
