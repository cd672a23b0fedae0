"""Thumbnails and first lines of files about to be attached, made off the GUI thread.

`make_preview` is plain work on one file (QImage and QPdfDocument are safe outside the
GUI thread); `PreviewLoader` runs it on a small private thread pool and hands each result
back on the GUI thread. A picture is decoded only after its header says it is small enough,
so a decompression bomb (a few MB of PNG that unpacks to gigapixels) costs nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QSize, QSizeF, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter
from PySide6.QtPdf import QPdfDocument

from ...domain.filetypes import IMAGE_KINDS, TEXT_KINDS, FileKind

log = logging.getLogger(__name__)

# Above this many pixels an image is not decoded for a thumbnail (a 600 dpi A4 scan is 35 MP).
MAX_PREVIEW_PIXELS = 40_000_000
TEXT_PREVIEW_BYTES = 4096
TEXT_PREVIEW_LINES = 3
TEXT_PREVIEW_CHARS = 90
PASSWORD_NOTE = "password protected: you can enter the password after saving"
PREVIEW_THREADS = 2
SHUTDOWN_WAIT_MS = 5000


@dataclass(frozen=True)
class Preview:
    """What can be shown of a file: a thumbnail, first lines of text, or why neither."""

    image: QImage | None = None
    lines: tuple[str, ...] = ()
    note: str = ""  # why there is no thumbnail (password, too large, damaged)
    facts: tuple[str, ...] = field(default=())  # "3 pages", "2480 × 3508 pixels"


def make_preview(path: Path, kind: FileKind, box: QSize) -> Preview:
    """A preview of a file whose type was checked by content; `box` is in device pixels."""
    if kind is FileKind.PDF:
        return pdf_preview(path, box)
    if kind in IMAGE_KINDS:
        return image_preview(path, box)
    if kind in TEXT_KINDS:
        return text_preview(path)
    return Preview(note="no preview for this kind of file")


def image_preview(path: Path, box: QSize) -> Preview:
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)  # JPEG photos taken sideways
    size = reader.size()  # from the header: nothing decoded yet
    if not size.isValid():
        return Preview(note=f"no preview: {reader.errorString() or 'unreadable image'}")
    facts = (f"{size.width()} × {size.height()} pixels",)
    if size.width() * size.height() > MAX_PREVIEW_PIXELS:
        return Preview(note="too large to preview; it will still be analysed", facts=facts)
    target = size.scaled(box, Qt.AspectRatioMode.KeepAspectRatio)
    if target.width() < size.width():
        reader.setScaledSize(target.expandedTo(QSize(1, 1)))
    image = reader.read()
    if image.isNull():
        return Preview(note=f"no preview: {reader.errorString()}", facts=facts)
    return Preview(image=on_white(image), facts=facts)


def pdf_preview(path: Path, box: QSize) -> Preview:
    document = QPdfDocument()
    try:
        error = document.load(str(path))
        if error == QPdfDocument.Error.IncorrectPassword:
            return Preview(note=PASSWORD_NOTE)
        if error == QPdfDocument.Error.UnsupportedSecurityScheme:
            return Preview(note="protected in a way the preview cannot open")
        if error != QPdfDocument.Error.None_:
            return Preview(note="no preview: the PDF could not be opened (it may be damaged)")
        pages = document.pageCount()
        facts = (f"{pages} page{'s' if pages != 1 else ''}",)
        if pages < 1:
            return Preview(note="the PDF has no pages", facts=facts)
        page_size = document.pagePointSize(0)
        if page_size.isEmpty():
            page_size = QSizeF(595, 842)
        target = page_size.scaled(QSizeF(box), Qt.AspectRatioMode.KeepAspectRatio).toSize()
        image = document.render(0, target.expandedTo(QSize(1, 1)))
        if image.isNull():
            return Preview(note="no preview: the first page could not be drawn", facts=facts)
        # QtPdf leaves the page transparent; paper is white.
        return Preview(image=on_white(image), facts=facts)
    finally:
        document.close()


def text_preview(path: Path) -> Preview:
    with path.open("rb") as handle:
        head = handle.read(TEXT_PREVIEW_BYTES)
    text = _decode(head)
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    # The last line may be cut by the read window unless the whole file was read.
    if len(head) == TEXT_PREVIEW_BYTES and len(lines) > 1:
        lines = lines[:-1]
    shown = tuple(_shorten(line.expandtabs(4)) for line in lines[:TEXT_PREVIEW_LINES])
    return Preview(lines=shown)


def on_white(image: QImage) -> QImage:
    """The image painted over white (transparent PDF pages and PNGs read as paper)."""
    flat = QImage(image.size(), QImage.Format.Format_RGB32)
    flat.fill(QColor("white"))
    painter = QPainter(flat)
    painter.drawImage(0, 0, image)
    painter.end()
    return flat


def _decode(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 3:  # a character cut by the read window
            return head[: error.start].decode("utf-8-sig")
        return head.decode("cp1252", errors="replace")


def _shorten(line: str) -> str:
    return line if len(line) <= TEXT_PREVIEW_CHARS else line[: TEXT_PREVIEW_CHARS - 1] + "…"


class _PreviewSignals(QObject):
    finished = Signal(int, object)  # token, Preview


class _PreviewJob(QRunnable):
    def __init__(self, signals: _PreviewSignals, token: int, path: Path, kind: FileKind,
                 box: QSize) -> None:
        super().__init__()
        self._signals = signals
        self._token = token
        self._path = path
        self._kind = kind
        self._box = QSize(box)

    def run(self) -> None:
        try:
            preview = make_preview(self._path, self._kind, self._box)
        except OSError as error:
            preview = Preview(note=f"no preview: the file cannot be read "
                                   f"({error.strerror or error})")
        except Exception as error:  # a preview must never take the form down
            log.exception("Preview of %s failed", self._path)
            preview = Preview(note=f"no preview ({error})")
        self._signals.finished.emit(self._token, preview)


class PreviewLoader(QObject):
    """Makes previews on its own pool of PREVIEW_THREADS threads and hands each result to
    the callback given with its request, on the GUI thread. The pool is a child of this
    object, so deleting the loader waits for the previews being made."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(PREVIEW_THREADS)
        # Lives in the GUI thread; workers emit on it, so results arrive queued here.
        self._signals = _PreviewSignals(self)
        self._signals.finished.connect(self._deliver)
        self._waiting: dict[int, Callable[[int, Preview], None]] = {}
        self._last_token = 0

    def new_token(self) -> int:
        """A number naming one preview request, unique for this loader."""
        self._last_token += 1
        return self._last_token

    def request(self, token: int, path: Path, kind: FileKind, box: QSize,
                done: Callable[[int, Preview], None]) -> None:
        self._waiting[token] = done
        self._pool.start(_PreviewJob(self._signals, token, path, kind, box))

    def forget(self, token: int) -> None:
        """The file was removed: its preview, when it comes, is dropped."""
        self._waiting.pop(token, None)

    def forget_all(self) -> None:
        """The form was cleared: previews not started are not made, the rest are dropped."""
        self._pool.clear()
        self._waiting.clear()

    @property
    def busy(self) -> bool:
        return bool(self._waiting)

    def wait(self, timeout_ms: int = SHUTDOWN_WAIT_MS) -> bool:
        """Wait for the running previews (tests; before quitting)."""
        return self._pool.waitForDone(timeout_ms)

    def _deliver(self, token: int, preview: Preview) -> None:
        done = self._waiting.pop(token, None)
        if done is not None:
            done(token, preview)
