"""The pure helpers of the extraction package: no Tesseract runs here."""

from __future__ import annotations

import codecs
import re
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from medmitra_desktop.analysis.extract import (
    PAGE_SEPARATOR,
    CancelToken,
    ExtractedDocument,
    ExtractionCancelled,
    ExtractOptions,
    PageText,
    ocr_engine_status,
)
from medmitra_desktop.analysis.extract.images import load_page, scale_to_dpi, to_grayscale
from medmitra_desktop.analysis.extract.ocr import parse_tsv
from medmitra_desktop.analysis.extract.pdf_text import (
    count_text_chars,
    normalise_layout_text,
    repair_truncated,
)
from medmitra_desktop.analysis.extract.text_files import decode_text
from medmitra_desktop.domain.enums import DocumentStatus

# -- pypdf layout text ----------------------------------------------------------------------


def test_layout_text_keeps_columns_and_drops_padding() -> None:
    raw = (
        "                                     CITY LAB\n\n\n\n\n"
        "Test                       Result        Units\n"
        "Hemoglobin                 13.5          g/dL      \n"
    )
    assert normalise_layout_text(raw) == (
        "CITY LAB\n\nTest   Result   Units\nHemoglobin   13.5   g/dL"
    )


def test_layout_text_keeps_single_and_double_spaces() -> None:
    assert normalise_layout_text("a b  c") == "a b  c"


@given(st.text(alphabet=st.sampled_from(list("ab \n\t\r\f")), max_size=200))
def test_layout_text_normal_form(raw: str) -> None:
    text = normalise_layout_text(raw)
    assert "   " * 2 not in text.replace("\t", " ")
    assert "\n\n\n" not in text
    assert "\f" not in text and "\r" not in text
    for line in text.split("\n"):
        assert line == line.strip(" \t")
    # No visible character is lost or invented.
    assert count_text_chars(text) == count_text_chars(raw.replace("\f", ""))
    assert normalise_layout_text(text) == text


def test_count_text_chars_ignores_whitespace() -> None:
    assert count_text_chars(" a\n\tb  c ") == 3
    assert count_text_chars(None) == 0


# -- Tesseract TSV -------------------------------------------------------------------------

_TSV_COLUMNS = "level page_num block_num par_num line_num word_num left top width height conf text"
_TSV_HEADER = _TSV_COLUMNS.replace(" ", "\t")


def _tsv_row(
    level: int,
    block: int,
    par: int,
    line: int,
    word: int,
    box: tuple[int, int, int, int],
    conf: float,
    text: str,
) -> str:
    left, top, width, height = box
    cells = (level, 1, block, par, line, word, left, top, width, height, conf, text)
    return "\t".join(str(cell) for cell in cells)


def test_parse_tsv_builds_lines_and_column_gaps() -> None:
    tsv = "\n".join(
        [
            _TSV_HEADER,
            _tsv_row(1, 0, 0, 0, 0, (0, 0, 2000, 1000), -1, ""),
            _tsv_row(4, 1, 1, 1, 0, (100, 100, 900, 40), -1, ""),
            _tsv_row(5, 1, 1, 1, 1, (100, 100, 220, 40), 96.5, "Hemoglobin"),
            _tsv_row(5, 1, 1, 1, 2, (700, 100, 80, 40), 94.0, "13.5"),
            _tsv_row(5, 1, 1, 1, 3, (800, 100, 80, 40), 90.0, "g/dL"),
            _tsv_row(5, 1, 1, 2, 1, (100, 160, 90, 40), 88.0, "Total"),
            _tsv_row(5, 1, 1, 2, 2, (205, 160, 200, 40), 91.0, "Leukocyte"),
            _tsv_row(5, 1, 1, 2, 3, (420, 160, 10, 40), 0.0, " "),
            _tsv_row(5, 2, 1, 1, 1, (100, 400, 90, 40), 80.0, "Signed"),
        ]
    )
    result = parse_tsv(tsv)
    assert result.text == "Hemoglobin   13.5 g/dL\nTotal Leukocyte\n\nSigned"
    assert [word.text for word in result.words] == [
        "Hemoglobin",
        "13.5",
        "g/dL",
        "Total",
        "Leukocyte",
        "Signed",
    ]
    assert result.words[0].confidence == pytest.approx(96.5)
    assert (result.words[1].left, result.words[1].top) == (700, 100)
    assert result.mean_confidence == pytest.approx((96.5 + 94 + 90 + 88 + 91 + 80) / 6)


def test_parse_tsv_without_words() -> None:
    assert parse_tsv(_TSV_HEADER + "\n").words == ()
    assert parse_tsv("").mean_confidence is None


# -- text files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (codecs.BOM_UTF8 + b"Hb 13.5 g/dL\r\n", "Hb 13.5 g/dL\n"),
        ("Temp 38.5 °C\n".encode("utf-16"), "Temp 38.5 °C\n"),
        ("Temp 38.5 °C µmol\n".encode("cp1252"), "Temp 38.5 °C µmol\n"),
        (b"Crp 5 mg/L\n", "Crp 5 mg/L\n"),
        (b"page 1\fpage 2\x81", "page 1\npage 2\ufffd"),
    ],
)
def test_decode_text(data: bytes, expected: str) -> None:
    assert decode_text(data) == expected


