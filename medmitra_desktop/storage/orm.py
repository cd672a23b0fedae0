"""Tables. Every clinical row has created_at, updated_at and version (optimistic locking).

The public id of a case is a UUID string (`uid`, the MedMitra case_id); the integer `id`
is internal so that child rows and the FTS index (whose rowid must be an integer that
VACUUM keeps) can point at a case cheaply.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC text in SQLite (which has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    pass


def include_in_migrations(_obj: object, name: str | None, type_: str, _reflected: bool,
                          _compare_to: object) -> bool:
    """Alembic's filter: the FTS5 index and its shadow tables are hand-written SQL."""
    return not (type_ == "table" and name is not None and name.startswith("case_search"))


class TimestampedMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )
    version: Mapped[int] = mapped_column(Integer, default=1)


class Case(TimestampedMixin, Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    user_id: Mapped[str] = mapped_column(String(200))
    patient_name: Mapped[str] = mapped_column(String(200, collation="NOCASE"))
    patient_age: Mapped[int] = mapped_column(Integer)
    patient_gender: Mapped[str] = mapped_column(String(10))
    case_summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20))
    one_line_summary: Mapped[str | None] = mapped_column(Text)
    # The clinic's own patient number, when it has one: links a patient's cases.
    patient_record_number: Mapped[str | None] = mapped_column(String(64), index=True)
    # The doctor's decision on which patient this case is (services/patients.py): cases
    # sharing a key are one patient, whatever their names say; empty: matched automatically.
    patient_key: Mapped[str | None] = mapped_column(String(36), index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Sync with the MedMitra API (all empty while sync is not set up): the server's case
    # id, the state shown to the doctor, the last error in words, the patient fields as
    # both sides last agreed (the base that tells a remote change from a local one), and
    # a conflict awaiting the doctor's choice, field by field.
    remote_id: Mapped[str | None] = mapped_column(String(64), index=True)
    sync_state: Mapped[str] = mapped_column(String(12), default="local")
    sync_error: Mapped[str | None] = mapped_column(Text)
    remote_base: Mapped[dict | None] = mapped_column(JSON)
    sync_conflict: Mapped[dict | None] = mapped_column(JSON)

    documents: Mapped[list[Document]] = relationship(
        back_populates="case", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Document.id",
    )

    __table_args__ = (
        # The list view filters on deleted_at first and sorts by one column.
        Index("ix_cases_live_updated", "deleted_at", "updated_at"),
        Index("ix_cases_live_created", "deleted_at", "created_at"),
        Index("ix_cases_live_name", "deleted_at", "patient_name"),
        Index("ix_cases_live_age", "deleted_at", "patient_age"),
        Index("ix_cases_live_status", "deleted_at", "status", "updated_at"),
        Index("ix_cases_live_gender", "deleted_at", "patient_gender"),
        # Covers filtered counts (age, gender, status, dates) without reading table rows.
        Index("ix_cases_live_filter", "deleted_at", "patient_age", "patient_gender", "status",
              "created_at", "updated_at"),
        Index("ix_cases_live_status_sort", "deleted_at", "status"),
        # Tiny, and SQLite picks it for the plain count of live cases at start-up.
        Index("ix_cases_live_ids", "deleted_at", sqlite_where=text("deleted_at IS NULL")),
    )


class Document(TimestampedMixin, Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    mime_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int | None] = mapped_column(Integer)
    text_source: Mapped[str | None] = mapped_column(String(10))
    text_chars: Mapped[int | None] = mapped_column(Integer)
    remote_id: Mapped[str | None] = mapped_column(String(64))  # the server's file_id

    case: Mapped[Case] = relationship(back_populates="documents")
    pages_text: Mapped[list[DocumentPage]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="DocumentPage.number"
    )


class DocumentPage(Base):
    """Extracted text of one page, with OCR word confidences where OCR was used."""

    __tablename__ = "document_pages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    mean_confidence: Mapped[float | None] = mapped_column(Float)
    # [[text, confidence, left, top, width, height], ...] for OCR pages.
    words: Mapped[list | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class ClinicalRowMixin(TimestampedMixin):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    page: Mapped[int | None] = mapped_column(Integer)


class LabResult(ClinicalRowMixin, Base):
    __tablename__ = "lab_results"

    test: Mapped[str] = mapped_column(String(200))
    loinc: Mapped[str | None] = mapped_column(String(20))
    value: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str | None] = mapped_column(String(50))
    ref_low: Mapped[float | None] = mapped_column(Float)
    ref_high: Mapped[float | None] = mapped_column(Float)
    ref_text: Mapped[str | None] = mapped_column(String(200))
    ref_source: Mapped[str | None] = mapped_column(String(20))
    flag: Mapped[str | None] = mapped_column(String(4))
    flag_printed: Mapped[str | None] = mapped_column(String(10))
    row_text: Mapped[str | None] = mapped_column(Text)
    flag_note: Mapped[str | None] = mapped_column(Text)
    critical: Mapped[bool] = mapped_column(Boolean, default=False)
    repaired: Mapped[str | None] = mapped_column(String(200))
    test_printed: Mapped[str | None] = mapped_column(String(200))


class RadiologyObservation(ClinicalRowMixin, Base):
    __tablename__ = "radiology_observations"

    finding: Mapped[str] = mapped_column(String(100))
    negated: Mapped[bool] = mapped_column(Boolean, default=False)
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    historical: Mapped[bool] = mapped_column(Boolean, default=False)
    hypothetical: Mapped[bool] = mapped_column(Boolean, default=False)
    family: Mapped[bool] = mapped_column(Boolean, default=False)
    section: Mapped[str | None] = mapped_column(String(30))
    sentence: Mapped[str] = mapped_column(Text)


class Medication(ClinicalRowMixin, Base):
    __tablename__ = "medications"

    name: Mapped[str] = mapped_column(String(200))
    dose: Mapped[str | None] = mapped_column(String(100))
    route: Mapped[str | None] = mapped_column(String(50))
    frequency: Mapped[str | None] = mapped_column(String(100))
    duration: Mapped[str | None] = mapped_column(String(100))
    review_state: Mapped[str] = mapped_column(String(20), default="unverified")
    review_details: Mapped[dict | None] = mapped_column(JSON)
    source_text: Mapped[str | None] = mapped_column(Text)


class Allergy(ClinicalRowMixin, Base):
    __tablename__ = "allergies"

    substance: Mapped[str] = mapped_column(String(200))
    reaction: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str | None] = mapped_column(String(50))
    source_text: Mapped[str | None] = mapped_column(Text)


