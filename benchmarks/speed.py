"""Seconds per epoch on MovieLens 100K (u1.base) against the common DataLoader loop, in one run.

python -m benchmarks.speed [--data FOLDER] [--threads N] [--json out.json]
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch.utils.data import DataLoader, Dataset

from benchmarks.common import find_ml100k, machine, movielens_splits, print_table, write_json
from collab.data.ratings import Ratings
from collab.models.embedding import DotProductBias
from collab.training.config import TrainConfig
from collab.training.loop import train


class RatingsDataset(Dataset):
    """The way tutorials write it: one (user, item, rating) tuple per __getitem__."""

    def __init__(self, data: Ratings) -> None:
        self.users, self.items, self.ratings = data.user_ids, data.item_ids, data.ratings

    def __len__(self) -> int:
        return len(self.ratings)

    def __getitem__(self, index: int) -> tuple[int, int, float]:
        return int(self.users[index]), int(self.items[index]), float(self.ratings[index])


def reference_epoch(data: Ratings, batch_size: int, n_factors: int = 64, epochs: int = 2) -> float:
    """Fastest of `epochs` epochs of the DataLoader loop (shuffle, AdamW, MSE), seconds."""
    torch.manual_seed(0)
    model = DotProductBias(data.n_users, data.n_items, n_factors, (0.0, 5.5))
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1)
    loader = DataLoader(RatingsDataset(data), batch_size=batch_size, shuffle=True)
    times = []
    for _ in range(epochs):
        started = time.perf_counter()
        for users, items, ratings in loader:
            loss = torch.nn.functional.mse_loss(model(users, items), ratings.float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - started)
    return min(times)


def ours_epoch(data: Ratings, batch_size: int, accum_steps: int, kernels: str = "auto") -> tuple[float, str]:
    """Fastest of two epochs of `train` (the first pays one-off set-up), seconds, and the optimizer
    that ran; `kernels` is COLLAB_KERNELS for the run ("auto": what the app and library pick)."""
    config = TrainConfig(batch_size=batch_size, accum_steps=accum_steps, epochs=2, n_factors=64)
    previous = os.environ.get("COLLAB_KERNELS")
    os.environ["COLLAB_KERNELS"] = kernels
    try:
        result = train(data, None, config)
    finally:
        if previous is None:
            del os.environ["COLLAB_KERNELS"]
        else:
            os.environ["COLLAB_KERNELS"] = previous
    return min(h.seconds for h in result.history), result.optimizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=None)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    parser.add_argument("--batch-sizes", default="64,512,1024,4096")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data, _ = movielens_splits(find_ml100k(args.data))["u1"]
    train(data, None, TrainConfig(epochs=1))  # warm up imports and kernels
    rows = []
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        reference = reference_epoch(data, batch_size)
        for accum_steps in (1, 4):
            ours, optimizer = ours_epoch(data, batch_size, accum_steps)
            compiled, _ = ours_epoch(data, batch_size, accum_steps, kernels="1")
            rows.append(
                {
                    "batch": batch_size,
                    "accum": accum_steps,
                    "effective batch": batch_size * accum_steps,
                    "optimizer (auto)": optimizer,
                    "ours s/epoch": ours,
                    "compiled s/epoch": compiled,
                    "DataLoader s/epoch": reference,
                    "speed-up": f"{reference / ours:.1f}x",
                    "compiled speed-up": f"{reference / compiled:.1f}x",
                }
            )
            print(
                f"  batch {batch_size} accum {accum_steps}: {ours:.3f} s (compiled {compiled:.3f} s) vs {reference:.3f} s",
                flush=True,
            )
    print(
        f"# speed on MovieLens 100K u1.base ({data.n_ratings:,} ratings), dot model, 64 factors; {machine()}"
    )
    print(
        "# the DataLoader column is the same model with a Dataset + DataLoader(shuffle=True) and torch's AdamW,"
        " at the micro-batch size; 'ours' is what COLLAB_KERNELS=auto picks for this 2-epoch run (compiled from"
        " 1,000 micro-batches), 'compiled' forces the numba kernels; every column is the fastest of two epochs"
    )
    print_table(
        rows,
        [
            "batch",
            "accum",
            "effective batch",
            "optimizer (auto)",
            "ours s/epoch",
            "compiled s/epoch",
            "DataLoader s/epoch",
            "speed-up",
            "compiled speed-up",
        ],
    )
    write_json(args.json, {"machine": machine(), "rows": rows})


if __name__ == "__main__":
    main()
