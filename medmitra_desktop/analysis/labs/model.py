"""What the lab parser produces: one LabRow per printed result, traceable to its page."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabRow:
    test: str  # canonical test name when the knowledge base knows it, else as printed
    loinc: str | None
    value: float | None  # the number as reported; the bound for "<0.01" / ">90"
    value_text: str  # as printed ("10.2", "Positive", "<0.01")
    unit: str | None  # as printed, whitespace-normalised
    ref_low: float | None
    ref_high: float | None
    ref_text: str | None
    ref_source: str | None  # "report" | "knowledge_base" | None
    flag: str | None  # LL, L, N, H, HH, A, or None when no interval is known
    flag_printed: str | None = None  # what the report printed (H, L, High, *, ...)
    flag_note: str | None = None  # why the computed flag differs from the printed one
    page: int | None = None  # 1-based
    row_text: str | None = None  # the source line(s), for evidence
    test_printed: str | None = None  # the name exactly as printed
    repaired: str | None = None  # what OCR repair was applied, if any
    critical: bool = False  # beyond the knowledge base's critical limits
    unit_ucum: str | None = None  # UCUM code of the printed unit, when the knowledge base knows it
