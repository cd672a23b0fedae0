"""The MedMitra API over HTTP (httpx): every endpoint of the server, nothing else.

- TLS is verified always: there is no switch to turn it off. Plain http:// is accepted
  only for this computer (checked by the settings), where a test server runs.
- Timeouts on every request, so a dead network costs seconds, not a frozen sync.
- Retries with exponential backoff and full jitter, on transient failures only, and only
  for requests that are safe to repeat: GET, PUT, DELETE always; POST only when it cannot
  have reached the server (the connection never opened). A POST whose answer was lost is
  reported with maybe_delivered=True so the caller reconciles before sending it again.
- The server's `{"detail": ...}` is what the doctor reads when it refuses something.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from ..domain.enums import DocumentCategory
from . import wire
from .errors import (
    BadResponse,
    RemoteNotFound,
    ServerBusy,
    ServerRefused,
    ServerUnreachable,
    SignInRequired,
    SyncError,
    UntrustedServer,
)
from .wire import RemoteCase, RemoteCaseDetail, RemoteFile

log = logging.getLogger(__name__)

TRANSIENT_STATUS = frozenset({429, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD"})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3          # tries per call, the first included
    base_delay: float = 0.25   # seconds; doubles per try
    max_delay: float = 4.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): spreads
        the retries of many workstations after an outage instead of synchronising them."""
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** attempt))


@dataclass(frozen=True)
class UploadFile:
    file_name: str
    category: DocumentCategory
    # Opened when the request goes out: a stored file of an encrypted data folder is
    # decrypted then, into a stream no other program can open.
    content: Callable[[], AbstractContextManager[IO[bytes]]]
    mime_type: str

    @classmethod
    def of_path(cls, file_name: str, category: DocumentCategory, path: Path,
                mime_type: str) -> UploadFile:
        return cls(file_name, category, lambda: path.open("rb"), mime_type)


DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=60.0, pool=5.0)
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024


class MedMitraClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            verify=True,
            follow_redirects=False,  # a redirect could carry the token somewhere else
        )
        self._retry = retry
        self._sleep = sleep
        self._rng = rng or random.Random()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> MedMitraClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---- endpoints ----------------------------------------------------------------------

    def create_case(self, user_id: str, fields: Mapping[str, object],
                    files: Iterable[UploadFile]) -> tuple[RemoteCase, list[RemoteFile]]:
        """One multipart request with the case and all its files."""
        data = {"user_id": user_id, **{k: str(v) for k, v in fields.items()}}
        with _open_all(files) as parts:
            body = self._call("POST", "/cases/create_case", data=data,
                              files=[(f"{upload.category.value}_files",
                                      (upload.file_name, handle, upload.mime_type))
                                     for upload, handle in parts])
        return wire.parse_created(body)

    def list_cases(self, user_id: str) -> tuple[list[RemoteCase], list[str]]:
        return wire.parse_cases(self._call("GET", "/cases/all_cases",
                                           params={"user_id": user_id}))

    def get_case(self, case_id: str) -> RemoteCaseDetail:
        return wire.parse_detail(self._call("GET", f"/cases/cases/{_segment(case_id)}"))

    def update_case(self, case_id: str, fields: Mapping[str, object]) -> RemoteCase:
        body = self._call("PUT", f"/cases/cases/{_segment(case_id)}", json=dict(fields))
        return wire.parse_case(body.get("case") if isinstance(body, Mapping) else None)

    def delete_case(self, case_id: str) -> None:
        self._call("DELETE", f"/cases/cases/{_segment(case_id)}")

    def analyze(self, case_id: str) -> None:
        self._call("POST", f"/cases/analyze/{_segment(case_id)}")

    def upload(self, case_id: str, upload: UploadFile) -> RemoteFile:
        with _open_all([upload]) as parts:
            (_, handle), = parts
            body = self._call("POST", "/cases/upload",
                              data={"case_id": case_id, "category": upload.category.value},
                              files=[("file", (upload.file_name, handle, upload.mime_type))])
        return wire.parse_file(body)

    def list_files(self, case_id: str) -> list[RemoteFile]:
        return wire.parse_files(self._call("GET", f"/cases/files/{_segment(case_id)}"))

    def download(self, file_id: str, target: IO[bytes],
                 limit: int = MAX_DOWNLOAD_BYTES) -> int:
        """Stream a file's bytes into target; refuses more than limit bytes."""
        path = f"/cases/file/{_segment(file_id)}"

        def stream() -> int:
            target.seek(0)
            target.truncate()
            written = 0
            with self._client.stream("GET", path) as response:
                if response.status_code >= 400:
                    response.read()
                    raise _status_error(response)
                for chunk in response.iter_bytes():
                    written += len(chunk)
                    if written > limit:
                        raise BadResponse(f"A file from the server is larger than "
                                          f"{limit // (1024 * 1024)} MB; it was not "
                                          f"downloaded.")
                    target.write(chunk)
            return written

        return self._with_retries("GET", path, stream)

    def delete_file(self, file_id: str, case_id: str) -> None:
        self._call("DELETE", f"/cases/file/{_segment(file_id)}", params={"case_id": case_id})

    # ---- plumbing -----------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        def once() -> Any:
            for _field, (_name, handle, _mime) in kwargs.get("files") or []:
                handle.seek(0)  # a retried upload sends the whole file again
            response = self._client.request(method, path, **kwargs)
            if response.status_code >= 400:
                raise _status_error(response)
            if not response.content and method in ("DELETE",):
                return {}
            return wire.decode(response.content, response.headers.get("content-type", ""))

        return self._with_retries(method, path, once)

    def _with_retries(self, method: str, path: str, call: Callable[[], Any]) -> Any:
        attempt = 0
        while True:
            try:
                return call()
            except httpx.TransportError as error:
                failure: SyncError = _transport_error(error)
            except SyncError as error:
                failure = error
            # Only a failure that may pass, on a request that is safe to send again.
            repeatable = method in IDEMPOTENT or not failure.maybe_delivered
            if isinstance(failure, BadResponse) or not failure.transient or not repeatable:
                raise failure
            attempt += 1
            if attempt >= self._retry.attempts:
                raise failure
            delay = self._retry.delay(attempt, self._rng)
            log.debug("%s %s failed (%s); retry %d in %.2f s", method, path.split("/")[2],
                      type(failure).__name__, attempt, delay)
            self._sleep(delay)


