"""The original file of a document, as the doctor would see it on paper.

PDFs show in a QPdfView, images (every frame of a TIFF is a page) in a zoomable graphics
view, text and CSV files as text. The file is found and checked (its hash verified) and
images are decoded on a worker thread, so a large file never freezes the window; a file
that cannot be shown says why instead.

The viewer knows nothing about the database or the file store: it is handed a
`ViewerSource` whose `locate` callable returns the verified path (or raises MedMitraError
with a message for the doctor).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QObject,
    QPointF,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import (
    QFontDatabase,
    QImage,
    QImageReader,
    QPainter,
    QPalette,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...domain.errors import MedMitraError
from .tables import heading

log = logging.getLogger(__name__)

PDF, IMAGE, TEXT = "pdf", "image", "text"
ZOOM_STEP = 1.25
ZOOM_MIN, ZOOM_MAX = 0.1, 8.0
# Qt refuses to decode an image needing more memory than this (a decompression bomb);
# a 300 dpi A4 colour scan needs about 35 MB.
IMAGE_ALLOCATION_LIMIT_MB = 256
# Larger images are shown scaled down to this many pixels on their longer side.
IMAGE_MAX_SIDE = 10_000
TEXT_PREVIEW_BYTES = 2 * 1024 * 1024

_PDF_ERRORS = {
    QPdfDocument.Error.FileNotFound: "the file was not found",
    QPdfDocument.Error.InvalidFileFormat: "the file is damaged or not a PDF the viewer can read",
    QPdfDocument.Error.UnsupportedSecurityScheme: "its protection is of a kind the viewer "
                                                  "cannot open",
}


def kind_for_mime(mime_type: str) -> str:
    """PDF, IMAGE or TEXT for a sniffed MIME type; "" when it cannot be shown."""
    if mime_type == "application/pdf":
        return PDF
    if mime_type.startswith("image/"):
        return IMAGE
    if mime_type.startswith("text/"):
        return TEXT
    return ""


@dataclass(frozen=True)
class ViewerSource:
    name: str  # the file name shown to the doctor
    kind: str  # PDF, IMAGE or TEXT
    locate: Callable[[], Path]  # runs on a worker thread; raises MedMitraError
    password: str | None = None  # for a protected PDF, kept in memory only


@dataclass(frozen=True)
class _Loaded:
    path: Path | None = None
    image: QImage | None = None
    frames: int = 0
    text: str | None = None
    error: str = ""


class _LoadSignals(QObject):
    done = Signal(int, object)  # request number, _Loaded


class _LoadTask(QRunnable):
    def __init__(self, request: int, work: Callable[[], _Loaded], signals: _LoadSignals
                 ) -> None:
        super().__init__()
        self._request = request
        self._work = work
        self._signals = signals

    def run(self) -> None:
        try:
            loaded = self._work()
        except MedMitraError as error:
            loaded = _Loaded(error=str(error))
        except OSError as error:
            loaded = _Loaded(error=f"the file could not be read ({error.strerror or error})")
        except Exception:  # a bug: logged, and still an answer for the doctor
            log.exception("Document viewer could not load a file")
            loaded = _Loaded(error="the file could not be shown (an unexpected error; "
                                   "see the log)")
        with contextlib.suppress(RuntimeError):  # the viewer was closed meanwhile
            self._signals.done.emit(self._request, loaded)


def _read_image(path: Path, frame: int) -> _Loaded:
    QImageReader.setAllocationLimit(IMAGE_ALLOCATION_LIMIT_MB)
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)  # EXIF orientation of phone photos
    frames = max(1, reader.imageCount())
    if frame and not reader.jumpToImage(min(frame, frames - 1)):
        return _Loaded(frames=frames, error=f"page {frame + 1} of the image could not be read")
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > IMAGE_MAX_SIDE:
        reader.setScaledSize(size.scaled(QSize(IMAGE_MAX_SIDE, IMAGE_MAX_SIDE),
                                         Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        return _Loaded(frames=frames, error=f"the image could not be decoded "
                                            f"({reader.errorString()})")
    return _Loaded(path=path, image=image, frames=frames)


def _read_text(path: Path) -> _Loaded:
    with path.open("rb") as handle:
        data = handle.read(TEXT_PREVIEW_BYTES + 1)
    text = data[:TEXT_PREVIEW_BYTES].decode("utf-8", errors="replace")
    if len(data) > TEXT_PREVIEW_BYTES:
        text += f"\n\n[… only the first {TEXT_PREVIEW_BYTES // 1024 // 1024} MB are shown]"
    return _Loaded(path=path, text=text, frames=1)


class _ImageView(QGraphicsView):
    """A picture that can fit the width of the view or be zoomed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.item = QGraphicsPixmapItem()
        self.item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self.item)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self._paint_background()
        self.fit = True

    def _paint_background(self) -> None:
        # Around the page, as QPdfView does: a white scan stays visibly a page.
        self.setBackgroundBrush(self.palette().brush(QPalette.ColorRole.Dark))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._paint_background()

    def set_image(self, image: QImage) -> None:
        self.item.setPixmap(QPixmap.fromImage(image))
        self.scene().setSceneRect(self.item.boundingRect())
        self.apply_fit()

    def clear(self) -> None:
        self.item.setPixmap(QPixmap())

    def factor(self) -> float:
        return self.transform().m11()

    def set_factor(self, factor: float) -> None:
        self.fit = False
        self.resetTransform()
        self.scale(factor, factor)

    def fit_factor(self) -> float:
        width = self.item.pixmap().width()
        if not width:
            return 1.0
        # Leave room for the vertical scroll bar a tall page will need.
        room = self.viewport().width() - self.verticalScrollBar().sizeHint().width()
        return max(ZOOM_MIN, room / width)

    def apply_fit(self) -> None:
        if self.fit:
            self.resetTransform()
            factor = self.fit_factor()
            self.scale(factor, factor)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.apply_fit()


