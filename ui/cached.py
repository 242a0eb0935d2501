"""Process-wide caches and the training pool, shared by every session of one server.

Training does not run inside an `st.cache_resource` function: elements updated from inside one
break on the next cache hit (CacheReplayClosureError). Instead a bounded, thread-safe store is
itself the cached resource, trainings run on the pool's worker threads (ui/pool.py), and the
page draws their progress from its own thread while it waits.

Everything here is bounded by the memory budget (ui/budget.py): the model store and the data
cache (splits, parsed MovieLens sets) by the bytes of their arrays, not by a count; an entry
only sessions that have ended asked for is dropped (a janitor thread looks every few seconds),
and the freed memory is handed back to the operating system.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import sys
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st

from ui import budget, uploads
from ui.pool import Job, LineRefused, TrainingCancelled, TrainingPool

if TYPE_CHECKING:
    from collab.data import Ratings, Split
    from collab.training.config import TrainConfig
    from collab.training.result import EpochStats, TrainResult

MODEL_SHARE = 0.4  # of the budget's cache bytes: trained models; the rest holds splits and datasets
JANITOR_SECONDS = 5.0  # how often ended sessions' entries are looked for
RELOAD_GRACE_SECONDS = 60.0  # a closed session's running training and models outlive it this long (a reload)
QUEUE_GRACE_SECONDS = 10.0  # and its queued training keeps its place this long (a dropped connection)
POLL_SECONDS = 0.2  # how often a page looks at its running job (new epochs to draw)
QUEUED_POLL_SECONDS = 0.5  # and at its queued job: 30 waiting pages must not keep the server busy
WAIT_REDRAW_SECONDS = 1.0  # a queued page's place and estimate are redrawn at least this often
LOCAL_SESSION = "local"  # outside a Streamlit server (scripts, bare mode)
WARM_UP_DELAY_S = 1.5  # after the first page's run, before the warm-up thread starts
KERNELS_MIN_MEMORY_MB = 1024  # numba costs 50-90 MB resident: smaller budgets keep the PyTorch path


# ---- sizes ----------------------------------------------------------------------------------------


def nbytes(value: object) -> int:
    """Bytes held by the arrays and tensors of a dataset, split, trained model or blend (shallow walk)."""
    seen: set[int] = set()

    def walk(item: object, depth: int) -> int:
        if item is None or id(item) in seen or depth > 4:
            return 0
        seen.add(id(item))
        if isinstance(item, np.ndarray):
            return int(item.nbytes)
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(item, torch.Tensor):
            return int(item.nelement() * item.element_size())
        if torch is not None and isinstance(item, torch.nn.Module):
            return sum(walk(t, depth + 1) for t in (*item.parameters(), *item.buffers()))
        if isinstance(item, list | tuple):  # a few arrays (a split's two sets), not a long list of numbers
            return sum(walk(x, depth + 1) for x in item[:16])
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return sum(walk(getattr(item, f.name), depth + 1) for f in dataclasses.fields(item))
        return 0

    return walk(value, 0)


# ---- sessions -------------------------------------------------------------------------------------


def session_id() -> str:
    """This browser session's id (the same across reruns), or "local" outside a server."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else LOCAL_SESSION


def real_server() -> bool:
    """True inside `streamlit run` (not under AppTest, which installs a mock Runtime)."""
    from streamlit.runtime import Runtime

    return Runtime.exists() and type(Runtime.instance()) is Runtime


_LAST_ALIVE: dict[str, float] = {}  # session -> when it was last seen active (for the reload grace)


def session_alive(session: str, grace: float = RELOAD_GRACE_SECONDS) -> bool:
    """False once the browser session has closed (its tab, or its websocket, is gone) for longer than
    `grace` seconds: a reload opens a new session, and the training the old one started (and the
    model it finished) must still be there for the new one, which finds it by the settings in the URL.
    A queued training is judged with `QUEUE_GRACE_SECONDS` instead (it has not started: a class's line
    should not wait a minute for a closed tab)."""
    from streamlit.runtime import Runtime

    if session == LOCAL_SESSION or not real_server():
        return True
    now = time.monotonic()
    if Runtime.instance().is_active_session(session):
        _LAST_ALIVE[session] = now
        return True
    # (entries stay: a few bytes per session, and a dropped one would start a fresh grace)
    return now - _LAST_ALIVE.setdefault(session, now) < grace


