"""The sync runner against the reference MedMitra server over real HTTP: rounds on the
worker thread, the schedule (debounce, never two at once, offline backoff), the status-bar
words, and a bounded stop."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QThread

from medmitra_desktop.app import AppContext
from medmitra_desktop.domain.enums import SyncState
from medmitra_desktop.services.sync_account import SyncStatus
from medmitra_desktop.services.sync_engine import SyncReport
from medmitra_desktop.sync.credentials import CredentialStore
from medmitra_desktop.ui.sync_runner import (
    NOT_SYNCING,
    SyncIntervals,
    SyncOutcome,
    SyncRunner,
    indicator,
)
from tests.factories import make_case
from tests.sync.reference_server import ReferenceServer

USER = "dr-sync"
RunnerFactory = Callable[..., SyncRunner]


def closed_port_url() -> str:
    """An address on this computer where nothing listens: the server is "offline"."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def sign_in(context: AppContext, server: ReferenceServer, url: str | None = None) -> None:
    """Signed in to the reference server, or (with `url`) to an address as if signed in
    there earlier: the token in the keychain, the address in settings."""
    if url is None:
        context.sync.sign_in(server.base_url, USER, server.token)
        return
    CredentialStore().save(url, USER, server.token)
    context.settings.save(replace(context.settings.load(), server_url=url, user_id=USER))


@pytest.fixture
def make_runner(context: AppContext) -> Iterator[RunnerFactory]:
    runners: list[SyncRunner] = []

    def make(**intervals: int) -> SyncRunner:
        runner = SyncRunner(context.sync, intervals=SyncIntervals(**intervals))
        runners.append(runner)
        return runner

    yield make
    for runner in runners:  # before the database closes
        runner.stop()


def run_round(qtbot, runner: SyncRunner, start: Callable[[], None] | None = None
              ) -> SyncOutcome:
    with qtbot.waitSignal(runner.round_finished, timeout=15_000) as finished:
        (start or runner.start)()
    return finished.args[0]


# ---- the words in the status bar ----------------------------------------------------------


def status(signed_in: bool = True, configured: bool = True,
           problem: str | None = None) -> SyncStatus:
    return SyncStatus(configured, signed_in, "https://medmitra.example.org", USER, problem)


def test_indicator_words_are_short_and_the_details_are_in_the_tooltip() -> None:
    at = datetime(2025, 3, 4, 14, 5).astimezone()
    assert indicator(None) == (NOT_SYNCING, indicator(None)[1])
    assert indicator(SyncOutcome(status(False, False), None))[0] == NOT_SYNCING
    assert indicator(SyncOutcome(status(False), None))[0] == "Offline · signed out"
    assert indicator(None, running=True)[0] == "Syncing…"
    assert indicator(SyncOutcome(status(), SyncReport(), finished_at=at))[0] == "Synced · 14:05"
    offline = SyncReport(offline="The MedMitra server could not be reached.")
    assert indicator(SyncOutcome(status(), offline, pending=3))[0] == \
        "Offline · 3 changes waiting"
    assert indicator(SyncOutcome(status(), offline, pending=1))[0] == \
        "Offline · 1 change waiting"
    text, details = indicator(SyncOutcome(status(), SyncReport(sign_in="Token expired.")))
    assert (text, details.startswith("Token expired.")) == ("Sign in needed", True)
    text, details = indicator(SyncOutcome(status(), SyncReport(problems=["Age refused"])))
    assert text == "Sync problem · details in tooltip" and "Age refused" in details
    keychain = "The system keychain is locked, so MedMitra could not read the sign-in."
    text, details = indicator(SyncOutcome(status(problem=keychain), None, problem=keychain))
    assert (text, details) == ("Sync problem · details in tooltip", keychain)


# ---- rounds -------------------------------------------------------------------------------


def test_not_set_up_runs_no_rounds(qtbot, make_runner: RunnerFactory) -> None:
    runner = make_runner()
    outcome = run_round(qtbot, runner)
    assert outcome.status is not None and not outcome.status.configured
    assert outcome.report is None
    assert runner.next_round_in() is None
    runner.changed()  # nothing to sync with: not even a debounced round
    assert not runner.busy and runner.next_round_in() is None


