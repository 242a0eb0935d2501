"""The outside anchor: myFM's Bayesian factorization machine with Rendle et al.'s "timeSVD++ flipped" features.

python -m benchmarks.myfm_anchor --data FOLDER [--folds 1,2,3,4,5] [--iterations 512] [--rank 10] [--json out.json]

Runs only where the `myfm` package is installed (the benchmark's own virtual environment, never a
runtime dependency of collab; it imports nothing of collab, so it runs in a venv with only myfm, numpy,
pandas and scipy). The features follow myFM's `examples/ml-100k-regression.py` under the "stricter"
protocol of Rendle, Zhang and Koren, "On the Difficulty of Evaluating Baselines" (2019): per rating the
day of the rating (one-hot, days seen in training), the user (one-hot) plus the items that user rated
in the *training* fold (weights 1/sqrt(count)), the item (one-hot) plus the users who rated it in the
training fold; Gibbs sampling, rank 10, 512 samples all kept, predictions clipped to the training range.
Seconds cover building the features, sampling and predicting.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sps


def read_fold(folder: Path, fold: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """u{fold}.base and u{fold}.test as frames of user, item, rating, timestamp (ints)."""
    names = ["user", "item", "rating", "timestamp"]
    base = pd.read_csv(folder / f"u{fold}.base", sep="\t", names=names)
    test = pd.read_csv(folder / f"u{fold}.test", sep="\t", names=names)
    return base, test


def flipped_blocks(train: pd.DataFrame, frame: pd.DataFrame, users: pd.Index, items: pd.Index) -> list:
    """myFM relation blocks for `frame`: [user one-hot | items rated], [item one-hot | users who rated]."""
    import myfm

    u_train = users.get_indexer(train["user"])
    i_train = items.get_indexer(train["item"])
    n_u, n_i = len(users), len(items)
    rated = sps.csr_matrix((np.ones(len(train)), (u_train, i_train)), shape=(n_u, n_i))
    user_side = sps.diags(1 / np.sqrt(np.maximum(rated.getnnz(axis=1), 1))) @ rated
    item_side = sps.diags(1 / np.sqrt(np.maximum(rated.getnnz(axis=0), 1))) @ rated.T.tocsr()
    user_x = sps.hstack([sps.identity(n_u, format="csr"), user_side], format="csr")
    item_x = sps.hstack([sps.identity(n_i, format="csr"), item_side], format="csr")
    u_rows = users.get_indexer(frame["user"])
    i_rows = items.get_indexer(frame["item"])
    # unseen users or items (never in ML-100K's u-folds, whose vocabulary is shared) get an all-zero row
    u_rows = np.where(u_rows < 0, n_u, u_rows)
    i_rows = np.where(i_rows < 0, n_i, i_rows)
    user_x = sps.vstack([user_x, sps.csr_matrix((1, user_x.shape[1]))], format="csr")
    item_x = sps.vstack([item_x, sps.csr_matrix((1, item_x.shape[1]))], format="csr")
    return [myfm.RelationBlock(u_rows, user_x), myfm.RelationBlock(i_rows, item_x)]


def run_fold(folder: Path, fold: int, iterations: int = 512, rank: int = 10, seed: int = 42) -> dict:
    """Train on u{fold}.base, score u{fold}.test: {"fold", "rmse", "mae", "seconds"}."""
    import myfm

    train, test = read_fold(folder, fold)
    started = time.perf_counter()
    users = pd.Index(np.unique(train["user"]))
    items = pd.Index(np.unique(train["item"]))
    days = pd.Index(np.unique(train["timestamp"] // 86400))

    def day_onehot(frame: pd.DataFrame) -> sps.csr_matrix:
        col = days.get_indexer(frame["timestamp"] // 86400)
        keep = col >= 0  # a day never seen in training: no day feature
        return sps.csr_matrix(
            (np.ones(keep.sum()), (np.flatnonzero(keep), col[keep])), shape=(len(frame), len(days))
        )

    group_sizes = [len(days), len(users), len(items), len(items), len(users)]
    grouping = [g for g, size in enumerate(group_sizes) for _ in range(size)]
    fm = myfm.MyFMRegressor(rank=rank, random_seed=seed)
    fm.fit(
        day_onehot(train),
        train["rating"].to_numpy(dtype=np.float64),
        X_rel=flipped_blocks(train, train, users, items),
        grouping=grouping,
        n_iter=iterations,
        n_kept_samples=iterations,
    )
    predicted = fm.predict(day_onehot(test), X_rel=flipped_blocks(train, test, users, items))
    predicted = np.clip(predicted, train["rating"].min(), train["rating"].max())
    seconds = time.perf_counter() - started
    error = predicted - test["rating"].to_numpy()
    return {
        "fold": fold,
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="MovieLens 100K folder (u1.base ... u5.test)")
    parser.add_argument("--folds", default="1,2,3,4,5")
    parser.add_argument("--iterations", type=int, default=512)
    parser.add_argument("--rank", type=int, default=10)
    parser.add_argument("--json", default=None, help="write the rows here as JSON")
    args = parser.parse_args()
    rows = []
    for fold in [int(f) for f in args.folds.split(",")]:
        rows.append(run_fold(Path(args.data), fold, args.iterations, args.rank))
        print(f"  myFM u{fold}: RMSE {rows[-1]['rmse']:.4f} in {rows[-1]['seconds']:.1f} s", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