# ---- a byte-bounded store ---------------------------------------------------------------------------


@dataclasses.dataclass
class _Entry:
    value: Any
    size: int
    owners: set[str]


class WaitTooLong(Exception):
    """Another session's `create()` of the same key took longer than the caller would wait."""

    def __init__(self, waited: float) -> None:
        super().__init__(f"waited {waited:.0f} s")
        self.waited = waited


WAIT_STEP_SECONDS = 0.5  # how often a caller waiting on another session's create() hears about it


class ByteStore:
    """An LRU bounded by the bytes of its values, with one lock per key so each value is made once.

    Each entry remembers the sessions that asked for it; `release_ended` drops the entries whose
    sessions have all ended. A value larger than the whole bound is returned but not kept.
    """

    def __init__(self, max_bytes: int, sizeof: Callable[[Any], int] = nbytes) -> None:
        self.max_bytes = max_bytes
        self.sizeof = sizeof
        self._items: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return sum(entry.size for entry in self._items.values())

    def get(self, key: Hashable, owner: str | None = None) -> Any | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            self._items.move_to_end(key)
            if owner is not None:
                entry.owners.add(owner)
            return entry.value

    def put(self, key: Hashable, value: Any, owner: str) -> None:
        size = self.sizeof(value)
        with self._lock:
            if size > self.max_bytes:
                return  # kept by whoever holds it, not by every session's cache
            self._items[key] = _Entry(value, size, {owner})
            self._items.move_to_end(key)
            total = sum(entry.size for entry in self._items.values())
            while total > self.max_bytes:
                evicted, entry = self._items.popitem(last=False)
                total -= entry.size
                self._key_locks.pop(evicted, None)

    def get_or_create(
        self,
        key: Hashable,
        create: Callable[[], Any],
        owner: str = LOCAL_SESSION,
        on_wait: Callable[[float], None] | None = None,
        wait_limit: float | None = None,
    ) -> tuple[Any, bool]:
        """The value for `key` and whether it came from the store; `create()` runs at most once at a time per key.

        While another caller creates it, `on_wait(seconds waited)` is called every `WAIT_STEP_SECONDS` (a page
        redraws its note there, which is where Streamlit stops a script whose student left or clicked
        elsewhere); past `wait_limit` seconds `WaitTooLong` is raised."""
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        started = time.monotonic()
        while not key_lock.acquire(timeout=WAIT_STEP_SECONDS if on_wait or wait_limit else -1):
            waited = time.monotonic() - started
            if wait_limit is not None and waited > wait_limit:
                raise WaitTooLong(waited)
            if on_wait is not None:
                on_wait(waited)
        try:
            found = self.get(key, owner)
            if found is not None:
                return found, True
            value = create()
            self.put(key, value, owner)
            return value, False
        finally:
            key_lock.release()

    def release_ended(self, alive: Callable[[str], bool]) -> int:
        """Drop entries whose sessions have all ended; how many were dropped."""
        with self._lock:
            ended = []
            for key, entry in self._items.items():
                entry.owners = {owner for owner in entry.owners if alive(owner)}
                if not entry.owners:
                    ended.append(key)
            for key in ended:
                del self._items[key]
                self._key_locks.pop(key, None)
            return len(ended)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items


ModelStore = ByteStore  # the name pages and tests knew


@st.cache_resource(show_spinner=False)
def model_store() -> ByteStore:
    """The server's one model store (cleared with `st.cache_resource.clear()`)."""
    return ByteStore(int(budget.current().cache_bytes * MODEL_SHARE))


@st.cache_resource(show_spinner=False)
def data_store() -> ByteStore:
    """Splits and parsed MovieLens sets, bounded by bytes."""
    return ByteStore(int(budget.current().cache_bytes * (1 - MODEL_SHARE)))


@st.cache_resource(show_spinner=False)
def training_pool() -> TrainingPool:
    """The server's training workers (their number: `Budget.train_workers`)."""
    return TrainingPool(
        budget.current().train_workers,
        is_alive=session_alive,
        is_waiting=functools.partial(session_alive, grace=QUEUE_GRACE_SECONDS),
        is_connected=functools.partial(session_alive, grace=0.0),
    )


