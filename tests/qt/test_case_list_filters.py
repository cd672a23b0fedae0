"""The case list's filter bar: each filter narrows the list in the database, filters combine
with the search text, Clear restores the list; keyboard order and names."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from PySide6.QtCore import QDate, QSettings, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QWidget
from sqlalchemy import update

from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.enums import CaseStatus, Gender
from medmitra_desktop.domain.records import CaseQuery
from medmitra_desktop.storage.orm import Case
from medmitra_desktop.ui.main_window import MainWindow
from medmitra_desktop.ui.widgets.case_filters import NO_AGE, NO_DATE, CaseFilters
from tests.factories import make_case

# Shown windows on the offscreen platform log this harmless note.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def window(qtbot, context: AppContext, settings: QSettings) -> Iterator[MainWindow]:
    main = MainWindow(context, "dr-qt", settings)
    qtbot.addWidget(main)
    main.show()
    qtbot.waitUntil(main.isActiveWindow, timeout=2000)
    yield main


def created_days_ago(context: AppContext, case_id: str, days: int) -> None:
    """Back-date a case (the service always stamps "now")."""
    stamp = datetime.now(UTC) - timedelta(days=days)
    with context.database.session() as session:
        session.execute(update(Case).where(Case.uid == case_id).values(created_at=stamp))


@pytest.fixture
def three_cases(context: AppContext, window: MainWindow) -> None:
    """Anil: male 60 processing, 10 days old; Bina: female 30 completed; Chand: other 45
    failed."""
    anil = make_case(context.cases, name="Anil Kumar", age=60, gender="male",
                     notes="chest pain on exertion")  # notes to analyse: processing
    created_days_ago(context, anil.case_id, 10)
    make_case(context.cases, name="Bina Das", age=30, gender="female")  # nothing: completed
    chand = make_case(context.cases, name="Chand Roy", age=45, gender="other",
                      notes="chest pain at rest")
    context.cases.update_case(chand.case_id, user_id="dr-qt", changes={"status": "failed"})
    window.reload()
    assert window.model.total == 3


def names(window: MainWindow) -> set[str]:
    return {window.model.index(row, 0).data() for row in range(window.model.rowCount())}


def wait_for(qtbot, window: MainWindow, expected: set[str]) -> None:
    qtbot.waitUntil(lambda: names(window) == expected, timeout=2000)


ALL = {"Anil Kumar", "Bina Das", "Chand Roy"}


@pytest.mark.usefixtures("three_cases")
def test_status_filter_narrows_and_clear_restores(qtbot, window: MainWindow) -> None:
    bar = window.filters
    bar.status_buttons[CaseStatus.FAILED].click()
    assert names(window) == ALL  # debounced like the search: not yet
    wait_for(qtbot, window, {"Chand Roy"})
    assert window.model.query.statuses == (CaseStatus.FAILED,)
    bar.status_buttons[CaseStatus.PROCESSING].click()  # several statuses: any of them
    wait_for(qtbot, window, {"Chand Roy", "Anil Kumar"})
    assert bar.active_label.text() == "1 filter on"
    assert window.count_label.text() == "2 matching cases"
    assert bar.clear_button.isEnabled()

    bar.clear_button.click()
    wait_for(qtbot, window, ALL)
    assert not any(button.isChecked() for button in bar.status_buttons.values())
    assert bar.active_label.text() == "" and not bar.clear_button.isEnabled()
    assert window.count_label.text() == "3 cases"


@pytest.mark.usefixtures("three_cases")
def test_gender_filter_narrows(qtbot, window: MainWindow) -> None:
    combo = window.filters.gender
    combo.setCurrentIndex(combo.findData("male"))
    wait_for(qtbot, window, {"Anil Kumar"})
    combo.setCurrentIndex(combo.findData("other"))
    wait_for(qtbot, window, {"Chand Roy"})
    combo.setCurrentIndex(0)  # Any
    wait_for(qtbot, window, ALL)


@pytest.mark.usefixtures("three_cases")
def test_age_range_narrows_and_its_ends_push_each_other(qtbot, window: MainWindow) -> None:
    bar = window.filters
    bar.age_from.setValue(40)
    wait_for(qtbot, window, {"Anil Kumar", "Chand Roy"})
    bar.age_to.setValue(50)
    wait_for(qtbot, window, {"Chand Roy"})
    assert bar.active_label.text() == "1 filter on"  # one range, one filter
    bar.age_from.setValue(55)  # past "to": "to" moves along, never a reversed range
    assert bar.age_to.value() == 55
    wait_for(qtbot, window, set())
    assert window.stack.currentWidget() is window.no_match
    assert "clear them" in window.no_match.text()
    bar.age_to.setValue(20)  # below "from": "from" moves down
    assert bar.age_from.value() == 20
    bar.clear()
    assert (bar.age_from.value(), bar.age_to.value()) == (NO_AGE, NO_AGE)
    assert bar.age_from.text() == "Any"
    wait_for(qtbot, window, ALL)


@pytest.mark.usefixtures("three_cases")
def test_created_date_range_narrows(qtbot, window: MainWindow) -> None:
    bar = window.filters
    assert bar.created_from.text() == "Any date" and bar.created_from.day() is None
    five_days_ago = QDate.currentDate().addDays(-5)
    bar.created_from.setDate(five_days_ago)
    wait_for(qtbot, window, {"Bina Das", "Chand Roy"})
    bar.created_from.clear_day()
    bar.created_to.setDate(five_days_ago)
    wait_for(qtbot, window, {"Anil Kumar"})
    # "To" is inclusive: a case created today passes a range ending today.
    bar.created_to.setDate(QDate.currentDate())
    wait_for(qtbot, window, ALL)
    bar.created_from.setDate(QDate.currentDate())
    wait_for(qtbot, window, {"Bina Das", "Chand Roy"})
    assert bar.active_label.text() == "1 filter on"


def test_any_values_by_keyboard(qtbot, window: MainWindow) -> None:
    edit = window.filters.created_to
    assert edit.date() == NO_DATE
    qtbot.keyClick(edit, Qt.Key.Key_Up)  # from "Any date" start at today, not in 2000
    assert edit.date() == QDate.currentDate()
    qtbot.keyClick(edit, Qt.Key.Key_Down)
    assert edit.date() == QDate.currentDate().addDays(-1)
    qtbot.keyClick(edit, Qt.Key.Key_Delete)  # back to "Any date"
    assert edit.date() == NO_DATE and edit.text() == "Any date"
    qtbot.keyClicks(edit, "5")  # typing over "Any date": the 5th of this month
    today = QDate.currentDate()
    assert edit.date() == QDate(today.year(), today.month(), 5)

    age = window.filters.age_from
    age.lineEdit().setCursorPosition(3)  # after "Any", as a click would leave it
    qtbot.keyClicks(age, "42")
    qtbot.keyClick(age, Qt.Key.Key_Return)
    assert age.value() == 42
    qtbot.keyClick(age, Qt.Key.Key_Delete)
    assert age.value() == NO_AGE and age.text() == "Any"


@pytest.mark.usefixtures("three_cases")
def test_filters_and_search_make_one_query(qtbot, window: MainWindow) -> None:
    bar = window.filters
    qtbot.keyClicks(window.search, "chest")
    wait_for(qtbot, window, {"Anil Kumar", "Chand Roy"})
    bar.status_buttons[CaseStatus.FAILED].click()
    bar.age_from.setValue(40)
    wait_for(qtbot, window, {"Chand Roy"})
    query = window.model.query
    assert (query.search, query.statuses, query.age_min, query.in_trash) == (
        "chest", (CaseStatus.FAILED,), 40, False)
    assert bar.active_label.text() == "2 filters on"
    window.search.clear()
    wait_for(qtbot, window, {"Chand Roy"})  # the filters stay without the search
    bar.clear()
    wait_for(qtbot, window, ALL)


@pytest.mark.usefixtures("three_cases")
def test_a_filter_change_is_one_page_query(qtbot, window: MainWindow,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Filtering is SQL through list_cases, one page at a time, never a query per row."""
    service = window.model._service
    calls: list[CaseQuery] = []
    original = service.list_cases

    def counting(query: CaseQuery):
        calls.append(query)
        return original(query)

    monkeypatch.setattr(service, "list_cases", counting)
    window.filters.gender.setCurrentIndex(window.filters.gender.findData("female"))
    wait_for(qtbot, window, {"Bina Das"})
    window.table.grab()  # paint every visible row
    assert len(calls) == 1 and calls[0].genders == (Gender.FEMALE,)
    assert calls[0].size <= 100


