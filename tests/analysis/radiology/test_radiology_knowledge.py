"""The knowledge files are data with named sources, and they are validated on load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from medmitra_desktop.analysis.radiology import (
    KnowledgeError,
    RadiologyKnowledge,
    load_radiology_knowledge,
)
from medmitra_desktop.analysis.radiology.knowledge import FILES
from medmitra_desktop.analysis.radiology.patterns import normalise_phrase

from .conftest import RESOURCES

FOLDER = RESOURCES / "radiology"


def _json(name: str) -> dict:
    return json.loads((FOLDER / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", FILES)
def test_every_file_names_its_sources(name: str) -> None:
    data = _json(name)
    assert data["sources"], name
    assert all(isinstance(s, str) and len(s) > 20 for s in data["sources"])


def test_every_term_has_a_synonym_list_and_lower_case_name() -> None:
    for entry in _json("findings.json")["terms"]:
        assert entry["term"] == entry["term"].lower().strip()
        assert isinstance(entry["synonyms"], list) and entry["synonyms"], entry["term"]
        assert all(isinstance(s, str) and s.strip() for s in entry["synonyms"])


def test_no_synonym_maps_to_two_terms() -> None:
    owner: dict[str, str] = {}
    for entry in _json("findings.json")["terms"]:
        for synonym in entry["synonyms"]:
            key = normalise_phrase(synonym)
            assert owner.setdefault(key, entry["term"]) == entry["term"], synonym


def test_the_core_chest_findings_are_known(knowledge: RadiologyKnowledge) -> None:
    names = set(knowledge.lexicon.names())
    expected = {
        "pleural effusion", "cardiomegaly", "atelectasis", "opacity", "nodule", "mass",
        "granuloma", "pneumothorax", "consolidation", "edema", "vascular congestion",
        "emphysema", "hyperinflation", "fracture", "scoliosis", "degenerative change",
        "scarring", "fibrosis", "calcification", "atherosclerosis", "tortuous aorta",
        "hypoinflation", "elevated diaphragm", "costophrenic blunting", "pleural thickening",
        "pneumonia", "hernia", "hiatal hernia", "lymphadenopathy", "pulmonary hypertension",
        "bronchiectasis", "interstitial disease",
    }
    assert expected <= names


def test_context_rules_carry_the_medspacy_notice() -> None:
    data = _json("context_rules.json")
    assert "MIT License" in data["notice"] and "medspacy" in data["notice"]
    categories = {rule["category"] for rule in data["rules"]}
    expected = {"negated", "possible", "hypothetical", "historical", "pseudo", "terminate"}
    assert expected <= categories


def test_loads_from_the_resources_root_or_the_folder_itself() -> None:
    from_root = load_radiology_knowledge(RESOURCES)
    from_folder = load_radiology_knowledge(FOLDER)
    assert from_root.lexicon.names() == from_folder.lexicon.names()
    # Each call builds its own object: no module-level cache to go stale.
    assert from_root is not from_folder


def _broken_copy(tmp_path: Path, name: str, change) -> Path:
    target = tmp_path / "radiology"
    shutil.copytree(FOLDER, target)
    data = json.loads((target / name).read_text(encoding="utf-8"))
    change(data)
    (target / name).write_text(json.dumps(data), encoding="utf-8")
    return tmp_path


def test_a_synonym_shared_by_two_terms_is_refused(tmp_path: Path) -> None:
    def share(data: dict) -> None:
        data["terms"][1]["synonyms"].append(data["terms"][0]["synonyms"][0])

    with pytest.raises(KnowledgeError, match="maps to both"):
        load_radiology_knowledge(_broken_copy(tmp_path, "findings.json", share))


def test_a_term_without_synonyms_is_refused(tmp_path: Path) -> None:
    def strip(data: dict) -> None:
        data["terms"][0]["synonyms"] = []

    with pytest.raises(KnowledgeError, match="synonyms"):
        load_radiology_knowledge(_broken_copy(tmp_path, "findings.json", strip))


def test_a_malformed_phrase_is_refused_with_its_name(tmp_path: Path) -> None:
    def bad(data: dict) -> None:
        data["terms"][0]["synonyms"].append("(unclosed group")

    with pytest.raises(KnowledgeError, match="unclosed"):
        load_radiology_knowledge(_broken_copy(tmp_path, "findings.json", bad))


def test_an_unknown_context_category_is_refused(tmp_path: Path) -> None:
    def bad(data: dict) -> None:
        data["rules"][0]["category"] = "maybe"

    with pytest.raises(KnowledgeError, match="category"):
        load_radiology_knowledge(_broken_copy(tmp_path, "context_rules.json", bad))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match=r"findings\.json"):
        load_radiology_knowledge(tmp_path)


def test_a_section_header_in_two_sections_is_refused(tmp_path: Path) -> None:
    def bad(data: dict) -> None:
        data["sections"][1]["headers"].append("indication")

    with pytest.raises(KnowledgeError, match="belongs to both"):
        load_radiology_knowledge(_broken_copy(tmp_path, "sections.json", bad))
