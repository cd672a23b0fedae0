"""The case report on paper: pages laid out by QTextDocument, with what every page of a
clinical document repeats around the text: the SOAP note's state (signed, or a DRAFT —
UNSIGNED line and a faint diagonal mark across the page), "Page X of Y", the generation
time, the app's version and the clinic.

The same painting serves a printer (ui/print_case.py, on the GUI thread after the print
dialog) and a PDF file (QPdfWriter, on a report job's worker thread: QTextDocument,
QPdfWriter and QPainter on a paged device are usable outside the GUI thread once a
QGuiApplication exists; no widget is involved). The headless `export --pdf` command gets
its QGuiApplication from ensure_gui_application(), on the offscreen platform.

This module lives in ui/ because it is Qt; the report job service receives render_pdf as
a plain function and stays free of Qt.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QPagedPaintDevice,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
    QTextDocument,
)

from .. import APP_NAME
from ..services.case_document import DRAFT_MARK, CaseReport

PDF_TITLE = "MedMitra case report"  # PDF metadata: no patient name
PDF_RESOLUTION = 300
PAGE_MARGINS_MM = QMarginsF(16, 14, 16, 12)  # left, top, right, bottom
FOOTER_MM = 10.0  # below the text on every page: sign state, page, time, version
FOOTER_POINT_SIZE = 7.5
DRAFT_RED = QColor("#a00000")
SIGNED_GREEN = QColor("#1d5e20")
GREY = QColor("#555555")
RULE_GREY = QColor("#9a9a9a")
WATERMARK = QColor(160, 0, 0, 22)  # faint enough to read through, plain on any page
Step = Callable[[float, str], None]

_APPLICATION: QGuiApplication | None = None


def ensure_gui_application() -> None:
    """Qt's text layout and PDF writer need a QGuiApplication. The window has one; for
    the headless command, make one on the offscreen platform (no screen needed; the
    -platform argument wins over QT_QPA_PLATFORM)."""
    global _APPLICATION
    if QGuiApplication.instance() is None:
        program = sys.argv[0] if sys.argv and sys.argv[0] else "medmitra-desktop"
        _APPLICATION = QGuiApplication([program, "-platform", "offscreen"])


@contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """A temporary file beside `target`, renamed over it when the block ends well and
    removed when it does not: no half-written PDF is ever left under the doctor's name."""
    handle, temporary = tempfile.mkstemp(prefix=".medmitra-", suffix=".pdf.part",
                                         dir=target.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        if os.path.getsize(temporary) == 0:
            raise OSError("the PDF could not be written")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def render_pdf(report: CaseReport, target: Path, step: Step | None = None) -> int:
    """Write `report` as an A4 PDF at `target` (atomically); the number of pages."""
    with atomic_file(target) as temporary:
        writer = QPdfWriter(str(temporary))
        writer.setResolution(PDF_RESOLUTION)
        writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        writer.setPageMargins(PAGE_MARGINS_MM, QPageLayout.Unit.Millimeter)
        writer.setTitle(PDF_TITLE)
        writer.setCreator(APP_NAME)
        return paint_report(report, writer, step)


def paint_report(report: CaseReport, device: QPagedPaintDevice, step: Step | None = None
                 ) -> int:
    """Lay out and paint every page of `report` on `device` (a PDF writer or a printer
    set up by the print dialog); the number of pages. `step` hears each page and may
    raise to stop (the painter is ended either way)."""
    resolution = device.logicalDpiY()
    body = QRectF(device.pageLayout().paintRectPixels(resolution))
    footer_height = FOOTER_MM / 25.4 * resolution
    page = QSizeF(body.width(), body.height() - footer_height)

    document = QTextDocument()
    document.documentLayout().setPaintDevice(device)
    # Not 0: the outer table would then start exactly on each page's top edge, where Qt
    # draws the repeated header row (the patient line) a second time over the first.
    document.setDocumentMargin(2)
    document.setHtml(report.html)
    document.setPageSize(page)
    pages = document.pageCount()

    painter = QPainter()
    if not painter.begin(device):
        raise OSError("the printer or PDF file could not be opened for writing")
    try:
        for number in range(pages):
            if step is not None:
                step(number / pages, f"Page {number + 1} of {pages}")
            if number:
                device.newPage()
            if not report.signed:
                _watermark(painter, QRectF(0, 0, page.width(), body.height()), resolution)
            painter.save()
            painter.translate(0, -number * page.height())
            document.drawContents(painter, QRectF(0, number * page.height(), page.width(),
                                                  page.height()))
            painter.restore()
            _footer(painter, report, QRectF(0, page.height(), page.width(), footer_height),
                    number + 1, pages, resolution)
    finally:
        painter.end()
    if step is not None:
        step(1.0, "Saving")
    return pages


def _footer(painter: QPainter, report: CaseReport, area: QRectF, number: int, pages: int,
            resolution: float) -> None:
    """Two lines under a thin rule: the SOAP note's state and the page number, then the
    generation time with the app's version and the clinic."""
    painter.save()
    font = QFont("DejaVu Sans")
    font.setPointSizeF(FOOTER_POINT_SIZE)
    bold = QFont(font)
    bold.setBold(True)
    line = QFontMetricsF(font, painter.device()).height() * 1.15
    gap = 2.5 / 25.4 * resolution
    painter.setPen(QPen(RULE_GREY, max(1.0, resolution / 300)))
    painter.drawLine(QPointF(area.left(), area.top() + gap),
                     QPointF(area.right(), area.top() + gap))
    first = QRectF(area.left(), area.top() + gap * 1.6, area.width(), line)
    second = QRectF(area.left(), first.bottom(), area.width(), line)
    left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    painter.setFont(bold)
    painter.setPen(SIGNED_GREEN if report.signed else DRAFT_RED)
    painter.drawText(first, left, report.sign_line)
    painter.setPen(QColor("black"))
    painter.drawText(first, right, f"Page {number} of {pages}")
    painter.setFont(font)
    painter.setPen(GREY)
    painter.drawText(second, left, report.generated_line)
    painter.drawText(second, right, report.clinic)
    painter.restore()


def _watermark(painter: QPainter, area: QRectF, resolution: float) -> None:
    """DRAFT — UNSIGNED across the page, faint: a draft cannot pass for a signed note,
    even as one page torn from the rest."""
    painter.save()
    font = QFont("DejaVu Sans")
    font.setBold(True)
    font.setPixelSize(round(resolution * 0.62))
    painter.setFont(font)
    painter.setPen(WATERMARK)
    painter.translate(area.center())
    painter.rotate(-35)
    width = QFontMetricsF(font, painter.device()).horizontalAdvance(DRAFT_MARK)
    painter.drawText(QRectF(-width / 2 - 10, -resolution, width + 20, 2 * resolution),
                     Qt.AlignmentFlag.AlignCenter, DRAFT_MARK)
    painter.restore()
