"""parse_lab_report: page texts in, one LabRow per printed result out.

The pages come from the PDF text layer (pypdf layout mode: columns two or more spaces apart)
or from Tesseract (--psm 6: columns often one space apart, characters damaged). Rows are
found line by line (rows.py); this module keeps the context a line alone lacks (the section
heading, an interval printed on the next line) and turns each raw row into a LabRow: the
knowledge base's name and LOINC, the unit as printed, the interval (printed, or from the
knowledge base when none is printed), and a flag computed from value and interval.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from .flags import critical_flag, flag_note, numeric_flag, qualitative_flag, span_flag
from .knowledge import LabKnowledge, LabTest, UnitMatch
from .model import LabRow
from .ocr_repair import choose_reading, lost_decimal_readings, plausible, repair_reversed_range
from .ranges import RangeSpec, choose_range
from .rows import LineParser, RawRow, prepare_line
from .textmatch import fold, ocr_distance, unit_key
from .values import format_number

MAX_LINES_PER_PAGE = 3000  # bounded work on pathological input
ADULT_AGE = 18
_DECORATION = re.compile(r"^[\s=\-_*#~.:]+|[\s=\-_*#~.:]+$")


def parse_lab_report(
    pages: Sequence[str],
    *,
    age: int | None,
    gender: str | None,
    knowledge: LabKnowledge,
) -> list[LabRow]:
    """Every printed result in the report, in printed order. Never raises on odd text."""
    parser = LineParser(knowledge)
    sex = _sex(gender)
    rows: list[LabRow] = []
    specimen: str | None = None
    for page_no, page in enumerate(pages, start=1):
        lines = (page or "").splitlines()[:MAX_LINES_PER_PAGE]
        i = 0
        fragment: str | None = None  # a name wrapped onto the line above its result
        while i < len(lines):
            line = lines[i]
            i += 1
            if not line.strip():
                continue
            found = parser.parse_all(line, specimen)
            if not found:
                specimen = _next_specimen(line, specimen, knowledge)
                fragment = _name_fragment(line)
                continue
            if fragment is not None and found[0].match is None:
                _join_wrapped_name(found[0], fragment, specimen, knowledge)
            fragment = None
            for raw in found[:-1]:
                rows.append(_finish(raw, page_no, line.strip(), age, sex, parser, knowledge))
            raw = found[-1]
            texts = [line.strip()]
            # Intervals printed on the following line(s): "(13.5 - 17.5)", "Female: 12-15".
            while i < len(lines) and len(texts) < 4:
                nxt = lines[i]
                if not nxt.strip():
                    break
                if parser.parse(nxt, specimen) is not None:
                    break
                extra = parser.interval_line(nxt)
                if extra is None:
                    break
                raw.rest.ranges.extend(extra)
                texts.append(nxt.strip())
                i += 1
            rows.append(_finish(raw, page_no, "\n".join(texts), age, sex, parser, knowledge))
    return rows


def _name_fragment(line: str) -> str | None:
    """A short line of words only, possibly the first half of a test name."""
    text = " ".join(line.split())
    words = text.split()
    if not 1 <= len(words) <= 6 or any(c.isdigit() for c in text) or ":" in text:
        return None
    return text if sum(c.isalpha() for c in text) >= 3 else None


def _join_wrapped_name(raw: RawRow, fragment: str, specimen: str | None,
                       kb: LabKnowledge) -> None:
    """"Mean Corpuscular Hemoglobin" / "Concentration  33.2 g/dL": one name on two lines."""
    joined = f"{fragment} {raw.name}"
    match = kb.lookup_test(joined, specimen=specimen, prefix=False)
    if match is not None:
        raw.match = match
        raw.name = joined


def _sex(gender: str | None) -> str | None:
    g = (gender or "").strip().lower()
    if g in ("male", "m", "man"):
        return "male"
    if g in ("female", "f", "woman"):
        return "female"
    return None


def _next_specimen(line: str, current: str | None, knowledge: LabKnowledge) -> str | None:
    """Headings set the specimen context ("URINE ROUTINE EXAMINATION" -> urine) until a
    heading of another section; sub-headings and other text keep it."""
    text = _DECORATION.sub("", line).strip()
    if not text or len(text.split()) > 8 or any(c.isdigit() for c in text):
        return current
    found = knowledge.section_specimen(text)
    if found == "urine":
        return "urine"
    if found is True:
        return current
    return None if knowledge.is_section_heading(text) else current


# ------------------------------------------------------------------------------ finishing


def _finish(raw: RawRow, page: int, row_text: str, age: int | None, sex: str | None,
            parser: LineParser, kb: LabKnowledge) -> LabRow:
    notes: list[str] = []
    if raw.repair is not None:
        notes.append(raw.repair.note)
    value = raw.value
    test = _settle_test(raw, kb)
    unit_text, unit_code = _settle_unit(raw, test, kb, notes)
    number = value.value
    unit_fits = unit_code is None or (test is not None and test.accepts_unit(unit_code))
    if test is not None and number is not None and unit_fits \
            and not plausible(test, number, unit_code) \
            and raw.repair is None and value.comparator is None:
        low, high = _first_bounds(raw.rest.ranges)
        fixed = choose_reading(lost_decimal_readings(value.text), test, unit_code, low, high)
        if fixed is not None:
            notes.append(fixed.note)
            number = fixed.value
            value = type(value)(text=fixed.text, value=fixed.value, flag=value.flag)
    ranges = raw.rest.ranges
    if number is not None and any(r.numeric for r in ranges):
        ranges = [r for r in ranges if r.numeric]  # "0.2 mg/dL  Normal (0.2-1.0)"
    chosen = choose_range(ranges, sex, parser.grammar)
    ref_low = ref_high = None
    ref_text: str | None = None
    ref_source: str | None = None
    if chosen is not None:
        ref_text, ref_source = chosen.text, "report"
        if chosen.repaired:
            notes.append(chosen.repaired)
        ref_low, ref_high = chosen.low, chosen.high
        if ref_low is not None and ref_high is not None and ref_low >= ref_high:
            fixed_range = _repair_range(chosen, test, unit_code)
            if fixed_range is None:
                ref_low = ref_high = None  # unusable: fall back to the knowledge base below
                ref_source = None
            else:
                ref_low, ref_high, note = fixed_range
                notes.append(note)
        if test is not None and unit_fits and ref_source == "report" \
                and (ref_low is not None or ref_high is not None):
            checked = _plausible_bounds(test, unit_code, ref_low, ref_high, number)
            if checked is None:
                ref_low = ref_high = None
                ref_source = None
            else:
                ref_low, ref_high, note = checked
                if note:
                    notes.append(note)
    adult = age is None or age >= ADULT_AGE
    if ref_source is None and test is not None and adult:
        filled = _knowledge_interval(test, sex, unit_code, number)
        if filled is not None:
            ref_low, ref_high, ref_text = filled
            ref_source = "knowledge_base"
    flag = _compute_flag(raw, number, test, ref_low, ref_high)
    canonical = _canonical(test, number, unit_code) if adult else None
    flag, critical = critical_flag(flag, canonical, test)
    printed_text = raw.rest.flag_text or value.flag
    printed_code = raw.rest.flag_code if raw.rest.flag_text else (
        kb.flag_code(value.flag) if value.flag else None)
    loinc = test.loinc_for(raw.match.alias if raw.match and raw.match.test is test else None) \
        if test is not None else None
    return LabRow(
        test=test.name if test is not None else raw.name,
        loinc=loinc,
        value=number,
        value_text=value.text,
        unit=unit_text,
        ref_low=ref_low,
        ref_high=ref_high,
        ref_text=ref_text,
        ref_source=ref_source,
        flag=flag,
        flag_printed=printed_text,
        flag_note=flag_note(flag, printed_code, printed_text),
        page=page,
        row_text=row_text,
        test_printed=raw.name,
        repaired="; ".join(notes) or None,
        critical=critical,
        unit_ucum=unit_code,
    )


def _settle_test(raw: RawRow, kb: LabKnowledge) -> LabTest | None:
    """The name chooses a test; the unit or the kind of result may move it to a sibling
    ("Neutrophils 3.98 10^3/uL" is the absolute count, "Glucose Nil" the urine dipstick)."""
    if raw.match is None:
        return None
    test = raw.match.test
    unit = raw.rest.unit
    if unit is not None and not test.accepts_unit(unit.code):
        numeric = raw.value.value is not None
        for alt in kb.related_tests(test):
            if alt.accepts_unit(unit.code) and (alt.kind != "qualitative" or not numeric):
                return alt
    if raw.value.qualitative is not None and test.kind == "quantitative" \
            and not test.normal_values:
        for alt in kb.related_tests(test):
            if alt.kind == "qualitative":
                return alt
    return test


def _settle_unit(raw: RawRow, test: LabTest | None, kb: LabKnowledge,
                 notes: list[str]) -> tuple[str | None, str | None]:
    """(unit to show, UCUM code). The unit is shown as printed; an OCR-damaged one is shown
    as the spelling it was read as, and the repair is noted."""
    rest = raw.rest
    text = " ".join(rest.unit_text.split()) if rest.unit_text else None
    match: UnitMatch | None = rest.unit
    if text is not None and match is None:
        match = kb.match_unit(text)
    shown = text
    if text is not None and match is not None and match.cost > 0 and test is not None \
            and not test.accepts_unit(match.code):
        match = None  # a repair the test cannot use is a guess: show the unit as printed
    if text is not None and match is not None:
        exact = kb.unit_code(text)
        if exact is None:
            stripped = text.rstrip(".,:;")
            if kb.unit_code(stripped) is not None:
                shown = stripped
            elif match.cost == 0:
                shown = match.spelling  # a spelling variant ("10*3/uL"), not damage
            else:
                shown = match.spelling
                notes.append(f"OCR: unit {text!r} read as {match.spelling!r}")
    code = match.code if match is not None else None
    number = raw.value.value
    misfit = (test is not None and number is not None and code is not None and text is not None
              and (not test.accepts_unit(code) or not test.plausible_in(number, code)
                   or not _interval_fits(test, code, raw.rest.ranges)))
    if misfit and test is not None and number is not None and text is not None:
        better = _consistent_unit(text, test, number, kb, raw.rest.ranges)
        if better is not None and better[0] != code:
            notes.append(f"unit {text!r} does not fit a {test.name} of {raw.value.text}; "
                         f"read as {better[1]!r}")
            return better[1], better[0]
    if test is not None and text is None and rest.unit_slot_junk and number is not None:
        inferred = _inferred_unit(test, number, kb)
        if inferred is not None:
            notes.append(f"unit unreadable; {inferred[1]!r} from the knowledge base")
            return inferred[1], inferred[0]
    return shown, code


def _consistent_unit(text: str, test: LabTest, number: float, kb: LabKnowledge,
                     ranges: list[RangeSpec]) -> tuple[str, str] | None:
    """A unit of this test that is a small OCR slip away from the printed one and in which the
    value is plausible ("G/L" for a haemoglobin of 12.5 is "g/dL")."""
    key = unit_key(text)
    best: tuple[float, str, str] | None = None
    for code in test.units:
        if not test.plausible_in(number, code) or not _interval_fits(test, code, ranges):
            continue
        for spelling in kb.unit_spellings(code):
            d = ocr_distance(key, unit_key(spelling), kb.lexicon.costs, 1.5)
            if d <= 1.5 and (best is None or d < best[0]):
                best = (d, code, spelling)
    return None if best is None else (best[1], best[2])


def _interval_fits(test: LabTest, code: str, ranges: list[RangeSpec]) -> bool:
    """Whether the printed interval, read in this unit, is on the scale of the knowledge
    base's interval (within a factor of 3): "12.0-15.5 g/L" for haemoglobin is not."""
    low, high = _first_bounds(ranges)
    ref = test.reference(None)
    if ref is None or (low is None and high is None):
        return True
    for printed, known in ((low, ref.low), (high, ref.high)):
        if printed is None or known is None or printed <= 0 or known <= 0:
            continue
        canonical = test.to_canonical(printed, code)
        if canonical is None or canonical <= 0:
            return False
        ratio = canonical / known
        if not 1 / 3 <= ratio <= 3:
            return False
    return True


