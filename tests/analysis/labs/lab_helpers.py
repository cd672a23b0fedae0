"""Helpers shared by the lab parser tests (no fixtures here; see conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from medmitra_desktop.analysis.labs import LabRow

RESOURCES = Path(__file__).resolve().parents[3] / "resources"

ParseFn = Callable[..., list[LabRow]]  # the `parse` fixture: parse(pages, age=, gender=)


def row_for(rows: list[LabRow], test: str) -> LabRow:
    """The single row whose canonical name is `test` (fails loudly otherwise)."""
    found = [r for r in rows if r.test == test]
    got = [(r.test, r.value_text) for r in rows]
    assert len(found) == 1, f"expected one {test!r} row, got {got}"
    return found[0]


def names(rows: list[LabRow]) -> list[str]:
    return [r.test for r in rows]
