"""Report sections (indication, technique, comparison, findings, impression, ...).

Headers are phrases from sections.json followed by a colon; they may start a line, follow
sentence punctuation or a comma (the MTSamples CSV replaced newlines with commas and writes
"FINDINGS:, ..."), or follow a wide gap on a header line ("ACCESSION: ...    DATE: ...").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .lexicon import KnowledgeError
from .patterns import PhraseError, longest_first, normalise_phrase, phrase_regex

OTHER = "other"
ENDINGS = frozenset({"line", "paragraph", "header"})
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_HAS_TEXT = re.compile(r"[A-Za-z0-9]")
_CONTENT_TRIM = " \t\r\n\f,"


@dataclass(frozen=True)
class SectionRule:
    name: str
    ends_at: str  # "line", "paragraph" or "header"
    extract: bool  # its sentences state findings
    headers: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    name: str
    start: int  # offsets of the content (header excluded) in the text
    end: int
    header: str | None  # the header as printed; None for unlabelled text


@dataclass(frozen=True)
class SectionRules:
    rules: tuple[SectionRule, ...]
    colon_header: re.Pattern[str]
    line_header: re.Pattern[str]
    dash_header: re.Pattern[str]  # "Findings - ..." at a line start
    group_names: Mapping[str, str]  # regex group -> section name

    def rule(self, name: str) -> SectionRule | None:
        return next((r for r in self.rules if r.name == name), None)

    def split(self, text: str) -> list[Section]:
        """Every piece of text in order, each under its section name (OTHER when unlabelled)."""
        found: list[tuple[int, int, tuple[str, str]]] = []
        for match in self.colon_header.finditer(text):
            name = self._name(match)
            found.append((match.start("h"), match.end(), (name, match.group("h"))))
        for match in self.dash_header.finditer(text):
            found.append((match.start("h"), match.end(), (self._name(match), match.group("h"))))
        for match in self.line_header.finditer(text):
            header = match.group("h")
            # Without a colon only a heading-styled line counts ("FINDINGS", "Impression").
            if header.isupper() or header.istitle():
                found.append((match.start("h"), match.end(), (self._name(match), header)))
        headers = longest_first(found)
        sections: list[Section] = []
        cursor = 0
        for index, (start, end, (name, printed)) in enumerate(headers):
            if start > cursor:
                _append(sections, text, OTHER, cursor, start, None)
            limit = headers[index + 1][0] if index + 1 < len(headers) else len(text)
            rule = self.rule(name)
            content_end = _content_end(text, end, limit, rule.ends_at if rule else "header")
            _append(sections, text, name, end, content_end, " ".join(printed.split()), keep=True)
            cursor = content_end
        if cursor < len(text):
            _append(sections, text, OTHER, cursor, len(text), None)
        return sections

    def _name(self, match: re.Match[str]) -> str:
        group = next(g for g, value in match.groupdict().items()
                     if value is not None and g in self.group_names)
        return self.group_names[group]


def _content_end(text: str, start: int, limit: int, ends_at: str) -> int:
    if ends_at == "header":
        return limit
    first = start
    while first < limit and text[first] in _CONTENT_TRIM:
        first += 1
    if first >= limit:
        return limit
    if ends_at == "line":
        newline = text.find("\n", first, limit)
        return limit if newline < 0 else newline
    blank = _BLANK_LINE.search(text, first, limit)
    return limit if blank is None else blank.start()


def _append(sections: list[Section], text: str, name: str, start: int, end: int,
            header: str | None, *, keep: bool = False) -> None:
    while start < end and text[start] in _CONTENT_TRIM:
        start += 1
    while end > start and text[end - 1] in _CONTENT_TRIM:
        end -= 1
    if keep or _HAS_TEXT.search(text, start, end):
        sections.append(Section(name, start, end, header))


def section_text(text: str, section: Section) -> str:
    """The section's text for display: spaces folded, line structure kept."""
    lines = (" ".join(line.split()) for line in text[section.start:section.end].splitlines())
    return "\n".join(line for line in lines if line)


def build_section_rules(data: Mapping[str, Any], source: str = "sections.json") -> SectionRules:
    raw = data.get("sections")
    if not isinstance(raw, list) or not raw:
        raise KnowledgeError(f"{source}: 'sections' must be a non-empty list")
    if not data.get("sources"):
        raise KnowledgeError(f"{source}: 'sources' must name where the headers come from")
    rules: list[SectionRule] = []
    owner: dict[str, str] = {}
    groups: dict[str, str] = {}
    colon_parts: list[str] = []
    line_parts: list[str] = []
    for index, entry in enumerate(raw):
        where = f"{source}: sections[{index}]"
        if not isinstance(entry, Mapping):
            raise KnowledgeError(f"{where} is not an object")
        name = entry.get("name")
        if not isinstance(name, str) or not name or name != normalise_phrase(name):
            raise KnowledgeError(f"{where}: 'name' must be lower-case text")
        ends_at = entry.get("ends_at", "header")
        if ends_at not in ENDINGS:
            raise KnowledgeError(f"{where}: ends_at {ends_at!r} is not one of {sorted(ENDINGS)}")
        headers = entry.get("headers")
        if not isinstance(headers, list) or not headers or not all(
                isinstance(h, str) and h.strip() for h in headers):
            raise KnowledgeError(f"{where}: 'headers' must be a non-empty list of strings")
        for header in headers:
            key = normalise_phrase(header)
            if key in owner:
                raise KnowledgeError(
                    f"{where}: header {header!r} belongs to both {owner[key]!r} and {name!r}")
            owner[key] = name
        try:
            ordered = sorted(headers, key=lambda h: (-len(h), h))
            alternation = "|".join(f"(?:{phrase_regex(h)})" for h in ordered)
        except PhraseError as exc:
            raise KnowledgeError(f"{where}: {exc}") from exc
        group = f"s{index}"
        groups[group] = name
        colon_parts.append(f"(?P<{group}>{alternation})")
        if name != OTHER:
            line_parts.append(f"(?P<{group}>{alternation})")
        rules.append(SectionRule(name, ends_at, bool(entry.get("extract", False)),
                                 tuple(headers)))
    colon = re.compile(
        # Leading blanks are consumed only after a line start or punctuation: letting every
        # position of a long blank run try them made the search quadratic.
        r"(?:^[ \t]*|(?<=[.;,!?])[ \t]*|(?<=[ \t]{2}))(?=[A-Za-z])(?P<h>" + "|".join(colon_parts)
        + r")[ \t]*:[ \t]*,?",
        re.IGNORECASE | re.MULTILINE,
    )
    line = re.compile(
        r"^[ \t]*(?=[A-Za-z])(?P<h>" + "|".join(line_parts) + r")[ \t]*:?[ \t]*$",
        re.IGNORECASE | re.MULTILINE,
    )
    dash = re.compile(
        r"^[ \t]*(?=[A-Za-z])(?P<h>" + "|".join(line_parts) + r")[ \t]*[-\u2013\u2014][ \t]+",
        re.IGNORECASE | re.MULTILINE,
    )
    return SectionRules(tuple(rules), colon, line, dash, groups)
