"""Measured peak resident memory of one training per model, beside the Train page's estimate.

Each (dataset, model) trains in a fresh process: read, split, a tiny warm-up training (so torch's and
numba's one-off costs are in the base, as on a warm server), then the resident size is sampled
every 5 ms while the real training runs; the peak above the base is what the training cost. The
estimate is `collab.training.memory.estimate_memory(...).total_bytes` and the calibrated
`ui.budget.training_peak_bytes`, which the Train page uses to refuse a setting that does not fit.
Each training runs on a thread of its own with an epoch callback, as in the app's training pool (the
callback makes `train` keep the best epoch's weights). Each model trains with the Train page's starting settings (`ui.url_state.model_base`: the default
preset, the autoencoder's 500 hidden units, the Bayesian FM's rank 10) and, as the app does on a
server of at least 1 GB, the dot model in the compiled kernels (`--kernels auto` or `off` otherwise).

    python -m benchmarks.train_memory --data /path/to/ml-100k [--models dot,nn,...] [--epochs 2]
    python -m benchmarks.train_memory --data ml1m-shape --data short:50000x14000:7000000

`--data` takes a ratings file or folder, `ml1m-shape` (MovieLens 1M's shape, generated: 6,040 users x
3,706 items, 1,000,209 ratings, power-law popularity, at least 20 ratings a user, timestamps in
2000-2003; ML-1M itself needs a download), `short:USERSxITEMS:BYTES` (the worst case per file byte:
short `user,item,rating` lines with that many distinct ids, just under BYTES, as
`benchmarks.adversarial` uploads them) or `synthetic:N`. Epochs: `--epochs` (2), but at least 40
Gibbs sweeps for the Bayesian FM, which then keeps as many samples (32 a chain) as at the page's 128.

Prints a Markdown table: dataset, model, n_users x n_items, ratings, measured peak MiB, estimates MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

MIB = 2**20
MODELS = ("dot", "nn", "bias", "classifier", "autorec", "bfm", "bpr", "bce")
MIN_EPOCHS = {"bfm": 40}  # Gibbs sweeps: from 40 on a chain keeps its full 32 samples (sample_plan)
ML1M_SHAPE = (6_040, 3_706, 1_000_209)  # MovieLens 1M: users, items, ratings


def _read(data: str):
    from collab.data.read import read_ratings

    if data == "ml1m-shape":
        return read_ratings(ml1m_shape())
    if data.startswith("synthetic:"):
        return _synthetic(int(data.split(":")[1]))
    if data.startswith("short:"):
        from benchmarks.adversarial import largest_file

        _, ids, n_bytes = data.split(":")
        users, items = (int(n) for n in ids.split("x"))
        return read_ratings(largest_file(int(n_bytes), ids=(users, items)))
    return read_ratings(data)


def _seen(stats: object) -> None:
    """The app's epoch callback (the pool records each epoch for the waiting pages)."""


