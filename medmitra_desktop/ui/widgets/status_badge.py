"""The case list's Status column drawn as a rounded badge: Processing (with its percentage
and a thin bar while the analysis reports progress), Completed, Failed.

The badge text is the cell's own text, so screen readers and copy read what is drawn.
Badge backgrounds are tints of the palette's Base colour and the text colours are picked
for the palette's lightness, so both the light and the dark palette keep the badge text at
a WCAG contrast of at least 4.5:1 (checked by tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from ...domain.enums import CaseStatus
from .clinical_colors import RED, ClinicalColors, blend

GREEN = QColor("#2e9d4a")
BLUE = QColor("#2f6fd6")

MARGIN_X = 6  # between the cell's edge and the badge
MARGIN_Y = 3
PADDING_X = 9  # between the badge's edge and its text
BAR_HEIGHT = 2

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class BadgeColors:
    background: QColor
    text: QColor
    border: QColor


NEEDS_REVIEW = "needs_review"  # a completed case the doctor should look at
Badge = CaseStatus | str


def badge_colors(palette: QPalette) -> dict[Badge, BadgeColors]:
    """The badge colours of each status for a palette."""
    clinical = ClinicalColors.from_palette(palette)
    base = clinical.base
    if clinical.dark:
        completed = (blend(base, GREEN, 0.30), QColor("#b4ecc0"))
        processing = (blend(base, BLUE, 0.34), QColor("#cfe0ff"))
        failed = (blend(base, RED, 0.38), QColor("#ffd0d0"))
        review = (clinical.abnormal_bg, clinical.abnormal_fg)
    else:
        completed = (blend(base, GREEN, 0.16), QColor("#14532d"))
        processing = (blend(base, BLUE, 0.14), QColor("#0b3d91"))
        failed = (clinical.critical_bg, clinical.critical_fg)
        review = (clinical.abnormal_bg, clinical.abnormal_fg)
    return {
        status: BadgeColors(background, text, blend(background, text, 0.30))
        for status, (background, text) in ((CaseStatus.COMPLETED, completed),
                                           (CaseStatus.PROCESSING, processing),
                                           (CaseStatus.FAILED, failed),
                                           (NEEDS_REVIEW, review))
    }


def badge_text(status: Badge, progress: float | None) -> str:
    if progress is not None:
        return f"Processing {progress:.0%}"
    if status == NEEDS_REVIEW:
        return "Needs review"
    return str(status).capitalize()


def _status(value: object) -> Badge | None:
    if value == NEEDS_REVIEW:
        return NEEDS_REVIEW
    try:
        return CaseStatus(str(value))  # a QVariant brings a StrEnum back as its str
    except ValueError:
        return None


@dataclass(frozen=True)
class _BadgeKey:
    status: Badge
    text: str
    fraction: float | None
    palette: tuple[int, int]  # Base and Text colours
    font: str  # QFont.toString()
    max_width: int
    cell_height: int
    pixel_ratio: float


class StatusBadgeDelegate(QStyledItemDelegate):
    """Paints a cell whose `status_role` holds a case status value (and `progress_role` an
    optional 0..1 fraction) as a badge. Cells without a status are painted as usual.

    Each distinct badge is drawn once into a pixmap and reused: a repaint of the list costs
    one pixmap copy per row (few calls from Python into Qt on a hot path)."""

    CACHE_LIMIT = 512

    def __init__(self, status_role: int, progress_role: int, parent=None) -> None:
        super().__init__(parent)
        self._status_role = status_role
        self._progress_role = progress_role
        self._colors_key: tuple[int, int] | None = None
        self._colors: dict[Badge, BadgeColors] = {}
        self._pixmaps: dict[_BadgeKey, QPixmap | None] = {}

    @staticmethod
    def _palette_key(palette: QPalette) -> tuple[int, int]:
        return (palette.color(QPalette.ColorRole.Base).rgba(),
                palette.color(QPalette.ColorRole.Text).rgba())

    def _colors_for(self, palette: QPalette) -> dict[Badge, BadgeColors]:
        key = self._palette_key(palette)
        if key != self._colors_key:
            self._colors = badge_colors(palette)
            self._colors_key = key
        return self._colors

    def _data(self, index: Index, role: int) -> object:
        # Straight to a Python model's data(): no round trip through a QVariant.
        model = index.model()
        return model.data(index, role) if model is not None else None

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        status = _status(self._data(index, self._status_role))
        if status is None:
            super().paint(painter, option, index)
            return
        progress = self._data(index, self._progress_role)
        fraction = None if progress is None else max(0.0, min(1.0, float(progress)))
        # The view's own option (state, rect, palette, alternate row) without the index's
        # data: exactly the cell's background, selection and focus, with no text.
        shown = CaseStatus.PROCESSING if fraction is not None else status
        cell = option.rect
        key = _BadgeKey(
            status=shown, text=badge_text(status, fraction),
            fraction=None if fraction is None else round(fraction, 2),
            palette=self._palette_key(option.palette), font=option.font.toString(),
            max_width=cell.width() - 2 * MARGIN_X, cell_height=cell.height(),
            pixel_ratio=painter.device().devicePixelRatioF())
        pixmap = self._pixmap(key, self._colors_for(option.palette)[shown])
        if pixmap is None:  # too small for a badge: the cell as usual, with its text
            super().paint(painter, option, index)
            return
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, widget)
        height = pixmap.height() / key.pixel_ratio
        painter.drawPixmap(QPointF(cell.left() + MARGIN_X,
                                   cell.top() + (cell.height() - height) / 2), pixmap)

    def _pixmap(self, key: _BadgeKey, colors: BadgeColors) -> QPixmap | None:
        if key not in self._pixmaps:
            if len(self._pixmaps) >= self.CACHE_LIMIT:
                self._pixmaps.clear()
            self._pixmaps[key] = _draw_badge(key, colors)
        return self._pixmaps[key]

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width() + 2 * (MARGIN_X + PADDING_X), max(size.height(), 24))


def _draw_badge(key: _BadgeKey, colors: BadgeColors) -> QPixmap | None:
    """The badge as a transparent pixmap, or None when the cell is too small for one."""
    font = QFont()
    font.fromString(key.font)
    metrics = QFontMetricsF(font)
    # With progress the badge is a little taller: the bar sits under the descenders.
    extra = 0 if key.fraction is None else BAR_HEIGHT + 3
    height = min(key.cell_height - 4, metrics.height() + 6 + extra)
    width = min(key.max_width, metrics.horizontalAdvance(key.text) + 2 * PADDING_X + 2)
    if width <= 2 * PADDING_X or height <= metrics.height():
        return None
    ratio = key.pixel_ratio
    pixmap = QPixmap(math.ceil(width * ratio), math.ceil(height * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    badge = QRectF(0, 0, width, height)
    radius = min(height, metrics.height() + 6) / 2
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(colors.border, 1))
    painter.setBrush(colors.background)
    painter.drawRoundedRect(badge.adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)
    if key.fraction is not None:
        track = QRectF(radius, height - BAR_HEIGHT - 3, width - 2 * radius, BAR_HEIGHT)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(blend(colors.background, colors.text, 0.25))
        painter.drawRect(track)
        painter.setBrush(colors.text)
        painter.drawRect(QRectF(track.left(), track.top(), track.width() * key.fraction,
                                BAR_HEIGHT))
    painter.setPen(colors.text)
    painter.setFont(font)
    text_rect = badge.adjusted(PADDING_X, 0, -PADDING_X, -1 - extra)
    painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter,
                     metrics.elidedText(key.text, Qt.TextElideMode.ElideRight,
                                        text_rect.width()))
    painter.end()
    return pixmap
