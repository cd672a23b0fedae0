"""Radiology report text in, RadiologyReport out: sections, findings with their status,
modality and body part."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .knowledge import RadiologyKnowledge
from .model import Observation, RadiologyReport
from .sections import OTHER, Section, SectionRules, section_text
from .sentences import mask_deidentification, sentence_text, split_sentences

# Left out of the body text that modality and body part fall back on: the title sections are
# searched first anyway, and the reason for the exam or a recommendation often names another
# exam ("prior CT", "MRI may help").
_NOT_BODY = frozenset({"indication", "recommendation", OTHER, "exam", "technique"})
_TITLE_SECTIONS = ("exam", "technique")
_POSITIVE, _UNCERTAIN, _NEGATED = 0, 1, 2
# No real sentence is this long; a longer run (text without punctuation, OCR noise) is cut so
# the work per sentence stays bounded.
MAX_SENTENCE_CHARS = 1500


@dataclass(frozen=True)
class _Mention:
    finding: str
    negated: bool
    possible: bool
    hypothetical: bool
    historical: bool
    family: bool
    sentence: str
    section: str
    page: int | None

    @property
    def uncertain(self) -> bool:
        return not self.negated and (self.possible or self.hypothetical or self.family)

    @property
    def rank(self) -> int:
        if self.negated:
            return _NEGATED
        return _UNCERTAIN if self.uncertain else _POSITIVE


def parse_radiology_report(
    text: str,
    knowledge: RadiologyKnowledge,
    *,
    page_of_offset: Callable[[int], int] | None = None,
) -> RadiologyReport:
    """Parse one report. page_of_offset maps a character offset in text to its 1-based page."""
    masked = mask_deidentification(text)
    # Sections are cut on the printed text so that their edges keep de-identification tokens;
    # the offsets are the same in the blanked copy used for everything else.
    sections = knowledge.sections.split(text)
    mentions: list[_Mention] = []
    for section in finding_sections(sections, knowledge.sections):
        for span in _bounded(masked, split_sentences(masked, section.start, section.end)):
            sentence = masked[span[0]:span[1]]
            found = knowledge.lexicon.find(sentence)
            if not found:
                continue
            status = knowledge.context.assess(sentence, [(m.start, m.end) for m in found])
            printed = sentence_text(text, _widen(text, masked, span, section))
            for mention, modifiers in zip(found, status, strict=True):
                page = page_of_offset(span[0] + mention.start) if page_of_offset else None
                mentions.append(_Mention(
                    finding=mention.term, negated=modifiers.negated,
                    possible=modifiers.possible, hypothetical=modifiers.hypothetical,
                    historical=modifiers.historical, family=modifiers.family,
                    sentence=printed, section=section.name, page=page,
                ))
    title_zones, body = _zones(masked, sections)
    return RadiologyReport(
        modality=knowledge.vocabulary.modality(title_zones, body),
        body_part=knowledge.vocabulary.body_part(title_zones, body),
        sections=_section_texts(text, sections),
        observations=tuple(merge_mentions(mentions)),
    )


def _widen(text: str, masked: str, span: tuple[int, int],
           section: Section) -> tuple[int, int]:
    """Give back the de-identification tokens that blanking trimmed off a sentence's ends,
    so the evidence reads as printed ("XXXX scarring ...")."""
    def blanked(i: int) -> bool:
        return masked[i] == " " and not text[i].isspace()

    start, end = span
    while True:
        probe = start
        while probe > section.start and text[probe - 1] in " \t":
            probe -= 1
        if probe <= section.start or not blanked(probe - 1):
            break
        while probe > section.start and blanked(probe - 1):
            probe -= 1
        start = probe
    # A sentence closed by its own punctuation is complete; a token after it starts the next.
    while text[end - 1] not in ".!?":
        probe = end
        while probe < section.end and text[probe] in " \t":
            probe += 1
        if probe >= section.end or not blanked(probe):
            break
        while probe < section.end and blanked(probe):
            probe += 1
        end = probe
    return start, end


def _bounded(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in spans:
        while end - start > MAX_SENTENCE_CHARS:
            cut = text.rfind(" ", start + MAX_SENTENCE_CHARS // 2, start + MAX_SENTENCE_CHARS)
            cut = cut if cut > start else start + MAX_SENTENCE_CHARS
            out.append((start, cut))
            start = cut
        out.append((start, end))
    return out


def finding_sections(sections: Sequence[Section], rules: SectionRules) -> list[Section]:
    """Where findings are stated: the findings and impression sections. Unlabelled body text
    between headers stands in for a missing findings section, and with neither findings nor
    impression the whole unlabelled text is read (a report with no headers at all)."""
    def extracts(section: Section) -> bool:
        rule = rules.rule(section.name)
        return rule is not None and rule.extract

    names = {s.name for s in sections if extracts(s) and s.end > s.start}
    chosen = [s for s in sections if extracts(s)]
    if "findings" not in names:
        first_header = next((i for i, s in enumerate(sections) if s.header is not None), None)
        if first_header is not None:
            chosen += [s for s in sections[first_header:] if s.header is None]
    if not names:
        chosen += [s for s in sections if s.header is None and s not in chosen]
    return sorted(chosen, key=lambda s: s.start)


def merge_mentions(mentions: Sequence[_Mention]) -> list[Observation]:
    """One observation per finding. An asserted mention anywhere wins over an uncertain one,
    which wins over a negated one; the first mention of the winning kind gives the sentence,
    and every sentence that names the finding is kept as evidence."""
    groups: dict[str, list[_Mention]] = {}
    for mention in mentions:
        groups.setdefault(mention.finding, []).append(mention)
    observations: list[Observation] = []
    for finding, group in groups.items():
        best = min(group, key=lambda m: m.rank)  # min() keeps the first of equal rank
        same_kind = [m for m in group if m.rank == best.rank]
        evidence = tuple(dict.fromkeys(m.sentence for m in group))
        observations.append(Observation(
            finding=finding,
            negated=best.negated,
            uncertain=best.uncertain,
            sentence=best.sentence,
            section=best.section,
            page=best.page,
            # Seen as current anywhere means current.
            historical=all(m.historical for m in same_kind),
            hypothetical=best.hypothetical and not best.negated,
            family=best.family and not best.negated,
            evidence=evidence,
        ))
    return observations


def _zones(masked: str, sections: Sequence[Section]) -> tuple[list[str], str]:
    """(title zones in order of trust, body text) for modality and body-part detection."""
    def joined(chosen: Sequence[Section]) -> str:
        return "\n".join(masked[s.start:s.end] for s in chosen)

    labelled = [s for s in sections if s.header is not None]
    if not labelled:
        # No headers at all: the first line is the best guess at a title.
        whole = joined(sections)
        first_line = next((line for line in whole.splitlines() if line.strip()), "")
        return [first_line], whole
    first = sections.index(labelled[0])
    title = joined([s for s in sections if s.name in _TITLE_SECTIONS])
    # The report header: text before the first section header, and administrative fields.
    header = joined([s for s in sections[:first] if s.header is None]
                    + [s for s in labelled if s.name == OTHER])
    body = joined([s for s in sections[first:]
                   if s.name not in _NOT_BODY or (s.name == OTHER and s.header is None)])
    return [title, header], body


def _section_texts(text: str, sections: Sequence[Section]) -> dict[str, str]:
    texts: dict[str, list[str]] = {}
    for section in sections:
        content = section_text(text, section)
        if section.name == OTHER and section.header and content:
            # Administrative fields keep their label ("Accession: 123"), or the value is lost.
            content = f"{section.header}: {content}"
        if content or section.header is not None:
            texts.setdefault(section.name, []).append(content)
    return {name: "\n".join(part for part in parts if part) for name, parts in texts.items()}
