"""The headless analyze command, held to contracts/analyze-json.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.factories import LAB_LINES, image_pdf, scanned_png, text_pdf

DOCUMENT_FIELDS = {"file", "category", "status", "error", "pages", "text_source", "text_chars",
                   "seconds", "lab_results", "radiology", "medications", "allergies"}
LAB_FIELDS = {"test", "loinc", "value", "value_text", "unit", "ref_low", "ref_high", "ref_text",
              "ref_source", "flag", "page"}
INSIGHT_FIELDS = {"summary", "key_findings", "alerts", "soap", "differential"}


def analyze(*args: str | Path, module: bool = True) -> subprocess.CompletedProcess[str]:
    command = ([sys.executable, "-m", "medmitra_desktop"] if module
               else [str(Path(sys.executable).with_name("medmitra-desktop"))])
    return subprocess.run([*command, "analyze", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def run_json(*args: str | Path) -> dict[str, Any]:
    result = analyze("--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # stdout holds the JSON object and nothing else


def test_shape_and_document_fields(tmp_path: Path) -> None:
    pdf = text_pdf(tmp_path / "cbc.pdf", LAB_LINES)
    scan = scanned_png(tmp_path / "cbc-scan.png", LAB_LINES)
    mixed = image_pdf(tmp_path / "scan.pdf", [LAB_LINES, LAB_LINES])
    output = run_json("--patient-age", "54", "--patient-gender", "female", pdf, scan, mixed)

    assert output["schema"] == "medmitra.analysis/1"
    assert output["patient"] == {"age": 54, "gender": "female"}
    assert set(output["insights"]) >= INSIGHT_FIELDS
    assert set(output["insights"]["soap"]) >= {"subjective", "objective", "assessment", "plan"}
    text_doc, png_doc, imgpdf_doc = output["documents"]
    for document in output["documents"]:
        assert set(document) >= DOCUMENT_FIELDS
        assert document["status"] == "ok" and document["error"] is None
        assert document["category"] == "lab"
        assert document["seconds"] >= 0
        for row in document["lab_results"]:
            assert set(row) >= LAB_FIELDS
    assert text_doc["file"] == str(pdf)
    assert (text_doc["pages"], text_doc["text_source"]) == (1, "text")
    assert (png_doc["pages"], png_doc["text_source"]) == (1, "ocr")
    assert (imgpdf_doc["pages"], imgpdf_doc["text_source"]) == (2, "ocr")
    assert text_doc["text_chars"] > 100 and png_doc["text_chars"] > 100
    tests = {row["test"].lower() for row in text_doc["lab_results"]}
    assert "hemoglobin" in tests


def test_unreadable_files_are_failed_documents_not_crashes(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    zipped = tmp_path / "report.pdf"
    zipped.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    missing = tmp_path / "missing.pdf"
    output = run_json(empty, zipped, missing)
    statuses = [(d["status"], d["category"]) for d in output["documents"]]
    assert statuses == [("failed", None)] * 3
    errors = [d["error"] for d in output["documents"]]
    assert "empty.pdf" in errors[0] and "empty" in errors[0]
    assert "ZIP" in errors[1]
    assert "missing.pdf" in errors[2]


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    pdf = text_pdf(tmp_path / "a.pdf", LAB_LINES)
    for args in (["--patient-age", "abc", pdf], ["--patient-gender", "x", pdf],
                 ["--category", "blood", pdf], []):
        result = analyze("--json", *args)
        assert result.returncode == 2, args
        assert result.stdout == ""
        assert "error" in result.stderr


def test_console_script_does_the_same(tmp_path: Path) -> None:
    pdf = text_pdf(tmp_path / "a.pdf", LAB_LINES)
    result = analyze("--json", pdf, module=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["documents"][0]["status"] == "ok"


def test_text_pages_are_used_when_the_ocr_engine_is_missing(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    text_page = text_pdf(tmp_path / "text.pdf", LAB_LINES)
    scanned = image_pdf(tmp_path / "scan.pdf", [LAB_LINES])
    writer = PdfWriter()
    for source in (text_page, scanned):
        writer.add_page(PdfReader(source).pages[0])
    mixed = tmp_path / "mixed.pdf"
    with mixed.open("wb") as handle:
        writer.write(handle)
    output = run_json("--tesseract", str(tmp_path / "no-such-tesseract"), mixed)
    document = output["documents"][0]
    assert document["status"] == "ocr_unavailable"
    assert "OCR engine not installed" in document["error"]
    assert document["category"] == "lab"
    assert {row["test"].lower() for row in document["lab_results"]} >= {"hemoglobin"}
