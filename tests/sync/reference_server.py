"""A reference MedMitra API server the sync tests talk to over real HTTP on 127.0.0.1.

It implements the MedMitra case API contract (all routes under ``/cases``) on an in-memory
store, and adds what a test needs and a real server never offers: helpers that act as another
workstation (``add_case``, ``update_case``...), a log of the requests received, hostile file
names on demand, and a plan of injected faults (errors, slow answers, lost answers, dropped
connections, broken bodies).

Layout: ``_Store`` holds the cases and files behind one lock (the event loop runs in the
server thread while the test's helpers run in the test thread); ``_build_app`` is the FastAPI
app over it; ``_FaultMiddleware`` wraps the app and applies ``FaultPlan``; ``ReferenceServer``
runs all of it with uvicorn in a background thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Self, get_args
from urllib.parse import quote

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData, UploadFile

# ---------------------------------------------------------------------------------------------
# Contract vocabulary

Category = Literal["lab", "radiology"]
Status = Literal["processing", "completed", "failed"]
FaultKind = Literal[
    "500",
    "503",
    "slow",
    "timeout_after",
    "drop_after",
    "drop_before",
    "malformed_json",
    "wrong_content_type",
    "401",
]

GENDERS = ("male", "female", "other")
CATEGORIES: tuple[Category, ...] = ("lab", "radiology")
STATUSES: tuple[Status, ...] = ("processing", "completed", "failed")
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
MAX_AGE = 150
DEFAULT_PROCESSING_SECONDS = 0.2
UPDATABLE_FIELDS = ("patient_name", "patient_age", "patient_gender", "case_summary")
NOT_AUTHENTICATED = "Not authenticated"

# ASGI plumbing types (kept loose: the messages are plain dicts).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ApiError(Exception):
    """A contract error: becomes ``{"detail": detail}`` with ``status`` over HTTP.

    The test helpers raise it too, so a helper misuse reads like the API's own answer.
    """

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


def _not_found(case_id: str) -> ApiError:
    return ApiError(404, f"Case with ID {case_id} not found")


def _file_not_found(file_id: str) -> ApiError:
    return ApiError(404, f"File with ID {file_id} not found")


def _iso(moment: datetime) -> str:
    """The contract's timestamp format: UTC, whole seconds, a ``Z`` suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc_now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------------
# Validation shared by the HTTP handlers and the helpers, so both reject the same values


def _required_text(name: str, value: object) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ApiError(400, f"{name} is required")
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string")
    return value.strip()


def _age(value: object) -> int:
    if value is None or value == "":
        raise ApiError(400, "patient_age is required")
    # bool is an int subclass; a JSON true is not an age.
    if isinstance(value, bool):
        raise ApiError(400, "patient_age must be a whole number")
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ApiError(400, "patient_age must be a whole number") from None
    if not isinstance(value, int):
        raise ApiError(400, "patient_age must be a whole number")
    if not 0 <= value <= MAX_AGE:
        raise ApiError(400, f"patient_age must be between 0 and {MAX_AGE}")
    return value


def _gender(value: object) -> str:
    if value is None or value == "":
        raise ApiError(400, "patient_gender is required")
    if value not in GENDERS:
        raise ApiError(400, f"patient_gender must be one of {', '.join(GENDERS)}")
    return str(value)


def _summary(value: object) -> str:
    # Omitted and null both mean "no summary"; the case object always carries a string.
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(400, "case_summary must be a string")
    return value


def _category(value: object) -> Category:
    if value in CATEGORIES:
        return value  # type: ignore[return-value]
    raise ApiError(400, f"category must be one of {', '.join(CATEGORIES)}")


def _validated_changes(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(UPDATABLE_FIELDS))
    if unknown:
        raise ApiError(400, f"Unknown field: {', '.join(unknown)}")
    checks: dict[str, Callable[[object], Any]] = {
        "patient_name": lambda v: _required_text("patient_name", v),
        "patient_age": _age,
        "patient_gender": _gender,
        "case_summary": _summary,
    }
    return {name: checks[name](value) for name, value in fields.items()}


# ---------------------------------------------------------------------------------------------
# The in-memory store


