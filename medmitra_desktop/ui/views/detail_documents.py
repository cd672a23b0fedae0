"""The Documents tab: the case's documents; for the chosen one, the original file in a
viewer beside the text extracted from it, both at the same page, with the words OCR was
unsure of highlighted. Attaching, removing and unlocking documents are asked for here and
done by the case view (signals)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QAction,
    QFontDatabase,
    QKeySequence,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...domain.enums import DocumentCategory, DocumentStatus
from ...domain.errors import MedMitraError
from ...domain.records import DocumentRecord
from ...services.case_results import CaseResultsService, PageView
from ..models.detail_models import DocumentTableModel
from ..widgets.clinical_colors import ClinicalColors
from ..widgets.document_viewer import DocumentViewer, ViewerSource, kind_for_mime
from ..widgets.tables import fit_height_to_rows, heading, read_only_table

if TYPE_CHECKING:
    from ...storage.filestore import FileStore

LOW_CONFIDENCE = 60  # Tesseract word confidence (0-100) below which a word is highlighted
PAGE_SOURCE_WORDS = {"text": "Text layer of the file (no OCR needed)", "ocr": "Read by OCR"}
DOCUMENT_ROWS_SHOWN = 4


def highlight_low_confidence(document: QTextDocument, text: str,
                             words: Sequence[tuple[str, float, int, int, int, int]],
                             colors: ClinicalColors) -> int:
    """Mark the words OCR read with confidence below LOW_CONFIDENCE; returns how many.

    The OCR words come in reading order, so each is looked for after the previous one;
    a word the page text does not contain (the text was cleaned up) is skipped."""
    marker = QTextCharFormat()
    marker.setBackground(colors.low_confidence_bg)
    marker.setForeground(colors.low_confidence_fg)
    marker.setToolTip("OCR was unsure of this word: check it against the original")
    cursor = QTextCursor(document)
    position = 0
    marked = 0
    for word, confidence, *_box in words:
        if not word.strip():
            continue
        found = text.find(word, position)
        if found < 0:
            continue
        position = found + len(word)
        if 0 <= confidence < LOW_CONFIDENCE:
            # Qt counts UTF-16 code units; Python counts code points.
            start = _utf16_length(text[:found])
            cursor.setPosition(start)
            cursor.setPosition(start + _utf16_length(word), QTextCursor.MoveMode.KeepAnchor)
            cursor.mergeCharFormat(marker)
            marked += 1
    return marked


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class DocumentsTab(QWidget):
    attach_requested = Signal(str)  # a DocumentCategory value
    remove_requested = Signal(str)  # document id
    password_requested = Signal(str)  # document id

    def __init__(self, colors: ClinicalColors, service: CaseResultsService,
                 files: FileStore | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._colors = colors
        self._service = service
        self._files = files
        self._case_id = ""
        self._pages: tuple[PageView, ...] = ()
        self._document: DocumentRecord | None = None
        self._viewer_key: tuple[str, str, str | None] | None = None
        # Passwords the doctor typed this session, so the viewer can open the file too.
        # Memory only: never written to the database, the settings or a log.
        self._passwords: dict[str, str] = {}
        self._wanted_page = 1

        self.model = DocumentTableModel(colors, self)
        self.table = read_only_table(self.model, "Documents", (240, 130, 150, 60))
        self.table.selectionModel().selectionChanged.connect(self._load_selected)

        self.attach_button = QPushButton("A&ttach files…")
        self.attach_button.setAccessibleName("Attach more files to this case")
        self.attach_button.setToolTip("Add lab or radiology reports; the case is analysed "
                                      "again")
        attach_menu = QMenu(self.attach_button)
        self.attach_lab_action = attach_menu.addAction("&Lab reports…")
        self.attach_lab_action.triggered.connect(
            lambda: self.attach_requested.emit(DocumentCategory.LAB.value))
        self.attach_radiology_action = attach_menu.addAction("&Radiology reports…")
        self.attach_radiology_action.triggered.connect(
            lambda: self.attach_requested.emit(DocumentCategory.RADIOLOGY.value))
        self.attach_button.setMenu(attach_menu)
        self.remove_button = QPushButton("Remove f&ile…")
        self.remove_button.setAccessibleName("Remove the chosen file from this case")
        self.remove_button.setToolTip("Remove the chosen document; the case is analysed again")
        self.remove_button.clicked.connect(self._remove_chosen)
        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addWidget(self.attach_button)
        actions.addWidget(self.remove_button)
        actions.addStretch(1)

        self.title = QLabel()
        self.title.setAccessibleName("Document shown")
        self.previous_button = QToolButton()
        self.previous_button.setText("◀")
        self.previous_button.setAccessibleName("Previous page")
        self.previous_button.setToolTip("Previous page (Page Up)")
        self.previous_button.clicked.connect(self.previous_page)
        self.page = QSpinBox()
        self.page.setAccessibleName("Page")
        self.page.setPrefix("Page ")
        self.page.setMinimum(1)
        self.page.setKeyboardTracking(False)
        self.page.valueChanged.connect(self._page_chosen)
        self.page_count = QLabel()
        self.next_button = QToolButton()
        self.next_button.setText("▶")
        self.next_button.setAccessibleName("Next page")
        self.next_button.setToolTip("Next page (Page Down)")
        self.next_button.clicked.connect(self.next_page)
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setAccessibleName("Document notice")
        self.password_button = QPushButton("Enter &password…")
        self.password_button.setAccessibleName("Enter the password of this document")
        self.password_button.setToolTip("The password is kept in memory for this analysis "
                                        "only; it is never saved")
        self.password_button.clicked.connect(self._password_for_chosen)
        self.page_info = QLabel()
        self.page_info.setWordWrap(True)
        self.page_info.setAccessibleName("Page details")
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Document text")
        self.text.setTabChangesFocus(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.viewer = DocumentViewer()
        self.viewer.loaded.connect(self._viewer_loaded)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.title, 1)
        for widget in (self.previous_button, self.page, self.page_count, self.next_button):
            bar.addWidget(widget)
        notice_row = QHBoxLayout()
        notice_row.setContentsMargins(0, 0, 0, 0)
        notice_row.addWidget(self.notice, 1)
        notice_row.addWidget(self.password_button, 0, Qt.AlignmentFlag.AlignVCenter)
        text_side = QWidget()
        text_column = QVBoxLayout(text_side)
        text_column.setContentsMargins(0, 0, 0, 0)
        text_column.addWidget(heading("Extracted text"))
        text_column.addWidget(self.page_info)
        text_column.addWidget(self.text, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.viewer)
        self.splitter.addWidget(text_side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(actions)
        layout.addLayout(bar)
        layout.addLayout(notice_row)
        layout.addWidget(self.splitter, 1)

        self._add_shortcut("Previous page", [QKeySequence(Qt.Key.Key_PageUp)],
                           self.previous_page)
        self._add_shortcut("Next page", [QKeySequence(Qt.Key.Key_PageDown)], self.next_page)
        self._add_shortcut("Zoom in", [QKeySequence("Ctrl+="),
                                       QKeySequence(QKeySequence.StandardKey.ZoomIn)],
                           self.viewer.zoom_in)
        self._add_shortcut("Zoom out", [QKeySequence("Ctrl+-"),
                                        QKeySequence(QKeySequence.StandardKey.ZoomOut)],
                           self.viewer.zoom_out)
        self._add_shortcut("Fit width", [QKeySequence("Ctrl+0")], self.viewer.fit_width)
        self._update_actions()

    def _add_shortcut(self, name: str, keys: list[QKeySequence], slot: object) -> None:
        # Within this tab only: other tabs and the window keep their own keys.
        action = QAction(name, self)
        unique = {key.toString(): key for key in keys}  # a standard key may repeat another
        action.setShortcuts(list(unique.values()))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)

    # ---- filling ------------------------------------------------------------------------

    def show_documents(self, case_id: str, documents: Sequence[DocumentRecord]) -> None:
        """Show a case's documents, keeping the document and page that were shown."""
        same_case = case_id == self._case_id
        keep = self._document.document_id if self._document and same_case else None
        if keep is not None and not any(d.document_id == keep for d in documents):
            keep = None
        keep_page = self.page.value()
        if not same_case:
            self._viewer_key = None
        self._case_id = case_id
        self._document = None
        self.model.set_rows(documents)
        fit_height_to_rows(self.table, maximum_rows=DOCUMENT_ROWS_SHOWN)
        if not documents:
            self._clear("This case has no documents.")
            return
        self.show_document(keep or documents[0].document_id, keep_page if keep else 1)

    def show_document(self, document_id: str, page: int = 1) -> bool:
        """Select a document and show one of its pages (1-based), in the viewer and as
        text; False if it is not this case's."""
        for row, document in enumerate(self.model.rows):
            if document.document_id == document_id:
                if self._document is None or self._document.document_id != document_id:
                    self.table.selectRow(row)  # loads its pages and its file
                self._go_to(max(1, page))
                return True
        return False

    @property
    def shown_document(self) -> DocumentRecord | None:
        return self._document

    @property
    def files(self) -> FileStore | None:
        return self._files

    def remember_password(self, document_id: str, password: str) -> None:
        """Let the viewer open a protected PDF with the password the doctor typed."""
        self._passwords[document_id] = password

    def set_colors(self, colors: ClinicalColors) -> None:
        self._colors = colors
        self.model.set_colors(colors)
        if self._document is not None:
            self._show_notice(self._document)
            self._show_page()

    # ---- pages --------------------------------------------------------------------------

    def previous_page(self) -> None:
        self.page.setValue(self.page.value() - 1)

    def next_page(self) -> None:
        self.page.setValue(self.page.value() + 1)

    def _go_to(self, number: int) -> None:
        """Show a page; one past the pages known yet is kept until the file is loaded."""
        self._wanted_page = number
        self.page.blockSignals(True)
        self.page.setValue(number)
        self.page.blockSignals(False)
        self.viewer.set_page(number)
        self._show_page()
        self._update_actions()

    def _page_chosen(self, *_: object) -> None:
        self._go_to(self.page.value())

    def _set_page_count(self) -> None:
        total = max(len(self._pages), self.viewer.page_count)
        self.page.blockSignals(True)
        self.page.setMaximum(max(1, total))
        self.page.setValue(min(self._wanted_page, max(1, total)))
        self.page.blockSignals(False)
        self.page.setEnabled(total > 1)
        self.page_count.setText(f"of {total}" if total else "")

    def _viewer_loaded(self, _count: int) -> None:
        self._set_page_count()
        self.viewer.set_page(self.page.value())
        self._show_page()
        self._update_actions()

    # ---- parts --------------------------------------------------------------------------

    def _load_selected(self, *_: object) -> None:
        rows = self.table.selectionModel().selectedRows()
        document = self.model.row_at(rows[0].row()) if rows else None
        self._document = document
        if document is None:
            self._clear("")
            return
        problem = ""
        try:
            self._pages = self._service.document_pages(self._case_id, document.document_id)
        except MedMitraError as error:
            self._pages = ()
            problem = str(error)
        self.title.setText(f"<b>{html.escape(document.file_name)}</b>")
        self._show_notice(document, problem)
        self._wanted_page = 1
        self._open_in_viewer(document)
        self._set_page_count()
        self._go_to(1)

    def _open_in_viewer(self, document: DocumentRecord) -> None:
        password = self._passwords.get(document.document_id)
        key = (document.document_id, document.sha256, password)
        if key == self._viewer_key:
            return  # already shown (the list was only read again)
        self._viewer_key = key
        if self._files is None:
            self.viewer.clear("The original file cannot be shown here.")
            return
        files, sha256 = self._files, document.sha256
        self.viewer.open(ViewerSource(document.file_name, kind_for_mime(document.mime_type),
                                      lambda: files.verify(sha256), password),
                         self._wanted_page)

    def _show_notice(self, document: DocumentRecord, problem: str = "") -> None:
        colors = self._colors
        self.password_button.setVisible(document.status is DocumentStatus.NEEDS_PASSWORD)
        if problem:
            text = f"<b>Problem:</b> {html.escape(problem)}"
            colour, background = colors.critical_fg, colors.critical_bg
        elif document.status is DocumentStatus.NEEDS_PASSWORD:
            text = "<b>Password needed:</b> " + html.escape(
                document.error or f"{document.file_name} is password protected, so its text "
                                  "could not be read.")
            colour, background = colors.abnormal_fg, colors.abnormal_bg
        elif document.status in (DocumentStatus.FAILED, DocumentStatus.OCR_UNAVAILABLE):
            problem = html.escape(document.error or "the document could not be read.")
            text = f"<b>Problem:</b> {problem}"
            colour, background = colors.critical_fg, colors.critical_bg
        elif document.status in (DocumentStatus.QUEUED, DocumentStatus.PROCESSING):
            text = "This document is waiting for analysis or being analysed."
            colour, background = colors.text, colors.base
        else:
            self.notice.hide()
            return
        self.notice.setText(text)
        self.notice.setStyleSheet(f"QLabel {{ color: {colour.name()}; background: "
                                  f"{background.name()}; padding: 6px; }}")
        self.notice.show()

    def _show_page(self, *_: object) -> None:
        number = self.page.value()
        page = next((p for p in self._pages if p.number == number), None)
        if page is None:
            self.text.clear()
            self.text.setPlaceholderText(
                "" if self._document is None else
                f"No text was extracted from page {number}." if self._pages else
                "No text was extracted from this document.")
            self.page_info.setText("")
            self.page_info.hide()
            return
        self.text.setPlainText(page.text)
        marked = highlight_low_confidence(self.text.document(), page.text, page.words,
                                          self._colors)
        details = [PAGE_SOURCE_WORDS.get(page.source, f"Read from: {page.source}")]
        if page.mean_confidence is not None:
            details[0] += f" (mean OCR confidence {page.mean_confidence:.0f}%)"
        if marked:
            details.append(
                f"<span style='background:{self._colors.low_confidence_bg.name()}; color:"
                f"{self._colors.low_confidence_fg.name()}'>&nbsp;{marked} word"
                f"{'s' if marked != 1 else ''}&nbsp;</span> read with confidence below "
                f"{LOW_CONFIDENCE}%: check against the original")
        if page.error:
            details.append(f"<b>Page problem:</b> {html.escape(page.error)}")
        self.page_info.setText(" · ".join(details))
        self.page_info.show()

    def _update_actions(self) -> None:
        chosen = self._document is not None
        self.remove_button.setEnabled(chosen)
        self.attach_button.setEnabled(bool(self._case_id))
        total = self.page.maximum() if self.page.isEnabled() else 1
        self.previous_button.setEnabled(chosen and self.page.value() > 1)
        self.next_button.setEnabled(chosen and self.page.value() < total)

    def _remove_chosen(self) -> None:
        if self._document is not None:
            self.remove_requested.emit(self._document.document_id)

    def _password_for_chosen(self) -> None:
        if self._document is not None:
            self.password_requested.emit(self._document.document_id)

    def _clear(self, message: str) -> None:
        self._pages = ()
        self._document = None
        self._viewer_key = None
        self.title.setText(html.escape(message))
        self.notice.hide()
        self.password_button.hide()
        self.page_info.setText("")
        self.page_count.setText("")
        self.page.setEnabled(False)
        self.text.clear()
        self.viewer.clear(message)
        self._update_actions()
