"""Sync benchmark: push 500 cases with 2 files each, pull 5,000 remote cases, against the
reference MedMitra server on 127.0.0.1, beside raw httpx doing the same requests.

A script, not a pytest test. Run from the repository root:

    .venv/bin/python tests/benchmarks/bench_sync.py
    .venv/bin/python tests/benchmarks/bench_sync.py --push 100 --pull 1000   # quicker

Push: the app side is SyncEngine.run_once(pull=False) over 500 local cases made through
CaseService (not timed); it sends one multipart create per case with both files and
records each answer. Raw: one httpx.Client posting the same multipart requests (same
bytes) and parsing the JSON, nothing else.
Pull: the server holds 5,000 cases made "on another workstation" (completed, with
ai_insights; no files, so the figure is about the app's own work, not file copies). The
app side is SyncEngine.run_once() on an empty data folder: the case list, one detail
request per case, each case stored with its insights. Raw: the same list and detail
requests with JSON parsing.

ratio = app cases/s ÷ raw cases/s (target ≥ 0.7). Both sides talk to the same kind of
server, run in its own process (as a real server is), one request at a time: the app
overlaps its database work with the network (a prefetch thread), never requests.
The machine is shared, so each side runs --repeat times, interleaved (app, raw, app,
raw, ...) so that a busy spell hits both, and the best run of each is reported (as
timeit does); every run is printed too. Each push run starts from a fresh server and a
copy of the same prepared data folder; each pull run from an empty data folder.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

USER = "dr-bench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--push", type=int, default=500)
    parser.add_argument("--pull", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import keyring

    from medmitra_desktop.app import open_app
    from medmitra_desktop.logging_setup import configure_logging
    from medmitra_desktop.services.sync_engine import SyncEngine
    from medmitra_desktop.sync.client import MedMitraClient
    from tests.factories import LAB_LINES, make_case, png_image, text_pdf
    from tests.memory_keyring import MemoryKeyring
    from tests.sync.server_process import ServerProcess

    keyring.set_keyring(MemoryKeyring())
    configure_logging(None)
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    lab = text_pdf(work / "cbc.pdf", LAB_LINES)
    image = png_image(work / "cxr.png", (400, 300))
    lab_bytes, image_bytes = lab.read_bytes(), image.read_bytes()

    prepared = work / "push-prepared"
    context = open_app(str(prepared))
    for index in range(args.push):
        make_case(context.cases, name=f"Bench Patient {index}", age=20 + index % 60,
                  lab=[lab], radiology=[image], user_id=USER)
    context.close()

    def app_push(run: int) -> float:
        folder = work / f"push-{run}"
        shutil.copytree(prepared, folder)
        context = open_app(str(folder))
        with ServerProcess(USER) as server:
            engine = SyncEngine(context.database, context.files, context.cases,
                                MedMitraClient(server.base_url, server.token), USER)
            started = time.perf_counter()
            report = engine.run_once(pull=False)
            seconds = time.perf_counter() - started
            assert report.ok and len(server.cases()) == args.push, report
            engine.close()
        context.close()
        return seconds

    def raw_push(_run: int) -> float:
        with ServerProcess(USER) as server, httpx.Client(
                base_url=server.base_url,
                headers={"Authorization": f"Bearer {server.token}"}) as raw:
            started = time.perf_counter()
            for index in range(args.push):
                response = raw.post("/cases/create_case", data={
                    "user_id": USER, "patient_name": f"Bench Patient {index}",
                    "patient_age": str(20 + index % 60), "patient_gender": "female",
                    "case_summary": ""}, files=[
                    ("lab_files", ("cbc.pdf", lab_bytes, "application/pdf")),
                    ("radiology_files", ("cxr.png", image_bytes, "image/png"))])
                response.raise_for_status()
                response.json()
            return time.perf_counter() - started

    with ServerProcess(USER, args.pull) as pull_server:
        def app_pull(run: int) -> float:
            context = open_app(str(work / f"pull-{run}"))
            engine = SyncEngine(context.database, context.files, context.cases,
                                MedMitraClient(pull_server.base_url, pull_server.token),
                                USER)
            started = time.perf_counter()
            report = engine.run_once()
            seconds = time.perf_counter() - started
            assert report.pulled == args.pull and report.insights == args.pull, report
            engine.close()
            context.close()
            return seconds

        def raw_pull(_run: int) -> float:
            with httpx.Client(base_url=pull_server.base_url,
                              headers={"Authorization": f"Bearer {pull_server.token}"}
                              ) as raw:
                started = time.perf_counter()
                listed = raw.get("/cases/all_cases", params={"user_id": USER}) \
                    .json()["cases"]
                for case in listed:
                    raw.get(f"/cases/cases/{case['case_id']}").json()
                return time.perf_counter() - started

        push = _interleaved(app_push, raw_push, args.repeat)
        pull = _interleaved(app_pull, raw_pull, args.repeat)

    print(f"{'':6}{'cases':>7}{'app cases/s':>14}{'raw cases/s':>14}{'ratio':>8}   runs (s)")
    for name, count, (app_runs, raw_runs) in (("push", args.push, push),
                                               ("pull", args.pull, pull)):
        app_rate, raw_rate = count / min(app_runs), count / min(raw_runs)
        runs = " ".join(f"{a:.2f}/{r:.2f}" for a, r in zip(app_runs, raw_runs, strict=True))
        print(f"{name:6}{count:>7}{app_rate:>14.1f}{raw_rate:>14.1f}"
              f"{app_rate / raw_rate:>8.2f}   app/raw {runs}")
    print(f"(best of {args.repeat} each; target: ratio >= 0.7; data in {work})")
    return 0


def _interleaved(app: Callable[[int], float], raw: Callable[[int], float],
                 repeat: int) -> tuple[list[float], list[float]]:
    app_runs, raw_runs = [], []
    for run in range(repeat):
        app_runs.append(app(run))
        raw_runs.append(raw(run))
    return app_runs, raw_runs


if __name__ == "__main__":
    sys.exit(main())
