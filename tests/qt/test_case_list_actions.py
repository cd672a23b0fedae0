"""The case list's actions: context menu, multi-select move to the trash with one question,
Undo, the Delete and Enter keys, the trash view with Restore, the sync indicator."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QItemSelectionModel, QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QWidget

from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.enums import CaseStatus
from medmitra_desktop.domain.errors import NotFoundError
from medmitra_desktop.ui.main_window import NOT_SYNCING, MainWindow
from tests.factories import make_case

# Shown windows on the offscreen platform log this harmless note.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

NAMES = ("Asha Verma", "Bela Rao", "Chitra Nair")


@pytest.fixture
def window(qtbot, context: AppContext, settings: QSettings) -> Iterator[MainWindow]:
    for name in NAMES:
        make_case(context.cases, name=name)  # no files or notes: completed at once
    main = MainWindow(context, "dr-qt", settings)
    qtbot.addWidget(main)
    main.show()
    qtbot.waitUntil(main.isActiveWindow, timeout=2000)
    yield main


class Questions:
    """Stands in for QMessageBox.question: records the text, gives a set answer."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.asked: list[str] = []
        self.answer = QMessageBox.StandardButton.Yes
        monkeypatch.setattr(QMessageBox, "question", self)

    def __call__(self, _parent: QWidget, _title: str, text: str, *_args: object
                 ) -> QMessageBox.StandardButton:
        self.asked.append(text)
        return self.answer


def row_of(window: MainWindow, name: str) -> int:
    return next(row for row in range(window.model.rowCount())
                if window.model.index(row, 0).data() == name)


def select(window: MainWindow, *names: str) -> list[str]:
    """Select these patients' rows (as Ctrl+click would); their case ids."""
    selection = window.table.selectionModel()
    selection.clearSelection()
    selection.setCurrentIndex(window.model.index(row_of(window, names[0]), 0),
                              QItemSelectionModel.SelectionFlag.NoUpdate)
    for name in names:
        selection.select(window.model.index(row_of(window, name), 0),
                         QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)
    return [window.model.case_id_at(row_of(window, name)) or "" for name in names]


def shown_names(window: MainWindow) -> set[str]:
    return {window.model.index(row, 0).data() for row in range(window.model.rowCount())}


def in_trash(context: AppContext, case_id: str) -> bool:
    try:
        context.cases.get_case(case_id)
    except NotFoundError:
        return context.cases.get_case(case_id, include_deleted=True).deleted_at is not None
    return False


def menu_texts(window: MainWindow) -> list[str]:
    menu = window.build_context_menu()
    try:
        return [action.text().replace("&", "") for action in menu.actions()
                if not action.isSeparator()]
    finally:
        menu.deleteLater()


def test_context_menu_offers_open_reanalyse_delete(window: MainWindow) -> None:
    select(window, "Bela Rao")
    assert menu_texts(window) == ["Open", "Re-analyse", "Delete…"]
    assert window.delete_action.shortcut().toString() == "Del"
    select(window, "Bela Rao", "Asha Verma")
    assert menu_texts(window) == ["Open", "Re-analyse 2 cases", "Delete 2 cases…"]
    window.table.selectionModel().clearSelection()
    window._update_actions()
    assert not window.delete_action.isEnabled() and not window.open_action.isEnabled()


def test_open_action_opens_the_selected_case(window: MainWindow) -> None:
    select(window, "Chitra Nair")
    window.open_action.trigger()
    assert window.stack.currentWidget() is window.detail
    assert window.detail.patient_label.text() == "Chitra Nair"
    assert window.list_header.isHidden()  # the filters are for the list
    assert not window.delete_action.isEnabled()  # Delete is the detail's own button here
    window.detail.back_button.click()
    assert window.stack.currentWidget() is window.table
    assert not window.list_header.isHidden()
    assert window.selected_case_ids() == [window.detail.case_id]


