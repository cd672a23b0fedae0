from __future__ import annotations

from pathlib import Path

import pytest

from medmitra_desktop.domain.enums import DocumentCategory, Gender
from medmitra_desktop.domain.errors import ValidationError
from medmitra_desktop.domain.records import CaseQuery, NewAttachment
from medmitra_desktop.domain.validation import (
    FILE_MAX_BYTES,
    case_field_errors,
    check_attachment,
    check_case_query,
    validate_case_fields,
)
from tests.factories import png_image, text_pdf

VALID = {"patient_name": "Asha Verma", "patient_age": 45, "patient_gender": "female",
         "case_summary": "Fever for 3 days"}


def test_valid_fields_are_cleaned() -> None:
    clean = validate_case_fields({**VALID, "patient_name": "  Asha   Verma ",
                                  "patient_age": " 45 ", "patient_gender": "Female"})
    assert clean == {**VALID, "patient_gender": Gender.FEMALE, "patient_record_number": None}


@pytest.mark.parametrize("age", [0, 130, "0", "130", 45.0])
def test_age_bounds_accepted(age: object) -> None:
    assert validate_case_fields({**VALID, "patient_age": age})["patient_age"] == int(age)


@pytest.mark.parametrize("age", [-1, 131, "abc", "4.5", 4.5, "", None, True, "٤٥", "1e2"])
def test_bad_age_is_named_with_its_rule(age: object) -> None:
    errors = case_field_errors({**VALID, "patient_age": age})
    assert set(errors) == {"patient_age"}
    assert "whole number" in errors["patient_age"] and "0 to 130" in errors["patient_age"]


@pytest.mark.parametrize("gender", ["m", "", None, "unknown", 1])
def test_gender_lists_allowed_values(gender: object) -> None:
    errors = case_field_errors({**VALID, "patient_gender": gender})
    assert errors["patient_gender"].startswith("must be one of male, female, other")


def test_name_rules() -> None:
    assert "required" in case_field_errors({**VALID, "patient_name": "   "})["patient_name"]
    assert "at most 200" in case_field_errors({**VALID, "patient_name": "x" * 201})["patient_name"]
    assert case_field_errors({**VALID, "patient_name": "x" * 200}) == {}
    assert "control" in case_field_errors({**VALID, "patient_name": "a\x00b"})["patient_name"]


def test_unicode_names_are_kept_and_normalised() -> None:
    for name in ("محمد عبد الله", "मोहन लाल", "Zoë Ångström", "李小龙"):
        assert validate_case_fields({**VALID, "patient_name": name})["patient_name"] == name
    decomposed = "Jose\u0301"
    assert validate_case_fields({**VALID, "patient_name": decomposed})["patient_name"] == "José"


def test_every_bad_field_in_one_error() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_case_fields({"patient_name": "", "patient_age": 200, "patient_gender": "x",
                              "case_summary": "y" * 20_001})
    assert [e.field for e in caught.value.errors] == [
        "patient_name", "patient_age", "patient_gender", "case_summary"]


def test_partial_validation_checks_only_given_fields() -> None:
    assert validate_case_fields({"patient_age": "50"}, partial=True) == {"patient_age": 50}
    assert case_field_errors({"colour": "red"}, partial=True)["colour"].startswith(
        "is not a case field")


def test_attachment_type_judged_by_content(tmp_path: Path) -> None:
    liar = png_image(tmp_path / "report.pdf")
    sniffed, error = check_attachment(NewAttachment(liar, DocumentCategory.LAB), "lab_files")
    assert error is None and sniffed is not None and sniffed.mime_type == "image/png"

    word = tmp_path / "notes.pdf"
    word.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    _, error = check_attachment(NewAttachment(word, DocumentCategory.LAB), "lab_files")
    assert error is not None and "notes.pdf is a ZIP archive" in error.message
    assert "PDF, PNG, JPEG, TIFF, BMP, TXT or CSV" in error.message


def test_attachment_size_and_emptiness(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    _, error = check_attachment(NewAttachment(empty, DocumentCategory.LAB), "lab_files")
    assert error is not None and "empty" in error.message

    huge = tmp_path / "huge.pdf"
    with huge.open("wb") as handle:
        handle.write(b"%PDF-1.4\n")
        handle.truncate(FILE_MAX_BYTES + 1)  # sparse: no real disk used
    _, error = check_attachment(NewAttachment(huge, DocumentCategory.LAB), "lab_files")
    assert error is not None and "at most 50 MB" in error.message

    just_fits = text_pdf(tmp_path / "ok.pdf", ["Hemoglobin 12"])
    assert check_attachment(NewAttachment(just_fits, DocumentCategory.LAB), "lab_files")[1] is None

    missing = tmp_path / "gone.pdf"
    _, error = check_attachment(NewAttachment(missing, DocumentCategory.LAB), "lab_files")
    assert error is not None and "no such file" in error.message


@pytest.mark.parametrize(("query", "field"), [
    (CaseQuery(start=0), "start"),
    (CaseQuery(size=0), "size"),
    (CaseQuery(size=501), "size"),
    (CaseQuery(sort="password"), "sort"),
    (CaseQuery(age_min=50, age_max=40), "age_min"),
    (CaseQuery(age_max=200), "age_max"),
])
def test_bad_queries_are_named(query: CaseQuery, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_case_query(query)
    assert field in caught.value.by_field()


def test_page_size_bounds_accepted() -> None:
    check_case_query(CaseQuery(size=1))
    check_case_query(CaseQuery(size=500))
