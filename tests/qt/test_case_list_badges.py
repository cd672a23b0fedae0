"""The case table model's status and progress roles, and the Status column's badges in the
light and the dark palette."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.enums import CaseStatus
from medmitra_desktop.services.cases import CaseService
from medmitra_desktop.ui.main_window import MainWindow
from medmitra_desktop.ui.models.case_table_model import (
    PROGRESS_ROLE,
    STATUS_COLUMN,
    STATUS_ROLE,
    CaseTableModel,
)
from medmitra_desktop.ui.theme import dark_palette
from medmitra_desktop.ui.widgets.clinical_colors import contrast_ratio
from medmitra_desktop.ui.widgets.status_badge import MARGIN_X, badge_colors, badge_text
from medmitra_desktop.ui.widgets.status_badge import NEEDS_REVIEW as NEEDS_REVIEW_BADGE
from tests.factories import make_case
from tests.qt.palettes import PALETTE_CASES, palette_for

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def three_statuses(service: CaseService) -> dict[CaseStatus, str]:
    """A case in each status; their ids."""
    processing = make_case(service, name="Pia Processing", notes="fever")
    completed = make_case(service, name="Cai Completed")
    failed = make_case(service, name="Fay Failed", notes="cough")
    service.update_case(failed.case_id, user_id="dr-qt", changes={"status": "failed"})
    return {CaseStatus.PROCESSING: processing.case_id, CaseStatus.COMPLETED: completed.case_id,
            CaseStatus.FAILED: failed.case_id}


def test_model_with_progress_passes_the_model_tester(qtbot, qtmodeltester,
                                                     service: CaseService) -> None:
    ids = three_statuses(service)
    model = CaseTableModel(service)
    model.refresh()
    processing_row = model.row_of(ids[CaseStatus.PROCESSING])
    assert processing_row is not None
    status_cell = model.index(processing_row, STATUS_COLUMN)
    with qtbot.waitSignal(model.dataChanged) as changed:
        model.set_progress(ids[CaseStatus.PROCESSING], 0.5)
    assert changed.args[0] == status_cell
    assert status_cell.data() == "Processing 50%"
    assert status_cell.data(STATUS_ROLE) == "processing"
    assert status_cell.data(PROGRESS_ROLE) == 0.5
    model.set_progress("not-a-loaded-case", 0.2)  # nothing to repaint, nothing breaks
    qtmodeltester.check(model, force_py=True)

    failed_row = model.row_of(ids[CaseStatus.FAILED])
    assert failed_row is not None
    assert model.index(failed_row, STATUS_COLUMN).data(STATUS_ROLE) == "failed"
    assert model.index(failed_row, STATUS_COLUMN).data(PROGRESS_ROLE) is None
    assert model.index(failed_row, 0).data(STATUS_ROLE) is None  # only the Status column
    with qtbot.waitSignal(model.dataChanged):
        model.clear_progress(ids[CaseStatus.PROCESSING])
    assert status_cell.data(PROGRESS_ROLE) is None and status_cell.data() == "Processing"


def test_badge_text() -> None:
    assert badge_text(CaseStatus.COMPLETED, None) == "Completed"
    assert badge_text(CaseStatus.PROCESSING, 0.426) == "Processing 43%"
    assert badge_text(CaseStatus.FAILED, None) == "Failed"


@pytest.mark.parametrize(("base", "text"), PALETTE_CASES)
def test_badge_text_is_readable_on_light_and_dark_palettes(qapp, base: str, text: str) -> None:
    palette = palette_for(base, text)
    colors = badge_colors(palette)
    assert set(colors) == {*CaseStatus, NEEDS_REVIEW_BADGE}
    for status, badge in colors.items():
        assert contrast_ratio(badge.text, badge.background) >= 4.5, (status, base)
    # Each status is told apart by its colour as well as by its word.
    assert len({badge.background.name() for badge in colors.values()}) == len(colors)


def close_to(first: QColor, second: QColor, tolerance: int = 3) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(first.getRgb()[:3], second.getRgb()[:3],
                                                       strict=True))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_badges_paint_in_light_and_dark(qtbot, context: AppContext, settings: QSettings,
                                        theme: str) -> None:
    ids = three_statuses(context.cases)
    window = MainWindow(context, "dr-qt", settings)
    qtbot.addWidget(window)
    palette = dark_palette() if theme == "dark" else \
        QApplication.style().standardPalette()
    window.setPalette(palette)
    window.resize(1100, 500)
    window.show()
    qtbot.waitExposed(window)
    window.model.set_progress(ids[CaseStatus.PROCESSING], 0.3)

    image = window.table.viewport().grab().toImage()
    assert not image.isNull() and image.width() > 0
    colors = badge_colors(window.table.palette())
    for status, case_id in ids.items():
        row = window.model.row_of(case_id)
        assert row is not None
        cell = window.table.visualRect(window.model.index(row, STATUS_COLUMN))
        inside_badge = image.pixelColor(cell.left() + MARGIN_X + 5, cell.center().y())
        assert close_to(inside_badge, colors[status].background), (
            status, inside_badge.name(), colors[status].background.name())
    # The dark badges are dark, the light ones light.
    completed = colors[CaseStatus.COMPLETED].background
    assert (completed.lightness() < 128) == (theme == "dark")


def test_badge_shrinks_to_text_in_a_narrow_column(qtbot, context: AppContext,
                                                  settings: QSettings) -> None:
    three_statuses(context.cases)
    window = MainWindow(context, "dr-qt", settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    header = window.table.horizontalHeader()
    for width in (12, 30, 60):
        header.resizeSection(STATUS_COLUMN, width)
        assert not window.table.viewport().grab().toImage().isNull()
    selection = window.table.selectionModel()
    window.table.selectAll()
    assert selection.hasSelection()
    assert not window.table.viewport().grab().toImage().isNull()
    assert window.table.itemDelegateForColumn(STATUS_COLUMN) is not None
    assert window.table.model().index(0, STATUS_COLUMN).data(Qt.ItemDataRole.DisplayRole)


def test_needs_review_badge(qtbot, context, jobs, tmp_path) -> None:
    from medmitra_desktop.ui.models.case_table_model import (
        NEEDS_REVIEW,
        STATUS_COLUMN,
        STATUS_ROLE,
        CaseTableModel,
    )
    from tests.factories import LAB_LINES, make_case, text_pdf

    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 200)
    make_case(context.cases, name="Needs Look",
              lab=[text_pdf(tmp_path / "good.pdf", LAB_LINES), broken])
    jobs.run_next()
    model = CaseTableModel(context.cases)
    model.refresh()
    index = model.index(0, STATUS_COLUMN)
    assert model.data(index) == "Needs review"
    assert model.data(index, STATUS_ROLE) == NEEDS_REVIEW
    assert "could not be read" in model.data(index, Qt.ItemDataRole.ToolTipRole)