@dataclass
class _File:
    file_id: str
    case_id: str
    file_name: str
    file_type: str
    category: Category
    data: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_name": self.file_name,
            "file_type": self.file_type,
            "file_size": len(self.data),
            # The contract's storage path is under lab_files/ for both categories.
            "file_url": f"lab_files/{self.case_id}/{self.file_name}",
            "file_category": self.category,
        }


@dataclass
class _Case:
    seq: int
    case_id: str
    user_id: str
    patient_name: str
    patient_age: int
    patient_gender: str
    case_summary: str
    created_at: datetime
    updated_at: datetime
    status: Status = "processing"
    # While processing: when (monotonic) it completes, the wall-clock stamp it gets then, and
    # the insights computed from the case as it was when processing started.
    ready_at: float | None = None
    completes_at: datetime | None = None
    pending_insights: dict[str, Any] | None = None
    insights: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "user_id": self.user_id,
            "patient_name": self.patient_name,
            "patient_age": self.patient_age,
            "patient_gender": self.patient_gender,
            "case_summary": self.case_summary,
            "status": self.status,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


def _insights(case: _Case, files: list[_File]) -> dict[str, Any]:
    """The deterministic "AI" answer: every text is derived from the case, nothing is random,
    so two runs over the same case agree and a test can predict what it will read."""
    labs = [f for f in files if f.category == "lab"]
    scans = [f for f in files if f.category == "radiology"]
    count = len(files)
    who = f"{case.patient_age}-year-old {case.patient_gender} patient"
    complaint = case.case_summary or "No presenting complaint recorded."
    summary_score = round(min(0.95, 0.6 + 0.05 * count), 2)
    soap_score = round(min(0.9, 0.65 + 0.05 * len(labs)), 2)
    diagnosis_score = round(min(0.9, 0.55 + 0.1 * len(scans) + 0.05 * len(labs)), 2)
    overall = round((summary_score + soap_score + diagnosis_score) / 3, 2)
    return {
        "case_id": case.case_id,
        "comprehensive_summary": (
            f"{case.patient_name}, a {who}, with {count} file(s) reviewed "
            f"({len(labs)} lab, {len(scans)} radiology). {complaint}"
        ),
        "key_findings": [f"Patient age {case.patient_age}", f"{count} file(s) reviewed"]
        + [f"{f.category} report {f.file_name}" for f in files],
        "soap_subjective": complaint,
        "soap_objective": f"{len(labs)} lab report(s) and {len(scans)} radiology report(s).",
        "soap_assessment": f"Findings reviewed for a {who}.",
        "soap_plan": "Review with the treating clinician; repeat labs if symptoms persist.",
        "primary_diagnosis": "Essential (primary) hypertension",
        "icd_code": "I10",
        "diagnosis_description": f"Reference diagnosis for a {who} with {count} file(s).",
        "supporting_evidence": [f"{f.category}: {f.file_name}" for f in files]
        or ["Case summary only"],
        "summary_confidence_score": summary_score,
        "soap_confidence_score": soap_score,
        "diagnosis_confidence_score": diagnosis_score,
        "overall_confidence_score": overall,
    }


@dataclass(frozen=True)
class NewFile:
    """A file as it arrives with a create or an upload."""

    file_name: str
    category: Category
    data: bytes
    mime: str = "application/octet-stream"


