"""lab_likelihood tells lab reports from narrative (radiology) reports."""

from __future__ import annotations

from medmitra_desktop.analysis.labs import LabKnowledge, lab_likelihood
from tests.analysis.labs.test_lab_parser_layouts import DOTTED, INDIAN_TABLE, US_TABLE

RADIOLOGY = """\
CHEST X-RAY PA AND LATERAL
INDICATION: Cough for 2 weeks.
COMPARISON: None.
FINDINGS: The heart size is normal. The lungs are clear. No pleural effusion or
pneumothorax. There is a 5 mm calcified granuloma in the right upper lobe.
IMPRESSION: No acute cardiopulmonary disease.
"""


def test_lab_reports_score_high(kb: LabKnowledge) -> None:
    for text in (US_TABLE, INDIAN_TABLE, DOTTED):
        assert lab_likelihood(text, kb) > 0.9
        assert lab_likelihood(text) > 0.8  # structure alone, without the knowledge base


def test_radiology_and_empty_text_score_low(kb: LabKnowledge) -> None:
    assert lab_likelihood(RADIOLOGY, kb) < 0.2
    assert lab_likelihood(RADIOLOGY) < 0.3
    assert lab_likelihood("") == 0.0
    assert lab_likelihood("   \n  ", kb) == 0.0


def test_likelihood_is_a_probability(kb: LabKnowledge) -> None:
    for text in ("x", "1 2 3", US_TABLE * 20):
        assert 0.0 <= lab_likelihood(text, kb) <= 1.0
