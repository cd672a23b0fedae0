"""Files about to be attached to a new case, one list per category (lab, radiology).

Each file is checked the moment it is added, with the service's own rule
(`domain.validation.check_attachment`: type by content, size), and listed with its name,
size, detected type and a preview, or with the check's problem in plain words. The service
checks again when the case is saved, so a file changed on disk in between is still caught.

`AttachmentListModel` holds the files; `AttachmentArea` shows them as rows of real widgets
(each with its own Remove button, so the keyboard and screen readers reach every file) and
takes files dropped from the file manager or chosen with "Add files…".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from enum import IntEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QLocale,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QFontDatabase,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ...domain.enums import DocumentCategory
from ...domain.filetypes import ALLOWED_DESCRIPTION, FileKind, Sniffed
from ...domain.records import NewAttachment
from ...domain.validation import FILE_MAX_BYTES, check_attachment
from .clinical_colors import ClinicalColors, blend
from .file_preview import PASSWORD_NOTE, Preview, PreviewLoader

THUMBNAIL = QSize(52, 68)  # logical pixels; portrait, as most reports are
# A convenience for the file dialog only: "All files" is offered too, and a file's type is
# judged from its content by the check, whatever its name.
FILE_FILTER = ("Reports (*.pdf *.png *.jpg *.jpeg *.tif *.tiff *.bmp *.txt *.csv);;"
               "All files (*)")
Index = QModelIndex | QPersistentModelIndex


class AttachmentRole(IntEnum):
    PATH = Qt.ItemDataRole.UserRole + 1
    SIZE_BYTES = Qt.ItemDataRole.UserRole + 2
    TYPE = Qt.ItemDataRole.UserRole + 3  # "PDF document"; "" when the check failed
    PROBLEM = Qt.ItemDataRole.UserRole + 4  # the check's message; "" when the file is fine
    DETAILS = Qt.ItemDataRole.UserRole + 5  # "12.3 KB · PDF document · 2 pages"
    PREVIEW_PENDING = Qt.ItemDataRole.UserRole + 6
    PREVIEW_LINES = Qt.ItemDataRole.UserRole + 7  # first lines of a text file
    PREVIEW_NOTE = Qt.ItemDataRole.UserRole + 8  # why there is no thumbnail
    KIND = Qt.ItemDataRole.UserRole + 9  # FileKind value ("pdf") or ""


def file_key(path: Path) -> str:
    """One spelling per file, so the same file added twice is listed once."""
    try:
        resolved = path.resolve()
    except OSError:
        resolved = path.absolute()
    return os.path.normcase(str(resolved))


def size_text(size_bytes: int) -> str:
    """1024-based like the size rule's own message ("files must be at most 50 MB")."""
    return QLocale().formattedDataSize(size_bytes, 1,
                                       QLocale.DataSizeFormat.DataSizeTraditionalFormat)


def type_text(sniffed: Sniffed) -> str:
    """'a PDF document' -> 'PDF document'."""
    words = sniffed.description.split(" ", 1)
    return words[1] if len(words) == 2 and words[0] in ("a", "an") else sniffed.description


@dataclass(frozen=True)
class Attachment:
    path: Path
    key: str
    token: int  # names its preview request
    size_bytes: int | None
    sniffed: Sniffed | None  # None when the check failed
    problem: str  # the check's message, "" when the file can be attached
    preview: Preview | None = None  # None while being made, or when there is none to make

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def kind(self) -> FileKind | None:
        return self.sniffed.kind if self.sniffed and not self.problem else None

    @property
    def preview_pending(self) -> bool:
        return self.kind is not None and self.preview is None

    def details(self) -> str:
        parts = []
        if self.size_bytes is not None:
            parts.append(size_text(self.size_bytes))
        if self.sniffed is not None and not self.problem:
            parts.append(type_text(self.sniffed))
        if self.preview is not None:
            parts.extend(self.preview.facts)
        return " · ".join(parts)


@dataclass(frozen=True)
class AddOutcome:
    added: tuple[Path, ...] = ()
    duplicates: tuple[Path, ...] = ()


