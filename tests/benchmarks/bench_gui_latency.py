"""Event-loop latency of the real main window while 4 cases of 16 scanned pages each are
analysed (a benchmark, not a test: it prints figures).

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_gui_latency.py \\
        [--cases 4] [--pages 16]

A 50 ms QTimer runs on the GUI thread from the moment the window opens until the last
job finishes; each tick's delay past its due time is one sample. Printed: jobs, pages,
wall time, and the p50 / p95 / max delay, beside the same timer on an idle window.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QElapsedTimer, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from medmitra_desktop.app import open_app  # noqa: E402
from medmitra_desktop.ui.gui import make_jobs  # noqa: E402
from medmitra_desktop.ui.main_window import MainWindow  # noqa: E402
from medmitra_desktop.ui.workers import AnalysisRunner  # noqa: E402
from tests.factories import LAB_LINES, image_pdf, make_case  # noqa: E402

INTERVAL_MS = 50


def measure(app: QApplication, until: object, limit_s: float) -> list[float]:
    """Delays (ms) of a 50 ms timer until `until()` is true."""
    delays: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def tick() -> None:
        now = clock.nsecsElapsed()
        delays.append(max(0.0, (now - last[0]) / 1e6 - INTERVAL_MS))
        last[0] = now

    timer = QTimer()
    timer.setInterval(INTERVAL_MS)
    timer.timeout.connect(tick)
    timer.start()
    deadline = time.monotonic() + limit_s
    while not until() and time.monotonic() < deadline:  # type: ignore[operator]
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    return delays


def summary(delays: list[float]) -> str:
    if not delays:
        return "no samples"
    ordered = sorted(delays)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (f"{len(delays)} ticks, p50 {statistics.median(ordered):.1f} ms, "
            f"p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=4)
    parser.add_argument("--pages", type=int, default=16)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory(prefix="medmitra-latency-") as folder:
        root = Path(folder)
        context = open_app(str(root / "data"))
        lines = [*LAB_LINES, "Urea 40 mg/dL 15 - 45", "Sodium 139 mmol/L 135 - 145"]
        for number in range(args.cases):
            scan = image_pdf(root / f"scan-{number}.pdf", [lines] * args.pages)
            make_case(context.cases, name=f"Latency Patient {number}", lab=[scan])
        settings = QSettings(str(root / "s.ini"), QSettings.Format.IniFormat)
        idle_window = MainWindow(context, "dr-bench", settings)
        idle_window.show()
        idle = measure(app, lambda: False, 3.0)
        idle_window.close()

        finished: list[str] = []
        runner = AnalysisRunner(lambda: make_jobs(context))
        runner.job_finished.connect(lambda case_id, *_: finished.append(case_id))
        started = time.perf_counter()
        window = MainWindow(context, "dr-bench", settings, runner)  # wakes the runner
        window.show()
        busy = measure(app, lambda: len(finished) >= args.cases, 1800.0)
        wall = time.perf_counter() - started
        runner.stop()
        window.close()
        context.close()
    print(f"{args.cases} cases x {args.pages} scanned pages, {os.cpu_count()} cores: "
          f"analysed in {wall:.1f} s ({len(finished)} jobs finished)")
    print(f"event loop idle:      {summary(idle)}")
    print(f"event loop analysing: {summary(busy)}")
    return 0 if len(finished) >= args.cases else 1


if __name__ == "__main__":
    sys.exit(main())
