from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from medmitra_desktop.app import AppContext
from medmitra_desktop.services.cases import CaseService
from medmitra_desktop.ui.main_window import MainWindow
from medmitra_desktop.ui.models.case_table_model import PAGE_SIZE, CaseTableModel
from tests.factories import make_case


@pytest.fixture
def window(qtbot, context: AppContext, settings: QSettings) -> MainWindow:
    main = MainWindow(context, "dr-qt", settings)
    qtbot.addWidget(main)
    return main


def test_model_pages_lazily(qtbot, qtmodeltester, service: CaseService) -> None:
    for number in range(PAGE_SIZE + 20):
        make_case(service, name=f"Patient {number:03d}")
    model = CaseTableModel(service)
    model.refresh()
    assert model.rowCount() == PAGE_SIZE and model.total == PAGE_SIZE + 20
    assert model.canFetchMore(model.index(-1, -1))
    model.fetchMore(model.index(-1, -1))
    assert model.rowCount() == PAGE_SIZE + 20 and not model.canFetchMore(model.index(-1, -1))
    qtmodeltester.check(model, force_py=True)


def test_model_sorts_in_the_database(qtbot, service: CaseService) -> None:
    for name, age in (("Bela", 50), ("Arun", 20), ("Chitra", 35)):
        make_case(service, name=name, age=age)
    model = CaseTableModel(service)
    model.sort(1, Qt.SortOrder.AscendingOrder)
    assert [model.index(r, 1).data() for r in range(3)] == ["20", "35", "50"]
    model.sort(0, Qt.SortOrder.DescendingOrder)
    assert [model.index(r, 0).data() for r in range(3)] == ["Chitra", "Bela", "Arun"]


def test_empty_state_then_list(window: MainWindow, service: CaseService) -> None:
    assert window.stack.currentWidget() is window.empty_state
    make_case(service, name="First Patient")
    window.reload()
    assert window.stack.currentWidget() is window.table
    assert window.model.index(0, 0).data() == "First Patient"
    assert window.count_label.text() == "1 case"


def test_search_is_debounced_and_filters(qtbot, window: MainWindow,
                                         service: CaseService) -> None:
    make_case(service, name="Farah Khan", notes="asthma")
    make_case(service, name="Gopal Das", notes="gout")
    window.reload()
    qtbot.keyClicks(window.search, "gou")
    assert window.model.total == 2  # not yet: the timer is still waiting
    qtbot.waitUntil(lambda: window.model.total == 1, timeout=2000)
    assert window.model.index(0, 0).data() == "Gopal Das"
    window.search.clear()
    qtbot.keyClicks(window.search, "zzzz")
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.no_match, timeout=2000)


def test_new_case_page_saves_and_opens_the_case(qtbot, window: MainWindow,
                                                  tmp_path: Path) -> None:
    window.new_case()
    view = window.new_case_view
    assert window.stack.currentWidget() is view
    assert not window.list_header.isVisible()
    qtbot.keyClicks(view.name, "Imran Sheikh")
    qtbot.keyClicks(view.age, "52")
    view.gender.setCurrentIndex(view.gender.findData("male"))
    report = tmp_path / "report.txt"
    report.write_text("Glucose 180 mg/dL\n")
    view.lab.add_paths([report])
    view.save()
    qtbot.waitUntil(lambda: window.showing_detail(), timeout=5000)
    assert window.detail.case is not None
    assert window.detail.case.patient_name == "Imran Sheikh"
    assert [d.file_name for d in window.detail.case.documents] == ["report.txt"]
    window.show_list()
    assert window.model.total == 1


def test_new_case_page_keeps_its_place_when_the_list_reloads(qtbot, window: MainWindow,
                                                              service: CaseService) -> None:
    window.new_case()
    qtbot.keyClicks(window.new_case_view.name, "Half Typed")
    make_case(service, name="Someone Else")
    window.reload()
    assert window.stack.currentWidget() is window.new_case_view
    assert window.new_case_view.name.text() == "Half Typed"


def test_window_layout_is_remembered(qtbot, context: AppContext,
                                     settings: QSettings) -> None:
    first = MainWindow(context, "dr", settings)
    qtbot.addWidget(first)
    first.resize(900, 500)
    first.table.horizontalHeader().resizeSection(0, 333)
    first.close()
    second = MainWindow(context, "dr", settings)
    qtbot.addWidget(second)
    assert second.table.horizontalHeader().sectionSize(0) == 333
