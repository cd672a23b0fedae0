"""`medmitra-desktop --self-test`: prove that this installation works, without a screen.

Runs from a source checkout and from a frozen bundle alike, always on a fresh temporary
data folder (never the doctor's): opens and migrates the database, creates a case with the
two synthetic sample reports in resources/samples (a text PDF and a scanned PDF), runs the
analysis job (the scan through Tesseract: bundled when frozen, else the one on PATH),
checks what was read, opens the main window off screen and closes it, and names the
keyring backend. Prints a short report on stdout; exit status 0 when every check passed,
1 with `self-test FAILED: ...` on stderr otherwise.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from . import APP_NAME, __version__

if TYPE_CHECKING:
    from .app import AppContext

EXIT_OK, EXIT_FAILED = 0, 1
LAB_SAMPLE = "sample-lab-report.pdf"
SCAN_SAMPLE = "sample-radiology-scan.pdf"
# Words printed on the scanned sample; OCR must find every one of them.
SCAN_WORDS = ("radiology", "consolidation", "effusion", "pneumothorax", "impression")
MIN_LAB_RESULTS = 5  # the sample lab report has five rows


class SelfTestFailure(Exception):
    """A check did not pass; the message says which and what was found."""


class _Report:
    def add(self, what: str, detail: str) -> None:
        print(f"  {what:<26} {detail}", flush=True)


class _WarningCounter(logging.Handler):
    """Counts WARNING and worse log records: a clean run logs none."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname} {record.name}: {record.getMessage()}")


@contextmanager
def _step(name: str) -> Iterator[None]:
    try:
        yield
    except SelfTestFailure as failure:
        raise SelfTestFailure(f"{name}: {failure}") from failure
    except Exception as error:
        raise SelfTestFailure(f"{name}: {type(error).__name__}: {error}") from error


