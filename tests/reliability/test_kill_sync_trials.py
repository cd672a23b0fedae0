"""A few SIGKILL-during-sync trials in the suite (kill_sync_trials.py runs 50+)."""

from __future__ import annotations

import pytest

from tests.reliability.kill_sync_trials import run_trials


@pytest.mark.slow
def test_killing_the_app_mid_sync_loses_and_doubles_nothing() -> None:
    results = run_trials(2, seed=11, log=False)
    assert [trial.problems for trial in results] == [[], []]
    assert sum(len(trial.created) for trial in results) > 0, "no trial got to work"
