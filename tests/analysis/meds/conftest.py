"""The medication knowledge is loaded once per test session from the repository's resources."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from medmitra_desktop.analysis.meds import (
    MedicationMention,
    MedsKnowledge,
    MedsResult,
    extract_medications,
    load_meds_knowledge,
)

RESOURCES = Path(__file__).resolve().parents[3] / "resources"


@pytest.fixture(scope="session")
def knowledge() -> MedsKnowledge:
    return load_meds_knowledge(RESOURCES)


@pytest.fixture(scope="session")
def read(knowledge: MedsKnowledge) -> Callable[[str], MedsResult]:
    def run(text: str) -> MedsResult:
        return extract_medications(text, knowledge)

    return run


@pytest.fixture(scope="session")
def meds(read: Callable[[str], MedsResult]) -> Callable[[str], dict[str, MedicationMention]]:
    """Medications of a text by generic name (a name found twice fails the test)."""

    def run(text: str) -> dict[str, MedicationMention]:
        found = read(text).medications
        by_name = {m.name: m for m in found}
        assert len(by_name) == len(found), [m.name for m in found]
        return by_name

    return run


@pytest.fixture(scope="session")
def one(read: Callable[[str], MedsResult]) -> Callable[[str], MedicationMention]:
    def run(text: str) -> MedicationMention:
        found = read(text).medications
        assert len(found) == 1, [(m.name, m.name_printed) for m in found]
        return found[0]

    return run
