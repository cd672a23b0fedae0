"""The Patient tab: the visits of the case's patient, a lab trend chart (gaps, the
reference band, abnormal points), medication changes, and the doctor's link and unlink."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCharts import QAreaSeries, QLineSeries, QScatterSeries
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDialog, QMessageBox

from medmitra_desktop.app import AppContext
from medmitra_desktop.services.analysis_jobs import AnalysisJobs
from medmitra_desktop.ui.main_window import MainWindow
from medmitra_desktop.ui.views.case_detail import PATIENT_TAB
from medmitra_desktop.ui.views.patient_view import LinkCaseDialog, PatientTab
from tests.factories import make_case
from tests.qt.test_case_detail import drive_modal
from tests.services.test_patient_trends import visit

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def window(qtbot, context: AppContext, settings: QSettings) -> Iterator[MainWindow]:
    main = MainWindow(context, "dr-qt", settings)
    qtbot.addWidget(main)
    main.resize(1280, 760)
    main.show()
    qtbot.waitExposed(main)
    yield main


def show_patient(qtbot, window: MainWindow, case_id: str) -> PatientTab:
    window.open_case(case_id)
    tab = window.detail.patient
    assert tab is not None
    window.detail.tabs.setCurrentIndex(PATIENT_TAB)
    qtbot.waitUntil(lambda: not tab.loading and tab.data is not None, timeout=10_000)
    return tab


def test_trend_chart_has_a_gap_a_band_and_marked_points(qtbot, window: MainWindow,
                                                        context: AppContext,
                                                        jobs: AnalysisJobs,
                                                        tmp_path: Path) -> None:
    visit(context, jobs, tmp_path, 0, ["Creatinine           1.1       mg/dL     0.7 - 1.3",
                                       "Hemoglobin           12.1      g/dL      13.0 - 17.0"],
          notes="On metformin 500 mg BD.")
    visit(context, jobs, tmp_path, 1, ["Creatinine           150       µmol/L    62 - 115"],
          notes="Metformin 1000 mg BD.")
    last = visit(context, jobs, tmp_path, 2,
                 ["Creatinine           2.0       mg/dL     0.7 - 1.3",
                  "Hemoglobin           11.0      g/dL      13.0 - 17.0"],
                 notes="Metformin 1000 mg BD.")
    assert window.detail.tabs.tabText(PATIENT_TAB) == "&Patient"
    tab = show_patient(qtbot, window, last.case_id)

    assert tab.visits.rowCount() == 3 and "3 visits" in tab.details.text()
    assert tab.visits.index(2, 0).data().endswith("(this case)")
    items = [tab.test.itemText(i) for i in range(tab.test.count())]
    assert items == ["Creatinine · 3 values", "Hemoglobin · 2 values"]
    assert tab.test.currentData() == "creatinine"  # the test seen at the most visits

    chart = tab.chart.chart()
    kinds = [type(s) for s in chart.series()]
    assert kinds.count(QAreaSeries) == 1 and kinds.count(QLineSeries) == 1
    assert chart.title() == "Creatinine (mg/dL)"
    assert tab.chart.lines[0].count() == 3
    assert tab.chart.normal_points is not None and tab.chart.abnormal_points is not None
    assert tab.chart.normal_points.count() == 1 and tab.chart.abnormal_points.count() == 2
    assert tab.chart.abnormal_points.color() != tab.chart.normal_points.color()
    values = [tab.chart.lines[0].at(i).y() for i in range(3)]
    assert values == pytest.approx([1.1, 150 * 0.01131, 2.0])
    band = tab.chart.bands[0]
    upper = band.upperSeries()
    # Each visit its own printed range, the second converted from 62 - 115 µmol/L.
    assert [upper.at(i).y() for i in range(upper.count())] == pytest.approx(
        [1.3, 1.3, 115 * 0.01131, 115 * 0.01131, 1.3, 1.3])
    assert "printed 150 µmol/L" in tab.notes.text()

    assert tab.select_test("hgb")
    kinds = [type(s) for s in chart.series()]
    assert kinds.count(QLineSeries) == 2  # the visit without hemoglobin breaks the line
    assert sum(isinstance(s, QScatterSeries) for s in chart.series()) == 2
    assert "Not measured at 1 visit" in tab.notes.text()

    medications = tab.medications
    assert medications.columnCount() == 4  # the medication, then one column per visit
    row = next(r for r in range(medications.rowCount())
               if medications.index(r, 0).data() == "metformin")
    assert medications.index(row, 2).data() == "Changed: 1000 mg · twice daily"
    assert medications.index(row, 2).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert medications.index(row, 3).data() == "1000 mg · twice daily"  # continued


def test_doctor_links_and_unlinks_from_the_tab(qtbot, window: MainWindow,
                                               context: AppContext,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    nickname = make_case(context.cases, name="Bablu Sharma", age=30, gender="male")
    full = make_case(context.cases, name="Rakesh Sharma", age=31, gender="male")
    tab = show_patient(qtbot, window, nickname.case_id)
    assert tab.visits.rowCount() == 1 and not tab.unlink_button.isEnabled()
    assert tab.test.count() == 0 and not tab.test.isEnabled()

    def choose_rakesh(dialog: QDialog) -> None:
        assert isinstance(dialog, LinkCaseDialog)
        assert not dialog.link_button.isEnabled()  # nothing chosen yet
        qtbot.keyClicks(dialog.search, "rakesh")
        assert dialog.model.rowCount() == 1
        dialog.table.selectRow(0)
        assert dialog.link_button.isEnabled()
        dialog.link_button.click()

    errors = drive_modal(qtbot, choose_rakesh)
    tab.link_button.click()
    assert errors == []
    qtbot.waitUntil(lambda: not tab.loading and tab.visits.rowCount() == 2, timeout=10_000)
    assert "linked by a doctor" in tab.details.text()
    assert tab.title.text() == "Rakesh Sharma"  # the latest visit's name
    history = window.detail.history.model
    assert any(history.index(r, 2).data() == "Linked to a patient"
               for r in range(history.rowCount()))

    monkeypatch.setattr(QMessageBox, "question",
                        lambda *_args: QMessageBox.StandardButton.Yes)
    tab.unlink_button.click()
    qtbot.waitUntil(lambda: not tab.loading and tab.visits.rowCount() == 1, timeout=10_000)
    assert [v.case_id for v in context.patients.patient(full.case_id).visits] == [
        full.case_id]


def test_double_click_on_a_visit_opens_it(qtbot, window: MainWindow,
                                          context: AppContext) -> None:
    first = make_case(context.cases, name="Meena Das", age=40)
    second = make_case(context.cases, name="Meena Das", age=41)
    tab = show_patient(qtbot, window, second.case_id)
    table = tab.visits_table
    centre = table.visualRect(tab.visits.index(0, 0)).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert window.detail.case_id == first.case_id
