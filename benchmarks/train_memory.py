"""Measured peak resident memory of one training per model, beside the Train page's estimate.

Each (dataset, model) trains in a fresh process: read, split, a tiny warm-up training (so torch's and
numba's one-off costs are in the base, as on a warm server), then the resident size is sampled
every 5 ms while the real training runs; the peak above the base is what the training cost. The
estimate is `collab.training.memory.estimate_memory(...).total_bytes` and the calibrated
`ui.budget.training_peak_bytes`, which the Train page uses to refuse a setting that does not fit.

    python -m benchmarks.train_memory --data /path/to/ml-100k [--models dot,nn,...] [--epochs 2]

Prints a Markdown table: dataset, model, n_users x n_items, ratings, measured peak MiB, estimates MiB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time

import psutil

MIB = 2**20
MODELS = ("dot", "nn", "bias", "classifier", "autorec")


def _one(data: str, model: str, epochs: int, hidden: int | None) -> dict:
    import dataclasses

    import numpy as np

    from collab.data import Ratings
    from collab.data.read import read_ratings
    from collab.training.config import PRESETS, TrainConfig
    from collab.training.loop import train
    from collab.training.memory import estimate_memory
    from ui.budget import training_peak_bytes

    ratings = read_ratings(data) if not data.startswith("synthetic:") else _synthetic(int(data.split(":")[1]))
    train_set, valid_set = ratings.split(0.2, seed=42)
    config = PRESETS["autorec"] if model == "autorec" else TrainConfig(model=model)
    if hidden is not None:
        config = dataclasses.replace(config, n_factors=hidden)
    config = dataclasses.replace(config, epochs=epochs)
    rng = np.random.default_rng(0)
    tiny = Ratings(
        user_ids=rng.integers(0, 8, 64), item_ids=rng.integers(0, 8, 64),
        ratings=rng.integers(1, 6, 64).astype(np.float32),
        user_labels=np.arange(8).astype(str), item_labels=np.arange(8).astype(str),
    )  # fmt: skip
    train(tiny, tiny, dataclasses.replace(config, n_factors=4, epochs=1, batch_size=8))
    process = psutil.Process()
    base = process.memory_info().rss
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    started = time.perf_counter()
    train(train_set, valid_set, config)
    seconds = time.perf_counter() - started
    done.set()
    thread.join()
    estimate = estimate_memory(config, ratings.n_users, ratings.n_items, train_set.n_ratings)
    return {
        "data": data.rstrip("/").split("/")[-1],
        "model": model + (f" ({config.n_factors} hidden)" if model == "autorec" else ""),
        "users x items": f"{ratings.n_users:,} x {ratings.n_items:,}",
        "ratings": ratings.n_ratings,
        "peak MiB": (peak[0] - base) / MIB,
        "estimate MiB": estimate.total_bytes / MIB,
        "Train page MiB": training_peak_bytes(config, ratings.n_users, ratings.n_items, train_set.n_ratings)
        / MIB,
        "seconds": seconds,
    }


def _synthetic(n: int):
    import numpy as np
    import pandas as pd

    from collab.data.read import read_ratings

    rng = np.random.default_rng(0)
    return read_ratings(
        pd.DataFrame(
            {
                "user": rng.integers(0, n // 6, n),
                "item": rng.integers(0, n // 20, n),
                "rating": rng.integers(1, 6, n),
            }
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", action="append", required=True, help="a ratings file or folder, or synthetic:N"
    )
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--hidden", type=int, default=None, help="AutoRec's hidden units (default: the preset's)"
    )
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(_one(args.data[0], args.models, args.epochs, args.hidden)))
        return
    rows = []
    for data in args.data:
        for model in args.models.split(","):
            command = [
                sys.executable,
                "-m",
                "benchmarks.train_memory",
                "--one",
                "--data",
                data,
                "--models",
                model,
            ]
            command += ["--epochs", str(args.epochs)] + (
                ["--hidden", str(args.hidden)] if args.hidden else []
            )
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            print(rows[-1], file=sys.stderr)
    print(
        "| data | model | users x items | ratings | measured peak MiB | estimate MiB | Train page MiB | s |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['data']} | {r['model']} | {r['users x items']} | {r['ratings']:,} | {r['peak MiB']:.0f} "
            f"| {r['estimate MiB']:.0f} | {r['Train page MiB']:.0f} | {r['seconds']:.1f} |"
        )


if __name__ == "__main__":
    main()
