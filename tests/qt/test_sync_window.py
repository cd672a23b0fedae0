"""The window synced with the reference MedMitra server over real HTTP: the status-bar
indicator, the list's Sync column, cases arriving from the server, a conflict resolved
in the case's detail, the server's insights beside the local ones, and offline work that
never freezes the window or opens a dialog."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox

from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.enums import SyncState
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.ui.main_window import MainWindow
from medmitra_desktop.ui.models.case_table_model import SYNC_COLUMN, SYNC_ROLE
from medmitra_desktop.ui.sync_runner import NOT_SYNCING, SyncIntervals, SyncRunner
from medmitra_desktop.ui.views.conflict_dialog import ConflictDialog
from medmitra_desktop.ui.widgets.clinical_colors import ClinicalColors, contrast_ratio
from medmitra_desktop.ui.widgets.sync_state import sync_text_color, sync_word
from tests.factories import LAB_LINES, make_case, text_pdf
from tests.qt.palettes import PALETTE_CASES, palette_for
from tests.qt.test_sync_runner import USER, closed_port_url, sign_in
from tests.sync.reference_server import ReferenceServer

WindowFactory = Callable[[], MainWindow]
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def no_dialogs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every message box a test did not ask for is recorded (and answered at once, so a
    dialog fails the test instead of hanging it)."""
    shown: list[str] = []

    def record(_parent, _title, text, *_args, **_kwargs):
        shown.append(text)
        return QMessageBox.StandardButton.Ok

    for name in ("warning", "critical", "information", "question"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(record))
    return shown


@pytest.fixture
def make_window(qtbot, context: AppContext, settings: QSettings,
                no_dialogs: list[str]) -> Iterator[WindowFactory]:
    runners: list[SyncRunner] = []

    def make() -> MainWindow:
        runner = SyncRunner(context.sync, intervals=SyncIntervals(after_change=200))
        runners.append(runner)
        window = MainWindow(context, USER, settings, sync=runner)
        qtbot.addWidget(window)
        window.show()
        return window

    yield make
    for runner in runners:  # before the database closes
        runner.stop()


def row_named(window: MainWindow, name: str) -> int | None:
    return next((row for row in range(window.model.rowCount())
                 if window.model.patient_name_at(row) == name), None)


def sync_cell(window: MainWindow, name: str) -> tuple[str, str]:
    row = row_named(window, name)
    assert row is not None, name
    index = window.model.index(row, SYNC_COLUMN)
    return index.data(), index.data(Qt.ItemDataRole.ToolTipRole)


def wait_for_words(qtbot, window: MainWindow, start: str, timeout: int = 15_000) -> None:
    qtbot.waitUntil(lambda: window.sync_label.text().startswith(start), timeout=timeout)


# ---- status bar and list ------------------------------------------------------------------


def test_without_sync_the_window_says_so_quietly(qtbot, context: AppContext,
                                                 make_window: WindowFactory,
                                                 no_dialogs: list[str]) -> None:
    make_case(context.cases, user_id=USER)
    window = make_window()
    with qtbot.waitSignal(window._sync.round_finished, timeout=10_000):
        pass
    assert window.sync_label.text() == NOT_SYNCING
    assert window.table.isColumnHidden(SYNC_COLUMN)  # no "Local only" on every row
    window.sync_now()
    assert "not set up" in window.statusBar().currentMessage()
    assert no_dialogs == []


def test_offline_the_window_keeps_working_and_shows_the_changes_waiting(
        qtbot, context: AppContext, make_window: WindowFactory,
        reference_server: ReferenceServer, no_dialogs: list[str]) -> None:
    sign_in(context, reference_server, url=closed_port_url())
    make_case(context.cases, name="Asha Verma", user_id=USER)
    window = make_window()
    wait_for_words(qtbot, window, "Offline · 1 change waiting")
    assert "could not" in window.sync_label.toolTip().lower() or \
        "reach" in window.sync_label.toolTip().lower()
    assert not window.table.isColumnHidden(SYNC_COLUMN)
    word, tooltip = sync_cell(window, "Asha Verma")
    assert word == "Pending" and "wait" in tooltip

    # Work goes on: a new case, then Sync now; still only the quiet words.
    make_case(context.cases, name="Bela Roy", user_id=USER)
    window.reload()
    window._sync_changed()
    wait_for_words(qtbot, window, "Offline · 2 changes waiting")
    with qtbot.waitSignal(window._sync.round_finished, timeout=10_000):
        window.sync_now()
    assert window.sync_label.text() == "Offline · 2 changes waiting"
    assert no_dialogs == []
    assert window.stack.currentWidget() is window.table


