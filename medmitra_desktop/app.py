"""The one composition root: data folder, lock, database, file store, services.

The GUI and the CLI both start here; nothing else constructs these parts, and nothing
reaches for a global.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .config import (
    AppPaths,
    bundled_tessdata,
    bundled_tesseract,
    prepare_data_dir,
    resolve_data_dir,
    resources_dir,
)
from .services.case_document import CaseDocumentService
from .services.case_results import CaseResultsService
from .services.cases import CaseService
from .services.clinic_logo import ClinicLogoStore
from .services.patient_history import PatientHistoryService
from .services.patients import PatientService
from .services.report_jobs import ReportJobService
from .services.settings import SettingsService
from .services.soap_notes import SoapNoteService
from .services.sync_account import SyncAccount
from .storage import encryption
from .storage.data_key import DataKey, DataKeyStore
from .storage.database import Database, open_database
from .storage.filestore import FileStore
from .storage.instance_lock import InstanceLock

if TYPE_CHECKING:
    from .analysis.extract import ExtractOptions
    from .analysis.labs.knowledge import LabKnowledge
    from .analysis.pipeline import Analyzer
    from .storage.encryption import Progress

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    paths: AppPaths
    lock: InstanceLock
    database: Database
    files: FileStore
    cases: CaseService
    results: CaseResultsService
    soap_notes: SoapNoteService
    settings: SettingsService
    documents: CaseDocumentService  # the case as a printable document
    patients: PatientService  # which cases are one patient; the doctor's link and unlink
    history: PatientHistoryService  # a patient's lab trends and medication changes
    reports: ReportJobService  # case reports made as PDF files, polled by job id
    sync: SyncAccount  # sign-in to a MedMitra server and the sync engine for it

    def close(self) -> None:
        self.database.close()
        self.files.close()
        self.lock.release()


def load_lab_knowledge() -> LabKnowledge:
    """The lab knowledge base alone (trends convert units with it), loaded on first use."""
    from .analysis.labs.knowledge import load_lab_knowledge as load

    return load(resources_dir())


def build_analyzer(options: ExtractOptions | None = None) -> Analyzer:
    """The document pipeline with every knowledge base loaded (once per process).

    Imported here, not at the top: listing or editing cases should not pay for loading
    PDF, OCR and parsing libraries.
    """
    from .analysis.pipeline import Analyzer, Knowledge

    return Analyzer(Knowledge.load(resources_dir()), with_bundled_tesseract(options))


def with_bundled_tesseract(options: ExtractOptions | None) -> ExtractOptions | None:
    """In a frozen bundle, the bundled Tesseract is the default OCR engine (a program the
    doctor chose in Settings, or --tesseract, still wins). From source: unchanged (PATH)."""
    program = bundled_tesseract()
    if program is None or (options is not None and options.tesseract_cmd):
        return options
    from .analysis.extract import ExtractOptions

    if os.name == "nt":
        # Windows has no launcher script: tesseract.exe finds tessdata beside itself unless
        # TESSDATA_PREFIX says otherwise (e.g. left by another Tesseract install).
        os.environ["TESSDATA_PREFIX"] = str(bundled_tessdata())
    return replace(options or ExtractOptions(), tesseract_cmd=str(program))


def open_app(data_dir_arg: str | None = None, *, data_key: DataKey | None = None,
             progress: Progress | None = None) -> AppContext:
    """Open the data folder for this process. Raises MedMitraError subclasses with a
    message for the user (folder in use, database damaged, newer schema, the key of an
    encrypted folder missing: DataKeyMissing, ...).

    `data_key`: an encrypted folder's key from its recovery code (else the keychain's).
    `progress`: told how far the one-time encryption has got, when this start does it."""
    paths = prepare_data_dir(resolve_data_dir(data_dir_arg))
    lock = InstanceLock(paths.data_dir)
    lock.acquire()
    try:
        key = data_key or encryption.unlock(paths.data_dir, DataKeyStore())
        if key is not None and encryption.needs_finishing(paths.data_dir):
            FileStore(paths.files).clean_incoming()
            encryption.finish(paths, key, progress)
        database = open_database(paths.database, paths.backups, key=key)
        files = FileStore(paths.files, key)
        files.clean_incoming()
    except BaseException:
        lock.release()
        raise
    log.info("Data folder opened")
    cases = CaseService(database, files)
    results = CaseResultsService(database)
    soap_notes = SoapNoteService(database)
    settings = SettingsService(database)
    documents = CaseDocumentService(database, cases, results, soap_notes, settings,
                                    ClinicLogoStore(paths.branding))
    reports = ReportJobService(database, documents)
    # The folder lock is ours: a report job still marked running was cut off by a crash.
    reports.recover_interrupted()
    return AppContext(
        paths=paths, lock=lock, database=database, files=files, cases=cases,
        results=results, soap_notes=soap_notes, settings=settings,
        documents=documents,
        patients=PatientService(database),
        history=PatientHistoryService(database, load_lab_knowledge),
        reports=reports,
        sync=SyncAccount(database, files, cases, settings),
    )
