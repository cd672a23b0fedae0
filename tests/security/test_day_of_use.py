"""A full day at the workstation with marker patients, then a search of everything the app
wrote: no patient data in any log at INFO or above, and every file it made is readable by
the user only.

The day goes through the services the window uses and through the CLI in subprocesses:
create cases (marker names, notes and file names), attach, analyse, search, update, edit
and sign the SOAP note, print and save as PDF, a refused attachment, delete, restore,
purge. Logging is at DEBUG into the real rotating log file (logging_setup), so markers do
reach the log at DEBUG, which shows the search below can find them.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from medmitra_desktop.analysis.pipeline import Analyzer
from medmitra_desktop.app import AppContext, open_app
from medmitra_desktop.domain.enums import DocumentCategory
from medmitra_desktop.domain.errors import ValidationError
from medmitra_desktop.domain.records import CaseQuery, NewAttachment
from medmitra_desktop.logging_setup import configure_logging
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.services.settings import AppSettings
from tests.factories import LAB_LINES, scanned_png, text_pdf

MARKER = "ZZMARKERPATIENT"
NOTE_MARKER = "ZZMARKERNOTE"
FILE_MARKER = "ZZMARKERFILE"
DOC_MARKER = "ZZMARKERDOC"
MARKERS = (MARKER, NOTE_MARKER, FILE_MARKER, DOC_MARKER)
# "2026-11-21 08:00:00,123 INFO name: message"; lines not starting like this continue the
# record above them (tracebacks, multi-line messages).
_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (\w+) ")


@pytest.fixture
def debug_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MEDMITRA_DEBUG", "1")
    root = logging.getLogger()
    level = root.level
    yield
    configure_logging(None)  # closes the file handler
    root.setLevel(level)


def _records(log_dir: Path) -> list[tuple[str, str]]:
    """(level, full text) of every record in every log file, rotated ones included."""
    records: list[tuple[str, str]] = []
    for path in sorted(log_dir.glob("medmitra.log*")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            match = _RECORD.match(line)
            if match:
                records.append((match.group(1), line))
            elif records:
                records[-1] = (records[-1][0], records[-1][1] + "\n" + line)
    return records


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEDMITRA_DEBUG": "1", "MEDMITRA_USER_ID": "dr-cli"}
    return subprocess.run([sys.executable, "-m", "medmitra_desktop", "--data-dir",
                           str(data_dir), *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def _day(context: AppContext, analyzer: Analyzer, work: Path, qapp: object) -> list[str]:
    """The day's work; returns the case ids still alive."""
    from PySide6.QtGui import QTextDocument
    from PySide6.QtPrintSupport import QPrinter

    cases, user = context.cases, "dr-day"
    context.settings.save(AppSettings(doctor_name="Dr Day", user_id=user))
    report = text_pdf(work / f"{FILE_MARKER}-cbc.pdf",
                      [*LAB_LINES, f"Patient: {MARKER} One", f"Remarks: {DOC_MARKER}"])
    scan = scanned_png(work / f"{FILE_MARKER}-scan.png", [*LAB_LINES[:3], DOC_MARKER])
    first = cases.create_case(user_id=user, patient_name=f"{MARKER} One", patient_age=61,
                              patient_gender="male", case_summary=f"{NOTE_MARKER} fever",
                              lab_files=[NewAttachment(report, DocumentCategory.LAB)],
                              patient_record_number=f"{MARKER}-MRN")
    second = cases.create_case(user_id=user, patient_name=f"{MARKER} Two", patient_age=34,
                               patient_gender="female", case_summary=f"{NOTE_MARKER} cough")
    cases.attach_documents(second.case_id, user_id=user,
                           attachments=[NewAttachment(scan, DocumentCategory.LAB)])
    jobs = AnalysisJobs(context.database, context.files, analyzer)
    while jobs.run_next() is not None:
        pass
    with pytest.raises(ValidationError):  # a refused file with a marker in its name
        bad = work / f"{FILE_MARKER}-archive.pdf"
        bad.write_bytes(b"PK\x03\x04" + b"\0" * 64)
        cases.attach_documents(first.case_id, user_id=user,
                               attachments=[NewAttachment(bad, DocumentCategory.LAB)])
    for words in (MARKER, DOC_MARKER.lower(), f"{NOTE_MARKER} fever", "nothing-like-it"):
        cases.list_cases(CaseQuery(search=words))
    cases.get_case(first.case_id, user_id=user)  # an audited view
    cases.update_case(first.case_id, user_id=user,
                      changes={"patient_name": f"{MARKER} Uno",
                               "case_summary": f"{NOTE_MARKER} fever, better"})
    context.results.results(first.case_id)
    context.soap_notes.save(first.case_id, user_id=user,
                            sections={"plan": f"{NOTE_MARKER} review in 3 days"})
    context.soap_notes.sign(first.case_id, user_id=user, doctor_name="Dr Day")
    # Save as PDF: the case document as Qt lays it out for the printer.
    exported = context.documents.html(first.case_id)
    document = QTextDocument()
    document.setHtml(exported)
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(work / "exported.pdf"))
    document.print_(printer)
    context.documents.record_printed(first.case_id, user, medium="pdf")
    # The export carries the case the doctor chose, and nothing of another patient or of
    # where the data lives.
    assert f"{MARKER} Uno" in exported and f"{MARKER} Two" not in exported
    assert str(context.paths.data_dir) not in exported and "sha256" not in exported.lower()
    cases.reanalyze(second.case_id, user_id=user)
    while jobs.run_next() is not None:
        pass
    cases.delete_case(second.case_id, user_id=user)
    cases.list_cases(CaseQuery(search=MARKER, in_trash=True))
    cases.restore_case(second.case_id, user_id=user)
    third = cases.create_case(user_id=user, patient_name=f"{MARKER} Three", patient_age=5,
                              patient_gender="other")
    cases.delete_case(third.case_id, user_id=user)
    cases.purge_case(third.case_id, user_id=user)
    return [first.case_id, second.case_id]


