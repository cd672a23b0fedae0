from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pypdf import PdfWriter
from sqlalchemy import func, select

from medmitra_desktop.analysis.extract import CancelToken
from medmitra_desktop.app import AppContext, open_app
from medmitra_desktop.domain.enums import CaseStatus, DocumentStatus, JobStatus
from medmitra_desktop.domain.records import CaseQuery
from medmitra_desktop.services.analysis_jobs import MAX_ATTEMPTS, AnalysisJobs, JobProgress
from medmitra_desktop.services.cases import CaseService
from medmitra_desktop.storage.orm import DocumentPage, Job, LabResult
from tests.factories import LAB_LINES, make_case, scanned_png, text_pdf


def count(context: AppContext, table: type) -> int:
    with context.database.read_session() as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def job_rows(context: AppContext) -> list[Job]:
    with context.database.read_session() as session:
        return list(session.execute(select(Job).order_by(Job.id)).scalars())


def test_text_pdf_and_scan_are_read_and_stored(context: AppContext, service: CaseService,
                                                jobs: AnalysisJobs, tmp_path: Path) -> None:
    pdf = text_pdf(tmp_path / "cbc.pdf", LAB_LINES)
    scan = scanned_png(tmp_path / "photo.png", ["LIPID PROFILE", "Cholesterol 262 mg/dL"])
    case = make_case(service, lab=[pdf, scan], notes="Tired for a month")
    seen: list[JobProgress] = []

    outcome = jobs.run_next(progress=seen.append)

    assert outcome is not None and outcome.status is JobStatus.DONE
    assert outcome.case_status is CaseStatus.COMPLETED
    assert seen and seen[-1].fraction == pytest.approx(1.0)
    stored = service.get_case(case.case_id)
    assert stored.status is CaseStatus.COMPLETED
    assert [(d.status, d.text_source, d.pages) for d in stored.documents] == [
        (DocumentStatus.OK, "text", 1), (DocumentStatus.OK, "ocr", 1)]
    assert count(context, DocumentPage) == 2
    assert count(context, LabResult) >= 4
    # Document text is searchable once analysed.
    assert service.list_cases(CaseQuery(search="cholesterol")).total == 1
    assert jobs.run_next() is None


