"""Allergy statements, reactions, severity and "no known allergies"."""

from __future__ import annotations

import pytest


def _allergies(result) -> list[tuple[str, str | None, str | None]]:
    return [(a.substance, a.reaction, a.severity) for a in result.allergies]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Allergic to penicillin (rash).", [("penicillin", "rash", None)]),
        ("Allergic to sulfa drugs.", [("sulfonamides", None, None)]),
        ("Penicillin allergy (hives).", [("penicillin", "urticaria", None)]),
        ("Allergy to aspirin - angioedema.", [("aspirin", "angioedema", None)]),
        ("H/o anaphylaxis to ceftriaxone.", [("ceftriaxone", None, None)]),
        ("Intolerant to metformin (GI upset).",
         [("metformin", "gastrointestinal upset", None)]),
        ("Allergies: Penicillin - anaphylaxis (severe); Sulfa - hives",
         [("penicillin", "anaphylaxis", "severe"), ("sulfonamides", "urticaria", None)]),
        ("Allergic to penicillin, causes rash and swelling.",
         [("penicillin", "rash, swelling", None)]),
        ("Known allergy: mango, moderate itching", [("mango", "pruritus", "moderate")]),
        ("Allergic to dust mites and pollen.",
         [("house dust", None, None), ("pollen", None, None)]),
        ("Allergic to Augmentin (mild rash).", [("amoxicillin-clavulanate", "rash", "mild")]),
        ("Drug allergy: NSAIDs (bronchospasm), iodinated contrast (urticaria).",
         [("nsaids", "bronchospasm", None), ("iodinated contrast", "urticaria", None)]),
    ],
)  # fmt: skip
def test_allergy_statements(read, text: str, expected) -> None:
    result = read(text)
    assert _allergies(result) == expected
    assert result.medications == ()  # an allergen is never a medication
    assert not result.no_known_allergies


def test_allergy_section_lines(read) -> None:
    result = read(
        "ALLERGIES:\n- Penicillin (rash)\n- Peanuts\n- Latex\n\nMEDICATIONS:\nMetformin 1 g BD"
    )
    assert _allergies(result) == [
        ("penicillin", "rash", None),
        ("peanut", None, None),
        ("latex", None, None),
    ]
    assert [a.category for a in result.allergies] == ["medication", "food", "environment"]
    assert [m.name for m in result.medications] == ["metformin"]


@pytest.mark.parametrize(
    "text",
    [
        "NKDA",
        "NKDA.",
        "Allergies: NKDA",
        "Allergies: none",
        "Drug allergies: nil",
        "No known drug allergies.",
        "No known allergies",
        "Denies any drug allergies.",
        "Allergies:\nNone known",
    ],
)
def test_no_known_allergies(read, text: str) -> None:
    result = read(text)
    assert result.no_known_allergies
    assert result.allergies == ()


def test_denied_single_allergy_is_neither_allergy_nor_nkda(read) -> None:
    result = read("No allergy to penicillin. Amoxicillin 500 mg TDS x 5 days.")
    assert result.allergies == ()
    assert not result.no_known_allergies
    assert [m.name for m in result.medications] == ["amoxicillin"]


def test_allergy_clause_ends_before_current_medications(read) -> None:
    result = read("Allergic to sulfa drugs (hives), on metformin 500 mg BD.")
    assert _allergies(result) == [("sulfonamides", "urticaria", None)]
    assert [m.name for m in result.medications] == ["metformin"]


def test_nkda_contradicted_by_an_allergy_is_a_conflict(read) -> None:
    result = read("NKDA. Allergic to penicillin (rash).")
    assert not result.no_known_allergies
    assert _allergies(result) == [("penicillin", "rash", None)]
    assert any("no known allergies" in c for c in result.conflicts)


def test_current_drug_of_an_allergy_class_is_a_conflict(read) -> None:
    result = read("Allergic to penicillin (rash). Amoxicillin 500 mg TDS x 5 days.")
    assert [m.name for m in result.medications] == ["amoxicillin"]
    assert result.conflicts == (
        "amoxicillin (penicillin) is a current medication but an allergy to penicillin is recorded",
    )


def test_same_allergy_twice_is_merged(read) -> None:
    result = read("Allergic to penicillin (rash). Penicillin allergy: anaphylaxis.")
    assert _allergies(result) == [("penicillin", "rash, anaphylaxis", None)]


def test_allergy_to_dict_uses_the_api_field_name(read) -> None:
    allergy = read("Allergy: grass - mild rash").allergies[0]
    data = allergy.to_dict()
    assert (data["name"], data["reaction"], data["severity"]) == ("grass", "rash", "mild")
