"""Screenshots of sync in the real window, for review: the case list with every sync state
and the status-bar indicator, a case in conflict with its Resolve… dialog, the server's
insights beside the local ones, and the Sync group of Settings; light and dark.

    xvfb-run -a -s "-screen 0 1366x800x24" .venv/bin/python build/sync_screenshots.py \
        --data-dir /tmp/medmitra-sync-demo --out build/screenshots

Makes a new data folder of synthetic cases and syncs them with the reference MedMitra
server of the tests (tests/sync/reference_server.py, on 127.0.0.1) to reach each state
for real: synced, a conflict, a case deleted on the server (error), a case from another
workstation with the server's insights, and changes made after the server went away
(pending, "Offline · N changes waiting").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import keyring
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from medmitra_desktop.app import AppContext, build_analyzer, open_app
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.ui.main_window import MainWindow
from medmitra_desktop.ui.sync_runner import SyncRunner
from medmitra_desktop.ui.theme import ThemeController
from medmitra_desktop.ui.views.conflict_dialog import ConflictDialog
from medmitra_desktop.ui.views.settings_dialog import SettingsDialog
from tests.memory_keyring import MemoryKeyring
from tests.sync.reference_server import ReferenceServer

STEP_MS = 500
USER = "dr-demo"
CASES = (
    ("Asha Verma", 45, "female", "Fever for 3 days, dry cough. Hemoglobin 10.2 g/dL 13.0-17.0"),
    ("Ravi Kumar", 61, "male", "Chest pain on exertion for a week."),
    ("Meena Iyer", 52, "female", "Fatigue and weight gain. Glucose 182 mg/dL 70-100"),
    ("Kiran Rao", 30, "female", "Headache, photophobia."),
    ("Sunil Das", 70, "male", "Breathlessness at night; ankle swelling."),
)


def prepare(context: AppContext, server: ReferenceServer) -> str:
    """Cases in every sync state; returns the case id of the one in conflict."""
    records = {name: context.cases.create_case(
        user_id=USER, patient_name=name, patient_age=age, patient_gender=gender,
        case_summary=notes) for name, age, gender, notes in CASES}
    jobs = AnalysisJobs(context.database, context.files, build_analyzer())
    while jobs.run_next() is not None:
        pass
    server.processing_seconds = 0
    context.sync.sign_in(server.base_url, USER, server.token)
    engine = context.sync.engine()
    assert engine is not None
    try:
        engine.run_once()
        remote = {case["patient_name"]: case["case_id"] for case in server.cases(USER)}
        # Another workstation edits a name this computer edits too: a conflict.
        server.update_case(remote["Kiran Rao"], patient_name="Kiran R. Rao", patient_age=31)
        context.cases.update_case(records["Kiran Rao"].case_id, user_id=USER,
                                  changes={"patient_name": "Kiran Rao (Mrs)"})
        # Deleted on the server: kept here, marked with the reason.
        server.delete_case(remote["Sunil Das"])
        # A case from another workstation, already analysed by the server.
        server.add_case(USER, "Farah Khan", 38, "female", "Joint pain in both hands.")
        engine.run_once()
        engine.run_once()  # the server's insights of the cases it finished analysing
    finally:
        engine.close()
    # The server goes away; changes made now wait in the outbox.
    server.stop()
    context.cases.update_case(records["Ravi Kumar"].case_id, user_id=USER,
                              changes={"case_summary": "Chest pain on exertion; ECG done."})
    context.cases.create_case(user_id=USER, patient_name="Bela Roy", patient_age=27,
                              patient_gender="female", case_summary="Sore throat.")
    return records["Kiran Rao"].case_id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="a new folder")
    parser.add_argument("--out", type=Path, default=Path("build/screenshots"))
    args = parser.parse_args()
    if Path(args.data_dir).exists():
        parser.error(f"{args.data_dir} exists; give a new folder")
    args.out.mkdir(parents=True, exist_ok=True)

    keyring.set_keyring(MemoryKeyring())
    app = QApplication(sys.argv)
    app.setApplicationName("MedMitra Desktop")
    themes = ThemeController(app)
    themes.apply("light")
    context = open_app(args.data_dir)
    context.settings.save(replace(context.settings.load(), user_id=USER))
    server = ReferenceServer().start()
    conflict_case = prepare(context, server)

    sync = SyncRunner(context.sync)
    settings = QSettings(str(args.out / "sync-settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(context, USER, settings, sync=sync)
    window.resize(1280, 720)
    window.show()

    def shoot(name: str) -> None:
        app.primaryScreen().grabWindow(0).save(str(args.out / f"{name}.png"))
        print(args.out / f"{name}.png")

    steps: list[Callable[[], object]] = []

    def run_steps() -> None:
        if steps:
            steps.pop(0)()
            QTimer.singleShot(STEP_MS, run_steps)
        else:
            window.close()
            app.quit()

    def open_named(name: str) -> None:
        for row in range(window.model.rowCount()):
            if window.model.patient_name_at(row) == name:
                window.open_case_at(row)
                return

    dialogs: list[object] = []

    def conflict_dialog() -> None:
        record = context.cases.get_case(conflict_case)
        dialog = ConflictDialog(context.cases, USER, record, window)
        dialog.choices["patient_name"]["local"].setChecked(True)
        dialog.show()
        dialogs.append(dialog)

    def settings_dialog() -> None:
        dialog = SettingsDialog(context.settings, context.paths.data_dir, window,
                                sync=context.sync)
        dialog.show()
        dialogs.append(dialog)

    def close_dialogs() -> None:
        for dialog in dialogs:
            dialog.reject()  # type: ignore[attr-defined]
        dialogs.clear()

    steps.extend([
        lambda: window.table.selectRow(0),
        lambda: shoot("sync_case_list"),
        lambda: open_named("Kiran Rao (Mrs)"),
        lambda: shoot("sync_case_detail_conflict"),
        conflict_dialog,
        lambda: shoot("sync_conflict_dialog"),
        close_dialogs,
        lambda: open_named("Asha Verma"),
        lambda: shoot("sync_remote_insights"),
        settings_dialog,
        lambda: None,
        lambda: shoot("sync_settings"),
        close_dialogs,
        lambda: themes.apply("dark"),
        window.show_list,
        lambda: shoot("sync_case_list_dark"),
        lambda: open_named("Asha Verma"),
        lambda: shoot("sync_remote_insights_dark"),
    ])
    # After the window's first round (offline now): the indicator has its words.
    started: list[bool] = []

    def begin(_outcome: object) -> None:
        if not started:
            started.append(True)
            QTimer.singleShot(STEP_MS, run_steps)

    sync.round_finished.connect(begin)
    try:
        return app.exec()
    finally:
        sync.stop()
        context.close()


if __name__ == "__main__":
    raise SystemExit(main())
