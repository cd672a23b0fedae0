"""The medication knowledge in resources/meds/, validated and indexed once for the readers.

The caller loads it once (`load_meds_knowledge(resources_dir())`) and passes it on; nothing here
is cached at module level, so tests and tools can load a different directory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from .patterns import SigPatterns, compile_sig_patterns
from .text import Token, joins, phrases_regex, term_key, tokenize

FILES = ("drugs.json", "brands.json", "classes.json", "sig.json", "allergies.json", "context.json")

T = TypeVar("T")


class MedsKnowledgeError(ValueError):
    """The knowledge files are missing, malformed or contradict themselves."""


@dataclass(frozen=True)
class VocabEntry:
    kind: str  # "drug" | "class" | "manufacturer"
    name: str  # the generic (drugs), a display name (classes) or the company
    drug_class: str | None = None
    reason: str | None = None  # why a class or manufacturer mention needs a human
    needs_context: bool = False  # a brand that is also a common word ("Pan", "Candid")
    components: tuple[str, ...] = ()
    source: str | None = None


@dataclass(frozen=True)
class FormInfo:
    route: str | None
    prefix: bool  # "Tab. X": X is a drug name even when unknown
    dotted_only: bool  # "T." / "C." count only with their dot


@dataclass(frozen=True)
class FrequencyInfo:
    canonical: str
    per_day: float | None
    prn: bool = False
    slots: tuple[str, ...] = ()


@dataclass(frozen=True)
class PhraseIndex(Generic[T]):
    """Multi-word names looked up by token tuples, longest first."""

    entries: Mapping[tuple[str, ...], T]
    first: frozenset[str]
    max_len: int

    @classmethod
    def build(cls, pairs: Iterable[tuple[tuple[str, ...], T]]) -> PhraseIndex[T]:
        entries = dict(pairs)
        return cls(
            entries=entries,
            first=frozenset(k[0] for k in entries),
            max_len=max((len(k) for k in entries), default=0),
        )

    def longest_at(self, text: str, tokens: Sequence[Token], i: int) -> tuple[int, T] | None:
        if tokens[i].low not in self.first:
            return None
        run = 1
        while (
            run < self.max_len
            and i + run < len(tokens)
            and joins(text, tokens[i + run - 1], tokens[i + run])
        ):
            run += 1
        for length in range(run, 0, -1):
            hit = self.entries.get(tuple(t.low for t in tokens[i : i + length]))
            if hit is not None:
                return length, hit
        return None


def squash(text: str) -> str:
    """Key for looking a matched phrase up: "b.i.d." and "BID" both give "bid"."""
    return re.sub(r"[\W_]+", "", text.casefold())


@dataclass(frozen=True)
class PhraseTable:
    """A regex over all terms of a table plus the canonical value of each matched term."""

    pattern: re.Pattern[str]
    values: Mapping[str, Any]

    def lookup(self, matched: str) -> Any:
        return self.values.get(squash(matched))


@dataclass(frozen=True, repr=False)
class MedsKnowledge:
    vocab: PhraseIndex[VocabEntry]
    drugs: Mapping[str, VocabEntry]  # generic -> entry (single drugs and combinations)
    combinations: Mapping[frozenset[str], str]  # components -> combination generic
    release_modifiers: frozenset[str]
    salts: frozenset[str]
    forms: PhraseIndex[FormInfo]
    routes: PhraseTable
    frequencies: PhraseTable
    tablet_slots_three: tuple[str, ...]
    tablet_slots_four: tuple[str, ...]
    food: PhraseTable
    dose_units: Mapping[str, str]  # squashed printed unit -> canonical
    unit_to_mg: Mapping[str, float]
    dose_unit_pattern: str  # regex alternation of printed dose units
    per_denominators: tuple[str, ...]
    lab_unit_pattern: str
    duration_units: Mapping[str, str]
    duration_unit_pattern: str
    duration_need_marker: frozenset[str]
    duration_marker_pattern: str
    duration_slash: Mapping[str, str]
    open_durations: PhraseTable
    allergens: PhraseIndex[tuple[str, str]]  # -> (allergen name, category)
    allergen_classes: Mapping[str, frozenset[str]]  # allergen group -> drug classes it covers
    allergy_cues_before: re.Pattern[str]
    allergy_list_labels: re.Pattern[str]
    allergy_cues_after: re.Pattern[str]
    nkda: re.Pattern[str]
    nkda_values: frozenset[str]
    allergy_negations: frozenset[str]
    reactions: PhraseTable
    severities: PhraseTable
    allergy_clause_stops: re.Pattern[str]
    allergy_fillers: re.Pattern[str]
    negation_before: re.Pattern[str]
    negation_after: re.Pattern[str]
    stopped_before: re.Pattern[str]
    stopped_after: re.Pattern[str]
    held_before: re.Pattern[str]
    held_after: re.Pattern[str]
    hypothetical_before: re.Pattern[str]
    scope_breakers: re.Pattern[str]
    list_connectors: re.Pattern[str]
    reason_cues: re.Pattern[str]
    lab_prefixes: tuple[tuple[tuple[str, ...], bool], ...]  # (tokens, the dot is required)
    lab_suffixes: frozenset[tuple[str, ...]]
    antibiogram_cues: re.Pattern[str]
    antibiogram_values: frozenset[str]
    no_current_medications: re.Pattern[str]
    no_medication_values: frozenset[str]
    headings: re.Pattern[str]
    heading_roles: Mapping[str, str]
    sources: Mapping[str, Mapping[str, Any]]  # "file.json:id" -> source record
    sig: SigPatterns
    form_words: re.Pattern[str]  # dosage-form and release words, to see past them in a list

    def __repr__(self) -> str:
        return f"MedsKnowledge({len(self.drugs)} drugs, {len(self.vocab.entries)} names)"

    def generic_for(self, printed: str) -> str | None:
        """The generic a printed drug or brand name stands for, or None when unknown."""
        tokens = tokenize(printed)
        if not tokens:
            return None
        hit = self.vocab.longest_at(printed, tokens, 0)
        if hit is None or hit[0] != len(tokens) or hit[1].kind != "drug":
            return None
        return hit[1].name


def load_meds_knowledge(resources_dir: Path) -> MedsKnowledge:
    """Read and validate resources_dir/meds/*.json; raise MedsKnowledgeError with the reason."""
    folder = Path(resources_dir) / "meds"
    raw: dict[str, dict[str, Any]] = {}
    for name in FILES:
        path = folder / name
        try:
            raw[name] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise MedsKnowledgeError(f"missing knowledge file {path}") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MedsKnowledgeError(f"cannot read {path}: {exc}") from exc
        if not isinstance(raw[name].get("sources"), dict) or not raw[name]["sources"]:
            raise MedsKnowledgeError(f"{name}: no 'sources' named")
    try:
        return _build(raw)
    except MedsKnowledgeError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise MedsKnowledgeError(f"malformed knowledge in {folder}: {exc!r}") from exc


def _need_source(
    file: str, where: str, record: Mapping[str, Any], sources: Mapping[str, Any]
) -> None:
    src = record.get("source")
    if not src or src not in sources:
        raise MedsKnowledgeError(f"{file}: {where} has no known source ({src!r})")


def _terms(file: str, section: str, record: Any) -> list[str]:
    terms = record.get("terms") if isinstance(record, dict) else None
    if not isinstance(terms, list) or not all(isinstance(t, str) and t.strip() for t in terms):
        raise MedsKnowledgeError(f"{file}: {section} needs a list of non-empty 'terms'")
    return terms


def _table(
    file: str,
    section: str,
    items: Sequence[Mapping[str, Any]],
    value_of: Callable[[Mapping[str, Any]], Any],
) -> PhraseTable:
    values: dict[str, Any] = {}
    terms: list[str] = []
    for item in items:
        value = value_of(item)
        for term in _terms(file, section, item):
            key = squash(term)
            if key in values and values[key] != value:
                raise MedsKnowledgeError(
                    f"{file}: {section} term {term!r} means both {values[key]!r} and {value!r}"
                )
            values[key] = value
            terms.append(term)
    return PhraseTable(phrases_regex(terms), values)


def _alternation(terms: Iterable[str]) -> str:
    return phrases_regex(terms).pattern


def _build(raw: Mapping[str, dict[str, Any]]) -> MedsKnowledge:
    sources = {
        f"{file}:{sid}": record
        for file, data in raw.items()
        for sid, record in data["sources"].items()
    }
    vocab: dict[tuple[str, ...], VocabEntry] = {}

    def add(term: str, entry: VocabEntry, where: str) -> None:
        key = term_key(term)
        if not key:
            raise MedsKnowledgeError(f"{where}: empty name {term!r}")
        old = vocab.get(key)
        if old is not None and (old.kind, old.name) != (entry.kind, entry.name):
            raise MedsKnowledgeError(
                f"{where}: {term!r} would mean both {old.name!r} and {entry.name!r}"
            )
        vocab[key] = entry

    drugs_file = raw["drugs.json"]
    drugs: dict[str, VocabEntry] = {}
    combinations: dict[frozenset[str], str] = {}
    for i, rec in enumerate(drugs_file.get("drugs", [])):
        generic = rec.get("generic")
        where = f"drugs.json: drug #{i} ({generic!r})"
        if not isinstance(generic, str) or generic != generic.strip().casefold():
            raise MedsKnowledgeError(f"{where}: generic must be lower-case")
        if generic in drugs:
            raise MedsKnowledgeError(f"{where}: listed twice")
        _need_source("drugs.json", where, rec, drugs_file["sources"])
        components = tuple(rec.get("components") or ())
        if components and len(components) < 2:
            raise MedsKnowledgeError(f"{where}: a combination needs two or more components")
        entry = VocabEntry(
            kind="drug",
            name=generic,
            drug_class=rec.get("class"),
            components=components,
            source=f"drugs.json:{rec['source']}",
        )
        drugs[generic] = entry
        if components:
            combinations[frozenset(components)] = generic
        for term in [generic, *rec.get("aliases", [])]:
            add(term, entry, where)

    brands_file = raw["brands.json"]
    for i, rec in enumerate(brands_file.get("brands", [])):
        where = f"brands.json: brand #{i} ({rec.get('brand')!r})"
        _need_source("brands.json", where, rec, brands_file["sources"])
        target = drugs.get(rec.get("generic", ""))
        if target is None:
            raise MedsKnowledgeError(f"{where}: generic {rec.get('generic')!r} not in drugs.json")
        add(
            rec["brand"],
            VocabEntry(
                kind="drug",
                name=target.name,
                drug_class=target.drug_class,
                needs_context=bool(rec.get("needs_context")),
                components=target.components,
                source=f"brands.json:{rec['source']}",
            ),
            where,
        )

    classes_file = raw["classes.json"]
    for i, rec in enumerate(classes_file["classes"]["items"]):
        where = f"classes.json: class #{i} ({rec.get('name')!r})"
        _need_source("classes.json", where, rec, classes_file["sources"])
        entry = VocabEntry(
            kind="class",
            name=rec["name"],
            reason=rec["reason"],
            source=f"classes.json:{rec['source']}",
        )
        for term in _terms("classes.json", where, rec):
            add(term, entry, where)
    ambiguous = classes_file.get("ambiguous_brands", {"items": []})
    for i, rec in enumerate(ambiguous["items"]):
        where = f"classes.json: ambiguous brand #{i} ({rec.get('name')!r})"
        _need_source("classes.json", where, ambiguous, classes_file["sources"])
        candidates = rec.get("candidates") or []
        missing = [c for c in candidates if c not in drugs]
        if len(candidates) < 2 or missing:
            raise MedsKnowledgeError(f"{where}: needs two or more known candidates ({missing})")
        entry = VocabEntry(
            kind="class",
            name=rec["name"],
            reason=f"{rec['reason']}: could be " + ", ".join(candidates),
            source=f"classes.json:{ambiguous['source']}",
        )
        for term in _terms("classes.json", where, rec):
            add(term, entry, where)
    makers = classes_file["manufacturers"]
    _need_source("classes.json", "manufacturers", makers, classes_file["sources"])
    for term in _terms("classes.json", "manufacturers", makers):
        add(
            term,
            VocabEntry(
                kind="manufacturer",
                name=term.casefold(),
                reason=makers["reason"],
                needs_context=True,
                source=f"classes.json:{makers['source']}",
            ),
            "classes.json: manufacturers",
        )

    sig = raw["sig.json"]
    for section in (
        "routes",
        "forms",
        "frequencies",
        "tablet_pattern_slots",
        "food_timing",
        "dose_units",
        "lab_units",
        "durations",
        "name_modifiers",
    ):
        if section not in sig:
            raise MedsKnowledgeError(f"sig.json: section {section!r} missing")
        _need_source("sig.json", section, sig[section], sig["sources"])

    forms: dict[tuple[str, ...], FormInfo] = {}
    for item in sig["forms"]["items"]:
        info = FormInfo(item.get("route"), bool(item.get("prefix")), bool(item.get("dotted_only")))
        for term in _terms("sig.json", "forms", item):
            forms[term_key(term)] = info

    units = sig["dose_units"]
    dose_units: dict[str, str] = {}
    unit_to_mg: dict[str, float] = {}
    unit_terms: list[str] = []
    for item in units["items"]:
        for term in _terms("sig.json", "dose_units", item):
            dose_units[squash(term) or term] = item["canonical"]
            unit_terms.append(term)
        if "to_mg" in item:
            unit_to_mg[item["canonical"]] = float(item["to_mg"])

    durations = sig["durations"]
    duration_units: dict[str, str] = {}
    duration_terms: list[str] = []
    for item in durations["units"]:
        for term in _terms("sig.json", "durations", item):
            duration_units[squash(term)] = item["canonical"]
            duration_terms.append(term)

    allergies = raw["allergies.json"]
    for section in (
        "cues_before",
        "list_labels",
        "cues_after",
        "no_known_allergies",
        "negations",
        "allergens",
        "reactions",
        "severities",
        "clause_stops",
        "item_fillers",
    ):
        if section not in allergies:
            raise MedsKnowledgeError(f"allergies.json: section {section!r} missing")
        _need_source("allergies.json", section, allergies[section], allergies["sources"])
    allergens: dict[tuple[str, ...], tuple[str, str]] = {}
    allergen_classes: dict[str, frozenset[str]] = {}
    known_classes = {e.drug_class for e in drugs.values()}
    for item in allergies["allergens"]["items"]:
        for term in _terms("allergies.json", "allergens", item):
            allergens[term_key(term)] = (item["name"], item["category"])
        unknown = set(item.get("drug_classes", ())) - known_classes
        if unknown:
            raise MedsKnowledgeError(
                f"allergies.json: allergen {item['name']!r} names unknown classes {sorted(unknown)}"
            )
        allergen_classes[item["name"]] = frozenset(item.get("drug_classes", ()))

    context = raw["context.json"]
    for section in (
        "negation_before",
        "negation_after",
        "stopped_before",
        "stopped_after",
        "held_before",
        "held_after",
        "hypothetical_before",
        "scope_breakers",
        "list_connectors",
        "reason_cues",
        "lab_prefixes",
        "lab_suffixes",
        "antibiogram_cues",
        "no_current_medications",
        "sections",
    ):
        if section not in context:
            raise MedsKnowledgeError(f"context.json: section {section!r} missing")
        _need_source("context.json", section, context[section], context["sources"])

    def ctx(section: str) -> re.Pattern[str]:
        return phrases_regex(_terms("context.json", section, context[section]))

    heading_roles: dict[str, str] = {}
    for item in context["sections"]["items"]:
        for term in _terms("context.json", "sections", item):
            heading_roles[squash(term)] = item["role"]
    heading_alt = _alternation(t for item in context["sections"]["items"] for t in item["terms"])
    headings = re.compile(
        r"^[ \t>*•·\-–#(\[\d.)\]]*?(?P<head>" + heading_alt + r")[ \t]*(?:[:\-–—=]+|$)[ \t]*",
        re.IGNORECASE,
    )

    dose_unit_pattern = _alternation(unit_terms)
    duration_unit_pattern = _alternation(duration_terms)
    duration_marker_pattern = _alternation(durations["markers"])
    lab_unit_pattern = _alternation(_terms("sig.json", "lab_units", sig["lab_units"]))
    per_denominators = tuple(units.get("per_denominators", ()))

    return MedsKnowledge(
        vocab=PhraseIndex.build(vocab.items()),
        drugs=drugs,
        combinations=combinations,
        release_modifiers=frozenset(
            k[0] for k in map(term_key, sig["name_modifiers"]["release"]) if len(k) == 1
        ),
        salts=frozenset(k[0] for k in map(term_key, sig["name_modifiers"]["salts"]) if k),
        forms=PhraseIndex.build(forms.items()),
        routes=_table("sig.json", "routes", sig["routes"]["items"], lambda i: i["route"]),
        frequencies=_table(
            "sig.json",
            "frequencies",
            sig["frequencies"]["items"],
            lambda i: FrequencyInfo(
                i["canonical"], i.get("per_day"), bool(i.get("prn")), tuple(i.get("slots", ()))
            ),
        ),
        tablet_slots_three=tuple(sig["tablet_pattern_slots"]["three"]),
        tablet_slots_four=tuple(sig["tablet_pattern_slots"]["four"]),
        food=_table(
            "sig.json", "food_timing", sig["food_timing"]["items"], lambda i: i["canonical"]
        ),
        dose_units=dose_units,
        unit_to_mg=unit_to_mg,
        dose_unit_pattern=dose_unit_pattern,
        per_denominators=per_denominators,
        lab_unit_pattern=lab_unit_pattern,
        duration_units=duration_units,
        duration_unit_pattern=duration_unit_pattern,
        duration_need_marker=frozenset(
            squash(t) for t in durations.get("short_unit_terms_need_marker", ())
        ),
        duration_marker_pattern=duration_marker_pattern,
        duration_slash=dict(durations.get("slash_notation", {})),
        open_durations=_table(
            "sig.json", "durations", durations["open_ended"], lambda i: i["canonical"]
        ),
        allergens=PhraseIndex.build(allergens.items()),
        allergen_classes=allergen_classes,
        allergy_cues_before=phrases_regex(
            _terms("allergies.json", "cues_before", allergies["cues_before"])
        ),
        allergy_list_labels=re.compile(
            r"(?P<label>"
            + _alternation(_terms("allergies.json", "list_labels", allergies["list_labels"]))
            + r")[ \t]*[:\-–—=]+[ \t]*",
            re.IGNORECASE,
        ),
        allergy_cues_after=phrases_regex(
            _terms("allergies.json", "cues_after", allergies["cues_after"])
        ),
        # "no allergy to penicillin" denies one allergy, it is not "no known allergies".
        nkda=re.compile(
            "(?:"
            + _alternation(
                _terms("allergies.json", "no_known_allergies", allergies["no_known_allergies"])
            )
            + r")(?![ \t]+(?:to|with|of)\b)",
            re.IGNORECASE,
        ),
        nkda_values=frozenset(
            squash(v) for v in allergies["no_known_allergies"].get("list_values", ())
        ),
        allergy_negations=frozenset(
            squash(t) for t in _terms("allergies.json", "negations", allergies["negations"])
        ),
        reactions=_table(
            "allergies.json", "reactions", allergies["reactions"]["items"], lambda i: i["name"]
        ),
        severities=_table(
            "allergies.json", "severities", allergies["severities"]["items"], lambda i: i["name"]
        ),
        allergy_clause_stops=phrases_regex(
            _terms("allergies.json", "clause_stops", allergies["clause_stops"])
        ),
        allergy_fillers=phrases_regex(
            _terms("allergies.json", "item_fillers", allergies["item_fillers"])
        ),
        negation_before=ctx("negation_before"),
        negation_after=ctx("negation_after"),
        stopped_before=ctx("stopped_before"),
        stopped_after=ctx("stopped_after"),
        held_before=ctx("held_before"),
        held_after=ctx("held_after"),
        hypothetical_before=ctx("hypothetical_before"),
        scope_breakers=ctx("scope_breakers"),
        list_connectors=ctx("list_connectors"),
        reason_cues=ctx("reason_cues"),
        lab_prefixes=tuple(
            (term_key(t), t.rstrip().endswith("."))
            for t in _terms("context.json", "lab_prefixes", context["lab_prefixes"])
        ),
        lab_suffixes=frozenset(
            term_key(t) for t in _terms("context.json", "lab_suffixes", context["lab_suffixes"])
        ),
        antibiogram_cues=ctx("antibiogram_cues"),
        antibiogram_values=frozenset(
            squash(v) for v in context["antibiogram_cues"].get("row_values", ())
        ),
        no_current_medications=ctx("no_current_medications"),
        no_medication_values=frozenset(
            squash(v) for v in context["no_current_medications"].get("list_values", ())
        ),
        headings=headings,
        heading_roles=heading_roles,
        sources=sources,
        form_words=phrases_regex(
            [
                t
                for item in sig["forms"]["items"]
                if not item.get("dotted_only")
                for t in item["terms"]
            ]
            + list(sig["name_modifiers"]["release"])
        ),
        sig=compile_sig_patterns(
            dose_units=dose_unit_pattern,
            per_denominators=per_denominators,
            duration_units=duration_unit_pattern,
            duration_markers=duration_marker_pattern,
            lab_units=lab_unit_pattern,
        ),
    )