def test_reanalyse_action_queues_the_selected_cases(window: MainWindow,
                                                    context: AppContext) -> None:
    case_ids = select(window, "Asha Verma", "Chitra Nair")
    window.reanalyse_selection_action.trigger()
    for case_id in case_ids:
        assert context.cases.get_case(case_id).status is CaseStatus.PROCESSING
    bela = window.model.case_id_at(row_of(window, "Bela Rao"))
    assert context.cases.get_case(bela or "").status is CaseStatus.COMPLETED


def test_multi_select_delete_asks_once_and_undo_restores_exactly_those(
        qtbot, window: MainWindow, context: AppContext, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    questions = Questions(monkeypatch)
    questions.answer = QMessageBox.StandardButton.No
    case_ids = select(window, "Asha Verma", "Chitra Nair")
    window.delete_action.trigger()
    assert len(questions.asked) == 1 and "Move 2 cases to the trash?" in questions.asked[0]
    assert not any(in_trash(context, case_id) for case_id in case_ids)  # "No" keeps them

    questions.answer = QMessageBox.StandardButton.Yes
    with caplog.at_level(logging.INFO):
        window.delete_action.trigger()
    assert len(questions.asked) == 2
    assert all(in_trash(context, case_id) for case_id in case_ids)
    assert shown_names(window) == {"Bela Rao"}
    assert window.count_label.text() == "1 case"
    assert window.undo_label.text() == "2 cases moved to the trash."
    assert window.undo_button.isVisible() and window.undo_action.isEnabled()
    assert "Moved 2 case(s) to the trash" in caplog.text
    assert not any(name in caplog.text for name in NAMES)  # no patient names in logs
    # The cursor stays on the list for the next key press.
    assert window.selected_case_ids() == [window.model.case_id_at(0)]

    # Another case trashed elsewhere meanwhile is not part of the Undo.
    bela = window.model.case_id_at(0) or ""
    context.cases.delete_case(bela, user_id="someone-else")
    qtbot.keyClick(window.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not any(in_trash(context, case_id) for case_id in case_ids)
    assert in_trash(context, bela)
    assert shown_names(window) == {"Asha Verma", "Chitra Nair"}
    assert sorted(window.selected_case_ids()) == sorted(case_ids)  # restored, selected
    assert not window.undo_action.isEnabled() and not window.undo_button.isVisible()
    assert "2 cases restored" in window.statusBar().currentMessage()


def test_undo_button_in_the_status_bar(qtbot, window: MainWindow, context: AppContext,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    Questions(monkeypatch)
    (case_id,) = select(window, "Bela Rao")
    window.delete_selected()
    assert in_trash(context, case_id)
    assert window.undo_label.text() == "Case moved to the trash."
    window.undo_button.click()
    assert not in_trash(context, case_id)
    assert "Bela Rao" in shown_names(window)

    # The offer leaves the status bar after a while; Edit › Undo (Ctrl+Z) stays.
    window._undo_offer_timer.setInterval(50)
    select(window, "Bela Rao")
    window.delete_selected()
    qtbot.waitUntil(lambda: not window.undo_bar.isVisible(), timeout=2000)
    assert window.undo_action.isEnabled()
    window.undo_action.trigger()
    assert not in_trash(context, case_id)


def test_one_case_question_names_the_patient(window: MainWindow,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    questions = Questions(monkeypatch)
    questions.answer = QMessageBox.StandardButton.No
    select(window, "Bela Rao")
    window.delete_selected()
    assert questions.asked[0].startswith("Move the case of Bela Rao to the trash?")


def test_delete_key_moves_the_selection_to_the_trash(qtbot, window: MainWindow,
                                                     context: AppContext,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    questions = Questions(monkeypatch)
    case_ids = select(window, "Asha Verma", "Bela Rao")
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Delete)
    assert len(questions.asked) == 1
    assert all(in_trash(context, case_id) for case_id in case_ids)
    # In the search box Delete is the line edit's own key.
    window.search.setFocus()
    qtbot.keyClicks(window.search, "ab")
    qtbot.keyClick(window.search, Qt.Key.Key_Home)
    qtbot.keyClick(window.search, Qt.Key.Key_Delete)
    assert window.search.text() == "b" and len(questions.asked) == 1


def test_enter_opens_the_current_case(qtbot, window: MainWindow) -> None:
    select(window, "Asha Verma")
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is window.detail
    assert window.detail.patient_label.text() == "Asha Verma"


def test_trash_view_lists_and_restores(qtbot, window: MainWindow, context: AppContext,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    window.trash_action.trigger()
    assert window.in_trash and window.trash_button.isChecked()
    assert window.stack.currentWidget() is window.trash_empty
    assert window.windowTitle().startswith("Trash")
    window.trash_action.trigger()

    Questions(monkeypatch)
    case_ids = select(window, "Asha Verma", "Chitra Nair")
    window.delete_selected()
    window.trash_button.click()
    assert window.in_trash and not window.trash_banner.isHidden()
    assert shown_names(window) == {"Asha Verma", "Chitra Nair"}
    assert window.count_label.text() == "2 cases in the trash"
    assert window.model.query.in_trash
    select(window, "Chitra Nair")
    assert menu_texts(window) == ["Restore"]
    assert not window.delete_action.isEnabled() and window.restore_button.isEnabled()
    window.open_case_at(0)  # a trashed case does not open
    assert window.stack.currentWidget() is window.table
    assert "restore it" in window.statusBar().currentMessage()

    window.restore_button.click()
    assert shown_names(window) == {"Asha Verma"}
    assert not in_trash(context, case_ids[1]) and in_trash(context, case_ids[0])
    # The filters and the search apply to the trash too.
    qtbot.keyClicks(window.search, "zzz")
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.no_match, timeout=2000)
    window.search.clear()
    qtbot.waitUntil(lambda: window.model.total == 1, timeout=2000)
    select(window, "Asha Verma")
    window.restore_action.trigger()
    assert window.stack.currentWidget() is window.trash_empty

    window.trash_button.click()
    assert not window.in_trash and window.trash_banner.isHidden()
    assert shown_names(window) == set(NAMES)


def test_detail_delete_can_be_undone(window: MainWindow, context: AppContext,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    Questions(monkeypatch)
    (case_id,) = select(window, "Bela Rao")
    window.open_selected()
    window.detail.delete_button.click()
    assert window.stack.currentWidget() is window.table and in_trash(context, case_id)
    assert window.undo_action.isEnabled()
    window.undo_action.trigger()
    assert not in_trash(context, case_id)
    assert window.selected_case_ids() == [case_id]


# A popup on the offscreen platform logs these notes too.
@pytest.mark.qt_log_ignore("This plugin does not support (propagateSizeHints|raise|grabbing)")
def test_context_menu_request_selects_the_row_under_the_pointer(qtbot,
                                                                 window: MainWindow) -> None:
    shown: list[list[str]] = []

    def read_and_close_menu() -> None:
        popup = QApplication.activePopupWidget()
        assert isinstance(popup, QMenu)
        shown.append([action.text() for action in popup.actions()])
        popup.close()

    select(window, "Asha Verma")
    row = row_of(window, "Chitra Nair")
    position = window.table.visualRect(window.model.index(row, 0)).center()
    QTimer.singleShot(0, read_and_close_menu)  # runs inside the menu's own event loop
    window.table.customContextMenuRequested.emit(position)
    assert window.selected_case_ids() == [window.model.case_id_at(row)]
    assert shown and "&Open" in shown[0]


def test_sync_indicator_is_quiet_and_named(window: MainWindow) -> None:
    label = window.sync_label
    assert label.text() == NOT_SYNCING == "Offline · sync not set up"
    assert label.accessibleName() == "Sync status" and label.isVisible()
    window.set_sync_state("Synced 2 minutes ago")
    assert label.text() == "Synced 2 minutes ago"
    assert label.accessibleDescription() == "Synced 2 minutes ago"
