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

ratio = app cases/s ÷ raw cases/s (target ≥ 0.7). Both sides talk to the same server,
run in its own process (as a real server is), one request at a time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
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
    server = ServerProcess(USER)
    try:
        # ---- push -----------------------------------------------------------------------
        context = open_app(str(work / "push"))
        for index in range(args.push):
            make_case(context.cases, name=f"Bench Patient {index}", age=20 + index % 60,
                      lab=[lab], radiology=[image], user_id=USER)
        engine = SyncEngine(context.database, context.files, context.cases,
                            MedMitraClient(server.base_url, server.token), USER)
        started = time.perf_counter()
        report = engine.run_once(pull=False)
        app_push = time.perf_counter() - started
        assert report.ok and len(server.cases()) == args.push, report
        engine.close()
        context.close()
        server.stop()
        server = ServerProcess(USER)

        lab_bytes, image_bytes = lab.read_bytes(), image.read_bytes()
        with httpx.Client(base_url=server.base_url,
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
            raw_push = time.perf_counter() - started
        server.stop()

        # ---- pull -----------------------------------------------------------------------
        server = ServerProcess(USER, args.pull)
        context = open_app(str(work / "pull"))
        engine = SyncEngine(context.database, context.files, context.cases,
                            MedMitraClient(server.base_url, server.token), USER)
        started = time.perf_counter()
        report = engine.run_once()
        app_pull = time.perf_counter() - started
        assert report.pulled == args.pull and report.insights == args.pull, report
        engine.close()
        context.close()

        with httpx.Client(base_url=server.base_url,
                          headers={"Authorization": f"Bearer {server.token}"}) as raw:
            started = time.perf_counter()
            listed = raw.get("/cases/all_cases", params={"user_id": USER}).json()["cases"]
            for case in listed:
                raw.get(f"/cases/cases/{case['case_id']}").json()
            raw_pull = time.perf_counter() - started
    finally:
        server.stop()

    rows = [("push", args.push, app_push, raw_push), ("pull", args.pull, app_pull, raw_pull)]
    print(f"{'':6}{'cases':>7}{'app cases/s':>14}{'raw cases/s':>14}{'ratio':>8}")
    for name, count, app_seconds, raw_seconds in rows:
        app_rate, raw_rate = count / app_seconds, count / raw_seconds
        print(f"{name:6}{count:>7}{app_rate:>14.1f}{raw_rate:>14.1f}"
              f"{app_rate / raw_rate:>8.2f}")
    print(f"(target: ratio >= 0.7; data in {work})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