def _one(data: str, model: str, epochs: int, factors: int | None) -> dict:
    import dataclasses

    import numpy as np

    from collab.data import Ratings
    from collab.training.loop import train
    from collab.training.memory import estimate_memory
    from ui.budget import training_peak_bytes
    from ui.url_state import model_base

    ratings = _read(data)
    train_set, valid_set = ratings.split(0.2, seed=42)
    config = model_base(model)
    if factors is not None:
        config = dataclasses.replace(config, n_factors=factors)
    config = dataclasses.replace(config, epochs=max(epochs, MIN_EPOCHS.get(model, 1))).without_unused()
    rng = np.random.default_rng(0)
    tiny = Ratings(
        user_ids=rng.integers(0, 8, 64), item_ids=rng.integers(0, 8, 64),
        ratings=rng.integers(1, 6, 64).astype(np.float32),
        user_labels=np.arange(8).astype(str), item_labels=np.arange(8).astype(str),
    )  # fmt: skip
    warm = dataclasses.replace(config, n_factors=4, epochs=MIN_EPOCHS.get(model, 1), batch_size=8)
    train(tiny, tiny, warm)
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
    # as the app trains: on a worker thread of its own (its own malloc arena), with an epoch callback
    # (which makes train() keep the best epoch's weights: one more copy of the tables)
    worker = threading.Thread(target=train, args=(train_set, valid_set, config), kwargs={"on_epoch": _seen})
    worker.start()
    worker.join()
    seconds = time.perf_counter() - started
    done.set()
    thread.join()
    estimate = estimate_memory(config, ratings.n_users, ratings.n_items, train_set.n_ratings)
    return {
        "data": data.rstrip("/").split("/")[-1],
        "model": model,
        "size": config.n_factors if model not in ("nn", "bias") else None,
        "epochs": config.epochs,
        "n_users": ratings.n_users,
        "n_items": ratings.n_items,
        "n_train": train_set.n_ratings,
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


def ml1m_shape(seed: int = 0):
    """A DataFrame of MovieLens 1M's shape: 6,040 users x 3,706 items, 1,000,209 distinct (user, item)
    ratings; item popularity a power law (Zipf-like, as ML-1M's long tail), user activity log-normal with at
    least 20 ratings each (as ML-1M's), ratings 1-5 in ML-1M's proportions, timestamps in 2000-2003."""
    import numpy as np
    import pandas as pd

    n_users, n_items, n_ratings = ML1M_SHAPE
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9
    popularity = rng.permutation(popularity / popularity.sum())
    activity = rng.lognormal(0.0, 1.1, n_users)
    counts = 20 + np.floor(activity / activity.sum() * (n_ratings - 20 * n_users)).astype(int)
    counts[: n_ratings - counts.sum()] += 1  # exactly n_ratings
    counts = np.minimum(counts, n_items)
    counts[np.argmin(counts)] += n_ratings - counts.sum()  # what the cap took goes to the least active user
    users = np.repeat(np.arange(1, n_users + 1), counts)
    items = np.concatenate([rng.choice(n_items, k, replace=False, p=popularity) + 1 for k in counts])
    stars = rng.choice(np.arange(1, 6), n_ratings, p=[0.056, 0.108, 0.261, 0.349, 0.226])
    start = 956_703_932  # ML-1M's first timestamp (2000-04-25)
    times = start + rng.integers(0, 3 * 365 * 86_400, n_ratings)
    return pd.DataFrame({"userId": users, "movieId": items, "rating": stars, "timestamp": times})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        action="append",
        required=True,
        help="a ratings file or folder, ml1m-shape, short:USERSxITEMS:BYTES or synthetic:N",
    )
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--factors",
        "--hidden",
        type=int,
        default=None,
        help="factors (AutoRec: hidden units; Bayesian FM: rank); default: the Train page's",
    )
    parser.add_argument(
        "--kernels",
        choices=("app", "auto", "off"),
        default="app",
        help="app: COLLAB_KERNELS=1 as the app sets it on a server of 1 GB or more",
    )
    parser.add_argument("--json", help="also write the rows here (appended to a list already there)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(_one(args.data[0], args.models, args.epochs, args.factors)))
        return
    env = {**os.environ, "COLLAB_KERNELS": {"app": "1", "auto": "auto", "off": "0"}[args.kernels]}
    rows = []
    for data in args.data:
        for model in args.models.split(","):
            command = [sys.executable, "-m", "benchmarks.train_memory", "--one", "--data", data]
            command += ["--models", model, "--epochs", str(args.epochs)]
            command += ["--factors", str(args.factors)] if args.factors else []
            done = subprocess.run(command, capture_output=True, text=True, env=env)
            if done.returncode:
                print(f"{data} {model}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
                continue
            rows.append({**json.loads(done.stdout.strip().splitlines()[-1]), "kernels": args.kernels})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(
        "| data | model | size | users x items | train ratings | measured peak MiB | estimate MiB "
        "| Train page MiB | s |"
    )
    print("|---|---|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['data']} | {r['model']} | {r['size'] or ''} | {r['n_users']:,} x {r['n_items']:,} "
            f"| {r['n_train']:,} | {r['peak MiB']:.0f} | {r['estimate MiB']:.0f} | {r['Train page MiB']:.0f} "
            f"| {r['seconds']:.1f} |"
        )
    if args.json:
        path = Path(args.json)
        earlier = json.loads(path.read_text()) if path.exists() else []
        path.write_text(json.dumps(earlier + rows, indent=1))


if __name__ == "__main__":
    main()
