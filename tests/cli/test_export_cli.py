"""`export CASE_ID --pdf FILE`: the case report made headless, read back with pypdf."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader

from medmitra_desktop.app import open_app
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from tests.factories import LAB_LINES, make_case, text_pdf


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # No QT_QPA_PLATFORM: the command must choose the offscreen platform by itself.
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    return subprocess.run(
        [sys.executable, "-m", "medmitra_desktop", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=120, env=env)


def pdf_words(path: Path) -> str:
    # Qt places words one by one, so pypdf may read the gaps as tabs: compare words.
    return " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())


def test_export_pdf_round_trip(data_dir: Path, tmp_path: Path, analyzer) -> None:
    context = open_app(str(data_dir))
    try:
        case = make_case(context.cases, name="Kavya Rao", age=29, notes="Fatigue.",
                         lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
        AnalysisJobs(context.database, context.files, analyzer).run_next()
    finally:
        context.close()
    target = tmp_path / "kavya.pdf"

    result = cli(data_dir, "export", case.case_id, "--user-id", "dr-cli", "--pdf", str(target))
    assert result.returncode == 0, result.stderr
    reader = PdfReader(target)
    pages = len(reader.pages)
    assert result.stdout.strip() == f"Saved {target} ({pages} page{'s' * (pages != 1)})."
    assert pages >= 2
    text = pdf_words(target)
    for expected in ("Kavya Rao", "SOAP note", "DRAFT — UNSIGNED", "Hemoglobin", "Low",
                     "Laboratory results", "Source documents", "cbc.pdf",
                     f"Page 1 of {pages}", f"Page {pages} of {pages}", "MedMitra Desktop"):
        assert expected in text, expected
    assert "Signed by" not in text
    assert reader.metadata is not None and reader.metadata.title == "MedMitra case report"

    history = json.loads(cli(data_dir, "cases", "history", case.case_id, "--json").stdout)
    assert [(e["action"], e["user_id"], e["detail"]) for e in history
            if e["action"] == "export"] == [("export", "dr-cli", "pdf")]

    again = cli(data_dir, "export", case.case_id, "--user-id", "dr-cli", "--pdf",
                str(target), "--json")
    assert again.returncode == 0, again.stderr
    job = json.loads(again.stdout)
    assert (job["status"], job["pages"], job["case_id"]) == ("succeeded", pages, case.case_id)


def test_export_problems_exit_with_a_message(data_dir: Path, tmp_path: Path) -> None:
    missing = cli(data_dir, "export", "no-such-case", "--user-id", "dr", "--pdf",
                  str(tmp_path / "a.pdf"))
    assert missing.returncode == 1 and "No case with id no-such-case" in missing.stderr
    no_user = cli(data_dir, "export", "x", "--pdf", str(tmp_path / "a.pdf"))
    assert no_user.returncode == 2 and "user_id: is required" in no_user.stderr
    bad = cli(data_dir, "export", "x", "--user-id", "dr", "--pdf",
              str(tmp_path / "nowhere" / "a.txt"))
    assert bad.returncode == 2 and "output_path: must be a file name ending in .pdf" in (
        bad.stderr)
    assert cli(data_dir, "export", "x", "--user-id", "dr").returncode == 2  # no format
