"""Section splitting: the usual headers, MTSamples' "HEADER:," quirk, any case, own-line and
dash headers, and which sections are read for findings."""

from __future__ import annotations

from medmitra_desktop.analysis.radiology import RadiologyKnowledge
from medmitra_desktop.analysis.radiology.report import finding_sections
from medmitra_desktop.analysis.radiology.sections import OTHER, section_text

from .conftest import ParseFn

STANDARD = """RIVERSIDE IMAGING
EXAM: Chest radiograph, PA and lateral
ACCESSION: 12345    DATE: 01/02/2020

INDICATION: Cough for two weeks, rule out pneumonia.

TECHNIQUE: Two views of the chest.

COMPARISON: None.

FINDINGS: The lungs are clear. No pleural effusion.

IMPRESSION: No acute cardiopulmonary disease.
"""


def _names(knowledge: RadiologyKnowledge, text: str) -> list[str]:
    return [s.name for s in knowledge.sections.split(text)]


def test_standard_sections(parse: ParseFn) -> None:
    sections = parse(STANDARD).sections
    assert sections["indication"] == "Cough for two weeks, rule out pneumonia."
    assert sections["technique"] == "Two views of the chest."
    assert sections["comparison"] == "None."
    assert sections["findings"] == "The lungs are clear. No pleural effusion."
    assert sections["impression"] == "No acute cardiopulmonary disease."
    assert sections["exam"] == "Chest radiograph, PA and lateral"
    # The institution name and the administrative fields are unlabelled text.
    assert "RIVERSIDE IMAGING" in sections[OTHER]
    assert "12345" in sections[OTHER]


def test_mtsamples_header_followed_by_a_comma(parse: ParseFn) -> None:
    text = ("EXAM:, Chest x-ray.,HISTORY:, Shortness of breath.,FINDINGS:, The heart is "
            "enlarged. No effusion.,IMPRESSION: , Cardiomegaly.")
    sections = parse(text).sections
    assert sections["indication"] == "Shortness of breath."
    assert sections["findings"] == "The heart is enlarged. No effusion."
    assert sections["impression"] == "Cardiomegaly."


def test_headers_in_any_case(parse: ParseFn) -> None:
    text = "clinical history: fever\nfindings: small left pleural effusion.\nImpression: effusion."
    report = parse(text)
    assert report.sections["indication"] == "fever"
    assert report.sections["findings"] == "small left pleural effusion."
    assert [o.finding for o in report.observations] == ["pleural effusion"]


def test_headers_alone_on_their_line_and_dash_headers(parse: ParseFn) -> None:
    text = "FINDINGS\nMild cardiomegaly.\n\nImpression\nCardiomegaly.\nReason for exam - dyspnea\n"
    sections = parse(text).sections
    assert sections["findings"] == "Mild cardiomegaly."
    assert sections["impression"] == "Cardiomegaly."
    assert sections["indication"] == "dyspnea"


def test_synonym_headers(parse: ParseFn) -> None:
    text = ("Reason for exam: trauma\nProcedure: CT head without contrast\n"
            "Report: No hemorrhage.\nConclusion: Normal study.")
    sections = parse(text).sections
    assert sections["indication"] == "trauma"
    assert sections["exam"] == "CT head without contrast"
    assert sections["findings"] == "No hemorrhage."
    assert sections["impression"] == "Normal study."


def test_a_word_in_a_sentence_is_not_a_header(knowledge: RadiologyKnowledge) -> None:
    text = "FINDINGS: There is no history of trauma and the report is normal."
    assert _names(knowledge, text) == ["findings"]


def test_indication_ends_at_a_blank_line(knowledge: RadiologyKnowledge) -> None:
    text = "INDICATION: chest pain\n\nThe heart is enlarged.\n\nIMPRESSION: Cardiomegaly."
    sections = knowledge.sections.split(text)
    assert [s.name for s in sections] == ["indication", OTHER, "impression"]
    assert section_text(text, sections[1]) == "The heart is enlarged."


def test_indication_and_comparison_are_not_read_as_findings(parse: ParseFn) -> None:
    text = ("INDICATION: Rule out pneumonia. History of pneumothorax.\n"
            "COMPARISON: Prior study showed a small effusion.\n"
            "FINDINGS: Lungs are clear.\nIMPRESSION: Normal chest.")
    report = parse(text)
    assert report.observations == ()
    assert report.normal


def test_unlabelled_text_is_read_when_there_are_no_findings_sections(parse: ParseFn) -> None:
    report = parse("Chest x-ray\n\nThere is a small right pleural effusion.")
    assert [o.finding for o in report.observations] == ["pleural effusion"]
    assert not report.normal


def test_unlabelled_body_stands_in_for_a_missing_findings_header(
        knowledge: RadiologyKnowledge) -> None:
    text = "INDICATION: cough\n\nThe lungs are hyperinflated.\n\nIMPRESSION: COPD."
    chosen = finding_sections(knowledge.sections.split(text), knowledge.sections)
    assert [s.name for s in chosen] == [OTHER, "impression"]


def test_the_preamble_is_not_read_when_findings_exist(parse: ParseFn) -> None:
    text = "Mass General Imaging Center\nFINDINGS: Lungs are clear.\nIMPRESSION: Normal."
    assert parse(text).normal
