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


# A training's peak resident memory above the server's own, fitted to benchmarks.train_memory (a fresh
# process per case, resident size sampled every 5 ms above a warmed-up base, the training on a thread of its
# own with an epoch callback as in the app's pool; the Train page's starting settings; issue 24) so that the
# model is at least 1.15x the highest of the runs of every case measured (tests/ui/test_budget_peaks.py keeps
# them as data). Measured on MovieLens 100K, an ML-1M-shaped set (6,040 x 3,706, 1,000,209 ratings) and
# 7 MB files of short lines with 50k x 14k and 183k x 60k ids; factors 64 and 200, AutoRec 50-1,000
# hidden units, the Bayesian FM at rank 10 and 32. A model's peak is
#   params x its parameter bytes (`estimate_memory`, exact: the model's tables and weights)
#   + per_factor_mib x (factors + 1) + per_rating x training ratings
#   + per_rating_factor x training ratings x (factors + 1) + fixed_mib,
# where for AutoRec and the Bayesian FM `params` multiplies their whole estimate instead (L-BFGS's history
# and the full batch; the kept Gibbs samples). Highest measured peak -> model (MiB), ML-100K / ML-1M shape /
# 50k x 14k / 183k x 60k:
#   dot, 64 factors, compiled kernels (the app on 1 GB and up): 54 -> 63, 118 -> 137, 154 -> 183, 379 -> 436;
#     200 factors: 122 -> 141, 254 -> 313, 421 -> 489, 1,029 -> 1,271. Without the kernels (under 1 GB, or
#     before the warm-up has loaded them; `DOT_WITHOUT_KERNELS`): 51 -> 85, 156 -> 213, 200 -> 229.
#   nn: 99 -> 114, 357 -> 410, 824 -> 958, 2,487 -> 3,148.  bias: 37 -> 43, 79 -> 98, 58 -> 66, 59 -> 68.
#   classifier, 64 factors: 77 -> 90, 333 -> 544, 260 -> 333, 432 -> 498; 200: 173 -> 199, 1,223 -> 1,414,
#     750 -> 867, 1,118 -> 1,357 (nine runs of ML-1M at 200 ranged 290-1,223: whether malloc hands the freed
#     400 KB temporaries of each step back or keeps them).  BPR/BCE: 39 -> 46, 88 -> 106, 96 -> 110, 169 -> 224.
#   autorec, 500 hidden units: ML-100K 421 -> 484, ML-1M shape 1,746 -> 2,893 (1,000: 554 -> 929,
#     2,079 -> 5,603; the fit is linear in the estimate, the peaks are not: over 1 GB either way); 50: 67 -> 83.
#   bfm (every sample after burn-in kept while the stacked tables stay under 32 MiB), 128 sweeps, rank 10:
#     108 -> 192, 294 -> 547, 239 -> 381, 385 -> 445; rank 32: ML-100K 120 -> 205. (Before that plan, with 32
#     samples a chain whatever the size: 117, 311, 951, 3,074.)
# Every case and run: /work/notes/issue24-peaks.md and tests/ui/test_budget_peaks.py.
PEAK_FITS: dict[str, dict[str, float]] = {
    "dot": {
        "params": 6.2,
        "per_factor_mib": 0.45,
        "per_rating": 40,
        "per_rating_factor": 0.8,
        "fixed_mib": 22.57,
    },
    "dot_any": {
        "params": 6.4,
        "per_factor_mib": 0.35,
        "per_rating": 170,
        "per_rating_factor": 0,
        "fixed_mib": 44.68,
    },
    "nn": {"params": 5.6, "per_factor_mib": 0, "per_rating": 380, "per_rating_factor": 0, "fixed_mib": 79.62},
    "bias": {"params": 3, "per_factor_mib": 0, "per_rating": 80, "per_rating_factor": 0, "fixed_mib": 37.15},
    "classifier": {
        "params": 3.8,
        "per_factor_mib": 0.15,
        "per_rating": 130,
        "per_rating_factor": 8,
        "fixed_mib": 28.32,
    },
    "bpr": {"params": 2.8, "per_factor_mib": 0, "per_rating": 80, "per_rating_factor": 0, "fixed_mib": 38.09},
    "bce": {"params": 2.8, "per_factor_mib": 0, "per_rating": 80, "per_rating_factor": 0, "fixed_mib": 38.09},
    "autorec": {
        "params": 5.2,
        "per_factor_mib": 0,
        "per_rating": 0,
        "per_rating_factor": 0,
        "fixed_mib": 22.28,
    },
    "bfm": {"params": 2.0, "per_factor_mib": 0, "per_rating": 220, "per_rating_factor": 0, "fixed_mib": 45},
}
DOT_WITHOUT_KERNELS = "dot_any"
KERNELS_ENV = "COLLAB_KERNELS"  # "1" where ui.cached's warm-up loaded the compiled kernels (1 GB and up)


def training_peak_bytes(
    config: object, n_users: int, n_items: int, n_train_ratings: int, compiled: bool | None = None
) -> int:
    """The measured model of one training's peak resident bytes (above the server's own) for `config`
    (a `TrainConfig`) on n_users x n_items with `n_train_ratings` training ratings; see the constants.
    `compiled`: the dot model trains in the compiled kernels (default: as this process is set up, the
    `COLLAB_KERNELS=1` that the app's warm-up sets once they are loaded)."""
    from collab.training.memory import estimate_memory

    model = getattr(config, "model", "dot")
    if compiled is None:
        compiled = os.environ.get(KERNELS_ENV, "") == "1"
    fit = PEAK_FITS[DOT_WITHOUT_KERNELS if model == "dot" and not compiled else model]
    estimate = estimate_memory(config, n_users, n_items, n_train_ratings)
    sized = estimate.total_bytes if model in ("autorec", "bfm") else estimate.parameter_bytes
    factors = getattr(config, "n_factors", 0) + 1 if model in ("dot", "classifier", "bpr", "bce") else 0
    return int(
        fit["params"] * sized
        + fit["per_factor_mib"] * MIB * factors
        + fit["per_rating"] * n_train_ratings
        + fit["per_rating_factor"] * n_train_ratings * factors
        + fit["fixed_mib"] * MIB
    )
