"""The training pool and the byte-bounded stores behind the app (ui/pool.py, ui/cached.py)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from ui.cached import ByteStore, nbytes
from ui.pool import CANCELLED, DONE, TrainingCancelled, TrainingPool


def _gate_job(order: list[str], name: str, gate: threading.Event | None = None):
    def run(job):
        if gate is not None:
            gate.wait(5)
        order.append(name)
        return name

    return run


def test_more_jobs_than_workers_are_served_in_order_of_arrival():
    pool = TrainingPool(workers=2)
    order: list[str] = []
    gate = threading.Event()
    jobs = [
        pool.submit(f"k{i}", _gate_job(order, f"k{i}", gate if i < 2 else None), f"s{i}") for i in range(7)
    ]
    while jobs[1].started is None or jobs[0].started is None:
        time.sleep(0.01)
    assert [pool.position(job) for job in jobs] == [0, 0, 1, 2, 3, 4, 5]  # two running, five in line
    assert pool.estimate(jobs[6]) > pool.estimate(jobs[2]) > 0
    gate.set()
    assert all(job.wait(5) for job in jobs)
    started = sorted(jobs, key=lambda job: job.started)  # set when a worker takes the job from the line
    assert [job.key for job in started] == [f"k{i}" for i in range(7)]
    assert [job.result for job in jobs] == [f"k{i}" for i in range(7)] and {job.state for job in jobs} == {
        DONE
    }
    pool.close()


def test_the_same_key_is_one_job_for_every_session():
    pool = TrainingPool(workers=1)
    gate, order = threading.Event(), []
    first = pool.submit("busy", _gate_job(order, "busy", gate), "s0")
    a = pool.submit("same", _gate_job(order, "same"), "s1")
    b = pool.submit("same", _gate_job(order, "same"), "s2")
    assert a is b and a.sessions == {"s1", "s2"}
    pool.cancel(a, "s1")  # one session leaves; the other still waits
    gate.set()
    assert first.wait(5) and a.wait(5) and a.state == DONE and order == ["busy", "same"]
    pool.close()


def test_a_closed_sessions_queued_job_leaves_the_line_and_never_runs():
    alive = {"s0", "s1", "s2"}
    pool = TrainingPool(workers=1, is_alive=lambda session: session in alive)
    gate, order = threading.Event(), []
    busy = pool.submit("busy", _gate_job(order, "busy", gate), "s0")
    closed = pool.submit("closed", _gate_job(order, "closed"), "s1")
    waiting = pool.submit("waiting", _gate_job(order, "waiting"), "s2")
    while busy.started is None:  # the worker has taken the first job
        time.sleep(0.01)
    assert pool.position(waiting) == 2
    alive.discard("s1")  # the tab of s1 is closed
    assert pool.position(waiting) == 1  # s1's job left the line at once
    assert closed.finished and closed.state == CANCELLED and isinstance(closed.error, TrainingCancelled)
    gate.set()
    assert busy.wait(5) and waiting.wait(5)
    assert order == ["busy", "waiting"]
    pool.close()


def test_a_closed_tab_keeps_its_running_job_for_a_reload_but_not_its_place_in_line():
    """Running: judged by `is_alive` (the reload grace: the reloaded page will look for the model).
    Queued: judged by the stricter `is_waiting`, so the line does not wait on a closed tab."""
    waiting = {"s0", "s1"}
    pool = TrainingPool(workers=1, is_alive=lambda session: True, is_waiting=lambda s: s in waiting)
    gate, order = threading.Event(), []
    running = pool.submit("running", _gate_job(order, "running", gate), "s0")
    queued = pool.submit("queued", _gate_job(order, "queued"), "s0")
    other = pool.submit("other", _gate_job(order, "other"), "s1")
    while running.started is None:
        time.sleep(0.01)
    waiting.discard("s0")  # s0's tab closed: its queued job leaves, its running one goes on
    assert pool.position(other) == 1 and queued.state == CANCELLED
    running.record("epoch 1")  # still somebody's (within the grace): no TrainingCancelled
    gate.set()
    assert running.wait(5) and other.wait(5) and running.state == DONE
    assert order == ["running", "other"]
    pool.close()


def _epochs_job(epochs: list[int], n: int = 100):
    """A training of `n` short epochs that records each (and stops there once nobody waits)."""

    def run(job):
        for epoch in range(n):
            job.record(epoch)
            epochs.append(epoch)
            time.sleep(0.01)
        return "finished"

    return run


def test_a_cancelled_running_job_stops_at_its_next_epoch():
    pool = TrainingPool(workers=1)
    epochs: list[int] = []
    job = pool.submit("long", _epochs_job(epochs), "s1")
    while not epochs:
        time.sleep(0.01)
    pool.cancel(job, "s1")
    assert job.wait(5) and job.state == CANCELLED and len(epochs) < 100
    pool.close()


def test_a_failing_job_hands_its_error_to_the_waiters():
    pool = TrainingPool(workers=1)

    def run(job):
        raise ValueError("bad config")

    job = pool.submit("bad", run, "s1")
    assert job.wait(5) and isinstance(job.error, ValueError)
    pool.close()


def _mb(n: int) -> np.ndarray:
    return np.zeros(n * 2**20, dtype=np.uint8)


def test_the_store_is_bounded_by_bytes_not_by_count():
    store = ByteStore(max_bytes=10 * 2**20)
    for key in "abcd":
        store.get_or_create(key, lambda: _mb(3), "s")
    assert "a" not in store and len(store) == 3 and store.total_bytes == 9 * 2**20
    store.get("b")  # used recently: "c" goes next
    store.get_or_create("e", lambda: _mb(4), "s")
    assert "b" in store and "c" not in store and store.total_bytes <= 10 * 2**20
    many_small = ByteStore(max_bytes=10 * 2**20)
    for key in range(100):
        many_small.get_or_create(key, lambda: np.zeros(1000), "s")
    assert len(many_small) == 100  # a count bound would have dropped most of these
    value, cached = store.get_or_create("huge", lambda: _mb(11), "s")
    assert len(value) == 11 * 2**20 and not cached and "huge" not in store  # bigger than the whole bound


def test_entries_of_ended_sessions_are_released():
    store = ByteStore(max_bytes=100 * 2**20)
    store.get_or_create("mine", lambda: _mb(1), "gone")
    store.get_or_create("shared", lambda: _mb(1), "gone")
    store.get("shared", "here")
    assert store.release_ended(lambda session: session == "here") == 1
    assert "mine" not in store and "shared" in store


def test_nbytes_counts_arrays_tensors_and_models():
    import torch

    from collab.data.ratings import Ratings

    ratings = Ratings(
        user_ids=np.array([0, 1]), item_ids=np.array([1, 0]), ratings=np.array([1.0, 2.0], dtype=np.float32),
        user_labels=np.array(["a", "b"]), item_labels=np.array(["x", "y"]),
    )  # fmt: skip
    assert nbytes(ratings) == 16 + 16 + 8 + 8 + 8
    assert nbytes(torch.nn.Linear(10, 4)) == (40 + 4) * 4


@pytest.mark.parametrize("workers", [0, -1])
def test_a_pool_needs_a_worker(workers):
    with pytest.raises(ValueError, match="at least 1"):
        TrainingPool(workers)


def test_the_same_key_is_created_once_however_many_sessions_ask_at_once():
    store = ByteStore(max_bytes=10 * 2**20)
    calls: list[int] = []

    def create():
        calls.append(1)
        time.sleep(0.05)
        return np.zeros(10)

    outcomes: list[bool] = []
    threads = [
        threading.Thread(target=lambda s=s: outcomes.append(store.get_or_create("k", create, s)[1]))
        for s in "abcdef"
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and sorted(outcomes) == [False] + [True] * 5


def test_reruns_do_not_stop_the_server_for_a_full_collection() -> None:
    """Streamlit's gc.collect(2) after every rerun held the GIL ~0.13 s per rerun (two thirds of the
    server's time with 30 sessions training): it is off, and the modules loaded at start are frozen
    out of the collector so Python's own full collections stay short."""
    import gc
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).parents[2] / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
    from ui import cached

    before = gc.get_freeze_count()
    try:
        cached._freeze_loaded_objects()
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


