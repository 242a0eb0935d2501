"""RMSE on MovieLens 100K: canonical u1.base/u1.test and a seeded random 80/20 split, per model and preset.

python -m benchmarks.accuracy [--data FOLDER] [--presets default,best] [--models dot,nn,bias,classifier,autorec]
                              [--splits u1,random] [--no-blend] [--threads N] [--json out.json]

The autoencoder has one tuned preset of its own (PRESETS["autorec"]), reported under "best"; the "best"
preset's headline is the blend of the autoencoder and the tuned dot model (collab.training.blend.BEST_BLEND).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from benchmarks.common import find_ml100k, machine, movielens_splits, print_table, write_json
from collab.data.ratings import Ratings
from collab.training.blend import BEST_BLEND, train_blend
from collab.training.config import MODEL_LABELS, PRESETS, TrainConfig
from collab.training.loop import train


def splits_for(folder: str | None) -> dict[str, tuple[Ratings, Ratings]]:
    """u1 and random splits: from the data layer when it can read the folder, else parsed here."""
    return movielens_splits(find_ml100k(folder))


def model_preset(preset: str, model: str) -> TrainConfig | None:
    """The config of `model` under `preset`; the autoencoder has its own tuned preset, shown as "best"."""
    if model == "autorec":
        return PRESETS["autorec"] if preset == "best" else None
    return replace(PRESETS[preset], model=model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=None, help="MovieLens 100K folder (u.data, u1.base, u1.test)")
    parser.add_argument("--presets", default="default,best")
    parser.add_argument("--models", default="dot,nn,bias,classifier,autorec")
    parser.add_argument("--splits", default="u1,random")
    parser.add_argument(
        "--no-blend", action="store_true", help="skip the best blend (about a minute a split)"
    )
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
                config = model_preset(preset, model)
                if config is None:
                    continue
                started = time.perf_counter()
                result = train(train_set, valid_set, config)
                rows.append(
                    {
                        "split": split_name,
                        "preset": preset,
                        "model": MODEL_LABELS[model],
                        "RMSE": result.metrics["rmse"],
                        "MAE": result.metrics["mae"],
                        "NDCG@10": result.metrics["rated_ndcg@10"],
                        "train s": sum(h.seconds for h in result.history),
                        "total s": time.perf_counter() - started,
                        "config": config.describe(),
                    }
                )
                print(f"  {split_name} {preset} {model}: RMSE {result.metrics['rmse']:.4f}", flush=True)
            if preset == "best" and not args.no_blend:
                blend = train_blend(train_set, valid_set, BEST_BLEND)
                rows.append(
                    {
                        "split": split_name,
                        "preset": "best",
                        "model": "**Blend: autoencoder + dot product**",
                        "RMSE": blend.metrics["rmse"],
                        "MAE": blend.metrics["mae"],
                        "NDCG@10": "",
                        "train s": blend.seconds,
                        "total s": blend.seconds,
                        "config": blend.describe(),
                    }
                )
                print(
                    f"  {split_name} best blend: RMSE {blend.metrics['rmse']:.4f} ({blend.describe()})",
                    flush=True,
                )
    print(f"# accuracy on MovieLens 100K; {machine()}")
    print_table(rows, ["split", "preset", "model", "RMSE", "MAE", "NDCG@10", "train s"])
    for preset in args.presets.split(","):
        print(f"- {preset}: {PRESETS[preset].describe()}")
    print(f"- autoencoder (best): {PRESETS['autorec'].describe()}")
    print(
        "- blend: both models trained on 90% of the training ratings, least-squares weights on the other 10%,"
        " then both retrained on all of them (train s includes all four trainings)"
    )
    write_json(args.json, {"machine": machine(), "rows": rows})


if __name__ == "__main__":
    main()
