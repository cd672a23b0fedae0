"""`medmitra-desktop export CASE_ID --pdf FILE`: the case report as a PDF, made headless.

The same report job the window runs on a worker thread (services/report_jobs.py), run
here to the end on the calling thread. The drawing is Qt's (ui/report_pdf.py), imported
only now, with a QGuiApplication on the offscreen platform: the rest of the CLI never
loads Qt, and this command needs no screen.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from .cli_exit import EXIT_OK, EXIT_PROBLEM
from .domain.enums import ReportStatus

if TYPE_CHECKING:
    from .app import AppContext



def run_export_pdf(args: argparse.Namespace, context: AppContext, *, user_id: str,
                   as_json: bool = False) -> int:
    """Queue the report job, run it, report the outcome. ValidationError and
    NotFoundError propagate (the caller turns them into exit statuses 2 and 1)."""
    from .ui.report_pdf import ensure_gui_application, render_pdf

    job = context.reports.create(args.case_id, user_id=user_id, output_path=args.pdf)
    ensure_gui_application()
    done = context.reports.run(job.job_id, render_pdf)
    if as_json:
        from .cli import print_json

        print_json(done)
    if done.status is not ReportStatus.SUCCEEDED:
        print(f"error: {done.error or done.message}", file=sys.stderr)
        return EXIT_PROBLEM
    if not as_json:
        print(f"Saved {done.output_path} ({done.pages} page{'s' * (done.pages != 1)}).")
    return EXIT_OK