class _Epoch:
    def __init__(self, epoch: int, epochs: int) -> None:
        self.epoch, self.epochs = epoch, epochs


def test_the_estimate_follows_the_running_jobs_own_pace_not_the_mean():
    """A tester saw "about 3 s until done" for a minute behind a training that needed 4 more minutes."""
    pool = TrainingPool(workers=1)
    gate = threading.Event()
    running = pool.submit("slow", lambda job: gate.wait(5), "s0")
    queued = pool.submit("next", lambda job: None, "s1")
    while running.started is None:
        time.sleep(0.01)
    running.started -= 10.0  # 10 s in, 1 epoch of 10 done: 90 s left at its pace
    running.history.append(_Epoch(1, 10))
    assert pool.estimate(running) == pytest.approx(90, rel=0.05)
    assert pool.estimate(queued) > 90  # waits for it, then runs (the mean: 2 s before any has finished)
    running.history.clear()  # no epoch yet, already past the mean: not "0 s"
    assert pool.estimate(running) > 0
    gate.set()
    assert queued.wait(5)
    pool.close()


def test_a_training_that_starts_at_once_still_reaches_on_wait_for_its_cancel_button(monkeypatch):
    """The Cancel button is drawn by on_wait: a job that never queued must reach it too (it used to be
    called only while queued, so a lone student's long training had no Cancel)."""
    import dataclasses
    import types

    import collab.training.loop
    from collab.training.config import TrainConfig
    from ui import cached

    @dataclasses.dataclass
    class Result:
        dataset: str = ""

    def slow_train(train, valid, config, on_epoch=None):
        time.sleep(0.8)
        return Result()

    monkeypatch.setattr(collab.training.loop, "train", slow_train)
    seen: list[tuple[str, int]] = []
    split = types.SimpleNamespace(train=None, valid=None)
    result, from_store = cached.train(
        split, "fingerprint-on-wait", ("test", time.time()), TrainConfig(n_factors=3),
        on_wait=lambda job, pool: seen.append((job.state, pool.position(job))),
    )  # fmt: skip
    assert isinstance(result, Result) and not from_store
    assert seen and seen[0] == ("running", 0)


