"""The one set of input rules. The service enforces them; the GUI shows their messages inline."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from .enums import CaseStatus, DocumentCategory, Gender
from .errors import FieldError, ValidationError
from .filetypes import ALLOWED_DESCRIPTION, Sniffed, sniff_file
from .records import SORTABLE_COLUMNS, CaseFields, CaseQuery, NewAttachment

NAME_MAX_CHARS = 200
SUMMARY_MAX_CHARS = 20_000
USER_ID_MAX_CHARS = 200
AGE_MIN, AGE_MAX = 0, 130
FILE_MAX_BYTES = 50 * 1024 * 1024
PAGE_SIZE_MIN, PAGE_SIZE_MAX = 1, 500

RECORD_NUMBER_MAX_CHARS = 64
CASE_FIELD_NAMES = ("patient_name", "patient_age", "patient_gender", "case_summary",
                    "patient_record_number")


def _allowed(values: type[Gender] | type[DocumentCategory] | type[CaseStatus]) -> str:
    return ", ".join(member.value for member in values)


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in text)


def check_user_id(raw: object) -> tuple[str | None, FieldError | None]:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return None, FieldError("user_id", "is required (the doctor's user id)")
    if len(text) > USER_ID_MAX_CHARS:
        return None, FieldError("user_id", f"must be at most {USER_ID_MAX_CHARS} characters")
    return text, None


def check_patient_name(raw: object) -> tuple[str | None, FieldError | None]:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, FieldError("patient_name", "is required")
    if not isinstance(raw, str):
        return None, FieldError("patient_name", "must be text")
    # NFC so the same name typed on two keyboards compares and searches alike.
    name = unicodedata.normalize("NFC", " ".join(raw.split()))
    if len(name) > NAME_MAX_CHARS:
        return None, FieldError(
            "patient_name", f"must be at most {NAME_MAX_CHARS} characters (got {len(name)})"
        )
    if _has_control_characters(name):
        return None, FieldError("patient_name", "must not contain control characters")
    return name, None


def check_patient_age(raw: object) -> tuple[int | None, FieldError | None]:
    rule = f"must be a whole number of years from {AGE_MIN} to {AGE_MAX}"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, FieldError("patient_age", f"is required; it {rule}")
    age: int | None = None
    if isinstance(raw, bool):
        age = None
    elif isinstance(raw, int):
        age = raw
    elif isinstance(raw, float) and raw.is_integer():
        age = int(raw)
    elif isinstance(raw, str) and raw.strip().isdecimal() and raw.strip().isascii():
        age = int(raw.strip())
    if age is None or not AGE_MIN <= age <= AGE_MAX:
        return None, FieldError("patient_age", f"{rule} (got {raw!r})")
    return age, None


def check_patient_gender(raw: object) -> tuple[Gender | None, FieldError | None]:
    text = raw.strip().lower() if isinstance(raw, str) else ""
    try:
        return Gender(text), None
    except ValueError:
        shown = "nothing" if not text else repr(raw)
        return None, FieldError(
            "patient_gender", f"must be one of {_allowed(Gender)} (got {shown})"
        )


def check_case_summary(raw: object) -> tuple[str | None, FieldError | None]:
    if raw is None:
        return "", None
    if not isinstance(raw, str):
        return None, FieldError("case_summary", "must be text")
    if len(raw) > SUMMARY_MAX_CHARS:
        return None, FieldError(
            "case_summary", f"must be at most {SUMMARY_MAX_CHARS} characters (got {len(raw)})"
        )
    if _has_control_characters(raw):
        return None, FieldError("case_summary", "must not contain control characters")
    return raw.strip(), None


def check_patient_record_number(raw: object) -> tuple[str | None, FieldError | None]:
    """The clinic's own patient number: optional; links a patient's cases when given."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if not isinstance(raw, str):
        return None, FieldError("patient_record_number", "must be text")
    number = raw.strip()
    if len(number) > RECORD_NUMBER_MAX_CHARS:
        return None, FieldError(
            "patient_record_number", f"must be at most {RECORD_NUMBER_MAX_CHARS} characters")
    if _has_control_characters(number) or "\n" in number or "\t" in number:
        return None, FieldError("patient_record_number", "must be a single line of text")
    return number, None


_FIELD_CHECKS = {
    "patient_name": check_patient_name,
    "patient_age": check_patient_age,
    "patient_gender": check_patient_gender,
    "case_summary": check_case_summary,
    "patient_record_number": check_patient_record_number,
}


