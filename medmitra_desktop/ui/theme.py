"""Light and dark palettes: follow the operating system unless the doctor chose one.

Palettes are set explicitly (on the Fusion style) rather than left to the platform, because
several Linux desktops and the offscreen platform ignore the system colour scheme.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

Role = QPalette.ColorRole
Group = QPalette.ColorGroup

# Dark colours chosen for WCAG AA contrast (text on window >= 4.5:1).
_DARK = {
    Role.Window: "#202124", Role.WindowText: "#e8eaed", Role.Base: "#17181a",
    Role.AlternateBase: "#26282b", Role.ToolTipBase: "#303134", Role.ToolTipText: "#e8eaed",
    Role.PlaceholderText: "#9aa0a6", Role.Text: "#e8eaed", Role.Button: "#2d2f33",
    Role.ButtonText: "#e8eaed", Role.BrightText: "#ff8a80", Role.Link: "#8ab4f8",
    Role.Highlight: "#3d6fb4", Role.HighlightedText: "#ffffff", Role.Mid: "#3c4043",
    Role.Dark: "#111214", Role.Light: "#3c4043", Role.Shadow: "#000000",
}
_DARK_DISABLED = {Role.WindowText: "#80868b", Role.Text: "#80868b",
                  Role.ButtonText: "#80868b"}


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in _DARK.items():
        palette.setColor(role, QColor(colour))
    for role, colour in _DARK_DISABLED.items():
        palette.setColor(Group.Disabled, role, QColor(colour))
    return palette


def wants_dark(app: QGuiApplication, theme: str) -> bool:
    if theme in ("light", "dark"):
        return theme == "dark"
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


class ThemeController(QObject):
    """Owns the application palette. One per application, made by the GUI's start-up."""

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._app = app
        self._theme = "system"
        fusion = QStyleFactory.create("Fusion")
        if fusion is not None:
            app.setStyle(fusion)
        app.styleHints().colorSchemeChanged.connect(self._system_changed)

    @property
    def theme(self) -> str:
        return self._theme

    def apply(self, theme: str) -> None:
        self._theme = theme
        dark = wants_dark(self._app, theme)
        self._app.setPalette(dark_palette() if dark else self._app.style().standardPalette())

    def _system_changed(self, _scheme: Qt.ColorScheme) -> None:
        if self._theme == "system":
            self.apply("system")


def is_dark(app: QGuiApplication) -> bool:
    palette = app.palette()
    return palette.window().color().lightness() < palette.windowText().color().lightness()