def test_a_slow_server_never_freezes_the_window(
        qtbot, context: AppContext, make_window: WindowFactory,
        reference_server: ReferenceServer, no_dialogs: list[str]) -> None:
    sign_in(context, reference_server)
    reference_server.faults.add("GET", "/cases/all_cases", "slow", seconds=1.5)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    window = make_window()
    wait_for_words(qtbot, window, "Syncing…", timeout=5_000)
    wait_for_words(qtbot, window, "Synced · ")
    timer.stop()
    gaps = [later - earlier for earlier, later in itertools.pairwise(ticks)]
    assert len(ticks) > 40 and max(gaps) < 0.5  # the event loop kept turning
    assert no_dialogs == []


def test_a_case_from_the_server_appears_in_the_list_and_the_selection_stays(
        qtbot, context: AppContext, make_window: WindowFactory,
        reference_server: ReferenceServer, no_dialogs: list[str]) -> None:
    sign_in(context, reference_server)
    make_case(context.cases, name="Chitra Nair", user_id=USER)
    window = make_window()
    wait_for_words(qtbot, window, "Synced · ")
    window.table.selectRow(row_named(window, "Chitra Nair"))

    reference_server.add_case(USER, "Meena Iyer", 52, "female", "Fatigue")
    with qtbot.waitSignal(window._sync.round_finished, timeout=10_000):
        window.sync_now()

    assert row_named(window, "Meena Iyer") is not None
    assert sync_cell(window, "Meena Iyer")[0] == "Synced"
    assert window.model.index(row_named(window, "Meena Iyer"), SYNC_COLUMN).data(SYNC_ROLE) \
        == SyncState.SYNCED.value
    assert window.selected_case_ids() == [
        window.model.case_id_at(row_named(window, "Chitra Nair"))]
    assert "arrived from the MedMitra server" in window.statusBar().currentMessage()
    assert no_dialogs == []


def test_a_refused_sign_in_says_sign_in_needed(qtbot, context: AppContext,
                                               make_window: WindowFactory,
                                               reference_server: ReferenceServer,
                                               no_dialogs: list[str]) -> None:
    sign_in(context, reference_server)
    reference_server.revoke_token(reference_server.token)
    window = make_window()
    wait_for_words(qtbot, window, "Sign in needed")
    assert "Settings" in window.sync_label.toolTip()
    assert no_dialogs == []


# ---- conflicts ----------------------------------------------------------------------------


def test_a_conflict_is_resolved_field_by_field_in_the_case(
        qtbot, context: AppContext, make_window: WindowFactory,
        reference_server: ReferenceServer) -> None:
    record = make_case(context.cases, name="Kiran Rao", age=30, user_id=USER)
    sign_in(context, reference_server)
    window = make_window()
    wait_for_words(qtbot, window, "Synced · ")
    (remote,) = reference_server.cases(USER)
    reference_server.update_case(remote["case_id"], patient_name="Kiran R. Rao",
                                 patient_age=32)
    context.cases.update_case(record.case_id, user_id=USER,
                              changes={"patient_name": "Kiran Rao (Mrs)", "patient_age": 31})
    with qtbot.waitSignal(window._sync.round_finished, timeout=10_000):
        window.sync_now()
    word, tooltip = sync_cell(window, "Kiran Rao (Mrs)")
    assert word == "Conflict" and "Resolve" in tooltip
    assert "Resolve" in window.statusBar().currentMessage()

    window.open_case(record.case_id)
    line = window.detail.sync_line
    assert line.isVisible() and line.resolve_button.isVisible()
    assert "Conflict" in line.label.text()

    def choose(dialog: ConflictDialog) -> bool:
        qtbot.addWidget(dialog)
        assert set(dialog.choices) == {"patient_name", "patient_age"}
        assert dialog.choices["patient_name"]["local"].text() == \
            "This computer: Kiran Rao (Mrs)"
        assert dialog.choices["patient_name"]["remote"].text() == "Server: Kiran R. Rao"
        assert not any(b.isChecked() for sides in dialog.choices.values()
                       for b in sides.values())
        assert not dialog.ok_button.isEnabled()
        dialog.choices["patient_name"]["local"].click()
        assert not dialog.ok_button.isEnabled()  # the age is not chosen yet
        dialog.choices["patient_age"]["remote"].click()
        assert dialog.ok_button.isEnabled()
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
        return dialog.result() == ConflictDialog.DialogCode.Accepted

    line.run_dialog = choose
    with qtbot.waitSignal(window._sync.round_finished, timeout=10_000):
        line.resolve_button.click()  # the resolved case is synced at once
    qtbot.waitUntil(lambda: context.cases.get_case(record.case_id).sync_state
                    is SyncState.SYNCED, timeout=10_000)
    server_case = reference_server.case_detail(remote["case_id"])["case"]
    assert (server_case["patient_name"], server_case["patient_age"]) == ("Kiran Rao (Mrs)", 32)
    local = context.cases.get_case(record.case_id)
    assert (local.patient_name, local.patient_age) == ("Kiran Rao (Mrs)", 32)
    qtbot.waitUntil(lambda: not line.resolve_button.isVisible(), timeout=5_000)
    assert "Synced" in line.label.text()
    assert sync_cell(window, "Kiran Rao (Mrs)")[0] == "Synced"


