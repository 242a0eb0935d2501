"""Process-wide caches: datasets, splits and trained models, shared by every session of one server.

Training does not run inside an `st.cache_resource` function: elements updated from inside one
break on the next cache hit (CacheReplayClosureError). Instead a bounded, thread-safe store is
itself the cached resource; the page trains outside it with its own progress elements.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

import streamlit as st

if TYPE_CHECKING:
    from collab.config import TrainConfig
    from collab.data import Ratings, Split
    from collab.training import EpochStats, TrainResult

MAX_MODELS = 24  # trained models kept per server; the oldest unused one goes first


@st.cache_resource(show_spinner=False)
def demo() -> Ratings:
    """The built-in demo set (generated once per server)."""
    from collab.demo import demo_ratings

    return demo_ratings(seed=0)


@st.cache_resource(max_entries=16, show_spinner=False)
def split(_ratings: Ratings, fingerprint: str, params: Hashable) -> Split:
    """`_ratings.split(...)` by `params`, cached by the dataset's fingerprint."""
    return _ratings.split(valid_pct=params.valid_pct, seed=params.seed, method=params.method)


@st.cache_resource(max_entries=4, show_spinner=False)
def movielens(name: str) -> Ratings:
    """A MovieLens set parsed once per server (the zip is cached on disk by the core)."""
    from collab.movielens import load_movielens

    return load_movielens(name)


@st.cache_resource(show_spinner=False)
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


class ModelStore:
    """A bounded LRU of trained models with one lock per key, so one training serves many sessions."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def get_or_create(self, key: Hashable, create: Callable[[], Any]) -> tuple[Any, bool]:
        """The value for `key` and whether it came from the store; `create()` runs at most once per key."""
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            found = self.get(key)
            if found is not None:
                return found, True
            value = create()
            with self._lock:
                self._items[key] = value
                self._items.move_to_end(key)
                while len(self._items) > self.max_entries:
                    evicted, _ = self._items.popitem(last=False)
                    self._key_locks.pop(evicted, None)
            return value, False

    def __len__(self) -> int:
        return len(self._items)


@st.cache_resource(show_spinner=False)
def model_store() -> ModelStore:
    """The server's one model store (cleared with `st.cache_resource.clear()`)."""
    return ModelStore(MAX_MODELS)


def stored(fingerprint: str, split_key: Hashable, config: TrainConfig) -> TrainResult | None:
    """The stored model for this data, split and config, if one is kept (no training)."""
    return model_store().get((fingerprint, split_key, config))


def train(
    data_split: Split,
    fingerprint: str,
    split_key: Hashable,
    config: TrainConfig,
    on_epoch: Callable[[EpochStats], bool | None] | None = None,
) -> tuple[TrainResult, bool]:
    """Train `config` on the split, or return the stored model for the same data, split and config.

    Returns the result and True when it came from the cache.
    """
    from collab.training import train as train_model

    def create() -> TrainResult:
        result = train_model(data_split.train, data_split.valid, config, on_epoch=on_epoch)
        return dataclasses.replace(result, dataset=fingerprint)  # saved with the model, checked on upload

    return model_store().get_or_create((fingerprint, split_key, config), create)
