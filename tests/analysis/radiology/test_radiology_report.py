"""Whole reports: normal flag, de-duplication with evidence, pages, modality and body part,
and the radiology-vs-lab likelihood."""

from __future__ import annotations

import pytest

from medmitra_desktop.analysis.radiology import (
    RadiologyKnowledge,
    parse_radiology_report,
    radiology_likelihood,
)

from .conftest import ParseFn

NORMAL_CXR = """MERIDIAN RADIOLOGY
EXAM: Chest, 2 views, PA and lateral
INDICATION: Shortness of breath. Rule out pneumonia.
COMPARISON: None available.
FINDINGS: The heart is normal in size. Cardiomediastinal silhouette is within normal limits.
The lungs are clear. No focal consolidation, pleural effusion or pneumothorax. No acute
osseous abnormality.
IMPRESSION: No acute cardiopulmonary process.
"""

ABNORMAL_CXR = """EXAM: Xray Chest PA and Lateral
INDICATION: XXXX-year-old male with cough.
FINDINGS: Mild cardiomegaly. Low lung volumes with elevated right hemidiaphragm. No
pneumothorax. No large pleural effusion. Stable calcified granuloma in the left upper lobe.
Degenerative changes of the thoracic spine.
IMPRESSION: 1. Cardiomegaly. 2. No acute infiltrate. 3. Degenerative changes.
"""


def test_a_negation_heavy_normal_report_is_normal(parse: ParseFn) -> None:
    report = parse(NORMAL_CXR)
    assert report.normal
    assert {o.finding for o in report.observations} == {
        "consolidation", "pleural effusion", "pneumothorax"}
    assert all(o.negated for o in report.observations)


def test_an_abnormal_report(parse: ParseFn) -> None:
    report = parse(ABNORMAL_CXR)
    assert not report.normal
    positives = {o.finding for o in report.observations if not o.negated and not o.uncertain}
    assert positives == {"cardiomegaly", "hypoinflation", "elevated diaphragm", "granuloma",
                         "degenerative change"}
    negated = {o.finding for o in report.observations if o.negated}
    assert negated == {"pneumothorax", "pleural effusion", "opacity"}


def test_lungs_are_clear_gives_no_positive(parse: ParseFn) -> None:
    report = parse("FINDINGS: Lungs are clear. Heart size normal.")
    assert report.observations == () and report.normal


def test_one_observation_per_finding_with_every_sentence_as_evidence(parse: ParseFn) -> None:
    report = parse("FINDINGS: No pleural effusion. Small left pleural effusion is possible.\n"
                   "IMPRESSION: Small left pleural effusion.")
    (obs,) = report.observations
    assert (obs.finding, obs.negated, obs.uncertain) == ("pleural effusion", False, False)
    assert obs.sentence == "Small left pleural effusion."
    assert obs.section == "impression"
    assert obs.evidence == ("No pleural effusion.", "Small left pleural effusion is possible.",
                            "Small left pleural effusion.")


def test_a_negated_finding_is_not_overruled_by_an_uncertain_one_being_positive(
        parse: ParseFn) -> None:
    report = parse("FINDINGS: No pneumonia. IMPRESSION: Cannot exclude early pneumonia.")
    (obs,) = report.observations
    assert obs.uncertain and not obs.negated


def test_current_mention_overrides_a_historical_one(parse: ParseFn) -> None:
    (obs,) = parse("FINDINGS: History of pneumonia. Right lower lobe pneumonia.").observations
    assert not obs.historical and not obs.negated


def test_sentences_are_verbatim_with_deidentification_tokens(parse: ParseFn) -> None:
    report = parse("FINDINGS: XXXX scarring or atelectasis right\nmidlung.")
    assert [o.sentence for o in report.observations] == [
        "XXXX scarring or atelectasis right midlung."] * 2


def test_page_numbers_come_from_the_callback(knowledge: RadiologyKnowledge) -> None:
    page_one = "FINDINGS: No pneumothorax.\n"
    text = page_one + "\n\f\n" + "IMPRESSION: Mild cardiomegaly.\n"
    report = parse_radiology_report(
        text, knowledge, page_of_offset=lambda offset: 1 if offset < len(page_one) else 2)
    assert {o.finding: o.page for o in report.observations} == {
        "pneumothorax": 1, "cardiomegaly": 2}
    assert all(o.page is None for o in parse_radiology_report(text, knowledge).observations)


@pytest.mark.parametrize(("text", "modality", "body_part"), [
    (NORMAL_CXR, "XR", "chest"),
    ("EXAM: CXR\nFINDINGS: clear", "XR", "chest"),
    ("EXAM: A lateral chest x-XXXX XXXX\nFINDINGS: clear", "XR", "chest"),
    ("EXAMINATION: CT ABDOMEN AND PELVIS WITH CONTRAST\nFINDINGS: No free fluid.", "CT",
     "abdomen and pelvis"),
    ("MRI BRAIN WITHOUT CONTRAST\n\nFINDINGS: No acute infarct.", "MR", "head"),
    ("Procedure: Ultrasound of the right upper quadrant\nFindings: Gallstones.", "US", "abdomen"),
    ("EXAM: Bilateral screening mammogram\nFINDINGS: No suspicious mass.", "MG", "breast"),
    ("TECHNIQUE: Sonography of the thyroid.\nFINDINGS: Thyroid nodule.", "US", "neck"),
    ("FINDINGS: The lungs are clear. No pleural effusion or pneumothorax.", None, "chest"),
])
def test_modality_and_body_part(parse: ParseFn, text: str, modality: str | None,
                                body_part: str | None) -> None:
    report = parse(text)
    assert (report.modality, report.body_part) == (modality, body_part)


def test_a_recommended_other_modality_does_not_change_the_exam(parse: ParseFn) -> None:
    report = parse("EXAM: Chest radiograph\nIMPRESSION: Nodule. CT may be of further help.")
    assert report.modality == "XR"


def test_text_without_headers_is_read_whole(parse: ParseFn) -> None:
    report = parse("Chest x-ray PA and lateral. Heart is enlarged. No effusion.")
    assert (report.modality, report.body_part) == ("XR", "chest")
    assert {o.finding: o.negated for o in report.observations} == {
        "cardiomegaly": False, "pleural effusion": True}


def test_empty_text(parse: ParseFn) -> None:
    report = parse("")
    assert report.observations == () and report.normal and report.sections == {}


LAB_REPORT = """DESERT LABS  LABORATORY RESULTS
Test Result Flag Units Reference Interval
Hemoglobin 10.2 L g/dL 13.5 - 17.5
Glucose 132 H mg/dL (70 - 99)
Creatinine 1.1 mg/dL (0.7 - 1.3)
Sodium 139 mmol/L (135 - 145)
Potassium 4.1 mmol/L (3.5 - 5.1)
Specimen collected 01/02/2024
"""


def test_likelihood_separates_radiology_from_lab_reports() -> None:
    assert radiology_likelihood(NORMAL_CXR) > 0.8
    assert radiology_likelihood(ABNORMAL_CXR) > 0.8
    assert radiology_likelihood(LAB_REPORT) < 0.2
    assert radiology_likelihood("") == 0.0
    assert radiology_likelihood("Dear patient, your appointment is on Monday.") < 0.3


def test_likelihood_is_within_bounds_for_a_mixed_text() -> None:
    value = radiology_likelihood(NORMAL_CXR + LAB_REPORT)
    assert 0.0 < value < 1.0
