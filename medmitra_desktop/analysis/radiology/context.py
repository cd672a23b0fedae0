"""Negation, uncertainty and temporal status of findings (ConText, Harkema et al. 2009).

A trigger phrase ("no", "cannot exclude", "is not seen") modifies the findings inside its
scope. The scope runs forward and/or backward from the trigger and ends at the sentence
end, at a termination phrase ("but", "which", ";"), at a trigger of a conflicting category,
or after the rule's word limit. The rules themselves live in context_rules.json.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .lexicon import KnowledgeError
from .patterns import PhraseError, compile_phrases, longest_first, normalise_phrase

NEGATED = "negated"
POSSIBLE = "possible"
HYPOTHETICAL = "hypothetical"
HISTORICAL = "historical"
FAMILY = "family"
PSEUDO = "pseudo"
TERMINATE = "terminate"
MODIFIER_CATEGORIES = frozenset({NEGATED, POSSIBLE, HYPOTHETICAL, HISTORICAL, FAMILY})
CATEGORIES = MODIFIER_CATEGORIES | {PSEUDO, TERMINATE}
DIRECTIONS = frozenset({"forward", "backward", "bidirectional"})
# Absence and doubt end each other's scope: in "no effusion, possible atelectasis" the
# atelectasis is uncertain, not absent. History and family status do not end anything.
_CONFLICTS: dict[str, frozenset[str]] = {
    NEGATED: frozenset({POSSIBLE, HYPOTHETICAL}),
    POSSIBLE: frozenset({NEGATED, HYPOTHETICAL}),
    HYPOTHETICAL: frozenset({NEGATED, POSSIBLE}),
}
_WORD = re.compile(r"[\w']+")
_LIST_CONJUNCTIONS = frozenset({"and", "or", "nor"})
_LIST_ITEM_WORDS = 4
_MAX_LIST_ITEMS = 12  # a backward scope crosses at most this many commas


@dataclass(frozen=True)
class TriggerRule:
    category: str
    direction: str | None  # None for pseudo and terminate
    max_scope: int | None  # words; None = to the end of the clause
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Trigger:
    start: int
    end: int
    rule: TriggerRule

    @property
    def category(self) -> str:
        return self.rule.category


@dataclass(frozen=True)
class Modifiers:
    negated: bool = False
    possible: bool = False
    hypothetical: bool = False
    historical: bool = False
    family: bool = False

    @property
    def uncertain(self) -> bool:
        """Not asserted for this patient: possible, hypothetical or someone else's."""
        return self.possible or self.hypothetical or self.family


@dataclass(frozen=True)
class ContextRules:
    rules: tuple[TriggerRule, ...]

    def triggers(self, sentence: str) -> list[Trigger]:
        """Triggers in the sentence, longest first where they overlap; pseudo-triggers have
        already hidden what they cover and are dropped."""
        candidates = [(m.start(), m.end(), rule)
                      for rule in self.rules for m in rule.pattern.finditer(sentence)]
        return [Trigger(s, e, rule) for s, e, rule in longest_first(candidates)
                if rule.category != PSEUDO]

    def assess(self, sentence: str, targets: Sequence[tuple[int, int]]) -> list[Modifiers]:
        """The modifiers of each target span (offsets into sentence)."""
        if not targets:
            return []
        triggers = self.triggers(sentence)
        modifiers = [t for t in triggers if t.category in MODIFIER_CATEGORIES]
        if not modifiers:
            return [Modifiers() for _ in targets]
        scopes = _Scopes(sentence, triggers)
        ranges: list[tuple[Trigger, int, int]] = []
        for trigger in modifiers:
            if trigger.rule.direction in ("forward", "bidirectional"):
                ranges.append((trigger, trigger.end, scopes.forward_end(trigger)))
            if trigger.rule.direction in ("backward", "bidirectional"):
                ranges.append((trigger, scopes.backward_start(trigger), trigger.start))
        return [_decide(start, end, ranges) for start, end in targets]


def _decide(start: int, end: int, ranges: Sequence[tuple[Trigger, int, int]]) -> Modifiers:
    hits: list[tuple[int, str]] = []  # (distance from the target, category)
    for trigger, low, high in ranges:
        if trigger.start < end and start < trigger.end:
            # Inside the finding's own words: "the heart is not enlarged".
            hits.append((0, trigger.category))
        elif start < high and low < end:
            distance = start - trigger.end if start >= trigger.end else trigger.start - end
            hits.append((max(distance, 0), trigger.category))
    if not hits:
        return Modifiers()
    negations = [d for d, c in hits if c == NEGATED]
    doubts = [d for d, c in hits if c in (POSSIBLE, HYPOTHETICAL)]
    negated = bool(negations)
    if negations and doubts:
        # Both reach the finding (from two sides): the nearer trigger speaks for it; a tie
        # goes to the negation, the safer reading for a report's normal / abnormal verdict.
        negated = min(negations) <= min(doubts)
    categories = {c for _, c in hits}
    return Modifiers(
        negated=negated,
        possible=not negated and POSSIBLE in categories,
        hypothetical=not negated and HYPOTHETICAL in categories,
        historical=HISTORICAL in categories,
        family=FAMILY in categories,
    )