class _Store:
    """Cases and files behind one lock; every read settles due processing first."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.cases: dict[str, _Case] = {}
        self.files: dict[str, _File] = {}
        self.processing_seconds = DEFAULT_PROCESSING_SECONDS
        self.clock: Callable[[], datetime] = _utc_now
        self._seq = 0

    def reset(self) -> None:
        with self.lock:
            self.cases.clear()
            self.files.clear()
            self.processing_seconds = DEFAULT_PROCESSING_SECONDS
            self.clock = _utc_now

    # -- internals (lock held) ------------------------------------------------------------

    def _case(self, case_id: str) -> _Case:
        case = self.cases.get(case_id)
        if case is None:
            raise _not_found(case_id)
        self._settle(case)
        return case

    def _file(self, file_id: str) -> _File:
        found = self.files.get(file_id)
        if found is None:
            raise _file_not_found(file_id)
        return found

    def _files_of(self, case_id: str) -> list[_File]:
        return [f for f in self.files.values() if f.case_id == case_id]

    def _settle(self, case: _Case) -> None:
        # Completion is computed lazily on read rather than by a timer: nothing runs in the
        # background, and a reset can never race a pending completion.
        if (
            case.status == "processing"
            and case.ready_at is not None
            and time.monotonic() >= case.ready_at
        ):
            case.status = "completed"
            case.insights = case.pending_insights
            if case.completes_at is not None:
                case.updated_at = case.completes_at

    def _start_processing(self, case: _Case, now: datetime) -> None:
        seconds = self.processing_seconds
        case.status = "processing"
        case.insights = None
        case.updated_at = now
        case.pending_insights = _insights(case, self._files_of(case.case_id))
        if seconds == float("inf"):  # "never completes", for tests of a stuck analysis
            case.ready_at = case.completes_at = None
        else:
            case.ready_at = time.monotonic() + seconds
            case.completes_at = now + timedelta(seconds=seconds)

    def _add_file(self, case: _Case, new: NewFile) -> _File:
        stored = _File(
            file_id=str(uuid.uuid4()),
            case_id=case.case_id,
            file_name=new.file_name,
            file_type=new.mime or "application/octet-stream",
            category=new.category,
            data=new.data,
        )
        self.files[stored.file_id] = stored
        return stored

    # -- operations -----------------------------------------------------------------------

    def create_case(
        self, fields: dict[str, Any], new_files: Iterable[NewFile]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        user_id = _required_text("user_id", fields.get("user_id"))
        name = _required_text("patient_name", fields.get("patient_name"))
        age = _age(fields.get("patient_age"))
        gender = _gender(fields.get("patient_gender"))
        summary = _summary(fields.get("case_summary"))
        pending = list(new_files)
        for new in pending:
            if not new.file_name:
                raise ApiError(400, f"{new.category}_files: a file name is required")
        with self.lock:
            now = self.clock()
            self._seq += 1
            case = _Case(
                seq=self._seq,
                case_id=str(uuid.uuid4()),
                user_id=user_id,
                patient_name=name,
                patient_age=age,
                patient_gender=gender,
                case_summary=summary,
                created_at=now,
                updated_at=now,
            )
            self.cases[case.case_id] = case
            stored = [self._add_file(case, new) for new in pending]
            self._start_processing(case, now)
            return case.to_json(), [f.to_json() for f in stored]

    def list_cases(self, user_id: str | None) -> list[dict[str, Any]]:
        with self.lock:
            chosen = [c for c in self.cases.values() if user_id is None or c.user_id == user_id]
            chosen.sort(key=lambda c: (c.created_at, c.seq))
            for case in chosen:
                self._settle(case)
            return [c.to_json() for c in chosen]

    def case_detail(self, case_id: str) -> dict[str, Any]:
        with self.lock:
            case = self._case(case_id)
            return {
                "case": case.to_json(),
                "files": [f.to_json() for f in self._files_of(case_id)],
                "ai_insights": dict(case.insights) if case.status == "completed" else None,
            }

    def update_case(self, case_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        changes = _validated_changes(fields)
        with self.lock:
            case = self._case(case_id)
            if changes:
                for name, value in changes.items():
                    setattr(case, name, value)
                case.updated_at = self.clock()
            return case.to_json()

    def delete_case(self, case_id: str) -> None:
        with self.lock:
            self._case(case_id)
            del self.cases[case_id]
            for stale in [f.file_id for f in self._files_of(case_id)]:
                del self.files[stale]

    def analyze(self, case_id: str) -> None:
        with self.lock:
            self._start_processing(self._case(case_id), self.clock())

    def set_status(self, case_id: str, status: Status) -> None:
        if status not in STATUSES:
            raise ApiError(400, f"status must be one of {', '.join(STATUSES)}")
        with self.lock:
            case = self._case(case_id)
            if status == "completed":
                case.insights = case.pending_insights or _insights(case, self._files_of(case_id))
            else:
                case.insights = None
            # An explicit status is final: no pending completion may overwrite it.
            case.status, case.ready_at, case.completes_at = status, None, None
            case.updated_at = self.clock()

    def upload(self, case_id: str, new: NewFile) -> dict[str, Any]:
        with self.lock:
            case = self._case(case_id)
            stored = self._add_file(case, new)
            self._start_processing(case, self.clock())
            return stored.to_json()

    def files_of(self, case_id: str) -> list[dict[str, Any]]:
        with self.lock:
            self._case(case_id)
            return [f.to_json() for f in self._files_of(case_id)]

    def file(self, file_id: str) -> tuple[dict[str, Any], bytes]:
        with self.lock:
            found = self._file(file_id)
            return found.to_json(), found.data

    def delete_file(self, file_id: str, case_id: str) -> None:
        with self.lock:
            case = self._case(case_id)
            found = self._file(file_id)
            if found.case_id != case_id:
                raise _file_not_found(file_id)
            del self.files[file_id]
            # The case changed (its file list did), so other workstations must see it as newer.
            case.updated_at = self.clock()

    def set_file_name(self, file_id: str, name: str) -> None:
        with self.lock:
            self.files[file_id] = replace(self._file(file_id), file_name=name)


# ---------------------------------------------------------------------------------------------
# Fault injection


@dataclass
class Fault:
    method: str
    path_prefix: str
    kind: FaultKind
    times: int
    seconds: float

    def matches(self, method: str, path: str) -> bool:
        return self.method == method and path.startswith(self.path_prefix)


class FaultPlan:
    """Faults to inject, consumed by matching requests in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        method: str,
        path_prefix: str,
        kind: FaultKind,
        times: int = 1,
        seconds: float = 1.0,
    ) -> None:
        """The next ``times`` requests with ``method`` whose path starts with ``path_prefix``
        get ``kind``. ``seconds`` is the sleep of ``slow`` and ``timeout_after``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        with self._lock:
            self._faults.append(Fault(method.upper(), path_prefix, kind, times, seconds))

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first fault matching this request, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method.upper(), path):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return replace(fault, times=1)
            return None

    def pending(self) -> list[Fault]:
        """The faults not yet (fully) consumed, to assert a test hit all it planned."""
        with self._lock:
            return [replace(f) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


# ---------------------------------------------------------------------------------------------
# Shared state of one server: store, tokens, request log, faults


@dataclass
class _Backend:
    store: _Store = field(default_factory=_Store)
    faults: FaultPlan = field(default_factory=FaultPlan)
    token: str = field(default_factory=lambda: f"ref-{uuid.uuid4().hex}")
    tokens: dict[str, str | None] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Bumped by every reset: a request held in an injected sleep across a reset must not do
    # its work in the next test's fresh state.
    generation: int = 0
    stopping: bool = False

    def __post_init__(self) -> None:
        self.tokens[self.token] = None

    def token_valid(self, token: str) -> bool:
        with self.lock:
            return token in self.tokens

    def record(self, method: str, path: str) -> None:
        with self.lock:
            self.log.append((method, path))

    def reset(self) -> None:
        with self.lock:
            self.generation += 1
            self.log.clear()
            self.tokens = {self.token: None}
        self.faults.clear()
        self.store.reset()


# ---------------------------------------------------------------------------------------------
# The FastAPI app


async def _new_files(form: FormData, name: str, category: Category) -> list[NewFile]:
    found: list[NewFile] = []
    for part in form.getlist(name):
        if not isinstance(part, UploadFile):
            raise ApiError(400, f"{name} must be a file")
        if not part.filename:
            raise ApiError(400, f"{name}: a file name is required")
        found.append(
            NewFile(
                file_name=part.filename or "",
                category=category,
                data=await part.read(),
                mime=part.content_type or "application/octet-stream",
            )
        )
    return found


def _text_fields(form: FormData, names: Iterable[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in names:
        value = form.get(name)
        if isinstance(value, UploadFile):
            raise ApiError(400, f"{name} must be a text field, not a file")
        fields[name] = value
    return fields


def _content_disposition(name: str) -> str:
    # The plain filename keeps the stored name as is (quoted-string escapes only), so a
    # hostile name reaches the client through the header as well as through the JSON; the
    # RFC 5987 form carries names a latin-1 header cannot.
    plain = "".join(
        "_" if not (32 <= ord(ch) < 127) else "\\" + ch if ch in '"\\' else ch for ch in name
    )
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def _build_app(backend: _Backend) -> FastAPI:
    store = backend.store

    def require_token(request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not backend.token_valid(token.strip()):
            raise HTTPException(401, NOT_AUTHENTICATED, headers={"WWW-Authenticate": "Bearer"})

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # The contract answers 400 with one readable line, not FastAPI's 422 list.
        problems = [
            f"{err['loc'][-1]}: {err['msg']}" if err.get("loc") else str(err["msg"])
            for err in exc.errors()
        ]
        return JSONResponse({"detail": "; ".join(problems)}, status_code=400)

    router = APIRouter(prefix="/cases", dependencies=[Depends(require_token)])

    @router.post("/create_case", status_code=201)
    async def create_case(request: Request) -> dict[str, Any]:
        async with request.form() as form:
            fields = _text_fields(
                form,
                ("user_id", "patient_name", "patient_age", "patient_gender", "case_summary"),
            )
            new_files = await _new_files(form, "lab_files", "lab")
            new_files += await _new_files(form, "radiology_files", "radiology")
        case, uploaded = store.create_case(fields, new_files)
        return {"message": "Case created successfully", "case": case, "uploaded_files": uploaded}

    @router.get("/all_cases")
    async def all_cases(user_id: str | None = None) -> dict[str, Any]:
        return {"cases": store.list_cases(_required_text("user_id", user_id))}

    @router.get("/cases/{case_id}")
    async def get_case(case_id: str) -> dict[str, Any]:
        return store.case_detail(case_id)

    @router.put("/cases/{case_id}")
    async def update_case(case_id: str, request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Request body must be a JSON object") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Request body must be a JSON object")
        case = store.update_case(case_id, body)
        return {"message": "Case updated successfully", "case": case}

    @router.delete("/cases/{case_id}")
    async def delete_case(case_id: str) -> dict[str, Any]:
        store.delete_case(case_id)
        return {"message": "Case deleted successfully"}

    @router.post("/analyze/{case_id}")
    async def analyze(case_id: str) -> dict[str, Any]:
        store.analyze(case_id)
        return {"message": "Analysis started", "case_id": case_id, "status": "processing"}

    @router.post("/upload", status_code=201)
    async def upload(request: Request) -> dict[str, Any]:
        async with request.form() as form:
            fields = _text_fields(form, ("case_id", "category"))
            case_id = _required_text("case_id", fields["case_id"])
            category = _category(fields["category"])
            new_files = await _new_files(form, "file", category)
        if len(new_files) != 1:
            raise ApiError(400, "file is required (exactly one)")
        stored = store.upload(case_id, new_files[0])
        return {"message": "File uploaded successfully", "file": stored}

    @router.get("/files/{case_id}")
    async def list_files(case_id: str) -> dict[str, Any]:
        return {"files": store.files_of(case_id)}

    @router.get("/file/{file_id}")
    async def download(file_id: str) -> Response:
        meta, data = store.file(file_id)
        return Response(
            content=data,
            media_type=meta["file_type"],
            headers={"Content-Disposition": _content_disposition(meta["file_name"])},
        )

    @router.delete("/file/{file_id}")
    async def delete_file(file_id: str, case_id: str | None = None) -> dict[str, Any]:
        store.delete_file(file_id, _required_text("case_id", case_id))
        return {"message": "File deleted successfully"}

    app.include_router(router)
    return app


# ---------------------------------------------------------------------------------------------
# The fault middleware

_INCOMPLETE_RESPONSE = "ASGI callable returned without completing response."
_SHORT_CIRCUIT = {
    "500": (500, "Internal server error: injected"),
    "503": (503, "Service unavailable: injected"),
    "401": (401, NOT_AUTHENTICATED),
}


@dataclass
class _Captured:
    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)


async def _drain(receive: Receive) -> None:
    """Read the whole request body so the answer does not race a client still uploading."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _send_body(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_detail(send: Send, status: int, detail: str) -> None:
    body = JSONResponse({"detail": detail}).body
    await _send_body(send, status, bytes(body), b"application/json")


