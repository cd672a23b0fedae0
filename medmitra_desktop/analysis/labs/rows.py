"""One printed line -> one candidate result row, by structure rather than by layout.

A result line is "name, value, then unit / flag / interval in any order". Columns may be
separated by several spaces (PDF text layer), by single spaces (OCR), by table borders, or by
a dotted leader. Every token that can be a value is tried as the split point; the split whose
name the knowledge base knows and whose remainder parses cleanly wins. Lines that are not
results (headings, demographics, footers, prose) fail those checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from .knowledge import LabKnowledge, TestMatch, UnitMatch
from .ocr_repair import Repair, character_readings, choose_reading, plausible
from .ranges import RangeGrammar, RangeSpec
from .textmatch import fold
from .values import (
    ValueToken,
    read_number_token,
    read_qualitative,
    read_semiquantitative,
    split_glued_unit,
)

MAX_LINE_CHARS = 400  # longer "lines" are prose or garbage; bounded work per line
MAX_TOKENS = 60
MAX_CANDIDATES = 12  # value-like tokens examined per line

_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2010": "-", "\u2011": "-",
                         "\u2212": "-", "\u00a0": " ", "\t": "   ", "\u2009": " "})
_BORDERS = re.compile(r"[|¦│┃{}]")  # OCR reads a printed rule as | or a brace
_CMP_SPACE = re.compile(r"(?<![<>=])([<>]=?)\s+(?=\d)")
_CMP_GLUED = re.compile(r"(?<=[^\s<>=(\[{])(?=[<>]=?\d)")
_CLOSE_GLUED = re.compile(r"([)\]])(?=[A-Za-z])")
_LEADER_GLUED = re.compile(r"([.…·:_]{3,})(?=[<>]?\d)")
_TOKEN = re.compile(r"\S+")
_ENUMERATOR = re.compile(r"^(?:\d{1,2}[.)]|[-*•>·]+)$")
_UNIT_LIKE = re.compile(
    r"^(?:x\s?)?(?:10[\^*]?\d{1,2}|[a-zA-Zµμ%]{1,10})(?:/[a-zA-Z0-9µμ.\^*]{1,12}){1,3}$|^%$")
_ALPHA_WORD = re.compile(r"^[A-Za-z]{3,}[.,;:]?$")
_RANGE_TAIL = re.compile(r"^(?:-|to|–)$|^-\d")
# Result words that can stand as the reference of a numeric result ("30 mg/dL  Negative");
# other words after a number ("Alkaline Phosphatase") are the next test's name.
_NUMERIC_REFERENCE_WORDS = frozenset({"negative", "normal"})
_EMBEDDED_RANGE = re.compile(r"^\(?\d+(?:\.\d+)?-\d+(?:\.\d+)?\)?$")
_DECIMAL = re.compile(r"^[<>]?\d+[.,:]\d+(?:HH|LL|H|L|\*)?[,;]?$")


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


def prepare_line(line: str) -> str:
    """Normalise what differs between text layers and OCR but means the same."""
    s = line[:MAX_LINE_CHARS].translate(_DASHES).replace("≤", "<=").replace("≥", ">=")
    s = _BORDERS.sub("   ", s)
    s = _CMP_SPACE.sub(r"\1", s)  # "< 200" -> "<200": one token for value or bound
    s = _CMP_GLUED.sub(" ", s)  # "1.73m2>60" -> "1.73m2 >60"
    s = _CLOSE_GLUED.sub(r"\1 ", s)  # "(4.5-11.0)L" -> "(4.5-11.0) L"
    s = _LEADER_GLUED.sub(r"\1 ", s)  # "........239 mg/dL": the leader runs into the value
    return s.rstrip()


def tokenize(s: str) -> list[Token]:
    out = []
    for m in _TOKEN.finditer(s):
        out.append(Token(m.group(), m.start(), m.end()))
        if len(out) >= MAX_TOKENS:
            break
    return out


@dataclass
class RestParse:
    unit_text: str | None = None
    unit: UnitMatch | None = None
    ranges: list[RangeSpec] = field(default_factory=list)
    flag_text: str | None = None
    flag_code: str | None = None
    junk: list[str] = field(default_factory=list)
    unit_slot_junk: bool = False  # an unreadable token where the unit belongs
    junk_words: int = 0  # alphabetic tokens skipped as leader remains
    prose_words: int = 0  # words before any interval: prose, not a trailing method column
    junk_starts: list[int] = field(default_factory=list)  # offsets of junk tokens in the rest

    @property
    def alpha_junk(self) -> int:
        return self.prose_words + self.junk_words


@dataclass
class RawRow:
    name: str  # the printed name, cleaned of leaders and punctuation
    match: TestMatch | None
    value: ValueToken
    rest: RestParse
    line: str
    score: float
    repair: Repair | None = None
    name_unit: str | None = None  # a unit printed inside the name column ("Hb (g/dL)")
    rest_start: int = 0  # where the text after the value begins in `line`


class LineParser:
    def __init__(self, knowledge: LabKnowledge) -> None:
        self.kb = knowledge
        self.grammar = RangeGrammar(knowledge)
        lex = knowledge.lexicon
        self._leader_run = re.compile("[" + re.escape(lex.leader_characters) + "]{2,}")

    # ---------------------------------------------------------------- rows
    def parse_all(self, line: str, specimen: str | None, depth: int = 0) -> list[RawRow]:
        """All results on a line: some layouts print two tests side by side
        ("Sodium 140 mmol/L 135-145   Potassium 4.2 mmol/L 3.5-5.1")."""
        row = self.parse(line, specimen)
        if row is None and depth < 3:
            return self._split_unparsed(line, specimen, depth)
        if row is None or not row.rest.junk or depth >= 3:
            return [row] if row is not None else []
        prepared = row.line
        attempts = 0
        for junk, start in zip(row.rest.junk, row.rest.junk_starts, strict=False):
            if not junk[:1].isalpha() or attempts >= 4:
                continue
            attempts += 1
            cut = row.rest_start + start
            tail = self.parse(prepared[cut:], specimen)
            if tail is None or tail.match is None or not (tail.rest.unit or tail.rest.ranges):
                continue  # a real second result has its own unit or interval
            head = self.parse(prepared[:cut], specimen)
            if head is None or (head.match is None and head.rest.junk):
                continue
            return [head, *self.parse_all(prepared[cut:], specimen, depth + 1)]
        return [row]

    def _split_unparsed(self, line: str, specimen: str | None, depth: int) -> list[RawRow]:
        """A line no single reading explains may hold two results whose first test the
        knowledge base does not know: cut after an interval and read both halves."""
        prepared = prepare_line(line)
        tokens = tokenize(prepared)
        attempts = 0
        for k in range(3, len(tokens)):
            if attempts >= 4:
                break
            prev, tok = tokens[k - 1].text, tokens[k].text
            if not (tok[:1].isalpha() and (prev[-1:].isdigit() or prev.endswith(")"))
                    and any(c.isdigit() for c in prepared[: tokens[k].start])):
                continue
            if self.grammar.match_at(prev, 0) is None and not prev.endswith(")"):
                continue
            attempts += 1
            head = self.parse(prepared[: tokens[k].start], specimen)
            if head is None or head.rest.junk:
                continue
            tail = self.parse_all(prepared[tokens[k].start :], specimen, depth + 1)
            if tail:
                return [head, *tail]
        return []

    def parse(self, line: str, specimen: str | None) -> RawRow | None:
        prepared = prepare_line(line)
        tokens = tokenize(prepared)
        if len(tokens) < 2:
            return None
        texts = [t.text for t in tokens]
        best: RawRow | None = None
        budget = [MAX_CANDIDATES]  # value-like tokens examined in depth, so garbage stays cheap
        for i in range(1, len(tokens)):
            if budget[0] <= 0:
                break
            cand = self._candidate(prepared, tokens, texts, i, specimen, budget)
            if cand is not None and (best is None or cand.score > best.score):
                best = cand
        return best

    def _candidate(self, prepared: str, tokens: list[Token], texts: list[str], i: int,
                   specimen: str | None, budget: list[int]) -> RawRow | None:
        tok = texts[i]
        kind = "number"
        value = read_number_token(tok)
        glued_unit: str | None = None
        if value is None and any(c.isdigit() for c in tok[:1]):
            glued = split_glued_unit(tok)
            if glued is not None and self.kb.unit_code(glued[1]) is not None:
                glued_unit = glued[1]
                value = read_number_token(glued[0])
                if value is None and "-" in glued[0]:
                    tok = glued[0]  # "2-4/hpf": a per-field span with its unit
        readings: list[Repair] = []
        if value is not None and _starts_range(texts, i):
            return None  # "13.5 - 17.5" is an interval, not a result
        if value is None:
            value = read_qualitative(texts, i, self.kb)
            kind = "qualitative"
        if value is None:
            value = read_semiquantitative(tok)
            kind = "span"
        if kind == "span" and value is not None:
            probe = self._clean_name(texts[:i])[0]
            found = self.kb.lookup_test(probe, specimen=specimen) if probe else None
            if found is None or found.test.kind != "semiquantitative":
                value = None  # "7-29" for a white cell count is 7.29 with a damaged point
        if value is None:
            lex = self.kb.lexicon
            readings = character_readings(tok, lex.value_char_map, lex.decimal_marks)
            if not readings:
                return None
            value = ValueToken(text=tok, value=None)
            kind = "damaged"
        budget[0] -= 1
        before, name_range = self._trailing_range(texts[:i])
        words, name_unit = self._name_words(before)
        name_flag = None
        last = words[-1] if words else ""
        if len(words) > 1 and (last.isupper() or not last.isalnum()) and "(" not in last \
                and self.kb.flag_code(last) is not None:
            name_flag = words.pop()  # "Hemoglobin  L  10.2": the flag printed before the value
        name = _join_name(words)
        if not name or any(_DECIMAL.match(w) for w in before[1:]):
            return None  # a measured number lies before this token: this split is wrong
        if any(_EMBEDDED_RANGE.match(w) or (not w.isalpha() and self.kb.unit_code(w))
               for w in words[1:]):
            return None  # "AST 0 U/L 5-40 Neutrophils": two results, not one long name
        if glued_unit and any(w[:1].isdigit() for w in texts[1:i]):
            return None  # "341 1043/UL": the unit's digits, not a second result
        match = self._lookup(name, specimen, kind)
        if match is None:
            name, match = self._lookup_trimmed(words, specimen, kind)
        if match is None:
            match = self._lookup(name, specimen, kind, prefix=True)
        if kind in ("span", "damaged") and match is None:
            return None
        if kind == "span" and match is not None and match.test.kind != "semiquantitative":
            return None
        if match is None and not self._plausible_unknown_name(name, prepared):
            return None
        end = tokens[i + value.words - 1].end
        rest = self.parse_rest(prepared[end:], qualitative=kind == "qualitative")
        if glued_unit and rest.unit_text is None:
            rest.unit_text = glued_unit
            rest.unit = self.kb.match_unit(glued_unit)
        if name_flag and rest.flag_code is None:
            rest.flag_text, rest.flag_code = name_flag, self.kb.flag_code(name_flag)
        if value.unit and rest.unit_text is None:
            rest.unit_text = value.unit
            rest.unit = self.kb.match_unit(value.unit)
        if name_unit and rest.unit_text is None:
            rest.unit_text = name_unit
            rest.unit = self.kb.match_unit(name_unit)
        if name_range is not None and not rest.ranges:
            rest.ranges.append(name_range)  # layouts that print the interval before the result
        repair = None
        if kind == "damaged":
            if match is None:
                return None
            unit_code = rest.unit.code if rest.unit else None
            low, high = _first_numeric(rest.ranges)
            repair = choose_reading(readings, match.test, unit_code, low, high)
            if repair is None:
                return None
            value = ValueToken(text=repair.text, value=repair.value)
        score = self._score(match, value, kind, rest)
        row = RawRow(name=name, match=match, value=value, rest=rest, line=prepared,
                     score=score, repair=repair, name_unit=name_unit, rest_start=end)
        return row if self._acceptable(row, kind, specimen) else None

    def _lookup(self, name: str, specimen: str | None, kind: str,
                prefix: bool = False) -> TestMatch | None:
        match = self.kb.lookup_test(name, specimen=specimen, prefix=prefix)
        if match is None and kind == "qualitative" and specimen != "urine":
            # "Glucose  Nil" outside a urine heading is still a dipstick result.
            match = self.kb.lookup_test(name, specimen="urine", prefix=prefix)
        return match

    def _lookup_trimmed(self, words: list[str], specimen: str | None,
                        kind: str) -> tuple[str, TestMatch | None]:
        """A name followed by stray words OCR made of the leader ("MCV Quiet:", "RDW oot").
        Returns the shortened name only when it is a known test."""
        original = _join_name(words)
        words = list(words)
        for _ in range(3):
            if len(words) < 2:
                break
            last = words[-1]
            if not (last.endswith(":") or (len(last) <= 3 and not last.isupper())
                    or self.kb.is_leader_junk(last)):
                break
            words = words[:-1]
            match = self._lookup(_join_name(words), specimen, kind)
            if match is not None:
                return _join_name(words), match
        return original, None

    def _score(self, match: TestMatch | None, value: ValueToken, kind: str,
               rest: RestParse) -> float:
        s = 0.0
        if match is not None:
            s += {"exact": 10.0, "specimen": 10.0, "parenthetical": 9.5,
                  "prefix": 7.5}.get(match.method, 8.5 - match.cost)
        if rest.unit is not None:
            s += 2.0
            if match is not None and match.test.accepts_unit(rest.unit.code):
                s += 1.0
        elif rest.unit_text:
            s += 0.5
        if rest.ranges:
            s += 2.0
        if rest.flag_code or value.flag:
            s += 0.5
        s -= 1.0 * min(len(rest.junk), 6)
        s -= 2.0 * rest.alpha_junk
        if match is not None and value.value is not None:
            unit_code = rest.unit.code if rest.unit else None
            s += 1.0 if plausible(match.test, value.value, unit_code) else -3.0
        if kind == "damaged":
            s -= 1.5
        if kind == "qualitative" and match is not None and match.test.kind == "quantitative" \
                and not match.test.normal_values and not self._qualitative_sibling(match):
            s -= 2.0
        return s

    def _qualitative_sibling(self, match: TestMatch) -> bool:
        return any(t.kind == "qualitative" for t in self.kb.related_tests(match.test))

    def _acceptable(self, row: RawRow, kind: str, specimen: str | None) -> bool:
        rest = row.rest
        if row.match is not None:
            if rest.alpha_junk >= 2:
                return False  # prose that happens to start with a test name
            if kind == "qualitative" and not (rest.ranges or rest.unit or not rest.junk):
                return False
            return row.score >= 6.0
        # Unknown tests: only clean, complete rows, so headers and footers never pass. Inside a
        # urine section a bare "Casts  Absent" is a result too.
        if kind == "qualitative":
            return not rest.junk and (specimen == "urine"
                                      or any(r.qualitative for r in rest.ranges))
        if rest.junk or not (rest.unit is not None or rest.unit_text or rest.ranges):
            return False
        # "... mg/dL <200": a bound after the unit column, not a result
        return not (row.value.comparator and row.name_unit)

    def _plausible_unknown_name(self, name: str, line: str) -> bool:
        letters = sum(c.isalpha() for c in name)
        words = name.split()
        if letters < 2 or len(name) > 60 or len(words) > 7:
            return False
        if re.search(r"\w\s*:\s*\S", name):
            return False  # "Patient ID: 5474011"-style key-value text
        if sum(c.isdigit() for c in name) > max(3, letters // 2):
            return False
        if any(len(w) > 24 for w in words) or any(self.kb.is_leader_junk(w) for w in words
                                                   if len(w) >= 3):
            return False
        crumbs = sum(1 for w in words if len(w) <= 3 and w.islower())
        if crumbs >= 2:
            return False  # "WAV eo ass icc ...": what OCR makes of a dotted leader
        low = " ".join(fold(name).replace(":", " ").replace(".", " ").replace("/", " ").split())
        lex = self.kb.lexicon
        for w in lex.demographic_words:
            if re.search(r"(?<![a-z])" + re.escape(w) + r"(?![a-z])", low):
                return False
        return not any(p.search(line) for p in lex.demographic_patterns)

    # ---------------------------------------------------------------- names
    def _clean_name(self, words: list[str]) -> tuple[str, str | None]:
        out, unit = self._name_words(words)
        return _join_name(out), unit

    def _name_words(self, words: list[str]) -> tuple[list[str], str | None]:
        """The printed name's words without a dotted leader or enumerator, and a unit printed
        in the name column if any."""
        out: list[str] = []
        for k, w in enumerate(words):
            if k > 0 and self._is_leader_token(w):
                break
            cut = self._leader_run.search(w)
            if cut and cut.start() > 0:
                out.append(w[: cut.start()])
                break
            out.append(w)
        while out and _ENUMERATOR.match(out[0]):
            out.pop(0)
        unit = None
        if len(out) > 1:
            last = out[-1].strip("()[]")
            if last and (self.kb.unit_code(last) is not None) and not last.isalpha():
                unit = last
                out.pop()
        return out, unit

    def _trailing_range(self, words: list[str]) -> tuple[list[str], RangeSpec | None]:
        """An interval printed between the name and the value ("Hb  13.0 - 17.0  14.2")."""
        for k in (4, 3, 2, 1):
            if len(words) <= k:
                continue
            tail = " ".join(words[-k:])
            found = self.grammar.match_at(tail, 0)
            if found is not None and found[1] >= len(tail.rstrip()):
                return words[:-k], found[0]
        return words, None

    def _is_leader_token(self, w: str) -> bool:
        if self._leader_run.search(w):
            return True
        if w in (":", "-", "=", "~", "_"):
            return True
        return len(w) >= 3 and w[0] in ".:«…·" and not w[1:2].isdigit()

    # ---------------------------------------------------------------- the rest
    def parse_rest(self, text: str, *, qualitative: bool = False) -> RestParse:
        """Unit, flag and interval(s) after the value, in whatever order the layout prints."""
        res = RestParse()
        tokens = tokenize(text)
        texts = [t.text for t in tokens]
        i = 0
        pending_label: str | None = None
        while i < len(tokens):
            tok = texts[i]
            if tok in ("(", ")", "[", "]", ",", ";"):
                i += 1
                continue
            found = self.grammar.match_at(text, tokens[i].start)
            if found is not None:
                spec, end = found
                if pending_label:
                    spec = replace(spec, label=pending_label, text=f"{pending_label} {spec.text}")
                    pending_label = None
                res.ranges.append(spec)
                while i < len(tokens) and tokens[i].start < end:
                    i += 1
                continue
            if self._not_established(text[tokens[i].start:]):
                res.ranges.append(RangeSpec(None, None, text[tokens[i].start:].strip(),
                                            qualitative="not established"))
                break
            label_words = self._label_at(texts, i, text, tokens)
            if label_words:
                pending_label = " ".join(texts[i : i + label_words]).rstrip(":-= ")
                i += label_words
                continue
            flag_words, code = self._flag_at(texts, i)
            if code is not None and res.flag_code is None:
                res.flag_text = " ".join(texts[i : i + flag_words])
                res.flag_code = code
                i += flag_words
                continue
            qual = read_qualitative(texts, i, self.kb)
            if qual is not None and (qualitative or qual.qualitative in _NUMERIC_REFERENCE_WORDS):
                res.ranges.append(RangeSpec(None, None, qual.text, qualitative=qual.qualitative))
                i += qual.words
                continue
            unit_words = self._unit_at(texts, i)
            if unit_words:
                if res.unit_text is None:
                    joined = " ".join(texts[i : i + unit_words]).strip("()[]")
                    res.unit_text = joined
                    res.unit = self.kb.match_unit(joined, max_cost=0.0)
                i += unit_words  # a unit repeated inside the interval ("13.5-17.5 g/dL")
                continue
            bare = tok.strip("()[],;")
            if res.unit_text is None and not res.ranges and len(bare) >= 2:
                found_unit = self._fuzzy_unit_at(texts, i)
                if found_unit is not None:
                    res.unit_text, res.unit, used = found_unit
                    i += used
                    continue
            if res.unit_text is None and not res.ranges and _UNIT_LIKE.match(bare):
                res.unit_text = bare  # a unit the registry does not know, kept as printed
                i += 1
                continue
            if self.kb.is_leader_junk(tok) and not res.ranges and not res.unit_text:
                if tok.isalpha():
                    res.junk_words += 1  # letters that may be a leader, or may be prose
                i += 1  # leader dots between value and unit in some layouts
                continue
            res.junk.append(tok)
            res.junk_starts.append(tokens[i].start)
            if not res.ranges and _ALPHA_WORD.match(tok):
                res.prose_words += 1
            if res.unit_text is None and not res.ranges:
                res.unit_slot_junk = True
            i += 1
        return res

    def _not_established(self, remainder: str) -> bool:
        """The reference column says there is no interval ("Not established", "See note")."""
        low = " ".join(fold(remainder).split()).strip(" .()[]")
        if not low:
            return False
        return any(low == w or (len(w) > 3 and low.startswith(w))
                   for w in self.kb.lexicon.not_established)

    def _unit_at(self, texts: list[str], i: int) -> int:
        """How many tokens from i form a known unit spelling (units like "mL/min/1.73 m2"
        or "cells/cu mm" contain spaces)."""
        for n in (3, 2, 1):
            if i + n > len(texts):
                continue
            joined = " ".join(texts[i : i + n]).strip("()[],;")
            if joined and self.kb.unit_code(joined) is not None:
                return n
            stripped = joined.rstrip(".,:;")
            if n == 1 and stripped != joined and self.kb.unit_code(stripped) is not None:
                return n
        return 0

    def _fuzzy_unit_at(self, texts: list[str], i: int) -> tuple[str, UnitMatch, int] | None:
        """An OCR-damaged unit, possibly split in two tokens ("mm/ist hr")."""
        best: tuple[float, str, UnitMatch, int] | None = None
        for n in (2, 1):
            if i + n > len(texts):
                continue
            joined = " ".join(texts[i : i + n]).strip("()[],;")
            if n == 2 and (self.kb.flag_code(texts[i + 1]) or texts[i + 1][:1].isdigit()):
                continue
            if joined.isdigit() or len(joined) < 2:
                continue
            found = self.kb.match_unit(joined)
            if found is not None and (best is None or found.cost < best[0]):
                best = (found.cost, joined, found, n)
        return None if best is None else (best[1], best[2], best[3])

    def _flag_at(self, texts: list[str], i: int) -> tuple[int, str | None]:
        for n in (2, 1):
            if i + n > len(texts):
                continue
            code = self.kb.flag_code(" ".join(texts[i : i + n]))
            if code is not None:
                return n, code
        return 0, None

    def _label_at(self, texts: list[str], i: int, text: str, tokens: list[Token]) -> int:
        """Words naming the interval that follows ("Male:", "Adult", "Desirable :")."""
        for n in (3, 2, 1):
            if i + n > len(texts):
                continue
            phrase = " ".join(texts[i : i + n])
            if self.grammar.label_kind(phrase) is None:
                continue
            j = i + n
            while j < len(texts) and texts[j] in (":", "-", "="):
                j += 1
            if j < len(tokens) and self.grammar.match_at(text, tokens[j].start) is not None:
                return j - i
        return 0

    # ---------------------------------------------------------------- continuation lines
    def interval_line(self, line: str) -> list[RangeSpec] | None:
        """Intervals printed on a line of their own under a result ("Female: 12.0-15.5",
        "Desirable : < 200"), or None when the line is anything else."""
        prepared = prepare_line(line).strip()
        if not prepared or (not any(c.isdigit() for c in prepared) and not prepared.strip("()")):
            return None
        res = self.parse_rest(prepared)
        if res.junk or res.flag_code or (res.unit_text and not res.ranges):
            return None
        nums = [r for r in res.ranges if r.numeric]
        return nums or None


def _join_name(words: list[str]) -> str:
    name = " ".join(words).strip(" :-=,;|*•")
    if name.startswith("(") and name.endswith(")") and name.count("(") == 1:
        name = name[1:-1]
    return name


def _starts_range(texts: list[str], i: int) -> bool:
    """The token at i is the low end of an interval: "13.5 - 17.5", "13.5 -17.5", "3 to 5"."""
    nxt = texts[i + 1] if i + 1 < len(texts) else ""
    if _RANGE_TAIL.match(nxt):
        if nxt.startswith("-") and len(nxt) > 1:
            return True
        after = texts[i + 2] if i + 2 < len(texts) else ""
        return bool(after[:1].isdigit())
    return False


def _first_numeric(ranges: list[RangeSpec]) -> tuple[float | None, float | None]:
    for r in ranges:
        if r.numeric:
            return r.low, r.high
    return None, None