class _Scopes:
    """Scope limits inside one sentence. Triggers never overlap, so per category their starts
    and ends are both sorted and the nearest stop on either side is a binary search."""

    def __init__(self, sentence: str, triggers: Sequence[Trigger]) -> None:
        self.sentence = sentence
        self.by_category: dict[str, tuple[list[int], list[int]]] = {}
        for trigger in triggers:
            starts, ends = self.by_category.setdefault(trigger.category, ([], []))
            starts.append(trigger.start)
            ends.append(trigger.end)
        words = list(_WORD.finditer(sentence))
        self.word_starts = [w.start() for w in words]
        self.word_ends = [w.end() for w in words]

    def _stop_lists(self, trigger: Trigger) -> list[tuple[list[int], list[int]]]:
        categories = {TERMINATE} | _CONFLICTS.get(trigger.category, frozenset())
        return [self.by_category[c] for c in categories if c in self.by_category]

    def forward_end(self, trigger: Trigger) -> int:
        end = len(self.sentence)
        for starts, _ in self._stop_lists(trigger):
            index = bisect.bisect_left(starts, trigger.end)
            if index < len(starts):
                end = min(end, starts[index])
        limit = trigger.rule.max_scope
        if limit:
            first = bisect.bisect_left(self.word_starts, trigger.end)
            if len(self.word_starts) - first > limit:
                end = min(end, self.word_ends[first + limit - 1])
        return end

    def backward_start(self, trigger: Trigger) -> int:
        start = 0
        for _, ends in self._stop_lists(trigger):
            index = bisect.bisect_right(ends, trigger.start)
            if index > 0:
                start = max(start, ends[index - 1])
        limit = trigger.rule.max_scope
        if limit:
            last = bisect.bisect_right(self.word_ends, trigger.start)
            if last > limit:
                start = max(start, self.word_starts[last - limit])
        return self._clause_start(start, trigger.start)

    def _clause_start(self, low: int, position: int) -> int:
        """A backward scope stops at a comma, unless the words after it continue a list of
        findings: "effusion, pneumothorax, and consolidation are not seen" is one clause,
        "mild cardiomegaly, lungs are clear" two."""
        text = self.sentence
        listing = False
        for _ in range(_MAX_LIST_ITEMS):
            comma = text.rfind(",", low, position)
            if comma < 0:
                if listing and len(_WORD.findall(text, low, position)) > _LIST_ITEM_WORDS:
                    return position + 1
                return low
            words = [w.lower() for w in _WORD.findall(text, comma + 1, position)]
            if not listing:
                if not _LIST_CONJUNCTIONS.intersection(words):
                    return comma + 1
                listing = True
            elif len(words) > _LIST_ITEM_WORDS:
                return position + 1
            position = comma
        return position + 1


def build_context_rules(data: Mapping[str, Any],
                        source: str = "context_rules.json") -> ContextRules:
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise KnowledgeError(f"{source}: 'rules' must be a non-empty list")
    if not data.get("sources"):
        raise KnowledgeError(f"{source}: 'sources' must name where the rules come from")
    seen: dict[str, str] = {}
    rules: list[TriggerRule] = []
    for index, entry in enumerate(raw_rules):
        where = f"{source}: rules[{index}]"
        if not isinstance(entry, Mapping):
            raise KnowledgeError(f"{where} is not an object")
        category = entry.get("category")
        if category not in CATEGORIES:
            raise KnowledgeError(
                f"{where}: category {category!r} is not one of {sorted(CATEGORIES)}")
        direction = entry.get("direction")
        if category in MODIFIER_CATEGORIES:
            if direction not in DIRECTIONS:
                raise KnowledgeError(
                    f"{where}: direction {direction!r} is not one of {sorted(DIRECTIONS)}")
        elif direction is not None:
            raise KnowledgeError(f"{where}: a {category} rule has no direction")
        max_scope = entry.get("max_scope")
        if max_scope is not None and (not isinstance(max_scope, int) or max_scope < 1):
            raise KnowledgeError(f"{where}: max_scope must be a positive number of words")
        phrases = entry.get("phrases")
        if not isinstance(phrases, list) or not phrases or not all(
                isinstance(p, str) and p.strip() for p in phrases):
            raise KnowledgeError(f"{where}: 'phrases' must be a non-empty list of strings")
        for phrase in phrases:
            key = normalise_phrase(phrase)
            if key in seen:
                raise KnowledgeError(
                    f"{where}: phrase {phrase!r} is already a {seen[key]} trigger")
            seen[key] = category
        try:
            pattern = compile_phrases(phrases)
        except PhraseError as exc:
            raise KnowledgeError(f"{where}: {exc}") from exc
        rules.append(TriggerRule(category, direction, max_scope, pattern))
    return ContextRules(tuple(rules))
