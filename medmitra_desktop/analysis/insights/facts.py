"""The case as rules see it: lab rows mapped to analytes in their units, imaging, notes.

Which lab test a row reports, and how its unit converts, is the lab knowledge base's business
(LabKnowledge, reached through InsightKnowledge.labs); this module only files the rows under
the keys the rules use.

Every fact keeps an evidence string pointing back to its document, page and row, so that any
conclusion drawn from it can cite where it came from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from medmitra_desktop.analysis.insights.knowledge import Analyte, InsightKnowledge
from medmitra_desktop.analysis.insights.model import PreviousLab
from medmitra_desktop.analysis.insights.units import read_value
from medmitra_desktop.analysis.labs.knowledge import LabKnowledge, LabTest
from medmitra_desktop.analysis.labs.model import LabRow
from medmitra_desktop.analysis.radiology.model import Observation, RadiologyReport

ABNORMAL_FLAGS = frozenset({"L", "H", "LL", "HH", "A"})
FLAG_WORDS = {
    "L": "low",
    "H": "high",
    "LL": "critical low",
    "HH": "critical high",
    "A": "abnormal",
    "N": "normal",
}
_PRINTED_FLAGS = {
    "h": "H", "high": "H", "hi": "H", "↑": "H",
    "l": "L", "low": "L", "lo": "L", "↓": "L",
    "hh": "HH", "ll": "LL", "a": "A", "abnormal": "A", "n": "N", "normal": "N",
}  # fmt: skip


@dataclass(frozen=True)
class Fact:
    name: str  # analyte key or derived-value name
    value: float | None  # in the analyte's unit; None when non-numeric or unconvertible
    unit: str  # as displayed
    evidence: str
    censor: str | None = None  # "<" or ">" when the report printed a bound ("<0.01", ">90")
    flag: str | None = None
    uln_ratio: float | None = None  # value / upper reference limit (printed, else default)
    text: str = ""
    weight: float = 1.0  # below 1 when the unit had to be guessed
    time: str = "current"  # "current" | "previous"
    collected: datetime | None = None
    doc: int | None = None
    row: LabRow | None = None
    test: LabTest | None = None  # the lab knowledge base test the row reports


@dataclass(frozen=True)
class ImagingFact:
    doc: int
    report: RadiologyReport
    observation: Observation

    @property
    def evidence(self) -> str:
        where = _where(self.doc, self.observation.page)
        if self.observation.section:
            where += f" ({self.observation.section})"
        return f'{where}: "{self.observation.sentence.strip()}"'


@dataclass
class CaseFacts:
    sex: str  # "male" | "female" | "unknown"
    age: int | None
    notes: str
    collected_at: datetime | None
    labs: dict[str, list[Fact]] = field(default_factory=dict)
    previous: dict[str, list[Fact]] = field(default_factory=dict)
    derived: dict[str, list[Fact]] = field(default_factory=dict)
    imaging: list[ImagingFact] = field(default_factory=list)
    radiology: list[tuple[int, RadiologyReport]] = field(default_factory=list)
    lab_rows: list[tuple[int, LabRow]] = field(default_factory=list)
    previous_rows: list[PreviousLab] = field(default_factory=list)

    def has_value(self, name: str, analytes: dict[str, Analyte]) -> bool:
        """A usable value exists (numeric; or any text for text-only tests like nitrite)."""
        facts = self.labs.get(name) or self.derived.get(name) or []
        text_only = name in analytes and analytes[name].text_only
        return any(f.value is not None or (text_only and f.text.strip()) for f in facts)


def normalize_sex(gender: str | None) -> str:
    text = (gender or "").strip().lower()
    if text in ("male", "m", "man"):
        return "male"
    if text in ("female", "f", "woman"):
        return "female"
    return "unknown"


def as_datetime(moment: datetime | date | None) -> datetime | None:
    if moment is None or isinstance(moment, datetime):
        return moment.replace(tzinfo=None) if moment is not None else None
    return datetime(moment.year, moment.month, moment.day)


def build_facts(
    *,
    age: int | None,
    gender: str | None,
    notes: str,
    lab_documents: Sequence[tuple[int, Sequence[LabRow]]],
    radiology_documents: Sequence[tuple[int, RadiologyReport]],
    previous_labs: Sequence[PreviousLab],
    collected_at: datetime | date | None,
    knowledge: InsightKnowledge,
) -> CaseFacts:
    facts = CaseFacts(
        sex=normalize_sex(gender),
        age=age if isinstance(age, int) and 0 <= age <= 130 else None,
        notes=notes or "",
        collected_at=as_datetime(collected_at),
    )
    for doc, rows in lab_documents:
        for row in rows:
            facts.lab_rows.append((doc, row))
            for key, test in analyte_tests_for_row(row, knowledge):
                fact = lab_fact(row, knowledge.analytes[key], test, knowledge, facts.sex, doc=doc)
                facts.labs.setdefault(key, []).append(fact)
    for previous in previous_labs:
        facts.previous_rows.append(previous)
        for key, test in analyte_tests_for_row(previous.row, knowledge):
            fact = lab_fact(
                previous.row,
                knowledge.analytes[key],
                test,
                knowledge,
                facts.sex,
                time="previous",
                collected=as_datetime(previous.collected),
                label=previous.label,
            )
            facts.previous.setdefault(key, []).append(fact)
    for doc, report in radiology_documents:
        facts.radiology.append((doc, report))
        for observation in report.observations:
            facts.imaging.append(ImagingFact(doc, report, observation))
    return facts


def row_tests(row: LabRow, labs: LabKnowledge) -> list[LabTest]:
    """The lab tests a row reports: by LOINC; by name only when the row has no LOINC at all.

    A LOINC the lab knowledge base does not know is a test no rule reads; guessing from its name
    would let a coded "Mean Corpuscular Hemoglobin" pass for hemoglobin. With a LOINC, the name
    may still say which variety of a generic code the row is ("Glucose, Fasting" coded 2345-7,
    serum glucose): a sibling test measured the same way (same group, specimen and unit) that
    the name resolves to counts too.
    """
    named = _named_test(row, labs)
    if not row.loinc:
        return [named] if named is not None else []
    coded = labs.by_loinc(row.loinc)
    if coded is None:
        return []
    if named is not None and named is not coded and _same_measurement(coded, named):
        return [coded, named]
    return [coded]


def _named_test(row: LabRow, labs: LabKnowledge) -> LabTest | None:
    for name in (row.test, row.test_printed):
        if name:
            match = labs.lookup_test(name)
            if match is not None:
                return match.test
    return None


def _same_measurement(a: LabTest, b: LabTest) -> bool:
    return bool(set(a.groups) & set(b.groups)) and a.specimen == b.specimen and a.unit == b.unit


def analyte_tests_for_row(row: LabRow, knowledge: InsightKnowledge) -> list[tuple[str, LabTest]]:
    """(analyte key, the row's test it reads) for every analyte the row belongs to."""
    found: dict[str, LabTest] = {}
    for test in row_tests(row, knowledge.labs):
        for key in knowledge.analytes_by_test.get(test.key, ()):
            found.setdefault(key, test)
    return list(found.items())


def analytes_for_row(row: LabRow, knowledge: InsightKnowledge) -> list[str]:
    """The analyte keys a row belongs to (see row_tests)."""
    return [key for key, _ in analyte_tests_for_row(row, knowledge)]


def lab_fact(
    row: LabRow,
    analyte: Analyte,
    test: LabTest,
    knowledge: InsightKnowledge,
    sex: str = "unknown",
    *,
    doc: int | None = None,
    time: str = "current",
    collected: datetime | None = None,
    label: str = "previous",
) -> Fact:
    raw = row.value if row.value is not None and math.isfinite(row.value) else None
    converted = read_value(
        raw, row.unit, test, analyte.unit, knowledge.labs, unit_code=row.unit_ucum
    )
    value = converted.value if converted is not None else None
    weight = knowledge.policy.assumed_unit_weight if converted and converted.assumed else 1.0
    text = (row.value_text or "").strip()
    censor = "<" if text[:1] in ("<", "≤") else ">" if text[:1] in (">", "≥") else None
    uln_ratio = None
    if raw is not None and row.ref_high is not None and math.isfinite(row.ref_high):
        if row.ref_high > 0:
            uln_ratio = raw / row.ref_high
    elif value is not None:
        uln_ratio = _default_uln_ratio(value, analyte, test, sex)
    if time == "previous":
        when = f" ({collected:%Y-%m-%d})" if collected else ""
        evidence = f"{label}{when}: {describe_row(row)}"
    else:
        evidence = f"{_where(doc, row.page)}: {describe_row(row)}"
    return Fact(
        name=analyte.key,
        value=value,
        unit=analyte.unit_display,
        evidence=evidence,
        censor=censor,
        flag=effective_flag(row),
        uln_ratio=uln_ratio,
        text=text,
        weight=weight,
        time=time,
        collected=collected,
        doc=doc,
        row=row,
        test=test,
    )


def value_in_test_unit(value: float, analyte: Analyte, test: LabTest) -> float | None:
    """An analyte's value in its test's canonical unit, the unit the test's limits are in."""
    return value if analyte.unit == test.unit else test.convert(value, analyte.unit, test.unit)


def _default_uln_ratio(value: float, analyte: Analyte, test: LabTest, sex: str) -> float | None:
    """Value / the lab knowledge base's upper reference limit, for a report that printed none."""
    reference = test.reference(sex)
    in_test_unit = value_in_test_unit(value, analyte, test)
    if reference is None or reference.high is None or reference.high <= 0 or in_test_unit is None:
        return None
    return in_test_unit / reference.high


def effective_flag(row: LabRow) -> str | None:
    """The computed flag; the printed one only when no interval let the parser compute one."""
    if row.flag:
        return row.flag.upper()
    if row.flag_printed:
        return _PRINTED_FLAGS.get(row.flag_printed.strip().lower())
    return None


def describe_row(row: LabRow, *, flag_style: str = "code") -> str:
    """'Hemoglobin 10.2 g/dL (L)', or '(low)' with flag_style='word'."""
    parts = [row.test or row.test_printed or "?", row.value_text or _fmt(row.value)]
    if row.unit:
        parts.append(row.unit)
    text = " ".join(p for p in parts if p)
    flag = effective_flag(row)
    if flag_style == "word":
        if row.critical and flag in ("H", "L"):
            flag = flag * 2  # the row is beyond critical limits even if its flag says H / L
        if flag and flag != "N":
            text += f" ({FLAG_WORDS.get(flag, flag)})"
    elif flag and flag != "N":
        text += f" ({flag})"
    return text


def _fmt(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:g}"


def _where(doc: int | None, page: int | None) -> str:
    place = f"doc {doc}" if doc is not None else "doc ?"
    return f"{place}, page {page}" if page is not None else place
