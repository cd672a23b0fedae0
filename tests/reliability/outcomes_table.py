"""Print the README's bad-input table by running every kind through the real app.

    .venv/bin/python tests/reliability/outcomes_table.py > /tmp/table.md

The kinds come from bad_inputs.py (the same catalogue the tests hold the app to); the
outcome and message columns are what the app said this time, not typed by hand. Runs on
a temporary data folder and prints markdown on stdout.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from medmitra_desktop.analysis.extract import ExtractOptions
from medmitra_desktop.app import build_analyzer, open_app
from medmitra_desktop.domain.errors import ValidationError
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from tests.reliability.bad_inputs import (
    FIELD_KINDS,
    REFUSED,
    SEARCH_KINDS,
    run_file_kinds,
    search_outcome,
)

_STATUS_WORDS = {"ok": "analysed", "failed": "document failed",
                 "needs_password": "asks for the password"}


def _cell(text: str | None, limit: int = 170) -> str:
    if not text:
        return "—"
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return shown.replace("|", "\\|").replace("\n", " ")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="medmitra-outcomes-") as folder:
        root = Path(folder)
        context = open_app(str(root / "data"))
        try:
            jobs = AnalysisJobs(context.database, context.files,
                                build_analyzer(ExtractOptions(ocr_workers=2)))
            run = run_file_kinds(context, jobs, root / "work")
            print("| # | Input | Outcome | What the doctor reads |")
            print("|---|---|---|---|")
            number = 0
            for outcome in run.files.values():
                number += 1
                where = ("refused when attached" if outcome.status == REFUSED
                         else _STATUS_WORDS.get(outcome.status, outcome.status))
                message = outcome.message
                if message is None and outcome.stored_name != outcome.path.name:
                    message = f"stored as “{outcome.stored_name}”"
                print(f"| {number} | {_cell(outcome.kind.title)} | {where} | {_cell(message)} |")
            for kind in FIELD_KINDS:
                number += 1
                try:
                    record = context.cases.create_case(
                        user_id="dr-table", patient_name=kind.name, patient_age=kind.age,
                        patient_gender=kind.gender, case_summary=kind.summary)
                    where, message = "saved", f"stored as “{record.patient_name}”"
                    if kind.search_by:
                        message += "; found by " + ", ".join(f"“{w}”" for w in kind.search_by)
                except ValidationError as error:
                    where, message = "refused in the form", str(error)
                print(f"| {number} | {_cell(kind.title)} | {where} | {_cell(message)} |")
            for kind in SEARCH_KINDS:
                number += 1
                status, hits = search_outcome(context.cases, kind)
                where = "searched as plain words" if status == "ok" else "error"
                print(f"| {number} | search: {_cell(kind.title)} | {where} | "
                      f"{hits} case(s) found |")
            from tests.sync.reference_server import ReferenceServer
            from tests.sync.server_faults import SERVER_FAULTS, run_fault

            # Its own data folder: a sync round sends every local case, and the cases
            # above are not what these rows are about.
            with ReferenceServer() as server:
                for fault in SERVER_FAULTS:
                    number += 1
                    server.reset()
                    fresh = open_app(str(root / "faults" / fault.kind / "data"))
                    try:
                        told, cases, waiting = run_fault(fresh, server, fault,
                                                         root / "faults" / fault.kind)
                    finally:
                        fresh.close()
                    print(f"| {number} | server: {_cell(fault.title)} | sync round: kept, "
                          f"sent on the next round ({cases} server case, {waiting} left) | "
                          f"{_cell(told)} |")
        finally:
            context.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
