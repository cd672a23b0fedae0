"""Every malformed or failing server answer in the reliability table: the doctor is told
in words, the change is kept, and the next round finishes it with no duplicate."""

from __future__ import annotations

from pathlib import Path

import pytest

from medmitra_desktop.app import AppContext
from tests.sync.reference_server import ReferenceServer
from tests.sync.server_faults import SERVER_FAULTS, ServerFault, run_fault


@pytest.mark.parametrize("fault", SERVER_FAULTS, ids=lambda fault: fault.kind + fault.path)
def test_a_bad_answer_is_told_kept_and_finished_once(
        fault: ServerFault, context: AppContext, reference_server: ReferenceServer,
        tmp_path: Path) -> None:
    told, server_cases, waiting = run_fault(context, reference_server, fault, tmp_path)
    assert told != "(nothing)" and "Traceback" not in told
    assert server_cases == 1 and waiting == 0
