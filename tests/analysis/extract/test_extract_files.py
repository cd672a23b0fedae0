"""Scans, photos, text files and files that are not what they claim, end to end."""

from __future__ import annotations

import random

import pytest
from PIL import Image

from medmitra_desktop.analysis.extract import ExtractedDocument, ExtractOptions, extract_document
from medmitra_desktop.domain.enums import DocumentStatus
from medmitra_desktop.domain.filetypes import FileKind

NO_OCR = ExtractOptions(tesseract_cmd="/nonexistent/bin/tesseract")


def _assert_reads_scan(document: ExtractedDocument, words: tuple[str, ...]) -> None:
    assert document.status is DocumentStatus.OK, document.error
    assert document.error is None
    assert document.text_source == "ocr"
    for page in document.pages:
        assert page.source == "ocr" and page.error is None
        for word in words:
            assert word in page.text, f"{word!r} not in OCR text:\n{page.text}"
        assert page.words and page.mean_confidence is not None and page.mean_confidence > 60


# -- scans and photos ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def png_scan(make) -> ExtractedDocument:  # type: ignore[no-untyped-def]
    return extract_document(make.save_image(make.scan_image(), "scan.png", dpi=(300, 300)))


def test_png_scan(make, png_scan: ExtractedDocument) -> None:  # type: ignore[no-untyped-def]
    assert png_scan.kind is FileKind.PNG
    assert len(png_scan.pages) == 1
    _assert_reads_scan(png_scan, make.SCAN_WORDS)


def test_ocr_words_carry_positions_and_confidences(png_scan: ExtractedDocument) -> None:
    words = {word.text: word for word in png_scan.pages[0].words}
    hemoglobin, laboratory = words["Hemoglobin"], words["LABORATORY"]
    assert hemoglobin.confidence > 80
    assert hemoglobin.width > 0 and hemoglobin.height > 0
    # The title is printed above the table, both start near the left margin.
    assert laboratory.top < hemoglobin.top
    assert abs(words["CITY"].left - hemoglobin.left) < 20


def test_ocr_keeps_table_rows_and_columns(png_scan: ExtractedDocument) -> None:
    lines = png_scan.pages[0].text.splitlines()
    row = next(line for line in lines if line.startswith("Hemoglobin"))
    assert row.split("   ")[0] == "Hemoglobin"  # a column gap, not one space
    assert "13.5" in row and "g/dL" in row
    assert any(line.startswith("Findings:") and "pleural" in line for line in lines)


def test_jpeg_scan(make) -> None:  # type: ignore[no-untyped-def]
    path = make.save_image(make.scan_image(), "scan.jpg", dpi=(300, 300), quality=80)
    document = extract_document(path)
    assert document.kind is FileKind.JPEG
    _assert_reads_scan(document, make.SCAN_WORDS)


def test_photo_turned_by_its_exif_tag(make) -> None:  # type: ignore[no-untyped-def]
    stored = make.scan_image().rotate(90, expand=True)  # the sensor's sideways pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to view"
    path = make.save_image(stored, "photo.jpg", exif=exif, quality=85)
    _assert_reads_scan(extract_document(path), make.SCAN_WORDS)


@pytest.mark.parametrize("degrees", [90, 180])
def test_page_scanned_the_wrong_way_up(make, degrees: int) -> None:  # type: ignore[no-untyped-def]
    # More text than the other scans: orientation detection needs a few lines to be sure.
    image = make.scan_image(
        extra_lines=(
            "Clinical history: cough and fever for five days.",
            "Comparison: none available.",
        )
    )
    path = make.save_image(
        image.rotate(degrees, expand=True), f"turned-{degrees}.png", dpi=(300, 300)
    )
    _assert_reads_scan(extract_document(path), make.SCAN_WORDS)


def test_multi_page_tiff_gives_one_page_per_frame(make) -> None:  # type: ignore[no-untyped-def]
    frames = [make.scan_image(scale=0.8, title=f"LABORATORY SHEET {n}") for n in (1, 2)]
    path = make.save_image(
        frames[0],
        "fax.tif",
        save_all=True,
        append_images=frames[1:],
        dpi=(240, 240),
        compression="tiff_lzw",
    )
    calls: list[tuple[int, int]] = []
    document = extract_document(path, progress=lambda d, t: calls.append((d, t)))
    assert document.kind is FileKind.TIFF
    assert [page.number for page in document.pages] == [1, 2]
    _assert_reads_scan(document, ("Hemoglobin", "pleural"))
    assert "SHEET 1" in document.pages[0].text and "SHEET 2" in document.pages[1].text
    assert calls[0] == (0, 2) and calls[-1] == (2, 2)


def test_small_image_without_resolution_is_enlarged_for_ocr(make) -> None:  # type: ignore[no-untyped-def]
    image = make.scan_image(scale=0.4)  # ~120 dpi text, no dpi recorded in the file
    path = make.save_image(image, "screenshot.png")
    with Image.open(path) as saved:
        assert "dpi" not in saved.info
    _assert_reads_scan(extract_document(path), ("Hemoglobin", "pleural", "Impression"))


def test_transparent_png(make) -> None:  # type: ignore[no-untyped-def]
    ink = make.scan_image()
    image = Image.new("RGBA", ink.size, (0, 0, 0, 0))  # transparent black background
    image.putalpha(ink.point(lambda v: 255 - v))  # only the letters are opaque
    path = make.save_image(image, "transparent.png", dpi=(300, 300))
    _assert_reads_scan(extract_document(path), ("Hemoglobin", "pleural"))


def test_pdf_name_with_png_inside(make) -> None:  # type: ignore[no-untyped-def]
    path = make.save_image(make.scan_image(), "report.pdf", format="PNG", dpi=(300, 300))
    document = extract_document(path)
    assert document.kind is FileKind.PNG
    _assert_reads_scan(document, ("Hemoglobin", "pleural"))