def _inferred_unit(test: LabTest, number: float, kb: LabKnowledge) -> tuple[str, str] | None:
    """The only unit of the test in which the value is plausible, when the printed unit was
    destroyed by OCR. Unitless and ratio tests are left alone."""
    fits = [code for code in test.units if test.plausible_in(number, code)
            and not code.startswith("{")]
    if len(fits) != 1:
        return None
    display = kb.unit_display(fits[0])
    return (fits[0], display) if display else None


def _first_bounds(ranges: list[RangeSpec]) -> tuple[float | None, float | None]:
    for r in ranges:
        if r.numeric:
            return r.low, r.high
    return None, None


def _repair_range(chosen: RangeSpec, test: LabTest | None,
                  unit_code: str | None) -> tuple[float, float, str] | None:
    m = re.match(r"^\W*([\d.,:]+)\s*(?:-|to|=|~)?\s*([\d.,:]+)", chosen.text)
    if not m:
        return None
    return repair_reversed_range(m.group(1), m.group(2), test, unit_code)


def _plausible_bounds(test: LabTest, unit_code: str | None, low: float | None,
                      high: float | None, number: float | None
                      ) -> tuple[float | None, float | None, str | None] | None:
    """A printed bound the test cannot have ("6.4-83" g/dL) lost its decimal point; repair it
    toward the knowledge base's bound, or give the printed interval up (None)."""
    if number is not None and not plausible(test, number, unit_code):
        return low, high, None  # the value itself is off: nothing to judge the bounds by
    ref = test.reference(None)
    target = unit_code if unit_code and test.accepts_unit(unit_code) else test.unit
    notes = []
    bounds = [low, high]
    for k, bound in enumerate(bounds):
        if bound is None or bound <= 0 or plausible(test, bound, unit_code):
            continue
        known = None
        if ref is not None and target is not None:
            kb_bound = ref.low if k == 0 else ref.high
            if kb_bound is not None:
                known = test.from_canonical(kb_bound, target)
        reading = choose_reading(lost_decimal_readings(format_number(bound)), test, unit_code,
                                 known, known)
        if reading is None:
            return None
        bounds[k] = reading.value
        notes.append(reading.note.replace("OCR:", "OCR (interval):"))
    if bounds[0] is not None and bounds[1] is not None and bounds[0] >= bounds[1]:
        return None
    return bounds[0], bounds[1], "; ".join(notes) or None


