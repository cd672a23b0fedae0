"""First pass over a text: vocabulary names, dosage forms, and segments with section roles."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .knowledge import FormInfo, MedsKnowledge, VocabEntry, squash
from .text import Segment, Token, joins, split_sentences

_SAME_LINE_GAP = re.compile(r"[ \t]*\.?[ \t]*|[ \t]*[-:][ \t]*")


@dataclass(frozen=True)
class VocabMatch:
    start: int
    end: int  # after absorbed modifiers ("Metformin SR", "Losartan potassium")
    ti: int  # first token
    tj: int  # one past the last token
    entry: VocabEntry


@dataclass(frozen=True)
class FormPrefix:
    start: int
    info: FormInfo
    ti: int


def find_vocab(text: str, tokens: Sequence[Token], k: MedsKnowledge) -> list[VocabMatch]:
    out: list[VocabMatch] = []
    modifiers = k.release_modifiers | k.salts
    i, n = 0, len(tokens)
    while i < n:
        hit = k.vocab.longest_at(text, tokens, i)
        if hit is None:
            i += 1
            continue
        length, entry = hit
        j = i + length
        if entry.kind == "drug":
            while j < n and tokens[j].low in modifiers and joins(text, tokens[j - 1], tokens[j]):
                longer = k.vocab.longest_at(text, tokens, j)
                if longer is not None and longer[0] > 1:
                    break  # "metformin sodium bicarbonate": the salt word starts another drug
                j += 1
        out.append(VocabMatch(tokens[i].start, tokens[j - 1].end, i, j, entry))
        i = j
    return out


def form_before(text: str, tokens: Sequence[Token], ti: int, k: MedsKnowledge) -> FormPrefix | None:
    """A dosage form right before token ti on the same line: "Tab. Dolo", "Inj Insulin"."""
    if ti == 0:
        return None
    for length in range(min(k.forms.max_len, ti), 0, -1):
        first = ti - length
        key = tuple(t.low for t in tokens[first:ti])
        info = k.forms.entries.get(key)
        if info is None:
            continue
        if not all(joins(text, tokens[m - 1], tokens[m]) for m in range(first + 1, ti)):
            continue
        gap = text[tokens[ti - 1].end : tokens[ti].start]
        if not _SAME_LINE_GAP.fullmatch(gap):
            continue
        if info.dotted_only and not gap.lstrip().startswith("."):
            continue
        if info.dotted_only and first > 0 and tokens[first - 1].end == tokens[first].start:
            continue  # "...t." glued to a word is not "T."
        # "1 tab Metformin" is a count, not the form word of a prescription line.
        if first > 0 and tokens[first - 1].low.isdigit() and _short_gap(text, tokens, first):
            continue
        return FormPrefix(tokens[first].start, info, first)
    return None


def _short_gap(text: str, tokens: Sequence[Token], i: int) -> bool:
    return text[tokens[i - 1].end : tokens[i].start].strip(" \t") == ""


def token_index(starts: Sequence[int], offset: int) -> int:
    """Index of the first token starting at or after offset (starts: the tokens' offsets)."""
    return bisect.bisect_left(starts, offset)


def build_segments(text: str, k: MedsKnowledge) -> list[Segment]:
    segments: list[Segment] = []
    section: str | None = None
    offset = 0
    for line_no, line in enumerate(text.splitlines(keepends=True)):
        line_start = offset
        offset += len(line)
        body = line.rstrip("\r\n")
        if not body.strip():
            section = None  # a blank line closes a section
            continue
        content_start = line_start
        role = section
        m = k.headings.match(body)
        if m:
            role = k.heading_roles.get(squash(m.group("head")))
            rest = body[m.end() :]
            if not rest.strip():
                section = role
                if role is not None:
                    # A bare heading still carries an answer when it is the whole answer
                    # ("Allergies" then "NKDA" on the next line is handled by the section).
                    continue
            content_start = line_start + m.start("head")
            if rest.strip():
                section = None
        elif body.rstrip().endswith(":") and len(body.strip()) < 60:
            section = None  # an unknown heading ends the previous section
        for start, end in split_sentences(text, content_start, line_start + len(body)):
            segments.append(Segment(start, end, role, line_no))
    return segments


def heading_rest_start(text: str, seg: Segment, k: MedsKnowledge) -> int:
    """Where the content after a heading on this segment's line begins ("Allergies: |pcn")."""
    # The heading pattern is anchored with "^", which match(text, pos) would not honour at pos.
    m = k.headings.match(text[seg.start : seg.end])
    return seg.start + m.end() if m else seg.start
