"""Fixtures for the lab parser tests: the real knowledge base from resources/, loaded once."""

from __future__ import annotations

import pytest

from medmitra_desktop.analysis.labs import (
    LabKnowledge,
    LabRow,
    load_lab_knowledge,
    parse_lab_report,
)
from tests.analysis.labs.lab_helpers import RESOURCES, ParseFn


@pytest.fixture(scope="session")
def kb() -> LabKnowledge:
    return load_lab_knowledge(RESOURCES)


@pytest.fixture
def parse(kb: LabKnowledge) -> ParseFn:
    """parse(page_text_or_pages, age=45, gender="male") -> rows."""

    def run(pages: str | list[str], *, age: int | None = 45,
            gender: str | None = "male") -> list[LabRow]:
        texts = [pages] if isinstance(pages, str) else pages
        return parse_lab_report(texts, age=age, gender=gender, knowledge=kb)

    return run
