"""Print a case, or save it as a PDF: the document services/case_document.py writes, laid
out by QTextDocument for a high-resolution QPrinter (a 2 cm margin and page numbers come
with QTextDocument.print_). Each print or saved PDF leaves an export row in the audit
trail; whatever goes wrong reaches the doctor in a message box.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import unicodedata
from datetime import date
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtGui import QTextDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

from .. import APP_NAME
from ..domain.errors import MedMitraError
from ..services.case_document import CaseDocumentService

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
        document = case_document(service, case_id)
    except MedMitraError as error:
        _warn(parent, f"The case could not be printed: {error}")
        return False
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setDocName(JOB_NAME)
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle("Print case")
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return False
    try:
        document.print_(printer)
        service.record_printed(case_id, user_id, medium="print")
    except (MedMitraError, OSError) as error:
        _warn(parent, f"The case could not be printed: {error}")
        return False
    log.info("Case %s printed", case_id)
    return True


def save_case_pdf(parent: QWidget | None, service: CaseDocumentService, case_id: str,
                  user_id: str, patient_name: str, directory: str | None = None
                  ) -> Path | None:
    """Ask where to save, then write the case as a PDF there (the same document as
    printed). The file the doctor chose, or None when cancelled or it failed."""
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
        document = case_document(service, case_id)
        write_pdf(document, target)
        service.record_printed(case_id, user_id, medium="pdf")
    except MedMitraError as error:
        _warn(parent, f"The case could not be saved as a PDF: {error}")
        return None
    except OSError as error:
        _warn(parent, f"{target.name} could not be saved in {target.parent}: "
                      f"{error.strerror or error}. Choose another folder, or check that "
                      "there is space on the disk.")
        return None
    log.info("Case %s saved as a PDF", case_id)
    return target


def write_pdf(document: QTextDocument, target: Path) -> None:
    """Print `document` to a PDF at `target`, atomically: a temporary file in the same
    folder, renamed over the target once complete (a failure leaves no half PDF)."""
    handle, temporary = tempfile.mkstemp(prefix=".medmitra-", suffix=".pdf.part",
                                         dir=target.parent)
    os.close(handle)
    try:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setDocName(JOB_NAME)
        printer.setCreator(APP_NAME)
        printer.setOutputFileName(temporary)
        document.print_(printer)
        if os.path.getsize(temporary) == 0:
            raise OSError("the PDF could not be written")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def default_pdf_name(patient_name: str, today: date | None = None) -> str:
    """ "Asha_Verma_2026-11-21.pdf": letters and digits of the name (accents folded
    where they have a plain form), then the date."""
    folded = unicodedata.normalize("NFKD", patient_name)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    stem = _NOT_IN_NAME.sub("_", folded).strip("_")[:60].rstrip("_") or "case"
    return f"{stem}_{(today or date.today()).isoformat()}.pdf"


def case_document(service: CaseDocumentService, case_id: str) -> QTextDocument:
    document = QTextDocument()
    document.setHtml(service.html(case_id))
    return document


def _warn(parent: QWidget | None, message: str) -> None:
    QMessageBox.warning(parent, APP_NAME, message)
