"""Records passed between layers: plain, immutable, safe to hand across threads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .enums import CaseStatus, DocumentCategory, DocumentStatus, Gender, SyncState


@dataclass(frozen=True)
class NewAttachment:
    path: Path
    category: DocumentCategory
    # The name shown to the doctor; defaults to the file's own name.
    file_name: str | None = None

    @property
    def display_name(self) -> str:
        return self.file_name or self.path.name


@dataclass(frozen=True)
class CaseFields:
    """Validated patient fields of a case."""

    patient_name: str
    patient_age: int
    patient_gender: Gender
    case_summary: str = ""


@dataclass(frozen=True)
class DocumentRecord:
    document_id: str
    case_id: str
    category: DocumentCategory
    file_name: str
    mime_type: str
    size_bytes: int
    sha256: str
    status: DocumentStatus
    error: str | None
    pages: int | None
    text_source: str | None
    created_at: datetime


@dataclass(frozen=True)
class CaseRecord:
    case_id: str
    user_id: str
    patient_name: str
    patient_age: int
    patient_gender: Gender
    case_summary: str
    status: CaseStatus
    created_at: datetime
    updated_at: datetime
    version: int
    one_line_summary: str | None = None
    deleted_at: datetime | None = None
    documents: tuple[DocumentRecord, ...] = ()
    patient_record_number: str | None = None
    # Why the latest analysis failed or was cancelled; None when it succeeded or is pending.
    last_error: str | None = None
    sync_state: SyncState = SyncState.LOCAL
    sync_error: str | None = None
    # Fields changed both here and on the server: {field: {"local": .., "remote": ..}}.
    sync_conflict: dict[str, dict[str, object]] | None = None


@dataclass(frozen=True)
class CaseListItem:
    case_id: str
    patient_name: str
    patient_age: int
    patient_gender: Gender
    status: CaseStatus
    created_at: datetime
    updated_at: datetime
    one_line_summary: str | None
    document_count: int
    # Analysed, but something needs the doctor: a document that could not be read
    # (damaged, password, no OCR engine) or a medication only partly captured.
    needs_review: bool = False
    sync_state: SyncState = SyncState.LOCAL
    sync_error: str | None = None


@dataclass(frozen=True)
class CasePage:
    """One page of a case list, paged as the MedMitra list APIs page (start is 1-based)."""

    items: tuple[CaseListItem, ...]
    total: int
    start: int
    size: int

    @property
    def has_more(self) -> bool:
        return self.start - 1 + len(self.items) < self.total


SORTABLE_COLUMNS = (
    "created_at", "updated_at", "patient_name", "patient_age", "patient_gender", "status",
)


@dataclass(frozen=True)
class CaseQuery:
    """What a case list shows. Validate with validation.check_case_query before use."""

    start: int = 1
    size: int = 50
    search: str | None = None
    statuses: tuple[CaseStatus, ...] = ()
    genders: tuple[Gender, ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    updated_after: datetime | None = None
    sort: str = "updated_at"
    descending: bool = True
    in_trash: bool = False
