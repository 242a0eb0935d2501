"""One memory budget for a server: what the caches, the upload limit and the training pool may use.

One setting, `memory_mb`: the memory of the host the app runs on (default 1024, a Streamlit
Community Cloud app). It is read from the environment variable `COLLAB_MEMORY_MB`, else from
`memory_mb = ...` in the TOML file named by `COLLAB_CONFIG`, else from `.streamlit/collab.toml`
in the working directory. Everything else is derived from it here, so one number moves them all:

- `base_bytes`: what the server itself holds (Python, Streamlit, torch, numba, the demo set);
- `cache_bytes`: trained models plus split and parsed-dataset caches, summed by array bytes;
- `upload_bytes`: the largest upload accepted: `STUDENTS_AT_ONCE` students each reading and holding one
  (`HELD_PER_FILE_BYTE` times the file) while the training workers train the default model on theirs
  (`TRAIN_PER_FILE_BYTE` each) fits in what the caches leave (measured on the worst case: short lines);
- `training_fits`: whether one training's measured peak (`training_peak_bytes`) fits a worker's share of
  what the caches and `STUDENTS_AT_ONCE` held uploads leave (`training_bytes`);
- `train_workers`: trainings run at once (cores minus one, at least one, and what memory allows).

`memory_mb` is in MB of 2**20 bytes; upload sizes are in MB of 10**6 bytes, the unit in which the browser
checks an uploader's `max_upload_size` (Streamlit's upload endpoint counts `server.maxUploadSize` in MiB,
a little more: `ui.uploads` makes it follow this limit, and `check_upload` refuses what lies between).
"""

from __future__ import annotations

import gc
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from collab.data import DataError

ENV_VAR = "COLLAB_MEMORY_MB"
CONFIG_ENV_VAR = "COLLAB_CONFIG"
CONFIG_FILE = Path(".streamlit") / "collab.toml"
WORKERS_ENV_VAR = "COLLAB_TRAIN_WORKERS"
DEFAULT_MEMORY_MB = 1024
MIN_MEMORY_MB = 512

MIB = 2**20
UPLOAD_MB = 10**6  # the browser's upload megabyte (Streamlit's endpoint counts 2**20)
# The server after every page has been served once (Python, Streamlit, torch, numba, plotly, the demo
# set), measured by benchmarks.load on Linux: 540 MB resident.
BASE_MB = 550
# Resident memory per byte of an uploaded file, measured on the worst case for its size: short lines
# ("123456,12345,4": 14 bytes a rating), 1.19M ratings of 200k users and 60k items in 17 MB. Reading
# and holding it: 108 MiB (6.4x), plus Streamlit's copy of the upload (1x); the split and the default
# training on top: 462 MiB (27.2x) (benchmarks.train_memory / issue 24; peak 858 MiB with a 288 MiB base).
HELD_PER_FILE_BYTE = 7.5
TRAIN_PER_FILE_BYTE = 28.0
PEAK_PER_FILE_BYTE = HELD_PER_FILE_BYTE + TRAIN_PER_FILE_BYTE  # one student alone
STUDENTS_AT_ONCE = 3  # students uploading the largest file at the same time must fit together
BYTES_PER_RATING = 14  # file bytes of the shortest "user,item,rating" line: to say how many ratings
TRAIN_JOB_MB = 120  # a training's working memory on the sets an upload can hold (model, optimizer, batches)
CACHE_SHARE = 0.3  # of the memory above the base: models and parsed data kept for every session


