"""The audit trail is tamper-evident (hash chain), checked at every start of the window
with a message rather than a crash, and viewable read-only in the window and the CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QAbstractItemView, QMessageBox

from medmitra_desktop.__main__ import main
from medmitra_desktop.app import AppContext
from medmitra_desktop.services.audit_review import check_chain, list_events
from medmitra_desktop.ui import audit_dialog
from medmitra_desktop.ui.audit_dialog import AuditLogDialog, warn_if_audit_broken
from medmitra_desktop.ui.main_window import MainWindow
from tests.factories import make_case


def _tamper(context: AppContext, statement: str) -> None:
    """What someone with the database file and a SQLite tool could do."""
    connection = sqlite3.connect(context.paths.database)
    try:
        connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


def _day(context: AppContext) -> str:
    case = make_case(context.cases, name="Audit Person")
    context.cases.get_case(case.case_id, user_id="dr-audit")
    context.cases.update_case(case.case_id, user_id="dr-audit", changes={"patient_age": 46})
    context.cases.delete_case(case.case_id, user_id="dr-audit")
    context.cases.restore_case(case.case_id, user_id="dr-audit")
    return case.case_id


@pytest.mark.parametrize(("change", "broken"), [
    ("UPDATE audit_log SET user_id = 'someone-else' WHERE id = 2", (2,)),
    ("UPDATE audit_log SET detail = 'fields=' WHERE id = 3", (3,)),
    ("DELETE FROM audit_log WHERE id = 3", (4,)),  # the next row's link no longer fits
    ("UPDATE audit_log SET action = 'view' WHERE id = 5", (5,)),
])
def test_any_edit_or_deletion_is_found(context: AppContext, change: str,
                                       broken: tuple[int, ...]) -> None:
    _day(context)
    assert check_chain(context.database).intact
    _tamper(context, change)
    check = check_chain(context.database)
    assert check.broken == broken
    assert "changed outside MedMitra Desktop" in check.message()
    assert "Your cases are not affected" in check.message()
    marked = {row.id: row.intact for row in list_events(context.database)}
    assert [row_id for row_id, intact in marked.items() if not intact] == list(broken)


def test_start_up_check_warns_once_and_the_app_goes_on(
        qtbot, context: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[str] = []
    monkeypatch.setattr(audit_dialog.QMessageBox, "warning",
                        lambda _parent, _title, text: shown.append(text))
    _day(context)
    assert warn_if_audit_broken(None, context.database).intact and shown == []
    _tamper(context, "UPDATE audit_log SET user_id = 'x' WHERE id = 1")
    check = warn_if_audit_broken(None, context.database)
    assert not check.intact and shown == [check.message()]
    make_case(context.cases, name="Still Working")  # new rows chain on as before
    assert check_chain(context.database).broken == (1,)


def test_viewer_is_read_only_and_marks_changed_rows(qtbot, context: AppContext,
                                                    tmp_path: Path) -> None:
    case_id = _day(context)
    _tamper(context, "UPDATE audit_log SET detail = 'fields=nothing' WHERE id = 3")
    dialog = AuditLogDialog(context.database)
    qtbot.addWidget(dialog)
    assert dialog.model.rowCount() == 5
    assert dialog.table.editTriggers() == QAbstractItemView.EditTrigger.NoEditTriggers
    rows = [[dialog.model.index(r, c).data() for c in range(6)] for r in range(5)]
    assert rows[0][2] == "restore" and case_id in rows[0][3]  # newest first
    assert [row[5] for row in rows] == ["ok", "ok", "CHANGED", "ok", "ok"]
    assert "changed outside" in dialog.summary.text()
    window = MainWindow(context, "dr-qt",
                        QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    file_menu = window.menuBar().actions()[0].menu()
    assert window.audit_action in file_menu.actions()
    assert QMessageBox is not None


def test_cli_verify_and_list(context: AppContext, capsys: pytest.CaptureFixture[str]) -> None:
    case_id = _day(context)
    data_dir = str(context.paths.data_dir)
    context.close()  # the CLI opens the folder itself
    assert main(["--data-dir", data_dir, "audit", "verify"]) == 0
    assert "intact: 5 entries" in capsys.readouterr().out
    assert main(["--data-dir", data_dir, "audit", "list", "--case", case_id, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [event["action"] for event in listed] == ["restore", "delete", "update", "view",
                                                     "create"]
    connection = sqlite3.connect(Path(data_dir) / "medmitra.sqlite3")
    connection.execute("DELETE FROM audit_log WHERE id = 1")
    connection.commit()
    connection.close()
    assert main(["--data-dir", data_dir, "audit", "verify", "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == {"rows": 4, "intact": False,
                                                   "broken_ids": [2]}