def test_a_cancel_after_a_reload_is_not_outvoted_by_the_closed_tab_kept_for_the_reload():
    # the old tab's session stays alive for the reload grace; the reloaded page (a new session) follows
    # the job and presses Cancel: the training stops, instead of running on for the closed tab
    connected = {"reloaded"}
    pool = TrainingPool(workers=1, is_alive=lambda session: True, is_connected=lambda s: s in connected)
    epochs: list[int] = []
    run = _epochs_job(epochs, 200)
    job = pool.submit("long", run, "closed tab")
    assert pool.submit("long", run, "reloaded") is job  # the reloaded page follows the same job
    assert [j.id for j in pool.jobs_of("reloaded")] == [job.id] and pool.jobs_of("nobody") == []
    while not epochs:
        time.sleep(0.01)
    pool.cancel(job, "reloaded")
    assert job.wait(5) and job.state == CANCELLED and len(epochs) < 200
    assert pool.jobs_of("reloaded") == []
    pool.close()


def test_a_job_everybody_cancelled_is_not_found_to_be_followed_while_it_winds_down():
    pool = TrainingPool(workers=1)
    gate = threading.Event()
    job = pool.submit("key", _gate_job([], "job", gate), "s1")
    while job.started is None:
        time.sleep(0.01)
    assert pool.find("key") is job
    pool.cancel(job, "s1")  # it stops at its next epoch; a reloaded page must not rejoin it meanwhile
    assert pool.find("key") is None and not job.finished
    gate.set()
    assert job.wait(5)
    pool.close()


def test_the_line_is_round_robin_between_sessions():
    """One session's twenty jobs (a sweep, clicks) hold a classmate's job up by one turn, not twenty:
    its place is 2 in line, the estimate says so, and it starts right after the spammer's next job."""
    from ui.pool import TrainingPool as Pool

    pool = Pool(workers=1)
    gate, order = threading.Event(), []
    busy = pool.submit("busy", _gate_job(order, "busy", gate), "spammer")
    while busy.started is None:
        time.sleep(0.01)
    spam = [pool.submit(f"spam{i}", _gate_job(order, f"spam{i}"), "spammer") for i in range(20)]
    mine = pool.submit("mine", _gate_job(order, "mine"), "bystander")
    assert pool.position(mine) == 1  # the spammer was just served: the bystander's turn is next
    assert pool.position(spam[0]) == 2 and pool.position(spam[1]) == 3
    assert pool.estimate(mine) < pool.estimate(spam[1])
    gate.set()
    assert all(job.wait(5) for job in [mine, *spam])
    assert order[:3] == ["busy", "mine", "spam0"]
    pool.close()


def test_an_exclusive_click_replaces_its_own_queued_job_and_is_refused_while_its_own_runs():
    from ui.pool import LineRefused

    pool = TrainingPool(workers=1)
    gate, order = threading.Event(), []
    other = pool.submit("other", _gate_job(order, "other", gate), "classmate")
    while other.started is None:
        time.sleep(0.01)
    first = pool.submit("a", _gate_job(order, "a", gate), "s", exclusive=True)
    second = pool.submit("b", _gate_job(order, "b", gate), "s", exclusive=True)  # replaces "a"
    assert first.state == CANCELLED and pool.snapshot()["queued"] == 1
    shared = pool.submit("c", _gate_job(order, "c"), "classmate")
    pool.submit("c", _gate_job(order, "c"), "s", exclusive=True)  # joins the classmate's queued job
    assert second.state == CANCELLED and shared.sessions == {"classmate", "s"}
    pool.cancel(shared, "s")  # cancelling takes back only this session's interest
    assert shared.sessions == {"classmate"} and shared.state != CANCELLED
    gate.set()
    assert other.wait(5) and shared.wait(5) and order == ["other", "c"]
    slow_gate = threading.Event()
    running = pool.submit("d", _gate_job(order, "d", slow_gate), "s", exclusive=True)
    while running.started is None:
        time.sleep(0.01)
    with pytest.raises(LineRefused, match="still running"):
        pool.submit("e", _gate_job(order, "e"), "s", exclusive=True)
    pool.submit("e", _gate_job(order, "e"), "s")  # a sweep's jobs are not exclusive
    slow_gate.set()
    pool.close()
