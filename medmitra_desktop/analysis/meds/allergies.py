"""Allergy statements: cue phrases, allergy sections, reactions, severity and "NKDA".

Runs before the medication reader; the text ranges it claims are not read as medications, so
"allergic to sulfa drugs" or "penicillin allergy" never becomes a drug the patient takes.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .knowledge import MedsKnowledge, squash
from .model import AllergyMention
from .scan import VocabMatch, heading_rest_start, token_index
from .text import Segment, Token

_SEPARATORS = re.compile(r"[,;/&+]|(?<![^\W\d_])(?:and|or|nor)(?![^\W\d_])", re.IGNORECASE)
_WORDS = re.compile(r"[^\W\d_]+")
_CLAUSE_PUNCT = re.compile(r"[,;:.()]")


@dataclass(frozen=True)
class _Doc:
    """The text and what the first pass found in it, computed once per call."""

    text: str
    tokens: Sequence[Token]
    starts: Sequence[int]  # token start offsets, for bisecting
    matches: Sequence[VocabMatch]  # in text order
    match_starts: Sequence[int]
    by_token: Mapping[int, VocabMatch]
    k: MedsKnowledge

    def matches_within(self, start: int, end: int) -> list[tuple[int, int]]:
        i = bisect.bisect_left(self.match_starts, start)
        out: list[tuple[int, int]] = []
        while i < len(self.matches) and self.matches[i].start < end:
            if self.matches[i].end <= end:
                out.append((self.matches[i].start, self.matches[i].end))
            i += 1
        return out


@dataclass
class AllergyScan:
    allergies: list[AllergyMention] = field(default_factory=list)
    consumed: list[tuple[int, int]] = field(default_factory=list)
    no_known_allergies: bool = False  # written, whether or not allergies were also found


@dataclass
class _Found:
    substance: str
    printed: str
    category: str | None
    reactions: list[str]
    severity: str | None
    sentence: str


def read_allergies(
    text: str,
    tokens: Sequence[Token],
    segments: Sequence[Segment],
    matches: Sequence[VocabMatch],
    k: MedsKnowledge,
    page: int | None,
) -> AllergyScan:
    scan = AllergyScan()
    doc = _Doc(
        text=text,
        tokens=tokens,
        starts=[t.start for t in tokens],
        matches=matches,
        match_starts=[m.start for m in matches],
        by_token={m.ti: m for m in matches},
        k=k,
    )
    found: list[_Found] = []
    for seg in segments:
        sentence = text[seg.start : seg.end].strip()
        blocked: list[tuple[int, int]] = []
        for m in k.nkda.finditer(text, seg.start, seg.end):
            scan.no_known_allergies = True
            blocked.append(m.span())
        # (cue start, clause start, clause end, substance written before the cue)
        clauses: list[tuple[int, int, int, _Found | None]] = []
        if seg.role == "allergy":
            rest = heading_rest_start(text, seg, k)
            if squash(text[rest : seg.end]) in k.nkda_values:
                scan.no_known_allergies = True
                scan.consumed.append((seg.start, seg.end))
                continue
            clauses.append((seg.start, rest, seg.end, None))
        else:
            labels = {m.start() for m in k.allergy_list_labels.finditer(text, seg.start, seg.end)}
            cues = [
                (m.start(), m.end())
                for m in (
                    *k.allergy_cues_before.finditer(text, seg.start, seg.end),
                    *k.allergy_list_labels.finditer(text, seg.start, seg.end),
                )
                if not _overlaps(m.span(), blocked)
            ]
            cues = _drop_nested(sorted(cues))
            for i, (cue_start, cue_end) in enumerate(cues):
                limit = cues[i + 1][0] if i + 1 < len(cues) else seg.end
                end = _clause_end(text, cue_end, limit, k)
                if squash(text[cue_end:end]) in k.nkda_values:
                    scan.no_known_allergies = True
                    scan.consumed.append((cue_start, end))
                    continue
                lead = None
                if cue_start in labels:
                    # "Penicillin allergy: anaphylaxis": the label follows its substance.
                    before = _substance_before(doc, seg.start, cue_start)
                    if before is not None:
                        name, printed, category, sub_start = before
                        lead = _Found(name, printed.strip(), category, [], None, sentence)
                        cue_start = sub_start
                if _negated_before(text, seg.start, cue_start, k):
                    scan.consumed.append((cue_start, end))  # "no allergy to X": not a drug either
                    continue
                clauses.append((cue_start, cue_end, end, lead))
        for cue_start, start, end, lead in clauses:
            scan.consumed.append((cue_start, end))
            found.extend(_read_items(doc, start, end, sentence, lead))
        taken = [(c[0], c[2]) for c in clauses] + blocked
        found.extend(_read_after_cues(doc, seg, sentence, taken, scan))
    scan.allergies = _merge(found, page)
    return scan


def _overlaps(span: tuple[int, int], ranges: Sequence[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in ranges)


def _drop_nested(cues: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cue in cues:
        if out and cue[0] < out[-1][1]:
            if cue[1] > out[-1][1]:
                out[-1] = (out[-1][0], cue[1])
            continue
        out.append(cue)
    return out


def _clause_end(text: str, start: int, limit: int, k: MedsKnowledge) -> int:
    for m in k.allergy_clause_stops.finditer(text, start, limit):
        piece = text[start : m.start()]
        if piece.count("(") <= piece.count(")"):
            return m.start()
    return limit


def _negated_before(text: str, floor: int, at: int, k: MedsKnowledge) -> bool:
    before = _CLAUSE_PUNCT.split(text[max(floor, at - 40) : at])[-1]
    return any(squash(w) in k.allergy_negations for w in _WORDS.findall(before)[-2:])


def _substance_at(doc: _Doc, lo: int, hi: int) -> tuple[str, str, str | None, int, int] | None:
    """The first allergen group or drug inside [lo, hi): (name, printed, category, start, end)."""
    text, tokens, k, by_token = doc.text, doc.tokens, doc.k, doc.by_token
    ti = token_index(doc.starts, lo)
    while ti < len(tokens) and tokens[ti].start < hi:
        group = k.allergens.longest_at(text, tokens, ti)
        if group is not None and tokens[ti + group[0] - 1].end > hi:
            group = None
        vocab = by_token.get(ti)
        if vocab is not None and (vocab.end > hi or vocab.entry.kind == "manufacturer"):
            vocab = None
        vocab_len = (vocab.tj - vocab.ti) if vocab else 0
        if group is not None and group[0] >= vocab_len:
            end = tokens[ti + group[0] - 1].end
            name, category = group[1]
            return name, text[tokens[ti].start : end], category, tokens[ti].start, end
        if vocab is not None:
            printed = text[vocab.start : vocab.end]
            name = vocab.entry.name if vocab.entry.kind == "drug" else printed.casefold()
            return name, printed, "medication", vocab.start, vocab.end
        ti += 1
    return None


def _split_items(
    text: str, start: int, end: int, protected: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    items: list[tuple[int, int]] = []
    cursor, depth, scanned = start, 0, start
    for m in _SEPARATORS.finditer(text, start, end):
        piece = text[scanned : m.start()]
        depth += piece.count("(") + piece.count("[") - piece.count(")") - piece.count("]")
        scanned = m.start()
        if depth > 0 or _overlaps(m.span(), protected):
            continue
        items.append((cursor, m.start()))
        cursor = m.end()
    items.append((cursor, end))
    return [(s, e) for s, e in items if text[s:e].strip()]


def _read_items(
    doc: _Doc, start: int, end: int, sentence: str, lead: _Found | None = None
) -> list[_Found]:
    text, k = doc.text, doc.k
    protected = doc.matches_within(start, end)  # never split "amoxicillin/clavulanate"
    out: list[_Found] = [lead] if lead is not None else []
    for lo, hi in _split_items(text, start, end, protected):
        item = text[lo:hi]
        if squash(item) in k.nkda_values:
            continue
        reactions = _reactions(item, k)
        severity = _severity(item, k)
        hit = _substance_at(doc, lo, hi)
        if hit is not None:
            name, printed, category, _, _ = hit
        else:
            name = _free_substance(item, k)
            printed, category = name, None
        if name:
            out.append(_Found(name, printed.strip(), category, reactions, severity, sentence))
        elif out and (reactions or severity):
            # "allergic to penicillin, causes rash and swelling": details of the last substance
            last = out[-1]
            last.reactions.extend(r for r in reactions if r not in last.reactions)
            last.severity = last.severity or severity
    return out


def _reactions(item: str, k: MedsKnowledge) -> list[str]:
    names: list[str] = []
    for m in k.reactions.pattern.finditer(item):
        name = k.reactions.lookup(m.group())
        if name and name not in names:
            names.append(name)
    return names


def _severity(item: str, k: MedsKnowledge) -> str | None:
    m = k.severities.pattern.search(item)
    return k.severities.lookup(m.group()) if m else None


def _free_substance(item: str, k: MedsKnowledge) -> str | None:
    """An allergen not in the lists ("allergic to mango"): the few words left over."""
    if re.search(r"\d", item):
        return None
    rest = item
    for pattern in (k.reactions.pattern, k.severities.pattern, k.allergy_fillers):
        rest = pattern.sub(" ", rest)
    rest = re.sub(r"\([^)]*\)?", " ", rest)
    words = _WORDS.findall(rest)
    if not 1 <= len(words) <= 4:
        return None
    return " ".join(w.casefold() for w in words)


def _read_after_cues(
    doc: _Doc,
    seg: Segment,
    sentence: str,
    taken: Sequence[tuple[int, int]],
    scan: AllergyScan,
) -> list[_Found]:
    """ "Penicillin allergy (hives)", "sulfa intolerance": the substance comes first."""
    text, k = doc.text, doc.k
    out: list[_Found] = []
    for cue in k.allergy_cues_after.finditer(text, seg.start, seg.end):
        if _overlaps(cue.span(), taken):
            continue
        hit = _substance_before(doc, seg.start, cue.start())
        if hit is None:
            continue
        name, printed, category, sub_start = hit
        end = _clause_end(text, cue.end(), seg.end, k)
        scan.consumed.append((sub_start, end))
        if _negated_before(text, seg.start, sub_start, k):
            continue
        detail = text[cue.end() : end]
        first = _split_items(text, cue.end(), end, [])
        if first:
            detail = text[first[0][0] : first[0][1]]
        out.append(
            _Found(
                name,
                printed.strip(),
                category,
                _reactions(detail, k),
                _severity(detail, k),
                sentence,
            )
        )
    return out


def _substance_before(doc: _Doc, floor: int, at: int) -> tuple[str, str, str | None, int] | None:
    tokens = doc.tokens
    cue_ti = token_index(doc.starts, at)
    # Try the longest names first: look back up to four tokens for one ending right at the cue.
    for back in range(4, 0, -1):
        ti = cue_ti - back
        if ti < 0 or tokens[ti].start < floor:
            continue
        hit = _substance_at(doc, tokens[ti].start, at)
        if hit is None:
            continue
        name, printed, category, start, end = hit
        if start == tokens[ti].start and re.fullmatch(r"[ \t\-]*", doc.text[end:at]):
            return name, printed, category, start
    return None


def _merge(found: Sequence[_Found], page: int | None) -> list[AllergyMention]:
    merged: dict[str, _Found] = {}
    for f in found:
        old = merged.get(f.substance)
        if old is None:
            merged[f.substance] = _Found(
                f.substance, f.printed, f.category, list(f.reactions), f.severity, f.sentence
            )
            continue
        old.reactions.extend(r for r in f.reactions if r not in old.reactions)
        old.severity = old.severity or f.severity
    return [
        AllergyMention(
            substance=f.substance,
            reaction=", ".join(f.reactions) or None,
            severity=f.severity,
            sentence=f.sentence,
            page=page,
            substance_printed=f.printed or None,
            category=f.category,
        )
        for f in merged.values()
    ]
