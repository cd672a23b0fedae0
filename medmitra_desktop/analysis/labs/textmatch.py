"""Fuzzy matching for OCR-damaged test names and units.

Tesseract damages printed reports in predictable ways (O for 0, l for 1, rn for m, a dotted
leader read as "eeceeteee"), so a plain edit distance is either too strict or too loose. The
distance here charges less for the confusions listed in the lexicon (data), and a trigram
index keeps the number of distance computations per lookup small.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

_MICRO = str.maketrans({"\u00b5": "u", "\u03bc": "u"})
_SPELLING_FIXES = (
    # British and American spellings print side by side on Indian and US reports.
    ("haem", "hem"),
    ("leuco", "leuko"),
    ("colour", "color"),
    ("oesin", "eosin"),
)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower case, compatibility-normalised, micro sign as u: the form all matching uses."""
    text = unicodedata.normalize("NFKC", text).translate(_MICRO)
    return text.lower()


def name_key(text: str) -> str:
    """The key two spellings of one test name share: "S. Haemoglobin (Hb)" -> "shemoglobinhb".

    '#' and '%' carry meaning in differential counts ("Neutrophils #" is the absolute count),
    so they become words before punctuation goes.
    """
    text = fold(text).replace("#", " abs ").replace("%", " pct ")
    for old, new in _SPELLING_FIXES:
        text = text.replace(old, new)
    return _NON_ALNUM.sub("", text)


def unit_key(text: str) -> str:
    """Units compare without case and spaces ("mg / dL" == "mg/dl")."""
    return "".join(fold(text).split())


@dataclass(frozen=True)
class OcrCosts:
    """Edit costs for OCR confusions, read from the lexicon."""

    substitution: float = 0.4
    pair: float = 0.5
    thin_indel: float = 0.5
    groups: tuple[frozenset[str], ...] = ()
    pairs: Mapping[str, frozenset[str]] = field(default_factory=dict)
    thin: frozenset[str] = frozenset()
    equal: frozenset[frozenset[str]] = frozenset()

    @classmethod
    def from_lexicon(cls, spec: Mapping[str, object]) -> OcrCosts:
        groups = tuple(frozenset(fold(c) for c in g) for g in _seq(spec.get("groups")))
        pairs: dict[str, set[str]] = {}
        for a, b in (tuple(p) for p in _seq(spec.get("pairs"))):
            pairs.setdefault(fold(a), set()).add(fold(b))
            pairs.setdefault(fold(b), set()).add(fold(a))
        return cls(
            substitution=float(spec.get("substitution", 0.4)),  # type: ignore[arg-type]
            pair=float(spec.get("pair", 0.5)),  # type: ignore[arg-type]
            thin_indel=float(spec.get("thin_indel", 0.5)),  # type: ignore[arg-type]
            groups=groups,
            pairs={k: frozenset(v) for k, v in pairs.items()},
            thin=frozenset(fold(c) for c in _seq(spec.get("thin"))),
            equal=frozenset(frozenset(fold(c) for c in e) for e in _seq(spec.get("equal"))),
        )

    def sub(self, a: str, b: str) -> float:
        if a == b:
            return 0.0
        pair = frozenset((a, b))
        if pair in self.equal:
            return 0.0
        for group in self.groups:
            if a in group and b in group:
                return self.substitution
        return 1.0

    def indel(self, c: str) -> float:
        return self.thin_indel if c in self.thin else 1.0


def _seq(value: object) -> Sequence[object]:
    return value if isinstance(value, list | tuple) else ()


def ocr_distance(a: str, b: str, costs: OcrCosts, limit: float = 99.0) -> float:
    """Weighted edit distance; gives up (returns > limit) as soon as no path can stay under it."""
    n, m = len(a), len(b)
    cheapest_indel = min(costs.thin_indel, 1.0) if costs.thin else 1.0
    if abs(n - m) * cheapest_indel > limit:
        return limit + 1.0
    prev2: list[float] | None = None
    prev = [0.0] * (m + 1)
    for j in range(1, m + 1):
        prev[j] = prev[j - 1] + costs.indel(b[j - 1])
    for i in range(1, n + 1):
        cur = [prev[0] + costs.indel(a[i - 1])] + [0.0] * m
        ai = a[i - 1]
        for j in range(1, m + 1):
            bj = b[j - 1]
            best = prev[j - 1] + costs.sub(ai, bj)
            d = prev[j] + costs.indel(ai)
            if d < best:
                best = d
            ins = cur[j - 1] + costs.indel(bj)
            if ins < best:
                best = ins
            # two printed characters read as one, or one read as two ("rn" <-> "m")
            if i >= 2 and prev2 is not None:
                two = a[i - 2 : i]
                if bj in costs.pairs.get(two, ()):
                    cand = prev2[j - 1] + costs.pair
                    if cand < best:
                        best = cand
            if j >= 2:
                two = b[j - 2 : j]
                if ai in costs.pairs.get(two, ()):
                    cand = prev[j - 2] + costs.pair
                    if cand < best:
                        best = cand
            cur[j] = best
        if min(cur) > limit:
            return limit + 1.0
        prev2, prev = prev, cur
    return prev[m]


def _trigrams(key: str) -> set[str]:
    padded = f"^{key}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


class ShortlistIndex:
    """Candidate keys that share enough trigrams with a query, so that the expensive distance
    runs on a handful of keys instead of every alias."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = sorted(set(keys))
        self._grams: dict[str, list[int]] = {}
        for idx, key in enumerate(self._keys):
            for g in _trigrams(key):
                self._grams.setdefault(g, []).append(idx)
        self._short = [k for k in self._keys if len(k) <= 5]

    def candidates(self, query: str, limit: int = 12) -> list[str]:
        if len(query) <= 5:
            # Trigrams say little about three-letter abbreviations; compare with all short keys.
            return [k for k in self._short if abs(len(k) - len(query)) <= 2]
        counts: dict[int, int] = {}
        for g in _trigrams(query):
            for idx in self._grams.get(g, ()):
                counts[idx] = counts.get(idx, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        out = []
        for idx, shared in ranked[: limit * 2]:
            key = self._keys[idx]
            if shared >= 2 and abs(len(key) - len(query)) <= max(3, len(query) // 3):
                out.append(key)
            if len(out) >= limit:
                break
        return out


def name_threshold(length: int) -> float:
    """How much damage a name of this many key characters may carry and still be matched.
    Short abbreviations get one cheap confusion at most: MCV vs MCH differ by one letter."""
    if length <= 2:
        return 0.0
    if length <= 3:
        return 0.45
    if length <= 5:
        return 0.85
    if length <= 9:
        return 1.5
    # Long names: OCR damage is mostly cheap confusions; two whole letters inserted make
    # another word ("phosphate" vs "phosphatase").
    return min(0.17 * length, 3.0)