@st.cache_resource(show_spinner=False)
def janitor() -> threading.Thread:
    """A thread that drops ended sessions' models and data, and uploads no widget holds (ui/uploads.py),
    and returns the memory to the system."""
    stores = (model_store(), data_store())

    def sweep() -> None:
        while True:
            time.sleep(JANITOR_SECONDS)
            released = sum(store.release_ended(session_alive) for store in stores)
            released += uploads.release_all(functools.partial(session_alive, grace=0.0))
            if released:
                budget.release_memory()

    thread = threading.Thread(target=sweep, name="cache-janitor", daemon=True)
    thread.start()
    return thread


# ---- datasets ---------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def demo() -> Ratings:
    """The built-in demo set (generated once per server)."""
    from collab.data.demo import demo_ratings

    return demo_ratings(seed=0)


_CONTENT_KEYS: weakref.WeakKeyDictionary[Ratings, str] = weakref.WeakKeyDictionary()


def content_key(ratings: Ratings) -> str:
    """A digest of everything a dataset shows beyond its ratings: its name, titles and genres (an items
    file). The fingerprint covers ids, labels and ratings only (a model stays valid when titles change),
    so a cache that hands out the dataset's parts (a split, its titles in downloads) keys by both: two
    students with the same ratings and different items files each get their own titles."""
    found = _CONTENT_KEYS.get(ratings)
    if found is not None:
        return found
    digest = hashlib.sha256(ratings.name.encode("utf-8", "surrogatepass"))
    for part in (ratings.titles, ratings.genres):
        digest.update(b"\x00none" if part is None else b"\x00some")
        if part is not None:
            for value in part:
                digest.update(repr(value).encode("utf-8", "surrogatepass") + b"\x1f")
    key = digest.hexdigest()[:32]
    _CONTENT_KEYS[ratings] = key
    return key


def split(_ratings: Ratings, fingerprint: str, params: Hashable) -> Split:
    """`_ratings.split(...)` by `params`, cached by the dataset's fingerprint and `content_key` (titles,
    genres, name: a split carries them into pages and downloads), bounded by bytes."""
    janitor()
    value, _ = data_store().get_or_create(
        ("split", fingerprint, content_key(_ratings), params),
        lambda: _ratings.split(valid_pct=params.valid_pct, seed=params.seed, method=params.method),
        session_id(),
    )
    return value


def keep_upload(ratings: Ratings, source: str) -> None:
    """Hold an uploaded dataset in the byte-bounded data store under its fingerprint, so a reload (or a
    link naming the fingerprint, on this server) finds it again; evicted like any other dataset when the
    memory budget needs the room, and dropped a minute after the last session using it has closed."""
    janitor()
    data_store().put(("upload", ratings.fingerprint), (ratings, source), session_id())


def kept_upload(fingerprint: str) -> tuple[Ratings, str] | None:
    """The uploaded dataset (and its source line) held under `fingerprint`, or None once it is gone."""
    return data_store().get(("upload", fingerprint), session_id())


DOWNLOADS: dict[str, tuple[int, int | None]] = {}  # MovieLens name -> (bytes done, total) while it loads


def movielens_wait_limit() -> float:
    """How long a session waits for another's load of the same MovieLens set: the download's own
    deadline, its checksum's, and a minute to connect, extract and parse."""
    from collab.data import movielens as ml

    return ml.DOWNLOAD_DEADLINE_S + ml.CHECKSUM_DEADLINE_S + 60.0


def movielens(
    name: str,
    progress: Callable[[int, int | None], None] | None = None,
    on_wait: Callable[[float, tuple[int, int | None] | None], None] | None = None,
) -> Ratings:
    """A MovieLens set parsed once per server and shared by its sessions (the zip is cached on disk by
    the core); `progress` sees the download when this call is the one that loads it. While another
    session loads it, `on_wait(seconds waited, its (bytes done, total) or None)` is called twice a second
    (the page redraws there, so its student can leave or cancel); past `movielens_wait_limit()` this
    raises `DataError` saying so."""
    from collab.data import DataError
    from collab.data.movielens import load_movielens

    def load() -> Ratings:
        def shared_progress(done: int, total: int | None) -> None:
            DOWNLOADS[name] = (done, total)
            if progress is not None:
                progress(done, total)

        try:
            return load_movielens(name, progress=shared_progress)
        finally:
            DOWNLOADS.pop(name, None)

    limit = movielens_wait_limit()
    try:
        value, _ = data_store().get_or_create(
            ("movielens", name),
            load,
            session_id(),
            on_wait=None if on_wait is None else (lambda waited: on_wait(waited, DOWNLOADS.get(name))),
            wait_limit=limit,
        )
    except WaitTooLong as waited:
        raise DataError(
            f"another session has been loading MovieLens {name} for over {waited.waited:.0f} s (the most this "
            "page waits for it), so this page stopped waiting. Try again in a minute, or use the built-in "
            "demo set."
        ) from None
    return value


