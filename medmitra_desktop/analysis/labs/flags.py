"""Abnormal flags (HL7 Table 0078 subset: LL, L, N, H, HH, A) computed from value and interval.

The computed flag is what the app shows; a flag printed by the lab is kept beside it and a
note says when the two disagree, because a disagreement usually means an OCR error in the
value or the interval, which the doctor should see.
"""

from __future__ import annotations

from .knowledge import LabTest


def numeric_flag(
    value: float, comparator: str | None, low: float | None, high: float | None
) -> str | None:
    """L / N / H. A value at an exact bound is inside. "<0.01" is the interval (-inf, 0.01]:
    it is low only when entirely below the low bound, high only when entirely above."""
    if low is None and high is None:
        return None
    if comparator in ("<", "<="):
        vmin, vmax = float("-inf"), value
    elif comparator in (">", ">="):
        vmin, vmax = value, float("inf")
    else:
        vmin = vmax = value
    if low is not None and vmax < low:
        return "L"
    if high is not None and vmin > high:
        return "H"
    if comparator in ("<", "<=") and low is not None and value == low:
        return "L"  # "<4.5" against 4.5-11.0 lies wholly below the interval
    if comparator in (">", ">=") and high is not None and value == high:
        return "H"
    return "N"


def span_flag(span: tuple[float, float], low: float | None, high: float | None) -> str | None:
    """A count printed as a span ("2-4 /hpf"): high when its upper end passes the interval."""
    if low is None and high is None:
        return None
    if high is not None and span[1] > high:
        return "H"
    if low is not None and span[1] < low:
        return "L"
    return "N"


def qualitative_flag(term: str | None, test: LabTest | None) -> str | None:
    """N or A, only where the knowledge base says what a normal result is."""
    if term is None or test is None or not test.normal_values:
        return None
    return "N" if term in test.normal_values else "A"


def critical_flag(flag: str | None, canonical: float | None, test: LabTest | None) -> tuple[
        str | None, bool]:
    """Raise L to LL or H to HH when the value passes the knowledge base's critical limits
    (app defaults). Only in the direction the interval already says, so a unit mix-up cannot
    turn a normal value critical."""
    if flag not in ("L", "H") or canonical is None or test is None:
        return flag, False
    if flag == "L" and test.critical_low is not None and canonical < test.critical_low:
        return "LL", True
    if flag == "H" and test.critical_high is not None and canonical > test.critical_high:
        return "HH", True
    return flag, False


_DIRECTION = {"HH": "H", "H": "H", "LL": "L", "L": "L", "A": "A"}


def flag_note(
    computed: str | None, printed_code: str | None, printed_text: str | None
) -> str | None:
    """Why the computed flag differs from what the report printed, or None when they agree."""
    if printed_text is None or computed is None:
        return None
    printed_dir = _DIRECTION.get(printed_code or "")
    computed_dir = _DIRECTION.get(computed)
    if printed_dir is None:
        return None
    if printed_dir == "A":
        if computed_dir is None:
            return f"report marks the result abnormal ({printed_text}); computed {computed}"
        return None
    if printed_dir == computed_dir:
        return None
    if computed_dir == "A":
        return None
    return f"report prints {printed_text}; computed {computed} from the value and interval"
