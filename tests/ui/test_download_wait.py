"""A student waiting on another session's MovieLens download: told how long, free to leave, never stuck."""

from __future__ import annotations

import threading
import time

import pytest

from collab.data import DataError, movielens
from ui import cached


def test_a_waiter_hears_about_the_wait_and_stops_at_its_limit() -> None:
    store = cached.ByteStore(10**6)
    release = threading.Event()
    creator = threading.Thread(target=store.get_or_create, args=("k", lambda: (release.wait(5), [1])[1]))
    creator.start()
    time.sleep(0.1)
    heard: list[float] = []
    started = time.monotonic()
    with pytest.raises(cached.WaitTooLong):
        store.get_or_create("k", lambda: [2], on_wait=heard.append, wait_limit=1.2)
    assert time.monotonic() - started < 3
    assert heard and heard == sorted(heard)  # called every WAIT_STEP_SECONDS with the time waited
    release.set()
    creator.join()
    assert store.get_or_create("k", lambda: [3]) == ([1], True)  # the first session's value, made once


def test_a_slow_movielens_load_bounds_another_sessions_wait_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 24: a second student (or a ?data=movielens-100k link) waited more than 75 s on the same lock."""
    cached.data_store.clear()
    release = threading.Event()

    def slow_load(name: str, progress=None):  # noqa: ANN001, ANN202 - load_movielens' signature
        progress(1_000, 5_000_000)
        release.wait(10)
        raise DataError("the mirror is down")

    monkeypatch.setattr(movielens, "load_movielens", slow_load)
    monkeypatch.setattr(cached, "movielens_wait_limit", lambda: 1.0)
    first = threading.Thread(target=lambda: pytest.raises(DataError, cached.movielens, "100k"))
    first.start()
    time.sleep(0.2)
    seen: list[tuple[float, tuple[int, int | None] | None]] = []
    with pytest.raises(
        DataError, match=r"another session has been loading MovieLens 100k for over 1 s.*demo set"
    ):
        cached.movielens("100k", on_wait=lambda waited, download: seen.append((waited, download)))
    assert seen and seen[-1][1] == (1_000, 5_000_000)  # the other session's progress, shown to the waiter
    release.set()
    first.join()
    assert "100k" not in cached.DOWNLOADS