def _prepare_environment(scratch: Path) -> None:
    """No screen needed. What a desktop session has and a bare `env -i` lacks, so that Qt
    has nothing to warn about: a UTF-8 locale and a per-user runtime folder."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    if not any(os.environ.get(name) for name in ("LC_ALL", "LC_CTYPE", "LANG")):
        os.environ["LC_CTYPE"] = "C.UTF-8"
    if sys.platform.startswith("linux") and not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = scratch / "runtime"
        runtime.mkdir(mode=0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def run_self_test() -> int:
    started = time.perf_counter()
    frozen = bool(getattr(sys, "frozen", False))
    print(f"{APP_NAME} {__version__} self-test "
          f"({'frozen bundle' if frozen else 'source checkout'}, Python "
          f"{platform.python_version()}, {sys.platform})", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="medmitra-self-test-"))
    report = _Report()
    warnings = _WarningCounter()
    context: AppContext | None = None
    try:
        _prepare_environment(scratch)
        from .logging_setup import configure_logging

        configure_logging(None)
        logging.getLogger().addHandler(warnings)
        with _step("database"):
            context = _open_database(scratch / "data", report)
        with _step("OCR engine"):
            tesseract = _check_ocr_engine(frozen, report)
        with _step("analysis"):
            _analyse_samples(context, tesseract, report)
        with _step("window"):
            _open_window(context, scratch, report)
        with _step("keyring"):
            _report_keyring(report)
        with _step("encryption"):
            _check_encryption(scratch / "sealed", report)
        context.close()
        context = None
        if warnings.messages:
            raise SelfTestFailure("warnings were logged: " + "; ".join(warnings.messages))
    except SelfTestFailure as failure:
        print(f"self-test FAILED: {failure}", file=sys.stderr, flush=True)
        return EXIT_FAILED
    except Exception as error:  # outside the steps: preparing the environment or logging
        print(f"self-test FAILED: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        return EXIT_FAILED
    finally:
        logging.getLogger().removeHandler(warnings)
        if context is not None:
            context.close()
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"self-test passed in {time.perf_counter() - started:.1f} s", flush=True)
    return EXIT_OK


def _open_database(data_dir: Path, report: _Report) -> AppContext:
    from .app import open_app
    from .storage.database import SCHEMA_HEAD, current_revision

    context = open_app(str(data_dir))
    with context.database.engine.connect() as connection:
        revision = current_revision(connection)
        fts = connection.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE sql LIKE '%USING fts5%'").scalar()
    if revision != SCHEMA_HEAD or not fts:
        context.close()
        raise SelfTestFailure(f"schema is {revision} with {fts} FTS5 table(s), expected "
                              f"{SCHEMA_HEAD} with the search index")
    report.add("data folder", f"{data_dir} (temporary)")
    report.add("database", f"created and migrated to schema {revision} "
                           f"(SQLite {sqlite3.sqlite_version}, {fts} FTS5 table(s))")
    return context


def _check_encryption(folder: Path, report: _Report) -> None:
    """SQLCipher and AES-GCM as an encrypted data folder uses them, with a throw-away key
    (the doctor's keychain is not touched)."""
    from .storage.data_key import DataKey
    from .storage.database import SQLITE_MAGIC, open_database
    from .storage.filestore import FileStore

    key = DataKey.generate()
    folder.mkdir()
    database = open_database(folder / "sealed.sqlite3", folder / "backups", key=key)
    try:
        with database.engine.connect() as connection:
            version = connection.exec_driver_sql("PRAGMA cipher_version").scalar()
            fts = connection.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE sql LIKE '%USING fts5%'").scalar()
    finally:
        database.close()
    if (folder / "sealed.sqlite3").read_bytes().startswith(SQLITE_MAGIC) or not fts:
        raise SelfTestFailure("the encrypted database was written in plain text")
    sample = folder / "sample.txt"
    sample.write_bytes(b"self-test " * 1000)
    files = FileStore(folder / "files", key)
    blob = files.put(sample)
    with files.reading(blob.sha256) as stream:
        same = stream.read() == sample.read_bytes()
    if not same or b"self-test" in blob.path.read_bytes():
        raise SelfTestFailure("an encrypted stored file did not round-trip")
    report.add("encryption", f"SQLCipher {version} database with {fts} FTS5 table(s), "
                             f"AES-256-GCM file store: sealed and read back")


def _check_ocr_engine(frozen: bool, report: _Report) -> str:
    from .analysis.extract.ocr import installed_languages, ocr_engine_status
    from .app import with_bundled_tesseract
    from .config import bundled_tesseract

    bundled = bundled_tesseract()
    if frozen and bundled is None:
        raise SelfTestFailure("this bundle has no tesseract folder (build it with "
                              "build/medmitra_desktop.spec)")
    options = with_bundled_tesseract(None)
    program = (options.tesseract_cmd if options is not None else None) or shutil.which(
        "tesseract")
    if program is None:
        raise SelfTestFailure("Tesseract was not found on PATH (install tesseract-ocr and "
                              "tesseract-ocr-eng, or run the self-test of a built bundle)")
    found, version = ocr_engine_status(program)
    if not found:
        raise SelfTestFailure(version)
    languages = sorted(installed_languages(program))
    if "eng" not in languages:
        raise SelfTestFailure(f"no English language data for {program} "
                              f"(languages: {', '.join(languages) or 'none'})")
    where = "bundled" if bundled is not None and Path(program) == bundled else "from PATH"
    report.add("OCR engine", f"Tesseract {version} {where}: {program} "
                             f"(languages {', '.join(languages)})")
    return program


def _analyse_samples(context: AppContext, tesseract: str, report: _Report) -> None:
    from .analysis.extract import SOURCE_OCR, SOURCE_TEXT, ExtractOptions
    from .app import build_analyzer
    from .config import resources_dir
    from .domain.enums import CaseStatus, DocumentCategory, DocumentStatus
    from .domain.records import NewAttachment
    from .services.analysis_jobs import AnalysisJobs

    samples = resources_dir() / "samples"
    lab, scan = samples / LAB_SAMPLE, samples / SCAN_SAMPLE
    for sample in (lab, scan):
        if not sample.is_file():
            raise SelfTestFailure(f"sample {sample} is missing (build/make_samples.py "
                                  f"makes it)")
    case = context.cases.create_case(
        user_id="self-test", patient_name="Sample Person", patient_age=40,
        patient_gender="female", case_summary="Self-test with synthetic sample reports.",
        lab_files=[NewAttachment(lab, DocumentCategory.LAB)],
        radiology_files=[NewAttachment(scan, DocumentCategory.RADIOLOGY)],
    )
    analyzer = build_analyzer(ExtractOptions(tesseract_cmd=tesseract, ocr_workers=2))
    jobs = AnalysisJobs(context.database, context.files, analyzer)
    clock = time.perf_counter()
    outcome = jobs.run_next()
    seconds = time.perf_counter() - clock
    if outcome is None:
        raise SelfTestFailure("the new case was not queued for analysis")
    if outcome.case_status is not CaseStatus.COMPLETED:
        raise SelfTestFailure(f"the case ended {outcome.case_status.value}: {outcome.error}")

    record = context.cases.get_case(case.case_id)
    documents = {document.file_name: document for document in record.documents}
    results = context.results.results(case.case_id)

    def check_document(name: str, source: str) -> None:
        document = documents[name]
        if document.status is not DocumentStatus.OK:
            raise SelfTestFailure(f"{name} was not read: {document.error}")
        if document.text_source != source:
            raise SelfTestFailure(f"{name} was read from {document.text_source}, "
                                  f"expected {source}")

    check_document(LAB_SAMPLE, SOURCE_TEXT)
    labs = [row for row in results.labs if row.document_name == LAB_SAMPLE]
    if len(labs) < MIN_LAB_RESULTS:
        raise SelfTestFailure(f"{LAB_SAMPLE}: {len(labs)} lab results, expected "
                              f"{MIN_LAB_RESULTS}")
    flagged = sum(1 for row in labs if row.flag not in (None, "N"))
    report.add(LAB_SAMPLE, f"text layer, {len(labs)} lab results ({flagged} flagged)")

    check_document(SCAN_SAMPLE, SOURCE_OCR)
    pages = context.results.document_pages(case.case_id, documents[SCAN_SAMPLE].document_id)
    text = " ".join(page.text for page in pages).lower()
    missing = [word for word in SCAN_WORDS if word not in text]
    if missing:
        raise SelfTestFailure(f"{SCAN_SAMPLE}: OCR did not find {', '.join(missing)} "
                              f"in {text[:200]!r}")
    confidences = [page.mean_confidence for page in pages if page.mean_confidence]
    findings = [f for f in results.findings if f.document_name == SCAN_SAMPLE]
    negated = sum(1 for finding in findings if finding.negated)
    if not negated:
        raise SelfTestFailure(f"{SCAN_SAMPLE}: no negated finding (expected e.g. "
                              f"'No pleural effusion')")
    confidence = f", mean word confidence {min(confidences):.0f}" if confidences else ""
    report.add(SCAN_SAMPLE, f"OCR, {len(pages)} page, words found: "
                            f"{', '.join(SCAN_WORDS)}{confidence}; {len(findings)} "
                            f"findings ({negated} negated)")
    report.add("analysis job", f"case {outcome.case_status.value} in {seconds:.1f} s")


def _open_window(context: AppContext, scratch: Path, report: _Report) -> None:
    from .ui.self_test_window import show_main_window

    messages: list[str] = []
    line = show_main_window(context, scratch / "window.ini", messages)
    if messages:
        raise SelfTestFailure("Qt reported: " + "; ".join(messages))
    report.add("window", line)


def _report_keyring(report: _Report) -> None:
    """The backend keyring chose here, and every backend it could load (in a bundle, a
    missing one means a hidden import is missing from the spec)."""
    import keyring
    import keyring.backend

    def name(backend: object) -> str:
        kind = backend if isinstance(backend, type) else type(backend)
        return f"{kind.__module__}.{kind.__qualname__}"

    backend = keyring.get_keyring()
    chained = getattr(backend, "backends", None)  # the chainer backend lists its members
    inner = f" [{', '.join(map(name, chained))}]" if isinstance(chained, list | tuple) else ""
    keyring.backend.get_all_keyring()  # loads every backend keyring knows
    known = sorted({kind.__module__.removeprefix("keyring.backends.") for kind in
                    getattr(keyring.backend.KeyringBackend, "_classes", ())})
    report.add("keyring", f"{name(backend)}{inner} in use; backends loaded: "
                          f"{', '.join(known) or 'none'}")