def _knowledge_interval(test: LabTest, sex: str | None, unit_code: str | None,
                        number: float | None) -> tuple[float | None, float | None, str] | None:
    """The knowledge base's adult interval, in the printed unit."""
    if test.kind == "qualitative" or not test.ref:
        if test.normal_values:
            return None, None, " / ".join(v.title() for v in test.normal_values)
        return None
    ref = test.reference(sex)
    if ref is None:
        return None
    target = unit_code
    if target is None or not test.accepts_unit(target):
        # Unit not printed: assume the canonical one, but only if the value fits it.
        if number is not None and not test.plausible_canonical(number):
            return None
        target = test.unit
    low = test.from_canonical(ref.low, target) if ref.low is not None and target else ref.low
    high = test.from_canonical(ref.high, target) if ref.high is not None and target else ref.high
    low = _round_like(low)
    high = _round_like(high)
    if low is not None and high is not None:
        text = f"{format_number(low)} - {format_number(high)}"
    elif high is not None:
        text = f"<= {format_number(high)}"
    elif low is not None:
        text = f">= {format_number(low)}"
    else:
        return None
    return low, high, text


def _round_like(value: float | None) -> float | None:
    """Converted bounds to four significant figures: 4.5 x10^3/uL -> 4500 cells/uL, not
    4499.999999."""
    if value is None or value == 0:
        return value
    digits = 4 - math.floor(math.log10(abs(value))) - 1
    return round(value, max(digits, 0)) if digits > 0 else float(round(value, digits))


