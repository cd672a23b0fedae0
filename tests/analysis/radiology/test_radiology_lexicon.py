"""The lexicon: synonyms and word variants resolve to one normalised term."""

from __future__ import annotations

import pytest

from medmitra_desktop.analysis.radiology import RadiologyKnowledge
from medmitra_desktop.analysis.radiology.patterns import PhraseError, compile_phrases
from medmitra_desktop.analysis.radiology.sentences import mask_deidentification


def _terms(knowledge: RadiologyKnowledge, text: str) -> list[str]:
    return [m.term for m in knowledge.lexicon.find(mask_deidentification(text))]


@pytest.mark.parametrize(("text", "term"), [
    ("small left pleural effusion", "pleural effusion"),
    ("bilateral effusions", "pleural effusion"),
    ("cardiomegaly", "cardiomegaly"),
    ("enlarged heart", "cardiomegaly"),
    ("the cardiac silhouette is mildly enlarged", "cardiomegaly"),
    ("heart size is enlarged", "cardiomegaly"),
    ("stable enlargement of the heart", "cardiomegaly"),
    ("enlarged cardiomediastinal silhouette", "cardiomegaly"),
    ("subsegmental atelectasis", "atelectasis"),
    ("atelectatic change", "atelectasis"),
    ("patchy opacities", "opacity"),
    ("focal airspace disease", "opacity"),
    ("air-space disease", "opacity"),
    ("left lower lobe infiltrate", "opacity"),
    ("pulmonary nodules", "nodule"),
    ("mass", "mass"),
    ("calcified granulomas", "granuloma"),
    ("granulomata", "granuloma"),
    ("prior granulomatous disease", "granuloma"),
    ("pneumothoraces", "pneumothorax"),
    ("focal consolidation", "consolidation"),
    ("pulmonary edema", "edema"),
    ("pulmonary vascular congestion", "vascular congestion"),
    ("emphysematous changes", "emphysema"),
    ("copd", "emphysema"),
    ("lungs are hyperinflated", "hyperinflation"),
    ("hyperexpanded lungs", "hyperinflation"),
    ("flattened diaphragms", "hyperinflation"),
    ("healed rib fractures", "fracture"),
    ("dextroscoliosis", "scoliosis"),
    ("degenerative changes of the thoracic spine", "degenerative change"),
    ("thoracic spondylosis", "degenerative change"),
    ("bridging osteophytes", "degenerative change"),
    ("biapical scarring", "scarring"),
    ("pulmonary fibrosis", "fibrosis"),
    ("vascular calcifications", "calcification"),
    ("atherosclerotic aorta", "atherosclerosis"),
    ("calcified aortic arch", "atherosclerosis"),
    ("aortic calcification", "atherosclerosis"),
    ("tortuosity of the thoracic aorta", "tortuous aorta"),
    ("the aorta is tortuous", "tortuous aorta"),
    ("low lung volumes", "hypoinflation"),
    ("lung volumes remain low", "hypoinflation"),
    ("elevated right hemidiaphragm", "elevated diaphragm"),
    ("left hemidiaphragm is mildly elevated", "elevated diaphragm"),
    ("elevation of the right hemidiaphragm", "elevated diaphragm"),
    ("blunting of the left costophrenic angle", "costophrenic blunting"),
    ("blunted costophrenic angles", "costophrenic blunting"),
    ("costophrenic XXXX blunting", "costophrenic blunting"),
    ("apical pleural thickening", "pleural thickening"),
    ("right lower lobe pneumonia", "pneumonia"),
    ("small hiatal hernia", "hiatal hernia"),
    ("hilar lymphadenopathy", "lymphadenopathy"),
    ("pulmonary arterial hypertension", "pulmonary hypertension"),
    ("bronchiectasis", "bronchiectasis"),
    ("increased interstitial markings", "interstitial disease"),
    ("hepatic steatosis", "hepatic steatosis"),
    ("gallstones", "cholelithiasis"),
])
def test_synonyms_resolve_to_the_normalised_term(knowledge: RadiologyKnowledge, text: str,
                                                 term: str) -> None:
    assert _terms(knowledge, text) == [term]


def test_the_longest_match_wins(knowledge: RadiologyKnowledge) -> None:
    # "calcified granuloma" is a granuloma, not a calcification plus a granuloma.
    assert _terms(knowledge, "calcified granuloma") == ["granuloma"]
    assert _terms(knowledge, "subcutaneous emphysema") == ["subcutaneous air"]
    assert _terms(knowledge, "pericardial effusion") == ["pericardial effusion"]


def test_a_hyphenated_prefix_is_not_the_finding(knowledge: RadiologyKnowledge) -> None:
    assert _terms(knowledge, "non-calcified nodule") == ["nodule"]


def test_ignored_phrases_hide_finding_words(knowledge: RadiologyKnowledge) -> None:
    assert _terms(knowledge, "body mass index 31; bone mineral density low") == []
    assert _terms(knowledge, "broken sternotomy wire") == []


def test_the_heart_alone_is_not_a_finding(knowledge: RadiologyKnowledge) -> None:
    assert _terms(knowledge, "the heart is normal in size; heart size normal") == []
    assert _terms(knowledge, "heart size normal, hila enlarged") == []


def test_phrase_syntax() -> None:
    pattern = compile_phrases(["blunt* ~2 (costophrenic|cp) angle?", "air-space"])
    assert pattern.search("Blunting of the CP angle")
    assert pattern.search("blunted costophrenic")
    assert not pattern.search("blunting and costophrenic")  # a gap never crosses "and"
    assert pattern.search("AIRSPACE") and pattern.search("air space")
    with pytest.raises(PhraseError):
        compile_phrases(["~ starts with a gap"])
    with pytest.raises(PhraseError):
        compile_phrases(["(unbalanced"])
