"""A report job run from the window: the PDF is drawn on a worker thread while a small
dialog shows the step, the progress and Cancel; it closes itself when the job ends.

The job is the durable row services/report_jobs.py keeps; this module only runs it off
the GUI thread (the window keeps repainting, and Cancel is heard at the next page).
"""

from __future__ import annotations

import html
import logging
import threading

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from ..domain.enums import ReportStatus
from ..services.report_jobs import ReportJobService, ReportJobView
from .report_pdf import render_pdf

log = logging.getLogger(__name__)
SHUTDOWN_WAIT_MS = 30_000


class _ReportWorker(QObject):
    progress = Signal(float, str)
    finished = Signal(object)  # ReportJobView

    def __init__(self, reports: ReportJobService, job_id: str,
                 cancel: threading.Event) -> None:
        super().__init__()
        self._reports = reports
        self._job_id = job_id
        self._cancel = cancel

    @Slot()
    def run(self) -> None:
        try:
            done = self._reports.run(self._job_id, render_pdf, cancel=self._cancel,
                                     progress=self.progress.emit)
        except Exception:  # the job row is finished by run(); this is a storage failure
            log.exception("Report job %s could not be run", self._job_id)
            done = None
        self.finished.emit(done)


class ReportProgressDialog(QDialog):
    """Runs one queued report job; `job` holds the finished job once exec() returns
    (None only when the database itself failed)."""

    def __init__(self, reports: ReportJobService, job: ReportJobView,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Saving the case as a PDF")
        self.setModal(True)
        self.job: ReportJobView | None = None
        self._running = False
        self._cancel = threading.Event()

        title = QLabel(f"Saving <b>{html.escape(job.output_path.name)}</b> in "
                       f"{html.escape(str(job.output_path.parent))}")
        title.setTextFormat(Qt.TextFormat.RichText)
        title.setWordWrap(True)
        self.step = QLabel("Waiting to start")
        self.step.setAccessibleName("Report step")
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setAccessibleName("Report progress")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        self.cancel_button = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.bar)
        layout.addWidget(self.step)
        layout.addWidget(buttons)
        self.resize(460, 0)

        self._thread = QThread(self)
        self._thread.setObjectName("report")
        self._worker = _ReportWorker(reports, job.job_id, self._cancel)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)

    def exec(self) -> int:
        self._running = True
        self._thread.start()
        return super().exec()

    def _on_progress(self, fraction: float, message: str) -> None:
        self.bar.setValue(round(fraction * 100))
        if not self._cancel.is_set():
            self.step.setText(message)

    def _on_finished(self, done: ReportJobView | None) -> None:
        self._running = False
        self._thread.quit()
        self._thread.wait(SHUTDOWN_WAIT_MS)
        self.job = done
        if done is not None and done.status is ReportStatus.SUCCEEDED:
            self.accept()
        else:
            super().reject()

    def reject(self) -> None:
        """Cancel (or Esc) asks the job to stop; the dialog closes when it has."""
        if not self._running:
            super().reject()
            return
        self._cancel.set()
        self.cancel_button.setEnabled(False)
        self.step.setText("Cancelling…")

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._running:
            self.reject()
            event.ignore()
        else:
            super().closeEvent(event)
