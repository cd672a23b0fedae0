"""Errors a user can act on. Their text names the thing, the problem and what to do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MedMitraError(Exception):
    """Base for every error the app turns into a message rather than a crash report."""


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ValidationError(MedMitraError):
    """One or more bad input fields, all named in one error."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(error) for error in self.errors))

    def by_field(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for error in self.errors:
            earlier = merged.get(error.field)
            merged[error.field] = f"{earlier}; {error.message}" if earlier else error.message
        return merged


class NotFoundError(MedMitraError):
    pass


class ConflictError(MedMitraError):
    """The record changed since the caller read it (optimistic locking)."""


class StorageProblem(StrEnum):
    CORRUPT = "corrupt"
    READ_ONLY = "read_only"
    LOCKED = "locked"
    DISK_FULL = "disk_full"
    NEWER_SCHEMA = "newer_schema"
    UNREADABLE = "unreadable"
    MIGRATION_FAILED = "migration_failed"
    KEY_MISSING = "key_missing"  # an encrypted data folder whose key is not at hand


class StorageError(MedMitraError):
    """A database or file-store problem the user can act on."""

    def __init__(self, problem: StorageProblem, message: str) -> None:
        self.problem = problem
        super().__init__(message)


class InstanceLockedError(MedMitraError):
    """Another MedMitra Desktop process is using the same data folder."""


class FileIntegrityError(MedMitraError):
    """A stored file no longer matches the hash it was stored under."""


class KeychainUnavailable(MedMitraError):
    """The OS keychain cannot be used (none installed, or locked)."""
