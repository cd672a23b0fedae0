"""A few SIGKILL-while-encrypting trials in the suite (kill_encrypt_trials.py runs 50)."""

from __future__ import annotations

from tests.reliability.kill_encrypt_trials import run_trials


def test_killing_the_app_while_it_encrypts_loses_and_leaks_nothing() -> None:
    lines: list[str] = []
    trials, failures = run_trials(4, seed=5, report=lines.append)
    assert (trials, failures) == (4, []), lines
    assert sum("killed" in line for line in lines) == 3, lines
