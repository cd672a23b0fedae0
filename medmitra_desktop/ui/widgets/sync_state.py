"""A case's sync state as the doctor reads it: a short word, a small icon and, for the
states that need attention (conflict, error), a colour. The word is always there, so the
state never rests on colour alone; the tooltip carries the reason.

Colours come from the same palette-aware set as the status badges (clinical_colors), so
the light and dark palettes both keep the text readable.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from ...domain.enums import SyncState
from .clinical_colors import AMBER, RED, ClinicalColors
from .status_badge import BLUE, GREEN

Index = QModelIndex | QPersistentModelIndex
ICON_SIZE = 12

SYNC_WORDS = {
    SyncState.LOCAL: "Local only",
    SyncState.PENDING: "Pending",
    SyncState.SYNCED: "Synced",
    SyncState.CONFLICT: "Conflict",
    SyncState.ERROR: "Sync error",
}


def sync_word(state: SyncState) -> str:
    return SYNC_WORDS[state]


def sync_explanation(state: SyncState, error: str | None) -> str:
    """One or two sentences for a tooltip or the case's sync line."""
    if state is SyncState.LOCAL:
        return "Kept on this computer only: sync is not set up, or has not run yet."
    if state is SyncState.PENDING:
        text = "Changes wait to be sent to the MedMitra server."
        return f"{text} Last try: {error}" if error else text
    if state is SyncState.SYNCED:
        return "The same on this computer and on the MedMitra server."
    if state is SyncState.CONFLICT:
        return ("Changed here and on the server since the last sync: open the case and "
                "choose Resolve conflict… to pick the values to keep.")
    return error or "The MedMitra server refused a change to this case."


def sync_state(value: object) -> SyncState | None:
    try:
        return SyncState(str(value))  # a QVariant brings a StrEnum back as its str
    except ValueError:
        return None


def sync_text_color(state: SyncState, colors: ClinicalColors) -> QColor | None:
    """The text colour for states that need the doctor; None keeps the palette's."""
    if state is SyncState.CONFLICT:
        return colors.abnormal_fg
    if state is SyncState.ERROR:
        return colors.critical_fg
    if state is SyncState.LOCAL:
        return colors.muted_fg
    return None


def sync_icon(state: SyncState, dark: bool, pixel_ratio: float = 2.0) -> QIcon:
    """A small round mark: a tick (synced), an up arrow (pending), ! (conflict),
    × (error), an empty ring (local only)."""
    size = ICON_SIZE
    pixmap = QPixmap(round(size * pixel_ratio), round(size * pixel_ratio))
    pixmap.setDevicePixelRatio(pixel_ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    circle = QRectF(0.75, 0.75, size - 1.5, size - 1.5)
    fills = {SyncState.SYNCED: GREEN, SyncState.PENDING: BLUE, SyncState.CONFLICT: AMBER,
             SyncState.ERROR: RED}
    if state is SyncState.LOCAL:
        painter.setPen(QPen(QColor("#9aa0a6") if dark else QColor("#6b7075"), 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(circle.adjusted(1, 1, -1, -1))
        painter.end()
        return QIcon(pixmap)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(fills[state])
    painter.drawEllipse(circle)
    # Black on amber, white on the darker fills: the mark stays visible on each.
    mark = QColor("#000000") if state is SyncState.CONFLICT else QColor("#ffffff")
    pen = QPen(mark, 1.6)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    path = QPainterPath()
    if state is SyncState.SYNCED:
        path.moveTo(3.4, 6.2)
        path.lineTo(5.2, 8.0)
        path.lineTo(8.8, 4.2)
    elif state is SyncState.PENDING:
        path.moveTo(6, 9)
        path.lineTo(6, 3.4)
        path.moveTo(3.8, 5.6)
        path.lineTo(6, 3.4)
        path.lineTo(8.2, 5.6)
    elif state is SyncState.CONFLICT:
        path.moveTo(6, 3)
        path.lineTo(6, 6.6)
    else:
        path.moveTo(4, 4)
        path.lineTo(8, 8)
        path.moveTo(8, 4)
        path.lineTo(4, 8)
    painter.drawPath(path)
    if state is SyncState.CONFLICT:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(mark)
        painter.drawEllipse(QPointF(6, 8.7), 0.95, 0.95)
    painter.end()
    return QIcon(pixmap)


class SyncStateDelegate(QStyledItemDelegate):
    """Draws a cell whose `state_role` holds a SyncState value with its icon, and its
    word in the state's colour (the selection keeps the highlight's own text colour)."""

    def __init__(self, state_role: int, parent=None) -> None:
        super().__init__(parent)
        self._state_role = state_role
        self._icons: dict[tuple[SyncState, bool], QIcon] = {}
        self._colors_key: tuple[int, int] | None = None
        self._colors: ClinicalColors | None = None

    def _clinical(self, palette: QPalette) -> ClinicalColors:
        key = (palette.color(QPalette.ColorRole.Base).rgba(),
               palette.color(QPalette.ColorRole.Text).rgba())
        if key != self._colors_key or self._colors is None:
            self._colors = ClinicalColors.from_palette(palette)
            self._colors_key = key
        return self._colors

    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:
        super().initStyleOption(option, index)
        model = index.model()
        state = sync_state(model.data(index, self._state_role)) if model is not None else None
        if state is None:
            return
        colors = self._clinical(option.palette)
        key = (state, colors.dark)
        if key not in self._icons:
            self._icons[key] = sync_icon(state, colors.dark)
        option.icon = self._icons[key]
        option.features |= QStyleOptionViewItem.ViewItemFeature.HasDecoration
        option.decorationSize = QSize(ICON_SIZE, ICON_SIZE)
        colour = sync_text_color(state, colors)
        if colour is not None:
            option.palette.setColor(QPalette.ColorRole.Text, colour)
