"""Sync in batches: new cases go up many per transaction and pulled cases come down many
per transaction, fetched ahead on a thread of their own. A fault in the middle of a batch
must cost nothing: no duplicate on either side, nothing lost, no stray temporary file."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import select

from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.enums import DocumentCategory, SyncState
from medmitra_desktop.domain.records import CaseQuery, NewAttachment
from medmitra_desktop.services.sync_engine import SyncEngine
from medmitra_desktop.storage.orm import Case, OutboxEntry
from tests.factories import LAB_LINES, text_pdf
from tests.sync.conftest import USER
from tests.sync.reference_server import ReferenceServer
from tests.sync.test_sync_engine import new_case, server_creates

CREATE = "/cases/create_case"
DETAIL = "/cases/cases/"


def sent_marks(context: AppContext) -> dict[str, bool]:
    """Patient name -> whether its create row is marked sent, for cases still waiting."""
    with context.database.read_session() as session:
        rows = session.execute(select(Case.patient_name, OutboxEntry.sent_at)
                               .join(OutboxEntry, OutboxEntry.case_id == Case.id))
        return {name: sent is not None for name, sent in rows}


def local_names(context: AppContext) -> list[str]:
    return sorted(item.patient_name for item in context.cases.iter_all(CaseQuery()))


def test_a_connection_lost_in_the_middle_of_a_batch_of_creates_loses_and_doubles_nothing(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    records = [new_case(context, tmp_path, name=f"Patient {n}") for n in range(1, 6)]
    reference_server.faults.add("POST", CREATE, "slow", times=2, seconds=0)
    reference_server.faults.add("POST", CREATE, "drop_after")  # the third: done, answer lost

    lost = engine.run_once()
    assert lost.offline, lost
    assert lost.pushed == 2
    assert len(reference_server.cases(USER)) == 3
    states = [context.cases.get_case(r.case_id).sync_state for r in records]
    assert states == [SyncState.SYNCED] * 2 + [SyncState.PENDING] * 3
    # Only the create that may have arrived is marked; the two never sent are not, so
    # the next round sends them without looking for them on the server first.
    assert sent_marks(context) == {"Patient 3": True, "Patient 4": False, "Patient 5": False}

    assert engine.run_once().ok
    assert sorted(c["patient_name"] for c in reference_server.cases(USER)) == \
        [f"Patient {n}" for n in range(1, 6)]
    assert server_creates(reference_server) == 5  # the third was found, not sent again
    assert all(context.cases.get_case(r.case_id).sync_state is SyncState.SYNCED
               for r in records)
    assert sent_marks(context) == {}


def test_a_create_the_server_fails_does_not_hold_back_the_rest_of_its_batch(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    records = [new_case(context, tmp_path, name=f"Patient {n}") for n in range(1, 5)]
    reference_server.faults.add("POST", CREATE, "slow", seconds=0)
    # The second: a POST that may have been carried out is not repeated in the round.
    reference_server.faults.add("POST", CREATE, "500")

    report = engine.run_once()
    assert len(report.problems) == 1 and "HTTP 500" in report.problems[0], report
    states = [context.cases.get_case(r.case_id).sync_state for r in records]
    assert states.count(SyncState.SYNCED) == 3
    failed = context.cases.get_case(records[1].case_id)
    assert failed.sync_state is SyncState.PENDING and "HTTP 500" in (failed.sync_error or "")

    assert engine.run_once().ok
    assert len(reference_server.cases(USER)) == 4
    assert all(context.cases.get_case(r.case_id).sync_state is SyncState.SYNCED
               for r in records)


def test_files_added_while_a_batch_was_out_are_sent_after_it(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    record = new_case(context, tmp_path, name="Late File")
    extra = text_pdf(tmp_path / "lft.pdf", ["ALT 80 U/L 7-56"])
    # The server answers the create slowly; the doctor attaches a file meanwhile.
    reference_server.faults.add("POST", CREATE, "slow", seconds=0.5)

    attach = threading.Timer(0.2, lambda: context.cases.attach_documents(
        record.case_id, user_id=USER, attachments=[NewAttachment(extra, DocumentCategory.LAB)]))
    attach.start()
    engine.run_once()
    attach.join()
    engine.run_once()
    (remote,) = reference_server.cases(USER)
    names = sorted(f["file_name"] for f in reference_server.files_of(remote["case_id"]))
    assert names == ["cbc.pdf", "chest.png", "lft.pdf"]
    assert context.cases.get_case(record.case_id).sync_state is SyncState.SYNCED


def test_many_cases_from_other_workstations_arrive_in_one_round(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    pdf = text_pdf(tmp_path / "remote.pdf", LAB_LINES).read_bytes()
    for n in range(40):
        reference_server.add_case(USER, f"Remote {n:02}", 30 + n, "female", "Review",
                                  files=[("remote.pdf", "lab", pdf, "application/pdf")]
                                  if n % 4 == 0 else ())
    report = engine.run_once()
    assert report.pulled == 40 and report.ok, report
    assert local_names(context) == [f"Remote {n:02}" for n in range(40)]
    with_files = [context.cases.get_case(item.case_id) for item in
                  context.cases.iter_all(CaseQuery()) if item.patient_name.endswith("0")]
    assert any(case.documents for case in with_files)
    assert list((context.files.root / "incoming").glob("*")) == []
    assert engine.run_once().pulled == 0


def test_a_case_the_local_rules_refuse_does_not_stop_the_others(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer) -> None:
    for n in range(5):
        reference_server.add_case(USER, f"Remote {n}", 40, "male")
    reference_server.add_case(USER, "Bad\x07Name", 40, "male")  # a control character
    report = engine.run_once()
    assert report.pulled == 5, report
    assert len(report.problems) == 1 and "patient_name" in report.problems[0]
    assert local_names(context) == [f"Remote {n}" for n in range(5)]
    again = engine.run_once()
    assert again.pulled == 0 and len(again.problems) == 1
    assert len(local_names(context)) == 5


def test_a_pull_cut_off_half_way_keeps_what_arrived_and_finishes_later(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer) -> None:
    for n in range(12):
        reference_server.add_case(USER, f"Remote {n:02}", 40, "male")
    reference_server.faults.add("GET", DETAIL, "slow", times=7, seconds=0)
    reference_server.faults.add("GET", DETAIL, "drop_before", times=2)  # retried once

    cut = engine.run_once()
    assert cut.offline and cut.pulled == 7, cut
    assert local_names(context) == [f"Remote {n:02}" for n in range(7)]

    rest = engine.run_once()
    assert rest.ok and rest.pulled == 5, rest
    assert local_names(context) == [f"Remote {n:02}" for n in range(12)]


def test_stopping_in_the_middle_of_a_pull_leaves_no_temporary_files(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    pdf = text_pdf(tmp_path / "remote.pdf", LAB_LINES).read_bytes()
    for n in range(6):
        reference_server.add_case(USER, f"Remote {n}", 40, "male",
                                  files=[("remote.pdf", "lab", pdf, "application/pdf")])
    asked = []

    def stop_after_the_first_look() -> bool:
        asked.append(True)
        return len(asked) > 7  # the round's checks before the import, then one batch

    engine.run_once(should_stop=stop_after_the_first_look)
    assert list((context.files.root / "incoming").glob("*")) == []
    engine.run_once()
    assert len(local_names(context)) == 6
    assert list((context.files.root / "incoming").glob("*")) == []
