"""A bounded training pool: a few worker threads serve every session's trainings, round-robin between sessions.

One thread per click lets 30 students' trainings fight over 2 cores (each takes 30x longer and all
their memory is held at once). Here a fixed number of workers (`Budget.train_workers`: cores minus
one, within the memory budget) take jobs in turns between sessions: the next job is the one whose
session was served least recently (first come, first served among equals), so one session's twenty
jobs (a sweep, or clicks) hold a classmate up by at most one job each turn. A submission marked
`exclusive` (the Train page) keeps a session to one job in the line: it replaces the session's own
queued job, or is refused (`LineRefused`, with the reason) while the session's own training runs. A
waiting session sees its place in the serving order and an estimate, and can cancel. Jobs are keyed like the model store: a second session
asking for the same (dataset, split, config) joins the job already queued instead of adding one.
A job whose sessions have all cancelled or closed leaves the line (or stops at its next epoch).

The pool knows nothing about Streamlit: `is_alive(session_id)` is passed in (see ui/cached.py), and
optionally a stricter `is_waiting(session_id)` for queued jobs: a running job of a closed tab may
finish for the reloaded page that will look for its model, but a queued one should not hold up the
line for the same grace.
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FIRST_ESTIMATE_S = 2.0  # a training's expected seconds before any has finished on this server


class TrainingCancelled(Exception):
    """Raised for a job whose every session cancelled or closed before it finished."""


class LineRefused(Exception):
    """An exclusive submission refused: the session's own training is running (the message says so)."""


@dataclass(eq=False)
class Job:
    """One queued or running computation and the sessions waiting for it."""

    key: Hashable
    run: Callable[[Job], Any]  # called on a worker thread with the job (for `record` and `cancelled`)
    sessions: set[str]
    id: int = 0
    state: str = QUEUED
    result: Any = None
    error: BaseException | None = None
    history: list[Any] = field(default_factory=list)  # per-epoch stats: bounded by the config's epochs
    is_alive: Callable[[str], bool] = lambda session: True
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished_event: threading.Event = field(default_factory=threading.Event)

    @property
    def cancelled(self) -> bool:
        return not self.sessions

    @property
    def finished(self) -> bool:
        return self.finished_event.is_set()

    def record(self, stats: Any) -> None:
        """Keep one epoch's stats for the waiting pages; stop the training when nobody waits any more."""
        self.sessions = {session for session in self.sessions if self.is_alive(session)}
        if self.cancelled:
            raise TrainingCancelled
        self.history.append(stats)

    def wait(self, timeout: float) -> bool:
        return self.finished_event.wait(timeout)