_WARM = {"torch": False, "kernels": False}  # set by the warm-up thread when each part is ready


def device_label_if_ready() -> str:
    """The device label without importing torch on this thread: "CPU" on a host with no GPU driver,
    else the real label once the warm-up thread has imported torch (the sidebar of a first page)."""
    if _WARM["torch"]:
        return device_label()
    if os.path.exists("/proc/driver/nvidia/version") or sys.platform == "darwin":
        return "checking…"
    return "CPU"


@st.cache_resource(show_spinner=False)
def server_start() -> None:
    """Once per server, after the first page is drawn: sweep stale partial downloads, let pyarrow
    allocate with malloc (so freed reads go back to the system), and warm up training off the
    request path: import torch, load the compiled kernels and train a tiny model, so the first click
    on Train pays for none of it. When the kernels are ready they become the app's default for the
    dot model (`COLLAB_KERNELS=1`, unless the environment chose)."""
    if real_server():  # not AppTest, whose process runs other tests too
        budget.use_system_allocator_for_arrow()
        uploads.follow_budget(budget.current().upload_mb)  # Streamlit's endpoint accepts what the budget does
        # a moment later: importing torch holds the GIL, and the first page is still being sent
        timer = threading.Timer(WARM_UP_DELAY_S, _warm_up)
        timer.daemon = True
        timer.start()
    else:
        _sweep()


def _sweep() -> None:
    from collab.data.movielens import sweep_partial_downloads

    sweep_partial_downloads()


def _warm_up() -> None:
    try:
        _sweep()
        device_label()
        _WARM["torch"] = True
        from collab import kernels
        from collab.data import Ratings
        from collab.training.config import TrainConfig
        from collab.training.loop import train as train_model

        if kernels.available() and budget.current().memory_mb >= KERNELS_MIN_MEMORY_MB:
            kernels._compiled()  # noqa: SLF001 - loads numba's on-disk cache (or compiles, once per install)
            os.environ.setdefault("COLLAB_KERNELS", "1")
        n = 64
        rng = np.random.default_rng(0)
        tiny = Ratings(
            user_ids=rng.integers(0, 8, n), item_ids=rng.integers(0, 8, n),
            ratings=rng.integers(1, 6, n).astype(np.float32),
            user_labels=np.arange(8).astype(str), item_labels=np.arange(8).astype(str),
        )  # fmt: skip
        train_model(tiny, tiny, TrainConfig(n_factors=4, epochs=1, batch_size=8, device="cpu"))
        _WARM["kernels"] = True
        import plotly.graph_objects as go

        from collab.plots.format import white

        white(go.Figure(go.Scatter(x=[0, 1], y=[0, 1]))).update_layout(title="warm-up").to_json()
    except Exception:  # noqa: BLE001 - a warm-up that fails only means the first training warms up instead
        pass
    _freeze_loaded_objects()


def _freeze_loaded_objects() -> None:
    """Move every object alive now (the modules of torch, plotly, pandas, streamlit and ours: ~280k)
    out of the cyclic garbage collector's reach. A full collection then scans only what sessions made
    since (0.13 s -> ~0 s on an idle server): with Streamlit's per-rerun collection off (.streamlit/
    config.toml, runner.postScriptGC) Python's own gen-2 collections would otherwise stall every
    session for that long. Frozen objects are still freed by reference counting; only cycles among
    them are never collected, which for loaded modules (alive until exit) costs nothing."""
    import gc

    gc.collect()
    gc.freeze()


