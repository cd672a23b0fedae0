"""The phrase syntax every radiology knowledge file is written in (see findings.json "syntax").

Knowledge files hold phrases a clinician can read ("blunt* ~3 costophrenic"), not regular
expressions; this module turns them into regular expressions. All matching is
case-insensitive and keeps character offsets, so evidence points back into the source text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")

# Between words: spaces, line breaks, hyphens or slashes. A de-identification token that was
# blanked to spaces is just more separator, so "costophrenic XXXX blunting" still matches.
SEP = r"[\s/\-]+"
# A gap ("~") may not cross these words: each starts a new phrase or clause, and a finding
# assembled across them ("heart size normal and hila enlarged") would be invented.
_GAP_STOP = r"(?:and|or|nor|but|with|without|than|while|whereas|by)(?![\w'])"
_GAP_WORD = rf"(?!{_GAP_STOP})[\w'’]+"
_DEFAULT_GAP = 3
_TOKEN_RE = re.compile(r"\([^()]*\)\??|~\d*|[^\s()]+")
_GROUP_RE = re.compile(r"\(([^()]*)\)(\??)")
RAW_PREFIX = "re:"
# The left edge refuses a hyphen so "non-calcified" is not "calcified" and the "old" of
# "year-old" is not a history cue. The lookahead lets mid-word positions fail at once instead of
# trying every alternative (which made long texts slow).
LEFT_EDGE = r"(?<![\w-])(?=\w)"
RIGHT_EDGE = r"(?![\w])"


class PhraseError(ValueError):
    """A knowledge-file phrase that cannot be compiled; the message names the phrase."""


def _word(word: str, phrase: str) -> str:
    star = word.endswith("*")
    stem = word[:-1] if star else word
    if not stem or "*" in stem or "?" in stem:
        raise PhraseError(f"bad word {word!r} in phrase {phrase!r}")
    parts = stem.split("-")
    # "air-space" is written airspace, air space and air-space alike.
    joined = r"(?:-|\s+)?".join(re.escape(p) for p in parts)
    body = joined if all(parts) else re.escape(stem)
    return body + (r"\w*" if star else "")


def _words(text: str, phrase: str) -> str:
    words = text.split()
    if not words:
        raise PhraseError(f"empty alternative in phrase {phrase!r}")
    return SEP.join(_word(w, phrase) for w in words)


def _token(token: str, phrase: str) -> tuple[str, bool]:
    """-> (regex, optional)"""
    group = _GROUP_RE.fullmatch(token)
    if group:
        alternatives = group.group(1).split("|")
        body = "(?:" + "|".join(_words(a, phrase) for a in alternatives) + ")"
        return body, bool(group.group(2))
    if token.startswith("("):
        raise PhraseError(f"unbalanced parenthesis in phrase {phrase!r}")
    if token.endswith("?") and len(token) > 1:
        return _word(token[:-1], phrase), True
    return _word(token, phrase), False


def phrase_regex(phrase: str) -> str:
    """The regular expression (without flags) for one phrase."""
    if phrase.startswith(RAW_PREFIX):
        raw = phrase[len(RAW_PREFIX):]
        try:
            re.compile(raw)
        except re.error as exc:
            raise PhraseError(f"bad regular expression in {phrase!r}: {exc}") from exc
        return raw
    text = phrase.strip().lower()
    if _TOKEN_RE.sub("", text).strip():
        raise PhraseError(f"unbalanced parenthesis in phrase {phrase!r}")
    tokens = _TOKEN_RE.findall(text)
    if not tokens:
        raise PhraseError("empty phrase")
    if tokens[0].startswith("~") or tokens[-1].startswith("~"):
        raise PhraseError(f"a gap must sit between two words: {phrase!r}")
    out: list[str] = []
    started = False  # a required word has been placed
    for token in tokens:
        if token.startswith("~"):
            size = int(token[1:]) if len(token) > 1 else _DEFAULT_GAP
            out.append(f"(?:{SEP}{_GAP_WORD}){{0,{size}}}")
            continue
        body, optional = _token(token, phrase)
        if not started:
            # Leading optional words carry their separator after them.
            out.append(f"(?:{body}{SEP})?" if optional else body)
            started = not optional
        else:
            out.append(f"(?:{SEP}{body})?" if optional else f"{SEP}{body}")
    if not started:
        raise PhraseError(f"a phrase needs at least one required word: {phrase!r}")
    return LEFT_EDGE + "".join(out) + RIGHT_EDGE


def compile_phrases(phrases: Iterable[str]) -> re.Pattern[str]:
    """One pattern for many phrases; longer phrases first so the alternation prefers them."""
    ordered = sorted(set(phrases), key=lambda p: (-len(p), p))
    if not ordered:
        raise PhraseError("no phrases")
    bodies = []
    raws = []
    for phrase in ordered:
        regex = phrase_regex(phrase)
        if phrase.startswith(RAW_PREFIX):
            raws.append(f"(?:{regex})")
        else:
            bodies.append(regex[len(LEFT_EDGE):])
    parts = [LEFT_EDGE + "(?:" + "|".join(bodies) + ")"] if bodies else []
    return re.compile("|".join(parts + raws), re.IGNORECASE)


def normalise_phrase(phrase: str) -> str:
    """The form used to compare phrases for duplicates."""
    return " ".join(phrase.lower().split())


def longest_first(candidates: Sequence[tuple[int, int, T]]) -> list[tuple[int, int, T]]:
    """Non-overlapping matches, preferring the longest, then the leftmost; in text order."""
    starts: list[int] = []
    chosen: list[tuple[int, int, T]] = []  # kept sorted by start; never overlapping
    for start, end, item in sorted(candidates, key=lambda c: (c[0] - c[1], c[0])):
        if end <= start:
            continue
        index = bisect.bisect_left(starts, start)
        if index > 0 and chosen[index - 1][1] > start:
            continue
        if index < len(chosen) and chosen[index][0] < end:
            continue
        starts.insert(index, start)
        chosen.insert(index, (start, end, item))
    return chosen