def case_field_errors(raw: Mapping[str, object], *, partial: bool = False) -> dict[str, str]:
    """Messages per field for a form; empty when every given field is valid."""
    try:
        validate_case_fields(raw, partial=partial)
    except ValidationError as error:
        return error.by_field()
    return {}


def validate_case_fields(raw: Mapping[str, object], *, partial: bool = False) -> dict[str, object]:
    """Clean values for the given fields, or one ValidationError naming every bad one.

    With partial=True only the fields present are checked (an update).
    """
    unknown = sorted(set(raw) - set(_FIELD_CHECKS))
    errors = [
        FieldError(name, f"is not a case field (allowed: {', '.join(CASE_FIELD_NAMES)})")
        for name in unknown
    ]
    clean: dict[str, object] = {}
    for name, check in _FIELD_CHECKS.items():
        if partial and name not in raw:
            continue
        value, error = check(raw.get(name))
        if error:
            errors.append(error)
        else:
            clean[name] = value
    if errors:
        raise ValidationError(errors)
    return clean


def to_case_fields(clean: Mapping[str, object]) -> CaseFields:
    return CaseFields(
        patient_name=str(clean["patient_name"]),
        patient_age=int(clean["patient_age"]),  # type: ignore[call-overload]
        patient_gender=Gender(clean["patient_gender"]),
        case_summary=str(clean.get("case_summary") or ""),
    )


def check_category(raw: object) -> tuple[DocumentCategory | None, FieldError | None]:
    try:
        return DocumentCategory(str(raw).strip().lower()), None
    except ValueError:
        return None, FieldError(
            "category", f"must be one of {_allowed(DocumentCategory)} (got {raw!r})"
        )


def check_attachment(
    attachment: NewAttachment, field: str
) -> tuple[Sniffed | None, FieldError | None]:
    """Type by content and size of one file about to be attached."""
    name = attachment.display_name
    path = attachment.path
    try:
        if not path.is_file():
            return None, FieldError(field, f"{name}: no such file")
        size = path.stat().st_size
        if size == 0:
            return None, FieldError(field, f"{name} is empty (0 bytes)")
        if size > FILE_MAX_BYTES:
            return None, FieldError(
                field,
                f"{name} is {size / 1024 / 1024:.1f} MB; files must be at most "
                f"{FILE_MAX_BYTES // 1024 // 1024} MB",
            )
        sniffed = sniff_file(path)
    except OSError as error:
        return None, FieldError(field, f"{name} cannot be read ({error.strerror or error})")
    if sniffed.kind is None:
        return None, FieldError(
            field, f"{name} is {sniffed.description}; allowed types are {ALLOWED_DESCRIPTION}"
        )
    return sniffed, None


def check_case_query(query: CaseQuery) -> None:
    errors: list[FieldError] = []
    if query.start < 1:
        errors.append(FieldError("start", f"must be 1 or more (got {query.start})"))
    if not PAGE_SIZE_MIN <= query.size <= PAGE_SIZE_MAX:
        errors.append(
            FieldError(
                "size", f"must be from {PAGE_SIZE_MIN} to {PAGE_SIZE_MAX} (got {query.size})"
            )
        )
    if query.sort not in SORTABLE_COLUMNS:
        errors.append(
            FieldError("sort", f"must be one of {', '.join(SORTABLE_COLUMNS)} (got {query.sort!r})")
        )
    for name in ("age_min", "age_max"):
        value = getattr(query, name)
        if value is not None and not AGE_MIN <= value <= AGE_MAX:
            errors.append(FieldError(name, f"must be from {AGE_MIN} to {AGE_MAX} (got {value})"))
    if query.age_min is not None and query.age_max is not None and query.age_min > query.age_max:
        errors.append(FieldError("age_min", "must not be greater than age_max"))
    for low, high in (("created_from", "created_to"), ("updated_from", "updated_to")):
        low_value, high_value = getattr(query, low), getattr(query, high)
        if low_value and high_value and low_value > high_value:
            errors.append(FieldError(low, f"must not be after {high}"))
    if errors:
        raise ValidationError(errors)


def bare_file_name(name: str, limit: int = 255) -> str:
    """A file's name for display and records only, whoever supplied it (the doctor's
    file system, a server): no folders (either slash), no drive, no control characters,
    no leading dots; never empty. Files are stored under their hash, never this name."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = base.split(":")[-1]  # "C:evil.exe" and NTFS alternate streams
    cleaned = "".join(ch for ch in unicodedata.normalize("NFC", base) if ch.isprintable())
    return cleaned.strip().lstrip(".").strip()[:limit] or "unnamed"