class AttachmentListModel(QAbstractListModel):
    """The files of one category; previews arrive from a PreviewLoader."""

    def __init__(self, category: DocumentCategory, loader: PreviewLoader,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.category = category
        self.field = f"{category.value}_files"  # the service's name for this list
        self._loader = loader
        self._rows: list[Attachment] = []
        self._pixmaps: dict[int, QPixmap] = {}
        self.thumbnail_box = THUMBNAIL
        self.device_pixel_ratio = 1.0

    # ---- Qt model -----------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return row.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row.path}\n{row.problem}" if row.problem else str(row.path)
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:
            return self.spoken_summary(index.row())
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pixmap(row)
        return self._attachment_data(row, role)

    def _attachment_data(self, row: Attachment, role: int) -> Any:
        preview = row.preview or Preview()
        values = {
            AttachmentRole.PATH: str(row.path),
            AttachmentRole.SIZE_BYTES: row.size_bytes,
            AttachmentRole.TYPE: type_text(row.sniffed) if row.kind else "",
            AttachmentRole.PROBLEM: row.problem,
            AttachmentRole.DETAILS: row.details(),
            AttachmentRole.PREVIEW_PENDING: row.preview_pending,
            AttachmentRole.PREVIEW_LINES: list(preview.lines),
            AttachmentRole.PREVIEW_NOTE: preview.note,
            AttachmentRole.KIND: row.kind.value if row.kind else "",
        }
        return values.get(role)  # type: ignore[call-overload]

    def roleNames(self) -> dict[int, bytes]:
        names = dict(super().roleNames())
        names.update({role.value: role.name.lower().encode() for role in AttachmentRole})
        return names

    # ---- the files ----------------------------------------------------------------------

    def attachment(self, row: int) -> Attachment:
        return self._rows[row]

    def attachments(self) -> list[NewAttachment]:
        """Every listed file, for the service (which checks them all again)."""
        return [NewAttachment(row.path, self.category) for row in self._rows]

    def file_keys(self) -> set[str]:
        return {row.key for row in self._rows}

    def problem_count(self) -> int:
        return sum(1 for row in self._rows if row.problem)

    def problems(self) -> list[str]:
        """The check's message for each file that cannot be attached."""
        return [row.problem for row in self._rows if row.problem]

    def previews_pending(self) -> bool:
        return any(row.preview_pending for row in self._rows)

    def spoken_summary(self, row: int) -> str:
        attachment = self._rows[row]
        parts = [attachment.details()]
        if attachment.problem:
            parts.append(f"problem: {attachment.problem}")
        elif attachment.preview is not None and attachment.preview.note:
            parts.append(attachment.preview.note)
        return ", ".join(part for part in parts if part)

    def add_paths(self, paths: Iterable[Path]) -> AddOutcome:
        """Check and list each file not listed yet; a file listed already is skipped."""
        known = self.file_keys()
        new_rows: list[Attachment] = []
        duplicates: list[Path] = []
        for path in paths:
            key = file_key(path)
            if key in known:
                duplicates.append(path)
                continue
            known.add(key)
            new_rows.append(self._checked(path, key))
        if new_rows:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new_rows) - 1)
            self._rows.extend(new_rows)
            self.endInsertRows()
            for row in new_rows:
                self._request_preview(row)
        return AddOutcome(tuple(r.path for r in new_rows), tuple(duplicates))

    def remove_row(self, row: int) -> None:
        if not 0 <= row < len(self._rows):
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        removed = self._rows.pop(row)
        self.endRemoveRows()
        self._loader.forget(removed.token)
        self._pixmaps.pop(removed.token, None)

    def clear(self) -> None:
        if not self._rows:
            return
        self.beginResetModel()
        for row in self._rows:
            self._loader.forget(row.token)
        self._rows.clear()
        self._pixmaps.clear()
        self.endResetModel()

    def recheck(self) -> None:
        """Check every file again (it may have changed on disk since it was added)."""
        for number, row in enumerate(self._rows):
            fresh = self._checked(row.path, row.key)
            if (fresh.problem, fresh.size_bytes, fresh.sniffed) == (
                    row.problem, row.size_bytes, row.sniffed):
                continue
            self._loader.forget(row.token)
            self._pixmaps.pop(row.token, None)
            self._rows[number] = fresh
            self._request_preview(fresh)
            index = self.index(number)
            self.dataChanged.emit(index, index)

    # ---- parts --------------------------------------------------------------------------

    def _checked(self, path: Path, key: str) -> Attachment:
        sniffed, error = check_attachment(NewAttachment(path, self.category), self.field)
        try:
            size: int | None = path.stat().st_size if path.is_file() else None
        except OSError:
            size = None
        return Attachment(path=path, key=key, token=self._loader.new_token(),
                          size_bytes=size, sniffed=sniffed,
                          problem=error.message if error else "")

    def _request_preview(self, row: Attachment) -> None:
        if row.kind is None:
            return
        ratio = max(1.0, self.device_pixel_ratio)
        box = QSize(round(self.thumbnail_box.width() * ratio),
                    round(self.thumbnail_box.height() * ratio))
        self._loader.request(row.token, row.path, row.kind, box, self._preview_ready)

    def _preview_ready(self, token: int, preview: Preview) -> None:
        for number, row in enumerate(self._rows):
            if row.token == token:
                self._rows[number] = replace(row, preview=preview)
                index = self.index(number)
                self.dataChanged.emit(index, index)
                return

    def _pixmap(self, row: Attachment) -> QPixmap | None:
        if row.preview is None or row.preview.image is None:
            return None
        pixmap = self._pixmaps.get(row.token)
        if pixmap is None:  # QPixmap only on the GUI thread: made here, not in the worker
            pixmap = QPixmap.fromImage(row.preview.image)
            pixmap.setDevicePixelRatio(max(1.0, self.device_pixel_ratio))
            self._pixmaps[row.token] = pixmap
        return pixmap


