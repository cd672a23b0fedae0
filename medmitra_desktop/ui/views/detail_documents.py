"""The Documents tab: the case's documents, and each one's extracted text page by page
with the words OCR was unsure of highlighted."""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...domain.enums import DocumentStatus
from ...domain.errors import MedMitraError
from ...domain.records import DocumentRecord
from ...services.case_results import CaseResultsService, PageView
from ..models.detail_models import DocumentTableModel
from ..widgets.clinical_colors import ClinicalColors
from ..widgets.tables import fit_height_to_rows, read_only_table

LOW_CONFIDENCE = 60  # Tesseract word confidence (0-100) below which a word is highlighted
PAGE_SOURCE_WORDS = {"text": "Text layer of the file (no OCR needed)", "ocr": "Read by OCR"}
DOCUMENT_ROWS_SHOWN = 6


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
    def __init__(self, colors: ClinicalColors, service: CaseResultsService,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._colors = colors
        self._service = service
        self._case_id = ""
        self._pages: tuple[PageView, ...] = ()
        self._document: DocumentRecord | None = None

        self.model = DocumentTableModel(colors, self)
        self.table = read_only_table(self.model, "Documents", (240, 130, 150, 60))
        self.table.selectionModel().selectionChanged.connect(self._load_selected)

        self.title = QLabel()
        self.title.setAccessibleName("Document shown")
        self.page = QSpinBox()
        self.page.setAccessibleName("Page")
        self.page.setPrefix("Page ")
        self.page.setMinimum(1)
        self.page.setKeyboardTracking(False)
        self.page.valueChanged.connect(self._show_page)
        self.page_count = QLabel()
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setAccessibleName("Document notice")
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

        viewer = QWidget()
        bar = QHBoxLayout()
        bar.addWidget(self.title, 1)
        bar.addWidget(self.page)
        bar.addWidget(self.page_count)
        column = QVBoxLayout(viewer)
        column.setContentsMargins(0, 4, 0, 0)
        column.addLayout(bar)
        column.addWidget(self.notice)
        column.addWidget(self.page_info)
        column.addWidget(self.text, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(viewer, 1)

    # ---- filling ------------------------------------------------------------------------

    def show_documents(self, case_id: str, documents: Sequence[DocumentRecord]) -> None:
        """Show a case's documents, keeping the document and page that were shown."""
        keep = self._document.document_id if self._document and case_id == self._case_id \
            else None
        keep_page = self.page.value()
        self._case_id = case_id
        self._document = None
        self.model.set_rows(documents)
        fit_height_to_rows(self.table, maximum_rows=DOCUMENT_ROWS_SHOWN)
        if not documents:
            self._clear("This case has no documents.")
            return
        self.show_document(keep or documents[0].document_id, keep_page if keep else 1)

    def show_document(self, document_id: str, page: int = 1) -> bool:
        """Select a document and show one of its pages (1-based); False if not this case's."""
        for row, document in enumerate(self.model.rows):
            if document.document_id == document_id:
                if self._document is None or self._document.document_id != document_id:
                    self.table.selectRow(row)  # loads its pages
                self.page.blockSignals(True)
                self.page.setValue(max(1, page))
                self.page.blockSignals(False)
                self._show_page()
                return True
        return False

    @property
    def shown_document(self) -> DocumentRecord | None:
        return self._document

    def set_colors(self, colors: ClinicalColors) -> None:
        self._colors = colors
        self.model.set_colors(colors)
        if self._document is not None:
            self._show_notice(self._document)
            self._show_page()

    # ---- parts --------------------------------------------------------------------------

    def _load_selected(self, *_: object) -> None:
        rows = self.table.selectionModel().selectedRows()
        document = self.model.row_at(rows[0].row()) if rows else None
        self._document = document
        if document is None:
            self._clear("")
            return
        try:
            self._pages = self._service.document_pages(self._case_id, document.document_id)
        except MedMitraError as error:
            self._pages = ()
            self.notice.setText(html.escape(str(error)))
        self.title.setText(f"<b>{html.escape(document.file_name)}</b>")
        self._show_notice(document)
        self.page.blockSignals(True)
        self.page.setMaximum(max(1, len(self._pages)))
        self.page.setValue(1)
        self.page.blockSignals(False)
        self.page.setEnabled(len(self._pages) > 1)
        self.page_count.setText(f"of {len(self._pages)}" if self._pages else "")
        self._show_page()

    def _show_notice(self, document: DocumentRecord) -> None:
        colors = self._colors
        if document.status is DocumentStatus.NEEDS_PASSWORD:
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
            self.text.setPlaceholderText("No text was extracted from this document."
                                         if self._document is not None else "")
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

    def _clear(self, message: str) -> None:
        self._pages = ()
        self.title.setText(html.escape(message))
        self.notice.hide()
        self.page_info.setText("")
        self.page_count.setText("")
        self.page.setEnabled(False)
        self.text.clear()
