"""The main window: the case list (search-as-you-type, filters, the trash, a context menu
with undoable moves to the trash) and a case's detail."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QPoint,
    QSettings,
    QSize,
    Qt,
    QTimer,
)
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QTableView,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..app import AppContext
from ..domain.enums import SyncState
from ..domain.errors import MedMitraError
from ..domain.records import CaseQuery
from .models.case_table_model import (
    PROGRESS_ROLE,
    STATUS_COLUMN,
    STATUS_ROLE,
    SYNC_COLUMN,
    SYNC_ROLE,
    CaseTableModel,
)
from .portability import PortabilityActions
from .sync_runner import SyncOutcome, SyncRunner
from .theme import ThemeController
from .views.case_detail import CaseDetailView
from .views.new_case_view import NewCaseView
from .views.settings_dialog import SettingsDialog
from .widgets.case_filters import CaseFilterBar
from .widgets.confirm import ask_yes_no
from .widgets.status_badge import StatusBadgeDelegate
from .widgets.sync_state import SyncStateDelegate
from .widgets.tables import read_only_table
from .workers import AnalysisRunner

log = logging.getLogger(__name__)

SEARCH_DEBOUNCE_MS = 250  # search text and filters alike
UNDO_OFFER_MS = 15_000  # how long the status bar offers Undo (Ctrl+Z works until replaced)
NOT_SYNCING = "Offline · sync not set up"
# Patient, Age, Gender, Status, Documents, Updated, Sync; Summary takes the rest.
DEFAULT_COLUMN_WIDTHS = (240, 60, 80, 130, 90, 150, 110)


class MainWindow(QMainWindow):
    def __init__(self, context: AppContext, user_id: str, settings: QSettings,
                 runner: AnalysisRunner | None = None,
                 themes: ThemeController | None = None, *,
                 sync: SyncRunner | None = None) -> None:
        super().__init__()
        self._context = context
        self._runner = runner
        self._sync = sync
        self._sync_states: dict[str, int] = {}  # cases per sync state after the last round
        self._user_id = user_id
        self._themes = themes
        self._settings = settings
        self._in_trash = False
        self._undo_case_ids: list[str] = []  # the cases the last move to the trash took
        self.setWindowTitle(APP_NAME)

        self.model = CaseTableModel(context.cases, self)
        self.table = self._make_table()

        self.empty_state = _centred_label(
            "<h3>No cases yet</h3><p>Create the first one with <b>New case</b> "
            "(Ctrl+N): enter the patient's details and attach lab or radiology reports.</p>"
        )
        self.no_match = _centred_label("<h3>No matching cases</h3>"
                                       "<p>Try fewer or other words.</p>")
        self.trash_empty = _centred_label(
            "<h3>The trash is empty</h3><p>Cases moved to the trash are kept here and can be "
            "restored. Turn off <b>Trash</b> to see the case list again.</p>")
        self.detail = CaseDetailView(
            context.cases, context.results, user_id, files=context.files,
            soap_notes=context.soap_notes, settings=context.settings, runner=runner,
            patients=context.patients, history=context.history)
        self.detail.back_requested.connect(self.show_list)
        self.detail.case_changed.connect(lambda _case_id: self._reload_list())
        self.detail.case_deleted.connect(self._on_case_deleted)
        self.detail.reanalysis_requested.connect(self._on_reanalysis_requested)
        # Every local change reaches the server soon after (debounced in the runner).
        for changed in (self.detail.case_changed, self.detail.case_deleted,
                        self.detail.reanalysis_requested):
            changed.connect(self._sync_changed)
        self.detail.sync_requested.connect(self._sync_resolved)
        self.stack = QStackedWidget()
        self.new_case_view = NewCaseView(context.cases, user_id)
        self.new_case_view.case_created.connect(self._on_case_created)
        self.new_case_view.cancelled.connect(self.show_list)
        for widget in (self.table, self.empty_state, self.no_match, self.trash_empty,
                       self.detail, self.new_case_view):
            self.stack.addWidget(widget)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search names, notes and documents…  (Ctrl+F)")
        self.search.setAccessibleName("Search cases")
        self.search.setClearButtonEnabled(True)
        self.search.setMaximumWidth(420)
        self.filters = CaseFilterBar()
        self._query_timer = QTimer(self)
        self._query_timer.setSingleShot(True)
        self._query_timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._query_timer.timeout.connect(self.apply_search)
        self.search.textChanged.connect(self._query_timer.start)
        self.filters.changed.connect(self._query_timer.start)

        self._make_actions()
        self.list_header = self._make_list_header()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.list_header)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.stack.currentChanged.connect(self._on_page_changed)
        self._make_status_bar()
        self._set_tab_order()

        self.model.modelReset.connect(self._update_state)
        self.model.rowsInserted.connect(self._update_state)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        self._restore_layout()
        self._show_sync_column(bool(context.settings.load().server_url))
        self.reload()
        if runner is not None:
            runner.progress.connect(self._on_job_progress)
            runner.job_finished.connect(self._on_job_finished)
            runner.progress.connect(self.detail.on_job_progress)
            runner.job_finished.connect(self.detail.on_job_finished)
            runner.idle.connect(self.job_progress.hide)
            runner.failed.connect(self._on_runner_failed)
            runner.wake()  # resume whatever was queued or interrupted last time
        if sync is not None:
            sync.indicator_changed.connect(self.set_sync_state)
            sync.round_finished.connect(self._on_sync_finished)
            sync.start()

    # ---- building -----------------------------------------------------------------------

    def _make_table(self) -> QTableView:
        table = read_only_table(self.model, "Cases", DEFAULT_COLUMN_WIDTHS)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setItemDelegateForColumn(
            STATUS_COLUMN, StatusBadgeDelegate(STATUS_ROLE, PROGRESS_ROLE, table))
        table.setItemDelegateForColumn(SYNC_COLUMN, SyncStateDelegate(SYNC_ROLE, table))
        table.horizontalHeader().setSortIndicator(5, Qt.SortOrder.DescendingOrder)
        table.setSortingEnabled(True)
        table.setToolTip("Enter or double-click opens the case; right-click or the menu key "
                         "for more; Delete moves the selected cases to the trash")
        table.activated.connect(lambda index: self.open_case_at(index.row()))
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._show_context_menu)
        return table

    def _make_actions(self) -> None:
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
        quit_action.setShortcuts(_shortcuts(QKeySequence.StandardKey.Quit, "Ctrl+Q"))
        quit_action.triggered.connect(self.close)

        self.reanalyze_action = QAction("&Re-analyse selected case", self)
        self.reanalyze_action.setToolTip("The case selected in the list, or the open case")
        self.reanalyze_action.triggered.connect(self.reanalyze_selected)
        self.cancel_action = QAction("&Cancel running analysis", self)
        self.cancel_action.triggered.connect(self.cancel_analysis)
        self.print_action = QAction("&Print case…", self)
        self.print_action.setShortcuts(_shortcuts(QKeySequence.StandardKey.Print, "Ctrl+P"))
        self.print_action.setToolTip("Print the open case, or the case selected in the list")
        self.print_action.triggered.connect(self.print_case)
        self.save_pdf_action = QAction("Save case as P&DF…", self)
        self.save_pdf_action.setToolTip("Save the open case, or the case selected in the "
                                        "list, as a PDF document")
        self.save_pdf_action.triggered.connect(self.save_case_pdf)
        # Export case as FHIR, Import FHIR bundle, Back up data, Restore from backup.
        self.portability = PortabilityActions(
            self, context=self._context, user_id=lambda: self._user_id,
            current_case=self.case_to_print, on_case_imported=self._on_case_created,
            open_case=self.open_case)

        self.sync_action = QAction("S&ync now", self)
        self.sync_action.setIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_BrowserReload))
        self.sync_action.setShortcut(QKeySequence("Shift+F5"))
        self.sync_action.setToolTip("Sync with the MedMitra server now (Shift+F5)")
        self.sync_action.setEnabled(self._sync is not None)
        self.sync_action.triggered.connect(self.sync_now)

        settings_action = QAction("&Settings…", self)
        settings_action.setShortcuts(_shortcuts(QKeySequence.StandardKey.Preferences, "Ctrl+,"))
        settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        settings_action.triggered.connect(self.open_settings)

        # The list's own actions (context menu, Edit menu). Delete only acts while the
        # table has the focus: in the search box or a case's detail it stays a plain key.
        self.open_action = QAction("&Open", self)
        self.open_action.triggered.connect(self.open_selected)
        self.reanalyse_selection_action = QAction("&Re-analyse", self)
        self.reanalyse_selection_action.triggered.connect(self.reanalyze_selected)
        self.delete_action = QAction("&Delete…", self)
        self.delete_action.setToolTip("Move the selected cases to the trash")
        self.delete_action.setShortcut(QKeySequence(Qt.Key.Key_Delete))
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.delete_action.triggered.connect(self.delete_selected)
        self.table.addAction(self.delete_action)
        self.restore_action = QAction("Re&store", self)
        self.restore_action.setToolTip("Bring the selected cases back from the trash")
        self.restore_action.triggered.connect(self.restore_selected)
        self.undo_action = QAction("&Undo move to trash", self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.setEnabled(False)
        self.undo_action.triggered.connect(self.undo_delete)
        self.trash_action = QAction("&Trash", self)
        self.trash_action.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TrashIcon))
        self.trash_action.setCheckable(True)
        self.trash_action.setToolTip("Show the cases in the trash, to restore them")
        self.trash_action.toggled.connect(self.set_trash_mode)

        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(new_case)
        file_menu.addSeparator()
        file_menu.addAction(self.print_action)
        file_menu.addAction(self.save_pdf_action)
        file_menu.addSeparator()
        self.portability.add_to(file_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.sync_action)
        file_menu.addAction(settings_action)
        self.audit_action = QAction("&Audit log…", self)
        self.audit_action.triggered.connect(self.open_audit_log)
        file_menu.addAction(self.audit_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        edit_menu = self.menuBar().addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.open_action)
        edit_menu.addAction(self.delete_action)
        edit_menu.addAction(self.restore_action)
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(find)
        view_menu.addAction(refresh)
        view_menu.addSeparator()
        view_menu.addAction(self.trash_action)
        analysis_menu = self.menuBar().addMenu("&Analysis")
        analysis_menu.addAction(self.reanalyze_action)
        analysis_menu.addAction(self.cancel_action)

        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(16, 16))  # small icons keep the toolbar one text line high
        toolbar.toggleViewAction().setVisible(False)  # no way to lose the search box
        toolbar.addAction(new_case)
        toolbar.addSeparator()
        toolbar.addWidget(self.search)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        toolbar.addWidget(spacer)
        if self._sync is not None:
            self.sync_button = QToolButton()
            self.sync_button.setDefaultAction(self.sync_action)
            self.sync_button.setText("Sync")
            self.sync_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            self.sync_button.setAccessibleName("Sync with the MedMitra server now")
            toolbar.addWidget(self.sync_button)
        self.trash_button = QToolButton()
        self.trash_button.setDefaultAction(self.trash_action)
        self.trash_button.setText("Tras&h")
        self.trash_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.trash_button.setAccessibleName("Show the trash")
        self.trash_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        toolbar.addWidget(self.trash_button)
        self.addToolBar(toolbar)

    def _make_list_header(self) -> QWidget:
        """Under the toolbar, above the list: the filters, and in the trash a note with
        the Restore button."""
        self.trash_note = QLabel(
            "<b>Trash</b> · these cases were moved to the trash; select them and choose "
            "<b>Restore</b> to bring them back to the case list.")
        self.trash_note.setWordWrap(True)
        self.restore_button = QPushButton("Re&store")
        self.restore_button.setAccessibleName("Restore the selected cases from the trash")
        self.restore_button.clicked.connect(self.restore_selected)
        self.trash_banner = QWidget()
        self.trash_banner.setObjectName("trashBanner")
        self.trash_banner.setAutoFillBackground(True)
        self.trash_banner.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        banner = QHBoxLayout(self.trash_banner)
        banner.setContentsMargins(8, 4, 8, 4)
        banner.addWidget(self.trash_note, 1)
        banner.addWidget(self.restore_button)
        self.trash_banner.hide()
        header = QWidget()
        header.setObjectName("caseListHeader")
        rows = QVBoxLayout(header)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(0)
        filters = QHBoxLayout()
        filters.addWidget(self.filters)
        filters.addStretch(1)
        rows.addLayout(filters)
        rows.addWidget(self.trash_banner)
        return header

    def _make_status_bar(self) -> None:
        # "2 cases moved to the trash. [Undo]" on the left, for a while (a temporary
        # status message would hide a button beside it, so this is a widget of its own).
        self.undo_label = QLabel()
        self.undo_button = QPushButton("&Undo")
        self.undo_button.setAccessibleName("Undo move to trash")
        self.undo_button.setToolTip("Bring back the cases just moved to the trash (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo_delete)
        self.undo_bar = QWidget()
        undo_row = QHBoxLayout(self.undo_bar)
        undo_row.setContentsMargins(4, 0, 0, 0)
        undo_row.addWidget(self.undo_label)
        undo_row.addWidget(self.undo_button)
        self.undo_bar.hide()
        self._undo_offer_timer = QTimer(self)
        self._undo_offer_timer.setSingleShot(True)
        self._undo_offer_timer.setInterval(UNDO_OFFER_MS)
        self._undo_offer_timer.timeout.connect(self.undo_bar.hide)
        self.statusBar().addWidget(self.undo_bar)
        self.job_progress = QProgressBar()
        self.job_progress.setAccessibleName("Analysis progress")
        self.job_progress.setRange(0, 100)
        self.job_progress.setMaximumWidth(180)
        self.job_progress.hide()
        self.statusBar().addPermanentWidget(self.job_progress)
        self.count_label = QLabel()
        self.count_label.setAccessibleName("Cases shown")
        self.statusBar().addPermanentWidget(self.count_label)
        self.sync_label = QLabel()
        self.sync_label.setAccessibleName("Sync status")
        self.sync_label.setContentsMargins(8, 0, 4, 0)
        self.statusBar().addPermanentWidget(self.sync_label)
        self.set_sync_state(NOT_SYNCING, "Cases are kept on this computer only; syncing with "
                                         "a MedMitra server is not set up.")
        self.statusBar().showMessage(f"Data folder: {self._context.paths.data_dir}", 8000)

    def _set_tab_order(self) -> None:
        """In reading order: search and the trash switch, the filters, Restore (in the
        trash), the list."""
        chain = [self.search, self.trash_button, *self.filters.focus_chain(),
                 self.restore_button, self.table]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def set_sync_state(self, text: str, details: str = "") -> None:
        """The quiet sync indicator in the status bar (e.g. "Offline · sync not set up")."""
        self.sync_label.setText(text)
        self.sync_label.setAccessibleDescription(details or text)
        self.sync_label.setToolTip(details or text)

    # ---- reading the list ---------------------------------------------------------------

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

    @property
    def in_trash(self) -> bool:
        return self._in_trash

    def current_query(self) -> CaseQuery:
        """The search text, the filters and the trash switch as one query (sort kept)."""
        text = self.search.text().strip()
        query = CaseQuery(search=text or None, sort=self.model.query.sort,
                          descending=self.model.query.descending, in_trash=self._in_trash)
        return self.filters.filters().apply_to(query)

    def apply_search(self) -> None:
        """Show the cases the search text and filters select (debounced while typing)."""
        self._query_timer.stop()
        if self.showing_detail():
            if not self.detail.confirm_leave():
                return  # unsaved SOAP edits, and the doctor chose to stay
            self.show_list()  # searching is for the list
        try:
            self.model.set_query(self.current_query())
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, str(error))

    def _narrowed(self) -> bool:
        return bool(self.search.text().strip()) or self.filters.active_count > 0

    def set_trash_mode(self, on: bool) -> None:
        """Show the cases in the trash (to restore them) or the case list."""
        if self.trash_action.isChecked() != on:
            self.trash_action.setChecked(on)  # toggled comes back here
            return
        if on == self._in_trash:
            return
        self._in_trash = on
        self.trash_banner.setVisible(on)
        self.trash_button.setAccessibleName("Leave the trash" if on else "Show the trash")
        self.setWindowTitle(self._list_title())
        self.apply_search()
        self._update_actions()

    def _list_title(self) -> str:
        return f"Trash – {APP_NAME}" if self._in_trash else APP_NAME

    # ---- case detail --------------------------------------------------------------------

    def showing_detail(self) -> bool:
        return self.stack.currentWidget() is self.detail

    def open_case_at(self, row: int) -> None:
        if self._in_trash:
            self.statusBar().showMessage(
                "This case is in the trash: restore it to open it.", 8000)
            return
        case_id = self.model.case_id_at(row)
        if case_id is not None:
            self.open_case(case_id)

    def open_selected(self) -> None:
        """Open the current case of the selection (the context menu's Open)."""
        rows = self._selected_rows()
        current = self.table.currentIndex()
        if current.isValid() and current.row() in rows:
            self.open_case_at(current.row())
        elif rows:
            self.open_case_at(rows[0])

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
        self.setWindowTitle(self._list_title())
        self.stack.setCurrentWidget(self.table)  # _update_state picks the right page
        self._update_state()
        row = self.model.row_of(case_id) if case_id else None
        if row is not None:
            self.table.selectRow(row)
        if self.stack.currentWidget() is self.table:
            self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_case_deleted(self, case_id: str) -> None:
        self._reload_list()
        self.show_list()
        self._offer_undo([case_id])

    def _on_reanalysis_requested(self, _case_id: str) -> None:
        self._reload_list()
        if self._runner is not None:
            self._runner.wake()

    def _on_page_changed(self, _index: int) -> None:
        self.list_header.setVisible(not (self.showing_detail() or self.showing_new_case()))
        self._update_actions()

    # ---- context menu, trash and undo ---------------------------------------------------

    def _selected_rows(self) -> list[int]:
        return sorted({index.row() for index in self.table.selectionModel().selectedRows()})

    def selected_case_ids(self) -> list[str]:
        return [case_id for row in self._selected_rows()
                if (case_id := self.model.case_id_at(row))]

    def build_context_menu(self) -> QMenu:
        """The table's context menu for the current selection."""
        self._update_actions()
        menu = QMenu(self)
        if self._in_trash:
            menu.addAction(self.restore_action)
        else:
            menu.addAction(self.open_action)
            menu.addAction(self.reanalyse_selection_action)
            menu.addSeparator()
            menu.addAction(self.delete_action)
        return menu

    def _show_context_menu(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        if index.isValid() and index.row() not in self._selected_rows():
            self.table.selectRow(index.row())  # right-click on another row acts on it
        if not self.selected_case_ids():
            return
        menu = self.build_context_menu()
        menu.exec(self.table.viewport().mapToGlobal(position))
        menu.deleteLater()

    def delete_selected(self) -> None:
        """Move the selected cases to the trash, after one question; Undo brings them back."""
        if self._in_trash or self.showing_detail():
            return
        rows = self._selected_rows()
        case_ids = self.selected_case_ids()
        if not case_ids:
            return
        if len(case_ids) == 1:
            question = f"Move the case of {self.model.patient_name_at(rows[0])} to the trash?"
        else:
            question = f"Move {len(case_ids):,} cases to the trash?"
        them = "it" if len(case_ids) == 1 else "them"
        if not ask_yes_no(self, f"{question}\n\nUndo (Ctrl+Z) brings {them} back at once, "
                                "and the trash keeps them until it is emptied."):
            return
        moved, problems = self._each_case(
            case_ids, lambda case_id: self._context.cases.delete_case(
                case_id, user_id=self._user_id))
        log.info("Moved %d case(s) to the trash", len(moved))
        self._reload_list()
        self._sync_changed()
        if moved:
            self._offer_undo(moved)
        self._select_row_near(rows[0])
        self._report_problems("moved to the trash", problems)

    def restore_selected(self) -> None:
        """Bring the selected cases in the trash back to the case list."""
        if not self._in_trash:
            return
        rows = self._selected_rows()
        case_ids = self.selected_case_ids()
        if not case_ids:
            return
        restored, problems = self._each_case(
            case_ids, lambda case_id: self._context.cases.restore_case(
                case_id, user_id=self._user_id))
        log.info("Restored %d case(s) from the trash", len(restored))
        self._reload_list()
        self._sync_changed()
        if restored:
            self.statusBar().showMessage(
                f"{_cases(len(restored))} restored to the case list.", 8000)
        self._select_row_near(rows[0])
        self._report_problems("restored", problems)

    def undo_delete(self) -> None:
        """Bring back exactly the cases the last move to the trash took (Ctrl+Z)."""
        case_ids = self._undo_case_ids
        if not case_ids:
            return
        self._offer_undo([])
        restored, problems = self._each_case(
            case_ids, lambda case_id: self._context.cases.restore_case(
                case_id, user_id=self._user_id))
        log.info("Undo: restored %d case(s) from the trash", len(restored))
        self._reload_list()
        self._sync_changed()
        if self.showing_detail():
            self.show_list()
        self._select_cases(restored)
        if restored:
            self.statusBar().showMessage(f"{_cases(len(restored))} restored.", 8000)
        self._report_problems("restored", problems)

    def _offer_undo(self, case_ids: Sequence[str]) -> None:
        self._undo_case_ids = list(case_ids)
        count = len(case_ids)
        self.undo_action.setEnabled(bool(count))
        self.undo_action.setText(f"&Undo move to trash ({_cases(count)})" if count
                                 else "&Undo move to trash")
        self.undo_label.setText("Case moved to the trash." if count == 1
                                else f"{_cases(count)} moved to the trash.")
        self.undo_bar.setVisible(bool(count))
        if count:
            self.statusBar().clearMessage()
            self._undo_offer_timer.start()
        else:
            self._undo_offer_timer.stop()

    def _each_case(self, case_ids: Sequence[str], change: Callable[[str], object]
                   ) -> tuple[list[str], list[str]]:
        """Apply `change` to each case; the ids it worked for, and the problems."""
        done: list[str] = []
        problems: list[str] = []
        with _busy_cursor():
            for case_id in case_ids:
                try:
                    change(case_id)
                except MedMitraError as error:
                    problems.append(str(error))
                else:
                    done.append(case_id)
        return done, problems

    def _report_problems(self, what_was_done: str, problems: Sequence[str]) -> None:
        if not problems:
            return
        shown = "\n".join(problems[:5]) + ("\n…" if len(problems) > 5 else "")
        QMessageBox.warning(self, APP_NAME, f"{_cases(len(problems))} could not be "
                                            f"{what_was_done}:\n\n{shown}")

    def _select_row_near(self, row: int) -> None:
        """After rows went away, put the cursor where they were, for the next key press."""
        count = self.model.rowCount()
        if count:
            target = self.model.index(min(row, count - 1), 0)
            self.table.setCurrentIndex(target)
            self.table.selectRow(target.row())

    def _select_cases(self, case_ids: Sequence[str]) -> None:
        rows = [row for case_id in case_ids if (row := self.model.row_of(case_id)) is not None]
        if not rows:
            return
        selection = QItemSelection()
        last_column = self.model.columnCount() - 1
        for row in rows:
            selection.select(self.model.index(row, 0), self.model.index(row, last_column))
        flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect
                 | QItemSelectionModel.SelectionFlag.Rows)
        self.table.selectionModel().setCurrentIndex(
            self.model.index(min(rows), 0), QItemSelectionModel.SelectionFlag.NoUpdate)
        self.table.selectionModel().select(selection, flags)
        self.table.scrollTo(self.model.index(min(rows), 0))

    def _update_actions(self) -> None:
        on_list = not self.showing_detail()
        count = len(self._selected_rows()) if on_list else 0
        live, trash = on_list and not self._in_trash, on_list and self._in_trash
        self.open_action.setEnabled(live and count > 0)
        self.reanalyse_selection_action.setEnabled(live and count > 0)
        self.reanalyse_selection_action.setText(
            f"&Re-analyse {count:,} cases" if count > 1 else "&Re-analyse")
        self.delete_action.setEnabled(live and count > 0)
        self.delete_action.setText(
            f"&Delete {count:,} cases…" if count > 1 else "&Delete…")
        self.restore_action.setEnabled(trash and count > 0)
        self.restore_action.setText(f"Re&store {count:,} cases" if count > 1 else "Re&store")
        self.restore_button.setEnabled(trash and count > 0)
        self.reanalyze_action.setEnabled(not self._in_trash or self.showing_detail())
        printable = self.case_to_print() is not None
        self.print_action.setEnabled(printable)
        self.save_pdf_action.setEnabled(printable)
        self.portability.update_actions()

    # ---- other commands -----------------------------------------------------------------

    def new_case(self) -> None:
        """The New case page; Save returns at once and opens the case while it is analysed."""
        if self.showing_detail() and not self.detail.confirm_leave():
            return
        if self._in_trash:
            self.set_trash_mode(False)
        self.stack.setCurrentWidget(self.new_case_view)
        self.setWindowTitle(f"New case – {APP_NAME}")
        self.new_case_view.name.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def showing_new_case(self) -> bool:
        return self.stack.currentWidget() is self.new_case_view

    def _on_case_created(self, case_id: str) -> None:
        self._reload_list()
        self._sync_changed()
        self.statusBar().showMessage("Case saved; its documents are being analysed.", 8000)
        if self._runner is not None:
            self._runner.wake()
        self.open_case(case_id)

    def open_audit_log(self) -> None:
        from .audit_dialog import AuditLogDialog

        AuditLogDialog(self._context.database, self).exec()

    def open_settings(self) -> None:
        from ..services import folder_encryption

        dialog = SettingsDialog(
            self._context.settings, self._context.paths.data_dir, self,
            sync=self._context.sync,
            turn_on_encryption=lambda: folder_encryption.turn_on(self._context,
                                                                 user_id=self._user_id))
        if dialog.sync_group is not None:
            dialog.sync_group.account_changed.connect(self._sync_account_changed)
        if self.run_settings_dialog(dialog) and dialog.saved is not None:
            self._sync_account_changed()  # the server address may have changed
            if dialog.saved.user_id:
                self._user_id = dialog.saved.user_id
                self.new_case_view.set_user_id(self._user_id)
                self.detail.sync_line.set_user_id(self._user_id)
            if self._themes is not None:
                self._themes.apply(dialog.saved.theme)
            self.statusBar().showMessage(
                "Settings saved. OCR changes apply to the next analysis after a restart.", 8000)

    def run_settings_dialog(self, dialog: SettingsDialog) -> bool:
        """Modal; a test replaces this to drive the dialog itself."""
        return bool(dialog.exec())

    def reanalyze_selected(self) -> None:
        case_ids = ([self.detail.case_id] if self.showing_detail() and self.detail.case_id
                    else [] if self._in_trash else self.selected_case_ids())
        try:
            for case_id in case_ids:
                self._context.cases.reanalyze(case_id, user_id=self._user_id)
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            return
        self.reload()
        self._sync_changed()
        if self._runner is not None:
            self._runner.wake()

    # ---- sync with the MedMitra server ---------------------------------------------------

    def sync_now(self) -> None:
        """Sync at once (Shift+F5), sending even what waits for a retry."""
        if self._sync is None:
            return
        outcome = self._sync.outcome
        if outcome is not None and outcome.status is not None \
                and not outcome.status.signed_in and outcome.problem is None:
            self.statusBar().showMessage(
                "Sync is not set up: open Settings and choose Sign in… to sync with a "
                "MedMitra server.", 10_000)
        self._sync.sync_now()

    def _sync_changed(self, *_: object) -> None:
        if self._sync is not None:
            self._sync.changed()

    def _sync_resolved(self, _case_id: str) -> None:
        if self._sync is not None:
            self._sync.run_now()

    def _sync_account_changed(self) -> None:
        self._show_sync_column(bool(self._context.settings.load().server_url))
        if self._sync is not None:
            self._sync.account_changed()

    def _show_sync_column(self, shown: bool) -> None:
        """A clinic that never syncs sees no Sync column ("Local only" on every row)."""
        self.table.setColumnHidden(SYNC_COLUMN, not shown)

    def _on_sync_finished(self, outcome: SyncOutcome) -> None:
        """After a round: show what it changed. Never a dialog: the indicator and the
        cases' own sync state say what went wrong."""
        if outcome.status is not None:
            self._show_sync_column(outcome.status.configured)
        before, self._sync_states = self._sync_states, outcome.states
        report = outcome.report
        if report is None or not (outcome.changed_cases or outcome.states != before):
            return
        selected = self.selected_case_ids()
        try:
            self.model.reload_loaded()
        except MedMitraError as error:  # the next round or F5 reads it again
            log.warning("Reading the case list after sync failed: %s", type(error).__name__)
            return
        if self.selected_case_ids() != selected:
            self._select_cases(selected)  # the rows moved: the same cases stay selected
        if self.showing_detail():
            self._refresh_open_case(bool(report.insights))
        new_conflicts = outcome.in_conflict - before.get(SyncState.CONFLICT.value, 0)
        if new_conflicts > 0:
            self.statusBar().showMessage(
                f"{_cases(new_conflicts)} changed here and on the server: open "
                f"{'it' if new_conflicts == 1 else 'each'} and choose Resolve conflict… "
                f"to pick the values to keep.", 15_000)
        elif report.pulled:
            self.statusBar().showMessage(
                f"{_cases(report.pulled)} arrived from the MedMitra server.", 8000)

    def _refresh_open_case(self, new_insights: bool) -> None:
        """Read the open case again if the round changed it (a refresh keeps unsaved
        SOAP edits, but resets the tabs' selections: only when needed)."""
        shown = self.detail.case
        if shown is None:
            return
        try:
            record = self._context.cases.get_case(shown.case_id)
        except MedMitraError:
            return  # gone: the list says so; leaving the case is the doctor's choice
        if new_insights or record != shown:
            self.detail.refresh()

    # ---- printing -----------------------------------------------------------------------

    def case_to_print(self) -> str | None:
        """The open case; on the list, the one case selected (none with several, or in the
        trash)."""
        if self.showing_detail():
            return self.detail.case_id
        if self._in_trash or self.stack.currentWidget() is not self.table:
            return None
        case_ids = self.selected_case_ids()
        return case_ids[0] if len(case_ids) == 1 else None

    def print_case(self) -> None:
        """The print dialog, then the case on paper (Ctrl+P)."""
        case_id = self.case_to_print()
        if case_id is None or not self._soap_note_ready(case_id):
            return
        from . import print_case as printing  # QtPrintSupport loads on first use

        if printing.print_case(self, self._context.documents, case_id, self._user_id):
            self.statusBar().showMessage("Case sent to the printer.", 8000)
            self._after_export(case_id)

    def save_case_pdf(self) -> None:
        """The case as a PDF file the doctor names (the same document as printed)."""
        case_id = self.case_to_print()
        if case_id is None or not self._soap_note_ready(case_id):
            return
        try:
            patient_name = self._context.cases.get_case(case_id).patient_name
        except MedMitraError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            return
        from . import print_case as printing  # QtPrintSupport loads on first use

        saved = printing.save_case_pdf(self, self._context.reports, case_id,
                                       self._user_id, patient_name)
        if saved is not None:
            self.statusBar().showMessage(f"Saved {saved}", 8000)
            self._after_export(case_id)

    def _soap_note_ready(self, case_id: str) -> bool:
        """Unsaved SOAP edits are not in the printout: offer to save them first. False:
        the doctor cancelled (or saving failed)."""
        if not (self.showing_detail() and self.detail.case_id == case_id
                and self.detail.has_unsaved_changes()):
            return True
        answer = QMessageBox.question(
            self, APP_NAME,
            "The SOAP note has changes that are not saved, and the printout shows the last "
            "saved version.\n\nSave the changes first (Save), use the saved version "
            "(Ignore), or stop (Cancel)?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Ignore
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.detail.soap_editor.save()
        return answer == QMessageBox.StandardButton.Ignore

    def _after_export(self, case_id: str) -> None:
        if self.showing_detail() and self.detail.case_id == case_id:
            self.detail.refresh()  # the History tab shows the export

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
        narrowed = self._narrowed()
        if self._in_trash:
            self.count_label.setText(f"{_cases(total)} in the trash")
        elif narrowed:
            self.count_label.setText(f"{total:,} matching case{'s' if total != 1 else ''}")
        else:
            self.count_label.setText(_cases(total))
        self._update_actions()
        if self.showing_detail() or self.showing_new_case():
            return  # the list changed behind the open page: it stays open
        if total:
            self.stack.setCurrentWidget(self.table)
        elif narrowed:
            self.no_match.setText(_no_match_text(bool(self.search.text().strip()),
                                                 self.filters.active_count))
            self.stack.setCurrentWidget(self.no_match)
        elif self._in_trash:
            self.stack.setCurrentWidget(self.trash_empty)
        else:
            self.stack.setCurrentWidget(self.empty_state)

    def _restore_layout(self) -> None:
        geometry = self._settings.value("main_window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1100, 680)
        columns = self._settings.value("main_window/columns")
        # A layout saved with other columns (7 before the Sync column) would put the
        # widths on the wrong columns: the defaults are better.
        saved_count = int(self._settings.value("main_window/column_count", 7))
        if columns is not None and saved_count == self.model.columnCount():
            self.table.horizontalHeader().restoreState(columns)

    def closeEvent(self, event) -> None:
        if self.showing_detail() and not self.detail.confirm_leave():
            event.ignore()
            return
        self._settings.setValue("main_window/geometry", self.saveGeometry())
        self._settings.setValue("main_window/columns",
                                self.table.horizontalHeader().saveState())
        self._settings.setValue("main_window/column_count", self.model.columnCount())
        if self._sync is not None:
            self._sync.stop()  # before the database closes
        super().closeEvent(event)


def _shortcuts(standard: QKeySequence.StandardKey, fallback: str) -> list[QKeySequence]:
    """The platform's keys for a standard action, and always `fallback` (some platforms,
    Linux without a desktop's theme among them, have none for Quit or Preferences)."""
    keys = QKeySequence.keyBindings(standard)
    wanted = QKeySequence(fallback)
    return keys if wanted in keys else [*keys, wanted]


def _cases(count: int) -> str:
    return f"{count:,} case{'s' if count != 1 else ''}"


def _no_match_text(searching: bool, filter_count: int) -> str:
    if searching and filter_count:
        hint = "Try fewer or other words, or clear the filters (Alt+L)."
    elif filter_count:
        hint = "No case passes the filters: change them, or clear them (Alt+L)."
    else:
        hint = "Try fewer or other words."
    return f"<h3>No matching cases</h3><p>{hint}</p>"


def _centred_label(html: str) -> QLabel:
    label = QLabel(html)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    return label


@contextmanager
def _busy_cursor() -> Iterator[None]:
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()
