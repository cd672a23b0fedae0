"""The bridge between the window and the sync engine: rounds on a worker thread, on a
schedule, and the quiet status-bar indicator.

Rounds (SyncEngine.run_once: network and database) never run on the GUI thread, and
never two at once. When they run:
- once at start (the worker finds out whether sync is set up and signed in);
- every minute while signed in; every ~10 s while the server is still analysing a case;
- ~3 s after the last local change (`changed()`, debounced: a burst of edits is one round);
- at once, pushing even what waits for a retry, on "Sync now" (`sync_now()`);
- at once after signing in or out, or new settings (`account_changed()`).
Offline is normal: the next try waits 1, 2, 4, 8, then at most 10 minutes, and nothing
but the status-bar text says so. A refused sign-in or a sign-out stops the schedule
until the doctor signs in or chooses Sync now.

The keychain is read on the worker thread too: a locked keychain may open the system's
unlock prompt and wait for it, which must not freeze the window.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from ..domain.enums import SyncState
from ..domain.errors import KeychainUnavailable, MedMitraError
from ..services.sync_account import SyncAccount, SyncStatus
from ..services.sync_engine import SyncReport

log = logging.getLogger(__name__)

# A request in flight cannot be interrupted; it ends within the client's timeouts (30 s
# to read). The window is already gone while this waits.
SHUTDOWN_WAIT_MS = 5_000
SHUTDOWN_GRACE_MS = 35_000
SYNCING_SHOWN_AFTER_MS = 700  # a quick background round never flickers "Syncing…"
NOT_SYNCING = "Offline · sync not set up"
NOT_SYNCING_DETAILS = ("Cases are kept on this computer only; syncing with a MedMitra "
                       "server is not set up (Settings → Sign in…).")


@dataclass(frozen=True)
class SyncIntervals:
    """When rounds run, in milliseconds (tests shorten them)."""

    periodic: int = 60_000
    after_change: int = 3_000
    while_processing: int = 10_000
    offline_first: int = 60_000
    offline_max: int = 600_000

    def offline(self, failures: int) -> int:
        """The wait after `failures` offline rounds in a row (1, 2, ...)."""
        return min(self.offline_max, self.offline_first * 2 ** max(0, failures - 1))


@dataclass(frozen=True)
class SyncOutcome:
    """What one round found; `report` is None when no round could run (not set up,
    signed out, keychain unusable: `problem` says which words to show)."""

    status: SyncStatus | None
    report: SyncReport | None
    pending: int = 0  # local changes still waiting to be sent
    problem: str | None = None
    finished_at: datetime = field(default_factory=lambda: datetime.now().astimezone())
    # Live cases per sync state after the round: a change in it is a change the list
    # shows (a case enrolled, or in conflict after a push), even when nothing was sent.
    states: dict[str, int] = field(default_factory=dict)

    @property
    def in_conflict(self) -> int:
        return self.states.get(SyncState.CONFLICT.value, 0)

    @property
    def signed_in(self) -> bool:
        return self.status is not None and self.status.signed_in

    @property
    def offline(self) -> bool:
        return self.report is not None and self.report.offline is not None

    @property
    def changed_cases(self) -> bool:
        """True when the round changed something the list or an open case shows."""
        report = self.report
        return report is not None and bool(report.pushed or report.pulled or report.updated
                                           or report.conflicts or report.insights)


def indicator(outcome: SyncOutcome | None, running: bool = False) -> tuple[str, str]:
    """The status-bar text and its tooltip: short words, details only in the tooltip."""
    if running:
        return "Syncing…", "Sending this computer's changes and reading the server's."
    if outcome is None:
        return NOT_SYNCING, NOT_SYNCING_DETAILS
    status, report = outcome.status, outcome.report
    if outcome.problem is not None and report is None:
        return "Sync problem · details in tooltip", outcome.problem
    if status is None or not status.configured:
        return NOT_SYNCING, NOT_SYNCING_DETAILS
    if report is None:  # configured, signed out
        return "Offline · signed out", (f"Signed out of {status.server_url}. Cases are kept "
                                        f"on this computer; sign in again in Settings to "
                                        f"sync them.")
    if report.sign_in is not None:
        return "Sign in needed", f"{report.sign_in}\n\nSign in again in Settings."
    if report.offline is not None:
        waiting = outcome.pending
        text = (f"Offline · {waiting:,} change{'s' if waiting != 1 else ''} waiting"
                if waiting else "Offline")
        return text, (f"{report.offline}\n\nMedMitra keeps working on this computer and "
                      f"tries again later; Sync now (Shift+F5) tries at once.")
    when = outcome.finished_at.strftime("%H:%M")
    if report.problems:
        shown = "\n".join(f"• {problem}" for problem in report.problems[:5])
        more = len(report.problems) - 5
        return "Sync problem · details in tooltip", (
            f"Last sync at {when} finished with problems:\n{shown}"
            + (f"\n… and {more} more" if more > 0 else ""))
    details = f"Synced with {status.server_url} at {when}."
    if outcome.in_conflict:
        details += (f" {outcome.in_conflict} case{'s' if outcome.in_conflict != 1 else ''} "
                    f"changed here and on the server: open "
                    f"{'it' if outcome.in_conflict == 1 else 'each'} and choose Resolve "
                    f"conflict….")
    if report.processing:
        details += (f" The server is still analysing {report.processing} case"
                    f"{'s' if report.processing != 1 else ''}.")
    return f"Synced · {when}", details


class _Worker(QObject):
    finished = Signal(object)  # SyncOutcome

    def __init__(self, account: SyncAccount, stop: threading.Event) -> None:
        super().__init__()
        self._account = account
        self._stop = stop

    @Slot(bool)
    def run(self, force: bool) -> None:
        try:
            outcome = self._round(force)
        except Exception as error:  # reported in the status bar, never a dead thread
            log.exception("Sync round failed")
            outcome = SyncOutcome(None, None, problem=f"Sync stopped unexpectedly: {error}")
        self.finished.emit(outcome)

    def _round(self, force: bool) -> SyncOutcome:
        status = self._account.status()
        if status.problem is not None:
            return SyncOutcome(status, None, problem=status.problem)
        if not status.signed_in:
            return SyncOutcome(status, None)
        try:
            engine = self._account.engine()
        except KeychainUnavailable as error:
            return SyncOutcome(status, None, problem=str(error))
        if engine is None:  # signed out between the two reads
            return SyncOutcome(self._account.status(), None)
        try:
            report = engine.run_once(force=force, should_stop=self._stop.is_set)
        finally:
            engine.close()
        return SyncOutcome(status, report, pending=self._account.pending_changes(),
                           states=self._account.state_counts())


class SyncRunner(QObject):
    """Owns the sync worker thread and its schedule. Connect `indicator_changed` to the
    status bar and `round_finished` to whatever shows cases; call `start()` once, and
    `stop()` before the database closes."""

    indicator_changed = Signal(str, str)  # text, details
    round_finished = Signal(object)  # SyncOutcome
    _run = Signal(bool)  # force

    def __init__(self, account: SyncAccount, parent: QObject | None = None, *,
                 intervals: SyncIntervals | None = None) -> None:
        super().__init__(parent)
        self._account = account
        self._intervals = intervals or SyncIntervals()
        self._stop = threading.Event()
        self._thread = QThread()
        self._thread.setObjectName("sync")
        self._worker = _Worker(account, self._stop)
        self._worker.moveToThread(self._thread)
        self._run.connect(self._worker.run)
        self._worker.finished.connect(self._on_finished)
        self._busy = False
        self._again: bool | None = None  # a round asked for while one runs (its force)
        self._offline_failures = 0
        self._outcome: SyncOutcome | None = None
        self._stopped = False
        # One timer for the schedule, one for the debounce after changes.
        self._next = _single_shot(self, self._scheduled)
        self._debounce = _single_shot(self, self._scheduled)
        self._debounce.setInterval(self._intervals.after_change)
        self._syncing_shown = _single_shot(self, self._show_syncing)
        self._syncing_shown.setInterval(SYNCING_SHOWN_AFTER_MS)
        self._thread.start()

    # ---- what the window calls ----------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def outcome(self) -> SyncOutcome | None:
        """What the last round found (None before the first one ends)."""
        return self._outcome

    def next_round_in(self) -> int | None:
        """Milliseconds until the next scheduled round, or None when none is scheduled."""
        return self._next.remainingTime() if self._next.isActive() else None

    def start(self) -> None:
        """The first round: finds out whether sync is set up, and syncs if signed in."""
        self._request(force=False)

    @Slot()
    def changed(self) -> None:
        """A case was created, edited, attached to, deleted, restored, re-analysed or
        resolved: sync it soon. Offline, it only updates the count of waiting changes
        (the backoff decides when to try again)."""
        if self._stopped:
            return
        outcome = self._outcome
        if outcome is not None and not outcome.signed_in:
            return  # nothing to sync with
        if outcome is not None and outcome.offline:
            self._recount()
            return
        self._debounce.start()

    @Slot()
    def sync_now(self) -> None:
        """Sync at once, sending even the changes that wait for a retry."""
        self._offline_failures = 0
        self._request(force=True)

    @Slot()
    def run_now(self) -> None:
        """A round at once without waiting for the debounce (a resolved conflict)."""
        self._request(force=False)

    @Slot()
    def account_changed(self) -> None:
        """Signed in or out, or the server or user id changed: a round at once."""
        self._offline_failures = 0
        self._request(force=False)

    def stop(self) -> None:
        """Stop between two requests, wait for the thread (bounded), then let it go."""
        if self._stopped:
            return
        self._stopped = True
        for timer in (self._next, self._debounce, self._syncing_shown):
            timer.stop()
        self._stop.set()
        self._thread.quit()
        if self._thread.wait(SHUTDOWN_WAIT_MS):
            return
        log.info("Waiting for the sync request in flight to end")
        if not self._thread.wait(SHUTDOWN_GRACE_MS):
            log.warning("Sync thread did not stop within %d ms",
                        SHUTDOWN_WAIT_MS + SHUTDOWN_GRACE_MS)

    # ---- schedule -----------------------------------------------------------------------

    def _scheduled(self) -> None:
        self._request(force=False)

    def _request(self, *, force: bool) -> None:
        if self._stopped:
            return
        self._debounce.stop()
        if self._busy:
            self._again = force or bool(self._again)
            return
        self._next.stop()
        self._busy = True
        if force:
            self._show_syncing()  # the doctor asked: say so at once
        else:
            self._syncing_shown.start()
        self._run.emit(force)

    def _show_syncing(self) -> None:
        if self._busy:
            self.indicator_changed.emit(*indicator(self._outcome, running=True))

    def _on_finished(self, outcome: SyncOutcome) -> None:
        self._busy = False
        self._syncing_shown.stop()
        if self._stopped:
            return
        self._outcome = outcome
        report = outcome.report
        self._offline_failures = self._offline_failures + 1 if outcome.offline else 0
        if report is not None and report.offline:
            log.info("Sync: server not reachable (try %d)", self._offline_failures)
        elif report is not None and not report.ok:
            log.info("Sync finished with %d problem(s)", len(report.problems))
        self.indicator_changed.emit(*indicator(outcome))
        self.round_finished.emit(outcome)
        if self._again is not None:
            force, self._again = self._again, None
            self._request(force=force)
            return
        delay = self._delay_after(outcome)
        if delay is not None:
            self._next.start(delay)

    def _delay_after(self, outcome: SyncOutcome) -> int | None:
        report = outcome.report
        if report is None:
            # Not set up or signed out: nothing until the doctor signs in. A keychain
            # that could not be read may be unlocked later: look again now and then.
            return self._intervals.offline_max if outcome.problem is not None else None
        if report.sign_in is not None:
            return None  # the token was refused: asking again cannot help
        if report.offline is not None:
            return self._intervals.offline(self._offline_failures)
        if report.processing:
            return self._intervals.while_processing
        return self._intervals.periodic

    def _recount(self) -> None:
        """Offline and a change was made: the indicator's count of waiting changes (one
        small count query)."""
        outcome = self._outcome
        if outcome is None or self._busy:
            return
        try:
            pending = self._account.pending_changes()
        except MedMitraError as error:  # the next round counts again
            log.warning("Counting the changes waiting for sync failed: %s",
                        type(error).__name__)
            return
        self._outcome = SyncOutcome(outcome.status, outcome.report, pending, outcome.problem,
                                    outcome.finished_at, outcome.states)
        self.indicator_changed.emit(*indicator(self._outcome))


def _single_shot(parent: QObject, slot: object) -> QTimer:
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.timeout.connect(slot)
    return timer
