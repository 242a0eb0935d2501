"""Shared benchmark helpers: MovieLens 100K loading (u1 and random splits), timing, tables, JSON."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from collab.data.ratings import Ratings

DEFAULT_ML100K = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k"


def find_ml100k(path: str | None) -> Path:
    """The MovieLens 100K folder: the argument, $COLLAB_ML100K, or ../shared/data/ml-100k."""
    folder = Path(path or os.environ.get("COLLAB_ML100K") or DEFAULT_ML100K)
    if not (folder / "u.data").exists():
        raise SystemExit(
            f"no MovieLens 100K at {folder} (pass --data FOLDER holding u.data, u1.base, u1.test)"
        )
    return folder


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", names=["user", "item", "rating", "timestamp"], dtype=str)


def _ratings(frame: pd.DataFrame, user_labels: np.ndarray, item_labels: np.ndarray, name: str) -> Ratings:
    user_index = pd.Index(user_labels)
    item_index = pd.Index(item_labels)
    return Ratings(
        user_ids=user_index.get_indexer(frame["user"]).astype(np.int64),
        item_ids=item_index.get_indexer(frame["item"]).astype(np.int64),
        ratings=frame["rating"].astype(np.float32).to_numpy(),
        user_labels=user_labels,
        item_labels=item_labels,
        timestamps=frame["timestamp"].astype(np.int64).to_numpy(),
        name=name,
    )


def movielens_splits(folder: Path, seed: int = 42) -> dict[str, tuple[Ratings, Ratings]]:
    """{"u1": canonical u1.base/u1.test, "random": a seeded 80/20 split}, one vocabulary from u.data."""
    full = _read(folder / "u.data")
    user_labels = np.array(sorted(full["user"].unique(), key=int), dtype=str)
    item_labels = np.array(sorted(full["item"].unique(), key=int), dtype=str)
    u1 = (
        _ratings(_read(folder / "u1.base"), user_labels, item_labels, "ml-100k u1.base"),
        _ratings(_read(folder / "u1.test"), user_labels, item_labels, "ml-100k u1.test"),
    )
    order = np.random.default_rng(seed).permutation(len(full))
    cut = int(len(full) * 0.8)
    random = (
        _ratings(full.iloc[order[:cut]], user_labels, item_labels, "ml-100k random train"),
        _ratings(full.iloc[order[cut:]], user_labels, item_labels, "ml-100k random valid"),
    )
    return {"u1": u1, "random": random}


def machine() -> str:
    """One line naming the machine the numbers come from."""
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads"


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A plain markdown table on stdout."""

    def cell(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---" for _ in columns) + "|")
    for row in rows:
        print("| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |")


def write_json(path: str | None, payload: dict[str, Any]) -> None:
    """Write the results as JSON when a path is given."""
    if path:
        Path(path).write_text(json.dumps(payload, indent=2, default=str))