def _segment(identifier: str) -> str:
    """An id placed in a URL path: only characters the server itself hands out."""
    if not identifier or any(not (ch.isalnum() or ch in "-_.") for ch in identifier) \
            or identifier in (".", ".."):
        raise ValueError(f"not a server id: {identifier!r}")
    return identifier


def _status_error(response: httpx.Response) -> SyncError:
    status = response.status_code
    detail = wire.error_detail(response.content)
    if status in (401, 403):
        return SignInRequired(
            "The server did not accept the sign-in (" + (detail or f"HTTP {status}") +
            "). Sign in again in Settings.", status)
    if status == 404:
        return RemoteNotFound(detail or "The server has no such case or file.", status)
    if status >= 500 or status in TRANSIENT_STATUS:
        return ServerBusy(f"The server had a problem (HTTP {status}"
                          + (f": {detail}" if detail else "") + "). It will be tried again.",
                          status)
    return ServerRefused(f"The server refused the change (HTTP {status}"
                         + (f": {detail}" if detail else "") + ").", status)


def _transport_error(error: httpx.TransportError) -> SyncError:
    if isinstance(error, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(error):
        return UntrustedServer(
            "The MedMitra server's certificate could not be verified, so nothing was sent. "
            "Check the server address in Settings, or ask your IT contact; sync cannot be "
            "told to skip this check.")
    # Connect errors mean nothing reached the server; anything later may have.
    never_sent = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
                            | httpx.UnsupportedProtocol)
    if isinstance(error, httpx.TimeoutException):
        words = "did not answer in time"
    elif isinstance(error, httpx.ConnectError):
        words = "could not be reached"
    else:
        words = "dropped the connection"
    return ServerUnreachable(f"The MedMitra server {words}. Your work is kept on this "
                             f"computer and will be sent later.", maybe_delivered=not never_sent)


@contextmanager
def _open_all(files: Iterable[UploadFile]) -> Iterator[list[tuple[UploadFile, IO[bytes]]]]:
    """Open every upload's file for one request, and close them all after."""
    with ExitStack() as stack:
        yield [(upload, stack.enter_context(upload.content())) for upload in files]
