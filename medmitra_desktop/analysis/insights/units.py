"""Printed units -> canonical units, so one threshold in a rule file serves every lab's report."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_SUPERSCRIPTS = str.maketrans({"²": "2", "³": "3", "⁶": "6", "⁹": "9", "¹": "1", "⁰": "0"})
_PER_CUBIC_MM = re.compile(r"(cu\.?mm|cmm|mm\^?3)")
_POWER_OF_TEN = re.compile(r"10(?:\^|e|\*)?(\d{1,2})")


@dataclass(frozen=True)
class UnitConversion:
    factor: float
    offset: float = 0.0

    def apply(self, value: float) -> float:
        return value * self.factor + self.offset


def normalize_unit(unit: str | None) -> str:
    """One spelling per unit: 'x10E3/µL', '10^3/cumm' and 'x 10³/uL' all become '10^3/ul'."""
    if not unit:
        return ""
    text = unit.translate(_SUPERSCRIPTS).lower()
    text = text.replace("µ", "u").replace("μ", "u").replace("mcg", "ug").replace("mcl", "ul")
    text = re.sub(r"\s+", "", text)
    text = text.strip(".()[]")
    text = _PER_CUBIC_MM.sub("ul", text)
    if text.startswith("x10"):
        text = text[1:]
    return _POWER_OF_TEN.sub(lambda m: f"10^{m.group(1)}", text)


@dataclass(frozen=True)
class Converted:
    value: float
    assumed: bool  # True when the unit was missing or unknown and guessed from plausibility


def to_canonical(
    value: float | None,
    unit: str | None,
    canonical: str,
    conversions: dict[str, UnitConversion],
    plausible: tuple[float, float],
) -> Converted | None:
    """Convert a printed value; None when the unit is unknown and no guess is safe."""
    if value is None or not math.isfinite(value):
        return None
    key = normalize_unit(unit)
    if key == normalize_unit(canonical):
        return Converted(value, assumed=False)
    conversion = conversions.get(key)
    if conversion is not None:
        return Converted(conversion.apply(value), assumed=False)
    # No (or an OCR-damaged) unit: accept only a reading that is plausible in exactly one unit,
    # because a wrong guess (creatinine 88 read as mg/dL) is worse than no value.
    low, high = plausible
    if low <= value <= high:
        return Converted(value, assumed=bool(key) or bool(canonical))
    guesses = {
        round(c.apply(value), 6) for c in conversions.values() if low <= c.apply(value) <= high
    }
    if len(guesses) == 1:
        return Converted(guesses.pop(), assumed=True)
    return None