class Insight(TimestampedMixin, Base):
    """A versioned set of insights for a case; source is `local` or `remote`."""

    __tablename__ = "insights"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(10))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    payload: Mapped[dict] = mapped_column(JSON)


class SoapNote(TimestampedMixin, Base):
    """Each save is a new revision; signing stamps doctor and time."""

    __tablename__ = "soap_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    subjective: Mapped[str] = mapped_column(Text, default="")
    objective: Mapped[str] = mapped_column(Text, default="")
    assessment: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[str] = mapped_column(Text, default="")
    signed_by: Mapped[str | None] = mapped_column(String(200))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Job(TimestampedMixin, Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReportJob(TimestampedMixin, Base):
    """A report made from a case (a PDF file), polled by its uid until it is done.

    Not a row of `jobs`: those are analysis jobs, which change the case's status when they
    fail and are retried after a crash; a report leaves the case alone and is simply made
    again (services/report_jobs.py)."""

    __tablename__ = "report_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    output_path: Mapped[str] = mapped_column(Text)
    pages: Mapped[int | None] = mapped_column(Integer)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxEntry(TimestampedMixin, Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    operation: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set when a request may have reached the server: its answer can have been lost, so
    # the next try reconciles with the server before sending again.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Append-only; each row's hash covers the previous row's hash (tamper-evident chain)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(30))
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(36), index=True)
    # Field names and counts only: never patient data.
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
