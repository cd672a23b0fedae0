"""OCR repairs of numbers, allowed only where the knowledge base decides.

A repair is made only when the printed reading is impossible for the test (outside its
plausibility limits, or not a number at all) and the repaired reading is plausible; among
several plausible readings the one nearest the reference interval wins. Every repair is
described in words for LabRow.repaired.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .knowledge import LabTest
from .values import parse_number

_DIGITISH = re.compile(r"^[<>]?[0-9OoQDlI|i!\]SsBZzGbgqAT.,:;\-·' ]+[HL]?$")


@dataclass(frozen=True)
class Repair:
    value: float
    text: str
    note: str


def character_readings(token: str, char_map: Mapping[str, str],
                       decimal_marks: Sequence[str]) -> list[Repair]:
    """Numbers a damaged token may have been: letters read for digits ("1O.2" -> 10.2), and a
    decimal point read as a comma, colon, dash or space ("93:9", "9-66")."""
    tok = token.strip()
    if not tok or not any(c.isdigit() for c in tok) or not _DIGITISH.match(tok):
        return []
    digits = "".join(char_map.get(c, c) for c in tok)
    digits = re.sub(r"([.,:;])\1+", r"\1", digits)  # "1...25": a point smeared into several
    out: list[Repair] = []
    changed_chars = digits != tok
    for mark in ("", *decimal_marks):
        if mark and digits.count(mark) != 1:
            continue
        candidate = digits.replace(mark, ".") if mark else digits
        if candidate.count(".") > 1:
            continue
        value = parse_number(candidate)
        if value is None:
            continue
        if candidate == tok:
            continue  # nothing repaired: the caller reads plain numbers itself
        parts = []
        if changed_chars:
            parts.append(f"letters read as digits in {tok!r}")
        if mark:
            parts.append(f"decimal point read from {mark!r}")
        out.append(Repair(value, candidate, f"OCR: {'; '.join(parts)} -> {candidate}"))
    return out


def lost_decimal_readings(text: str) -> list[Repair]:
    """Where a dropped decimal point could have been ("152" -> 15.2 or 1.52)."""
    digits = text.strip()
    if not digits.isdigit() or len(digits) < 2:
        return []
    out = []
    for i in range(1, len(digits)):
        candidate = digits[:i] + "." + digits[i:]
        value = float(candidate)
        out.append(Repair(value, candidate, f"OCR: decimal point restored in {digits!r} -> "
                                            f"{candidate}"))
    return out


def choose_reading(
    readings: Sequence[Repair],
    test: LabTest,
    unit_code: str | None,
    low: float | None,
    high: float | None,
) -> Repair | None:
    """The plausible reading nearest the interval (log distance); None if none is plausible.
    Bounds are in the printed unit."""
    best: tuple[float, Repair] | None = None
    for r in readings:
        if not plausible(test, r.value, unit_code):
            continue
        d = _distance_to_interval(r.value, low, high)
        if best is None or d < best[0]:
            best = (d, r)
    return best[1] if best else None


def _distance_to_interval(value: float, low: float | None, high: float | None) -> float:
    if value <= 0:
        return 50.0
    if low is not None and value < low and low > 0:
        return math.log(low / value)
    if high is not None and value > high and high > 0:
        return math.log(value / high)
    return 0.0


def repair_reversed_range(low_text: str, high_text: str, test: LabTest | None,
                          unit_code: str | None) -> tuple[float, float, str] | None:
    """A printed interval whose low is above its high ("11.5 - 4.0") usually carries a border
    or bracket read as a leading 1, or a lost decimal point. Returns (low, high, note)."""
    low, high = parse_number(low_text), parse_number(high_text)
    if low is None or high is None or low < high:
        return None
    options: list[tuple[float, float, str]] = []
    t = low_text.strip()
    if len(t) > 1 and t[0] in "1l|I":
        v = parse_number(t[1:])
        if v is not None and v < high:
            options.append((v, high, f"OCR: stray leading '1' dropped from range low {t!r}"))
    for rep in lost_decimal_readings(t):
        if rep.value < high:
            options.append((rep.value, high, rep.note.replace("OCR:", "OCR (range low):")))
    for rep in lost_decimal_readings(high_text.strip()):
        if low < rep.value:
            options.append((low, rep.value, rep.note.replace("OCR:", "OCR (range high):")))
    for lo, hi, note in options:
        if test is None:
            return lo, hi, note
        if plausible(test, lo, unit_code) and plausible(test, hi, unit_code):
            return lo, hi, note
    return None


def plausible(test: LabTest, value: float, unit_code: str | None) -> bool:
    """Plausible in the printed unit when the test is measured in it; with the unit unknown
    (not printed or unreadable), in the test's canonical unit."""
    if unit_code and test.accepts_unit(unit_code):
        return bool(test.plausible_in(value, unit_code))
    return test.plausible_canonical(value)
