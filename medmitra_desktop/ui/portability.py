"""File menu: Export case as FHIR…, Import FHIR bundle…, Back up data…, Restore from
backup…. The work (files of tens of megabytes, hashing, base64, ZIP) runs on a QThread
with a busy dialog; the window stays responsive, and every problem reaches the doctor as
a message in words.

Restore never touches the open data folder (the instance lock would refuse it anyway): it
fills a new, empty folder, and the doctor is told how to open that one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QStandardPaths, Qt, QThread, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QWidget,
)

from .. import APP_NAME
from ..domain.errors import MedMitraError

if TYPE_CHECKING:
    from ..app import AppContext

log = logging.getLogger(__name__)

FHIR_FILTER = "FHIR bundles (*.json);;All files (*)"
BACKUP_FILTER = "MedMitra Desktop backups (*.zip);;All files (*)"


class _Job(QObject):
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__()
        self._work = work

    @Slot()
    def run(self) -> None:
        try:
            result = self._work()
        except MedMitraError as error:
            self.failed.emit(str(error))
        except Exception as error:  # told to the doctor, never a silent thread death
            log.exception("Background task failed")
            self.failed.emit(f"It failed unexpectedly ({error}). The details are in the log.")
        else:
            self.done.emit(result)


class BackgroundTask(QObject):
    """One piece of work at a time on its own QThread, a busy dialog while it runs."""

    finished = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self._thread: QThread | None = None
        self._job: _Job | None = None
        self._dialog: QProgressDialog | None = None
        self._on_done: Callable[[Any], None] = lambda _result: None
        self._on_failed: Callable[[str], None] = lambda _message: None

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(self, text: str, work: Callable[[], Any], on_done: Callable[[Any], None],
              on_failed: Callable[[str], None]) -> bool:
        if self.busy:
            return False
        self._dialog = QProgressDialog(text, "", 0, 0, self._parent)
        self._dialog.setCancelButton(None)  # hashing and copying stop cleanly only at the end
        self._dialog.setWindowTitle(APP_NAME)
        self._dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self._dialog.setMinimumDuration(400)
        thread = QThread()
        thread.setObjectName("portability")
        job = _Job(work)
        job.moveToThread(thread)
        thread.started.connect(job.run)
        # Bound slots of this object (GUI thread): queued, so the ending runs here, never on
        # the worker thread (a lambda would run where the signal is emitted).
        job.done.connect(self._done)
        job.failed.connect(self._failed)
        self._on_done, self._on_failed = on_done, on_failed
        self._thread, self._job = thread, job
        thread.start()
        return True

    @Slot(object)
    def _done(self, result: object) -> None:
        self._end(lambda: self._on_done(result))

    @Slot(str)
    def _failed(self, message: str) -> None:
        self._end(lambda: self._on_failed(message))

    def _end(self, report: Callable[[], None]) -> None:
        thread = self._thread
        if thread is not None:
            thread.quit()
            thread.wait()
        self._thread = self._job = None
        if self._dialog is not None:
            self._dialog.close()
            self._dialog.deleteLater()
            self._dialog = None
        try:
            report()
        finally:
            self.finished.emit()


class PortabilityActions(QObject):
    """The four File menu actions and what they do. The window supplies who is working,
    which case is meant, and what to do after an import."""

    def __init__(self, window: QWidget, *, context: AppContext, user_id: Callable[[], str],
                 current_case: Callable[[], str | None],
                 on_case_imported: Callable[[str], None],
                 open_case: Callable[[str], None]) -> None:
        super().__init__(window)
        self._window = window
        self._context = context
        self._user_id = user_id
        self._current_case = current_case
        self._on_case_imported = on_case_imported
        self._open_case = open_case
        self.task = BackgroundTask(window)
        self.export_action = QAction("Export case as &FHIR…", window)
        self.export_action.setToolTip("Save the open case, or the case selected in the list, "
                                      "as a FHIR R4 bundle for an EMR or another workstation")
        self.export_action.triggered.connect(self.export_fhir)
        self.import_action = QAction("&Import FHIR bundle…", window)
        self.import_action.setToolTip("Add a case from a FHIR bundle (a case already here is "
                                      "not added twice)")
        self.import_action.triggered.connect(self.import_bundle)
        self.backup_action = QAction("&Back up data…", window)
        self.backup_action.setToolTip("Save every case and file in one backup file")
        self.backup_action.triggered.connect(self.back_up)
        self.restore_action = QAction("Restore from bac&kup…", window)
        self.restore_action.setToolTip("Restore a backup into a new folder, to open it there")
        self.restore_action.triggered.connect(self.restore)
        window.installEventFilter(self)

    def add_to(self, menu: QMenu) -> None:
        for action in (self.export_action, self.import_action):
            menu.addAction(action)
        menu.addSeparator()
        for action in (self.backup_action, self.restore_action):
            menu.addAction(action)

    def update_actions(self) -> None:
        idle = not self.task.busy
        self.export_action.setEnabled(idle and self._current_case() is not None)
        for action in (self.import_action, self.backup_action, self.restore_action):
            action.setEnabled(idle)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Closing mid-backup would destroy the running thread (and leave half a file).
        if watched is self._window and event.type() == QEvent.Type.Close and self.task.busy:
            event.ignore()
            self._status("Please wait: a backup, restore, export or import is running.")
            return True
        return super().eventFilter(watched, event)

    # ---- export and import --------------------------------------------------------------

    def export_fhir(self) -> None:
        case_id = self._current_case()
        if case_id is None:
            return
        try:
            case = self._context.cases.get_case(case_id)
        except MedMitraError as error:
            self._warn(f"The case could not be exported: {error}")
            return
        include = ask_include_files(self._window, len(case.documents),
                                    sum(d.size_bytes for d in case.documents))
        if include is None:
            return
        suggested = str(_documents_folder() / f"{_safe(case.patient_name)} FHIR.json")
        chosen, _filter = QFileDialog.getSaveFileName(self._window, "Export case as FHIR",
                                                      suggested, FHIR_FILTER)
        if not chosen:
            return
        target = Path(chosen)
        if target.suffix.lower() != ".json":
            target = target.with_name(target.name + ".json")
        from ..services.fhir import export_case_fhir

        user_id = self._user_id()
        self._run("Exporting the case as FHIR…",
                  lambda: export_case_fhir(self._context, case_id, target, user_id=user_id,
                                           include_files=include),
                  lambda result: self._status(f"Saved {result.path} (FHIR R4)."),
                  "The case could not be exported")

    def import_bundle(self) -> None:
        chosen, _filter = QFileDialog.getOpenFileName(
            self._window, "Import FHIR bundle", str(_documents_folder()), FHIR_FILTER)
        if not chosen:
            return
        from ..services.fhir import import_fhir_bundle

        user_id = self._user_id()
        self._run("Importing the FHIR bundle…",
                  lambda: import_fhir_bundle(self._context, Path(chosen), user_id=user_id),
                  self._imported, "The bundle could not be imported")

    def _imported(self, result: Any) -> None:
        if result.created:
            self._on_case_imported(result.case_id)
            done = "Case imported."
            if result.documents:
                done += " Its documents are being analysed."
            self._status(done)
            if result.left_out:
                QMessageBox.information(self._window, APP_NAME,
                                        "Case imported.\n\n" + "\n".join(result.left_out))
        elif result.in_trash:
            QMessageBox.information(
                self._window, APP_NAME,
                "This case is already on this workstation, in the trash; nothing was "
                "imported. Turn on Trash and restore it to work with it.")
        else:
            self._open_case(result.case_id)
            self._status("This case is already on this workstation; nothing was imported.")

    # ---- backup and restore -------------------------------------------------------------

    def back_up(self) -> None:
        suggested = str(_documents_folder() / f"MedMitra backup {date.today():%Y-%m-%d}.zip")
        chosen, _filter = QFileDialog.getSaveFileName(self._window, "Back up data", suggested,
                                                      BACKUP_FILTER)
        if not chosen:
            return
        target = Path(chosen)
        if target.suffix.lower() != ".zip":
            target = target.with_name(target.name + ".zip")
        from ..services.backup import backup_data

        user_id = self._user_id()
        self._run("Backing up every case and file…",
                  lambda: backup_data(self._context, target, user_id=user_id),
                  self._backed_up, "The backup could not be made")

    def _backed_up(self, result: Any) -> None:
        if result.problems:
            QMessageBox.warning(
                self._window, APP_NAME,
                f"The backup was saved to {result.path} and checked, but the data folder "
                f"has damage it could not carry:\n\n" + "\n".join(result.problems[:5]))
        self._status(f"Backup saved to {result.path} and checked.")

    def restore(self) -> None:
        if not ask_restore(self._window):
            return
        archive, _filter = QFileDialog.getOpenFileName(
            self._window, "Choose the backup to restore", str(_documents_folder()),
            BACKUP_FILTER)
        if not archive:
            return
        folder = QFileDialog.getExistingDirectory(
            self._window, "Choose a new, empty folder to restore into",
            str(_documents_folder()))
        if not folder:
            return
        from ..services.backup import needs_recovery_code, restore_backup

        code: str | None = None
        try:
            if needs_recovery_code(Path(archive)):
                code = ask_backup_recovery_code(self._window, Path(archive).name)
                if code is None:
                    return
        except MedMitraError as error:
            self._warn(f"The backup could not be restored: {error}")
            return
        user_id = self._user_id()
        self._run("Restoring the backup and checking every file…",
                  lambda: restore_backup(Path(archive), Path(folder), user_id=user_id,
                                         recovery_code=code),
                  self._restored, "The backup could not be restored")

    def _restored(self, result: Any) -> None:
        QMessageBox.information(
            self._window, APP_NAME,
            f"The backup of {result.created_at[:10]} was restored into {result.data_dir}, "
            f"and every file was checked.\n\nThis window keeps working on the current data "
            f"folder. To work with the restored data, quit and start MedMitra Desktop with "
            f"that folder:\n\nmedmitra-desktop --data-dir \"{result.data_dir}\"")
        self._status(f"Backup restored into {result.data_dir}.")

    # ---- helpers ------------------------------------------------------------------------

    def _run(self, text: str, work: Callable[[], Any], on_done: Callable[[Any], None],
             failure: str) -> None:
        started = self.task.start(text, work, on_done,
                                  lambda message: self._warn(f"{failure}: {message}"))
        if not started:
            self._status("Please wait until the running task has finished.")
        self.update_actions()
        self.task.finished.connect(self.update_actions, Qt.ConnectionType.UniqueConnection)

    def _warn(self, text: str) -> None:
        QMessageBox.warning(self._window, APP_NAME, text)

    def _status(self, text: str) -> None:
        status_bar = getattr(self._window, "statusBar", None)
        if callable(status_bar):
            status_bar().showMessage(text, 8000)


def ask_include_files(parent: QWidget | None, count: int, size_bytes: int) -> bool | None:
    """Whether the bundle carries the original report files: True, False, or None when
    the doctor cancels. Off, neither the files nor their names leave the workstation."""
    box = QMessageBox(QMessageBox.Icon.Question, APP_NAME,
                      "Export this case as a FHIR R4 bundle, for an EMR or another "
                      "MedMitra Desktop.", QMessageBox.StandardButton.Save
                      | QMessageBox.StandardButton.Cancel, parent)
    box.setInformativeText("The patient's details, lab results, radiology findings and "
                           "signed diagnoses are always included.")
    check = QCheckBox(f"Include the original report files ({count} file"
                      f"{'s' * (count != 1)}, {size_bytes / 1024 / 1024:,.1f} MB)")
    check.setChecked(count > 0)
    check.setEnabled(count > 0)
    box.setCheckBox(check)
    if box.exec() != QMessageBox.StandardButton.Save:
        return None
    return check.isChecked()


def ask_backup_recovery_code(parent: QWidget | None, archive_name: str) -> str | None:
    """The recovery code of the encrypted folder a backup was made of; None: cancelled."""
    from .views.encryption_dialogs import RecoveryCodePrompt

    prompt = RecoveryCodePrompt(
        f"{archive_name} is a backup of an encrypted data folder, and its key is not in "
        f"this computer's keychain. Type the folder's recovery code to restore it.", parent)
    if prompt.exec() != QDialog.DialogCode.Accepted:
        return None
    return prompt.code.text()


def ask_restore(parent: QWidget | None) -> bool:
    answer = QMessageBox.question(
        parent, APP_NAME,
        "A backup is restored into a new, empty folder; the data you are working on now is "
        "not changed.\n\nAfterwards, quit and start MedMitra Desktop with the new folder to "
        "work with the restored data.\n\nChoose the backup file, then the new folder?",
        QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Ok)
    return answer == QMessageBox.StandardButton.Ok


def _documents_folder() -> Path:
    return Path(QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.DocumentsLocation) or Path.home())


def _safe(name: str) -> str:
    kept = "".join(ch if ch.isalnum() or ch in " -_" else " " for ch in name)
    return " ".join(kept.split())[:60] or "Case"
