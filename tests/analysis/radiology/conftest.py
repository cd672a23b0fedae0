"""Fixtures for the radiology parser tests: the real knowledge files from resources/, loaded
once per session; every report text is written in the tests themselves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from medmitra_desktop.analysis.radiology import (
    RadiologyKnowledge,
    RadiologyReport,
    load_radiology_knowledge,
    parse_radiology_report,
)

RESOURCES = Path(__file__).resolve().parents[3] / "resources"
ParseFn = Callable[[str], RadiologyReport]


@pytest.fixture(scope="session")
def knowledge() -> RadiologyKnowledge:
    return load_radiology_knowledge(RESOURCES)


@pytest.fixture(scope="session")
def parse(knowledge: RadiologyKnowledge) -> ParseFn:
    def run(text: str) -> RadiologyReport:
        return parse_radiology_report(text, knowledge)

    return run


@pytest.fixture(scope="session")
def status(parse: ParseFn) -> Callable[[str], dict[str, str]]:
    """status(findings_text) -> {finding: "positive" | "negated" | "uncertain"}."""

    def run(findings: str) -> dict[str, str]:
        report = parse("FINDINGS: " + findings)
        return {
            o.finding: "negated" if o.negated else "uncertain" if o.uncertain else "positive"
            for o in report.observations
        }

    return run