# ---- the server's insights ----------------------------------------------------------------


def test_server_insights_are_shown_beside_the_local_ones(
        qtbot, context: AppContext, make_window: WindowFactory, jobs: AnalysisJobs,
        reference_server: ReferenceServer, tmp_path: Path) -> None:
    lab = text_pdf(tmp_path / "cbc.pdf", LAB_LINES)
    record = make_case(context.cases, name="Farah Khan", lab=[lab], user_id=USER,
                       notes="Fatigue for a month")
    assert jobs.run_next() is not None
    local = context.results.results(record.case_id).latest_insight("local")
    assert local is not None and local.payload.get("summary")
    reference_server.processing_seconds = 0  # the server's analysis is done at once
    sign_in(context, reference_server)
    window = make_window()
    wait_for_words(qtbot, window, "Synced · ")
    qtbot.waitUntil(lambda: context.results.results(record.case_id).latest_insight("remote")
                    is not None, timeout=10_000)
    (remote,) = reference_server.cases(USER)
    server_summary = reference_server.case_detail(remote["case_id"])["ai_insights"][
        "comprehensive_summary"]

    window.open_case(record.case_id)
    summary = window.detail.summary
    panel = summary.remote_insights
    assert panel.isVisible()
    assert "MedMitra server" in panel.title.text() and "received" in panel.title.text()
    assert server_summary.split(",")[0] in panel.body.text()
    assert "I10" in panel.body.text()
    # This computer's own results are still there, and still its own.
    assert summary.summary_label.isVisible()
    assert summary.summary_label.text().startswith(
        local.payload["summary"][:20].replace("&", "&amp;"))
    assert server_summary.split(",")[0] not in summary.summary_label.text()


def test_no_server_panel_without_server_insights(qtbot, context: AppContext,
                                                 make_window: WindowFactory) -> None:
    record = make_case(context.cases, user_id=USER)
    window = make_window()
    window.open_case(record.case_id)
    assert not window.detail.summary.remote_insights.isVisible()
    assert not window.detail.sync_line.isVisible()  # local only, sync not set up


def test_no_modal_dialog_is_left_open(qtbot) -> None:
    """Guard for the tests above: nothing they did left a dialog on screen."""
    assert not [w for w in QApplication.topLevelWidgets()
                if isinstance(w, QMessageBox) and w.isVisible()]


@pytest.mark.parametrize(("base", "text"), PALETTE_CASES)
def test_sync_words_are_readable_on_light_and_dark_palettes(qapp, base: str,
                                                            text: str) -> None:
    colors = ClinicalColors.from_palette(palette_for(base, text))
    for state in SyncState:
        colour = sync_text_color(state, colors) or colors.text
        assert contrast_ratio(colour, colors.base) >= 4.5, (state, colour.name())
        assert sync_word(state)  # never colour alone


def test_column_widths_come_back_but_an_older_layout_is_not_misapplied(
        qtbot, context: AppContext, settings: QSettings) -> None:
    first = MainWindow(context, USER, settings)
    qtbot.addWidget(first)
    first.table.horizontalHeader().resizeSection(2, 123)
    first.close()
    again = MainWindow(context, USER, settings)
    qtbot.addWidget(again)
    assert again.table.horizontalHeader().sectionSize(2) == 123
    # A layout saved before the Sync column existed (no column count with it).
    settings.remove("main_window/column_count")
    older = MainWindow(context, USER, settings)
    qtbot.addWidget(older)
    assert older.table.horizontalHeader().sectionSize(2) == 80  # the default
