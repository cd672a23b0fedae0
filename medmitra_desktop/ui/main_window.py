"""The main window: the case list with search-as-you-type, and a case's detail."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QStackedWidget,
    QTableView,
    QToolBar,
)

from .. import APP_NAME
from ..app import AppContext
from ..domain.errors import MedMitraError
from ..domain.records import CaseQuery
from .models.case_table_model import CaseTableModel
from .theme import ThemeController
from .views.case_detail import CaseDetailView
from .views.new_case_dialog import NewCaseDialog
from .views.settings_dialog import SettingsDialog
from .workers import AnalysisRunner

SEARCH_DEBOUNCE_MS = 250
# Patient, Age, Gender, Status, Documents, Updated; Summary takes the rest.
DEFAULT_COLUMN_WIDTHS = (240, 60, 80, 130, 90, 150)


class MainWindow(QMainWindow):
    def __init__(self, context: AppContext, user_id: str, settings: QSettings,
                 runner: AnalysisRunner | None = None,
                 themes: ThemeController | None = None) -> None:
        super().__init__()
        self._context = context
        self._runner = runner
        self._user_id = user_id
        self._themes = themes
        self._settings = settings
        self.setWindowTitle(APP_NAME)

        self.model = CaseTableModel(context.cases, self)
        self.table = QTableView()
        self.table.setAccessibleName("Cases")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, width in enumerate(DEFAULT_COLUMN_WIDTHS):
            header.resizeSection(column, width)
        header.setSortIndicator(5, Qt.SortOrder.DescendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setToolTip("Enter or double-click opens the case")
        self.table.activated.connect(lambda index: self.open_case_at(index.row()))

        self.empty_state = QLabel(
            "<h3>No cases yet</h3><p>Create the first one with <b>New case</b> "
            "(Ctrl+N): enter the patient's details and attach lab or radiology reports.</p>"
        )
        self.empty_state.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_state.setWordWrap(True)
        self.no_match = QLabel("<h3>No matching cases</h3><p>Try fewer or other words.</p>")
        self.no_match.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail = CaseDetailView(context.cases, context.results, user_id)
        self.detail.back_requested.connect(self.show_list)
        self.detail.case_changed.connect(lambda _case_id: self._reload_list())
        self.detail.case_deleted.connect(self._on_case_deleted)
        self.detail.reanalysis_requested.connect(self._on_reanalysis_requested)
        self.stack = QStackedWidget()
        for widget in (self.table, self.empty_state, self.no_match, self.detail):
            self.stack.addWidget(widget)
        self.setCentralWidget(self.stack)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search names, notes and documents…  (Ctrl+F)")
        self.search.setAccessibleName("Search cases")
        self.search.setClearButtonEnabled(True)
        self.search.setMaximumWidth(420)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self.apply_search)
        self.search.textChanged.connect(self._search_timer.start)

        new_case = QAction("&New case…", self)
        new_case.setShortcut(QKeySequence.StandardKey.New)
        new_case.triggered.connect(self.new_case)
        find = QAction("&Find", self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(lambda: self.search.setFocus(Qt.FocusReason.ShortcutFocusReason))
        refresh = QAction("&Refresh", self)
        refresh.setShortcut(QKeySequence.StandardKey.Refresh)
        refresh.triggered.connect(self.reload)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)

        self.reanalyze_action = QAction("&Re-analyse selected case", self)
        self.reanalyze_action.setToolTip("The case selected in the list, or the open case")
        self.reanalyze_action.triggered.connect(self.reanalyze_selected)
        self.cancel_action = QAction("&Cancel running analysis", self)
        self.cancel_action.triggered.connect(self.cancel_analysis)

        settings_action = QAction("&Settings…", self)
        settings_action.setShortcut(QKeySequence.StandardKey.Preferences)
        settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        settings_action.triggered.connect(self.open_settings)

        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(new_case)
        file_menu.addSeparator()
        file_menu.addAction(settings_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(find)
        view_menu.addAction(refresh)
        analysis_menu = self.menuBar().addMenu("&Analysis")
        analysis_menu.addAction(self.reanalyze_action)
        analysis_menu.addAction(self.cancel_action)

        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.addAction(new_case)
        toolbar.addSeparator()
        toolbar.addWidget(self.search)
        self.addToolBar(toolbar)

        self.job_progress = QProgressBar()
        self.job_progress.setAccessibleName("Analysis progress")
        self.job_progress.setRange(0, 100)
        self.job_progress.setMaximumWidth(180)
        self.job_progress.hide()
        self.statusBar().addPermanentWidget(self.job_progress)
        self.count_label = QLabel()
        self.statusBar().addPermanentWidget(self.count_label)
        self.statusBar().showMessage(f"Data folder: {context.paths.data_dir}", 8000)

        self.model.modelReset.connect(self._update_state)
        self.model.rowsInserted.connect(self._update_state)
        self._restore_layout()
        self.reload()
        if runner is not None:
            runner.progress.connect(self._on_job_progress)
            runner.job_finished.connect(self._on_job_finished)
            runner.progress.connect(self.detail.on_job_progress)
            runner.job_finished.connect(self.detail.on_job_finished)
            runner.idle.connect(self.job_progress.hide)
            runner.failed.connect(self._on_runner_failed)
            runner.wake()  # resume whatever was queued or interrupted last time

    def reload(self) -> None:
        """Read the list again, and the open case if one is shown (F5)."""
        self._reload_list()
        if self.showing_detail():
            self.detail.refresh()

    def _reload_list(self) -> None:
        try:
            self.model.refresh()
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, str(error))

    # ---- case detail --------------------------------------------------------------------

    def showing_detail(self) -> bool:
        return self.stack.currentWidget() is self.detail

    def open_case_at(self, row: int) -> None:
        case_id = self.model.case_id_at(row)
        if case_id is not None:
            self.open_case(case_id)

    def open_case(self, case_id: str) -> None:
        if not self.detail.open_case(case_id):
            self.reload()  # it may have been deleted elsewhere
            return
        self.stack.setCurrentWidget(self.detail)
        self.setWindowTitle(f"{self.detail.case.patient_name} – {APP_NAME}"
                            if self.detail.case else APP_NAME)
        self.detail.tabs.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_list(self) -> None:
        """Back from a case to the list, with that case still selected."""
        case_id = self.detail.case_id
        self.setWindowTitle(APP_NAME)
        self.stack.setCurrentWidget(self.table)  # _update_state picks the right page
        self._update_state()
        for row in range(self.model.rowCount()):
            if self.model.case_id_at(row) == case_id:
                self.table.selectRow(row)
                break
        if self.stack.currentWidget() is self.table:
            self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_case_deleted(self, _case_id: str) -> None:
        self._reload_list()
        self.show_list()
        self.statusBar().showMessage("Case moved to the trash.", 8000)

    def _on_reanalysis_requested(self, _case_id: str) -> None:
        self._reload_list()
        if self._runner is not None:
            self._runner.wake()

    def apply_search(self) -> None:
        if self.showing_detail():
            self.show_list()  # searching is for the list
        text = self.search.text().strip()
        try:
            self.model.set_query(CaseQuery(
                search=text or None, sort=self.model.query.sort,
                descending=self.model.query.descending,
            ))
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, str(error))

    def new_case(self) -> None:
        dialog = NewCaseDialog(self._context.cases, self._user_id, self)
        if dialog.exec() and dialog.created is not None:
            self.reload()
            self.statusBar().showMessage("Case created and queued for analysis.", 5000)
            if self._runner is not None:
                self._runner.wake()

    def open_settings(self) -> None:
        dialog = SettingsDialog(self._context.settings, self._context.paths.data_dir, self)
        if dialog.exec() and dialog.saved is not None:
            if dialog.saved.user_id:
                self._user_id = dialog.saved.user_id
            if self._themes is not None:
                self._themes.apply(dialog.saved.theme)
            self.statusBar().showMessage(
                "Settings saved. OCR changes apply to the next analysis after a restart.", 8000)

    def selected_case_ids(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [case_id for row in rows if (case_id := self.model.case_id_at(row))]

    def reanalyze_selected(self) -> None:
        case_ids = ([self.detail.case_id] if self.showing_detail() and self.detail.case_id
                    else self.selected_case_ids())
        try:
            for case_id in case_ids:
                self._context.cases.reanalyze(case_id, user_id=self._user_id)
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            return
        self.reload()
        if self._runner is not None:
            self._runner.wake()

    def cancel_analysis(self) -> None:
        if self._runner is not None and self._runner.busy:
            self._runner.cancel_current()
            self.statusBar().showMessage("Cancelling analysis…")

    def _on_job_progress(self, case_id: str, fraction: float, message: str) -> None:
        self.job_progress.show()
        self.job_progress.setValue(round(fraction * 100))
        self.statusBar().showMessage(message)
        self.model.set_progress(case_id, fraction)

    def _on_job_finished(self, case_id: str, status: str, error: str) -> None:
        self.model.clear_progress(case_id)
        self.statusBar().showMessage(
            f"Analysis finished: {status}" + (f" ({error})" if error else ""), 8000)
        self._reload_list()  # an open case refreshes itself (CaseDetailView.on_job_finished)

    def _on_runner_failed(self, message: str) -> None:
        self.job_progress.hide()
        QMessageBox.warning(self, APP_NAME, f"Document analysis stopped: {message}")

    def _update_state(self) -> None:
        total = self.model.total
        self.count_label.setText(f"{total:,} case{'s' if total != 1 else ''}")
        if self.showing_detail():
            return  # the list changed behind the open case: it stays open
        if total:
            self.stack.setCurrentWidget(self.table)
        elif self.search.text().strip():
            self.stack.setCurrentWidget(self.no_match)
        else:
            self.stack.setCurrentWidget(self.empty_state)

    def _restore_layout(self) -> None:
        geometry = self._settings.value("main_window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1100, 680)
        columns = self._settings.value("main_window/columns")
        if columns is not None:
            self.table.horizontalHeader().restoreState(columns)

    def closeEvent(self, event) -> None:
        self._settings.setValue("main_window/geometry", self.saveGeometry())
        self._settings.setValue("main_window/columns",
                                self.table.horizontalHeader().saveState())
        super().closeEvent(event)
