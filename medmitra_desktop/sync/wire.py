"""The MedMitra API's answers, checked and turned into plain records.

Everything the server sends is untrusted input: types are checked, strings bounded, and
file names reduced to a bare name, so a broken or hostile answer becomes a BadResponse
(or a sanitised value), never a crash or a write outside the data folder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..domain.enums import DocumentCategory, Gender
from ..domain.validation import bare_file_name
from .errors import BadResponse

MAX_TEXT = 100_000
CASE_FIELDS = ("patient_name", "patient_age", "patient_gender", "case_summary")
INSIGHT_TEXT_FIELDS = (
    "comprehensive_summary", "soap_subjective", "soap_objective", "soap_assessment",
    "soap_plan", "primary_diagnosis", "icd_code", "diagnosis_description",
)
INSIGHT_LIST_FIELDS = ("key_findings", "supporting_evidence")
# Any *_confidence_score the server adds is kept; these are the ones it documents.
INSIGHT_SCORE_SUFFIX = "_confidence_score"


@dataclass(frozen=True)
class RemoteCase:
    case_id: str
    user_id: str
    patient_name: str
    patient_age: int
    patient_gender: str
    case_summary: str
    status: str
    created_at: str

    def fields(self) -> dict[str, object]:
        """The patient fields both sides edit: what conflicts are made of."""
        return {name: getattr(self, name) for name in CASE_FIELDS}


@dataclass(frozen=True)
class RemoteFile:
    file_id: str
    file_name: str  # already a safe bare name
    file_type: str
    file_size: int | None
    category: DocumentCategory


@dataclass(frozen=True)
class RemoteCaseDetail:
    case: RemoteCase
    files: tuple[RemoteFile, ...]
    insights: dict[str, Any] | None


def decode(body: bytes, content_type: str) -> Any:
    if "json" not in content_type.lower():
        shown = content_type.split(";")[0].strip() or "no content type"
        raise BadResponse(f"The server answered with {shown} instead of JSON; a proxy or "
                          f"login page may be in the way.")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        raise BadResponse("The server's answer was not valid JSON (it may have been cut "
                          "off).") from error


def error_detail(body: bytes) -> str | None:
    """The words of a FastAPI `{"detail": ...}` error, if the body has them."""
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError, RecursionError):
        return None
    if isinstance(detail, str):
        return _text(detail, 500)
    if isinstance(detail, list):  # FastAPI's validation errors: [{"loc": [...], "msg": ...}]
        parts = []
        for item in detail[:5]:
            if isinstance(item, Mapping):
                where = ".".join(str(p) for p in item.get("loc", [])[1:] or item.get("loc", []))
                parts.append(f"{where}: {item.get('msg', '')}".strip(": "))
        return _text("; ".join(parts), 500) or None
    return None


def parse_case(raw: object) -> RemoteCase:
    data = _object(raw, "case")
    gender = _string(data, "patient_gender", 20).strip().lower()
    if gender not in {g.value for g in Gender}:
        raise BadResponse(f"The server sent a case with an unknown gender {gender!r}.")
    return RemoteCase(
        case_id=_identifier(data, "case_id"),
        user_id=_string(data, "user_id", 200),
        patient_name=_string(data, "patient_name", 200).strip(),
        patient_age=_age(data),
        patient_gender=gender,
        case_summary=_string(data, "case_summary", MAX_TEXT, default=""),
        status=_string(data, "status", 20, default="processing").strip().lower(),
        created_at=_string(data, "created_at", 40, default=""),
    )


def parse_cases(raw: object) -> tuple[list[RemoteCase], list[str]]:
    """The case list (a bare list, or {"cases": [...]}); a case that cannot be read is
    skipped with a reason rather than failing the whole list."""
    items = raw.get("cases") if isinstance(raw, Mapping) else raw
    if not isinstance(items, list):
        raise BadResponse("The server's case list was not a list.")
    cases, problems = [], []
    for item in items:
        try:
            cases.append(parse_case(item))
        except BadResponse as error:
            problems.append(str(error))
    return cases, problems


def parse_created(raw: object) -> tuple[RemoteCase, list[RemoteFile]]:
    data = _object(raw, "answer")
    return parse_case(data.get("case")), parse_files(data.get("uploaded_files", []))


def parse_detail(raw: object) -> RemoteCaseDetail:
    data = _object(raw, "answer")
    insights = data.get("ai_insights")
    return RemoteCaseDetail(
        case=parse_case(data.get("case")),
        files=tuple(parse_files(data.get("files", []))),
        insights=None if insights is None else parse_insights(insights),
    )


def parse_files(raw: object) -> list[RemoteFile]:
    items = raw.get("files") if isinstance(raw, Mapping) else raw
    if not isinstance(items, list):
        raise BadResponse("The server's file list was not a list.")
    return [parse_file(item) for item in items]


def parse_file(raw: object) -> RemoteFile:
    data = _object(raw, "file")
    if "file" in data and isinstance(data["file"], Mapping):  # the upload answer wraps it
        data = data["file"]
    category = _string(data, "file_category", 20).strip().lower()
    try:
        parsed_category = DocumentCategory(category)
    except ValueError:
        raise BadResponse(f"The server sent a file of unknown category {category!r}.") from None
    size = data.get("file_size")
    return RemoteFile(
        file_id=_identifier(data, "file_id"),
        file_name=bare_file_name(_string(data, "file_name", 1000)),
        file_type=_string(data, "file_type", 100, default="application/octet-stream"),
        file_size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0
        else None,
        category=parsed_category,
    )


def parse_insights(raw: object) -> dict[str, Any]:
    """The flat ai_insights row, kept with known types only."""
    data = _object(raw, "ai_insights")
    kept: dict[str, Any] = {}
    for name in INSIGHT_TEXT_FIELDS:
        value = data.get(name)
        if value is not None:
            kept[name] = _text(value if isinstance(value, str) else json.dumps(value), MAX_TEXT)
    for name in INSIGHT_LIST_FIELDS:
        value = data.get(name)
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            kept[name] = [_text(item if isinstance(item, str) else json.dumps(item), 2000)
                          for item in value[:200]]
    for name, value in data.items():
        is_score = isinstance(name, str) and name.endswith(INSIGHT_SCORE_SUFFIX) \
            and len(name) < 60
        if is_score and _finite_number(value):
            kept[name] = float(value)
    return kept


def _object(raw: object, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise BadResponse(f"The server's {what} was not a JSON object.")
    return raw


def _string(data: Mapping[str, Any], name: str, limit: int, *, default: str | None = None
            ) -> str:
    value = data.get(name, default)
    if value is None and default is not None:
        value = default
    if not isinstance(value, str):
        raise BadResponse(f"The server's answer has no text field {name!r}.")
    return _text(value, limit)


def _text(value: str, limit: int) -> str:
    return value[:limit]


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) \
        and math.isfinite(value)


def _identifier(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or len(value) > 64 \
            or any(not (ch.isalnum() or ch in "-_.") for ch in value):
        raise BadResponse(f"The server's answer has no usable {name!r}.")
    return value


def _age(data: Mapping[str, Any]) -> int:
    value = data.get("patient_age")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 150:
        raise BadResponse("The server sent a case without a usable patient_age.")
    return value
