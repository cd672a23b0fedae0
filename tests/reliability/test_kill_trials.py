"""A few rounds of kill_trials.py in the suite: SIGKILL at random points while the app
analyses and saves cases, then restart and check nothing was damaged, lost or doubled.
(The single deterministic kill in the middle of a job is in
tests/services/test_analysis_jobs.py; run the script for 50 trials.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.kill_trials import run_trials


@pytest.mark.slow
def test_random_kills_lose_and_double_nothing(tmp_path: Path) -> None:
    lines: list[str] = []
    results = run_trials(tmp_path, 3, seed_value=7, scans=True, report=lines.append)
    assert len(results) == 3
    assert [result.problems for result in results] == [[], [], []], "\n".join(lines)