async def _abandon(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    """Start a response promising more bytes than are sent, then return unfinished: uvicorn
    closes the connection, and the client gets a transport error instead of an answer."""
    promised = str(len(body) + 1024).encode()
    kept = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*kept, (b"content-length", promised)],
        }
    )
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})


class _FaultMiddleware:
    """Logs every request, then applies the first matching planned fault, if any."""

    def __init__(self, app: AsgiApp, backend: _Backend) -> None:
        self.app = app
        self.backend = backend

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        self.backend.record(method, path)
        generation = self.backend.generation
        fault = self.backend.faults.take(method, path)
        if fault is None:
            await self.app(scope, receive, send)
            return

        if fault.kind in _SHORT_CIRCUIT:
            status, detail = _SHORT_CIRCUIT[fault.kind]
            await _drain(receive)
            await _send_detail(send, status, detail)
        elif fault.kind == "drop_before":
            # Take the first chunk of the request (mid-upload for a big one), then drop.
            await receive()
            await _abandon(send, 200, [(b"content-type", b"application/json")], b'{"case": {}}')
        elif fault.kind == "slow":
            if await self._pause(fault.seconds, generation):
                await self.app(scope, receive, send)
            else:
                # Reset or stopped while held: the work belongs to a finished test; skip it.
                await _drain(receive)
                await _send_detail(send, 503, "Reference server was reset")
        else:
            captured = await self._run_captured(scope, receive)
            await self._misbehave(fault, generation, captured, send)

    async def _run_captured(self, scope: Scope, receive: Receive) -> _Captured:
        """Do the work (the store is changed for good), keeping the answer for later."""
        captured = _Captured()

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                captured.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured.body += message.get("body", b"")

        await self.app(scope, receive, keep)
        return captured

    async def _misbehave(
        self, fault: Fault, generation: int, captured: _Captured, send: Send
    ) -> None:
        if fault.kind == "timeout_after":
            # Interrupted early only by a reset or stop; a client gone meanwhile is fine:
            # uvicorn drops sends to a disconnected client.
            await self._pause(fault.seconds, generation)
            await send(
                {
                    "type": "http.response.start",
                    "status": captured.status,
                    "headers": captured.headers,
                }
            )
            await send({"type": "http.response.body", "body": bytes(captured.body)})
        elif fault.kind == "drop_after":
            await _abandon(send, captured.status, captured.headers, bytes(captured.body))
        elif fault.kind == "malformed_json":
            await _send_body(send, 200, b'{"case": ', b"application/json")
        elif fault.kind == "wrong_content_type":
            await _send_body(send, 200, b"<html>gateway</html>", b"text/html; charset=utf-8")
        else:  # pragma: no cover - FaultPlan.add rejects unknown kinds
            raise AssertionError(fault.kind)

    async def _pause(self, seconds: float, generation: int) -> bool:
        """Sleep without blocking other requests; False if a reset or stop cut it short."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.backend.stopping or self.backend.generation != generation:
                return False
            await asyncio.sleep(min(left, 0.02))
        return True


class _QuietInjectedDrops(logging.Filter):
    """uvicorn logs an ERROR for every response left unfinished; ours are on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _INCOMPLETE_RESPONSE


