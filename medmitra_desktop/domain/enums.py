"""Closed vocabularies. Values are the strings stored in the database and sent to the API."""

from enum import StrEnum


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"
    OTHER = "other"


class CaseStatus(StrEnum):
    """The MedMitra status flow: processing -> completed | failed."""

    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class DocumentCategory(StrEnum):
    LAB = "lab"
    RADIOLOGY = "radiology"


class DocumentStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    OK = "ok"
    FAILED = "failed"
    NEEDS_PASSWORD = "needs_password"
    OCR_UNAVAILABLE = "ocr_unavailable"


class SyncState(StrEnum):
    """A case's place in sync with the MedMitra API, as the doctor sees it."""

    LOCAL = "local"          # only on this workstation (sync not set up)
    PENDING = "pending"      # local changes wait in the outbox
    SYNCED = "synced"
    CONFLICT = "conflict"    # changed on both sides; the doctor chooses, field by field
    ERROR = "error"          # the server refused a change; sync_error says why


class OutboxOperation(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    UPLOAD = "upload"
    REMOVE = "remove"
    REANALYZE = "reanalyze"


class JobKind(StrEnum):
    ANALYZE = "analyze"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ReportStatus(StrEnum):
    """A report job's life: polled by id until it succeeds, fails or is cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class AuditAction(StrEnum):
    CREATE = "create"
    VIEW = "view"
    UPDATE = "update"
    DELETE = "delete"
    RESTORE = "restore"
    PURGE = "purge"
    EXPORT = "export"
    ATTACH = "attach"
    REMOVE_DOCUMENT = "remove_document"
    REANALYZE = "reanalyze"
    SYNC_PULL = "sync_pull"              # the server changed or created this case
    RESOLVE_CONFLICT = "resolve_conflict"
    LINK_PATIENT = "link_patient"        # the doctor: this case is that case's patient
    UNLINK_PATIENT = "unlink_patient"    # the doctor: this case is a patient of its own
    IMPORT = "import"                    # created from a FHIR bundle (detail: its source)
    BACKUP = "backup"                    # the whole data folder written to a backup file
    RESTORE_BACKUP = "restore_backup"    # this data folder was restored from a backup
    ENCRYPT = "encrypt"                  # this data folder was encrypted at rest
