"""Implicit feedback on MovieLens 100K u1: every rating an interaction, the whole catalogue ranked.

python -m benchmarks.implicit [--data FOLDER] [--json out.json]

For each u1.test user, every item the user has no u1.base interaction with is ranked; the user's test
items are relevant (binary gain). NDCG, hit rate, precision and recall at 10 come from
`collab.evaluate.ranking.catalogue_ranking_quality` for every row, peers included (their factors are
scored here). Rows: our BPR and BCE (`TrainConfig(model=...)` defaults, the compiled path), the
popularity baseline, and cornac's BPR and implicit's BPR/ALS when those libraries are importable (they
are never dependencies of collab: run this script with an interpreter that has them to add the rows).
One run each; seconds are training only (our first row includes numba loading its cached kernels).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from benchmarks.common import find_ml100k, machine, print_table, write_json
from collab.data.ratings import Ratings
from collab.data.read import read_ratings
from collab.evaluate.ranking import catalogue_ranking_quality
from collab.training.config import TrainConfig
from collab.training.implicit import catalogue_scores
from collab.training.loop import train

K = 10


def u1_interactions(folder: str | None) -> tuple[Ratings, Ratings]:
    """u1.base and u1.test as interactions on u1.base's vocabulary (test rows outside it dropped)."""
    path = find_ml100k(folder)
    base = read_ratings(path / "u1.base", implicit="binary", timestamp_col=False)
    test = read_ratings(path / "u1.test", implicit="binary", timestamp_col=False)
    users = pd.Index(base.user_labels).get_indexer(test.user_labels)  # -1: not in u1.base
    items = pd.Index(base.item_labels).get_indexer(test.item_labels)
    keep = (users[test.user_ids] >= 0) & (items[test.item_ids] >= 0)
    valid = Ratings(
        user_ids=users[test.user_ids[keep]],
        item_ids=items[test.item_ids[keep]],
        ratings=np.ones(int(keep.sum())),
        user_labels=base.user_labels,
        item_labels=base.item_labels,
        name="u1.test",
    )
    return base, valid


def row(
    name: str, score: Callable[[np.ndarray], np.ndarray], base: Ratings, valid: Ratings, seconds: float
) -> dict:
    quality = catalogue_ranking_quality(score, base, valid, k=K, threshold=-math.inf)
    return {
        "model": name,
        **{f"{m}@{K}": round(v, 4) for m, v in quality.model.items()},
        "train s": round(seconds, 2),
    }


def peers(base: Ratings, valid: Ratings) -> list[dict]:
    """cornac BPR (k=50, 200 iterations, lr 0.01) and implicit's BPR and ALS (defaults), where importable."""
    rows = []
    matrix = None
    if importlib.util.find_spec("scipy") is not None:
        import scipy.sparse as sp

        matrix = sp.csr_matrix(
            (np.ones(base.n_ratings, np.float32), (base.user_ids, base.item_ids)),
            shape=(base.n_users, base.n_items),
        )
    if importlib.util.find_spec("cornac") is not None:
        import cornac
        from cornac.data import Dataset

        data = Dataset.from_uir(
            [(str(u), str(i), 1.0) for u, i in zip(base.user_ids, base.item_ids, strict=True)], seed=123
        )
        model = cornac.models.BPR(k=50, max_iter=200, learning_rate=0.01, seed=123)
        started = time.perf_counter()
        model.fit(data)
        seconds = time.perf_counter() - started
        user_of = {int(raw): inner for raw, inner in data.uid_map.items()}
        item_of = np.full(base.n_items, -1)
        for raw, inner in data.iid_map.items():
            item_of[int(raw)] = inner
        known = item_of >= 0

        def cornac_scores(ids: np.ndarray) -> np.ndarray:
            out = np.full((len(ids), base.n_items), -np.inf)
            users = model.u_factors[[user_of[int(u)] for u in ids]]  # (b, k)
            out[:, known] = users @ model.i_factors[item_of[known]].T + model.i_biases[item_of[known]]
            return out

        rows.append(row("cornac BPR (k 50, 200 it, lr 0.01)", cornac_scores, base, valid, seconds))
    if importlib.util.find_spec("implicit") is not None and matrix is not None:
        from implicit.als import AlternatingLeastSquares
        from implicit.bpr import BayesianPersonalizedRanking

        for name, model in (
            ("implicit BPR (defaults)", BayesianPersonalizedRanking(random_state=0)),
            ("implicit ALS (defaults)", AlternatingLeastSquares(random_state=0)),
        ):
            started = time.perf_counter()
            model.fit(matrix, show_progress=False)
            seconds = time.perf_counter() - started
            users, items = np.asarray(model.user_factors), np.asarray(model.item_factors)
            rows.append(row(name, lambda ids, u=users, i=items: u[ids] @ i.T, base, valid, seconds))
    return rows


def main() -> None:
    """Print the table (and write JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="MovieLens 100K folder (default: found as the other benchmarks do)")
    parser.add_argument("--json", help="write the rows as JSON")
    args = parser.parse_args()
    base, valid = u1_interactions(args.data)
    rows = []
    popularity = np.bincount(base.item_ids, minlength=base.n_items).astype(np.float64)
    rows.append(row("popularity", lambda ids: np.tile(popularity, (len(ids), 1)), base, valid, 0.0))
    for model in ("bpr", "bce"):
        result = train(base, None, TrainConfig(model=model))
        label = f"ours {model.upper()} ({result.optimizer}, {result.config.epochs} epochs)"
        rows.append(
            row(label, lambda ids, m=result.model: catalogue_scores(m, ids), base, valid, result.seconds)
        )
    rows += peers(base, valid)
    columns = ["model", f"ndcg@{K}", f"hit_rate@{K}", f"precision@{K}", f"recall@{K}", "train s"]
    print(f"ML-100K u1 as interactions, whole catalogue ranked, {machine()}")
    print_table(rows, columns)
    write_json(args.json, {"machine": machine(), "rows": rows})


if __name__ == "__main__":
    main()