def test_a_day_of_use_logs_no_patient_data_and_keeps_files_private(
        tmp_path: Path, analyzer: Analyzer, debug_logging: None, qapp: object) -> None:
    data_dir = tmp_path / "data"
    work = tmp_path / "work"
    work.mkdir()
    context = open_app(str(data_dir))
    try:
        configure_logging(context.paths.logs)
        alive = _day(context, analyzer, work, qapp)
    finally:
        context.close()
    # The same day's headless part, each command a process logging at DEBUG.
    stderr = []
    for args in (("cases", "list", "--search", MARKER, "--json"),
                 ("cases", "update", alive[0], "--summary", f"{NOTE_MARKER} by cli"),
                 ("cases", "create", "--name", f"{MARKER} Cli", "--age", "40",
                  "--gender", "male", "--lab", str(work / f"{FILE_MARKER}-cbc.pdf")),
                 ("cases", "create", "--name", f"{MARKER} Bad", "--age", "400",
                  "--gender", "male"),
                 ("analyze", "--json", str(work / f"{FILE_MARKER}-cbc.pdf"),
                  str(work / f"{FILE_MARKER}-archive.pdf"))):
        result = _cli(data_dir, *args)
        assert result.returncode in (0, 2), (args, result.stderr)
        stderr.append(result.stderr)
    shown = json.loads(_cli(data_dir, "cases", "show", alive[0], "--json").stdout)
    assert shown["patient_name"] == f"{MARKER} Uno"

    # A rollover makes a new log file: it must be as private as the first.
    configure_logging(context.paths.logs)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            handler.doRollover()
    logging.getLogger("medmitra_desktop").info("after the rollover")
    records = _records(context.paths.logs)
    assert records, "the day wrote nothing to the log file"
    debug_text = "\n".join(text for level, text in records if level == "DEBUG")
    # The search can see markers: DEBUG may name files (and must, to be useful).
    assert FILE_MARKER in debug_text
    leaks = [text for level, text in records if level != "DEBUG"
             and any(marker.lower() in text.lower() for marker in MARKERS)]
    assert leaks == []
    # On the console, commands print what the doctor asked for; warnings never carry
    # patient data either (a refusal names the file: that is the answer, not a log).
    for text in stderr:
        for line in text.splitlines():
            if line.startswith(("WARNING", "ERROR", "CRITICAL")):
                assert not any(marker in line for marker in MARKERS), line

    if os.name == "posix":
        _assert_private(data_dir)


def _assert_private(data_dir: Path) -> None:
    """The data folder and everything in it: no access for group or others."""
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    checked = 0
    for path in [data_dir, *data_dir.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o077 == 0, f"{path.relative_to(data_dir)} is {oct(mode)}"
        checked += 1
    names = {path.name for path in data_dir.rglob("*")}
    assert {"medmitra.sqlite3", "medmitra.log", "files", "logs", "backups"} <= names
    assert checked > 8