def test_rerun_replaces_results_without_duplicates(context: AppContext, service: CaseService,
                                                   jobs: AnalysisJobs, tmp_path: Path) -> None:
    case = make_case(service, lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    jobs.run_next()
    first = (count(context, LabResult), count(context, DocumentPage))
    service.reanalyze(case.case_id, user_id="dr")
    jobs.run_next()
    assert (count(context, LabResult), count(context, DocumentPage)) == first


def test_a_bad_document_fails_alone(service: CaseService, jobs: AnalysisJobs,
                                    tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n" + os.urandom(2000))
    good = text_pdf(tmp_path / "good.pdf", LAB_LINES)
    case = make_case(service, lab=[broken, good])
    jobs.run_next()
    stored = service.get_case(case.case_id)
    assert stored.status is CaseStatus.COMPLETED
    assert stored.documents[0].status is DocumentStatus.FAILED
    assert "broken.pdf" in (stored.documents[0].error or "")
    assert stored.documents[1].status is DocumentStatus.OK


def test_case_fails_when_no_document_can_be_read(service: CaseService, jobs: AnalysisJobs,
                                                 tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 300)
    case = make_case(service, lab=[broken])
    outcome = jobs.run_next()
    assert outcome is not None and outcome.case_status is CaseStatus.FAILED
    assert service.get_case(case.case_id).status is CaseStatus.FAILED


def test_protected_pdf_waits_for_its_password(service: CaseService, jobs: AnalysisJobs,
                                              tmp_path: Path) -> None:
    plain = text_pdf(tmp_path / "plain.pdf", LAB_LINES)
    writer = PdfWriter(clone_from=plain)
    writer.encrypt(user_password="clinic42", owner_password="owner", algorithm="AES-128")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as handle:
        writer.write(handle)
    case = make_case(service, lab=[locked])
    jobs.run_next()
    document = service.get_case(case.case_id).documents[0]
    assert document.status is DocumentStatus.NEEDS_PASSWORD
    assert "password" in (document.error or "")

    jobs.provide_password(document.document_id, "clinic42")
    service.reanalyze(case.case_id, user_id="dr")
    jobs.run_next()
    assert service.get_case(case.case_id).documents[0].status is DocumentStatus.OK


def test_a_changed_stored_file_is_reported(context: AppContext, service: CaseService,
                                           jobs: AnalysisJobs, tmp_path: Path) -> None:
    case = make_case(service, lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    context.files.path_for(case.documents[0].sha256).write_bytes(b"%PDF-1.4 tampered")
    jobs.run_next()
    document = service.get_case(case.case_id).documents[0]
    assert document.status is DocumentStatus.FAILED
    assert "changed or damaged" in (document.error or "")


def test_cancel_ends_the_job_with_a_message(service: CaseService, jobs: AnalysisJobs,
                                            tmp_path: Path) -> None:
    case = make_case(service, lab=[scanned_png(tmp_path / "a.png", LAB_LINES)])
    token = CancelToken()
    token.cancel()
    outcome = jobs.run_next(cancel=token)
    assert outcome is not None and outcome.status is JobStatus.CANCELLED
    stored = service.get_case(case.case_id)
    assert stored.status is CaseStatus.FAILED
    assert "cancelled" in (stored.documents[0].error or "")
    assert "cancelled" in (stored.last_error or "")
    service.reanalyze(case.case_id, user_id="dr")  # and it can be retried
    assert jobs.run_next().status is JobStatus.DONE  # type: ignore[union-attr]


def test_job_of_a_trashed_case_is_skipped(context: AppContext, service: CaseService,
                                          jobs: AnalysisJobs, tmp_path: Path) -> None:
    case = make_case(service, lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    service.delete_case(case.case_id, user_id="dr")
    assert jobs.run_next() is None
    assert [job.status for job in job_rows(context)] == ["cancelled"]


def test_repeatedly_interrupted_job_stops_with_a_reason(context: AppContext,
                                                        service: CaseService,
                                                        jobs: AnalysisJobs,
                                                        tmp_path: Path) -> None:
    case = make_case(service, lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES)])
    with context.database.session() as session:
        job = session.execute(select(Job)).scalar_one()
        job.status, job.attempts = "running", MAX_ATTEMPTS
    assert jobs.recover_interrupted() == 1
    assert jobs.run_next() is None
    stored = service.get_case(case.case_id)
    assert stored.status is CaseStatus.FAILED
    assert "interrupted 3 times" in (stored.last_error or "")


KILLABLE_RUNNER = textwrap.dedent("""
    import sys, threading, time
    from medmitra_desktop.app import build_analyzer, open_app
    from medmitra_desktop.services.analysis_jobs import AnalysisJobs

    context = open_app(sys.argv[1])
    jobs = AnalysisJobs(context.database, context.files, build_analyzer())
    first = threading.Lock()

    def stall(progress):
        # Documents report from several threads: announce once, then hang every one.
        if first.acquire(blocking=False):
            print("running", flush=True)
        time.sleep(120)  # killed here, in the middle of the job

    jobs.run_next(progress=stall)
""")


def test_job_killed_mid_run_resumes_without_duplicates(data_dir: Path, tmp_path: Path) -> None:
    context = open_app(str(data_dir))
    case = make_case(context.cases, lab=[text_pdf(tmp_path / "cbc.pdf", LAB_LINES),
                                         scanned_png(tmp_path / "scan.png", LAB_LINES)])
    context.close()

    runner = subprocess.Popen([sys.executable, "-c", KILLABLE_RUNNER, str(data_dir)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert runner.stdout is not None and runner.stdout.readline().strip() == "running"
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        if runner.stdout is not None:
            runner.stdout.close()

    context = open_app(str(data_dir))  # the lock was released by the kernel
    try:
        assert [job.status for job in job_rows(context)] == ["running"]
        from medmitra_desktop.app import build_analyzer

        jobs = AnalysisJobs(context.database, context.files, build_analyzer())
        assert jobs.recover_interrupted() == 1
        assert jobs.run_next().status is JobStatus.DONE  # type: ignore[union-attr]
        assert [(job.status, job.attempts) for job in job_rows(context)] == [("done", 2)]
        rows_after_resume = count(context, LabResult)
        pages_after_resume = count(context, DocumentPage)
        assert pages_after_resume == 2
        context.cases.reanalyze(case.case_id, user_id="dr")
        jobs.run_next()
        assert count(context, LabResult) == rows_after_resume > 0
        assert count(context, DocumentPage) == pages_after_resume
    finally:
        context.close()