# ---- widgets ----------------------------------------------------------------------------


class _ElidedLabel(QLabel):
    """One line of plain text that ends in "…" when narrower than the text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle,
                                              max(self.width(), 40))
        if shown != self.text():
            self.setText(shown)
        self.setToolTip(self._full if shown != self._full else "")


class _Thumbnail(QWidget):
    """A file's thumbnail on a frame, or a badge ("PDF", "!") when there is none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap = QPixmap()
        self._badge = ""
        self._problem = False
        self.setFixedSize(THUMBNAIL + QSize(2, 2))

    def pixmap(self) -> QPixmap:
        return self._pixmap

    def badge(self) -> str:
        return self._badge

    def show_pixmap(self, pixmap: QPixmap) -> None:
        self._pixmap, self._badge, self._problem = pixmap, "", False
        self.update()

    def show_badge(self, badge: str, *, problem: bool = False) -> None:
        self._pixmap, self._badge, self._problem = QPixmap(), badge, problem
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        colors = ClinicalColors.from_palette(self.palette())
        mid = self.palette().color(QPalette.ColorRole.Mid)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if not self._pixmap.isNull():
            size = self._pixmap.deviceIndependentSize().toSize()
            x = (self.width() - size.width()) // 2
            y = (self.height() - size.height()) // 2
            painter.drawPixmap(x, y, self._pixmap)
            painter.setPen(QPen(mid, 1))
            painter.drawRect(QRectF(x - 0.5, y - 0.5, size.width() + 1, size.height() + 1))
            return
        frame = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        if self._problem:
            painter.setPen(QPen(colors.critical_fg, 1))
            painter.setBrush(colors.critical_bg)
        else:
            painter.setPen(QPen(mid, 1, Qt.PenStyle.SolidLine))
            painter.setBrush(colors.base)
        painter.drawRoundedRect(frame, 3, 3)
        font = painter.font()
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(colors.critical_fg if self._problem else colors.muted_fg)
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._badge)