# -- images --------------------------------------------------------------------------------


def test_transparent_background_becomes_white_paper() -> None:
    image = Image.new("RGBA", (20, 10), (0, 0, 0, 0))
    image.putpixel((5, 5), (0, 0, 0, 255))
    gray = to_grayscale(image)
    assert gray.mode == "L"
    assert gray.getpixel((0, 0)) == 255
    assert gray.getpixel((5, 5)) == 0


def test_sixteen_bit_scan_is_rescaled_not_clipped() -> None:
    image = Image.new("I;16", (4, 4), 60000)
    image.putpixel((0, 0), 0)
    assert to_grayscale(image).getextrema() == (0, 255)


def test_small_image_without_dpi_is_upscaled() -> None:
    image = Image.new("L", (620, 300), 255)  # A4-wide at 75 dpi
    scaled, dpi = scale_to_dpi(image, None, 300, 150_000_000)
    assert scaled.width == 2480
    assert dpi == 300


def test_declared_dpi_is_used_when_plausible() -> None:
    image = Image.new("L", (1800, 600), 255)  # 6 inches at 300 dpi
    scaled, dpi = scale_to_dpi(image, 300.0, 300, 150_000_000)
    assert scaled is image and dpi == 300
    # An A4 page scanned at 72 dpi: believable, but too coarse to read: upscaled.
    scaled, dpi = scale_to_dpi(Image.new("L", (600, 800), 255), 72.0, 300, 150_000_000)
    assert scaled.width == 2400 and dpi == 288


def test_default_dpi_of_a_photo_is_ignored() -> None:
    # JPEG writers record 72 dpi by default: that would make this a 25-inch page.
    image = Image.new("L", (1800, 720), 255)
    scaled, dpi = scale_to_dpi(image, 72.0, 300, 150_000_000)
    assert scaled is image
    assert dpi == round(1800 / (21 / 2.54))


def test_upscaling_respects_the_pixel_limit() -> None:
    image = Image.new("L", (1000, 1400), 255)
    scaled, _ = scale_to_dpi(image, 100.0, 300, 2_800_000)
    assert scaled.width * scaled.height <= 2_800_000 * 1.01


def test_very_high_resolution_is_brought_down() -> None:
    image = Image.new("L", (2400, 300), 255)  # 2 inches at 1200 dpi
    scaled, dpi = scale_to_dpi(image, 1200.0, 300, 150_000_000)
    assert scaled.width == 600 and dpi == 300


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    upright = Image.new("L", (300, 100), 255)
    upright.paste(0, (0, 0, 20, 20))  # a mark at the top left
    stored = upright.rotate(90, expand=True)  # how a sideways camera stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to view"
    path = tmp_path / "photo.jpg"
    stored.save(path, exif=exif, quality=95)
    image, _ = load_page(path, "photo.jpg", 1, 300, 150_000_000)
    scale = image.width / 300
    assert image.width > image.height
    assert image.getpixel((round(5 * scale), round(5 * scale))) < 64
    assert image.getpixel((image.width - 5, image.height - 5)) > 192


# -- PDF repair ----------------------------------------------------------------------------


def test_repair_appends_a_trailer_to_a_truncated_pdf(tmp_path: Path) -> None:
    path = tmp_path / "cut.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<<")
    repaired = repair_truncated(path)
    assert repaired is not None
    assert re.search(rb"trailer\s*<< /Root 1 0 R >>", repaired)
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.4\nnothing here")
    assert repair_truncated(garbage) is None


# -- small types ---------------------------------------------------------------------------


def test_document_text_joins_pages() -> None:
    document = ExtractedDocument(
        None,
        DocumentStatus.OK,
        None,
        (PageText(1, "one", "text"), PageText(2, "two", "ocr")),
        "mixed",
        0.1,
    )
    assert document.text == "one" + PAGE_SEPARATOR + "two"
    assert document.text == "one\n\f\ntwo"


@pytest.mark.parametrize(
    "bad",
    [
        {"max_pages": 0},
        {"ocr_workers": 0},
        {"dpi": 10},
        {"ocr_timeout_seconds": 0},
        {"ocr_language": "eng; rm -rf"},
        {"ocr_language": ""},
        {"max_image_pixels": 0},
    ],
)
def test_options_are_validated(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ExtractOptions(**bad)  # type: ignore[arg-type]


def test_options_accept_several_languages() -> None:
    assert ExtractOptions(ocr_language="eng+hin").ocr_language == "eng+hin"


def test_cancel_token_is_shared_between_threads() -> None:
    token = CancelToken()
    assert not token.cancelled
    thread = threading.Thread(target=token.cancel)
    thread.start()
    thread.join()
    assert token.cancelled
    with pytest.raises(ExtractionCancelled):
        token.raise_if_cancelled()


def test_ocr_engine_status() -> None:
    available, version = ocr_engine_status()
    assert available
    assert re.match(r"\d+\.\d+", version)
    available, reason = ocr_engine_status("/nonexistent/bin/tesseract")
    assert not available
    assert "not found" in reason and "/nonexistent/bin/tesseract" in reason