def _compute_flag(raw: RawRow, number: float | None, test: LabTest | None,
                  low: float | None, high: float | None) -> str | None:
    token = raw.value
    if number is not None:
        return numeric_flag(number, token.comparator, low, high)
    if token.span is not None:
        return span_flag(token.span, low, high)
    if token.qualitative is not None:
        return qualitative_flag(token.qualitative, test)
    return None


def _canonical(test: LabTest | None, number: float | None, unit_code: str | None) -> float | None:
    if test is None or number is None:
        return None
    if unit_code is not None:
        return test.to_canonical(number, unit_code)
    # No unit printed: compare with critical limits only when the value fits the canonical unit.
    return number if test.plausible_canonical(number) else None


# ------------------------------------------------------------------------------ detection


# A number, up to three tokens (flag, unit), then an interval: the shape of a result row.
_NUMBER_LINE = re.compile(
    r"(?<![\w./:-])\d+(?:[.,]\d+)?[HL*]?(?:\s+\S+){0,3}?\s+[(\[]?\s*"
    r"(?:[<>]=?\s*\d+(?:\.\d+)?|\d+(?:\.\d+)?\s*(?:-|to)\s*\d+(?:\.\d+)?)(?![\d/:-])")
# A unit followed by an interval, even when OCR destroyed the value before it.
_UNIT_INTERVAL = re.compile(
    r"(?:[a-zA-Zµμ]{1,6}/[a-zA-Z0-9.µμ]{1,8}|%)\s*[(\[]\s*"
    r"(?:[<>]=?\s*\d|\d+(?:\.\d+)?\s*(?:-|to)\s*\d)")


