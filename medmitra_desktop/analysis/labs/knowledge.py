"""The lab knowledge base: tests, aliases, units, reference intervals, critical limits.

Everything clinical lives in resources/knowledge/*.json (with its sources); this module only
loads and validates those files once and answers questions about them. Callers build one
LabKnowledge with load_lab_knowledge() and pass it down: there is no module-level instance.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .textmatch import (
    OcrCosts,
    ShortlistIndex,
    fold,
    name_key,
    name_threshold,
    ocr_distance,
    unit_key,
)

TESTS_FILE = "lab_tests.json"
UNITS_FILE = "lab_units.json"
LEXICON_FILE = "lab_lexicon.json"

KINDS = ("quantitative", "qualitative", "semiquantitative")
SEXES = ("any", "male", "female")
_LOINC = re.compile(r"^(\d{1,7})-(\d)$")
_PAREN = re.compile(r"\(([^()]*)\)")


class KnowledgeError(ValueError):
    """The knowledge files are missing or wrong; the message names the file and the entry."""


def loinc_check_digit_ok(code: str) -> bool:
    """LOINC codes end in a mod-10 check digit (the Luhn scheme): a typo in a code shows here."""
    m = _LOINC.match(code)
    if not m:
        return False
    digits = [int(c) for c in m.group(1)]
    total = 0
    for pos, d in enumerate(reversed(digits)):
        if pos % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10 == int(m.group(2))


@dataclass(frozen=True)
class RefInterval:
    sex: str  # any | male | female
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Conversion:
    """value_in_canonical = value * factor + offset."""

    factor: float
    offset: float = 0.0

    def to_canonical(self, value: float) -> float:
        return value * self.factor + self.offset

    def from_canonical(self, value: float) -> float:
        return (value - self.offset) / self.factor


@dataclass(frozen=True)
class LabTest:
    key: str
    name: str
    loinc: str
    loinc_equiv: tuple[str, ...]
    aliases: tuple[str, ...]
    kind: str
    specimen: str
    unit: str | None  # canonical UCUM code; None for unitless results (specific gravity)
    units: Mapping[str, Conversion]
    ref: tuple[RefInterval, ...]
    ref_source: str | None
    normal_values: tuple[str, ...]  # canonical qualitative terms that count as normal
    critical_low: float | None
    critical_high: float | None
    critical_source: str | None
    plausible: tuple[float, float] | None
    groups: tuple[str, ...]
    alias_loinc: Mapping[str, str]  # name_key(alias) -> a more specific LOINC for that alias
    notes: str | None = None

    def reference(self, gender: str | None) -> RefInterval | None:
        """The adult interval for this sex; with the sex unknown, the union of both, so that
        a value normal for either sex is not flagged."""
        sex = (gender or "").strip().lower()
        exact = [r for r in self.ref if r.sex == sex]
        if exact:
            return exact[0]
        generic = [r for r in self.ref if r.sex == "any"]
        if generic:
            return generic[0]
        if not self.ref:
            return None
        lows = [r.low for r in self.ref]
        highs = [r.high for r in self.ref]
        low = None if any(v is None for v in lows) else min(v for v in lows if v is not None)
        high = None if any(v is None for v in highs) else max(v for v in highs if v is not None)
        return RefInterval("any", low, high)

    def accepts_unit(self, code: str | None) -> bool:
        return code is not None and code in self.units

    def to_canonical(self, value: float, unit_code: str | None) -> float | None:
        conv = self.units.get(unit_code) if unit_code else None
        return None if conv is None else conv.to_canonical(value)

    def from_canonical(self, value: float, unit_code: str | None) -> float | None:
        conv = self.units.get(unit_code) if unit_code else None
        return None if conv is None else conv.from_canonical(value)

    def convert(self, value: float, unit_code: str | None, to_unit: str | None) -> float | None:
        """The value printed in one unit of this test expressed in another ("7.0 mmol/L" of
        glucose in mg/dL); None when either unit is not one the test is measured in."""
        canonical = self.to_canonical(value, unit_code)
        return None if canonical is None else self.from_canonical(canonical, to_unit)

    def plausible_canonical(self, value: float) -> bool:
        if self.plausible is None:
            return True
        low, high = self.plausible
        return low <= value <= high

    def plausible_in(self, value: float, unit_code: str | None) -> bool | None:
        """Whether the value can be real in this unit; None when the unit is not one the test
        is measured in."""
        canonical = self.to_canonical(value, unit_code)
        return None if canonical is None else self.plausible_canonical(canonical)

    def loinc_for(self, alias: str | None) -> str:
        if alias:
            return self.alias_loinc.get(name_key(alias), self.loinc)
        return self.loinc

    @property
    def all_loincs(self) -> tuple[str, ...]:
        return (self.loinc, *self.loinc_equiv, *self.alias_loinc.values())


@dataclass(frozen=True)
class TestMatch:
    test: LabTest
    alias: str  # the alias that matched
    method: str  # exact | specimen | parenthetical | fuzzy | prefix
    cost: float = 0.0


@dataclass(frozen=True)
class UnitInfo:
    code: str
    display: str
    spellings: tuple[str, ...]


@dataclass(frozen=True)
class UnitMatch:
    code: str
    spelling: str  # the registry spelling that matched (what to show when the print was damaged)
    cost: float  # 0 for an exact (case/space-insensitive) match


@dataclass(frozen=True)
class Lexicon:
    """Non-test vocabulary from lab_lexicon.json, folded for matching."""

    qualitative: Mapping[str, str]  # folded phrase -> canonical term
    flags: Mapping[str, str]  # printed flag -> HL7 code; single letters upper case only
    upper_bound_words: tuple[str, ...]
    lower_bound_words: tuple[str, ...]
    male_labels: frozenset[str]
    female_labels: frozenset[str]
    preferred_labels: frozenset[str]
    abnormal_labels: frozenset[str]
    not_established: tuple[str, ...]
    specimen_words: tuple[str, ...]
    urine_section_words: tuple[str, ...]
    urine_subsection_words: tuple[str, ...]
    demographic_words: frozenset[str]
    demographic_patterns: tuple[re.Pattern[str], ...]
    section_words: tuple[str, ...]
    column_header_words: frozenset[str]
    noise_words: tuple[str, ...]
    costs: OcrCosts
    short_costs: OcrCosts
    leader_characters: str
    leader_letters: str
    value_char_map: Mapping[str, str]
    decimal_marks: tuple[str, ...]
    lab_cues: tuple[str, ...]
    radiology_cues: tuple[str, ...]


class LabKnowledge:
    """Read-only after construction apart from memo caches (plain dicts: under the GIL two
    threads at worst compute one lookup twice), so one instance serves every worker."""

    def __init__(
        self,
        tests: Sequence[LabTest],
        units: Mapping[str, UnitInfo],
        lexicon: Lexicon,
        *,
        sources: Mapping[str, Mapping[str, Any]] | None = None,
        loinc_notice: str = "",
        version: str = "",
    ) -> None:
        self.tests: tuple[LabTest, ...] = tuple(tests)
        self.units: Mapping[str, UnitInfo] = MappingProxyType(dict(units))
        self.lexicon = lexicon
        self.sources: Mapping[str, Mapping[str, Any]] = MappingProxyType(dict(sources or {}))
        self.loinc_notice = loinc_notice
        self.version = version
        self._by_key = {t.key: t for t in self.tests}
        self._by_loinc: dict[str, LabTest] = {}
        for t in self.tests:
            for code in t.all_loincs:
                self._by_loinc.setdefault(code, t)
        self._alias_index: dict[str, tuple[LabTest, str]] = {}
        for t in self.tests:
            for alias in (t.name, *t.aliases):
                self._alias_index.setdefault(name_key(alias), (t, alias))
        self._shortlist = ShortlistIndex(k for k in self._alias_index if k)
        self._unit_index: dict[str, tuple[str, str]] = {}
        for info in self.units.values():
            for spelling in info.spellings:
                self._unit_index.setdefault(unit_key(spelling), (info.code, spelling))
        self._unit_spellings = [(unit_key(s), code, s) for code, info in self.units.items()
                                for s in info.spellings]
        self._qual_max_words = max((len(p.split()) for p in lexicon.qualitative), default=1)
        self._lookup_cache: dict[tuple[str, str | None, bool, bool], TestMatch | None] = {}
        self._urine_rx = _phrases_regex(lexicon.urine_section_words)
        self._urine_sub_rx = _phrases_regex(lexicon.urine_subsection_words)
        self._section_rx = _phrases_regex(lexicon.section_words)
        self._unit_cache: dict[str, UnitMatch | None] = {}

    # ------------------------------------------------------------------ tests
    def test(self, key: str) -> LabTest:
        return self._by_key[key]

    def by_loinc(self, code: str) -> LabTest | None:
        return self._by_loinc.get(code)

    def related_tests(self, test: LabTest) -> list[LabTest]:
        """Tests sharing a group with this one (neutrophil % and absolute count, serum and
        urine glucose): the parser switches between them when the unit or the kind of
        result says the name alone chose the wrong one."""
        if not test.groups:
            return []
        return [t for t in self.tests if t is not test and set(t.groups) & set(test.groups)]

    def lookup_test(
        self, name: str, *, specimen: str | None = None, fuzzy: bool = True, prefix: bool = True
    ) -> TestMatch | None:
        """The test a printed name means, or None. Tolerates case, punctuation, spacing,
        specimen words ("S.", "Serum", "Blood"), parenthesised abbreviations, a trailing
        dotted leader, and (with fuzzy) OCR damage within a tight threshold."""
        cache_key = (name, specimen, fuzzy, prefix)
        if cache_key in self._lookup_cache:
            return self._lookup_cache[cache_key]
        if len(self._lookup_cache) > 20000:  # bounded: a huge garbage document must not grow it
            self._lookup_cache.clear()
        found = self._lookup(name, specimen, fuzzy, prefix)
        self._lookup_cache[cache_key] = found
        return found

    def _lookup(self, name: str, specimen: str | None, fuzzy: bool,
                prefix: bool) -> TestMatch | None:
        variants = self._name_variants(name)
        if not variants:
            return None
        for text, method in variants:
            hit = self._exact(name_key(text), specimen)
            if hit is not None:
                return TestMatch(hit[0], hit[1], method)
        if fuzzy:
            for text, method in variants:
                hit2 = self._fuzzy(name_key(text), specimen)
                if hit2 is not None:
                    test, alias, cost = hit2
                    return TestMatch(test, alias, "fuzzy" if method == "exact" else method, cost)
        return self._prefix(name_key(variants[0][0]), specimen) if prefix else None

    def _exact(self, key: str, specimen: str | None) -> tuple[LabTest, str] | None:
        if not key:
            return None
        if specimen:
            scoped = self._alias_index.get(specimen + key)
            if scoped is not None:
                return scoped
        return self._alias_index.get(key)

    def _fuzzy(self, key: str, specimen: str | None) -> tuple[LabTest, str, float] | None:
        limit = name_threshold(len(key))
        if limit <= 0:
            return None
        costs = self.lexicon.short_costs if len(key) <= 5 else self.lexicon.costs
        scored: list[tuple[float, int, str]] = []
        for cand in self._shortlist.candidates(key):
            d = ocr_distance(key, cand, costs, limit)
            if d <= limit:
                test = self._alias_index[cand][0]
                prefer = 0 if (specimen and test.specimen == specimen) else 1
                scored.append((d, prefer, cand))
        if not scored:
            return None
        scored.sort()
        best_d, _, best = scored[0]
        best_test, alias = self._alias_index[best]
        for d, _, cand in scored[1:]:
            other = self._alias_index[cand][0]
            if other is not best_test and d - best_d < 0.3:
                return None  # two tests equally close: do not guess
        return best_test, alias, best_d

    def _prefix(self, key: str, specimen: str | None) -> TestMatch | None:
        """A known name followed by what OCR made of a dotted leader ("Hemoglobin eeceteee")."""
        best: tuple[int, str] | None = None
        for alias_key in self._alias_index:
            if (len(alias_key) >= 3 and key.startswith(alias_key) and len(alias_key) < len(key)
                    and (best is None or len(alias_key) > best[0])):
                best = (len(alias_key), alias_key)
        if best is None:
            return None
        if not self.is_leader_junk(key[best[0]:]):
            return None
        test, alias = self._alias_index[best[1]]
        if specimen:
            scoped = self._alias_index.get(specimen + best[1])
            if scoped is not None:
                test, alias = scoped
        return TestMatch(test, alias, "prefix", 0.5)

    def is_leader_junk(self, text: str) -> bool:
        """What OCR leaves of a dotted leader: runs of dots and colons, or letters like
        "eeceteeesee" that dots turn into."""
        if not text:
            return True
        lex = self.lexicon
        if re.search(r"[" + re.escape(lex.leader_characters) + r"]{2,}", text):
            return True
        if any(c.isupper() for c in text):
            return False  # dots read as letters come out lower case; "Casts" is a word
        letters = [c for c in fold(text) if not c.isspace()]
        if len(letters) < 3:
            return False
        junk = sum(1 for c in letters if c in lex.leader_letters or c in lex.leader_characters)
        return junk / len(letters) >= 0.7

    def _name_variants(self, name: str) -> list[tuple[str, str]]:
        text = " ".join(name.split())
        if not any(c.isalpha() for c in text):
            return []
        out: list[tuple[str, str]] = [(text, "exact")]
        stripped = self._strip_specimen(text)
        if stripped and stripped != text:
            out.append((stripped, "specimen"))
        for base in (text, stripped):
            if base and "(" in base:
                outside = _PAREN.sub(" ", base).strip(" ,-:")
                if outside and outside != base:
                    out.append((outside, "parenthetical"))
                    s2 = self._strip_specimen(outside)
                    if s2 and s2 != outside:
                        out.append((s2, "parenthetical"))
                for inside in _PAREN.findall(base):
                    if inside.strip():
                        out.append((inside.strip(), "parenthetical"))
        seen: set[str] = set()
        unique = []
        for t, m in out:
            k = name_key(t)
            if k and k not in seen:
                seen.add(k)
                unique.append((t, m))
        return unique

    def _strip_specimen(self, text: str) -> str:
        """Drop specimen words at either end ("S. Creatinine", "Calcium, Serum"). Works on the
        folded text: the result only feeds key lookups."""
        current = " ".join(fold(text).split())
        for _ in range(3):
            changed = False
            for w in self.lexicon.specimen_words:
                esc = re.escape(w.rstrip("."))
                m = re.match(r"^" + esc + r"\.?[\s.,:-]+", current)
                if m and any(c.isalpha() for c in current[m.end():]):
                    current, changed = current[m.end():], True
                    break
                m = re.search(r"[\s,(-]+" + esc + r"\.?\)?$", current)
                if m and any(c.isalpha() for c in current[: m.start()]):
                    current, changed = current[: m.start()], True
                    break
            if not changed:
                break
        return current.strip(" ,.-:")

    # ------------------------------------------------------------------ units
    def unit_code(self, printed: str | None) -> str | None:
        """The UCUM code for a printed spelling, exact apart from case and spaces."""
        if not printed:
            return None
        hit = self._unit_index.get(unit_key(printed))
        return hit[0] if hit else None

    def unit_display(self, code: str | None) -> str | None:
        info = self.units.get(code) if code else None
        return info.display if info else None

    def match_unit(self, printed: str, *, max_cost: float | None = None) -> UnitMatch | None:
        """The registry spelling an OCR-damaged unit most likely was ("Q/dL" -> "g/dL")."""
        key = unit_key(printed)
        if not key:
            return None
        exact = self._unit_index.get(key)
        if exact is not None:
            return UnitMatch(exact[0], exact[1], 0.0)
        if max_cost is None and key in self._unit_cache:
            return self._unit_cache[key]
        # A damaged unit differs by a confusion or two; a missing tail ("mL/min/1.73") is a
        # different printed form, not damage, and costs more than the cap.
        limit = max_cost if max_cost is not None else min(1.5, max(0.85, 0.26 * len(key)))
        best: tuple[float, int, str, str] | None = None
        for order, (skey, code, spelling) in enumerate(self._unit_spellings):
            if abs(len(skey) - len(key)) > 3:
                continue
            d = ocr_distance(key, skey, self.lexicon.costs, limit)
            if d <= limit and (best is None or (d, order) < (best[0], best[1])):
                best = (d, order, code, spelling)
        found = None if best is None else UnitMatch(best[2], best[3], best[0])
        if max_cost is None:
            if len(self._unit_cache) > 5000:
                self._unit_cache.clear()
            self._unit_cache[key] = found
        return found

    def unit_spellings(self, code: str) -> tuple[str, ...]:
        info = self.units.get(code)
        return info.spellings if info else ()

    # ------------------------------------------------------------------ words
    def qualitative(self, text: str) -> str | None:
        """The canonical result word ("Nil" -> "negative", "++" -> "2+"), or None."""
        return self.lexicon.qualitative.get(" ".join(fold(text).split()).strip(" .,;:"))

    @property
    def qualitative_max_words(self) -> int:
        return self._qual_max_words

    def flag_code(self, text: str) -> str | None:
        """HL7-style code of a printed flag ("High" -> "H", "*" -> "A"), or None."""
        t = text.strip()
        if not t:
            return None
        if t in self.lexicon.flags:
            return self.lexicon.flags[t]
        if len(t) > 1 or not t.isalpha():
            return self.lexicon.flags.get(" ".join(fold(t).split()))
        return None

    def section_specimen(self, heading: str) -> str | bool | None:
        """'urine' for a urine heading, True for a urine sub-heading (keep the context),
        None for any other heading (the context ends)."""
        low = " ".join(fold(heading).replace("-", " ").split())
        if self._urine_rx.search(low):
            return "urine"
        if self._urine_sub_rx.search(low):
            return True
        return None

    def is_section_heading(self, text: str) -> bool:
        """Whether a line names a report section or panel ("LIPID PROFILE", "Biochemistry")."""
        return self._section_rx.search(" ".join(fold(text).split())) is not None


def _phrases_regex(phrases: Iterable[str]) -> re.Pattern[str]:
    """One regex for a list of whole-word phrases (longest first)."""
    alts = sorted({re.escape(p) for p in phrases if p}, key=len, reverse=True)
    if not alts:
        return re.compile(r"(?!x)x")
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alts) + r")(?![a-z0-9])")


# ---------------------------------------------------------------------- loading


def load_lab_knowledge(resources_dir: Path) -> LabKnowledge:
    """Load and validate the knowledge files. `resources_dir` is the app's resources folder
    (containing knowledge/) or the knowledge folder itself. Raises KnowledgeError."""
    base = Path(resources_dir)
    folder = base / "knowledge" if (base / "knowledge" / TESTS_FILE).exists() else base
    tests_doc = _read_json(folder / TESTS_FILE)
    units_doc = _read_json(folder / UNITS_FILE)
    lexicon_doc = _read_json(folder / LEXICON_FILE)
    units = _parse_units(units_doc)
    sources = tests_doc.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise KnowledgeError(f"{TESTS_FILE}: 'sources' must name the sources of the ranges")
    notice = tests_doc.get("loinc_notice")
    if not isinstance(notice, str) or "loinc" not in notice.lower():
        raise KnowledgeError(f"{TESTS_FILE}: the LOINC copyright notice is missing")
    tests = [_parse_test(raw, units, sources, i) for i, raw in enumerate(_list(tests_doc, "tests"))]
    _check_unique(tests)
    lexicon = _parse_lexicon(lexicon_doc)
    return LabKnowledge(tests, units, lexicon, sources=sources, loinc_notice=notice,
                        version=str(tests_doc.get("version", "")))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KnowledgeError(f"knowledge file not found: {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KnowledgeError(f"{path.name} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise KnowledgeError(f"{path.name}: expected a JSON object at the top")
    return data


def _list(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    if not isinstance(value, list):
        raise KnowledgeError(f"'{key}' must be a list")
    return value


def _parse_units(doc: Mapping[str, Any]) -> dict[str, UnitInfo]:
    raw = doc.get("units")
    if not isinstance(raw, dict) or not raw:
        raise KnowledgeError(f"{UNITS_FILE}: 'units' must map UCUM codes to spellings")
    units: dict[str, UnitInfo] = {}
    owner: dict[str, str] = {}
    for code, spec in raw.items():
        if not isinstance(spec, dict):
            raise KnowledgeError(f"{UNITS_FILE}: unit {code!r} must be an object")
        display = spec.get("display")
        spellings = spec.get("spellings")
        if not isinstance(display, str) or not isinstance(spellings, list) or not spellings:
            raise KnowledgeError(f"{UNITS_FILE}: unit {code!r} needs a display and spellings")
        if display not in spellings:
            raise KnowledgeError(f"{UNITS_FILE}: unit {code!r}: display must be a spelling")
        for s in spellings:
            k = unit_key(str(s))
            if owner.setdefault(k, code) != code:
                raise KnowledgeError(
                    f"{UNITS_FILE}: spelling {s!r} belongs to both {owner[k]} and {code}")
        units[code] = UnitInfo(code, display, tuple(str(s) for s in spellings))
    return units


def _num(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise KnowledgeError(f"{what} must be a number or null, not {value!r}")
    return float(value)


def _check_source(value: Any, sources: Mapping[str, Any], what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise KnowledgeError(f"{what}: a source is required")
    for part in value.split(";"):
        ident = part.strip().split(" ")[0]
        if ident not in sources:
            raise KnowledgeError(f"{what}: unknown source {ident!r}")
    return value


def _parse_test(raw: Any, units: Mapping[str, UnitInfo], sources: Mapping[str, Any],
                index: int) -> LabTest:
    if not isinstance(raw, dict):
        raise KnowledgeError(f"{TESTS_FILE}: test #{index} must be an object")
    key = raw.get("key")
    where = f"{TESTS_FILE}: test {key or '#' + str(index)!s}"
    name = raw.get("name")
    loinc = raw.get("loinc")
    if not isinstance(key, str) or not key or not isinstance(name, str) or not name:
        raise KnowledgeError(f"{where}: 'key' and 'name' are required")
    if not isinstance(loinc, str) or not loinc_check_digit_ok(loinc):
        raise KnowledgeError(f"{where}: LOINC {loinc!r} is missing or fails its check digit")
    equiv = tuple(raw.get("loinc_equiv") or ())
    for code in equiv:
        if not isinstance(code, str) or not loinc_check_digit_ok(code):
            raise KnowledgeError(f"{where}: equivalent LOINC {code!r} fails its check digit")
    aliases = raw.get("aliases")
    if not isinstance(aliases, list) or not aliases or not all(isinstance(a, str) for a in aliases):
        raise KnowledgeError(f"{where}: 'aliases' must be a non-empty list of names")
    kind = raw.get("kind", "quantitative")
    if kind not in KINDS:
        raise KnowledgeError(f"{where}: kind must be one of {', '.join(KINDS)}")
    unit = raw.get("unit")
    if unit is not None and unit not in units:
        raise KnowledgeError(f"{where}: unit {unit!r} is not in {UNITS_FILE}")
    conversions: dict[str, Conversion] = {}
    for code, factor in (raw.get("units") or {}).items():
        if code not in units:
            raise KnowledgeError(f"{where}: unit {code!r} is not in {UNITS_FILE}")
        if isinstance(factor, list) and len(factor) == 2:
            f, off = _num(factor[0], where), _num(factor[1], where)
        else:
            f, off = _num(factor, where), 0.0
        if not f or f <= 0:
            raise KnowledgeError(f"{where}: conversion factor for {code} must be positive")
        conversions[code] = Conversion(f, off or 0.0)
    if unit is not None and (unit not in conversions or conversions[unit] != Conversion(1.0)):
        raise KnowledgeError(f"{where}: the canonical unit must convert with factor 1")
    refs = []
    for r in raw.get("ref") or ():
        sex = r.get("sex", "any") if isinstance(r, dict) else None
        if sex not in SEXES:
            raise KnowledgeError(f"{where}: ref sex must be one of {', '.join(SEXES)}")
        low, high = _num(r.get("low"), where), _num(r.get("high"), where)
        if low is None and high is None:
            raise KnowledgeError(f"{where}: a reference interval needs a low or a high")
        if low is not None and high is not None and not low < high:
            raise KnowledgeError(f"{where}: reference low {low} must be below high {high}")
        refs.append(RefInterval(sex, low, high))
    normal = tuple(str(v) for v in raw.get("normal_values") or ())
    if kind == "qualitative" and not normal:
        raise KnowledgeError(f"{where}: a qualitative test needs normal_values")
    if kind != "qualitative" and not refs:
        raise KnowledgeError(f"{where}: a numeric test needs a reference interval")
    ref_source = None
    if refs or normal:
        ref_source = _check_source(raw.get("ref_source"), sources, where)
    crit_low = _num(raw.get("critical_low"), where)
    crit_high = _num(raw.get("critical_high"), where)
    crit_source = None
    if crit_low is not None or crit_high is not None:
        crit_source = _check_source(raw.get("critical_source"), sources, where)
    plausible = None
    if raw.get("plausible") is not None:
        p = raw["plausible"]
        if not isinstance(p, list) or len(p) != 2:
            raise KnowledgeError(f"{where}: plausible must be [min, max]")
        lo, hi = _num(p[0], where), _num(p[1], where)
        if lo is None or hi is None or not lo < hi:
            raise KnowledgeError(f"{where}: plausible min must be below max")
        plausible = (lo, hi)
    alias_loinc = {}
    for alias, code in (raw.get("alias_loinc") or {}).items():
        if alias not in aliases or not loinc_check_digit_ok(code):
            raise KnowledgeError(f"{where}: alias_loinc {alias!r} -> {code!r} is not valid")
        alias_loinc[name_key(alias)] = code
    groups = tuple(raw.get("groups") or ())
    return LabTest(
        key=key, name=name, loinc=loinc, loinc_equiv=equiv, aliases=tuple(aliases), kind=kind,
        specimen=str(raw.get("specimen", "blood")), unit=unit,
        units=MappingProxyType(conversions), ref=tuple(refs), ref_source=ref_source,
        normal_values=normal, critical_low=crit_low, critical_high=crit_high,
        critical_source=crit_source, plausible=plausible, groups=groups,
        alias_loinc=MappingProxyType(alias_loinc), notes=raw.get("notes"),
    )


def _check_unique(tests: Iterable[LabTest]) -> None:
    keys: set[str] = set()
    owner: dict[str, str] = {}
    for t in tests:
        if t.key in keys:
            raise KnowledgeError(f"{TESTS_FILE}: test key {t.key!r} appears twice")
        keys.add(t.key)
        for alias in {t.name, *t.aliases}:
            k = name_key(alias)
            if not k:
                raise KnowledgeError(f"{TESTS_FILE}: test {t.key}: alias {alias!r} is empty")
            if owner.setdefault(k, t.key) != t.key:
                raise KnowledgeError(
                    f"{TESTS_FILE}: alias {alias!r} names both {owner[k]} and {t.key}")


def _strings(doc: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = doc.get(key) or ()
    if not isinstance(value, list | tuple):
        raise KnowledgeError(f"{LEXICON_FILE}: '{key}' must be a list")
    return tuple(" ".join(fold(str(v)).split()) for v in value)


def _parse_lexicon(doc: Mapping[str, Any]) -> Lexicon:
    qual: dict[str, str] = {}
    for canonical, words in (doc.get("qualitative_values") or {}).items():
        for w in [canonical, *words]:
            qual[" ".join(fold(str(w)).split())] = str(canonical)
    flags: dict[str, str] = {}
    for code, words in (doc.get("flags") or {}).items():
        for w in words:
            w = str(w)
            # single letters stay case-sensitive: a lower-case "l" is more often a damaged "1"
            flags[w if len(w) == 1 and w.isalpha() else " ".join(fold(w).split())] = str(code)
    bounds = doc.get("range_bounds") or {}
    labels = doc.get("range_labels") or {}
    confusions = doc.get("ocr_confusions") or {}
    costs = OcrCosts.from_lexicon(confusions)
    short_spec = dict(confusions)
    short_spec["groups"] = confusions.get("short_groups") or []
    short_costs = OcrCosts.from_lexicon(short_spec)
    repairs = doc.get("value_character_repairs") or {}
    patterns = []
    for p in doc.get("demographic_patterns") or ():
        try:
            patterns.append(re.compile(str(p), re.IGNORECASE))
        except re.error as exc:
            raise KnowledgeError(f"{LEXICON_FILE}: bad demographic pattern {p!r}: {exc}") from exc
    return Lexicon(
        qualitative=MappingProxyType(qual),
        flags=MappingProxyType(flags),
        upper_bound_words=tuple(sorted(_strings(bounds, "upper"), key=len, reverse=True)),
        lower_bound_words=tuple(sorted(_strings(bounds, "lower"), key=len, reverse=True)),
        male_labels=frozenset(_strings(labels, "male")),
        female_labels=frozenset(_strings(labels, "female")),
        preferred_labels=frozenset(_strings(labels, "preferred")),
        abnormal_labels=frozenset(_strings(labels, "abnormal")),
        not_established=_strings(doc, "not_established"),
        specimen_words=tuple(sorted(_strings(doc, "specimen_words"), key=len, reverse=True)),
        urine_section_words=_strings(doc, "urine_section_words"),
        urine_subsection_words=_strings(doc, "urine_subsection_words"),
        demographic_words=frozenset(_strings(doc, "demographic_words")),
        demographic_patterns=tuple(patterns),
        section_words=_strings(doc, "section_words"),
        column_header_words=frozenset(_strings(doc, "column_header_words")),
        noise_words=_strings(doc, "text_noise_words"),
        costs=costs,
        short_costs=short_costs,
        leader_characters=str(doc.get("leader_characters", ".:")),
        leader_letters=str(doc.get("leader_letters", "")),
        value_char_map=MappingProxyType({str(k): str(v) for k, v in
                                         (repairs.get("map") or {}).items()}),
        decimal_marks=tuple(str(m) for m in repairs.get("decimal_marks") or ()),
        lab_cues=_strings(doc, "lab_cues"),
        radiology_cues=_strings(doc, "radiology_cues"),
    )


__all__ = [
    "Conversion",
    "KnowledgeError",
    "LabKnowledge",
    "LabTest",
    "Lexicon",
    "RefInterval",
    "TestMatch",
    "UnitInfo",
    "UnitMatch",
    "load_lab_knowledge",
    "loinc_check_digit_ok",
]