@dataclass(frozen=True)
class Budget:
    """Limits derived from one memory size (see the module docstring)."""

    memory_mb: int = DEFAULT_MEMORY_MB
    source: str = "default"  # where memory_mb came from, for messages

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * MIB

    @property
    def base_bytes(self) -> int:
        return min(BASE_MB, self.memory_mb // 2) * MIB

    @property
    def working_bytes(self) -> int:
        """Memory above what the server itself holds."""
        return self.memory_bytes - self.base_bytes

    @property
    def cache_bytes(self) -> int:
        """Bytes the model store and the split/dataset caches may hold together."""
        return int(self.working_bytes * CACHE_SHARE)

    @property
    def upload_mb(self) -> int:
        """The largest upload, in MB of 10**6 bytes: `server.maxUploadSize` says the same (`ui.uploads`)."""
        per_byte = STUDENTS_AT_ONCE * HELD_PER_FILE_BYTE + self.train_workers * TRAIN_PER_FILE_BYTE
        return max(1, int((self.working_bytes - self.cache_bytes) / per_byte) // UPLOAD_MB)

    @property
    def upload_bytes(self) -> int:
        return self.upload_mb * UPLOAD_MB

    @property
    def upload_ratings(self) -> int:
        """About how many ratings the largest upload holds (for messages)."""
        return self.upload_bytes // BYTES_PER_RATING

    @property
    def train_workers(self) -> int:
        """Trainings run at once: cores minus one (the other serves pages), at least one, within memory."""
        override = os.environ.get(WORKERS_ENV_VAR, "").strip()
        if override:
            try:
                return max(1, int(override))
            except ValueError:
                raise ValueError(f"{WORKERS_ENV_VAR} must be a whole number, not {override!r}") from None
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        by_memory = (self.working_bytes - self.cache_bytes) // (TRAIN_JOB_MB * MIB)
        return int(max(1, min(cores - 1, by_memory)))

    @property
    def held_upload_bytes(self) -> int:
        """`STUDENTS_AT_ONCE` largest uploads read and held (with Streamlit's copies) at the same time."""
        return int(STUDENTS_AT_ONCE * HELD_PER_FILE_BYTE * self.upload_bytes)

    @property
    def training_bytes(self) -> int:
        """What one training may use: the memory the caches and the held uploads leave, shared by the
        training workers. (Before issue 24's round 2 the held uploads were left out, so a file at the
        limit whose default training was accepted could take three students' server over the budget.)"""
        return int((self.working_bytes - self.cache_bytes - self.held_upload_bytes) / self.train_workers)

    def training_fits(self, config: object, n_users: int, n_items: int, n_train_ratings: int) -> bool:
        """Whether `config`'s measured peak on this data fits `training_bytes`."""
        return training_peak_bytes(config, n_users, n_items, n_train_ratings) <= self.training_bytes

    def check_upload(
        self, size: int, name: str = "the file", limit_mb: int | None = None, model: bool = False
    ) -> None:
        """Raise `DataError` (with the numbers and what to do instead) when `size` bytes is over the limit:
        `limit_mb` (the uploaders' limit, `ui.uploads.limit_mb`) or else the budget's. `model`: a saved
        model file (the advice names `collab.load`)."""
        limit = self.upload_mb if limit_mb is None else limit_mb
        if size <= limit * UPLOAD_MB:
            return
        why = (
            f"this server's memory budget ({self.memory_mb:,} MB, from {self.source})"
            if limit >= self.upload_mb
            else "this server's upload setting (Streamlit's server.maxUploadSize)"
        )
        if model:
            raise DataError(
                f"{name} is {size / UPLOAD_MB:,.1f} MB; {why} accepts files up to {limit:,} MB. Load the model "
                "with the collab library (collab.load(path) in Python) on a machine with more memory, or raise "
                f"{ENV_VAR} where the app runs on a bigger host."
            )
        raise DataError(
            f"{name} is {size / UPLOAD_MB:,.1f} MB; {why} accepts uploads up to {limit:,} MB, about "
            f"{limit * UPLOAD_MB // BYTES_PER_RATING:,} ratings. Upload a sample of it, or use the collab "
            "library (read_ratings(path) in Python) on a machine with more memory, or raise "
            f"{ENV_VAR} where the app runs on a bigger host."
        )

    def describe(self) -> str:
        return (
            f"memory budget {self.memory_mb:,} MB ({self.source}): caches {self.cache_bytes / MIB:,.0f} MB, "
            f"uploads up to {self.upload_mb:,} MB, {self.train_workers} training worker(s)"
        )


def _parse_mb(text: object, where: str) -> int:
    try:
        value = int(float(str(text).strip()))
    except ValueError:
        raise ValueError(f"{where}: memory_mb must be a number of megabytes, not {text!r}") from None
    if value < MIN_MEMORY_MB:
        raise ValueError(f"{where}: memory_mb must be at least {MIN_MEMORY_MB} MB, not {value}")
    return value


def current() -> Budget:
    """The budget from `COLLAB_MEMORY_MB`, else the config file, else the 1 GB default.

    Raises ValueError naming the setting when it is not a number of at least `MIN_MEMORY_MB`.
    """
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Budget(_parse_mb(env, ENV_VAR), f"${ENV_VAR}")
    path = Path(os.environ.get(CONFIG_ENV_VAR, "") or CONFIG_FILE)
    if path.is_file():
        try:
            settings = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ValueError(f"{path}: not a readable TOML file ({error})") from None
        if "memory_mb" in settings:
            return Budget(_parse_mb(settings["memory_mb"], str(path)), str(path))
    return Budget()


def release_memory() -> None:
    """Hand freed memory back to the operating system (after a dataset or model is dropped).

    CPython, numpy and pyarrow free into malloc's and pyarrow's pools; without this a server's
    resident size stays at its peak long after the sessions that caused it have ended.
    """
    gc.collect()
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except (ImportError, AttributeError):  # pragma: no cover - pyarrow is pinned
        pass
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        pass


def use_system_allocator_for_arrow() -> None:
    """Make pyarrow allocate with malloc, which `release_memory` can trim (its own pool keeps ~3x a read)."""
    try:
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())
    except (ImportError, AttributeError):  # pragma: no cover
        pass


# A training's peak resident memory above the server's, from benchmarks.train_memory (a fresh process per
# model, resident size sampled every 5 ms) and the measurements of issue 24. Batch models (dot, nn,
# classifier, bias): `estimate_memory` plus ~3.6 more copies of the tables (users + items rows x factors
# + 1 floats: gradient and update buffers; 0.95 KB a row at 64 factors), ~130 bytes per training rating (the data as tensors, shuffles, evaluation) and
# ~40 MiB: ML-100K dot 50 MiB, nn 60, classifier 43 (model 57, 61, 57; the estimates alone said 5, 8, 5);
# 7 MB of short lines (183k users, 60k items, 392k training ratings) ~450 (model 510); 17 MB (1.19M
# ratings) 462 (model 623). AutoRec: 2x its estimate plus ~150 MiB and ~60 bytes a rating (L-BFGS's line
# search, the item-by-user matrix): ML-100K with 500 hidden units 284 MiB (estimate 89, model 333), ML-1M
# 1,288 (estimate 552, model 1,302), ML-1M with 1,000 hidden units 1,870 (model ~2,300).
PEAK_SCALE = {"autorec": 2.0}  # else 1.0
PEAK_PER_RATING = {"autorec": 60}  # else 130
PEAK_TABLE_COPIES = {"autorec": 0.0}  # else 3.6
PEAK_FIXED = {"autorec": 150 * MIB, "bfm": 70 * MIB}  # else 40 MiB (bfm: ML-100K 2 x 128 sweeps 136 MiB, model 150)


def training_peak_bytes(config: object, n_users: int, n_items: int, n_train_ratings: int) -> int:
    """The measured model of one training's peak resident bytes (above the server's own) for `config`
    (a `TrainConfig`) on n_users x n_items with `n_train_ratings` training ratings; see the constants."""
    from collab.training.memory import estimate_memory

    model = getattr(config, "model", "dot")
    estimate = estimate_memory(config, n_users, n_items, n_train_ratings).total_bytes
    return int(
        PEAK_SCALE.get(model, 1.0) * estimate
        + PEAK_PER_RATING.get(model, 130) * n_train_ratings
        + PEAK_TABLE_COPIES.get(model, 3.6) * 4 * (getattr(config, "n_factors", 0) + 1) * (n_users + n_items)
        + PEAK_FIXED.get(model, 40 * MIB)
    )