def lab_likelihood(text: str, knowledge: LabKnowledge | None = None) -> float:
    """0..1: how much a text looks like a lab report (result rows with units and intervals)
    rather than a narrative report such as radiology. With a knowledge base, rows whose test
    it knows count most and radiology vocabulary counts against."""
    lines = [ln for ln in (text or "").splitlines()[:MAX_LINES_PER_PAGE] if ln.strip()]
    if not lines:
        return 0.0
    prepared = [prepare_line(ln) for ln in lines]
    structural = sum(1 for ln in prepared if _NUMBER_LINE.search(ln))
    unit_intervals = sum(1 for ln in prepared if not _NUMBER_LINE.search(ln)
                         and _UNIT_INTERVAL.search(ln))
    score = 0.6 * structural + 0.4 * unit_intervals
    if knowledge is not None:
        rows = parse_lab_report([text], age=None, gender=None, knowledge=knowledge)
        known = sum(1 for r in rows if r.loinc is not None)
        score += 0.8 * known + 0.2 * (len(rows) - known)
        low = fold(text)
        rad = sum(1 for cue in knowledge.lexicon.radiology_cues
                  if re.search(r"(?<![a-z])" + re.escape(cue) + r"(?![a-z])", low))
        lab = sum(1 for cue in knowledge.lexicon.lab_cues if cue in low)
        score += 0.3 * lab - 0.6 * rad
    return round(1.0 / (1.0 + math.exp(-(score - 2.0))), 4)
