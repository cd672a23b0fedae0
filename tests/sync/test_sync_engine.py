"""Sync against the reference MedMitra server over real HTTP on 127.0.0.1: round trips of
every operation, each injected fault, lost answers without duplicates, conflicts."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from medmitra_desktop.app import AppContext, open_app
from medmitra_desktop.config import prepare_data_dir
from medmitra_desktop.domain.enums import DocumentCategory, SyncState
from medmitra_desktop.domain.records import CaseQuery, NewAttachment
from medmitra_desktop.services.sync_engine import SyncEngine, merge
from medmitra_desktop.storage.orm import Insight, OutboxEntry
from tests.factories import LAB_LINES, make_case, png_image, text_pdf
from tests.sync.conftest import USER, EngineFactory
from tests.sync.reference_server import ReferenceServer


def two_files(tmp_path: Path) -> tuple[list[Path], list[Path]]:
    return ([text_pdf(tmp_path / "cbc.pdf", LAB_LINES)],
            [png_image(tmp_path / "chest.png", (60, 40))])


def new_case(context: AppContext, tmp_path: Path, **kwargs: object):
    lab, radiology = two_files(tmp_path)
    return make_case(context.cases, lab=lab, radiology=radiology, user_id=USER, **kwargs)


def outbox_count(context: AppContext) -> int:
    with context.database.read_session() as session:
        return session.execute(select(func.count()).select_from(OutboxEntry)).scalar_one()


def server_creates(server: ReferenceServer) -> int:
    return sum(1 for method, path in server.requests
               if (method, path) == ("POST", "/cases/create_case"))


# ---- push ---------------------------------------------------------------------------------


def test_a_new_case_goes_up_as_one_request_with_its_files(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    record = new_case(context, tmp_path, name="Ravi Kumar", age=61, gender="male",
                      notes="Chest pain")
    assert record.sync_state is SyncState.LOCAL

    report = engine.run_once()

    assert report.ok, report
    (remote,) = reference_server.cases(USER)
    assert (remote["patient_name"], remote["patient_age"], remote["patient_gender"],
            remote["case_summary"]) == ("Ravi Kumar", 61, "male", "Chest pain")
    assert server_creates(reference_server) == 1
    files = reference_server.files_of(remote["case_id"])
    assert sorted((f["file_name"], f["file_category"]) for f in files) == [
        ("cbc.pdf", "lab"), ("chest.png", "radiology")]
    assert reference_server.file_bytes(files[0]["file_id"]) in {
        (tmp_path / "cbc.pdf").read_bytes(), (tmp_path / "chest.png").read_bytes()}
    synced = context.cases.get_case(record.case_id)
    assert synced.sync_state is SyncState.SYNCED
    assert outbox_count(context) == 0


def test_update_attach_remove_reanalyse_and_delete_reach_the_server(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    record = new_case(context, tmp_path)
    engine.run_once()
    (remote,) = reference_server.cases(USER)

    context.cases.update_case(record.case_id, user_id=USER,
                              changes={"patient_age": 46, "case_summary": "Follow-up"})
    assert context.cases.get_case(record.case_id).sync_state is SyncState.PENDING
    extra = text_pdf(tmp_path / "lft.pdf", ["ALT 80 U/L 7-56"])
    context.cases.attach_documents(record.case_id, user_id=USER, attachments=[
        NewAttachment(extra, DocumentCategory.LAB)])
    chest = next(d for d in context.cases.get_case(record.case_id).documents
                 if d.file_name == "chest.png")
    context.cases.remove_document(record.case_id, chest.document_id, user_id=USER)
    context.cases.reanalyze(record.case_id, user_id=USER)
    assert engine.run_once().ok

    detail = reference_server.case_detail(remote["case_id"])
    assert (detail["case"]["patient_age"], detail["case"]["case_summary"]) == (46, "Follow-up")
    assert sorted(f["file_name"] for f in detail["files"]) == ["cbc.pdf", "lft.pdf"]
    assert ("POST", f"/cases/analyze/{remote['case_id']}") in reference_server.requests
    assert context.cases.get_case(record.case_id).sync_state is SyncState.SYNCED

    context.cases.delete_case(record.case_id, user_id=USER)
    assert engine.run_once().ok
    assert reference_server.cases(USER) == []
    # Restored from the trash: on the server again, as a new case with both files.
    context.cases.restore_case(record.case_id, user_id=USER)
    assert engine.run_once().ok
    (again,) = reference_server.cases(USER)
    assert again["case_id"] != remote["case_id"]
    assert len(reference_server.files_of(again["case_id"])) == 2


def test_a_case_deleted_before_it_was_sent_never_reaches_the_server(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    record = new_case(context, tmp_path)
    context.cases.delete_case(record.case_id, user_id=USER)
    assert outbox_count(context) == 0
    assert engine.run_once().ok
    assert reference_server.cases(USER) == []
    context.cases.purge_case(record.case_id, user_id=USER)
    assert engine.run_once().ok and reference_server.requests.count(
        ("POST", "/cases/create_case")) == 0


def test_a_purged_case_is_still_deleted_on_the_server(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    record = new_case(context, tmp_path)
    engine.run_once()
    context.cases.delete_case(record.case_id, user_id=USER)
    context.cases.purge_case(record.case_id, user_id=USER)
    assert engine.run_once().ok
    assert reference_server.cases(USER) == []
    assert outbox_count(context) == 0


# ---- pull ---------------------------------------------------------------------------------


def test_cases_from_another_workstation_arrive_with_files_and_server_insights(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    pdf = text_pdf(tmp_path / "remote.pdf", LAB_LINES).read_bytes()
    reference_server.processing_seconds = 0.3
    remote = reference_server.add_case(USER, "Meena Iyer", 52, "female", "Fatigue",
                                       files=[("remote.pdf", "lab", pdf, "application/pdf")])

    first = engine.run_once()
    assert first.pulled == 1 and first.processing == 1, first
    (item,) = list(context.cases.iter_all(CaseQuery()))
    local = context.cases.get_case(item.case_id)
    assert (local.patient_name, local.patient_age, local.sync_state) == (
        "Meena Iyer", 52, SyncState.SYNCED)
    (document,) = local.documents
    assert document.file_name == "remote.pdf"
    assert context.files.verify(document.sha256).read_bytes() == pdf
    assert outbox_count(context) == 0  # nothing to send back

    reference_server.set_status(remote["case_id"], "completed")
    second = engine.run_once()
    assert second.insights == 1 and second.processing == 0, second
    results = context.results.results(local.case_id)
    remote_insight = results.latest_insight("remote")
    assert remote_insight is not None
    assert remote_insight.payload["comprehensive_summary"] == \
        reference_server.case_detail(remote["case_id"])["ai_insights"]["comprehensive_summary"]
    # Pulling again stores nothing new and asks for no detail of a settled case.
    before = len(reference_server.requests)
    third = engine.run_once()
    assert third.insights == 0 and third.pulled == 0
    assert [r for r in reference_server.requests[before:] if r[1].startswith("/cases/cases/")] \
        == []


def test_remote_edits_apply_when_nothing_changed_here(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    record = new_case(context, tmp_path)
    engine.run_once()
    (remote,) = reference_server.cases(USER)
    reference_server.update_case(remote["case_id"], patient_age=47)
    report = engine.run_once()
    assert report.updated == 1 and report.conflicts == 0
    assert context.cases.get_case(record.case_id).patient_age == 47
    assert outbox_count(context) == 0


def test_hostile_server_file_names_cannot_leave_the_data_folder(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    pdf = text_pdf(tmp_path / "x.pdf", LAB_LINES).read_bytes()
    remote = reference_server.add_case(USER, "Amit Shah", 40, "male", files=[
        ("a.pdf", "lab", pdf, "application/pdf"), ("b.pdf", "lab", pdf, "application/pdf")])
    first, second = reference_server.files_of(remote["case_id"])
    reference_server.set_file_name(first["file_id"], "../../../../evil.pdf")
    reference_server.set_file_name(second["file_id"], "C:\\Windows\\System32\\evil2.pdf")
    outside = tmp_path.parent
    before = set(outside.rglob("evil*"))

    assert engine.run_once().pulled == 1
    (item,) = list(context.cases.iter_all(CaseQuery()))
    names = sorted(d.file_name for d in context.cases.get_case(item.case_id).documents)
    assert names == ["evil.pdf", "evil2.pdf"]
    assert set(outside.rglob("evil*")) == before
    assert not list(Path("/").glob("evil*"))


# ---- conflicts ----------------------------------------------------------------------------


def test_a_field_changed_on_both_sides_waits_for_the_doctor(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    record = new_case(context, tmp_path, name="Kiran Rao", age=30)
    engine.run_once()
    (remote,) = reference_server.cases(USER)
    reference_server.update_case(remote["case_id"], patient_name="Kiran R. Rao",
                                 case_summary="Seen at branch clinic")
    context.cases.update_case(record.case_id, user_id=USER,
                              changes={"patient_name": "Kiran Rao (Mrs)", "patient_age": 31})

    report = engine.run_once()

    assert report.conflicts == 1
    case = context.cases.get_case(record.case_id)
    assert case.sync_state is SyncState.CONFLICT
    assert case.sync_conflict == {"patient_name": {"local": "Kiran Rao (Mrs)",
                                                   "remote": "Kiran R. Rao"}}
    # Nothing overwritten: the server keeps its name; the local name stays; the server's
    # non-conflicting change arrived here.
    assert reference_server.case_detail(remote["case_id"])["case"]["patient_name"] == \
        "Kiran R. Rao"
    assert (case.patient_name, case.case_summary) == ("Kiran Rao (Mrs)",
                                                      "Seen at branch clinic")
    engine.run_once()
    assert context.cases.get_case(record.case_id).sync_state is SyncState.CONFLICT

    context.cases.resolve_conflict(record.case_id, user_id=USER,
                                   choices={"patient_name": "local"})
    assert engine.run_once().ok
    server_case = reference_server.case_detail(remote["case_id"])["case"]
    assert (server_case["patient_name"], server_case["patient_age"]) == ("Kiran Rao (Mrs)", 31)
    assert context.cases.get_case(record.case_id).sync_state is SyncState.SYNCED


def test_choosing_the_server_value_changes_only_this_computer(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    record = new_case(context, tmp_path, name="Sunil Das")
    engine.run_once()
    (remote,) = reference_server.cases(USER)
    reference_server.update_case(remote["case_id"], patient_name="Sunil K. Das")
    context.cases.update_case(record.case_id, user_id=USER, changes={"patient_name": "S. Das"})
    engine.run_once()
    context.cases.resolve_conflict(record.case_id, user_id=USER,
                                   choices={"patient_name": "remote"})
    assert context.cases.get_case(record.case_id).patient_name == "Sunil K. Das"
    before = len(reference_server.requests)
    assert engine.run_once().ok
    assert not [r for r in reference_server.requests[before:] if r[0] == "PUT"]
    assert context.cases.get_case(record.case_id).sync_state is SyncState.SYNCED


def test_merge_keeps_each_sides_own_changes() -> None:
    base = {"patient_name": "A", "patient_age": 1, "patient_gender": "male",
            "case_summary": ""}
    local = {**base, "patient_name": "B"}
    remote = {**base, "patient_age": 2}
    assert merge(base, local, remote) == ({"patient_age": 2}, {"patient_name": "B"}, {})
    same = {**base, "patient_name": "B"}
    assert merge(base, local, same) == ({}, {}, {})


# ---- faults -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["timeout_after", "drop_after"])
def test_a_lost_create_answer_never_makes_a_second_server_case(
        kind: str, context: AppContext, make_engine: EngineFactory,
        reference_server: ReferenceServer, tmp_path: Path) -> None:
    engine = make_engine(context, read_timeout=0.5)
    record = new_case(context, tmp_path)
    reference_server.faults.add("POST", "/cases/create_case", kind, seconds=1.5)

    lost = engine.run_once()
    assert lost.offline or lost.problems, lost
    assert len(reference_server.cases(USER)) == 1  # the server did create it
    assert context.cases.get_case(record.case_id).sync_state is SyncState.PENDING

    assert engine.run_once().ok
    assert len(reference_server.cases(USER)) == 1
    assert server_creates(reference_server) == 1
    case = context.cases.get_case(record.case_id)
    assert case.sync_state is SyncState.SYNCED
    # The files were linked, not sent again.
    uploads = [r for r in reference_server.requests if r == ("POST", "/cases/upload")]
    assert uploads == []


def test_a_restart_after_a_lost_answer_still_makes_no_duplicate(
        data_dir: Path, make_engine: EngineFactory, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    first = open_app(str(data_dir))
    try:
        record = new_case(first, tmp_path)
        reference_server.faults.add("POST", "/cases/create_case", "drop_after")
        make_engine(first).run_once()
    finally:
        first.close()
    second = open_app(str(data_dir))  # a new process: only the database remembers
    try:
        assert make_engine(second).run_once().ok
        assert len(reference_server.cases(USER)) == 1
        assert second.cases.get_case(record.case_id).sync_state is SyncState.SYNCED
    finally:
        second.close()


def test_an_upload_dropped_mid_way_is_sent_again_once(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    record = new_case(context, tmp_path)
    engine.run_once()
    extra = text_pdf(tmp_path / "lft.pdf", ["ALT 80 U/L 7-56"])
    context.cases.attach_documents(record.case_id, user_id=USER,
                                   attachments=[NewAttachment(extra, DocumentCategory.LAB)])
    reference_server.faults.add("POST", "/cases/upload", "drop_before")
    engine.run_once()
    assert engine.run_once().ok
    (remote,) = reference_server.cases(USER)
    names = sorted(f["file_name"] for f in reference_server.files_of(remote["case_id"]))
    assert names == ["cbc.pdf", "chest.png", "lft.pdf"]


@pytest.mark.parametrize("kind", ["500", "503", "malformed_json", "wrong_content_type"])
def test_server_trouble_keeps_the_change_and_retries_later(
        kind: str, context: AppContext, engine: SyncEngine,
        reference_server: ReferenceServer, tmp_path: Path) -> None:
    record = new_case(context, tmp_path)
    reference_server.faults.add("POST", "/cases/create_case", kind)
    troubled = engine.run_once()
    assert not troubled.ok
    case = context.cases.get_case(record.case_id)
    assert case.sync_state is SyncState.PENDING
    assert case.sync_error and "server" in case.sync_error.lower()
    assert engine.run_once().ok
    assert len(reference_server.cases(USER)) == 1
    assert context.cases.get_case(record.case_id).sync_state is SyncState.SYNCED


def test_a_malformed_case_list_is_reported_not_crashed_on(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer) -> None:
    reference_server.faults.add("GET", "/cases/all_cases", "malformed_json")
    report = engine.run_once()
    assert report.problems and "JSON" in report.problems[0]
    assert engine.run_once().ok


def test_a_slow_server_is_waited_for(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    new_case(context, tmp_path)
    reference_server.faults.add("POST", "/cases/create_case", "slow", seconds=0.5)
    assert engine.run_once().ok
    assert len(reference_server.cases(USER)) == 1


def test_a_refused_sign_in_stops_the_round_and_says_so(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    record = new_case(context, tmp_path)
    reference_server.faults.add("POST", "/cases/create_case", "401")
    report = engine.run_once()
    assert report.sign_in and "Sign in again" in report.sign_in
    assert reference_server.cases(USER) == []
    assert context.cases.get_case(record.case_id).sync_state is SyncState.PENDING


def test_a_refused_change_marks_the_case_with_the_servers_words(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    record = new_case(context, tmp_path)
    engine.run_once()
    (remote,) = reference_server.cases(USER)
    reference_server.delete_case(remote["case_id"])
    context.cases.update_case(record.case_id, user_id=USER, changes={"patient_age": 50})
    engine.run_once()
    case = context.cases.get_case(record.case_id)
    assert case.sync_state is SyncState.ERROR
    assert "deleted on the MedMitra server" in (case.sync_error or "")
    assert case.patient_age == 50  # the local change is kept


def test_offline_is_quiet_fast_and_loses_nothing(
        context: AppContext, make_engine: EngineFactory, tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = make_engine(context, base_url=f"http://127.0.0.1:{port}")
    record = new_case(context, tmp_path)
    report = engine.run_once()
    assert report.offline and "will be sent later" in report.offline
    assert report.problems == []
    assert outbox_count(context) == 1
    assert context.cases.get_case(record.case_id).sync_state is SyncState.PENDING


def test_remote_insights_are_kept_beside_local_ones(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    record = new_case(context, tmp_path)
    engine.run_once()
    (remote,) = reference_server.cases(USER)
    reference_server.set_status(remote["case_id"], "completed")
    engine.run_once()
    with context.database.read_session() as session:
        sources = sorted(session.execute(select(Insight.source)).scalars())
    assert sources == ["remote"]
    assert context.cases.get_case(record.case_id).sync_state is SyncState.SYNCED


def test_a_create_the_server_keeps_failing_does_not_stop_other_cases_arriving(
        context: AppContext, engine: SyncEngine, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    stuck = new_case(context, tmp_path, name="Stuck Case")
    reference_server.faults.add("POST", "/cases/create_case", "500", times=5)
    engine.run_once()  # sent, answered 500: the answer may have been lost
    reference_server.add_case(USER, "From Branch Clinic", 44, "male")
    report = engine.run_once()
    assert report.pulled == 1
    names = sorted(item.patient_name for item in context.cases.iter_all(CaseQuery()))
    assert names == ["From Branch Clinic", "Stuck Case"]
    assert context.cases.get_case(stuck.case_id).sync_state is SyncState.PENDING


def test_an_encrypted_data_folder_syncs_the_files_as_attached(
        data_dir: Path, make_engine: EngineFactory, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    from medmitra_desktop.storage import encryption
    from medmitra_desktop.storage.data_key import DataKeyStore

    encryption.begin(prepare_data_dir(data_dir).data_dir, DataKeyStore())
    context = open_app(str(data_dir))
    try:
        pdf = text_pdf(tmp_path / "cbc.pdf", LAB_LINES)
        make_case(context.cases, lab=[pdf])
        engine = make_engine(context)
        assert engine.run_once().pushed == 1
        (remote,) = reference_server.cases(USER)
        later = text_pdf(tmp_path / "later.pdf", ["Glucose 160 mg/dL 70-99"])
        (item,) = list(context.cases.iter_all(CaseQuery()))
        context.cases.attach_documents(item.case_id, user_id="dr-test", attachments=[
            NewAttachment(later, DocumentCategory.LAB)])
        engine.run_once()
        sent = {f["file_name"]: reference_server.file_bytes(f["file_id"])
                for f in reference_server.files_of(remote["case_id"])}
        assert sent == {"cbc.pdf": pdf.read_bytes(), "later.pdf": later.read_bytes()}
        assert not (context.paths.files / "open").exists() or not any(
            (context.paths.files / "open").iterdir())  # no decrypted copy left behind
    finally:
        context.close()