class AttachmentRow(QFrame):
    """One listed file: thumbnail, name, size and type, then its problem, a note or its
    first lines, and a Remove button."""

    remove_requested = Signal(QWidget)

    def __init__(self, category_title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._category_title = category_title
        self._problem = False
        self._message_kind = ""
        self.thumbnail = _Thumbnail()
        self.name_label = _ElidedLabel()
        font = self.name_label.font()
        font.setBold(True)
        self.name_label.setFont(font)
        self.details_label = _ElidedLabel()
        self.message_label = QLabel()
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)
        self.message_label.setWordWrap(True)
        self.message_label.setSizePolicy(QSizePolicy.Policy.Ignored,
                                         QSizePolicy.Policy.Preferred)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))

        text = QVBoxLayout()
        text.setSpacing(1)
        text.addWidget(self.name_label)
        text.addWidget(self.details_label)
        text.addWidget(self.message_label)
        text.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(5, 5, 5, 5)
        layout.addWidget(self.thumbnail, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(text, 1)
        layout.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)
        self._apply_colors()

    @property
    def has_problem(self) -> bool:
        return self._problem

    def show_file(self, model: AttachmentListModel, row: int) -> None:
        index = model.index(row)
        attachment = model.attachment(row)
        name = attachment.name
        self._problem = bool(attachment.problem)
        self.name_label.set_full_text(name)
        self.details_label.set_full_text(attachment.details())
        preview = attachment.preview
        pixmap = model.data(index, Qt.ItemDataRole.DecorationRole)
        if attachment.problem:
            self.thumbnail.show_badge("!", problem=True)
            self._set_message(f"Not accepted: {attachment.problem}. Remove it to save the "
                              "case.", "problem")
        elif isinstance(pixmap, QPixmap):
            self.thumbnail.show_pixmap(pixmap)
            self._set_message(preview.note if preview else "", "note")
        else:
            badge = attachment.kind.value.upper() if attachment.kind else "?"
            if attachment.preview_pending:
                self.thumbnail.show_badge(badge)
                self._set_message("Making a preview…", "muted")
            elif preview is not None and preview.lines:
                self.thumbnail.show_badge(badge)
                self._set_message("\n".join(preview.lines), "lines")
            else:
                self.thumbnail.show_badge(badge)
                note = preview.note if preview else ""
                self._set_message(note, "warning" if note == PASSWORD_NOTE else "note")
        summary = model.spoken_summary(row)
        self.setAccessibleName(name)
        self.setAccessibleDescription(summary)
        self.thumbnail.setAccessibleName(f"Preview of {name}")
        self.remove_button.setAccessibleName(
            f"Remove {name} from {self._category_title.lower()}")
        self.remove_button.setAccessibleDescription(summary)
        self.remove_button.setToolTip(f"Remove {name} (it is not deleted from the disk)")
        self._apply_colors()
        self.update()

    def _set_message(self, text: str, kind: str) -> None:
        self._message_kind = kind
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))
        if kind == "lines":
            self.message_label.setFont(QFontDatabase.systemFont(
                QFontDatabase.SystemFont.FixedFont))
            self.message_label.setWordWrap(False)
        else:
            self.message_label.setFont(self.font())
            self.message_label.setWordWrap(True)

    def _apply_colors(self) -> None:
        colors = ClinicalColors.from_palette(self.palette())
        foreground = {
            "problem": colors.critical_fg,
            "warning": colors.abnormal_fg,
        }.get(self._message_kind, colors.muted_fg)
        for label, colour in ((self.message_label, foreground),
                              (self.details_label, colors.muted_fg)):
            palette = label.palette()
            palette.setColor(QPalette.ColorRole.WindowText, colour)
            label.setPalette(palette)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_colors()

    def paintEvent(self, _event: QPaintEvent) -> None:
        colors = ClinicalColors.from_palette(self.palette())
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        frame = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        if self._problem:
            painter.setPen(QPen(colors.critical_fg, 1))
            painter.setBrush(colors.critical_bg)
        else:
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 1))
            painter.setBrush(colors.base)
        painter.drawRoundedRect(frame, 4, 4)


class _RowsScrollArea(QScrollArea):
    """Asks for the height its rows need at its present width (QScrollArea's own hint is
    the rows' first size, at no particular width)."""

    def sizeHint(self) -> QSize:
        inner = self.widget()
        if inner is None:
            return super().sizeHint()
        frame = 2 * self.frameWidth()
        line = self.fontMetrics().height()
        hint = inner.sizeHint()
        # Measured as if the scroll bar were there, so its coming and going cannot make
        # the hint swing between two heights.
        width = self.width() - frame - self.verticalScrollBar().sizeHint().width()
        if self.isVisible() and width > 0 and inner.hasHeightForWidth():
            hint.setHeight(inner.heightForWidth(width))
        return (hint + QSize(frame, frame)).boundedTo(QSize(36 * line, 24 * line))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.updateGeometry()