# ---------------------------------------------------------------------------------------------
# The server


class ReferenceServer:
    """The reference MedMitra API on 127.0.0.1, run by uvicorn in a background thread.

    The helpers below act directly on the store, as another workstation or an operator
    would; they are not HTTP requests and do not appear in ``requests``.
    """

    START_TIMEOUT = 5.0
    STOP_TIMEOUT = 5.0

    def __init__(self) -> None:
        self._backend = _Backend()
        self._app = _FaultMiddleware(_build_app(self._backend), self._backend)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._log_filter = _QuietInjectedDrops()
        self._port = 0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("ReferenceServer already started")
        config = uvicorn.Config(
            self._app,
            host="127.0.0.1",
            port=0,  # the OS picks a free port; read back from the listening socket
            log_level="warning",
            lifespan="off",
            # Pinned so no optional accelerator or websockets module (whose import warns, an
            # error under filterwarnings=error) is loaded; log_config=None keeps uvicorn from
            # reconfiguring the test run's logging.
            http="h11",
            ws="none",
            loop="asyncio",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._backend.stopping = False
        logging.getLogger("uvicorn.error").addFilter(self._log_filter)
        self._thread = threading.Thread(
            target=self._run, name="reference-medmitra-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self.START_TIMEOUT
        while not server.started:
            if self._failure is not None or not self._thread.is_alive():
                self._cleanup()
                raise RuntimeError("reference server failed to start") from self._failure
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("reference server did not start in time")
            time.sleep(0.005)
        self._port = server.servers[0].sockets[0].getsockname()[1]
        return self

    def _run(self) -> None:
        assert self._server is not None
        try:
            self._server.run()
        except BaseException as exc:  # reported by start(); must not escape the thread
            self._failure = exc

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        # Cut injected sleeps short so graceful shutdown has nothing to wait for.
        self._backend.stopping = True
        server.should_exit = True
        thread.join(self.STOP_TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join(self.STOP_TIMEOUT)
        self._cleanup()

    def _cleanup(self) -> None:
        logging.getLogger("uvicorn.error").removeFilter(self._log_filter)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- connection -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("ReferenceServer is not running")
        return f"http://127.0.0.1:{self._port}"

    @property
    def token(self) -> str:
        """A valid bearer token, the same for the server's whole life (reset keeps it)."""
        return self._backend.token

    def issue_token(self, user_id: str) -> str:
        token = f"ref-{user_id}-{uuid.uuid4().hex}"
        with self._backend.lock:
            self._backend.tokens[token] = user_id
        return token

    def revoke_token(self, token: str) -> None:
        """Make a token invalid from now on (an expired session); the next request gets 401."""
        with self._backend.lock:
            self._backend.tokens.pop(token, None)

    # -- test state -----------------------------------------------------------------------

    @property
    def faults(self) -> FaultPlan:
        return self._backend.faults

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every HTTP request received since the last reset, in order."""
        with self._backend.lock:
            return list(self._backend.log)

    @property
    def processing_seconds(self) -> float:
        """How long a case stays "processing" after create, upload or analyze; applies to
        processing started after it is set. ``float("inf")`` never completes."""
        return self._backend.store.processing_seconds

    @processing_seconds.setter
    def processing_seconds(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("processing_seconds must not be negative")
        self._backend.store.processing_seconds = seconds

    @property
    def clock(self) -> Callable[[], datetime]:
        """Where created_at/updated_at come from (aware datetimes); reset restores the real
        clock. Timestamps have whole-second resolution, so a test that needs two changes to
        differ in updated_at can step a fake clock instead of sleeping."""
        return self._backend.store.clock

    @clock.setter
    def clock(self, clock: Callable[[], datetime]) -> None:
        self._backend.store.clock = clock

    def reset(self) -> None:
        """Forget every case, file, fault, issued token and logged request; default timing."""
        self._backend.reset()

    # -- acting as another workstation ----------------------------------------------------

    def add_case(
        self,
        user_id: str,
        patient_name: str,
        patient_age: int,
        patient_gender: str,
        case_summary: str = "",
        files: Iterable[tuple[str, Category, bytes, str]] = (),
    ) -> dict[str, Any]:
        """Create a case as another workstation would; files are (name, category, bytes, mime).
        Returns the case object (it starts "processing", like one created over HTTP)."""
        new_files = [NewFile(name, _category(cat), data, mime) for name, cat, data, mime in files]
        fields = {
            "user_id": user_id,
            "patient_name": patient_name,
            "patient_age": patient_age,
            "patient_gender": patient_gender,
            "case_summary": case_summary,
        }
        case, _uploaded = self._backend.store.create_case(fields, new_files)
        return case

    def update_case(self, case_id: str, **fields: Any) -> dict[str, Any]:
        return self._backend.store.update_case(case_id, fields)

    def delete_case(self, case_id: str) -> None:
        self._backend.store.delete_case(case_id)

    def set_status(self, case_id: str, status: Status) -> None:
        """Force a status now ("failed" for an analysis that broke, "completed" to skip the
        wait); it holds until the next create/upload/analyze restarts processing."""
        self._backend.store.set_status(case_id, status)

    # -- inspecting -----------------------------------------------------------------------

    def cases(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Case objects (all users unless ``user_id``), oldest first, as the API shows them."""
        return self._backend.store.list_cases(user_id)

    def case_detail(self, case_id: str) -> dict[str, Any]:
        """What ``GET /cases/cases/{case_id}`` would answer: case, files, ai_insights."""
        return self._backend.store.case_detail(case_id)

    def files_of(self, case_id: str) -> list[dict[str, Any]]:
        return self._backend.store.files_of(case_id)

    def file_bytes(self, file_id: str) -> bytes:
        return self._backend.store.file(file_id)[1]

    def set_file_name(self, file_id: str, name: str) -> None:
        """Make the server hand out ``name`` for this file (JSON and Content-Disposition),
        e.g. ``../../etc/passwd``, to test that the client sanitises what it is given."""
        self._backend.store.set_file_name(file_id, name)
