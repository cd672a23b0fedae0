"""Print a case, or save it as a PDF: the document services/case_document.py writes, laid
out page by page by ui/report_pdf.py (letterhead, signed or DRAFT — UNSIGNED on every
page, "Page X of Y"). Printing goes through the OS print dialog and paints on the GUI
thread; a PDF is a report job drawn on a worker thread with progress and Cancel
(ui/report_dialog.py). Each print or saved PDF leaves an export row in the audit trail;
whatever goes wrong reaches the doctor in a message box.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import date
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtGui import QPageLayout
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

from .. import APP_NAME
from ..domain.enums import ReportStatus
from ..domain.errors import MedMitraError, ValidationError
from ..services.case_document import CaseDocumentService, CaseReport
from ..services.report_jobs import ReportJobService
from .report_dialog import ReportProgressDialog
from .report_pdf import PAGE_MARGINS_MM, atomic_file, paint_report

log = logging.getLogger(__name__)

# The name print queues and PDF viewers show: shared printers list it for every user, so
# it names no patient.
JOB_NAME = "MedMitra case report"
PDF_FILTER = "PDF documents (*.pdf)"
_NOT_IN_NAME = re.compile(r"[^\w]+")


def print_case(parent: QWidget | None, service: CaseDocumentService, case_id: str,
               user_id: str) -> bool:
    """The print dialog, then the case on the chosen printer. True when it was printed."""
    try:
        report = service.report(case_id)
    except MedMitraError as error:
        _warn(parent, f"The case could not be printed: {error}")
        return False
    printer = _printer()
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle("Print case")
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return False
    try:
        paint_report(report, printer)
        service.record_printed(case_id, user_id, medium="print")
    except (MedMitraError, OSError) as error:
        _warn(parent, f"The case could not be printed: {error}")
        return False
    log.info("Case %s printed", case_id)
    return True


def save_case_pdf(parent: QWidget | None, reports: ReportJobService, case_id: str,
                  user_id: str, patient_name: str, directory: str | None = None
                  ) -> Path | None:
    """Ask where to save, then make the case report there as a report job (the same
    document as printed). The file the doctor chose, or None when cancelled or it
    failed."""
    folder = directory or QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.DocumentsLocation)
    suggested = str(Path(folder) / default_pdf_name(patient_name))
    chosen, _filter = QFileDialog.getSaveFileName(parent, "Save case as PDF", suggested,
                                                  PDF_FILTER)
    if not chosen:
        return None
    target = Path(chosen)
    if target.suffix.lower() != ".pdf":
        target = target.with_name(target.name + ".pdf")
    try:
        job = reports.create(case_id, user_id=user_id, output_path=target)
    except ValidationError as error:
        reasons = "; ".join(problem.message for problem in error.errors)
        _warn(parent, f"{target.name} could not be saved in {target.parent}: {reasons}. "
                      "Choose another folder.")
        return None
    except MedMitraError as error:
        _warn(parent, f"The case could not be saved as a PDF: {error}")
        return None
    dialog = ReportProgressDialog(reports, job, parent)
    dialog.exec()
    done = dialog.job
    if done is None or done.status is ReportStatus.FAILED:
        _warn(parent, done.error if done is not None and done.error else
              "The case could not be saved as a PDF; see the log for details.")
        return None
    if done.status is not ReportStatus.SUCCEEDED:
        return None  # cancelled: the doctor knows
    log.info("Case %s saved as a PDF", case_id)
    return target


def write_pdf(report: CaseReport, target: Path) -> int:
    """Print `report` through Qt's printing to a PDF at `target` (atomically); the self-
    test uses this to prove printing works in an installed app. The number of pages."""
    with atomic_file(target) as temporary:
        printer = _printer()
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setCreator(APP_NAME)
        printer.setOutputFileName(str(temporary))
        return paint_report(report, printer)


def _printer() -> QPrinter:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setDocName(JOB_NAME)
    printer.setPageMargins(PAGE_MARGINS_MM, QPageLayout.Unit.Millimeter)
    return printer


def default_pdf_name(patient_name: str, today: date | None = None) -> str:
    """ "Asha_Verma_2026-11-21.pdf": letters and digits of the name (accents folded
    where they have a plain form), then the date."""
    folded = unicodedata.normalize("NFKD", patient_name)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    stem = _NOT_IN_NAME.sub("_", folded).strip("_")[:60].rstrip("_") or "case"
    return f"{stem}_{(today or date.today()).isoformat()}.pdf"


def _warn(parent: QWidget | None, message: str) -> None:
    QMessageBox.warning(parent, APP_NAME, message)
