"""Printed reference intervals: "3.5-5.0", "3.5 to 5.0", "(<200)", "> 60", "Up to 40",
"Adult: 0.6-1.2", "M: 13-17 F: 12-15", and a qualitative "Negative"."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .knowledge import LabKnowledge
from .textmatch import fold
from .values import parse_number

# A number as printed inside a range: OCR turns some decimal points into colons ("33:0").
RANGE_NUMBER = r"(?:\d{1,3}(?:,\d{2,3})*,\d{3}(?:\.\d+)?|\d+(?:[.,:]\d+)?|\.\d+)"
# OCR doubles or garbles the dash ("3.5-~-5.2", "3.5: = 7.2"): a few separator marks in a row.
_SEP = r"(?:\s*[:;,]?\s*(?:(?:-|–|—|~|=|\.\.)\s*){1,3}|\s+to\s+)"
_OPEN = r"(?P<open>[(\[{]\s*)?"
_CLOSE = r"(?:\s*(?P<close>[)\]}]))?"


@dataclass(frozen=True)
class RangeSpec:
    low: float | None
    high: float | None
    text: str  # as printed
    label: str | None = None  # "male", "adult", "desirable"...
    qualitative: str | None = None  # canonical term of a qualitative reference ("negative")
    repaired: str | None = None

    @property
    def numeric(self) -> bool:
        return self.low is not None or self.high is not None


def range_number(text: str) -> tuple[float | None, bool]:
    """(value, repaired): a colon between digits is a damaged decimal point."""
    repaired = False
    if ":" in text:
        text = text.replace(":", ".")
        repaired = True
    return parse_number(text), repaired


class RangeGrammar:
    """Regexes built from the lexicon's bound words ("up to", "less than", ...)."""

    def __init__(self, knowledge: LabKnowledge) -> None:
        lex = knowledge.lexicon
        self.knowledge = knowledge
        upper = "|".join(_word_pattern(w) for w in lex.upper_bound_words)
        lower = "|".join(_word_pattern(w) for w in lex.lower_bound_words)
        self.between = re.compile(
            _OPEN + rf"(?P<lo>{RANGE_NUMBER}){_SEP}(?P<hi>{RANGE_NUMBER})" + _CLOSE, re.IGNORECASE)
        # Two numbers in brackets with only a space between: the dash was lost ("(27.0 33:0)").
        self.between_spaced = re.compile(
            r"(?P<open>[(\[]\s*)" + rf"(?P<lo>{RANGE_NUMBER})\s+(?P<hi>{RANGE_NUMBER})"
            + r"\s*(?P<close>[)\]])")
        self.bound = re.compile(
            _OPEN + rf"(?:(?P<up>{upper})|(?P<down>{lower}))\s*(?P<b>{RANGE_NUMBER})" + _CLOSE,
            re.IGNORECASE)

    def match_at(self, text: str, pos: int) -> tuple[RangeSpec, int] | None:
        """A numeric range starting exactly at pos: (spec, end)."""
        for rx in (self.between, self.between_spaced):
            m = rx.match(text, pos)
            if m:
                lo, r1 = range_number(m.group("lo"))
                hi, r2 = range_number(m.group("hi"))
                if lo is None or hi is None:
                    continue
                end = _after_word(text, m.end())
                if end is None:
                    continue
                note = "range decimal point read from ':'" if (r1 or r2) else None
                if rx is self.between_spaced:
                    note = "range dash lost in the print, read from the bracketed pair"
                return RangeSpec(lo, hi, text[pos:end].strip(), repaired=note), end
        m = self.bound.match(text, pos)
        if m:
            b, rep = range_number(m.group("b"))
            end = _after_word(text, m.end())
            if b is not None and end is not None:
                note = "range decimal point read from ':'" if rep else None
                if m.group("up"):
                    return RangeSpec(None, b, text[pos:end].strip(), repaired=note), end
                return RangeSpec(b, None, text[pos:end].strip(), repaired=note), end
        return None

    def label_kind(self, label: str) -> str | None:
        """'male' | 'female' | 'preferred' | 'abnormal' | None for a range label."""
        low = " ".join(fold(label).replace(":", " ").replace(".", " ").split()).strip(" -/")
        lex = self.knowledge.lexicon
        if not low:
            return None
        if low in lex.male_labels:
            return "male"
        if low in lex.female_labels:
            return "female"
        if low in lex.preferred_labels:
            return "preferred"
        if low in lex.abnormal_labels:
            return "abnormal"
        return None


def _word_pattern(word: str) -> str:
    escaped = r"\s*".join(re.escape(part) for part in word.split())
    return escaped + (r"(?![a-z])" if word[-1:].isalpha() else "")


def _after_word(text: str, end: int) -> int | None:
    """A range must end at a token boundary: "4.5-11.0x" is not a range."""
    if end >= len(text) or not text[end].isalnum():
        return end
    return None


def choose_range(
    ranges: Sequence[RangeSpec], gender: str | None, grammar: RangeGrammar
) -> RangeSpec | None:
    """The interval that applies to this patient among those printed for one test: the one
    labelled with the patient's sex, else one labelled normal/adult/desirable, else the first
    unlabelled one. Categories such as "Borderline" or "High" are never the interval."""
    if not ranges:
        return None
    sex = (gender or "").strip().lower()
    kinds = [(grammar.label_kind(r.label) if r.label else None, r) for r in ranges]
    for kind, r in kinds:
        if kind in ("male", "female") and kind == sex:
            return r
    for kind, r in kinds:
        if kind == "preferred":
            return r
    for _kind, r in kinds:
        if r.label is None:
            return r
    sexed = [r for kind, r in kinds if kind in ("male", "female") and r.numeric]
    if sexed and sex not in ("male", "female"):
        # Sex unknown: the union keeps a value normal for either sex from being flagged.
        lows = [r.low for r in sexed]
        highs = [r.high for r in sexed]
        low = None if any(v is None for v in lows) else min(v for v in lows if v is not None)
        high = None if any(v is None for v in highs) else max(v for v in highs if v is not None)
        return RangeSpec(low, high, " ".join(r.text for r in sexed))
    for kind, r in kinds:
        if kind is None:
            return r
    return None
