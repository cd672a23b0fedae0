"""Laboratory results and culture reports that mention drug or nutrient names."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "line",
    [
        "25-OH Vitamin D 18 ng/mL",
        "Vitamin D, 25-Hydroxy: 18.2 ng/mL (30 - 100)",
        "25 (OH) Vitamin D 14 ng/ml",
        "Vitamin D Total 22 ng/mL",
        "Serum Iron 40 ug/dL",
        "S. Iron 40 µg/dL",
        "Iron 40 ug/dL",
        "Total iron binding capacity 450",
        "Calcium 9.1 mg/dL",
        "Serum Calcium 9.1 mg/dL 8.5 - 10.5",
        "Vitamin B12 150 pg/mL (211-911)",
        "Folic acid 3.1 ng/mL",
        "Digoxin level 2.1 ng/mL",
        "Serum lithium 0.8 mmol/L",
        "Fasting insulin 12 uIU/mL",
        "Insulin resistance (HOMA-IR 3.2)",
        "Vitamin D deficiency",
        "Iron deficiency anaemia",
        "Zinc 60 µg/dL",
        "Magnesium sulfate 1.9 1.6 - 2.6",
    ],
)
def test_lab_lines_are_not_medications(read, line: str) -> None:
    assert read(line).medications == ()


def test_lab_report_beside_a_prescription(meds) -> None:
    text = (
        "Investigations:\n"
        "Serum Iron 40 ug/dL\n"
        "25-OH Vitamin D 18 ng/mL\n"
        "Calcium 9.1 mg/dL\n"
        "\n"
        "Rx:\n"
        "Tab Ferrous sulfate 200 mg OD\n"
        "Vitamin D3 60000 IU weekly x 8 weeks\n"
        "Calcium carbonate 500 mg BD\n"
    )
    found = meds(text)
    assert set(found) == {"ferrous sulfate", "cholecalciferol", "calcium carbonate"}
    assert found["cholecalciferol"].dose == "60000 IU"


def test_condition_named_after_a_nutrient_beside_its_treatment(meds) -> None:
    found = meds(
        "Iron deficiency anaemia on ferrous sulfate 200 mg OD. "
        "Vitamin D deficiency: cholecalciferol 60000 IU weekly."
    )
    assert set(found) == {"ferrous sulfate", "cholecalciferol"}


def test_lab_value_later_in_the_sentence_does_not_hide_a_drug(meds) -> None:
    found = meds("On metformin, FBS 180 mg/dl.")
    assert set(found) == {"metformin"}


@pytest.mark.parametrize(
    "text",
    [
        "Culture & sensitivity:\nAmikacin   S\nCiprofloxacin  R\nCeftriaxone   S\n",
        "Urine culture: E. coli sensitive to nitrofurantoin, resistant to ciprofloxacin.",
        "Amikacin  S\nMeropenem  S\nCiprofloxacin  R",
        "Antibiotic   MIC   Interpretation\nLevofloxacin  0.5  Susceptible",
    ],
)
def test_culture_sensitivity_reports_are_not_medications(read, text: str) -> None:
    assert read(text).medications == ()
