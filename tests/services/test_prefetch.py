"""Prefetch: results come back in order and in batches, failures in their place, and
nothing fetched is left behind however the caller ends."""

from __future__ import annotations

import threading
import time
from contextlib import nullcontext

import pytest

from medmitra_desktop.services.prefetch import Batching, Failed, Prefetch


def test_results_come_back_in_order_in_batches_with_failures_in_place() -> None:
    def fetch(n: int) -> int:
        if n == 3:
            raise ValueError("three is not served")
        return n * 10

    with Prefetch(fetch, range(8), Batching(most=3, wait=5.0)) as prefetch:
        batches = []
        while batch := prefetch.take():
            batches.append(batch)
    flat = [item for batch in batches for item in batch]
    assert [len(batch) for batch in batches] == [3, 3, 2]
    assert flat[:3] == [0, 10, 20] and flat[4:] == [40, 50, 60, 70]
    assert isinstance(flat[3], Failed) and flat[3].item == 3
    assert str(flat[3].error) == "three is not served"


def test_a_failure_that_ends_the_work_stops_fetching() -> None:
    fetched = []

    def fetch(n: int) -> int:
        fetched.append(n)
        if n == 2:
            raise ConnectionError("gone")
        return n

    with Prefetch(fetch, range(10), Batching(most=100, wait=5.0),
                  stops_after=lambda error: isinstance(error, ConnectionError)) as prefetch:
        batch = prefetch.take()
        assert prefetch.take() == []
    assert fetched == [0, 1, 2]
    assert batch[:2] == [0, 1] and isinstance(batch[2], Failed)


def test_a_batch_is_cut_by_weight_and_by_time() -> None:
    with Prefetch(lambda n: n, range(6), Batching(most=100, wait=5.0, weight=5),
                  weigh=lambda n: 2) as prefetch:
        assert prefetch.take() == [0, 1, 2]  # 6 >= 5
    slow = threading.Event()

    def fetch(n: int) -> int:
        if n == 2:
            slow.wait(5)
        return n

    started = time.monotonic()
    with Prefetch(fetch, range(3), Batching(most=100, wait=0.2)) as prefetch:
        assert prefetch.take() == [0, 1]  # what came within the wait
        assert time.monotonic() - started < 3
        slow.set()
        assert prefetch.take() == [2]


@pytest.mark.parametrize("ending", ["early", "raise"])
def test_results_never_taken_are_discarded(ending: str) -> None:
    discarded: list[int] = []
    taken: list[int] = []
    all_fetched = threading.Event()

    def fetch(n: int) -> int:
        if n == 9:
            all_fetched.set()
        return n

    expected = pytest.raises(RuntimeError) if ending == "raise" else nullcontext()
    with expected, Prefetch(fetch, range(10), Batching(most=2, wait=5.0),
                            discard=discarded.append) as prefetch:
        taken.extend(prefetch.take())  # type: ignore[arg-type]
        all_fetched.wait(0.5)  # at most two batches wait, so the fetcher is held first
        if ending == "raise":
            raise RuntimeError("the caller failed")
    assert taken == [0, 1]
    # Everything fetched was either taken or discarded, never both, never lost.
    assert sorted(taken + discarded) == list(range(len(taken) + len(discarded)))
    assert discarded and not set(taken) & set(discarded)
