"""SIGKILL the app at random points while it syncs, restart it, and check that nothing
was lost or doubled on either side.

    .venv/bin/python tests/reliability/kill_sync_trials.py --trials 50 [--seed 1]

One reference server (its own process) lives through all trials, holding cases made "on
another workstation". Each trial:

1. starts a driver process (the real open_app, CaseService and SyncEngine) that keeps
   creating cases with a file, editing earlier ones and syncing rounds (push and pull),
   printing each case id once its transaction has committed;
2. kills it with SIGKILL after a random delay;
3. starts a driver that only syncs until the outbox is empty, without being killed;
4. checks: `PRAGMA integrity_check` is ok; every case the killed driver reported exists
   here once; the outbox is empty and every live case is synced; every server case is
   linked to exactly one local case and every local case to its own server case (no
   duplicate was created by a lost answer or a repeated request); the server's fields
   equal the local ones; each remote case was pulled exactly once.

The pytest version (test_kill_sync_trials.py) runs a few trials. Exit status 0 when every
trial passed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

USER = "dr-kill"
REMOTE_CASES = 12
KILL_WINDOW_SECONDS = (0.8, 4.0)  # start-up takes ~0.8 s here

_DRIVER = """
import os, sys, itertools
from datetime import timedelta
from pathlib import Path
sys.path.insert(0, {root!r})
from medmitra_desktop.app import open_app
from medmitra_desktop.domain.enums import DocumentCategory
from medmitra_desktop.domain.records import NewAttachment
from medmitra_desktop.services.sync_engine import SyncEngine
from medmitra_desktop.sync.client import MedMitraClient

data_dir, url, token, mode, pdf = sys.argv[1:6]
context = open_app(data_dir)
engine = SyncEngine(context.database, context.files, context.cases,
                    MedMitraClient(url, token), {user!r},
                    backoff_base=timedelta(0), backoff_max=timedelta(0))
if mode == "finish":
    for _ in range(20):
        report = engine.run_once(force=True)
        if report.ok and context.sync.pending_changes() == 0:
            break
    print("finished", report.ok, flush=True)
    sys.exit(0)
made = []
for step in itertools.count():
    record = context.cases.create_case(
        user_id={user!r}, patient_name=f"Kill Trial {{os.getpid()}} {{step}}",
        patient_age=20 + step % 50, patient_gender="female",
        lab_files=[NewAttachment(Path(pdf), DocumentCategory.LAB)])
    print("created", record.case_id, flush=True)
    made.append(record.case_id)
    if len(made) > 1 and step % 2:
        context.cases.update_case(made[-2], user_id={user!r},
                                  changes={{"case_summary": f"edit {{step}}"}})
    engine.run_once()
"""


@dataclass
class Trial:
    number: int
    delay: float
    created: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def run_trials(trials: int, seed: int, log: bool = True) -> list[Trial]:
    from tests.factories import LAB_LINES, text_pdf
    from tests.sync.server_process import ServerProcess

    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="kill-sync-"))
    pdf = text_pdf(work / "cbc.pdf", LAB_LINES)
    data_dir = work / "data"
    driver = _DRIVER.format(root=str(ROOT), user=USER)
    server = ServerProcess(USER, REMOTE_CASES)
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    results = []
    try:
        for number in range(1, trials + 1):
            trial = Trial(number, rng.uniform(*KILL_WINDOW_SECONDS))
            killed = subprocess.Popen(
                [sys.executable, "-c", driver, str(data_dir), server.base_url,
                 server.token, "work", str(pdf)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
            time.sleep(trial.delay)
            killed.send_signal(signal.SIGKILL)
            out, _ = killed.communicate()
            trial.created = [line.split()[1] for line in out.splitlines()
                             if line.startswith("created ")]
            finish = subprocess.run(
                [sys.executable, "-c", driver, str(data_dir), server.base_url,
                 server.token, "finish", str(pdf)],
                capture_output=True, text=True, env=env, timeout=300)
            if "finished True" not in finish.stdout:
                trial.problems.append(f"sync did not finish: {finish.stdout[-300:]}"
                                      f"{finish.stderr[-600:]}")
            trial.problems.extend(check(data_dir, server.cases(), trial.created))
            results.append(trial)
            if log:
                state = "ok" if not trial.problems else "; ".join(trial.problems)
                print(f"trial {number:3d}: killed after {trial.delay:.2f} s, "
                      f"{len(trial.created)} new case(s): {state}", flush=True)
    finally:
        server.stop()
    return results


def check(data_dir: Path, server_cases: list[dict], created: list[str]) -> list[str]:
    problems = []
    from medmitra_desktop.storage.database import DB_FILE_NAME

    connection = sqlite3.connect(data_dir / DB_FILE_NAME)
    try:
        if connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            problems.append("integrity_check failed")
        local = connection.execute(
            "SELECT uid, remote_id, sync_state, patient_name, patient_age, case_summary "
            "FROM cases WHERE deleted_at IS NULL").fetchall()
        outbox = connection.execute("SELECT count(*) FROM outbox").fetchone()[0]
    finally:
        connection.close()
    uids = Counter(row[0] for row in local)
    missing = [uid for uid in created if uid not in uids]
    if missing:
        problems.append(f"{len(missing)} saved case(s) lost")
    if outbox:
        problems.append(f"{outbox} outbox row(s) left")
    unsynced = [row[0] for row in local if row[2] != "synced"]
    if unsynced:
        problems.append(f"{len(unsynced)} case(s) not synced")
    links = Counter(row[1] for row in local)
    doubled_links = [remote for remote, count in links.items() if count > 1]
    if doubled_links:
        problems.append(f"{len(doubled_links)} server case(s) linked twice here")
    remote_ids = {case["case_id"]: case for case in server_cases}
    unlinked = [case_id for case_id in remote_ids if case_id not in links]
    if unlinked:
        problems.append(f"{len(unlinked)} server case(s) with no local case "
                        f"(a duplicate, or not pulled)")
    for uid, remote_id, _state, name, age, summary in local:
        remote = remote_ids.get(remote_id)
        if remote is None:
            problems.append(f"local case {uid} has no server case")
        elif (remote["patient_name"], remote["patient_age"], remote["case_summary"]) != \
                (name, age, summary):
            problems.append(f"local case {uid} differs from the server")
    names = Counter(case["patient_name"] for case in server_cases)
    if any(count > 1 for count in names.values()):
        problems.append("the server holds a case twice")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    results = run_trials(args.trials, args.seed)
    failed = [trial for trial in results if trial.problems]
    print(json.dumps({"trials": len(results), "failed": len(failed),
                      "cases_created": sum(len(t.created) for t in results),
                      "seconds": round(time.perf_counter() - started, 1)}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
