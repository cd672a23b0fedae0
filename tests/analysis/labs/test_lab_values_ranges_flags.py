"""The small readers: numbers, value tokens, intervals, flags, OCR repairs."""

from __future__ import annotations

import pytest

from medmitra_desktop.analysis.labs import LabKnowledge
from medmitra_desktop.analysis.labs.flags import (
    critical_flag,
    flag_note,
    numeric_flag,
    qualitative_flag,
    span_flag,
)
from medmitra_desktop.analysis.labs.ocr_repair import (
    character_readings,
    choose_reading,
    lost_decimal_readings,
    repair_reversed_range,
)
from medmitra_desktop.analysis.labs.ranges import RangeGrammar, RangeSpec, choose_range
from medmitra_desktop.analysis.labs.values import (
    parse_number,
    read_number_token,
    read_qualitative,
    read_semiquantitative,
)


@pytest.mark.parametrize(("text", "value"), [
    ("10.2", 10.2), ("4,500", 4500.0), ("1,50,000", 150000.0), ("85,6", 85.6), (".5", 0.5),
    ("11000", 11000.0), ("1,234.5", 1234.5), ("abc", None), ("1.2.3", None), ("", None),
])
def test_parse_number(text: str, value: float | None) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize(("token", "value", "cmp", "flag", "unit"), [
    ("12.0H", 12.0, None, "H", None), ("9L", 9.0, None, "L", None),
    ("<0.01", 0.01, "<", None, None), (">=60", 60.0, ">=", None, None),
    ("6.4%", 6.4, None, None, "%"), ("3.5,", 3.5, None, None, None),
    ("12.0*", 12.0, None, "*", None),
])
def test_read_number_token(token: str, value: float, cmp: str | None, flag: str | None,
                           unit: str | None) -> None:
    read = read_number_token(token)
    assert read is not None
    assert (read.value, read.comparator, read.flag, read.unit) == (value, cmp, flag, unit)


@pytest.mark.parametrize("token", ["2026-01-02", "08:07", "1043/UL", "(4.5", "A1409", "x10E3/uL"])
def test_not_number_tokens(token: str) -> None:
    assert read_number_token(token) is None


def test_read_qualitative_longest_phrase(kb: LabKnowledge) -> None:
    q = read_qualitative(["Pale", "Yellow", "Clear"], 0, kb)
    assert q is not None and (q.qualitative, q.words) == ("pale yellow", 2)
    nil = read_qualitative(["Nil"], 0, kb)
    assert nil is not None and nil.qualitative == "negative"
    assert read_qualitative(["++"], 0, kb).qualitative == "2+"  # type: ignore[union-attr]
    assert read_qualitative(["Hemoglobin"], 0, kb) is None


def test_semiquantitative_span() -> None:
    span = read_semiquantitative("2-4")
    assert span is not None and span.span == (2.0, 4.0) and span.value is None
    assert read_semiquantitative("4-2") is None


@pytest.mark.parametrize(("text", "low", "high"), [
    ("3.5-5.0", 3.5, 5.0), ("3.5 - 5.0", 3.5, 5.0), ("3.5 to 5.0", 3.5, 5.0),
    ("(13.5-17.5)", 13.5, 17.5), ("[4.5 - 11.0]", 4.5, 11.0), ("<200", None, 200.0),
    ("(<200)", None, 200.0), ("> 60", 60.0, None), ("Up to 40", None, 40.0),
    ("upto 40", None, 40.0), ("Less than 5", None, 5.0), (">= 40", 40.0, None),
    ("4500 - 11000", 4500.0, 11000.0), ("1,50,000 - 4,50,000", 150000.0, 450000.0),
    ("(12.0 = 15.5)", 12.0, 15.5), ("(27.0 33:0)", 27.0, 33.0), ("0.74 -1.35", 0.74, 1.35),
])
def test_range_grammar(kb: LabKnowledge, text: str, low: float | None, high: float | None) -> None:
    found = RangeGrammar(kb).match_at(text, 0)
    assert found is not None
    spec, end = found
    assert (spec.low, spec.high) == (low, high)
    assert end == len(text)


