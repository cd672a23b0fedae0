"""Finding lexicon: normalised terms, the words that name them, and where they occur."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .patterns import PhraseError, compile_phrases, longest_first, normalise_phrase


class KnowledgeError(ValueError):
    """A radiology knowledge file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Term:
    name: str  # lower-case normalised finding ("pleural effusion")
    group: str  # anatomical group, for display ("pleura")
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class Mention:
    term: str
    start: int  # offsets into the searched text
    end: int


@dataclass(frozen=True)
class Lexicon:
    terms: tuple[Term, ...]
    patterns: tuple[tuple[str, re.Pattern[str]], ...]  # (term name, all its synonyms)
    ignore: re.Pattern[str] | None  # phrases that hide a finding word ("body mass index")

    def find(self, text: str) -> list[Mention]:
        """Finding mentions in text; overlapping ones resolve to the longest."""
        candidates: list[tuple[int, int, str | None]] = []
        for name, pattern in self.patterns:
            candidates.extend((m.start(), m.end(), name) for m in pattern.finditer(text))
        if not candidates:
            return []
        if self.ignore is not None:
            candidates.extend((m.start(), m.end(), None) for m in self.ignore.finditer(text))
        return [Mention(name, start, end)
                for start, end, name in longest_first(candidates) if name is not None]

    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.terms)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise KnowledgeError(f"{where}: expected a non-empty list of phrases")
    if not all(isinstance(v, str) and v.strip() for v in value):
        raise KnowledgeError(f"{where}: every phrase must be a non-empty string")
    return tuple(value)


def build_lexicon(data: Mapping[str, Any], source: str = "findings.json") -> Lexicon:
    """Validate the lexicon file and compile it: every term needs a synonyms list, and no
    synonym may name two terms (the finding a word means must be unambiguous)."""
    raw_terms = data.get("terms")
    if not isinstance(raw_terms, list) or not raw_terms:
        raise KnowledgeError(f"{source}: 'terms' must be a non-empty list")
    if not data.get("sources"):
        raise KnowledgeError(f"{source}: 'sources' must name where the terms come from")
    owner: dict[str, str] = {}
    terms: list[Term] = []
    patterns: list[tuple[str, re.Pattern[str]]] = []
    for index, entry in enumerate(raw_terms):
        if not isinstance(entry, Mapping):
            raise KnowledgeError(f"{source}: terms[{index}] is not an object")
        name = entry.get("term")
        if not isinstance(name, str) or not name.strip() or name != normalise_phrase(name):
            raise KnowledgeError(f"{source}: terms[{index}]: 'term' must be lower-case text")
        if name in {t.name for t in terms}:
            raise KnowledgeError(f"{source}: term {name!r} is listed twice")
        synonyms = _strings(entry.get("synonyms"), f"{source}: term {name!r} synonyms")
        for synonym in synonyms:
            key = normalise_phrase(synonym)
            if key in owner:
                raise KnowledgeError(
                    f"{source}: synonym {synonym!r} maps to both {owner[key]!r} and {name!r}")
            owner[key] = name
        try:
            patterns.append((name, compile_phrases(synonyms)))
        except PhraseError as exc:
            raise KnowledgeError(f"{source}: term {name!r}: {exc}") from exc
        terms.append(Term(name, str(entry.get("group") or ""), synonyms))
    ignore = None
    ignore_block = data.get("ignore")
    if ignore_block:
        phrases = _strings(ignore_block.get("phrases"), f"{source}: ignore phrases")
        try:
            ignore = compile_phrases(phrases)
        except PhraseError as exc:
            raise KnowledgeError(f"{source}: ignore: {exc}") from exc
    return Lexicon(tuple(terms), tuple(patterns), ignore)

