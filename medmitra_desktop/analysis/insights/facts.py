"""The case as rules see it: lab rows mapped to analytes in canonical units, imaging, notes.

Every fact keeps an evidence string pointing back to its document, page and row, so that any
conclusion drawn from it can cite where it came from.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from medmitra_desktop.analysis.insights.knowledge import Analyte, InsightKnowledge
from medmitra_desktop.analysis.insights.model import PreviousLab
from medmitra_desktop.analysis.insights.units import to_canonical
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
    value: float | None  # canonical unit; None when non-numeric or unconvertible
    unit: str
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
        text_only = name in analytes and analytes[name].unit == ""
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
            for key in analytes_for_row(row, knowledge):
                fact = lab_fact(row, knowledge.analytes[key], knowledge, doc=doc)
                facts.labs.setdefault(key, []).append(fact)
    for previous in previous_labs:
        facts.previous_rows.append(previous)
        for key in analytes_for_row(previous.row, knowledge):
            fact = lab_fact(
                previous.row,
                knowledge.analytes[key],
                knowledge,
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


def analytes_for_row(row: LabRow, knowledge: InsightKnowledge) -> list[str]:
    """Analytes a row belongs to: by LOINC; by name only when the row has no LOINC at all.

    A LOINC we do not list is a test no rule reads (MCH, eAG...); guessing from its name would
    let "Mean Corpuscular Hemoglobin" pass for hemoglobin.
    """
    names = [n for n in (row.test, row.test_printed) if n]
    keys: list[str] = []
    if row.loinc:
        keys.extend(knowledge.loinc_index.get(row.loinc, ()))
        for analyte in knowledge.analytes.values():
            if (
                analyte.key not in keys
                and row.loinc in analyte.loinc_if_named
                and _matches(names, analyte.names_with_loinc)
                and not _matches(names, analyte.exclude_names)
            ):
                keys.append(analyte.key)
        return keys
    for analyte in knowledge.analytes.values():
        if _matches(names, analyte.names) and not _matches(names, analyte.exclude_names):
            keys.append(analyte.key)
    return keys


def _matches(names: list[str], patterns: tuple[re.Pattern[str], ...]) -> bool:
    return any(p.search(name) for p in patterns for name in names)


def lab_fact(
    row: LabRow,
    analyte: Analyte,
    knowledge: InsightKnowledge,
    *,
    doc: int | None = None,
    time: str = "current",
    collected: datetime | None = None,
    label: str = "previous",
) -> Fact:
    raw = row.value if row.value is not None and math.isfinite(row.value) else None
    converted = to_canonical(raw, row.unit, analyte.unit, analyte.units, analyte.plausible)
    value = converted.value if converted is not None else None
    weight = knowledge.policy.assumed_unit_weight if converted and converted.assumed else 1.0
    text = (row.value_text or "").strip()
    censor = "<" if text[:1] in ("<", "≤") else ">" if text[:1] in (">", "≥") else None
    uln_ratio = None
    if raw is not None and row.ref_high is not None and math.isfinite(row.ref_high):
        if row.ref_high > 0:
            uln_ratio = raw / row.ref_high
    elif value is not None and analyte.default_high:
        uln_ratio = value / analyte.default_high
    if time == "previous":
        when = f" ({collected:%Y-%m-%d})" if collected else ""
        evidence = f"{label}{when}: {describe_row(row)}"
    else:
        evidence = f"{_where(doc, row.page)}: {describe_row(row)}"
    return Fact(
        name=analyte.key,
        value=value,
        unit=analyte.unit,
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
    )


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
