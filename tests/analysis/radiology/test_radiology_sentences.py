"""Sentence splitting and de-identification blanking, both offset-preserving."""

from __future__ import annotations

import pytest

from medmitra_desktop.analysis.radiology.sentences import (
    mask_deidentification,
    sentence_text,
    split_sentences,
)


def _sentences(text: str) -> list[str]:
    return [sentence_text(text, span) for span in split_sentences(text)]


def test_plain_sentences() -> None:
    assert _sentences("The lungs are clear. No effusion! Is there a mass? No.") == [
        "The lungs are clear.", "No effusion!", "Is there a mass?", "No."]


@pytest.mark.parametrize("text", [
    "A 1.5 cm nodule is seen in the right upper lobe.",
    "Discussed with Dr. Smith at 10:30 a.m. on the ward.",
    "Atelectasis vs. infiltrate in the left base.",
    "Small effusion, e.g. at the left base, is noted.",
    "Device No. 5 is in place.",
    "Compared with the study read by J. Smith last year.",
])
def test_abbreviations_and_numbers_do_not_end_a_sentence(text: str) -> None:
    assert _sentences(text) == [text]


def test_a_measurement_at_a_sentence_end_still_ends_it() -> None:
    assert _sentences("The nodule measures 1.5 cm. The heart is normal.") == [
        "The nodule measures 1.5 cm.", "The heart is normal."]


def test_numbered_impression_items_are_separate_sentences_without_their_numbers() -> None:
    text = "1. No acute disease. 2. Mild cardiomegaly. 3. Stable granuloma. ."
    assert _sentences(text) == ["No acute disease.", "Mild cardiomegaly.", "Stable granuloma."]


def test_list_items_on_their_own_lines() -> None:
    text = "1. Cardiomegaly\n2. Small left effusion\n- Degenerative change"
    assert _sentences(text) == ["Cardiomegaly", "Small left effusion", "Degenerative change"]


def test_wrapped_lines_continue_the_sentence() -> None:
    text = "There is no\npleural effusion or\nPneumothorax. The patient is status post\nCABG."
    assert _sentences(text) == [
        "There is no pleural effusion or Pneumothorax.", "The patient is status post CABG."]


def test_a_blank_line_or_a_capitalised_line_starts_a_new_sentence() -> None:
    text = "No acute disease\nStable cardiomegaly\n\nlow lung volumes"
    assert _sentences(text) == ["No acute disease", "Stable cardiomegaly", "low lung volumes"]


def test_mtsamples_commas_for_newlines() -> None:
    assert _sentences("Lungs are clear.,No effusion.") == ["Lungs are clear.", "No effusion."]


def test_offsets_point_into_the_text() -> None:
    text = "  FINDINGS: Heart normal.  Lungs clear.  "
    for start, end in split_sentences(text, 12):
        assert text[start:end].strip() == text[start:end]
    assert [text[s:e] for s, e in split_sentences(text, 12)] == ["Heart normal.", "Lungs clear."]


def test_pieces_without_letters_are_dropped() -> None:
    assert _sentences(". . 2. ; ,") == []


def test_deidentification_tokens_are_blanked_in_place() -> None:
    text = "XXXX-year-old. Clear lung XXXX bilaterally. XX/XX/XXXX. OCR XKXXX."
    masked = mask_deidentification(text)
    assert len(masked) == len(text)
    assert "X" not in masked.replace("OCR", "")
    assert masked.startswith("    -year-old.")


def test_ordinary_words_with_x_are_kept() -> None:
    text = "CXR shows a 2 x 3 cm mass; Xray of the thorax; box; X-ray."
    assert mask_deidentification(text) == text
