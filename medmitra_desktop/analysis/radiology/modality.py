"""Imaging modality and body part of a report, from its title first and its body last."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .lexicon import KnowledgeError
from .patterns import PhraseError, compile_phrases, longest_first, normalise_phrase

# The body decides only when one candidate clearly dominates: a report body also mentions
# other modalities in passing ("CT may be of further help").
_DOMINANCE = 2


@dataclass(frozen=True)
class VocabularyEntry:
    label: str  # modality code ("XR") or body part name ("chest")
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class ExamVocabulary:
    modalities: tuple[VocabularyEntry, ...]
    body_parts: tuple[VocabularyEntry, ...]
    chest_hints: re.Pattern[str]

    def modality(self, title_zones: Sequence[str], body: str) -> str | None:
        return _pick(self.modalities, title_zones, body, None)

    def body_part(self, title_zones: Sequence[str], body: str) -> str | None:
        return _pick(self.body_parts, title_zones, body, self.chest_hints)


def _matches(entries: Iterable[VocabularyEntry], text: str) -> list[tuple[int, int, str]]:
    candidates = [(m.start(), m.end(), e.label) for e in entries for m in e.pattern.finditer(text)]
    return longest_first(candidates)


def _pick(entries: Sequence[VocabularyEntry], title_zones: Sequence[str], body: str,
          chest_hints: re.Pattern[str] | None) -> str | None:
    # The exam title is the most reliable statement of what was done: its first match wins.
    for zone in title_zones:
        found = _matches(entries, zone)
        if found:
            return found[0][2]
    counts = Counter(label for _, _, label in _matches(entries, body))
    if chest_hints is not None:
        counts["chest"] += len(chest_hints.findall(body))
    ranked = counts.most_common(2)
    if not ranked:
        return None
    if len(ranked) == 1 or ranked[0][1] >= _DOMINANCE * ranked[1][1]:
        return ranked[0][0]
    return None


def _entries(raw: Any, key: str, source: str) -> tuple[VocabularyEntry, ...]:
    if not isinstance(raw, list) or not raw:
        raise KnowledgeError(f"{source}: '{key}' must be a non-empty list")
    owner: dict[str, str] = {}
    entries: list[VocabularyEntry] = []
    for index, entry in enumerate(raw):
        where = f"{source}: {key}[{index}]"
        if not isinstance(entry, Mapping):
            raise KnowledgeError(f"{where} is not an object")
        label = entry.get("code") or entry.get("name")
        synonyms = entry.get("synonyms")
        if not isinstance(label, str) or not label:
            raise KnowledgeError(f"{where}: needs a 'code' or 'name'")
        if not isinstance(synonyms, list) or not synonyms or not all(
                isinstance(s, str) and s.strip() for s in synonyms):
            raise KnowledgeError(f"{where}: 'synonyms' must be a non-empty list of strings")
        for synonym in synonyms:
            norm = normalise_phrase(synonym)
            if norm in owner:
                raise KnowledgeError(
                    f"{where}: synonym {synonym!r} belongs to both {owner[norm]!r} and {label!r}")
            owner[norm] = label
        try:
            entries.append(VocabularyEntry(label, compile_phrases(synonyms)))
        except PhraseError as exc:
            raise KnowledgeError(f"{where}: {exc}") from exc
    return tuple(entries)


def build_exam_vocabulary(data: Mapping[str, Any],
                          source: str = "modalities.json") -> ExamVocabulary:
    if not data.get("sources"):
        raise KnowledgeError(f"{source}: 'sources' must name where the vocabulary comes from")
    hints = data.get("chest_hints")
    if not isinstance(hints, list) or not hints:
        raise KnowledgeError(f"{source}: 'chest_hints' must be a non-empty list")
    try:
        chest = compile_phrases(hints)
    except PhraseError as exc:
        raise KnowledgeError(f"{source}: chest_hints: {exc}") from exc
    return ExamVocabulary(
        modalities=_entries(data.get("modalities"), "modalities", source),
        body_parts=_entries(data.get("body_parts"), "body_parts", source),
        chest_hints=chest,
    )