class TrainingPool:
    """`workers` threads serving a first-come, first-served line of `Job`s."""

    def __init__(
        self,
        workers: int,
        is_alive: Callable[[str], bool] = lambda session: True,
        is_waiting: Callable[[str], bool] | None = None,
        is_connected: Callable[[str], bool] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.workers = workers
        self.is_alive = is_alive  # running jobs: stop at the next epoch without a live session
        self.is_waiting = is_waiting or is_alive  # queued jobs: leave the line without one
        # a page open right now (no grace): a Cancel is not outvoted by a closed tab kept for its reload
        self.is_connected = is_connected or (lambda session: True)
        self._line: collections.deque[Job] = collections.deque()
        self._running: list[Job] = []
        self._by_key: dict[Hashable, Job] = {}
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._mean_seconds = FIRST_ESTIMATE_S
        self._served: dict[str, int] = {}  # session -> turn it was last served (round-robin)
        self._threads: list[threading.Thread] = []
        self._closed = False

    # ---- sessions' side ----

    def submit(self, key: Hashable, run: Callable[[Job], Any], session: str, exclusive: bool = False) -> Job:
        """The job for `key` (joined if queued or running, else added to the line). With `exclusive`, the
        session's other jobs are let go first: queued ones it waits for alone leave the line, shared ones
        keep going for the others; raises `LineRefused` while a job only it waits for is running."""
        with self._cond:
            if exclusive:
                self._leave_others(key, session)
            job = self._by_key.get(key)
            if job is not None and not job.finished:
                job.sessions.add(session)
                return job
            self._prune()
            job = Job(key=key, run=run, sessions={session}, id=next(self._ids), is_alive=self.is_alive)
            self._by_key[key] = job
            self._line.append(job)
            self._start_threads()
            self._cond.notify()
            return job

    def _leave_others(self, key: Hashable, session: str) -> None:
        mine = [job for job in [*self._running, *self._line] if session in job.sessions and job.key != key]
        for job in mine:
            if job.state == RUNNING and job.sessions == {session}:
                raise LineRefused(
                    "your previous training is still running; wait for it to finish or press its Cancel, "
                    "then train these settings (one training per student at a time keeps the line fair)"
                )
        for job in mine:
            job.sessions.discard(session)
            if job.cancelled and job.state == QUEUED:
                self._drop(job)

    def find(self, key: Hashable) -> Job | None:
        """The queued or running job for `key`, if there is one that somebody still waits for (a job every
        session cancelled runs on only to its next epoch)."""
        with self._cond:
            job = self._by_key.get(key)
            return job if job is not None and not job.finished and not job.cancelled else None

    def cancel(self, job: Job, session: str) -> None:
        """`session` stops waiting for `job`; without sessions left it leaves the line (or stops). Sessions
        whose page is closed (kept only so that a reload finds the job) stop waiting too: after a reload the
        old tab's session must not keep running what the reloaded page cancelled."""
        with self._cond:
            job.sessions.discard(session)
            job.sessions = {other for other in job.sessions if self.is_connected(other)}
            if job.cancelled and job.state == QUEUED:
                self._drop(job)

    def leave(self, session: str) -> None:
        """A closed session stops waiting for every job."""
        with self._cond:
            for job in [*self._line, *self._running]:
                if session in job.sessions:
                    job.sessions.discard(session)
                    if job.cancelled and job.state == QUEUED:
                        self._drop(job)

    def jobs_of(self, session: str) -> list[Job]:
        """The queued and running jobs `session` waits for, oldest first."""
        with self._cond:
            return sorted(
                (
                    job
                    for job in [*self._running, *self._line]
                    if session in job.sessions and not job.finished
                ),
                key=lambda job: job.id,
            )

    def position(self, job: Job) -> int:
        """0 while running (or finished), else its place in the serving order (round-robin between
        sessions, see `_pick`): how many queued jobs will start before it, plus one."""
        with self._cond:
            self._prune()
            if job.state != QUEUED:
                return 0
            line, served = list(self._line), dict(self._served)
            place = 1
            while line:
                chosen = self._pick(line, served)
                if chosen is job:
                    return place
                line.remove(chosen)
                for session in chosen.sessions:
                    served[session] = max(served.values(), default=0) + 1
                place += 1
            return 0

    @staticmethod
    def _pick(line: list[Job] | collections.deque[Job], served: dict[str, int]) -> Job:
        """The next job to start: the one whose most-waiting session was served least recently (a session
        never served first), then the oldest."""
        return min(line, key=lambda job: (min((served.get(s, 0) for s in job.sessions), default=0), job.id))

    def estimate(self, job: Job) -> float:
        """Seconds until `job` is done: a running job from its own pace (seconds per recorded epoch, when
        its history items have `epoch` and `epochs`), a job not yet started from the mean time of the
        trainings finished so far."""
        with self._cond:
            mean = self._mean_seconds
            now = time.monotonic()
            if job.state == RUNNING:
                return self._left(job, mean, now)
            ahead = self.position(job) - 1
            running_left = sum(self._left(other, mean, now) for other in self._running)
            # the jobs ahead and the ones running share the workers; then this one runs
            return (running_left + ahead * mean) / self.workers + mean

    @staticmethod
    def _left(job: Job, mean: float, now: float) -> float:
        elapsed = now - (job.started or now)
        last = job.history[-1] if job.history else None
        done, total = getattr(last, "epoch", None), getattr(last, "epochs", None)
        if isinstance(done, int) and isinstance(total, int) and 0 < done <= total:
            return elapsed / done * (total - done)
        return max(mean - elapsed, 0.1 * mean)  # slower than the mean so far: not "0 s"

    def snapshot(self) -> dict[str, int]:
        with self._cond:
            return {"queued": len(self._line), "running": len(self._running), "workers": self.workers}

    def close(self) -> None:
        """Stop the workers after their current job (tests)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # ---- workers' side ----

    def _prune(self) -> None:
        """Queued jobs of closed sessions leave the line (their sessions never come back)."""
        for job in list(self._line):
            job.sessions = {session for session in job.sessions if self.is_waiting(session)}
            if job.cancelled:
                self._drop(job)

    def _drop(self, job: Job) -> None:
        self._line.remove(job)
        self._finish(job, CANCELLED, error=TrainingCancelled())

    def _finish(self, job: Job, state: str, result: Any = None, error: BaseException | None = None) -> None:
        job.state, job.result, job.error = state, result, error
        if self._by_key.get(job.key) is job:
            del self._by_key[job.key]
        job.run = _spent  # the closure holds the data split; let it go with the job
        job.finished_event.set()

    def _start_threads(self) -> None:
        while len(self._threads) < self.workers:
            thread = threading.Thread(
                target=self._work, name=f"training-{len(self._threads) + 1}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _next(self) -> Job | None:
        with self._cond:
            while True:
                if self._closed:
                    return None
                while self._line:
                    job = self._pick(self._line, self._served)
                    self._line.remove(job)
                    job.sessions = {s for s in job.sessions if self.is_waiting(s)}
                    if job.cancelled:
                        self._finish(job, CANCELLED, error=TrainingCancelled())
                        continue
                    turn = max(self._served.values(), default=0) + 1
                    for session in job.sessions:
                        self._served[session] = turn
                    job.state, job.started = RUNNING, time.monotonic()
                    self._running.append(job)
                    return job
                self._cond.wait()

    def _work(self) -> None:
        while (job := self._next()) is not None:
            try:
                result = job.run(job)
            except TrainingCancelled as error:
                outcome: tuple[str, Any, BaseException | None] = (CANCELLED, None, error)
            except BaseException as error:  # noqa: BLE001 - handed to the waiting sessions, shown there
                outcome = (FAILED, None, error)
            else:
                outcome = (DONE, result, None)
            with self._cond:
                self._running.remove(job)
                if outcome[0] == DONE and job.started is not None:
                    seconds = time.monotonic() - job.started
                    self._mean_seconds = 0.7 * self._mean_seconds + 0.3 * seconds
                self._finish(job, *outcome)


def _spent(job: Job) -> None:  # pragma: no cover - never called: a finished job does not run again
    raise RuntimeError("this job has finished")
