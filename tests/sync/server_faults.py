"""Malformed and failing server answers, run through a real sync round against the
reference server: the reliability table and its test use the same list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

from medmitra_desktop.app import AppContext
from medmitra_desktop.services.sync_engine import SyncEngine
from medmitra_desktop.sync.client import MedMitraClient, RetryPolicy
from tests.factories import make_case, text_pdf
from tests.sync.reference_server import ReferenceServer

USER = "dr-faults"


@dataclass(frozen=True)
class ServerFault:
    title: str
    method: str
    path: str
    kind: str


SERVER_FAULTS = (
    ServerFault("create answered 500", "POST", "/cases/create_case", "500"),
    ServerFault("create answered 503", "POST", "/cases/create_case", "503"),
    ServerFault("create answered with broken JSON", "POST", "/cases/create_case",
                "malformed_json"),
    ServerFault("create answered with an HTML page", "POST", "/cases/create_case",
                "wrong_content_type"),
    ServerFault("create done, answer lost (timeout)", "POST", "/cases/create_case",
                "timeout_after"),
    ServerFault("create done, connection dropped", "POST", "/cases/create_case",
                "drop_after"),
    ServerFault("connection dropped mid-upload", "POST", "/cases/create_case",
                "drop_before"),
    ServerFault("case list answered with broken JSON", "GET", "/cases/all_cases",
                "malformed_json"),
    ServerFault("case list answered 401", "GET", "/cases/all_cases", "401"),
)


def run_fault(context: AppContext, server: ReferenceServer, fault: ServerFault,
              folder: Path) -> tuple[str, int, int]:
    """One case pushed through the fault, then a clean round. Returns (what the doctor
    was told, server cases after both rounds, outbox rows left)."""
    folder.mkdir(parents=True, exist_ok=True)
    make_case(context.cases, name=f"Fault {fault.kind}", user_id=USER,
              lab=[text_pdf(folder / "cbc.pdf", ["Hemoglobin 10.2 g/dL 13.0-17.0"])])
    with MedMitraClient(server.base_url, server.token,
                        timeout=httpx.Timeout(2.0, read=0.5),
                        retry=RetryPolicy(attempts=2, base_delay=0.01)) as client:
        engine = SyncEngine(context.database, context.files, context.cases, client, USER,
                            backoff_base=timedelta(0), backoff_max=timedelta(0))
        server.faults.add(fault.method, fault.path, fault.kind, seconds=1.0)
        first = engine.run_once()
        told = first.sign_in or first.offline or "; ".join(first.problems) or "(nothing)"
        engine.run_once()
    return told, len(server.cases(USER)), context.sync.pending_changes()
