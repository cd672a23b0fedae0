"""Cooperative cancellation of a running extraction."""

from __future__ import annotations

import threading


class ExtractionCancelled(Exception):
    """Raised by extract_document when its CancelToken was cancelled before it finished."""


class CancelToken:
    """Set from any thread; the extraction checks it between pages."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise ExtractionCancelled("extraction was cancelled")
