"""RMSE on MovieLens 100K: canonical u1.base/u1.test and a seeded random 80/20 split, per model and preset.

python -m benchmarks.accuracy [--data FOLDER] [--presets default,best] [--models dot,nn,bias,classifier]
                              [--splits u1,random] [--threads N] [--json out.json]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from benchmarks.common import find_ml100k, machine, movielens_splits, print_table, write_json
from collab.config import MODEL_LABELS, PRESETS
from collab.data import Ratings
from collab.training import train


def splits_for(folder: str | None) -> dict[str, tuple[Ratings, Ratings]]:
    """u1 and random splits: from the data layer when it can read the folder, else parsed here."""
    return movielens_splits(find_ml100k(folder))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=None, help="MovieLens 100K folder (u.data, u1.base, u1.test)")
    parser.add_argument("--presets", default="default,best")
    parser.add_argument("--models", default="dot,nn,bias,classifier")
    parser.add_argument("--splits", default="u1,random")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    splits = splits_for(args.data)
    rows = []
    for split_name in args.splits.split(","):
        train_set, valid_set = splits[split_name]
        for preset in args.presets.split(","):
            for model in args.models.split(","):
                config = replace(PRESETS[preset], model=model)
                started = time.perf_counter()
                result = train(train_set, valid_set, config)
                rows.append(
                    {
                        "split": split_name,
                        "preset": preset,
                        "model": MODEL_LABELS[model],
                        "RMSE": result.metrics["rmse"],
                        "MAE": result.metrics["mae"],
                        "NDCG@10": result.metrics["ndcg@10"],
                        "train s": sum(h.seconds for h in result.history),
                        "total s": time.perf_counter() - started,
                        "config": config.describe(),
                    }
                )
                print(f"  {split_name} {preset} {model}: RMSE {result.metrics['rmse']:.4f}", flush=True)
    print(f"# accuracy on MovieLens 100K; {machine()}")
    print_table(rows, ["split", "preset", "model", "RMSE", "MAE", "NDCG@10", "train s"])
    for preset in args.presets.split(","):
        print(f"- {preset}: {PRESETS[preset].describe()}")
    write_json(args.json, {"machine": machine(), "rows": rows})


if __name__ == "__main__":
    main()