@functools.cache  # not st.cache_resource: the warm-up thread calls it outside any script run
def device_label() -> str:
    """What `device='auto'` trains on here: a CUDA device name, MPS, or CPU."""
    import torch

    if (os.cpu_count() or 1) <= 4:
        # small shared hosts (Community Cloud, 2-core CI): one intra-op thread trains these small
        # models fastest; a second thread mostly spins against the server's own work
        torch.set_num_threads(1)
    if torch.cuda.is_available():
        return f"CUDA: {torch.cuda.get_device_name(0)}"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "Apple MPS"
    return "CPU"


# ---- training -----------------------------------------------------------------------------------------


def stored(fingerprint: str, split_key: Hashable, config: TrainConfig) -> TrainResult | None:
    """The model already trained for this data, split and config, if the store still has it."""
    return model_store().get((fingerprint, split_key, config), session_id())


def pending(fingerprint: str, split_key: Hashable, config: TrainConfig) -> Job | None:
    """The training of this data, split and config that is queued or running now, if any."""
    return training_pool().find((fingerprint, split_key, config))


def my_jobs() -> list[Job]:
    """The trainings this session waits for (queued or running), oldest first."""
    return training_pool().jobs_of(session_id())


def train(
    data_split: Split,
    fingerprint: str,
    split_key: Hashable,
    config: TrainConfig,
    on_epoch: Callable[[EpochStats], bool | None] | None = None,
    on_wait: Callable[[Job, TrainingPool], None] | None = None,
    exclusive: bool = False,
) -> tuple[TrainResult, bool]:
    """Train `config` on the split through the pool, or return the stored model for the same data, split
    and config. Blocks the calling page; `on_epoch(stats)` and `on_wait(job, pool)` (first when the job is
    known, then while it is queued and once when it starts) run on the caller's thread, so they may draw.

    Returns the result and True when it came from the cache. Raises `TrainingCancelled` when every
    session waiting for it cancelled, `LineRefused` for an `exclusive` submission (the Train page: one
    training per session in the line, see ui/pool.py) while this session's own training runs, and
    whatever training raised.
    """
    from collab.training.loop import train as train_model

    key = (fingerprint, split_key, config)
    session = session_id()
    store = model_store()
    found = store.get(key, session)
    if found is not None:
        return found, True

    def run(job: Job) -> tuple[TrainResult, bool]:
        def create() -> TrainResult:
            result = train_model(data_split.train, data_split.valid, config, on_epoch=job.record)
            return dataclasses.replace(result, dataset=fingerprint)  # saved with the model, checked on upload

        return store.get_or_create(key, create, session)

    janitor()
    pool = training_pool()
    job = pool.submit(key, run, session, exclusive=exclusive)
    seen, shown_place, shown_at = 0, None, 0.0
    try:
        while True:
            if job.wait(POLL_SECONDS if job.state != "queued" else QUEUED_POLL_SECONDS):
                break  # done: the page draws the whole history next, so the epochs are not replayed
            if on_wait is not None:
                # once as soon as the job is known (the page's Cancel button, queued or not), then when
                # the line moves or it starts, and every WAIT_REDRAW_SECONDS while queued (the estimate)
                place = pool.position(job)
                now = time.monotonic()
                if place != shown_place or (place and now - shown_at >= WAIT_REDRAW_SECONDS):
                    on_wait(job, pool)
                    shown_place, shown_at = place, now
            if on_epoch is not None:
                while seen < len(job.history):
                    on_epoch(job.history[seen])
                    seen += 1
    except BaseException:
        # the page was stopped (a click elsewhere, the tab closed): the job stays for other waiters;
        # a session that no longer waits leaves it, so an orphaned job leaves the line
        if not job.finished and not session_alive(session):
            pool.cancel(job, session)
        raise
    if job.error is not None:
        raise job.error
    result, from_store = job.result
    for other in list(job.sessions):
        store.get(key, other)  # every session that waited owns the stored model
    return result, from_store


def cancel(job: Job) -> None:
    """This session stops waiting for `job` (a Cancel button's callback)."""
    training_pool().cancel(job, session_id())


__all__ = [
    "ByteStore",
    "LineRefused",
    "ModelStore",
    "TrainingCancelled",
    "cancel",
    "my_jobs",
    "nbytes",
    "stored",
    "train",
]
