"""Reading printed numbers and result tokens ("12.0H", "<0.01", "2,50,000", "85,6", "Nil")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .knowledge import LabKnowledge

# Grouped thousands: Western (4,500 / 11,000) and Indian (1,50,000) digit grouping.
_GROUPED = r"\d{1,3}(?:,\d{2,3})*,\d{3}"
NUMBER = rf"(?:{_GROUPED}(?:\.\d+)?|\d+(?:[.,]\d+)?|\.\d+)"
COMPARATOR = r"(?:<=|>=|=<|=>|<|>|≤|≥)"
_VALUE = re.compile(
    rf"^(?P<pre>\*{{1,2}}|↑|↓)?(?P<cmp>{COMPARATOR})?(?P<num>{NUMBER})(?P<pct>%)?"
    r"(?P<flag>HH|LL|H|L|\*{1,2}|↑|↓)?$"
)
_GLUED_UNIT = re.compile(
    rf"^(?P<num>{COMPARATOR}?{NUMBER}|\d{{1,3}}-\d{{1,3}})(?P<unit>[/a-zA-Zµμ].*)$")
_GROUPED_ONLY = re.compile(rf"^{_GROUPED}(?:\.\d+)?$")
_SEMIQUANT = re.compile(r"^(?P<lo>\d{1,3})\s*-\s*(?P<hi>\d{1,3})$")

_CMP_NORMAL = {"=<": "<=", "=>": ">=", "≤": "<=", "≥": ">="}


def parse_number(text: str) -> float | None:
    """A printed number as a float: grouped thousands drop their commas, a lone comma is a
    decimal comma ("85,6" -> 85.6); None for anything else."""
    t = text.strip()
    if not t or not re.fullmatch(NUMBER, t):
        return None
    # Grouped thousands lose their commas; any other comma is a decimal comma.
    t = t.replace(",", "") if _GROUPED_ONLY.match(t) else t.replace(",", ".")
    try:
        return float(t)
    except ValueError:
        return None


@dataclass(frozen=True)
class ValueToken:
    text: str  # as printed (flag suffix removed)
    value: float | None  # None for qualitative / semi-quantitative results
    comparator: str | None = None  # "<", "<=", ">", ">="
    flag: str | None = None  # a flag glued to the number ("12.0H")
    unit: str | None = None  # a unit glued to the number ("6.4%")
    qualitative: str | None = None  # canonical term ("negative", "2+")
    span: tuple[float, float] | None = None  # "2-4" per high-power field
    words: int = 1  # tokens the value occupies


def read_number_token(token: str) -> ValueToken | None:
    """A numeric result token, or None. Trailing commas and semicolons are punctuation."""
    tok = token.rstrip(",;")
    m = _VALUE.match(tok)
    if not m:
        return None
    value = parse_number(m.group("num"))
    if value is None:
        return None
    cmp_ = m.group("cmp")
    cmp_ = _CMP_NORMAL.get(cmp_, cmp_) if cmp_ else None
    text = (cmp_ or "") + m.group("num")
    return ValueToken(text=text, value=value, comparator=cmp_,
                      flag=m.group("flag") or m.group("pre"), unit="%" if m.group("pct") else None)


def split_glued_unit(token: str) -> tuple[str, str] | None:
    """'13.5g/dL' -> ('13.5', 'g/dL'), '2-4/hpf' -> ('2-4', '/hpf'); the caller checks that
    the unit is one it knows."""
    m = _GLUED_UNIT.match(token)
    if not m:
        return None
    return m.group("num"), m.group("unit")


def read_semiquantitative(token: str) -> ValueToken | None:
    """A count per field printed as a span ("2-4"), for urine microscopy."""
    m = _SEMIQUANT.match(token.strip())
    if not m:
        return None
    lo, hi = float(m.group("lo")), float(m.group("hi"))
    if lo > hi:
        return None
    return ValueToken(text=token.strip(), value=None, span=(lo, hi))


def read_qualitative(tokens: list[str], start: int, knowledge: LabKnowledge) -> ValueToken | None:
    """The longest result phrase from the lexicon starting at tokens[start] ("Pale Yellow")."""
    longest = min(knowledge.qualitative_max_words, len(tokens) - start)
    for n in range(longest, 0, -1):
        phrase = " ".join(tokens[start : start + n])
        term = knowledge.qualitative(phrase)
        if term is not None:
            return ValueToken(text=phrase.strip(" .,;:"), value=None, qualitative=term, words=n)
    return None


def format_number(value: float) -> str:
    """Short display of a converted bound (knowledge-base intervals in the printed unit)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"
