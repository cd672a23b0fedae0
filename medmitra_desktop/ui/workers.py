"""The bridge between the GUI thread and the analysis job service.

One QThread drains the job queue; OCR inside a job runs one tesseract process per core.
Every job ends in `job_finished` (a result or an error), progress arrives as signals, and
the GUI thread never waits on disk or OCR.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..analysis.extract import CancelToken

if TYPE_CHECKING:
    from ..services.analysis_jobs import AnalysisJobs, JobOutcome, JobProgress

log = logging.getLogger(__name__)
SHUTDOWN_WAIT_MS = 10_000


class _Worker(QObject):
    progress = Signal(str, float, str)  # case id, fraction, message
    job_finished = Signal(str, str, str)  # case id, case status, error ("" when none)
    idle = Signal()
    failed = Signal(str)

    def __init__(self, make_jobs: Callable[[], AnalysisJobs]) -> None:
        super().__init__()
        self._make_jobs = make_jobs
        self._jobs: AnalysisJobs | None = None
        self._cancel: CancelToken | None = None
        self._stopping = False
        # Passwords typed before the jobs exist (they are built lazily, on this thread);
        # handed over before each job. Memory only.
        self._passwords: dict[str, str] = {}
        self._passwords_lock = threading.Lock()

    def provide_password(self, document_id: str, password: str) -> None:
        """Called from the GUI thread; used from the next job on."""
        with self._passwords_lock:
            self._passwords[document_id] = password

    def _hand_over_passwords(self, jobs: AnalysisJobs) -> None:
        with self._passwords_lock:
            pending, self._passwords = self._passwords, {}
        for document_id, password in pending.items():
            jobs.provide_password(document_id, password)

    def jobs(self) -> AnalysisJobs:
        # Built on the worker thread: loading the knowledge bases must not delay the window.
        if self._jobs is None:
            self._jobs = self._make_jobs()
            self._jobs.recover_interrupted()
        return self._jobs

    @Slot()
    def drain(self) -> None:
        try:
            jobs = self.jobs()
            while not self._stopping:
                self._hand_over_passwords(jobs)
                self._cancel = CancelToken()
                outcome = jobs.run_next(progress=self._report, cancel=self._cancel)
                self._cancel = None
                if outcome is None:
                    break
                self._finished(outcome)
        except Exception as error:  # reported, never a silent thread death
            log.exception("Analysis worker stopped")
            self.failed.emit(str(error))
        self.idle.emit()

    def cancel_current(self) -> None:
        token = self._cancel
        if token is not None:
            token.cancel()

    def stop(self) -> None:
        self._stopping = True
        self.cancel_current()

    def _report(self, progress: JobProgress) -> None:
        self.progress.emit(progress.case_id, progress.fraction, progress.message)

    def _finished(self, outcome: JobOutcome) -> None:
        self.job_finished.emit(outcome.case_id, outcome.case_status.value, outcome.error or "")


class AnalysisRunner(QObject):
    """Owns the worker thread. Call wake() after queueing work; stop() before quitting."""

    progress = Signal(str, float, str)
    job_finished = Signal(str, str, str)
    idle = Signal()
    failed = Signal(str)
    _drain = Signal()

    def __init__(self, make_jobs: Callable[[], AnalysisJobs], parent: QObject | None = None
                 ) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("analysis")
        self._worker = _Worker(make_jobs)
        self._worker.moveToThread(self._thread)
        self._drain.connect(self._worker.drain)
        self._worker.progress.connect(self.progress)
        self._worker.job_finished.connect(self.job_finished)
        self._worker.failed.connect(self.failed)
        self._worker.idle.connect(self._on_idle)
        self._busy = False
        self._again = False
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._busy

    def wake(self) -> None:
        if self._busy:
            self._again = True  # drain() may have just seen an empty queue
            return
        self._busy = True
        self._drain.emit()

    def cancel_current(self) -> None:
        self._worker.cancel_current()

    def provide_password(self, document_id: str, password: str) -> None:
        """A protected PDF's password for the next analysis of its case (kept in memory
        only, never stored or logged). Queue the case and wake() afterwards."""
        self._worker.provide_password(document_id, password)

    def stop(self) -> None:
        """Cancel the running job, wait for the thread, then let it go."""
        self._worker.stop()
        self._thread.quit()
        if not self._thread.wait(SHUTDOWN_WAIT_MS):
            log.warning("Analysis thread did not stop within %d ms", SHUTDOWN_WAIT_MS)

    def _on_idle(self) -> None:
        self._busy = False
        if self._again:
            self._again = False
            self.wake()
        else:
            self.idle.emit()
