"""Negation, uncertainty, hypothetical and historical status, with their scopes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .conftest import ParseFn

Status = Callable[[str], dict[str, str]]

NEG, POS, UNC = "negated", "positive", "uncertain"


@pytest.mark.parametrize(("text", "expected"), [
    ("No focal consolidation, effusion or pneumothorax.",
     {"consolidation": NEG, "pleural effusion": NEG, "pneumothorax": NEG}),
    ("No pneumonia, effusions, edema, pneumothorax, adenopathy, nodules or masses.",
     {"pneumonia": NEG, "pleural effusion": NEG, "edema": NEG, "pneumothorax": NEG,
      "lymphadenopathy": NEG, "nodule": NEG, "mass": NEG}),
    ("The lungs are clear without focal airspace disease or effusion.",
     {"opacity": NEG, "pleural effusion": NEG}),
    ("There is no evidence of pneumothorax.", {"pneumothorax": NEG}),
    ("Negative for pneumothorax.", {"pneumothorax": NEG}),
    ("The lungs are free of infiltrates.", {"opacity": NEG}),
    ("The lungs are clear of focal airspace disease, pneumothorax, or pleural effusion.",
     {"opacity": NEG, "pneumothorax": NEG, "pleural effusion": NEG}),
    ("Absence of pleural fluid.", {"pleural effusion": NEG}),
    ("No new consolidation.", {"consolidation": NEG}),
    ("Neither effusion nor pneumothorax.", {"pleural effusion": NEG, "pneumothorax": NEG}),
    ("It is not calcified.", {"calcification": NEG}),
    ("No large pleural effusion.", {"pleural effusion": NEG}),
])
def test_forward_negation_covers_the_whole_list(status: Status, text: str,
                                                expected: dict[str, str]) -> None:
    assert status(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Pneumothorax is not seen.", {"pneumothorax": NEG}),
    ("Pleural effusion, pneumothorax, and consolidation are not seen.",
     {"pleural effusion": NEG, "pneumothorax": NEG, "consolidation": NEG}),
    ("Heart size and pulmonary vascular engorgement appear within limits of normal.",
     {"vascular congestion": NEG}),
    ("The previously seen effusion has resolved.", {"pleural effusion": NEG}),
    ("Interstitial markings are normal.", {"interstitial disease": NEG}),
    ("The heart is not enlarged.", {"cardiomegaly": NEG}),
    ("Pneumothorax: none.", {"pneumothorax": NEG}),
    ("Mild cardiomegaly, lungs are clear.", {"cardiomegaly": POS}),
    ("Mild cardiomegaly with normal pulmonary vascularity.", {"cardiomegaly": POS}),
])
def test_backward_negation_stays_in_its_clause(status: Status, text: str,
                                               expected: dict[str, str]) -> None:
    assert status(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("No pleural effusion. There is cardiomegaly.",
     {"pleural effusion": NEG, "cardiomegaly": POS}),
    ("No effusion but there is a small pneumothorax.",
     {"pleural effusion": NEG, "pneumothorax": POS}),
    ("No consolidation; mild atelectasis at the left base.",
     {"consolidation": NEG, "atelectasis": POS}),
    ("No acute abnormality aside from a healed rib fracture.", {"fracture": POS}),
    ("No focal consolidation, however there is a right effusion.",
     {"consolidation": NEG, "pleural effusion": POS}),
    ("This does not look like an acute infiltrate, and more likely represents scarring.",
     {"opacity": NEG, "scarring": UNC}),
    ("No acute infiltrate in the lungs, which show emphysema.",
     {"opacity": NEG, "emphysema": POS}),
    ("No pneumothorax or pleural effusion, stable calcified granuloma.",
     {"pneumothorax": NEG, "pleural effusion": NEG, "granuloma": POS}),
    ("Emphysema without acute infiltrate.", {"emphysema": POS, "opacity": NEG}),
])
def test_termination_ends_the_scope(status: Status, text: str, expected: dict[str, str]) -> None:
    assert status(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Cannot exclude pneumonia.", {"pneumonia": UNC}),
    ("Pneumonia cannot be excluded.", {"pneumonia": UNC}),
    ("Possible left basilar consolidation.", {"consolidation": UNC}),
    ("Findings are suspicious for pneumonia.", {"pneumonia": UNC}),
    ("Opacity may represent atelectasis.", {"opacity": POS, "atelectasis": UNC}),
    ("Streaky opacities, likely atelectasis.", {"opacity": POS, "atelectasis": UNC}),
    ("Questionable nodule in the right upper lobe.", {"nodule": UNC}),
    ("Pleural thickening versus loculated effusion.",
     {"pleural thickening": POS, "pleural effusion": UNC}),
    ("Borderline cardiomegaly.", {"cardiomegaly": UNC}),
    ("Heart size is borderline enlarged.", {"cardiomegaly": UNC}),
    ("Differential diagnosis includes pneumonia and mass.", {"pneumonia": UNC, "mass": UNC}),
    ("No effusion, possible atelectasis.", {"pleural effusion": NEG, "atelectasis": UNC}),
    ("There is no focal air space opacity to suggest a pneumonia.", {"opacity": NEG,
                                                                      "pneumonia": NEG}),
])
def test_uncertainty(status: Status, text: str, expected: dict[str, str]) -> None:
    assert status(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("No change in the small calcified granuloma.", {"granuloma": POS}),
    ("No interval change in the moderate cardiomegaly.", {"cardiomegaly": POS}),
    ("Without change, there is left basilar atelectasis.", {"atelectasis": POS}),
    ("Not only is there an effusion, there is also consolidation.",
     {"pleural effusion": POS, "consolidation": POS}),
])
def test_pseudo_triggers_do_not_negate(status: Status, text: str,
                                       expected: dict[str, str]) -> None:
    assert status(text) == expected


def test_heart_size_at_the_upper_limit_of_normal_is_not_cardiomegaly(parse: ParseFn) -> None:
    report = parse("FINDINGS: Heart size is upper limits of normal. Lungs are clear.")
    assert report.normal
    assert all(o.finding != "cardiomegaly" or o.uncertain for o in report.observations)


def test_the_heart_normal_in_size_is_not_cardiomegaly(parse: ParseFn) -> None:
    report = parse("FINDINGS: The heart is normal in size. Normal heart size. Lungs are clear.")
    assert report.observations == ()
    assert report.normal


def test_rule_out_is_hypothetical_and_not_positive(parse: ParseFn) -> None:
    report = parse("IMPRESSION: Rule out pneumonia.")
    (obs,) = report.observations
    assert (obs.finding, obs.uncertain, obs.hypothetical, obs.negated) == (
        "pneumonia", True, True, False)
    assert report.normal


def test_historical_findings_stay_asserted(parse: ParseFn) -> None:
    report = parse("FINDINGS: Prior granulomatous disease. Old healed rib fracture.")
    assert {o.finding: (o.negated, o.uncertain, o.historical) for o in report.observations} == {
        "granuloma": (False, False, True), "fracture": (False, False, True)}
    assert not report.normal


def test_family_history_is_not_the_patients_finding(parse: ParseFn) -> None:
    (obs,) = parse("IMPRESSION: Family history of emphysema.").observations
    assert obs.family and obs.uncertain and not obs.negated


def test_year_old_is_not_a_history_cue(parse: ParseFn) -> None:
    (obs,) = parse("FINDINGS: XXXX-year-old with cardiomegaly.").observations
    assert not obs.historical