def test_a_round_pushes_on_the_worker_thread_and_schedules_the_next(
        qtbot, context: AppContext, make_runner: RunnerFactory,
        reference_server: ReferenceServer, monkeypatch: pytest.MonkeyPatch) -> None:
    sign_in(context, reference_server)
    record = make_case(context.cases, name="Ravi Kumar", user_id=USER)
    threads: list[QThread] = []
    real_engine = context.sync.engine

    def engine_on_which_thread():
        threads.append(QThread.currentThread())
        return real_engine()

    monkeypatch.setattr(context.sync, "engine", engine_on_which_thread)
    runner = make_runner()
    words: list[str] = []
    runner.indicator_changed.connect(lambda text, _details: words.append(text))

    outcome = run_round(qtbot, runner)

    assert outcome.report is not None and outcome.report.ok, outcome
    assert threads and threads[0] is not QThread.currentThread()
    assert [c["patient_name"] for c in reference_server.cases(USER)] == ["Ravi Kumar"]
    assert context.cases.get_case(record.case_id).sync_state is SyncState.SYNCED
    assert words[-1] == f"Synced · {outcome.finished_at:%H:%M}"
    # The server is analysing the new case: ask again in ~10 s, not in a minute.
    assert outcome.report.processing == 1
    assert 9_000 < (runner.next_round_in() or 0) <= 10_500
    (remote,) = reference_server.cases(USER)
    reference_server.set_status(remote["case_id"], "completed")
    done = run_round(qtbot, runner, runner.sync_now)
    assert done.report is not None and done.report.insights == 1
    assert 55_000 < (runner.next_round_in() or 0) <= 63_000


def test_changes_are_debounced_into_one_round(
        qtbot, context: AppContext, make_runner: RunnerFactory,
        reference_server: ReferenceServer) -> None:
    sign_in(context, reference_server)
    runner = make_runner(after_change=300)
    run_round(qtbot, runner)
    rounds: list[SyncOutcome] = []
    runner.round_finished.connect(rounds.append)
    for number in range(3):
        make_case(context.cases, name=f"Patient {number}", user_id=USER)
        runner.changed()
        qtbot.wait(50)
    assert rounds == [] and not runner.busy  # still waiting for the doctor to pause
    qtbot.waitUntil(lambda: len(rounds) == 1, timeout=10_000)
    qtbot.wait(500)
    assert len(rounds) == 1
    assert len(reference_server.cases(USER)) == 3


def test_never_two_rounds_at_once(qtbot, context: AppContext, make_runner: RunnerFactory,
                                  reference_server: ReferenceServer) -> None:
    sign_in(context, reference_server)
    reference_server.faults.add("GET", "/cases/all_cases", "slow", seconds=0.5)
    runner = make_runner()
    rounds: list[SyncOutcome] = []
    runner.round_finished.connect(rounds.append)
    before = len(reference_server.requests)
    runner.start()
    assert runner.busy
    runner.sync_now()  # asked for while one runs: it follows, it does not overlap
    runner.sync_now()
    qtbot.waitUntil(lambda: len(rounds) == 2 and not runner.busy, timeout=15_000)
    qtbot.wait(300)
    assert len(rounds) == 2
    lists = [r for r in reference_server.requests[before:] if r[1] == "/cases/all_cases"]
    assert len(lists) == 2


def test_offline_backs_off_quietly_and_counts_the_waiting_changes(
        qtbot, context: AppContext, make_runner: RunnerFactory,
        reference_server: ReferenceServer) -> None:
    sign_in(context, reference_server, url=closed_port_url())
    make_case(context.cases, user_id=USER)
    runner = make_runner(offline_first=400, offline_max=1_000)
    words: list[str] = []
    runner.indicator_changed.connect(lambda text, _details: words.append(text))

    first = run_round(qtbot, runner)
    assert first.offline and first.pending == 1
    assert words[-1] == "Offline · 1 change waiting"
    # (Qt's coarse timers may fire up to 5% late.)
    assert 0 < (runner.next_round_in() or 0) <= 420
    with qtbot.waitSignal(runner.round_finished, timeout=5_000):
        pass  # the backoff's own round
    assert 420 < (runner.next_round_in() or 0) <= 840  # doubled
    with qtbot.waitSignal(runner.round_finished, timeout=5_000):
        pass
    assert 840 < (runner.next_round_in() or 0) <= 1_050  # at most offline_max

    make_case(context.cases, name="Second Patient", user_id=USER)
    runner.changed()  # offline: no round, just the new count
    assert not runner.busy
    assert words[-1] == "Offline · 2 changes waiting"


def test_sign_in_needed_stops_the_schedule(qtbot, context: AppContext,
                                           make_runner: RunnerFactory,
                                           reference_server: ReferenceServer) -> None:
    sign_in(context, reference_server)
    reference_server.revoke_token(reference_server.token)
    runner = make_runner()
    outcome = run_round(qtbot, runner)
    assert outcome.report is not None and outcome.report.sign_in
    assert indicator(outcome)[0] == "Sign in needed"
    assert runner.next_round_in() is None


def test_stop_is_bounded_while_a_request_is_in_flight(
        qtbot, context: AppContext, make_runner: RunnerFactory,
        reference_server: ReferenceServer, tmp_path: Path) -> None:
    sign_in(context, reference_server)
    reference_server.faults.add("GET", "/cases/all_cases", "slow", seconds=1.5)
    runner = make_runner()
    runner.start()
    qtbot.wait(200)
    assert runner.busy
    started = time.monotonic()
    runner.stop()
    assert time.monotonic() - started < 5
    runner.changed()
    runner.sync_now()  # after stop: ignored
    assert not runner._thread.isRunning()
