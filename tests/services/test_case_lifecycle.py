from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.enums import CaseStatus, DocumentCategory, DocumentStatus, Gender
from medmitra_desktop.domain.errors import ConflictError, NotFoundError, ValidationError
from medmitra_desktop.domain.records import CaseQuery, NewAttachment
from medmitra_desktop.services import audit
from medmitra_desktop.services.cases import CaseService
from medmitra_desktop.storage.orm import AuditEntry, Job
from tests.factories import make_case, png_image, text_file, text_pdf


def jobs_of(context: AppContext) -> list[Job]:
    with context.database.read_session() as session:
        return list(session.execute(select(Job)).scalars())


def test_create_with_files_stores_documents_job_and_audit(
        context: AppContext, service: CaseService, tmp_path: Path) -> None:
    pdf = text_pdf(tmp_path / "cbc.pdf", ["Hemoglobin 10.2 g/dL"])
    scan = png_image(tmp_path / "xray report.jpg")  # the extension lies
    case = make_case(service, lab=[pdf], radiology=[scan], notes="Cough for 2 weeks")

    assert case.status is CaseStatus.PROCESSING
    assert case.patient_gender is Gender.FEMALE
    assert [(d.category, d.file_name, d.mime_type, d.status) for d in case.documents] == [
        (DocumentCategory.LAB, "cbc.pdf", "application/pdf", DocumentStatus.QUEUED),
        (DocumentCategory.RADIOLOGY, "xray report.jpg", "image/png", DocumentStatus.QUEUED),
    ]
    for document in case.documents:
        assert context.files.verify(document.sha256).stat().st_size == document.size_bytes
    assert [(job.kind, job.status) for job in jobs_of(context)] == [("analyze", "queued")]
    events = service.history(case.case_id)
    assert [(e.action, e.user_id) for e in events] == [("create", "dr-test")]


def test_case_without_anything_to_analyse_is_completed(context: AppContext,
                                                       service: CaseService) -> None:
    case = make_case(service)
    assert case.status is CaseStatus.COMPLETED
    assert jobs_of(context) == []


def test_notes_alone_are_analysed(context: AppContext, service: CaseService) -> None:
    case = make_case(service, notes="On metformin 500 mg twice daily")
    assert case.status is CaseStatus.PROCESSING
    assert len(jobs_of(context)) == 1


def test_one_error_names_every_bad_field_and_file(service: CaseService, tmp_path: Path) -> None:
    word = tmp_path / "report.docx"
    word.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(ValidationError) as caught:
        service.create_case(
            user_id="", patient_name="", patient_age="sixty", patient_gender="f",
            lab_files=[NewAttachment(word, DocumentCategory.LAB)],
            radiology_files=[NewAttachment(empty, DocumentCategory.RADIOLOGY)],
        )
    fields = caught.value.by_field()
    assert set(fields) == {"user_id", "patient_name", "patient_age", "patient_gender",
                           "lab_files", "radiology_files"}
    assert "male, female, other" in fields["patient_gender"]
    assert "report.docx" in fields["lab_files"] and "empty.pdf" in fields["radiology_files"]
    assert service.count_cases() == 0


def test_same_file_in_two_cases_is_stored_once(context: AppContext, service: CaseService,
                                               tmp_path: Path) -> None:
    report = text_file(tmp_path / "lipids.txt", "Cholesterol 240 mg/dL\n")
    first = make_case(service, lab=[report])
    second = make_case(service, name="Other Person", lab=[report])
    assert first.documents[0].sha256 == second.documents[0].sha256
    blobs = [p for p in context.paths.files.rglob("*") if p.is_file()]
    assert len(blobs) == 1


def test_update_versions_and_audits_field_names_only(service: CaseService) -> None:
    case = make_case(service, name="Meera Iyer", notes="first visit")
    updated = service.update_case(case.case_id, user_id="dr-2",
                                  changes={"patient_age": "46", "case_summary": "second visit"})
    assert (updated.patient_age, updated.case_summary, updated.version) == (46, "second visit", 2)
    assert updated.updated_at > case.updated_at
    unchanged = service.update_case(case.case_id, user_id="dr-2", changes={"patient_age": 46})
    assert unchanged.version == 2
    events = service.history(case.case_id)
    assert [e.action for e in events] == ["create", "update"]
    assert events[1].detail == "fields=case_summary,patient_age"
    for event in events:
        assert "Meera" not in event.detail and "visit" not in event.detail