# -- OCR problems --------------------------------------------------------------------------


def test_image_without_ocr_engine(make) -> None:  # type: ignore[no-untyped-def]
    path = make.save_image(make.scan_image(scale=0.3), "xray-report.png")
    document = extract_document(path, options=NO_OCR)
    assert document.status is DocumentStatus.OCR_UNAVAILABLE
    assert document.error is not None
    assert document.error.startswith("OCR engine not installed: ")
    assert "xray-report.png" in document.error
    assert "/nonexistent/bin/tesseract" in document.error
    assert document.pages[0].error is not None


def test_missing_ocr_language(make) -> None:  # type: ignore[no-untyped-def]
    path = make.save_image(make.scan_image(scale=0.3), "german.png")
    document = extract_document(path, options=ExtractOptions(ocr_language="deu+eng"))
    assert document.status is DocumentStatus.OCR_UNAVAILABLE
    assert "deu" in (document.error or "")


def test_ocr_timeout_fails_the_page(make) -> None:  # type: ignore[no-untyped-def]
    path = make.save_image(make.scan_image(), "slow.png", dpi=(300, 300))
    document = extract_document(path, options=ExtractOptions(ocr_timeout_seconds=0.01))
    assert document.status is DocumentStatus.FAILED
    assert "slow.png could not be read" in (document.error or "")
    assert "took longer than 0.01 seconds" in (document.pages[0].error or "")


# -- bombs ---------------------------------------------------------------------------------


def test_png_decompression_bomb(make) -> None:  # type: ignore[no-untyped-def]
    path = make.png_bomb("bomb.png")
    assert path.stat().st_size < 10_000
    document = extract_document(path)
    assert document.kind is FileKind.PNG
    assert document.status is DocumentStatus.FAILED
    assert "bomb.png is too large to read safely" in (document.error or "")
    assert "1600 megapixels" in (document.error or "")


def test_image_over_the_configured_pixel_limit(make) -> None:  # type: ignore[no-untyped-def]
    path = make.png_bomb("wide.png", width=12_000, height=10_000)  # below PIL's own limit
    document = extract_document(path)
    assert document.status is DocumentStatus.OK or "too large" not in (document.error or "")
    document = extract_document(path, options=ExtractOptions(max_image_pixels=100_000_000))
    assert document.status is DocumentStatus.FAILED
    assert "120 megapixels" in (document.error or "")
    assert "limit is 100 megapixels" in (document.error or "")


def test_too_many_tiff_frames(make) -> None:  # type: ignore[no-untyped-def]
    frame = Image.new("L", (50, 50), 255)
    path = make.save_image(frame, "many.tif", save_all=True, append_images=[frame] * 4)
    document = extract_document(path, options=ExtractOptions(max_pages=3))
    assert document.status is DocumentStatus.FAILED
    assert "many.tif has 5 pages" in (document.error or "")


# -- text files and files that are not reports ---------------------------------------------


def test_text_file(make) -> None:  # type: ignore[no-untyped-def]
    path = make.directory / "notes.txt"
    path.write_bytes("Temperature 38.5 °C\r\nHemoglobin 13.5 g/dL\r\n".encode("utf-16"))
    document = extract_document(path)
    assert document.kind is FileKind.TXT
    assert document.status is DocumentStatus.OK
    assert document.text == "Temperature 38.5 °C\nHemoglobin 13.5 g/dL\n"
    assert document.text_source == "text"
    assert document.pages[0].source == "text"


def test_csv_file_in_windows_encoding(make) -> None:  # type: ignore[no-untyped-def]
    path = make.directory / "labs.pdf"  # the extension lies: the content is CSV
    path.write_bytes("test,value,unit\nCreatinine,88,µmol/L\nCRP,5,mg/L\n".encode("cp1252"))
    calls: list[tuple[int, int]] = []
    document = extract_document(path, progress=lambda d, t: calls.append((d, t)))
    assert document.kind is FileKind.CSV
    assert "Creatinine,88,µmol/L" in document.text
    assert calls == [(0, 1), (1, 1)]


def test_empty_file(make) -> None:  # type: ignore[no-untyped-def]
    path = make.directory / "empty.pdf"
    path.write_bytes(b"")
    document = extract_document(path)
    assert document.status is DocumentStatus.FAILED
    assert document.kind is None
    assert document.error is not None and document.error.startswith("empty.pdf is empty")


def test_garbage_named_pdf(make) -> None:  # type: ignore[no-untyped-def]
    path = make.directory / "scan-001.pdf"
    path.write_bytes(random.Random(7).randbytes(4096))
    document = extract_document(path)
    assert document.status is DocumentStatus.FAILED
    assert document.error is not None
    assert "scan-001.pdf is a binary file of an unknown kind" in document.error
    assert "PDF, PNG, JPEG" in document.error


def test_word_document_says_what_it_is(make) -> None:  # type: ignore[no-untyped-def]
    path = make.directory / "discharge.pdf"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    document = extract_document(path)
    assert document.status is DocumentStatus.FAILED
    assert "a ZIP archive (or a Word/Excel document)" in (document.error or "")


def test_missing_file(make) -> None:  # type: ignore[no-untyped-def]
    document = extract_document(make.directory / "gone.pdf")
    assert document.status is DocumentStatus.FAILED
    assert "gone.pdf could not be opened" in (document.error or "")


def test_damaged_png(make) -> None:  # type: ignore[no-untyped-def]
    data = make.save_image(make.scan_image(scale=0.3), "whole.png").read_bytes()
    path = make.directory / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    document = extract_document(path)
    assert document.status is DocumentStatus.FAILED
    assert "damaged or incomplete" in (document.error or "")
