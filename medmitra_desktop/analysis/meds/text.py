"""Tokens, phrase patterns and sentence segments shared by the medication and allergy readers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Letters and digits are separate tokens so that "Glycomet500mg" and "Vit.D3" read like
# "Glycomet 500 mg" and "Vit D 3"; aliases are tokenised the same way.
_TOKEN = re.compile(r"[^\W\d_]+|\d+")


@dataclass(frozen=True, slots=True)
class Token:
    low: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    return [Token(m.group().casefold(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def term_key(term: str) -> tuple[str, ...]:
    return tuple(m.group().casefold() for m in _TOKEN.finditer(term))


# What may sit inside one multi-word name: "Telma-H", "Co-amoxiclav", "amoxicillin + clavulanic
# acid", "Dr. Reddy's". Commas, semicolons and line breaks never do, so that a list
# "metformin, glimepiride" is two drugs and not the combination product.
_JOINER = re.compile(r"[ \t]{0,2}[-/+&][ \t]{0,2}|[ \t]{1,2}|'|\.|")
_ABBREV_JOINER = re.compile(r"\.[ \t]{0,2}")


def joins(text: str, left: Token, right: Token) -> bool:
    gap = text[left.end : right.start]
    if _JOINER.fullmatch(gap):
        return True
    # "Vit. D3", "Dr. Reddy's": a dot and a space after a short abbreviation, not a sentence end.
    return len(left.low) <= 3 and bool(_ABBREV_JOINER.fullmatch(gap))


def _term_parts(term: str, *, dots_optional: bool) -> tuple[str, str]:
    out: list[str] = []
    term = term.strip()
    for i, ch in enumerate(term.casefold()):
        if ch.isspace():
            out.append(r"[\s\-]+")
        elif ch == "-" and 0 < i < len(term) - 1:
            out.append(r"[\s\-]?")  # "once-daily" = "once daily" = "oncedaily"
        elif ch == ".":
            out.append(r"\.?" if dots_optional else r"\.")
        elif ch == "/":
            out.append(r"\s*/\s*")
        elif ch == "'":
            out.append(r"['’]?")
        else:
            out.append(re.escape(ch))
    # A term starting or ending with a letter must not touch another letter, one with a digit
    # not another digit; a digit next to a letter is a boundary ("500mg", "Glycomet500").
    # "%" or "×" need no boundary at all.
    body = "".join(out)
    return _edge(term[:1], before=True), body + _edge(term.rstrip(".")[-1:], before=False)


def _edge(ch: str, *, before: bool) -> str:
    if ch.isdigit():
        return r"(?<!\d)" if before else r"(?!\d)"
    if ch.isalpha():
        return r"(?<![^\W\d_])" if before else r"(?![^\W\d_])"
    return ""


def phrases_regex(terms: Iterable[str], *, dots_optional: bool = True) -> re.Pattern[str]:
    """One alternation; longest terms first so that "once a day" wins over "once".

    Terms are grouped by their leading boundary and the boundary written once per group: the
    regex engine then tries the alternatives only where a word starts, which makes scanning
    several times faster than a boundary inside every alternative.
    """
    unique = sorted({t.strip() for t in terms if t.strip()}, key=lambda t: (-len(t), t))
    if not unique:
        return re.compile(r"(?!x)x")
    groups: dict[str, list[str]] = {}
    for term in unique:
        lead, rest = _term_parts(term, dots_optional=dots_optional)
        if re.fullmatch(lead + rest, "", re.IGNORECASE):
            raise ValueError(f"term {term!r} would match empty text")
        groups.setdefault(lead, []).append(rest)
    body = "|".join(lead + "(?:" + "|".join(rests) + ")" for lead, rests in groups.items())
    return re.compile("(?:" + body + ")", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Segment:
    start: int
    end: int
    role: str | None  # section role from a heading: allergy, medications, stopped, ...
    line: int  # 0-based line number, to tell a continuation line from a new sentence


# Dots after these words are abbreviations, not sentence ends ("Tab. Dolo", "Dr. Rao").
# fmt: off
_ABBREVIATIONS = frozenset((
    "tab", "tabs", "cap", "caps", "inj", "syp", "syr", "susp", "oint", "inh", "neb", "dr",
    "mr", "mrs", "ms", "no", "vit", "approx", "eg", "ie", "vs", "st", "resp", "sol", "lot",
    "wt", "ht", "temp", "h", "s", "o", "d", "c", "t", "q", "i", "e", "g",
))
# fmt: on
_SENTENCE_END = re.compile(r"[.!?]+(?=\s+\S)")


def split_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside [start, end); abbreviation and decimal dots do not split."""
    spans: list[tuple[int, int]] = []
    cursor = start
    for m in _SENTENCE_END.finditer(text, start, end):
        word = re.search(r"([^\W\d_]+)\W*$", text[max(cursor, m.start() - 12) : m.start()])
        if m.group().startswith(".") and word and word.group(1).casefold() in _ABBREVIATIONS:
            continue
        nxt = text[m.end() :].lstrip()[:1]
        if nxt and nxt.islower():
            continue  # "e.g. twice" or a lower-case continuation: the same sentence
        spans.append((cursor, m.end()))
        cursor = m.end()
    if cursor < end:
        spans.append((cursor, end))
    return [(s, e) for s, e in (_trim(text, s, e) for s, e in spans) if e > s]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
