"""Every kind in the bad-input catalogue (bad_inputs.py) through the paths a doctor uses:
attaching to a new case, the durable analysis job, `analyze --json`, the new-case form's
validation and the case list's search. Each gives a clear message, loses nothing, and
the app keeps working afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from medmitra_desktop.analysis.pipeline import Analyzer
from medmitra_desktop.app import AppContext, open_app
from medmitra_desktop.domain.enums import JobStatus
from medmitra_desktop.domain.errors import ValidationError
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.services.cases import CaseService
from medmitra_desktop.storage.orm import Case, Document, Job
from tests.factories import LAB_LINES, text_pdf
from tests.reliability.bad_inputs import (
    FIELD_KINDS,
    MARKER_WORD,
    REFUSED,
    SEARCH_KINDS,
    FieldKind,
    FileKind,
    SearchKind,
    SuiteRun,
    active_file_kinds,
    integrity_check,
    is_clear_message,
    run_file_kinds,
    search_outcome,
)

FILE_KEYS = [kind.key for kind in active_file_kinds()]


def test_the_catalogue_is_large_and_unique() -> None:
    keys = FILE_KEYS + [k.key for k in FIELD_KINDS] + [k.key for k in SEARCH_KINDS]
    assert len(keys) == len(set(keys))
    assert len(FILE_KEYS) >= 40


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory, analyzer: Analyzer
          ) -> Iterator[tuple[AppContext, SuiteRun]]:
    """One data folder; every file kind attached to its own case and analysed."""
    root = tmp_path_factory.mktemp("bad-inputs")
    context = open_app(str(root / "data"))
    try:
        jobs = AnalysisJobs(context.database, context.files, analyzer)
        yield context, run_file_kinds(context, jobs, root / "work")
    finally:
        context.close()


def _kind(key: str) -> FileKind:
    return next(kind for kind in active_file_kinds() if kind.key == key)


@pytest.mark.parametrize("key", FILE_KEYS)
def test_file_kind_gives_a_clear_outcome(suite: tuple[AppContext, SuiteRun], key: str) -> None:
    _context, run = suite
    kind = _kind(key)
    outcome = run.files[key]
    assert outcome.status == kind.expect, outcome.message
    shown = kind.shown or kind.display_name or outcome.path.name
    if kind.expect == REFUSED:
        assert outcome.case_id is None
        # The refusal names the field and the file as the doctor chose it.
        assert outcome.message is not None and outcome.message.startswith("lab_files: ")
        assert shown in outcome.message
    if kind.says is not None:
        assert kind.says in (outcome.message or "")
    if outcome.message is not None:
        assert is_clear_message(outcome.message), outcome.message
        if outcome.stage == "analysis":
            assert (outcome.stored_name or "") in outcome.message
    if kind.stored_name is not None:
        assert outcome.stored_name == kind.stored_name
    if outcome.stored_name is not None:
        assert "/" not in outcome.stored_name and "\\" not in outcome.stored_name
        assert outcome.stored_name.isprintable()


def test_nothing_is_lost_and_every_job_finished(suite: tuple[AppContext, SuiteRun]) -> None:
    context, run = suite
    assert integrity_check(context.paths.database) == "ok"
    # The case analysed before all of this is as it was.
    sentinel = context.cases.get_case(run.sentinel_case)
    assert sentinel.status.value == "completed"
    assert len(context.results.results(run.sentinel_case).labs) == run.sentinel_lab_rows > 0
    for document in sentinel.documents:
        context.files.verify(document.sha256)
    accepted = [o for o in run.files.values() if o.status != REFUSED]
    refused = [o for o in run.files.values() if o.status == REFUSED]
    with context.database.read_session() as session:
        cases = session.execute(select(func.count()).select_from(Case)).scalar_one()
        assert cases == 1 + len(accepted) + len(run.control_cases)
        assert len(run.control_cases) == len(refused)
        statuses = set(session.execute(select(Job.status)).scalars())
        assert statuses == {JobStatus.DONE.value}
        # A refused file left no case and no blob; every stored blob is a document's.
        referenced = set(session.execute(select(Document.sha256)).scalars())
    stored = {path.name for path in context.paths.files.glob("??/*")}
    assert stored == referenced
    assert not list((context.paths.files / "incoming").glob("*"))


def test_the_app_still_works_afterwards(suite: tuple[AppContext, SuiteRun], analyzer: Analyzer,
                                        tmp_path: Path) -> None:
    context, _run = suite
    pdf = text_pdf(tmp_path / "after.pdf", [*LAB_LINES, f"Remarks: {MARKER_WORD}"])
    from medmitra_desktop.domain.enums import DocumentCategory
    from medmitra_desktop.domain.records import NewAttachment

    case = context.cases.create_case(
        user_id="dr-after", patient_name="After Everything", patient_age=33,
        patient_gender="female", lab_files=[NewAttachment(pdf, DocumentCategory.LAB)])
    jobs = AnalysisJobs(context.database, context.files, analyzer)
    outcome = jobs.run_next()
    assert outcome is not None and outcome.case_id == case.case_id
    assert outcome.case_status.value == "completed"
    assert context.results.results(case.case_id).labs


def test_analyze_json_reads_every_kind_in_one_run(suite: tuple[AppContext, SuiteRun]) -> None:
    """The same files given to `analyze --json` at once: one process, valid UTF-8 JSON,
    one document per file, each unreadable one failed with its reason."""
    _context, run = suite
    outcomes = list(run.files.values())
    result = subprocess.run(
        [sys.executable, "-m", "medmitra_desktop", "analyze", "--json",
         *[str(outcome.path) for outcome in outcomes]],
        capture_output=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")[-2000:]
    output = json.loads(result.stdout.decode("utf-8"))  # strict: must be valid UTF-8
    assert len(output["documents"]) == len(outcomes)
    for outcome, document in zip(outcomes, output["documents"], strict=True):
        expected = "failed" if outcome.status == REFUSED else outcome.status
        assert document["status"] == expected, (outcome.kind.key, document["error"])
        if document["error"] is not None:
            assert is_clear_message(document["error"]), document["error"]
            assert Path(document["file"]).name in document["error"]
    assert "Traceback" not in result.stderr.decode("utf-8", "replace")


# ---- patient fields ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", FIELD_KINDS, ids=lambda kind: kind.key)
def test_field_kind(service: CaseService, context: AppContext, kind: FieldKind) -> None:
    before = service.count_cases()
    try:
        record = service.create_case(user_id="dr-fields", patient_name=kind.name,
                                     patient_age=kind.age, patient_gender=kind.gender,
                                     case_summary=kind.summary)
    except ValidationError as error:
        assert kind.refused is not None, f"refused unexpectedly: {error}"
        fields = error.by_field()
        assert set(fields) == {kind.refused}
        assert kind.says is not None and kind.says in fields[kind.refused]
        assert is_clear_message(str(error))
        assert service.count_cases() == before
        return
    assert kind.refused is None, "accepted a value that must be refused"
    assert record.patient_name == kind.stored
    for words in kind.search_by:
        status, hits = search_outcome(service, SearchKind("by", "", words, True))
        assert (status, hits) == ("ok", 1), words
    assert integrity_check(context.paths.database) == "ok"


# ---- search ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def searchable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppContext]:
    root = tmp_path_factory.mktemp("search-kinds")
    context = open_app(str(root / "data"))
    for index in range(3):
        context.cases.create_case(user_id="dr-search", patient_name=f"Other Person {index}",
                                  patient_age=40, patient_gender="male",
                                  case_summary="cough and fever")
    context.cases.create_case(user_id="dr-search", patient_name="Marker Person",
                              patient_age=40, patient_gender="female",
                              case_summary=f"{MARKER_WORD} hemoglobin follow-up")
    trashed = context.cases.create_case(user_id="dr-search", patient_name="Trashed 100%_done",
                                        patient_age=40, patient_gender="female")
    context.cases.delete_case(trashed.case_id, user_id="dr-search")
    try:
        yield context
    finally:
        context.close()


@pytest.mark.parametrize("kind", SEARCH_KINDS, ids=lambda kind: kind.key)
def test_search_kind(searchable: AppContext, kind: SearchKind) -> None:
    from medmitra_desktop.domain.records import CaseQuery

    status, hits = search_outcome(searchable.cases, kind)
    assert status == "ok", hits  # typed text is never syntax: no error, whatever it is
    page = searchable.cases.list_cases(CaseQuery(search=kind.text, size=50))
    names = {item.patient_name for item in page.items}
    assert ("Marker Person" in names) is kind.finds_marker
    # In the trash (searched with LIKE) wildcards are plain characters too.
    trash = searchable.cases.list_cases(CaseQuery(search=kind.text, in_trash=True))
    assert trash.total <= 1
    # Whatever was typed, every case is still there and the database is sound.
    assert searchable.cases.count_cases() == 4
    assert integrity_check(searchable.paths.database) == "ok"
