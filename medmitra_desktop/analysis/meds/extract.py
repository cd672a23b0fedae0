"""Medications and allergies in a doctor's notes, a prescription or a discharge summary.

The reader finds every vocabulary name (generic, brand, drug class, manufacturer) and every word
written after a dosage form ("Tab. X"), reads the directions that follow each name up to the next
one, and then decides from the words around it whether it is a current medication, a stopped
one, a negated or hypothetical one (dropped), a laboratory test ("Serum iron 40 ug/dL", dropped),
or a tested antibiotic in a culture report (dropped).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from .allergies import read_allergies
from .knowledge import FormInfo, MedsKnowledge, squash
from .model import AllergyMention, MedicationMention, MedsResult, StatusHint
from .patterns import AMOUNT
from .scan import VocabMatch, build_segments, find_vocab, form_before, heading_rest_start
from .sig import Sig, read_sig
from .text import Segment, Token, joins, tokenize

UNKNOWN_REASON = "name not in the drug vocabulary; check the drug and its strength"
_NEGATED = "negated"
_HYPOTHETICAL = "hypothetical"

_WORDS = re.compile(r"[^\W\d_]+")
_SPAN_CAP = 240
_HARD_STOP = re.compile(r"[.;:](?!\d)")
_SAME_LINE_GAP = re.compile(r"[ \t]*\.?[ \t]*|[ \t]*[-:][ \t]*")
# Words that follow "Tab." without being a drug name ("Tab. as advised", "1 tab daily").
# fmt: off
_NOT_A_NAME = frozenset((
    "as", "per", "the", "a", "an", "of", "for", "to", "and", "or", "with", "in", "on", "at",
    "each", "every", "one", "two", "three", "half", "same", "above", "below", "given",
    "advised", "continue", "continued", "repeat", "only", "then", "if", "no", "nil", "none",
    "dose", "doses",
))
# fmt: on
# Small grammar words allowed between a drug and a cue after it ("aspirin was stopped").
_GLUE = re.compile(
    r"(?<![^\W\d_])(?:was|were|is|are|has|have|had|been|be|now|then|later|also|since|the|his|"
    r"her|their|a|an|already|both|all|which|that|being)(?![^\W\d_])",
    re.IGNORECASE,
)


@dataclass
class _Cand:
    start: int
    end: int
    ti: int
    tj: int
    kind: str  # drug | class | manufacturer | unknown
    name: str
    drug_class: str | None
    reason: str | None
    needs_context: bool
    components: tuple[str, ...]
    lead: int  # start of "Tab. " before the name, else the name's start
    form: FormInfo | None
    dose_prefix: str | None = None  # "40 mg" in "telmisartan 40 mg + amlodipine 5 mg"
    span_end: int = 0
    span_ends_at_next: bool = False  # the directions stop because another name follows
    sig: Sig | None = None
    dropped_for_context: bool = False


def extract_medications(
    text: str, knowledge: MedsKnowledge, *, page: int | None = None
) -> MedsResult:
    """Medications and allergies stated in `text` (one page or one note).

    Pure and bounded: linear in the text apart from short per-sentence windows, so any input,
    however malformed, returns a result.
    """
    if not isinstance(text, str) or not text.strip():
        return MedsResult()
    k = knowledge
    tokens = tokenize(text)
    segments = build_segments(text, k)
    matches = find_vocab(text, tokens, k)
    allergy = read_allergies(text, tokens, segments, matches, k, page)
    no_meds = _no_current_medications(text, segments, k)

    by_segment = _candidates(text, tokens, segments, matches, allergy.consumed, k)
    with_names = set(by_segment)
    mentions: list[MedicationMention] = []
    for si in sorted(by_segment):
        mentions.extend(
            _read_segment(text, tokens, segments, si, by_segment[si], with_names, k, page)
        )
    medications = tuple(dedupe_mentions(mentions))
    conflicts = _conflicts(medications, allergy.allergies, allergy.no_known_allergies, no_meds, k)
    return MedsResult(
        medications=medications,
        allergies=tuple(allergy.allergies),
        no_known_allergies=allergy.no_known_allergies and not allergy.allergies,
        no_current_medications=no_meds and not any(m.status_hint is None for m in medications),
        conflicts=tuple(conflicts),
    )


def merge_results(results: Iterable[MedsResult]) -> MedsResult:
    """One result for several pages or documents of a case, duplicates removed."""
    results = list(results)
    meds = dedupe_mentions(m for r in results for m in r.medications)
    allergies: dict[str, AllergyMention] = {}
    for r in results:
        for a in r.allergies:
            old = allergies.get(a.substance)
            if old is None:
                allergies[a.substance] = a
            elif a.reaction and a.reaction != old.reaction:
                reactions = [x for x in (old.reaction or "").split(", ") if x]
                reactions += [x for x in a.reaction.split(", ") if x not in reactions]
                allergies[a.substance] = replace(
                    old, reaction=", ".join(reactions), severity=old.severity or a.severity
                )
    conflicts = tuple(dict.fromkeys(c for r in results for c in r.conflicts))
    return MedsResult(
        medications=tuple(meds),
        allergies=tuple(allergies.values()),
        no_known_allergies=any(r.no_known_allergies for r in results) and not allergies,
        no_current_medications=any(r.no_current_medications for r in results)
        and not any(m.status_hint is None for m in meds),
        conflicts=conflicts,
    )


# ---- candidates ---------------------------------------------------------------------------


def _merged(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _inside(start: int, end: int, ranges: Sequence[tuple[int, int]], starts: Sequence[int]) -> bool:
    """Whether [start, end) lies in one of the merged, sorted ranges."""
    i = bisect.bisect_right(starts, start) - 1
    return i >= 0 and ranges[i][0] <= start and end <= ranges[i][1]


def _segment_of(segments: Sequence[Segment], starts: Sequence[int], offset: int) -> int | None:
    i = bisect.bisect_right(starts, offset) - 1
    if i >= 0 and offset < segments[i].end:
        return i
    return None


def _candidates(
    text: str,
    tokens: Sequence[Token],
    segments: Sequence[Segment],
    matches: Sequence[VocabMatch],
    consumed: Sequence[tuple[int, int]],
    k: MedsKnowledge,
) -> dict[int, list[_Cand]]:
    starts = [s.start for s in segments]
    claimed = _merged(consumed)
    claimed_starts = [r[0] for r in claimed]
    out: dict[int, list[_Cand]] = {}

    def put(cand: _Cand) -> None:
        si = _segment_of(segments, starts, cand.start)
        if si is not None and not _inside(cand.start, cand.end, claimed, claimed_starts):
            out.setdefault(si, []).append(cand)

    covered: set[int] = set()
    for m in matches:
        covered.update(range(m.ti, m.tj))
        form = form_before(text, tokens, m.ti, k)
        e = m.entry
        put(
            _Cand(
                start=m.start,
                end=m.end,
                ti=m.ti,
                tj=m.tj,
                kind=e.kind,
                name=e.name,
                drug_class=e.drug_class,
                reason=e.reason,
                needs_context=e.needs_context,
                components=e.components,
                lead=form.start if form else m.start,
                form=form.info if form else None,
            )
        )
    for cand in _unknown_after_forms(text, tokens, covered, k):
        put(cand)
    for cands in out.values():
        cands.sort(key=lambda c: c.start)
    return out


def _unknown_after_forms(
    text: str, tokens: Sequence[Token], covered: set[int], k: MedsKnowledge
) -> list[_Cand]:
    """ "Tab. Xyzzol 10 mg OD": a prescribed name the vocabulary does not know."""
    out: list[_Cand] = []
    n = len(tokens)
    for ti in range(n):
        if ti in covered or tokens[ti].low not in k.forms.first:
            continue
        hit = k.forms.longest_at(text, tokens, ti)
        if hit is None:
            continue
        length, info = hit
        if not info.prefix or info.dotted_only:
            continue
        if (
            ti > 0
            and tokens[ti - 1].low.isdigit()
            and not text[tokens[ti - 1].end : tokens[ti].start].strip(" \t")
        ):
            continue  # "1 tab": a count, not a form ("8. Tab. X" is a numbered line)
        if ti > 0 and ti - 1 in covered and not text[tokens[ti - 1].end : tokens[ti].start].strip():
            continue  # "Mupirocin ointment": the form belongs to the drug before it
        u = ti + length
        if u >= n or u in covered:
            continue
        if not _SAME_LINE_GAP.fullmatch(text[tokens[u - 1].end : tokens[u].start]):
            continue
        if _starts_direction(text, tokens[u].start, k):
            continue  # "Tab. as advised", "Oint. local application"
        v = u
        while (
            v < n
            and v - u < 3
            and v not in covered
            and tokens[v].low.isalpha()
            and not _is_direction_word(tokens[v].low, k)
            and (v == u or joins(text, tokens[v - 1], tokens[v]))
        ):
            v += 1
        if v == u or len(tokens[u].low) < 3:
            continue
        name = " ".join(t.low for t in tokens[u:v])
        out.append(
            _Cand(
                start=tokens[u].start,
                end=tokens[v - 1].end,
                ti=u,
                tj=v,
                kind="unknown",
                name=name,
                drug_class=None,
                reason=UNKNOWN_REASON,
                needs_context=False,
                components=(),
                lead=tokens[ti].start,
                form=info,
            )
        )
    return out


def _starts_direction(text: str, pos: int, k: MedsKnowledge) -> bool:
    return any(
        p.match(text, pos)
        for p in (k.routes.pattern, k.frequencies.pattern, k.food.pattern, k.open_durations.pattern)
    )


def _is_direction_word(word: str, k: MedsKnowledge) -> bool:
    return (
        word in _NOT_A_NAME
        or word in k.release_modifiers
        or (word,) in k.forms.entries
        or k.frequencies.lookup(word) is not None
        or k.routes.lookup(word) is not None
        or k.food.lookup(word) is not None
        or k.open_durations.lookup(word) is not None
        or squash(word) in k.dose_units
        or squash(word) in k.duration_units
    )


# ---- one segment ----------------------------------------------------------------------------


def _read_segment(
    text: str,
    tokens: Sequence[Token],
    segments: Sequence[Segment],
    si: int,
    cands: list[_Cand],
    segments_with_names: set[int],
    k: MedsKnowledge,
    page: int | None,
) -> list[MedicationMention]:
    seg = segments[si]
    if seg.role == "antibiogram":
        return []
    cands = _merge_qualifiers(text, cands)
    cands = _merge_synonyms(text, cands)
    cands = _join_combinations(text, cands, k)
    cands = _drop_labelling_makers(text, cands, k)
    continuation_end = _continuation_end(text, segments, si, segments_with_names, k)

    _read_spans(text, cands, seg, continuation_end, k)
    for c in cands:
        c.dropped_for_context = not _has_context(c)
    bounded = [c for c in cands if not c.dropped_for_context]
    if len(bounded) != len(cands):
        _read_spans(text, bounded, seg, continuation_end, k)  # "Pan" dropped: Telma reads on

    seg_text = text[seg.start : seg.end]
    culture_line = bool(k.antibiogram_cues.search(seg_text)) and not any(
        c.sig and c.sig.frequency for c in bounded
    )
    kept: list[_Cand] = []
    for c in bounded:
        span = text[c.end : min(c.span_end, c.end + _SPAN_CAP)]
        if culture_line or _antibiogram_row(span, k):
            continue
        if c.kind != "unknown" and _is_lab(text, tokens, c, span, k):
            continue
        if seg.role == "lab" and not (
            c.sig.dose_has_unit or c.sig.frequency or (c.form and c.form.prefix)
        ):
            continue
        kept.append(c)

    mentions: list[MedicationMention] = []
    floor = seg.start
    for group in _groups(text, kept, k):
        status, cue_at, floor = _status(text, group, floor, seg, k)
        if status in (_NEGATED, _HYPOTHETICAL):
            continue
        hint = StatusHint(status) if status else None
        reason = date = None
        if hint is not None:
            region = text[cue_at : max(group[-1].span_end, cue_at)]
            reason, date = _stop_reason(region, k), _first_date(region, k)
        end_of_sentence = max(seg.end, group[-1].span_end)
        sentence = text[seg.start : end_of_sentence].strip()
        for c in group:
            mentions.append(_mention(text, c, hint, reason, date, sentence, page))
    return mentions


def _read_spans(
    text: str,
    cands: Sequence[_Cand],
    seg: Segment,
    continuation_end: int | None,
    k: MedsKnowledge,
) -> None:
    for i, c in enumerate(cands):
        c.span_ends_at_next = i + 1 < len(cands)
        if c.span_ends_at_next:
            c.span_end = max(c.end, cands[i + 1].lead)
        else:
            c.span_end = continuation_end or seg.end
        # Directions sit right after the name; a cap keeps a runaway line from costing more.
        span = text[c.end : min(c.span_end, c.end + _SPAN_CAP)]
        c.sig = read_sig(span, k, form_route=c.form.route if c.form else None)


def _has_context(c: _Cand) -> bool:
    """Brands that are also words ("Pan") and manufacturers count only in a prescription."""
    if not c.needs_context:
        return True
    sig = c.sig
    assert sig is not None
    if c.form is not None and c.form.prefix:
        return True
    if c.kind == "manufacturer":
        return bool(sig.dose_has_unit or sig.frequency)
    return sig.dose is not None and sig.dose_at is not None and sig.dose_at <= 3


def _merge_qualifiers(text: str, cands: list[_Cand]) -> list[_Cand]:
    """ "Inj. Insulin Actrapid": the class word qualifies the drug right after it."""
    out: list[_Cand] = []
    for c in cands:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.kind == "class"
            and c.kind == "drug"
            and c.lead == c.start
            and re.fullmatch(r"[ \t]{1,3}", text[prev.end : c.start])
        ):
            c.lead, c.form = prev.lead, prev.form
            out[-1] = c
            continue
        out.append(c)
    return out


def _merge_synonyms(text: str, cands: list[_Cand]) -> list[_Cand]:
    """ "Metformin (Glycomet) 500 mg" is one drug written twice."""
    out: list[_Cand] = []
    for c in cands:
        if out and out[-1].kind == c.kind == "drug" and out[-1].name == c.name:
            prev = out[-1]
            gap = text[prev.end : c.lead]
            close = re.match(r"[ \t]*[)\]]", text[c.end :])
            if re.fullmatch(r"[ \t]*[(\[/][ \t]*", gap):
                prev.end = c.end + (close.end() if close and "/" not in gap else 0)
                prev.tj = c.tj
                continue
        out.append(c)
    return out


def _join_combinations(text: str, cands: list[_Cand], k: MedsKnowledge) -> list[_Cand]:
    """ "Telmisartan 40 mg + Amlodipine 5 mg" and "Acetaminophen/Guaifenesin": one product."""
    plus = re.compile(
        rf"[ \t]*(?P<dose>{AMOUNT}[ \t]*(?:{k.dose_unit_pattern})?)?[ \t]*\+[ \t]*", re.IGNORECASE
    )
    out: list[_Cand] = []
    for c in cands:
        prev = out[-1] if out else None
        if prev is not None and prev.kind == c.kind == "drug" and c.lead == c.start:
            gap = text[prev.end : c.start]
            m = plus.fullmatch(gap)
            if m or re.fullmatch(r"[ \t]*/[ \t]*", gap):
                parts = (*(prev.components or (prev.name,)), *(c.components or (c.name,)))
                parts = tuple(dict.fromkeys(parts))
                name = k.combinations.get(frozenset(parts)) or "-".join(sorted(parts))
                known = k.drugs.get(name)
                prev.end, prev.tj, prev.name, prev.components = c.end, c.tj, name, parts
                prev.drug_class = known.drug_class if known else None
                prev.needs_context = False
                if m and m.group("dose"):
                    prev.dose_prefix = " ".join(m.group("dose").split())
                continue
        out.append(c)
    return out


def _drop_labelling_makers(text: str, cands: list[_Cand], k: MedsKnowledge) -> list[_Cand]:
    """ "Telma 40 (Glenmark) OD": a manufacturer after a drug labels it; it is not a drug."""
    out: list[_Cand] = []
    for c in cands:
        if c.kind == "manufacturer" and out and out[-1].kind in ("drug", "unknown"):
            between = text[out[-1].end : c.lead]
            if len(between) <= 40 and not _WORDS.search(_strip_directions(between, k)):
                continue
        out.append(c)
    return out


def _continuation_end(
    text: str, segments: Sequence[Segment], si: int, with_names: set[int], k: MedsKnowledge
) -> int | None:
    """A wrapped prescription line: "Tab Glycomet 500 mg" / "1-0-1 after food x 30 days"."""
    nxt = si + 1
    if nxt >= len(segments) or nxt in with_names:
        return None
    seg, following = segments[si], segments[nxt]
    if following.line != seg.line + 1:
        return None
    body = text[following.start : following.end]
    if not _has_direction(body, k) or _WORDS.search(_strip_directions(body, k)):
        return None
    return following.end


def _has_direction(text: str, k: MedsKnowledge) -> bool:
    return any(
        p.search(text)
        for p in (
            k.frequencies.pattern,
            k.sig.tablet,
            k.sig.every_hours,
            k.food.pattern,
            k.sig.duration,
            k.open_durations.pattern,
            k.routes.pattern,
        )
    )


def _strip_directions(text: str, k: MedsKnowledge) -> str:
    """The text with doses, frequencies, routes, durations and list words removed."""
    for pattern in (
        k.sig.dose,
        k.sig.tablet,
        k.sig.every_hours,
        k.sig.times_per,
        k.sig.slash_duration,
        k.sig.duration,
        k.frequencies.pattern,
        k.routes.pattern,
        k.food.pattern,
        k.open_durations.pattern,
        k.form_words,
        k.list_connectors,
        k.sig.number,
        _GLUE,
    ):
        text = pattern.sub(" ", text)
    return text


# ---- what the words around a name say --------------------------------------------------------


def _is_lab(text: str, tokens: Sequence[Token], c: _Cand, span: str, k: MedsKnowledge) -> bool:
    """ "25-OH Vitamin D 18 ng/mL", "Serum iron", "Calcium 9.1 mg/dL", "vitamin D deficiency"."""
    previous = tokens[c.ti - 1].low if c.ti else None
    for key, needs_dot in k.lab_prefixes:
        if key[-1] != previous:
            continue
        first = c.ti - len(key)
        if first < 0 or tuple(t.low for t in tokens[first : c.ti]) != key:
            continue
        gap = text[tokens[c.ti - 1].end : tokens[c.ti].start]
        if "\n" in text[tokens[first].start : tokens[c.ti].start] or len(gap) > 4:
            continue
        if needs_dot and not text.startswith(".", tokens[c.ti - 1].end):
            continue
        return True
    for length in (3, 2, 1):
        key = tuple(t.low for t in tokens[c.tj : c.tj + length])
        if len(key) == length and key in k.lab_suffixes:
            gap = text[c.end : tokens[c.tj].start]
            if re.fullmatch(r"[ \t\-,(:]{0,4}", gap):
                return True
    lab = k.sig.lab_value.search(span)
    if lab is not None:
        before = span[: lab.start()]
        if (
            "\n" not in before
            and not re.search(r"[,;]", before)
            and len(_WORDS.findall(before)) <= 2
            and not k.sig.dose.search(before)
        ):
            return True
    sig = c.sig
    first_line = span.split("\n", 1)[0]
    return bool(
        sig is not None
        and not sig.frequency
        and not sig.dose_has_unit
        and k.sig.lab_range.match(first_line)
    )


def _antibiogram_row(span: str, k: MedsKnowledge) -> bool:
    """ "Amikacin   S", "Ciprofloxacin  R  >4": a culture report row."""
    words = _WORDS.findall(span.split("\n", 1)[0])
    return bool(words) and all(squash(w) in k.antibiogram_values for w in words)


def _groups(text: str, cands: Sequence[_Cand], k: MedsKnowledge) -> list[list[_Cand]]:
    """Drugs of one list ("not on aspirin or clopidogrel") share the words before and after."""
    groups: list[list[_Cand]] = []
    for c in cands:
        if groups:
            between = text[groups[-1][-1].end : c.lead]
            if not _HARD_STOP.search(between) and not _WORDS.search(_strip_directions(between, k)):
                groups[-1].append(c)
                continue
        groups.append([c])
    return groups


_BEFORE = (
    ("negation_before", _NEGATED),
    ("stopped_before", StatusHint.STOPPED.value),
    ("held_before", StatusHint.HELD.value),
    ("hypothetical_before", _HYPOTHETICAL),
)
_AFTER = (
    ("negation_after", _NEGATED),
    ("stopped_after", StatusHint.STOPPED.value),
    ("held_after", StatusHint.HELD.value),
)


def _status(
    text: str, group: Sequence[_Cand], floor: int, seg: Segment, k: MedsKnowledge
) -> tuple[str | None, int, int]:
    """(status, where its cue ends, the floor for the next group's look-back)."""
    first, last = group[0], group[-1]
    window_start = max(floor, seg.start)
    window = text[window_start : first.lead]
    best: tuple[int, int, str] | None = None
    for attr, status in _BEFORE:
        for m in getattr(k, attr).finditer(window):
            key = (m.end(), m.end() - m.start(), status)
            if best is None or key[:2] > best[:2]:
                best = key
    if best is not None:
        # "Stopped: aspirin" is a label, the colon does not end the cue's reach.
        between = re.sub(r"^[ \t]*[:\-–][ \t]*", " ", window[best[0] :])
        if (
            len(_WORDS.findall(between)) <= 4
            and not _HARD_STOP.search(between)
            and not k.scope_breakers.search(between)
        ):
            return best[2], window_start + best[0], last.end
    after = text[last.end : last.span_end]
    found: tuple[int, int, str] | None = None
    for attr, status in _AFTER:
        m = getattr(k, attr).search(after)
        if m and (found is None or m.start() < found[0]):
            found = (m.start(), m.end(), status)
    if found is not None:
        before, rest = after[: found[0]], after[found[1] :]
        cue = after[found[0] : found[1]]
        # "metformin 500 mg BD, stopped aspirin": a cue right before the next name belongs to
        # that name, unless it is plainly said of this one ("aspirin was stopped and ...").
        belongs_here = (
            not last.span_ends_at_next
            or bool(re.search(r"[,.;:)(\n]|[-–] ", rest))
            or bool(_GLUE.match(cue))
            or bool(_GLUE.search(before))
        )
        if (
            belongs_here
            and not _HARD_STOP.search(before)
            and len(_WORDS.findall(_strip_directions(before, k))) <= 2
        ):
            return found[2], last.end + found[1], last.end + found[1]
    if seg.role == "stopped" and not k.scope_breakers.search(window):
        return StatusHint.STOPPED.value, first.lead, last.end
    return None, first.lead, last.end


def _stop_reason(region: str, k: MedsKnowledge) -> str | None:
    for m in k.reason_cues.finditer(region):
        rest = region[m.end() :]
        rest = re.split(
            r"[.;,\n()]|(?<![^\W\d_])(?:and|but|on|since|from|w\.?e\.?f)(?![^\W\d_])",
            rest,
            maxsplit=1,
            flags=re.IGNORECASE,
        )[0]
        date = k.sig.date.search(rest)
        if date:
            rest = rest[: date.start()]
        rest = " ".join(rest.split())
        if rest and not rest[0].isdigit():
            return rest[:120]
    return None


def _first_date(region: str, k: MedsKnowledge) -> str | None:
    m = k.sig.date.search(region)
    return m.group() if m else None


def _mention(
    text: str,
    c: _Cand,
    hint: StatusHint | None,
    reason: str | None,
    date: str | None,
    sentence: str,
    page: int | None,
) -> MedicationMention:
    sig = c.sig or Sig()
    dose = sig.dose
    if c.dose_prefix:
        dose = f"{c.dose_prefix} + {dose}" if dose else c.dose_prefix
    reasons: list[str] = []
    if c.reason:
        reasons.append(c.reason)
    if hint is None and c.kind in ("drug", "unknown"):
        missing = [n for n, v in (("dose", dose), ("frequency", sig.frequency)) if v is None]
        if missing:
            reasons.append(" and ".join(missing) + " not stated")
    return MedicationMention(
        name=c.name,
        name_printed=" ".join(text[c.start : c.end].split()),
        dose=dose,
        route=sig.route,
        frequency=sig.frequency,
        duration=sig.duration,
        sentence=sentence,
        page=page,
        flagged_reason="; ".join(reasons) or None,
        status_hint=hint,
        status_reason=reason,
        status_date=date,
        food_timing=sig.food,
        drug_class=c.drug_class,
        start=c.start,
    )


# ---- whole-text checks -----------------------------------------------------------------------


def _no_current_medications(text: str, segments: Sequence[Segment], k: MedsKnowledge) -> bool:
    for seg in segments:
        if k.no_current_medications.search(text, seg.start, seg.end):
            return True
        if seg.role == "medications":
            rest = text[heading_rest_start(text, seg, k) : seg.end]
            if squash(rest) in k.no_medication_values:
                return True
    return False


_FIELDS = ("dose", "route", "frequency", "duration", "food_timing")


def _covers(a: MedicationMention, b: MedicationMention) -> bool:
    """Everything b says, a says too."""
    return all(getattr(b, f) is None or getattr(a, f) == getattr(b, f) for f in _FIELDS)


def dedupe_mentions(mentions: Iterable[MedicationMention]) -> list[MedicationMention]:
    """One mention per drug statement; the fuller of two agreeing mentions is kept."""
    out: list[MedicationMention] = []
    for m in mentions:
        for i, old in enumerate(out):
            if old.name != m.name or old.status_hint != m.status_hint:
                continue
            if _covers(old, m):
                break
            if _covers(m, old):
                out[i] = m
                break
        else:
            out.append(m)
    return out


def _conflicts(
    meds: Sequence[MedicationMention],
    allergies: Sequence[AllergyMention],
    nkda: bool,
    no_meds: bool,
    k: MedsKnowledge,
) -> list[str]:
    out: list[str] = []
    current = [m for m in meds if m.status_hint is None]
    if nkda and allergies:
        names = ", ".join(a.substance for a in allergies)
        out.append(f"'no known allergies' is written, but allergies were found: {names}")
    if no_meds and current:
        names = ", ".join(m.name for m in current)
        out.append(f"'no current medications' is written, but medications were found: {names}")
    for a in allergies:
        classes = k.allergen_classes.get(a.substance, frozenset())
        for m in current:
            parts = set(k.drugs[m.name].components) if m.name in k.drugs else set()
            part_classes = {k.drugs[p].drug_class for p in parts if p in k.drugs}
            if a.substance == m.name or a.substance in parts:
                out.append(f"{m.name} is a current medication but is also recorded as an allergy")
            elif m.drug_class in classes or part_classes & classes:
                out.append(
                    f"{m.name} ({m.drug_class}) is a current medication but an allergy to "
                    f"{a.substance} is recorded"
                )
    return out
