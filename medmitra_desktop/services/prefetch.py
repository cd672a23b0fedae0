"""Fetch ahead on a thread of its own while the caller stores what has arrived.

A pull of thousands of cases is a chain of requests, each followed by database work.
Done one after the other, the network waits for the database and the database for the
network. Here one thread makes the requests, strictly one at a time and in order (the
server sees the same traffic as before), and the caller takes finished results in
batches, so the two kinds of waiting overlap. The caller is woken once per batch, not per
result: waking it for each costs a thread switch per request, as much as the overlap
gains.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class Failed(Generic[Item]):
    """What fetching one item raised, handed over in the item's place."""

    item: Item
    error: Exception


@dataclass(frozen=True)
class Batching:
    """A batch is `most` results, or fewer once they weigh `weight` (0: no limit), or
    what has arrived `wait` seconds after the caller asked (at least one)."""

    most: int
    wait: float
    weight: int = 0


class Prefetch(Generic[Item, Result]):
    """`fetch` runs on a worker thread for each item in order; `take` hands the results
    (or `Failed`) back in the same order, a batch at a time. After a failure that
    `stops_after` accepts, nothing more is fetched. At most two batches wait at a time.
    Results never taken are passed to `discard` (temporary files to delete, say),
    whether the caller finished, stopped early or raised."""

    def __init__(self, fetch: Callable[[Item], Result], items: Sequence[Item],
                 batching: Batching, *,
                 discard: Callable[[Result], None] = lambda _result: None,
                 weigh: Callable[[Result], int] = lambda _result: 0,
                 stops_after: Callable[[Exception], bool] = lambda _error: False) -> None:
        self._fetch = fetch
        self._items = list(items)
        self._batching = batching
        self._discard = discard
        self._weigh = weigh
        self._stops_after = stops_after
        self._ready: deque[tuple[Result | Failed[Item], int]] = deque()
        self._ready_weight = 0
        self._wanted = batching.most  # results that make the waiting caller's batch
        self._changed = threading.Condition()
        self._stop = False
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="prefetch", daemon=True)

    def __enter__(self) -> Prefetch[Item, Result]:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        with self._changed:
            self._stop = True
            self._changed.notify_all()
        self._thread.join()  # at most the request in flight
        for result, _weight in self._ready:
            if not isinstance(result, Failed):
                self._discard(result)
        self._ready.clear()

    def take(self) -> list[Result | Failed[Item]]:
        """The next batch, in order; empty once every item has been handed back."""
        deadline = time.monotonic() + self._batching.wait
        with self._changed:
            self._wanted = self._batching.most
            while not self._batch_ready():
                remaining = deadline - time.monotonic()
                if remaining > 0:
                    self._changed.wait(remaining)
                    continue
                self._wanted = 1  # waited long enough: what is there, or the next one
                if not self._batch_ready():
                    self._changed.wait()
            batch: list[Result | Failed[Item]] = []
            taken = 0
            limit = self._batching.weight
            while self._ready and len(batch) < self._batching.most \
                    and not (limit and taken >= limit):
                result, weight = self._ready.popleft()
                batch.append(result)
                taken += weight
            self._ready_weight -= taken
            self._changed.notify_all()  # room for the fetcher again
        return batch

    def _batch_ready(self) -> bool:
        limit = self._batching.weight
        return self._ended or len(self._ready) >= self._wanted \
            or bool(limit and self._ready_weight >= limit)

    def _full(self) -> bool:
        limit = self._batching.weight
        return len(self._ready) >= 2 * self._batching.most \
            or bool(limit and self._ready_weight >= 2 * limit)

    def _run(self) -> None:
        try:
            for item in self._items:
                result: Result | Failed[Item]
                try:
                    result = self._fetch(item)
                    weight = self._weigh(result)
                except Exception as error:  # handed to the caller, who decides
                    result, weight = Failed(item, error), 0
                with self._changed:
                    while self._full() and not self._stop:
                        self._changed.wait()
                    if self._stop:
                        if not isinstance(result, Failed):
                            self._discard(result)
                        return
                    self._ready.append((result, weight))
                    self._ready_weight += weight
                    if self._batch_ready():
                        self._changed.notify_all()
                if isinstance(result, Failed) and self._stops_after(result.error):
                    return
                if self._stop:
                    return
        finally:
            with self._changed:
                self._ended = True
                self._changed.notify_all()