def test_case_filters_make_a_query() -> None:
    day = date(2025, 3, 4)
    query = CaseFilters(statuses=(CaseStatus.COMPLETED,), genders=(Gender.FEMALE,),
                        age_min=18, age_max=65, created_from=day,
                        created_to=day).apply_to(CaseQuery(search="x", sort="patient_name"))
    assert (query.search, query.sort) == ("x", "patient_name")
    assert query.age_min == 18 and query.age_max == 65
    assert query.created_from is not None and query.created_to is not None
    assert query.created_from.tzinfo is not None  # local midnight, aware
    assert query.created_to - query.created_from == timedelta(days=1, microseconds=-1)
    assert CaseFilters(statuses=(CaseStatus.COMPLETED,), age_min=3).active_count == 2
    reversed_range = CaseFilters(age_min=50, age_max=20)
    assert reversed_range.active_count == 0
    assert reversed_range.apply_to(CaseQuery()).age_min is None


def test_set_filters_emits_once(qtbot, window: MainWindow) -> None:
    bar = window.filters
    seen: list[bool] = []
    bar.changed.connect(lambda: seen.append(True))
    bar.set_filters(CaseFilters(statuses=(CaseStatus.FAILED, CaseStatus.PROCESSING),
                                genders=(Gender.MALE,), age_min=10, age_max=20,
                                created_from=date(2024, 1, 1), created_to=date(2024, 2, 1)))
    assert len(seen) == 1
    assert bar.filters().active_count == 4 and bar.active_label.text() == "4 filters on"
    assert bar.created_to.day() == date(2024, 2, 1)


