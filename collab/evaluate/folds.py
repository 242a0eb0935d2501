"""K-fold splits: `kfold` splits ratings into k folds (`collab.training.cross_validation` trains on each).

As Surprise's `KFold` and `cross_validate` do: every rating is held out exactly once, in one of `k`
folds of (nearly) equal size drawn at random with `seed`; a fold's model trains on the other k - 1.
Held-out ratings whose user or item has no rating left in training cannot be predicted by any
model of this kind (its row was never trained), so they are not scored; each fold counts them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from collab.data.ratings import Ratings

if TYPE_CHECKING:
    import pandas as pd


__all__ = ["Fold", "kfold"]


@dataclass(frozen=True, eq=False)
class Fold:
    """One fold: train on `train`, score `valid`; unpacks as `train, valid = fold`."""

    index: int  # 0-based
    train: Ratings  # every rating outside the fold
    valid: Ratings  # the fold's ratings whose user and item both occur in `train`
    held_out: np.ndarray  # positions in the full ratings of the whole fold, sorted
    n_dropped: int  # fold ratings not in `valid`: their user or item has no training rating

    def __iter__(self) -> Iterator[Ratings]:
        return iter((self.train, self.valid))


def kfold(ratings: Ratings | pd.DataFrame, k: int = 5, seed: int = 42) -> list[Fold]:
    """`k` folds that partition the ratings: fold i holds out every k-th rating of a seeded shuffle
    (sizes differ by at most one) and trains on the rest, all on the dataset's vocabulary.

    `ratings` may be a DataFrame (read as `read_ratings` does). Raises ValueError for k < 2 or
    k > the number of ratings.
    """
    ratings = _as_ratings(ratings)
    if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= ratings.n_ratings:
        raise ValueError(
            f"k must be an integer from 2 to the number of ratings ({ratings.n_ratings}), got {k!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    n = ratings.n_ratings
    fold_of = np.empty(n, dtype=np.int64)
    fold_of[np.random.default_rng(seed).permutation(n)] = np.arange(n) % k
    folds = []
    for i in range(k):
        held = fold_of == i
        train = ratings.subset(~held)
        seen_user = np.bincount(train.user_ids, minlength=ratings.n_users) > 0
        seen_item = np.bincount(train.item_ids, minlength=ratings.n_items) > 0
        scored = held & seen_user[ratings.user_ids] & seen_item[ratings.item_ids]
        folds.append(
            Fold(
                index=i,
                train=train,
                valid=ratings.subset(scored),
                held_out=np.flatnonzero(held),
                n_dropped=int(held.sum() - scored.sum()),
            )
        )
    return folds


def _as_ratings(ratings: Ratings | pd.DataFrame) -> Ratings:
    if isinstance(ratings, Ratings):
        return ratings
    import pandas as pd

    if isinstance(ratings, pd.DataFrame):
        from collab.data.read import read_ratings

        return read_ratings(ratings)
    raise TypeError(f"ratings must be Ratings or a pandas DataFrame, got {type(ratings).__name__}")