class AttachmentArea(QFrame):
    """A drop target with an "Add files…" button and the list of files of one category."""

    files_changed = Signal()  # a file was added or removed
    rows_rebuilt = Signal()  # Remove buttons came or went: the tab order needs them

    def __init__(self, title: str, model: AttachmentListModel,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.model = model
        self.rows: list[AttachmentRow] = []
        self._drag_over = False
        self._last_folder = ""
        self.listed_elsewhere: Callable[[str], str | None] = lambda _key: None
        self.setAcceptDrops(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.setAccessibleName(f"{title} drop area")
        self.setAccessibleDescription(
            f"Drop {title.lower()} files here from the file manager, or use Add files")

        self.hint = QLabel(f"Drop {title.lower()} here, or")
        self.add_button = QPushButton("Add files…")
        self.add_button.setAccessibleName(f"Add {title.lower()}")
        self.add_button.setToolTip(f"Choose {title.lower()} to attach")
        self.add_button.clicked.connect(self.choose_files)
        self.count_label = QLabel()
        self.count_label.setAccessibleName(f"Number of {title.lower()}")
        self.empty_label = QLabel(
            f"{ALLOWED_DESCRIPTION} files, up to {FILE_MAX_BYTES // 1024 // 1024} MB each. "
            "The type is judged from the file's content, not its name.")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setAccessibleName(f"{title} notice")
        self.note.hide()

        self._rows_box = QWidget()
        self._rows_box.setAutoFillBackground(False)
        self._rows_layout = QVBoxLayout(self._rows_box)
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self._rows_layout.setSpacing(4)
        self._rows_layout.addStretch(1)
        self.list_view = _RowsScrollArea()
        self.list_view.setWidget(self._rows_box)
        self.list_view.setWidgetResizable(True)
        self.list_view.setFrameShape(QFrame.Shape.NoFrame)
        self.list_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list_view.viewport().setAutoFillBackground(False)
        self.list_view.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # its Remove buttons take it
        self.list_view.setAccessibleName(f"{title} list")

        # Empty, the invitation sits in the middle of the area; with files, at its top.
        self._top = QHBoxLayout()
        self._top.addStretch(0)
        self._top.addWidget(self.hint)
        self._top.addWidget(self.add_button)
        self._top.addStretch(1)
        self._top.addWidget(self.count_label)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(10, 8, 10, 8)
        self._layout.addStretch(0)
        self._layout.addLayout(self._top)
        self._layout.addWidget(self.empty_label)
        self._layout.addWidget(self.list_view, 1)
        self._layout.addStretch(0)
        self._layout.addWidget(self.note)

        model.rowsInserted.connect(self._rebuild)
        model.rowsRemoved.connect(self._rebuild)
        model.modelReset.connect(self._rebuild)
        model.dataChanged.connect(self._refresh_rows)
        self._rebuild()
        self._apply_colors()

    # ---- adding and removing ------------------------------------------------------------

    def add_paths(self, paths: Sequence[Path]) -> AddOutcome:
        """Check and list files; say which were skipped (listed already, folders)."""
        self.model.device_pixel_ratio = self.devicePixelRatioF()
        files: list[Path] = []
        notes: list[str] = []
        for path in paths:
            if path.is_dir():
                notes.append(f"{path.name or path} is a folder: add the files inside it.")
                continue
            elsewhere = self.listed_elsewhere(file_key(path))
            if elsewhere:
                notes.append(f"{path.name} is already under {elsewhere}.")
                continue
            files.append(path)
        outcome = self.model.add_paths(files)
        notes[:0] = [f"{path.name} is listed already." for path in outcome.duplicates]
        self.show_note(" ".join(notes))
        if outcome.added:
            self.files_changed.emit()
        return outcome

    def handle_drop(self, mime: QMimeData) -> AddOutcome | None:
        """Add the local files of a drop; None when it holds none."""
        paths = local_paths(mime)
        return self.add_paths(paths) if paths else None

    def remove_row(self, row: int) -> None:
        if not 0 <= row < len(self.rows):
            return
        had_focus = self.rows[row].isAncestorOf(self.focusWidget() or self)
        self.model.remove_row(row)
        self.show_note("")
        self.files_changed.emit()
        if had_focus:
            if self.rows:
                self.rows[min(row, len(self.rows) - 1)].remove_button.setFocus(
                    Qt.FocusReason.TabFocusReason)
            else:
                self.add_button.setFocus(Qt.FocusReason.TabFocusReason)

    def clear(self) -> None:
        self.model.clear()
        self.show_note("")

    def choose_files(self) -> None:
        names, _filter = QFileDialog.getOpenFileNames(
            self, f"Add {self.title.lower()}", self._last_folder, FILE_FILTER)
        if names:
            self._last_folder = str(Path(names[0]).parent)
            self.add_paths([Path(name) for name in names])

    def show_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def show_first_problem(self) -> None:
        """Scroll the list to the first file that cannot be attached (once the rows are
        laid out, which happens after this returns)."""
        QTimer.singleShot(0, self, self._scroll_to_first_problem)

    def _scroll_to_first_problem(self) -> None:
        for row_widget in self.rows:
            if row_widget.has_problem:
                self.list_view.ensureWidgetVisible(row_widget, 0, 4)
                return

    def focus_chain(self) -> list[QWidget]:
        """This area's controls in Tab order."""
        return [self.add_button, *(row.remove_button for row in self.rows)]

    # ---- drops --------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
            self._set_drag_over(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._set_drag_over(False)
        event.accept()

    def dropEvent(self, event: QDropEvent) -> None:
        self._set_drag_over(False)
        if self.handle_drop(event.mimeData()) is None:
            event.ignore()
            return
        event.acceptProposedAction()

    def _set_drag_over(self, over: bool) -> None:
        if self._drag_over != over:
            self._drag_over = over
            self.update()

    # ---- showing ------------------------------------------------------------------------

    def _rebuild(self, *_: object) -> None:
        """One row widget per file; rows are reused, so a rebuild is cheap."""
        wanted = self.model.rowCount()
        while len(self.rows) > wanted:
            row_widget = self.rows.pop()
            self._rows_layout.removeWidget(row_widget)
            row_widget.hide()
            row_widget.deleteLater()
        while len(self.rows) < wanted:
            row_widget = AttachmentRow(self.title)
            row_widget.remove_requested.connect(self._remove_clicked)
            self._rows_layout.insertWidget(len(self.rows), row_widget)
            self.rows.append(row_widget)
        self._refresh_rows()
        count = len(self.rows)
        problems = self.model.problem_count()
        self.count_label.setText(
            "" if not count else f"{count} file{'s' if count != 1 else ''}"
            + (f", {problems} not accepted" if problems else ""))
        self.list_view.setAccessibleDescription(self.count_label.text() or "no files")
        self.list_view.setVisible(bool(count))
        self.empty_label.setVisible(not count)
        for layout, index in ((self._layout, 0), (self._layout, 4), (self._top, 0)):
            layout.setStretch(index, 0 if count else 1)
        self.rows_rebuilt.emit()

    def _refresh_rows(self, *_: object) -> None:
        for number, row_widget in enumerate(self.rows):
            row_widget.show_file(self.model, number)
        self.list_view.updateGeometry()  # its rows may have grown (a preview came)

    def _remove_clicked(self, row_widget: QWidget) -> None:
        if row_widget in self.rows:
            self.remove_row(self.rows.index(row_widget))  # type: ignore[arg-type]

    def _apply_colors(self) -> None:
        colors = ClinicalColors.from_palette(self.palette())
        for label in (self.empty_label, self.note, self.count_label):
            palette = label.palette()
            palette.setColor(QPalette.ColorRole.WindowText, colors.muted_fg)
            label.setPalette(palette)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_colors()

    def paintEvent(self, _event: QPaintEvent) -> None:
        palette = self.palette()
        highlight = palette.color(QPalette.ColorRole.Highlight)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        frame = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        window = palette.color(QPalette.ColorRole.Window)
        if self._drag_over:
            painter.setPen(QPen(highlight, 2))
            painter.setBrush(blend(window, highlight, 0.15))
        else:
            # Between the window and its text: visible on light and dark palettes alike
            # (the palette's Mid is nearly the window colour in the dark one).
            border = blend(window, palette.color(QPalette.ColorRole.WindowText), 0.4)
            painter.setPen(QPen(border, 1.5, Qt.PenStyle.DashLine))
            painter.setBrush(QColor(window))
        painter.drawRoundedRect(frame, 6, 6)


def local_paths(mime: QMimeData | None) -> list[Path]:
    """The local files a drag carries (a file manager sends file:// URLs)."""
    if mime is None or not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
