"""Palettes the colour tests check: light and dark desktops, Fusion, the app's dark one."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QStyleFactory

from medmitra_desktop.ui.theme import dark_palette

# (Base, Text) of light and dark desktop palettes, Qt's Fusion, and the app's own dark one.
PALETTE_CASES = [("#ffffff", "#000000"), ("#f5f5f5", "#202020"), ("#2d2d2d", "#ffffff"),
                 ("#1e1e1e", "#d4d4d4"), ("fusion", ""), ("app-dark", "")]


def palette_for(base: str, text: str) -> QPalette:
    if base == "fusion":
        return QStyleFactory.create("Fusion").standardPalette()
    if base == "app-dark":
        return dark_palette()
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Base, QColor(base))
    palette.setColor(QPalette.ColorRole.Text, QColor(text))
    return palette
