"""The reference MedMitra server for the sync tests, and sync engines talking to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest

from medmitra_desktop.app import AppContext
from medmitra_desktop.services.sync_engine import SyncEngine
from medmitra_desktop.sync.client import MedMitraClient, RetryPolicy
from tests.sync.reference_server import ReferenceServer

USER = "dr-test"
EngineFactory = Callable[..., SyncEngine]


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


@pytest.fixture
def make_engine(reference_server: ReferenceServer) -> EngineFactory:
    clients: list[MedMitraClient] = []

    def make(context: AppContext, *, read_timeout: float = 2.0, base_url: str | None = None,
             token: str | None = None) -> SyncEngine:
        client = MedMitraClient(
            base_url or reference_server.base_url, token or reference_server.token,
            timeout=httpx.Timeout(2.0, read=read_timeout),
            retry=RetryPolicy(attempts=2, base_delay=0.01))
        clients.append(client)
        # Zero backoff: each test's next run_once is "later".
        return SyncEngine(context.database, context.files, context.cases, client, USER,
                          backoff_base=timedelta(0), backoff_max=timedelta(0))

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def engine(context: AppContext, make_engine: EngineFactory) -> SyncEngine:
    return make_engine(context)
