"""A printed lab value in the unit a rule reads it in, so one threshold serves every report.

Nothing about units is kept here: the printed spelling is looked up in the lab unit registry
(resources/knowledge/lab_units.json) and converted with the test's own factors and plausibility
limits (resources/knowledge/lab_tests.json, through LabTest).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from medmitra_desktop.analysis.labs.knowledge import LabKnowledge, LabTest


@dataclass(frozen=True)
class Converted:
    value: float
    assumed: bool  # True when the unit was missing or unknown and guessed from plausibility


def read_value(
    value: float | None,
    printed_unit: str | None,
    test: LabTest,
    to_unit: str | None,
    labs: LabKnowledge,
    *,
    unit_code: str | None = None,
) -> Converted | None:
    """`value` as printed with `printed_unit` (or the UCUM `unit_code` the parser already
    resolved), expressed in `to_unit`, one of the test's units; None when the unit is unknown
    and no guess is safe. With `to_unit` None the results are words and a number stays as is."""
    if value is None or not math.isfinite(value):
        return None
    if to_unit is None:
        return Converted(value, assumed=False)
    code = unit_code or labs.unit_code(printed_unit)
    converted = test.convert(value, code, to_unit)
    if converted is not None:
        return Converted(converted, assumed=False)
    printed = bool((printed_unit or "").strip())
    if printed and code is None:
        # A damaged or variant spelling ("umo1/L", "cu. microns"): the registry spelling it is
        # closest to, as the lab parser reads it, if the test is measured in it.
        match = labs.match_unit(printed_unit or "")
        if match is not None and test.plausible_in(value, match.code):
            repaired = test.convert(value, match.code, to_unit)
            if repaired is not None:
                return Converted(repaired, assumed=True)
    # No unit, or one this test is not measured in: accept only a reading that is plausible in
    # exactly one unit, because a wrong guess (creatinine 88 read as mg/dL) is worse than none.
    if test.unit is not None and test.plausible_in(value, test.unit):
        as_canonical = test.convert(value, test.unit, to_unit)
        if as_canonical is not None:
            return Converted(as_canonical, assumed=printed or not dimensionless(test.unit))
    guesses = set()
    for unit in test.units:
        if unit != test.unit and test.plausible_in(value, unit):
            guess = test.convert(value, unit, to_unit)
            if guess is not None:
                guesses.add(round(guess, 6))
    if len(guesses) == 1:
        return Converted(guesses.pop(), assumed=True)
    return None


def dimensionless(unit_code: str | None) -> bool:
    """A UCUM annotation alone ("{INR}", "{ratio}") is the unit one: a result printed without a
    unit is then not missing one."""
    return unit_code is None or (unit_code.startswith("{") and unit_code.endswith("}"))
