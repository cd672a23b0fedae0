"""Screenshots of the real window on a real (virtual) screen, for review.

    xvfb-run -a -s "-screen 0 1366x800x24" .venv/bin/python build/screenshots.py \
        --data-dir DIR --out build/screenshots

Opens MedMitra Desktop on DIR (a demo database: create cases first, e.g. with
`medmitra-desktop cases create`), lets queued analysis finish, and writes one PNG per view.
The pixels come from the X server (QScreen.grabWindow), so they are what a doctor sees.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from medmitra_desktop.app import open_app
from medmitra_desktop.ui.gui import make_jobs
from medmitra_desktop.ui.main_window import MainWindow
from medmitra_desktop.ui.workers import AnalysisRunner


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", type=Path, default=Path("build/screenshots"))
    parser.add_argument("--wait-ms", type=int, default=60_000,
                        help="longest wait for queued analysis")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    app = QApplication(sys.argv)
    app.setApplicationName("MedMitra Desktop")
    context = open_app(args.data_dir)
    runner = AnalysisRunner(lambda: make_jobs(context))
    settings = QSettings(str(args.out / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(context, "dr-demo", settings, runner)
    window.resize(1280, 720)
    window.show()

    def shoot(name: str) -> None:
        screen = app.primaryScreen()
        screen.grabWindow(0).save(str(args.out / f"{name}.png"))
        print(args.out / f"{name}.png")

    def finish() -> None:
        shoot("case_list")
        window.search.setText("asha")
        QTimer.singleShot(800, lambda: (shoot("case_list_search"), app.quit()))

    runner.idle.connect(lambda: QTimer.singleShot(500, finish))
    QTimer.singleShot(args.wait_ms, finish)
    try:
        return app.exec()
    finally:
        runner.stop()
        context.close()


if __name__ == "__main__":
    sys.exit(main())