def test_range_must_end_at_a_token_boundary(kb: LabKnowledge) -> None:
    assert RangeGrammar(kb).match_at("4.5-11.0x", 0) is None


def test_choose_range_by_sex_and_label(kb: LabKnowledge) -> None:
    g = RangeGrammar(kb)
    male = RangeSpec(13.0, 17.0, "M: 13-17", label="M")
    female = RangeSpec(12.0, 15.0, "F: 12-15", label="F")
    assert choose_range([male, female], "female", g) is female
    assert choose_range([male, female], "male", g) is male
    union = choose_range([male, female], None, g)
    assert union is not None and (union.low, union.high) == (12.0, 17.0)
    desirable = RangeSpec(None, 200.0, "Desirable <200", label="Desirable")
    high = RangeSpec(240.0, None, "High >=240", label="High")
    assert choose_range([high, desirable], "male", g) is desirable
    assert choose_range([high], "male", g) is None  # a category is never the interval


@pytest.mark.parametrize(("value", "cmp", "low", "high", "flag"), [
    (5.0, None, 3.5, 5.0, "N"), (3.5, None, 3.5, 5.0, "N"), (5.1, None, 3.5, 5.0, "H"),
    (3.4, None, 3.5, 5.0, "L"), (250, None, None, 200, "H"), (30, None, 40, None, "L"),
    (0.01, "<", 0.0, 0.04, "N"), (90, ">", 60, None, "N"), (4.5, "<", 4.5, 11.0, "L"),
    (5.0, None, None, None, None),
])
def test_numeric_flag(value: float, cmp: str | None, low: float | None, high: float | None,
                      flag: str | None) -> None:
    assert numeric_flag(value, cmp, low, high) == flag


def test_span_and_qualitative_flags(kb: LabKnowledge) -> None:
    assert span_flag((8, 10), 0, 5) == "H"
    assert span_flag((2, 4), 0, 5) == "N"
    u_glucose = kb.test("u_glucose")
    assert qualitative_flag("negative", u_glucose) == "N"
    assert qualitative_flag("trace", u_glucose) == "A"
    assert qualitative_flag("positive", None) is None


def test_critical_only_in_the_direction_of_the_interval(kb: LabKnowledge) -> None:
    k = kb.test("potassium")
    assert critical_flag("H", 6.5, k) == ("HH", True)
    assert critical_flag("H", 5.5, k) == ("H", False)
    assert critical_flag("N", 6.5, k) == ("N", False)  # the interval says normal: no alarm
    assert critical_flag("L", 2.5, k) == ("LL", True)


def test_flag_notes() -> None:
    assert flag_note("N", "H", "High") is not None
    assert flag_note("H", "H", "H") is None
    assert flag_note("HH", "H", "H") is None
    assert flag_note("H", "A", "*") is None
    assert flag_note("N", "A", "*") is not None
    assert flag_note("L", None, None) is None


def test_character_readings(kb: LabKnowledge) -> None:
    lex = kb.lexicon
    values = {r.value for r in character_readings("1O.2", lex.value_char_map, lex.decimal_marks)}
    assert 10.2 in values
    assert {r.value for r in character_readings("93:9", lex.value_char_map, lex.decimal_marks)} \
        == {93.9}
    assert character_readings("Brown", lex.value_char_map, lex.decimal_marks) == []
    assert character_readings("10.2", lex.value_char_map, lex.decimal_marks) == []


def test_choose_reading_needs_plausibility(kb: LabKnowledge) -> None:
    hb = kb.test("hgb")
    chosen = choose_reading(lost_decimal_readings("152"), hb, "g/dL", 13.5, 17.5)
    assert chosen is not None and chosen.value == 15.2
    assert choose_reading(lost_decimal_readings("9"), hb, "g/dL", 13.5, 17.5) is None


def test_reversed_range_repair(kb: LabKnowledge) -> None:
    plt = kb.test("plt")
    fixed = repair_reversed_range("11.5", "4.0", plt, "10*5/uL")
    assert fixed is not None and fixed[:2] == (1.5, 4.0)
    assert repair_reversed_range("1.5", "4.0", plt, "10*5/uL") is None
