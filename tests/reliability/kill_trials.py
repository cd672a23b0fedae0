"""SIGKILL the app at random points while it analyses and saves cases, restart it, and
check that nothing was damaged, lost or doubled and that every job completes.

    .venv/bin/python tests/reliability/kill_trials.py --trials 50 [--seed 1] [--no-scans]

Each trial:

1. starts a driver process (the real open_app + AnalysisJobs, as the window's worker uses
   them) that resumes interrupted jobs, analyses the queue and, on a second thread,
   creates new cases with attachments, printing each case id once its transaction has
   committed;
2. kills it with SIGKILL after a random delay (before, during or after any of that);
3. starts a driver that only finishes the queue, without being killed;
4. checks: `PRAGMA integrity_check` is ok; every case the killed driver reported as saved
   exists, exactly once; every job is done and no case is left processing; every
   document has exactly the pages and lab rows its file gives in an uninterrupted run (a
   job resumed after a kill must not add a second set); every stored blob verifies and
   the audit chain is intact;
5. queues the seed cases again for the next trial.

The pytest version (test_kill_trials.py) runs a few trials; this script runs as many as
asked and prints a summary. Exit status 0 when every trial passed.

SIGKILL during sync has its own trials: kill_sync_trials.py.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED_CASES = 4
NEW_CASES_PER_TRIAL = 8
# Seconds after the driver opened the data folder: analysis and new cases happen here.
KILL_WINDOW_SECONDS = (0.0, 2.5)
EARLY_KILLS = 0.15  # the share of kills that come before the data folder is open
FINISH_TIMEOUT_SECONDS = 300


# ---- the driver (a separate process, killed at random) -----------------------------------


def drive(data_dir: Path, files_dir: Path, mode: str) -> int:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    from medmitra_desktop.analysis.extract import ExtractOptions
    from medmitra_desktop.app import build_analyzer, open_app
    from medmitra_desktop.domain.enums import DocumentCategory
    from medmitra_desktop.domain.records import NewAttachment
    from medmitra_desktop.services.analysis_jobs import AnalysisJobs

    context = open_app(str(data_dir))
    print("opened", flush=True)
    jobs = AnalysisJobs(context.database, context.files,
                        build_analyzer(ExtractOptions(ocr_workers=2)))
    jobs.recover_interrupted()

    def create_cases() -> None:
        pdf = files_dir / "new-case.pdf"
        for number in range(NEW_CASES_PER_TRIAL):
            record = context.cases.create_case(
                user_id="dr-kill", patient_name=f"New Patient {number}", patient_age=40,
                patient_gender="female", case_summary="cough",
                lab_files=[NewAttachment(pdf, DocumentCategory.LAB)])
            # Printed only after the commit returned: this case must survive any kill.
            print(f"saved {record.case_id}", flush=True)
            time.sleep(0.15)  # spread the saves over the time the jobs run

    creator = threading.Thread(target=create_cases, daemon=True)
    if mode == "chaos":
        creator.start()
    while jobs.run_next() is not None:
        print("job", flush=True)
    if mode == "chaos":
        creator.join()
        while jobs.run_next() is not None:
            print("job", flush=True)
    context.close()
    print("finished", flush=True)
    return 0


# ---- the parent: trials and checks -------------------------------------------------------


@dataclass
class TrialResult:
    number: int
    killed_after: float
    killed_at_stage: str  # the driver's last line before the kill
    saved_before_kill: int
    jobs_interrupted: int  # jobs the kill left running (resumed at the restart)
    problems: list[str] = field(default_factory=list)


@dataclass
class Reference:
    """Pages and lab rows per stored file (by SHA-256), from an uninterrupted run."""

    per_blob: dict[str, tuple[int, int]]


def _driver_command(data_dir: Path, files_dir: Path, mode: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--driver", str(data_dir),
            "--files", str(files_dir), "--mode", mode]


def _finish(data_dir: Path, files_dir: Path) -> None:
    result = subprocess.run(_driver_command(data_dir, files_dir, "finish"),
                            capture_output=True, text=True, timeout=FINISH_TIMEOUT_SECONDS,
                            check=False)
    if result.returncode != 0 or "finished" not in result.stdout:
        raise RuntimeError(f"the restarted app did not finish its queue: {result.stderr[-3000:]}")


def make_files(files_dir: Path, scans: bool) -> list[Path]:
    from tests.factories import LAB_LINES, scanned_png, text_pdf

    files_dir.mkdir(parents=True, exist_ok=True)
    text_pdf(files_dir / "new-case.pdf", [*LAB_LINES, "Remarks: new case"])
    seeds = []
    for number in range(SEED_CASES):
        seeds.append(text_pdf(files_dir / f"seed-{number}.pdf",
                              [*LAB_LINES, f"Remarks: seed {number}"]))
    if scans:
        seeds.append(scanned_png(files_dir / "seed-scan.png", LAB_LINES[:4]))
    return seeds


def seed(data_dir: Path, seed_files: list[Path]) -> None:
    from medmitra_desktop.app import open_app
    from medmitra_desktop.domain.enums import DocumentCategory
    from medmitra_desktop.domain.records import NewAttachment

    context = open_app(str(data_dir))
    try:
        for number in range(SEED_CASES):
            files = [seed_files[number], *seed_files[SEED_CASES:]]
            context.cases.create_case(
                user_id="dr-kill", patient_name=f"Seed Patient {number}", patient_age=50,
                patient_gender="male", case_summary="fever",
                lab_files=[NewAttachment(path, DocumentCategory.LAB) for path in files])
    finally:
        context.close()


def requeue_seeds(data_dir: Path) -> None:
    from medmitra_desktop.app import open_app
    from medmitra_desktop.domain.records import CaseQuery

    context = open_app(str(data_dir))
    try:
        page = context.cases.list_cases(CaseQuery(search="seed patient", size=50))
        for item in page.items:
            context.cases.reanalyze(item.case_id, user_id="dr-kill")
    finally:
        context.close()


def take_reference(data_dir: Path) -> Reference:
    with sqlite3.connect(data_dir / "medmitra.sqlite3") as connection:
        rows = connection.execute(
            "SELECT d.sha256, "
            " (SELECT count(*) FROM document_pages p WHERE p.document_id = d.id), "
            " (SELECT count(*) FROM lab_results l WHERE l.document_id = d.id) "
            "FROM documents d").fetchall()
    per_blob: dict[str, tuple[int, int]] = {}
    for sha256, pages, labs in rows:
        per_blob.setdefault(sha256, (pages, labs))
    return Reference(per_blob)


def check(data_dir: Path, reference: Reference, saved: list[str], expected_cases: int
          ) -> tuple[list[str], int]:
    """Everything that must hold after a restart: a list of what did not, and the number
    of cases now in the database."""
    from medmitra_desktop.app import open_app
    from medmitra_desktop.services import audit

    problems = []
    database = data_dir / "medmitra.sqlite3"
    connection = sqlite3.connect(database)
    try:
        verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            problems.append(f"integrity_check: {verdict}")
        keys = connection.execute("PRAGMA foreign_key_check").fetchall()
        if keys:
            problems.append(f"foreign_key_check: {keys[:3]}")
        cases = connection.execute("SELECT count(*) FROM cases").fetchone()[0]
        # One more is fine: a case may commit in the instant between its commit and the
        # driver's print when the kill comes.
        if cases not in (expected_cases, expected_cases + 1):
            problems.append(f"{cases} cases, expected {expected_cases}")
        uids = {row[0] for row in connection.execute("SELECT uid FROM cases")}
        lost = [uid for uid in saved if uid not in uids]
        if lost:
            problems.append(f"{len(lost)} saved case(s) lost: {lost[:3]}")
        doubled = connection.execute(
            "SELECT uid, count(*) FROM cases GROUP BY uid HAVING count(*) > 1").fetchall()
        if doubled:
            problems.append(f"duplicate cases: {doubled[:3]}")
        jobs = connection.execute(
            "SELECT status, count(*) FROM jobs GROUP BY status").fetchall()
        if {status for status, _count in jobs} != {"done"}:
            problems.append(f"jobs not all done: {jobs}")
        processing = connection.execute(
            "SELECT count(*) FROM cases WHERE status != 'completed'").fetchone()[0]
        if processing:
            problems.append(f"{processing} case(s) not completed")
        pages_doubled = connection.execute(
            "SELECT document_id, number, count(*) FROM document_pages "
            "GROUP BY document_id, number HAVING count(*) > 1").fetchall()
        if pages_doubled:
            problems.append(f"duplicate pages: {pages_doubled[:3]}")
        for sha256, pages, labs in connection.execute(
                "SELECT d.sha256, "
                " (SELECT count(*) FROM document_pages p WHERE p.document_id = d.id), "
                " (SELECT count(*) FROM lab_results l WHERE l.document_id = d.id) "
                "FROM documents d"):
            expected = reference.per_blob.get(sha256)
            if expected is not None and (pages, labs) != expected:
                problems.append(f"document {sha256[:8]}: {pages} pages and {labs} lab rows, "
                                f"expected {expected}")
                break
    finally:
        connection.close()
    context = open_app(str(data_dir))
    try:
        with context.database.read_session() as session:
            broken = audit.verify_chain(session)
        if broken:
            problems.append(f"audit chain broken at rows {broken[:5]}")
        for path in context.paths.files.glob("??/*"):
            try:
                context.files.verify(path.name)
            except Exception as error:
                problems.append(f"blob {path.name[:8]}: {error}")
    finally:
        context.close()
    return problems, cases


def _running_jobs(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "medmitra.sqlite3") as connection:
        return connection.execute(
            "SELECT count(*) FROM jobs WHERE status = 'running'").fetchone()[0]


def _read_lines(driver: subprocess.Popen[str], lines: list[str],
                opened: threading.Event) -> None:
    for line in driver.stdout:  # type: ignore[union-attr]
        lines.append(line.strip())
        if line.startswith("opened"):
            opened.set()


def run_trials(work_dir: Path, trials: int, *, seed_value: int = 1, scans: bool = True,
               report: Callable[[str], None] = print) -> list[TrialResult]:
    rng = random.Random(seed_value)
    data_dir, files_dir = work_dir / "data", work_dir / "files"
    seed(data_dir, make_files(files_dir, scans))
    _finish(data_dir, files_dir)
    reference = take_reference(data_dir)
    expected_cases = SEED_CASES
    results = []
    for number in range(1, trials + 1):
        driver = subprocess.Popen(_driver_command(data_dir, files_dir, "chaos"),
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        lines: list[str] = []
        opened = threading.Event()
        reader = threading.Thread(target=_read_lines, args=(driver, lines, opened), daemon=True)
        reader.start()
        started = time.perf_counter()
        if rng.random() < EARLY_KILLS:
            # Some kills land while the app opens its database and recovers jobs.
            time.sleep(rng.uniform(0.0, 1.5))
        else:
            opened.wait(timeout=60)
            time.sleep(rng.uniform(*KILL_WINDOW_SECONDS))
        delay = time.perf_counter() - started
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        reader.join(timeout=10)
        driver.stdout.close()  # type: ignore[union-attr]
        saved = [line.split()[1] for line in lines if line.startswith("saved ")]
        stage = lines[-1].split()[0] if lines else "starting"
        interrupted = _running_jobs(data_dir)
        _finish(data_dir, files_dir)
        problems, expected_cases = check(data_dir, reference, saved,
                                         expected_cases + len(saved))
        result = TrialResult(number, round(delay, 2), stage, len(saved), interrupted, problems)
        results.append(result)
        report(f"trial {number:3d}: killed after {delay:4.2f} s ({stage}, "
               f"{len(saved)} case(s) saved, {interrupted} job(s) interrupted) -> "
               + ("ok" if not problems else "; ".join(problems)))
        requeue_seeds(data_dir)
    _finish(data_dir, files_dir)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-scans", action="store_true",
                        help="seed cases without a scanned page (no OCR; faster)")
    parser.add_argument("--driver", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--files", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=("chaos", "finish"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver is not None:
        return drive(args.driver, args.files, args.mode)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="medmitra-kill-") as folder:
        results = run_trials(Path(folder), args.trials, seed_value=args.seed,
                             scans=not args.no_scans)
    failed = [result for result in results if result.problems]
    stages: dict[str, int] = {}
    for result in results:
        stages[result.killed_at_stage] = stages.get(result.killed_at_stage, 0) + 1
    print(f"{len(results)} trials in {time.perf_counter() - started:.0f} s: "
          f"{len(results) - len(failed)} ok, {len(failed)} with problems; "
          f"killed after: {', '.join(f'{k} x{v}' for k, v in sorted(stages.items()))}; "
          f"{sum(r.jobs_interrupted > 0 for r in results)} kills interrupted a running job; "
          f"{sum(r.saved_before_kill for r in results)} cases reported saved before the "
          f"kills, {'none lost' if not failed else 'see the problems above'}")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