def test_tab_walks_search_filters_then_table(qtbot, window: MainWindow,
                                             context: AppContext) -> None:
    make_case(context.cases, name="Someone")
    window.reload()
    bar = window.filters
    expected: list[QWidget] = [window.trash_button, *bar.status_buttons.values(), bar.gender,
                               bar.age_from, bar.age_to, bar.created_from, bar.created_to,
                               window.table]  # Clear filters is skipped while disabled
    window.search.setFocus()
    order = []
    for _ in expected:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        focused = QApplication.focusWidget()
        # A spin box's or date edit's inner line edit stands for the box.
        while focused is not None and isinstance(focused.parentWidget(), QAbstractSpinBox):
            focused = focused.parentWidget()
        order.append(focused)
    assert order == expected
    for control in [window.search, window.table, *bar.focus_chain(), window.trash_button]:
        assert control.accessibleName(), control


def test_shortcuts_are_unique_and_as_documented(window: MainWindow) -> None:
    """Window-wide keys are unique; keys scoped to one page (Esc on a case, Esc on the new
    case form) only need to be unique within that page, since one page shows at a time."""
    scopes: dict[object, dict[str, str]] = {}
    for action in window.findChildren(type(window.undo_action)):
        page_scoped = action.shortcutContext() == Qt.ShortcutContext.WidgetWithChildrenShortcut
        scope = action.parent() if page_scoped else window
        shortcuts = scopes.setdefault(scope, {})
        for sequence in action.shortcuts():
            text = sequence.toString(QKeySequence.SequenceFormat.PortableText)
            assert text not in shortcuts, (text, action.text(), shortcuts.get(text))
            shortcuts[text] = action.text()
    window_wide = scopes[window]
    for expected in ("Ctrl+N", "Ctrl+F", "F5", "Del", "Ctrl+Z", "Ctrl+,", "Ctrl+Q"):
        assert expected in window_wide, (expected, window_wide)
    for scope, keys in scopes.items():
        if scope is not window:
            assert not set(keys) & set(window_wide), (keys, window_wide)