class DocumentViewer(QWidget):
    """Shows one file; the owner moves the page (set_page) and reads page_count."""

    loaded = Signal(int)  # the page count, once a file is shown (0: it could not be)
    zoom_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # The pool first: destroyed first, it waits for a running load while the signal
        # object it reports to still exists.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _LoadSignals(self)
        self._signals.done.connect(self._on_loaded)
        self._request = 0
        self._source: ViewerSource | None = None
        self._kind = ""
        self._path: Path | None = None
        self._page_count = 0
        self._page = 1  # wanted page, 1-based; kept while a file loads
        self._image_frame = -1
        self._loading = False

        self.zoom_out_button = self._tool("−", "Zoom out (Ctrl+-)", "Zoom out")
        self.zoom_out_button.clicked.connect(self.zoom_out)
        self.zoom_in_button = self._tool("+", "Zoom in (Ctrl+=)", "Zoom in")
        self.zoom_in_button.clicked.connect(self.zoom_in)
        self.fit_button = self._tool("Fit width", "Fit the page to the width (Ctrl+0)",
                                     "Fit width")
        self.fit_button.clicked.connect(self.fit_width)
        self.zoom_label = QLabel()
        self.zoom_label.setAccessibleName("Zoom")
        self.zoom_label.setMinimumWidth(90)
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.pdf_document = QPdfDocument(self)
        self.pdf_view = QPdfView()
        self.pdf_view.setAccessibleName("Original document")
        self.pdf_view.setDocument(self.pdf_document)
        self.pdf_view.setPageMode(QPdfView.PageMode.SinglePage)
        self.pdf_view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.pdf_view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.pdf_view.pageNavigator().currentPageChanged.connect(self._pdf_page_changed)
        self.image_view = _ImageView()
        self.image_view.setAccessibleName("Original image")
        self.text_view = QPlainTextEdit()
        self.text_view.setAccessibleName("Original text file")
        self.text_view.setReadOnly(True)
        self.text_view.setTabChangesFocus(True)
        self.text_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.message = QLabel()
        self.message.setAccessibleName("Document viewer message")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setMargin(24)
        self.stack = QStackedWidget()
        for widget in (self.message, self.pdf_view, self.image_view, self.text_view):
            self.stack.addWidget(widget)
        self.stack.setFrameShape(QFrame.Shape.StyledPanel)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(heading("Original file"), 1)
        for widget in (self.zoom_out_button, self.zoom_label, self.zoom_in_button,
                       self.fit_button):
            bar.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)
        self.show_message("")

    @staticmethod
    def _tool(text: str, tip: str, name: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(name)
        button.setAutoRaise(True)
        return button

    # ---- what is shown ------------------------------------------------------------------

    @property
    def source(self) -> ViewerSource | None:
        return self._source

    @property
    def kind(self) -> str:
        """What is on screen: PDF, IMAGE, TEXT, or "" (a message, or still loading)."""
        return self._kind

    @property
    def page_count(self) -> int:
        return self._page_count

    @property
    def current_page(self) -> int:
        """The page on screen (1-based)."""
        if self._kind == PDF:
            return self.pdf_view.pageNavigator().currentPage() + 1
        return self._page

    @property
    def loading(self) -> bool:
        return self._loading

    def message_text(self) -> str:
        return self.message.text() if self.stack.currentWidget() is self.message else ""

    def open(self, source: ViewerSource, page: int = 1) -> None:
        """Start showing a file; `loaded` is emitted when it is on screen (or is not)."""
        self._reset()
        self._source = source
        self._page = max(1, page)
        self.show_message(f"Opening {source.name}…")
        frame = self._page - 1
        if source.kind == IMAGE:
            self._start(lambda: _read_image(source.locate(), frame))
        elif source.kind == TEXT:
            self._start(lambda: _read_text(source.locate()))
        elif source.kind == PDF:
            self._start(lambda: _Loaded(path=source.locate()))
        else:
            self._fail(f"{source.name} is not a kind of file the viewer can show.")

    def clear(self, message: str = "") -> None:
        self._reset()
        self.show_message(message)

    def show_message(self, text: str) -> None:
        self._kind = ""
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)
        self._update_zoom()

    def set_page(self, page: int) -> None:
        """Move to a page (1-based); remembered until a file that is loading is shown."""
        self._page = max(1, page)
        if self._kind == PDF:
            self._page = min(self._page, self._page_count)
            navigator = self.pdf_view.pageNavigator()
            if navigator.currentPage() != self._page - 1:
                navigator.jump(self._page - 1, QPointF(), self.pdf_view.zoomFactor())
        elif self._kind == IMAGE:
            self._page = min(self._page, self._page_count)
            if self._page - 1 != self._image_frame and self._path is not None:
                path, frame = self._path, self._page - 1
                self._start(lambda: _read_image(path, frame))

    # ---- zoom ---------------------------------------------------------------------------

    def zoom_factor(self) -> float:
        """The scale on screen: 1.0 is the page at its printed size (PDF) or one image pixel
        per screen pixel."""
        if self._kind == PDF:
            if self.pdf_view.zoomMode() == QPdfView.ZoomMode.Custom:
                return self.pdf_view.zoomFactor()
            return self._pdf_fit_factor()
        if self._kind == IMAGE:
            return self.image_view.factor()
        return 1.0

    def is_fit_width(self) -> bool:
        if self._kind == PDF:
            return self.pdf_view.zoomMode() == QPdfView.ZoomMode.FitToWidth
        if self._kind == IMAGE:
            return self.image_view.fit
        return False

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom_factor() * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom_factor() / ZOOM_STEP)

    def set_zoom(self, factor: float) -> None:
        factor = min(ZOOM_MAX, max(ZOOM_MIN, factor))
        if self._kind == PDF:
            self.pdf_view.setZoomMode(QPdfView.ZoomMode.Custom)
            self.pdf_view.setZoomFactor(factor)
        elif self._kind == IMAGE:
            self.image_view.set_factor(factor)
        else:
            return
        self._update_zoom()

    def fit_width(self) -> None:
        if self._kind == PDF:
            self.pdf_view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        elif self._kind == IMAGE:
            self.image_view.fit = True
            self.image_view.apply_fit()
        self._update_zoom()

    def _pdf_fit_factor(self) -> float:
        # As QPdfView computes it: the viewport's width less the margins, over the page's
        # width at 100% (points at the screen's logical resolution).
        page = max(0, self.pdf_view.pageNavigator().currentPage())
        points = self.pdf_document.pagePointSize(page)
        if points.width() <= 0:
            return 1.0
        dpi = self.pdf_view.logicalDpiX() or 96
        margins = self.pdf_view.documentMargins()
        room = self.pdf_view.viewport().width() - margins.left() - margins.right()
        return max(ZOOM_MIN, room / (points.width() * dpi / 72))

    def _update_zoom(self) -> None:
        zoomable = self._kind in (PDF, IMAGE)
        for button in (self.zoom_in_button, self.zoom_out_button, self.fit_button):
            button.setEnabled(zoomable)
        if not zoomable:
            self.zoom_label.setText("")
        elif self.is_fit_width():
            self.zoom_label.setText(f"Fit width ({self.zoom_factor():.0%})")
        else:
            self.zoom_label.setText(f"{self.zoom_factor():.0%}")
        self.zoom_changed.emit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.is_fit_width():
            self._update_zoom()  # the fitted factor follows the width

    # ---- loading ------------------------------------------------------------------------

    def _reset(self) -> None:
        self._request += 1  # a load still running for the previous file is ignored
        self._loading = False
        self._source = None
        self._path = None
        self._page_count = 0
        self._image_frame = -1
        self.pdf_document.close()
        self.image_view.clear()
        self.text_view.clear()

    def _start(self, work: Callable[[], _Loaded]) -> None:
        self._request += 1
        self._loading = True
        self._pool.start(_LoadTask(self._request, work, self._signals))

    def _on_loaded(self, request: int, loaded: Any) -> None:
        if request != self._request or self._source is None:
            return
        assert isinstance(loaded, _Loaded)
        self._loading = False
        source = self._source
        if loaded.error:
            self._fail(f"{source.name} cannot be shown: {loaded.error}")
            return
        self._path = loaded.path
        if source.kind == PDF:
            self._show_pdf(source)
        elif source.kind == IMAGE and loaded.image is not None:
            first = self._kind != IMAGE
            self._page_count = loaded.frames
            self._image_frame = self._page - 1
            self.image_view.set_image(loaded.image)
            self._kind = IMAGE
            self.stack.setCurrentWidget(self.image_view)
            self._update_zoom()
            if first:
                self.loaded.emit(self._page_count)
        elif loaded.text is not None:
            self.text_view.setPlainText(loaded.text)
            self._page_count = 1
            self._kind = TEXT
            self.stack.setCurrentWidget(self.text_view)
            self._update_zoom()
            self.loaded.emit(1)

    def _show_pdf(self, source: ViewerSource) -> None:
        assert self._path is not None
        self.pdf_document.setPassword(source.password or "")
        error = self.pdf_document.load(str(self._path))
        if error == QPdfDocument.Error.IncorrectPassword:
            self._fail(f"{source.name} is password protected. Choose Enter password… to "
                       f"open and analyse it." if not source.password else
                       f"{source.name} is password protected, and the password entered "
                       f"does not open it.")
            return
        if error != QPdfDocument.Error.None_ or self.pdf_document.pageCount() < 1:
            reason = _PDF_ERRORS.get(error, "the viewer could not read it")
            self._fail(f"{source.name} cannot be shown: {reason}.")
            return
        self._page_count = self.pdf_document.pageCount()
        self._page = min(self._page, self._page_count)
        self._kind = PDF
        self.stack.setCurrentWidget(self.pdf_view)
        self.pdf_view.pageNavigator().jump(self._page - 1, QPointF(),
                                           self.pdf_view.zoomFactor())
        self._update_zoom()
        self.loaded.emit(self._page_count)

    def _fail(self, message: str) -> None:
        self._page_count = 0
        self.show_message(message)
        self.loaded.emit(0)

    def _pdf_page_changed(self, index: int) -> None:
        if self._kind == PDF:
            self._page = index + 1
            if self.is_fit_width():
                self._update_zoom()  # pages may differ in width
