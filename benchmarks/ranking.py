"""Ranking on MovieLens 100K u1 under the whole-catalogue protocol, every rating model beside popularity.

For each user of u1.test with a held-out rating of 4 or more, every item the user did not rate in u1.base
is ranked; the top 10 is scored against those held-out items (precision, recall, NDCG, hit rate, MAP,
MRR at 10: `collab.evaluate.ranking`, the plain `ndcg@10`, ... of `result.metrics`). Popularity ranks by
u1.base's rating counts on the same protocol. `rated ndcg@10` re-ranks only each user's held-out items,
for comparison with the old headline number.

    python benchmarks/ranking.py [--data /path/to/ml-100k] [--models dot,nn,bias,classifier,autorec]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import find_ml100k  # noqa: E402
from collab import read_ratings, train  # noqa: E402
from collab.training.config import PRESETS, TrainConfig  # noqa: E402

K = 10
MEASURES = ("precision", "recall", "ndcg", "hit_rate", "map", "mrr")


def config_for(model: str) -> TrainConfig:
    from dataclasses import replace

    return PRESETS["autorec"] if model == "autorec" else replace(PRESETS["default"], model=model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=None)
    parser.add_argument("--models", default="dot,nn,bias,classifier,autorec")
    args = parser.parse_args()
    folder = find_ml100k(args.data)
    base, test = read_ratings(folder / "u1.base"), read_ratings(folder / "u1.test")
    header = ["model", "rmse", *(f"{m}@{K}" for m in MEASURES), f"rated ndcg@{K}", "train s"]
    rows, popularity, users = [], None, 0
    for model in args.models.split(","):
        started = time.perf_counter()
        result = train(base, test, config_for(model))
        seconds = time.perf_counter() - started
        metrics = result.metrics
        rows.append(
            [model, f"{metrics['rmse']:.4f}", *(f"{metrics[f'{m}@{K}']:.4f}" for m in MEASURES),
             f"{metrics[f'rated_ndcg@{K}']:.4f}", f"{seconds:.1f}"]
        )  # fmt: skip
        popularity = [
            "popularity (baseline)", "",
            *(f"{metrics[f'popularity_{m}@{K}']:.4f}" for m in MEASURES),
            f"{metrics[f'popularity_rated_ndcg@{K}']:.4f}", "",
        ]  # fmt: skip
        users = int(metrics["ranked_users"])
        print(f"{model}: done in {seconds:.1f} s", file=sys.stderr, flush=True)
    print(f"ML-100K u1, whole catalogue ranked for {users} users (relevant: held-out rating >= 4), k = {K}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in [*rows, popularity]:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
