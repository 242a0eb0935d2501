"""One memory budget for a server: what the caches, the upload limit and the training pool may use.

One setting, `memory_mb`: the memory of the host the app runs on (default 1024, a Streamlit
Community Cloud app). It is read from the environment variable `COLLAB_MEMORY_MB`, else from
`memory_mb = ...` in the TOML file named by `COLLAB_CONFIG`, else from `.streamlit/collab.toml`
in the working directory. Everything else is derived from it here, so one number moves them all:

- `base_bytes`: what the server itself holds (Python, Streamlit, torch, numba, the demo set);
- `cache_bytes`: trained models plus split and parsed-dataset caches, summed by array bytes;
- `upload_bytes`: the largest upload accepted: reading it, splitting it and training the default
  model on it (measured peak: `PEAK_PER_FILE_BYTE` times the file) fits in what the caches leave;
- `train_workers`: trainings run at once (cores minus one, at least one, and what memory allows).

`memory_mb` is in MB of 2**20 bytes; upload sizes are in MB of 10**6 bytes, the unit of Streamlit's
`server.maxUploadSize`, so the browser's limit and ours are the same number of bytes.
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
UPLOAD_MB = 10**6  # Streamlit's upload megabyte
# The server after every page has been served once (Python, Streamlit, torch, numba, plotly, the demo
# set), measured by benchmarks.load on Linux: 540 MB resident.
BASE_MB = 550
# Peak resident memory over the server's own, per byte of an uploaded file, measured on a worst case
# for its size (27 MB, 1M ratings of 200k users and 60k items: "user,item,rating,timestamp" lines):
# read_ratings 4.4x (110 MiB; pyarrow on malloc; benchmarks.read_memory), then the split and the default
# training with its 260k-row embedding tables and row-wise AdamW 18.4x (498 MiB). Plus the upload's own bytes.
PEAK_PER_FILE_BYTE = 19.5
BYTES_PER_RATING = 27  # file bytes of one "user,item,rating,timestamp" line: to say how many ratings
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
        """The largest upload, in Streamlit MB (10**6 bytes): `server.maxUploadSize` should say the same."""
        return max(1, int((self.working_bytes - self.cache_bytes) / PEAK_PER_FILE_BYTE) // UPLOAD_MB)

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

    def check_upload(self, size: int, name: str = "the file") -> None:
        """Raise `DataError` (with the numbers and what to do instead) when `size` bytes is over the limit."""
        if size > self.upload_bytes:
            raise DataError(
                f"{name} is {size / UPLOAD_MB:,.1f} MB; this server's memory budget ({self.memory_mb:,} MB, "
                f"from {self.source}) accepts uploads up to {self.upload_mb:,} MB, about "
                f"{self.upload_ratings:,} ratings. Upload a sample of it, or use the collab library "
                "(read_ratings(path) in Python) on a machine with more memory, or raise "
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


def training_peak_bytes(config: object, n_users: int, n_items: int, n_train_ratings: int) -> int:
    """Placeholder: the estimate's total (calibrated below once measured)."""
    from collab.training.memory import estimate_memory

    return estimate_memory(config, n_users, n_items, n_train_ratings).total_bytes
