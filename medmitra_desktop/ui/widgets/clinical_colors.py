"""Colours for abnormal and critical values that stay readable on light and dark palettes.

Backgrounds are tints of the palette's own Base colour (so the palette's Text stays
readable on them); the strong foregrounds are picked for the palette's lightness and
checked against those tints by tests (WCAG contrast of at least 4.5:1).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette

AMBER = QColor("#f0a000")
RED = QColor("#e0282e")


def blend(under: QColor, over: QColor, amount: float) -> QColor:
    """`over` laid on `under` with opacity `amount` (0..1)."""
    return QColor(
        round(under.red() + (over.red() - under.red()) * amount),
        round(under.green() + (over.green() - under.green()) * amount),
        round(under.blue() + (over.blue() - under.blue()) * amount),
    )


def _luminance(color: QColor) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return (0.2126 * channel(color.red()) + 0.7152 * channel(color.green())
            + 0.0722 * channel(color.blue()))


def contrast_ratio(first: QColor, second: QColor) -> float:
    """WCAG 2 contrast ratio, 1..21."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@dataclass(frozen=True)
class ClinicalColors:
    dark: bool
    text: QColor
    base: QColor
    abnormal_bg: QColor
    abnormal_fg: QColor
    critical_bg: QColor
    critical_fg: QColor
    muted_fg: QColor
    link: QColor
    # OCR words read with low confidence: a fixed yellow with black text, as a highlighter.
    low_confidence_bg: QColor
    low_confidence_fg: QColor

    @classmethod
    def from_palette(cls, palette: QPalette) -> ClinicalColors:
        base = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Text)
        dark = base.lightness() < 128
        if dark:
            abnormal_bg, critical_bg = blend(base, AMBER, 0.30), blend(base, RED, 0.38)
            abnormal_fg, critical_fg = QColor("#ffd27a"), QColor("#ffc2c2")
        else:
            abnormal_bg, critical_bg = blend(base, AMBER, 0.22), blend(base, RED, 0.16)
            abnormal_fg, critical_fg = QColor("#7a4100"), QColor("#9e0016")
        return cls(
            dark=dark, text=text, base=base,
            abnormal_bg=abnormal_bg, abnormal_fg=abnormal_fg,
            critical_bg=critical_bg, critical_fg=critical_fg,
            muted_fg=blend(text, base, 0.30),
            link=palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Link),
            low_confidence_bg=QColor("#ffe066"), low_confidence_fg=QColor("#000000"),
        )