def test_update_rejects_stale_versions_and_bad_values(service: CaseService) -> None:
    case = make_case(service)
    service.update_case(case.case_id, user_id="dr", changes={"patient_age": 50})
    with pytest.raises(ConflictError):
        service.update_case(case.case_id, user_id="dr", changes={"patient_age": 51},
                            expected_version=case.version)
    with pytest.raises(ValidationError) as caught:
        service.update_case(case.case_id, user_id="dr",
                            changes={"patient_gender": "x", "status": "done", "uid": "1"})
    assert set(caught.value.by_field()) == {"patient_gender", "status", "uid"}
    assert service.update_case(case.case_id, user_id="dr",
                               changes={"status": "failed"}).status is CaseStatus.FAILED


def test_attach_remove_and_reanalyse(context: AppContext, service: CaseService,
                                     tmp_path: Path) -> None:
    case = make_case(service)
    attached = service.attach_documents(
        case.case_id, user_id="dr",
        attachments=[NewAttachment(text_file(tmp_path / "lft.txt"), DocumentCategory.LAB)])
    assert attached.status is CaseStatus.PROCESSING and len(attached.documents) == 1
    sha = attached.documents[0].sha256
    removed = service.remove_document(case.case_id, attached.documents[0].document_id,
                                      user_id="dr")
    assert removed.documents == ()
    assert not context.files.exists(sha)  # no other document used those bytes
    again = service.reanalyze(case.case_id, user_id="dr")
    assert again.status is CaseStatus.PROCESSING
    assert len([j for j in jobs_of(context) if j.status == "queued"]) == 1  # not duplicated
    assert [e.action for e in service.history(case.case_id)] == [
        "create", "attach", "remove_document", "reanalyze"]
    with pytest.raises(NotFoundError):
        service.remove_document(case.case_id, "no-such-document", user_id="dr")


def test_trash_restore_and_purge(context: AppContext, service: CaseService,
                                 tmp_path: Path) -> None:
    shared = text_file(tmp_path / "shared.txt", "TSH 6.1\n")
    keep = make_case(service, name="Keeps File", lab=[shared])
    gone = make_case(service, name="Goes Away", lab=[shared, text_file(tmp_path / "own.txt",
                                                                       "Ferritin 8\n")])
    service.delete_case(gone.case_id, user_id="dr")
    assert [c.case_id for c in service.list_cases(CaseQuery()).items] == [keep.case_id]
    assert [c.case_id for c in service.list_cases(CaseQuery(in_trash=True)).items] == [
        gone.case_id]
    with pytest.raises(NotFoundError):
        service.get_case(gone.case_id)
    service.restore_case(gone.case_id, user_id="dr")
    assert service.count_cases() == 2

    with pytest.raises(ValidationError, match="trash first"):
        service.purge_case(gone.case_id, user_id="dr")
    service.delete_case(gone.case_id, user_id="dr")
    service.purge_case(gone.case_id, user_id="dr")
    with pytest.raises(NotFoundError):
        service.get_case(gone.case_id, include_deleted=True)
    own_sha = gone.documents[1].sha256
    assert not context.files.exists(own_sha)
    assert context.files.exists(keep.documents[0].sha256)  # still used by the other case
    assert service.list_cases(CaseQuery(search="Goes")).total == 0
    assert [e.action for e in service.history(gone.case_id)] == [
        "create", "delete", "restore", "delete", "purge"]


def test_viewing_is_audited_and_the_chain_verifies(context: AppContext,
                                                   service: CaseService) -> None:
    case = make_case(service, name="Chain Check")
    service.get_case(case.case_id, user_id="dr-viewer")
    service.get_case(case.case_id)  # internal reads are not views
    assert [e.action for e in service.history(case.case_id)] == ["create", "view"]
    with context.database.read_session() as session:
        assert audit.verify_chain(session) == []
    with context.database.session() as session:
        row = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().first()
        assert row is not None
        row.user_id = "someone-else"
    with context.database.read_session() as session:
        assert audit.verify_chain(session) == [1]


def test_missing_case_is_named(service: CaseService) -> None:
    with pytest.raises(NotFoundError, match="No case with id nope"):
        service.get_case("nope")
    with pytest.raises(NotFoundError):
        service.update_case("nope", user_id="dr", changes={"patient_age": 3})
