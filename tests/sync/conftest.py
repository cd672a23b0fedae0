"""The reference MedMitra server for the sync tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sync.reference_server import ReferenceServer


@pytest.fixture(scope="session")
def _reference_server_process() -> Iterator[ReferenceServer]:
    # One uvicorn for the whole run: starting and stopping one costs ~0.2 s (uvicorn's own
    # shutdown waits), a reset costs nothing.
    server = ReferenceServer().start()
    yield server
    server.stop()


@pytest.fixture
def reference_server(_reference_server_process: ReferenceServer) -> Iterator[ReferenceServer]:
    """A running reference server with an empty store, no faults, default timing, only
    ``server.token`` valid and an empty request log. Reset again afterwards, which also cuts
    short any request a test left held in an injected sleep, so nothing leaks into the next."""
    server = _reference_server_process
    server.reset()
    yield server
    server.reset()
