"""Seconds per epoch on synthetic ratings with big tables: cost must follow ratings, not table size.

python -m benchmarks.scale [--sizes 1M,4.5M,5M,25M] [--threads N] [--dense] [--json out.json]

Each size runs the dot model's packed row-wise optimizer with both kinds of state: "adamw" (two
moments per weight: exact lazy AdamW) and "rowwise" (one second moment per row, no momentum).
`--dense` adds torch's fused AdamW over the whole tables at 4.5M, for one epoch.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

# big random-access tables: let PyTorch's CPU allocator use transparent huge pages (fewer TLB misses)
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

import numpy as np
import torch

from benchmarks.common import machine, print_table, write_json
from collab.data.ratings import Ratings
from collab.training.config import TrainConfig
from collab.training.loop import train

# name -> (ratings, users, items)
SIZES = {
    "1M": (1_000_000, 50_000, 20_000),
    "4.5M": (4_500_000, 200_000, 50_000),  # the target: under 3 s per epoch
    "5M": (5_000_000, 100_000, 40_000),
    "25M": (25_000_000, 200_000, 60_000),
}


def synthetic(n_ratings: int, n_users: int, n_items: int, seed: int = 0) -> Ratings:
    """Uniformly drawn (user, item) pairs with 1-5 star ratings from a rank-4 model plus noise."""
    rng = np.random.default_rng(seed)
    user_ids = rng.integers(0, n_users, n_ratings)
    item_ids = rng.integers(0, n_items, n_ratings)
    user_vecs = rng.standard_normal((n_users, 4), dtype=np.float32) * 0.5
    item_vecs = rng.standard_normal((n_items, 4), dtype=np.float32) * 0.5
    raw = np.einsum("nk,nk->n", user_vecs[user_ids], item_vecs[item_ids])  # (n_ratings,) float32
    raw += rng.standard_normal(n_ratings, dtype=np.float32) * 0.5 + 3.5
    return Ratings(
        user_ids=user_ids,
        item_ids=item_ids,
        ratings=np.clip(np.round(raw), 1, 5).astype(np.float32),
        user_labels=np.arange(n_users).astype(str),
        item_labels=np.arange(n_items).astype(str),
        name=f"synthetic {n_ratings:,}",
    )


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1M,4.5M,5M,25M")
    parser.add_argument("--states", default="adamw,rowwise", help="packed row states to time per size")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per size; the fastest is reported")
    parser.add_argument("--dense", action="store_true", help="also time dense AdamW at 4.5M (one epoch)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    runs = [(name, state) for name in args.sizes.split(",") for state in args.states.split(",")]
    if args.dense:
        runs.append(("4.5M", "dense"))
    rows = []
    for name, mode in runs:
        n_ratings, n_users, n_items = SIZES[name]
        started = time.perf_counter()
        data = synthetic(n_ratings, n_users, n_items)
        data_seconds = time.perf_counter() - started
        config = TrainConfig(
            n_factors=50,
            batch_size=4096,
            epochs=1 if mode == "dense" else args.epochs,
            lr=0.01,
            weight_decay=0.1,
            sparse="dense" if mode == "dense" else "sparse",
            row_state="adamw" if mode == "dense" else mode,
        )
        result = train(data, None, config)
        seconds = min(h.seconds for h in result.history)
        rows.append(
            {
                "ratings": name,
                "users x items": f"{n_users // 1000}k x {n_items // 1000}k",
                "optimizer": result.optimizer,
                "s/epoch": seconds,
                "ratings/s": f"{n_ratings / seconds:,.0f}",
                "train loss": result.history[-1].train_loss,
                "peak RSS MiB": round(peak_rss_mib()),
                "data s": data_seconds,
                "total s": time.perf_counter() - started,
            }
        )
        print(f"  {name} {mode}: {seconds:.2f} s/epoch", flush=True)
        del data, result
    print(f"# scale: dot model, 50 factors, batch 4096, one-cycle, {args.epochs} epochs; {machine()}")
    print_table(
        rows,
        [
            "ratings",
            "users x items",
            "optimizer",
            "s/epoch",
            "ratings/s",
            "train loss",
            "peak RSS MiB",
            "data s",
        ],
    )
    write_json(args.json, {"machine": machine(), "rows": rows})


if __name__ == "__main__":
    main()
