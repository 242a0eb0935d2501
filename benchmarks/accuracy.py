"""RMSE on MovieLens 100K: canonical u1.base/u1.test and a seeded random 80/20 split, per model and preset.

python -m benchmarks.accuracy [--data FOLDER] [--presets default,best] [--models dot,nn,bias,classifier,autorec]
                              [--splits u1,random] [--no-blend] [--threads N] [--json out.json]
python -m benchmarks.accuracy --anchor [--folds 1,2,3,4,5] [--myfm-python PATH]

`--anchor`: the best blend (BEST_BLEND) beside myFM's Bayesian FM with Rendle's timeSVD++ flipped features
(rank 10, 512 samples; benchmarks/myfm_anchor.py) on the five predefined u-folds, run back to back per
fold, one table with RMSE and seconds and their means. myFM runs in its own interpreter (`--myfm-python`,
else $COLLAB_MYFM_PYTHON, else this one if it has myfm); where none has myfm its columns are skipped.

The autoencoder has one tuned preset of its own (PRESETS["autorec"]), reported under "best"; the "best"
preset's headline is the blend of the autoencoder and the tuned dot model (collab.training.blend.BEST_BLEND).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace

import numpy as np
import torch

from benchmarks.common import _ratings, _read, find_ml100k, machine, movielens_splits, print_table, write_json
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


def myfm_python(given: str | None) -> str | None:
    """An interpreter that can import myfm, or None (the anchor is then skipped)."""
    candidates = [given, os.environ.get("COLLAB_MYFM_PYTHON")]
    for path in [c for c in candidates if c]:
        probe = subprocess.run([path, "-c", "import myfm"], capture_output=True)
        if probe.returncode == 0:
            return path
        print(f"  {path} cannot import myfm: {probe.stderr.decode().strip().splitlines()[-1:]}")
    return sys.executable if importlib.util.find_spec("myfm") is not None else None


def run_myfm(python: str, folder: str, fold: int) -> dict:
    """One fold of benchmarks/myfm_anchor.py in `python`: {"rmse", "mae", "seconds"}."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "rows.json")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        subprocess.run(
            [python, "-m", "benchmarks.myfm_anchor", "--data", folder, "--folds", str(fold), "--json", out],
            cwd=root, check=True, capture_output=True,
        )  # fmt: skip
        with open(out) as handle:
            return json.load(handle)[0]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (how busy the shared cores were)."""
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def anchor(folder: str, folds: list[int], python: str | None) -> list[dict]:
    """BEST_BLEND and myFM on each u-fold, back to back; rows plus a mean row."""
    full = _read(find_ml100k(folder) / "u.data")
    users = np.array(sorted(full["user"].unique(), key=int), dtype=str)
    items = np.array(sorted(full["item"].unique(), key=int), dtype=str)
    if python is None:
        print("  myFM: no interpreter with myfm (pass --myfm-python); its columns are skipped")
    rows = []
    for fold in folds:
        base = find_ml100k(folder)
        train_set = _ratings(_read(base / f"u{fold}.base"), users, items, f"u{fold}.base")
        test_set = _ratings(_read(base / f"u{fold}.test"), users, items, f"u{fold}.test")
        row: dict = {"fold": f"u{fold}", "load before": load_average()}
        started = time.perf_counter()
        blend = train_blend(train_set, test_set, BEST_BLEND)
        row.update({"ours RMSE": blend.metrics["rmse"], "ours s": time.perf_counter() - started})
        if python is not None:
            mine = run_myfm(python, str(base), fold)
            row.update({"myFM RMSE": mine["rmse"], "myFM s": mine["seconds"]})
            row["time ratio"] = row["ours s"] / row["myFM s"]
        print(f"  {row}", flush=True)
        rows.append(row)
    mean = {"fold": "mean"}
    for key in ("ours RMSE", "ours s", "myFM RMSE", "myFM s", "time ratio"):
        values = [r[key] for r in rows if key in r]
        if values:
            mean[key] = float(np.mean(values))
    return [*rows, mean]


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
    parser.add_argument("--anchor", action="store_true", help="BEST_BLEND beside myFM on the u-folds")
    parser.add_argument("--folds", default="1,2,3,4,5", help="u-folds for --anchor")
    parser.add_argument("--myfm-python", default=None, help="an interpreter with myfm installed")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.anchor:
        rows = anchor(args.data, [int(f) for f in args.folds.split(",")], myfm_python(args.myfm_python))
        print(
            f"# best blend vs myFM timeSVD++ flipped (rank 10, 512 samples) on ML-100K u-folds; {machine()}"
        )
        print(f"- ours: {' + '.join(c.describe() for c in BEST_BLEND)}")
        print_table(rows, ["fold", "ours RMSE", "ours s", "myFM RMSE", "myFM s", "time ratio", "load before"])
        write_json(args.json, {"machine": machine(), "rows": rows})
        return
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
                        "model": "**Blend: " + " + ".join(MODEL_LABELS[c.model] for c in BEST_BLEND) + "**",
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
