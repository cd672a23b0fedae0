"""PDF documents end to end: text layers, scanned pages, mixed files and broken ones."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from medmitra_desktop.analysis.extract import (
    CancelToken,
    ExtractedDocument,
    ExtractionCancelled,
    ExtractOptions,
    extract_document,
)
from medmitra_desktop.domain.enums import DocumentStatus
from medmitra_desktop.domain.filetypes import FileKind

COLUMNS = re.compile(r"\s{2,}")
NO_OCR = ExtractOptions(tesseract_cmd="/nonexistent/bin/tesseract")


def _row_cells(text: str, first_cell: str) -> list[str]:
    lines = [line for line in text.splitlines() if line.startswith(first_cell)]
    assert lines, f"no line starts with {first_cell!r} in:\n{text}"
    return COLUMNS.split(lines[0].strip())


# -- text layer ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def text_pdf(make) -> ExtractedDocument:  # type: ignore[no-untyped-def]
    return extract_document(make.text_pdf("lab.pdf", pages=3))


def test_text_pdf_reads_every_page_from_the_text_layer(text_pdf: ExtractedDocument) -> None:
    assert text_pdf.kind is FileKind.PDF
    assert text_pdf.status is DocumentStatus.OK
    assert text_pdf.error is None
    assert text_pdf.text_source == "text"
    assert [page.number for page in text_pdf.pages] == [1, 2, 3]
    assert all(page.source == "text" and page.words == () for page in text_pdf.pages)
    assert all(page.mean_confidence is None for page in text_pdf.pages)
    assert "Report page 2" in text_pdf.pages[1].text
    assert text_pdf.text.count("\n\f\n") == 2
    assert text_pdf.seconds > 0


def test_text_pdf_keeps_table_rows_on_one_line(make, text_pdf: ExtractedDocument) -> None:  # type: ignore[no-untyped-def]
    page = text_pdf.pages[0].text
    for row in make.LAB_ROWS:
        assert _row_cells(page, row[0]) == list(row)
    assert _row_cells(page, "Test") == ["Test", "Result", "Units", "Reference Range"]
    # Ordinary sentences keep their single spaces.
    assert make.SENTENCES[0] in page


def test_text_pdf_loses_layout_padding(text_pdf: ExtractedDocument) -> None:
    for line in text_pdf.pages[0].text.splitlines():
        assert line == line.strip()
        assert "    " not in line
    assert "\n\n\n" not in text_pdf.pages[0].text


def test_text_pdf_needs_no_ocr_engine(make) -> None:  # type: ignore[no-untyped-def]
    document = extract_document(make.text_pdf("no-ocr.pdf"), options=NO_OCR)
    assert document.status is DocumentStatus.OK
    assert document.text_source == "text"


def test_the_extension_does_not_decide(make) -> None:  # type: ignore[no-untyped-def]
    path = make.text_pdf("report.png")
    document = extract_document(path)
    assert document.kind is FileKind.PDF
    assert document.status is DocumentStatus.OK
    assert "Hemoglobin" in document.text


# -- scanned pages -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scanned_pdf(make) -> tuple[ExtractedDocument, list[tuple[int, int]]]:  # type: ignore[no-untyped-def]
    pages = [make.scan_image(extra_lines=(f"Sheet number {n}",)) for n in (1, 2, 3)]
    path = make.image_pdf("scan.pdf", pages)
    calls: list[tuple[int, int]] = []
    document = extract_document(
        path, options=ExtractOptions(ocr_workers=2), progress=lambda d, t: calls.append((d, t))
    )
    return document, calls


def test_scanned_pdf_is_read_by_ocr(make, scanned_pdf) -> None:  # type: ignore[no-untyped-def]
    document, _ = scanned_pdf
    assert document.status is DocumentStatus.OK, document.error
    assert document.text_source == "ocr"
    assert [page.number for page in document.pages] == [1, 2, 3]
    for page in document.pages:
        assert page.source == "ocr"
        assert page.error is None
        for word in make.SCAN_WORDS:
            assert word in page.text
        assert page.words and all(0 <= word.confidence <= 100 for word in page.words)
        assert page.mean_confidence is not None and page.mean_confidence > 70
    # Pages stay in order although two workers read them.
    assert [f"number {n}" in page.text for n, page in enumerate(document.pages, 1)] == [True] * 3


def test_scanned_pdf_keeps_one_line_per_printed_line(scanned_pdf) -> None:  # type: ignore[no-untyped-def]
    document, _ = scanned_pdf
    text = document.pages[0].text
    hemoglobin = [line for line in text.splitlines() if "Hemoglobin" in line]
    assert len(hemoglobin) == 1
    assert "13.5" in hemoglobin[0] and "g/dL" in hemoglobin[0]
    assert COLUMNS.split(hemoglobin[0])[0] == "Hemoglobin"
    assert not any("Glucose" in line for line in hemoglobin)


def test_sideways_page_in_a_scanned_pdf(make) -> None:  # type: ignore[no-untyped-def]
    page = make.scan_image(extra_lines=("Clinical history: cough and fever for five days.",))
    path = make.image_pdf("sideways.pdf", [page.rotate(270, expand=True)])
    document = extract_document(path)
    assert document.status is DocumentStatus.OK, document.error
    for word in make.SCAN_WORDS:
        assert word in document.pages[0].text
    assert (document.pages[0].mean_confidence or 0) > 70


def test_progress_counts_pages(scanned_pdf) -> None:  # type: ignore[no-untyped-def]
    _, calls = scanned_pdf
    assert calls[0] == (0, 3)
    assert calls[-1] == (3, 3)
    assert {total for _, total in calls} == {3}
    done = [d for d, _ in calls]
    assert done == sorted(done)
    assert set(done) == {0, 1, 2, 3}


def test_mixed_pdf_is_handled_page_by_page(make) -> None:  # type: ignore[no-untyped-def]
    document = extract_document(make.mixed_pdf("mixed.pdf"))
    assert document.status is DocumentStatus.OK, document.error
    assert document.text_source == "mixed"
    assert [page.source for page in document.pages] == ["text", "ocr"]
    assert "Printed page" in document.pages[0].text
    assert "pleural" in document.pages[1].text
    assert document.pages[1].words


def test_mixed_pdf_without_ocr_engine_keeps_the_text_page(make) -> None:  # type: ignore[no-untyped-def]
    document = extract_document(make.mixed_pdf("mixed-no-ocr.pdf"), options=NO_OCR)
    assert document.status is DocumentStatus.OCR_UNAVAILABLE
    assert document.error is not None
    assert document.error.startswith("OCR engine not installed: ")
    assert "mixed-no-ocr.pdf" in document.error
    assert document.pages[0].error is None and "Printed page" in document.pages[0].text
    assert document.pages[1].error is not None
    assert document.text_source == "text"


def test_scanned_pdf_without_ocr_engine(make) -> None:  # type: ignore[no-untyped-def]
    path = make.image_pdf("scan-no-ocr.pdf", [make.scan_image()])
    document = extract_document(path, display_name="CBC report.pdf", options=NO_OCR)
    assert document.status is DocumentStatus.OCR_UNAVAILABLE
    assert "CBC report.pdf" in (document.error or "")
    assert "not found" in (document.error or "")
    assert document.text_source is None


def test_cancel_mid_document_stops_between_pages(make) -> None:  # type: ignore[no-untyped-def]
    path = make.image_pdf("long-scan.pdf", [make.scan_image(scale=0.6)] * 8)
    token = CancelToken()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if done >= 1:
            token.cancel()

    with pytest.raises(ExtractionCancelled):
        extract_document(
            path, options=ExtractOptions(ocr_workers=1), progress=progress, cancel=token
        )
    assert seen[-1][0] < 8


def test_cancelled_before_start(make) -> None:  # type: ignore[no-untyped-def]
    token = CancelToken()
    token.cancel()
    with pytest.raises(ExtractionCancelled):
        extract_document(make.text_pdf("never.pdf"), cancel=token)


# -- passwords -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def locked_pdf(make) -> Path:  # type: ignore[no-untyped-def]
    return make.encrypted_pdf("lab-locked.pdf", user_password="s3cret", owner_password="owner")


def test_password_protected_pdf_asks_for_the_password(locked_pdf: Path) -> None:
    document = extract_document(locked_pdf, display_name="lab.pdf")
    assert document.status is DocumentStatus.NEEDS_PASSWORD
    assert document.error == "lab.pdf is password protected: enter its password to analyse it"
    assert document.pages == ()


def test_wrong_password_is_not_accepted(locked_pdf: Path) -> None:
    document = extract_document(locked_pdf, options=ExtractOptions(password="guess"))
    assert document.status is DocumentStatus.NEEDS_PASSWORD
    assert "lab-locked.pdf" in (document.error or "")
    assert "the password was not accepted" in (document.error or "")


def test_right_password_opens_the_pdf(locked_pdf: Path) -> None:
    document = extract_document(locked_pdf, options=ExtractOptions(password="s3cret"))
    assert document.status is DocumentStatus.OK
    assert "Hemoglobin" in document.text


def test_owner_only_encryption_just_reads(make) -> None:  # type: ignore[no-untyped-def]
    path = make.encrypted_pdf("print-protected.pdf", user_password="", owner_password="owner")
    document = extract_document(path)
    assert document.status is DocumentStatus.OK
    assert "Hemoglobin" in document.text


# -- damaged and hostile files -------------------------------------------------------------


def test_truncated_pdf_keeps_the_pages_that_arrived(make) -> None:  # type: ignore[no-untyped-def]
    data = make.text_pdf_bytes(pages=3)
    path = make.directory / "cut.pdf"
    path.write_bytes(data[: int(len(data) * 0.9)])  # the trailer and xref are lost
    document = extract_document(path)
    assert document.status is DocumentStatus.OK, document.error
    assert [page.number for page in document.pages] == [1, 2, 3]
    assert "Report page 1" in document.pages[0].text


def test_pdf_cut_before_its_catalog_is_damaged(make) -> None:  # type: ignore[no-untyped-def]
    data = make.text_pdf_bytes(pages=3)
    path = make.directory / "stub.pdf"
    path.write_bytes(data[:300])
    document = extract_document(path)
    assert document.status is DocumentStatus.FAILED
    assert document.error is not None
    assert "stub.pdf is damaged or incomplete" in document.error


def test_pdf_header_followed_by_garbage(make) -> None:  # type: ignore[no-untyped-def]
    path = make.directory / "noise.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 16)
    document = extract_document(path)
    assert document.status is DocumentStatus.FAILED
    assert "damaged or incomplete" in (document.error or "")


def test_too_many_pages(make) -> None:  # type: ignore[no-untyped-def]
    path = make.text_pdf("thick.pdf", pages=3)
    document = extract_document(path, options=ExtractOptions(max_pages=2))
    assert document.status is DocumentStatus.FAILED
    assert "thick.pdf has 3 pages" in (document.error or "")
    assert "limit of 2" in (document.error or "")


def test_page_too_large_to_render(make) -> None:  # type: ignore[no-untyped-def]
    document = extract_document(make.huge_page_pdf("poster.pdf"))
    assert document.status is DocumentStatus.FAILED
    assert "poster.pdf" in (document.error or "")
    assert "too large to read safely" in (document.error or "")
    assert "too large" in (document.pages[0].error or "")


def test_embedded_picture_too_large(make) -> None:  # type: ignore[no-untyped-def]
    path = make.small_page_big_picture("dense-scan.pdf")
    # The page itself is 600 x 300 pixels at 300 dpi: within the limit; its picture is not.
    document = extract_document(path, options=ExtractOptions(max_image_pixels=1_000_000))
    assert document.status is DocumentStatus.FAILED
    assert "page 1 holds a picture too large to read safely" in (document.error or "")
    assert "1.3 megapixels; the limit is 1)" in (document.error or "")


def test_nothing_is_logged_at_info_with_names_or_text(make, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    good = extract_document(make.text_pdf("Rahul Sharma CBC.pdf"))
    bad_path = make.directory / "Rahul Sharma MRI.pdf"
    bad_path.write_bytes(b"%PDF-1.4\n" + b"\x00" * 64)
    bad = extract_document(bad_path)
    assert good.status is DocumentStatus.OK and bad.status is DocumentStatus.FAILED
    loud = [record.getMessage() for record in caplog.records if record.levelno >= logging.INFO]
    for message in loud:
        assert "Rahul" not in message
        assert "Hemoglobin" not in message
