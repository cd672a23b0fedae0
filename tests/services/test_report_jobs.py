"""Report jobs: created, polled, run to success or failure or cancellation, audited.

The renderer here is a stand-in that writes a small file and reports pages, so the job's
life is tested without Qt; the real PDF is tested in tests/qt/test_report_pdf.py and
through the CLI in tests/cli/test_export_cli.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from medmitra_desktop.app import AppContext, open_app
from medmitra_desktop.domain.enums import ReportStatus
from medmitra_desktop.domain.errors import NotFoundError, ValidationError
from medmitra_desktop.services.case_document import DRAFT_MARK, CaseReport
from medmitra_desktop.services.report_jobs import ReportJobView
from tests.factories import make_case

Step = Callable[[float, str], None]


class FakeRenderer:
    """Writes the report's HTML to the target, a page at a time, and remembers what the
    job looked like (polled through the service) while it ran."""

    def __init__(self, context: AppContext, pages: int = 3,
                 during: Callable[[int], None] | None = None) -> None:
        self.context = context
        self.pages = pages
        self.during = during
        self.polled: list[ReportJobView] = []
        self.reports: list[CaseReport] = []
        self.job_id = ""

    def __call__(self, report: CaseReport, target: Path, step: Step) -> int:
        self.reports.append(report)
        for page in range(self.pages):
            step(page / self.pages, f"Page {page + 1} of {self.pages}")
            self.polled.append(self.context.reports.get(self.job_id))
            if self.during is not None:
                self.during(page)
        target.write_text(report.html, encoding="utf-8")
        return self.pages


def exports(context: AppContext, case_id: str) -> list[tuple[str, str, str]]:
    return [(e.action, e.user_id, e.detail) for e in context.cases.history(case_id)
            if e.action == "export"]


def test_a_job_is_queued_polled_and_succeeds(context: AppContext, tmp_path: Path) -> None:
    case = make_case(context.cases, name="Asha Verma")
    target = tmp_path / "asha.pdf"
    job = context.reports.create(case.case_id, user_id="dr-pdf", output_path=target)
    assert job.status is ReportStatus.QUEUED and job.progress == 0 and not job.finished
    assert context.reports.get(job.job_id) == job
    assert not target.exists() and exports(context, case.case_id) == []

    renderer = FakeRenderer(context)
    renderer.job_id = job.job_id
    heard: list[tuple[float, str]] = []
    done = context.reports.run(job.job_id, renderer,
                               progress=lambda f, m: heard.append((f, m)))

    assert done.status is ReportStatus.SUCCEEDED and done.finished
    assert (done.pages, done.progress, done.error) == (3, 1.0, None)
    assert done.output_path == target and target.read_text().startswith("<!DOCTYPE html>")
    assert done.started_at is not None and done.finished_at is not None
    # While it ran, a poll saw it running, with the page it was on.
    assert [p.status for p in renderer.polled] == [ReportStatus.RUNNING] * 3
    assert renderer.polled[1].message == "Page 2 of 3"
    assert 0 < renderer.polled[0].progress < renderer.polled[2].progress < 1
    assert heard[0] == (0.0, "Collecting the case")
    assert [f for f, _ in heard] == sorted(f for f, _ in heard)
    assert renderer.reports[0].sign_line == DRAFT_MARK and not renderer.reports[0].signed
    assert exports(context, case.case_id) == [("export", "dr-pdf", "pdf")]
    assert context.reports.jobs_for_case(case.case_id) == [done]

    # A finished job is not run again.
    again = context.reports.run(job.job_id, FakeRenderer(context))
    assert again == done and len(exports(context, case.case_id)) == 1


def test_a_failed_write_is_a_status_in_words(context: AppContext, tmp_path: Path) -> None:
    case = make_case(context.cases)
    job = context.reports.create(case.case_id, user_id="dr", output_path=tmp_path / "a.pdf")

    def full_disk(_report: CaseReport, _target: Path, step: Step) -> int:
        step(0.5, "Page 1 of 2")
        raise OSError(28, "No space left on device")

    done = context.reports.run(job.job_id, full_disk)
    assert done.status is ReportStatus.FAILED and done.finished
    assert done.error == (f"a.pdf could not be saved in {tmp_path}: No space left on device. "
                          "Choose another folder, or check that there is space on the disk.")
    assert exports(context, case.case_id) == []

    crash = context.reports.create(case.case_id, user_id="dr", output_path=tmp_path / "b.pdf")

    def bug(_report: CaseReport, _target: Path, _step: Step) -> int:
        raise KeyError("oops")

    failed = context.reports.run(crash.job_id, bug)
    assert failed.status is ReportStatus.FAILED
    assert failed.error is not None and "unexpected error" in failed.error


def test_cancel_before_and_during_the_run(context: AppContext, tmp_path: Path) -> None:
    case = make_case(context.cases)
    queued = context.reports.create(case.case_id, user_id="dr", output_path=tmp_path / "q.pdf")
    assert context.reports.cancel(queued.job_id).status is ReportStatus.CANCELLED
    assert context.reports.run(queued.job_id, FakeRenderer(context)).status is (
        ReportStatus.CANCELLED)

    # Cancelled through the service (another thread or window) while drawing page 1.
    job = context.reports.create(case.case_id, user_id="dr", output_path=tmp_path / "r.pdf")
    renderer = FakeRenderer(context, pages=5,
                            during=lambda page: page == 0 and context.reports.cancel(
                                job.job_id))
    renderer.job_id = job.job_id
    done = context.reports.run(job.job_id, renderer)
    assert done.status is ReportStatus.CANCELLED and done.error is None
    assert len(renderer.polled) == 1 and not (tmp_path / "r.pdf").exists()

    # Cancelled by the worker's own token (the window's Cancel button).
    token = threading.Event()
    tokened = context.reports.create(case.case_id, user_id="dr",
                                     output_path=tmp_path / "t.pdf")
    renderer = FakeRenderer(context, pages=5, during=lambda page: token.set())
    renderer.job_id = tokened.job_id
    assert context.reports.run(tokened.job_id, renderer, cancel=token).status is (
        ReportStatus.CANCELLED)
    assert exports(context, case.case_id) == []


def test_requests_are_checked_before_anything_is_queued(context: AppContext,
                                                       tmp_path: Path) -> None:
    case = make_case(context.cases)
    with pytest.raises(ValidationError) as caught:
        context.reports.create(case.case_id, user_id="", output_path=tmp_path / "a.txt")
    assert set(caught.value.by_field()) == {"user_id", "output_path"}
    with pytest.raises(ValidationError, match="does not exist"):
        context.reports.create(case.case_id, user_id="dr",
                               output_path=tmp_path / "missing" / "a.pdf")
    with pytest.raises(ValidationError, match="is a folder"):
        (tmp_path / "x.pdf").mkdir()
        context.reports.create(case.case_id, user_id="dr", output_path=tmp_path / "x.pdf")
    with pytest.raises(NotFoundError):
        context.reports.create("no-such-case", user_id="dr", output_path=tmp_path / "a.pdf")
    with pytest.raises(NotFoundError):
        context.reports.get("no-such-job")
    assert context.reports.jobs_for_case(case.case_id) == []


def test_a_case_trashed_before_its_report_is_made(context: AppContext,
                                                 tmp_path: Path) -> None:
    case = make_case(context.cases)
    job = context.reports.create(case.case_id, user_id="dr", output_path=tmp_path / "a.pdf")
    context.cases.delete_case(case.case_id, user_id="dr")
    done = context.reports.run(job.job_id, FakeRenderer(context))
    assert done.status is ReportStatus.FAILED and "trash" in (done.error or "")


def test_a_job_interrupted_by_a_crash_is_failed_at_the_next_start(data_dir: Path,
                                                                 tmp_path: Path) -> None:
    context = open_app(str(data_dir))
    try:
        case = make_case(context.cases)
        job = context.reports.create(case.case_id, user_id="dr",
                                     output_path=tmp_path / "a.pdf")

        def crash(_report: CaseReport, _target: Path, step: Step) -> int:
            step(0.3, "Page 1 of 3")
            raise SystemExit  # the process dies mid-job; the row stays RUNNING

        with pytest.raises(SystemExit):
            context.reports.run(job.job_id, crash)
        assert context.reports.get(job.job_id).status is ReportStatus.RUNNING
    finally:
        context.close()
    reopened = open_app(str(data_dir))
    try:
        after = reopened.reports.get(job.job_id)
        assert after.status is ReportStatus.FAILED and "closed" in (after.error or "")
        assert reopened.reports.recover_interrupted() == 0
    finally:
        reopened.close()
