"""Ranking metrics of a trained model under both protocols, each beside the popularity baseline.

`train()` reports only the cheap "rated" protocol (each user's held-out items re-ranked); the
"catalogue" protocol (every item the user has not rated in training, as cornac, implicit and papers
rank) scores users x items, so it is computed here, for `cross_validate` and the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from collab.evaluate.metrics import relevant_threshold
from collab.evaluate.ranking import catalogue_ranking_quality, popularity_scores, rated_ranking_quality

if TYPE_CHECKING:
    from collab.data.ratings import Ratings
    from collab.training.result import TrainResult

MEASURES = ("precision", "recall", "ndcg")
MAX_CELLS = 50_000_000  # user x item scores for the catalogue protocol: a few seconds on a CPU


def ranking_metrics(
    result: TrainResult, train: Ratings, valid: Ratings, k: int = 10, max_cells: int = MAX_CELLS
) -> dict[str, float]:
    """`catalogue_*@k` and `rated_*@k` for the model and `popularity_*` for the baseline on the same
    protocol, plus `catalogue_users` / `rated_users` (the users each mean is over: the catalogue
    protocol scores at most `max_cells // n_items` users, the first by index). `train` and `valid`
    share the model's vocabulary (as `ratings.split()` gives them)."""
    threshold = relevant_threshold(train.ratings)
    n_items = len(result.item_labels)

    def score_users(users: np.ndarray) -> np.ndarray:
        user_col = np.repeat(np.asarray(users, dtype=np.int64), n_items)
        item_col = np.tile(np.arange(n_items, dtype=np.int64), len(users))
        scores = np.asarray(result.predict_ids(user_col, item_col), dtype=np.float64)
        return scores.reshape(len(users), n_items)  # (len(users), n_items)

    max_users = max(1, max_cells // max(n_items, 1))
    catalogue = catalogue_ranking_quality(score_users, train, valid, k, threshold, max_users)
    model_scores = result.predict_ids(valid.user_ids, valid.item_ids)
    popularity = popularity_scores(train.item_ids, train.n_items)
    rated = rated_ranking_quality(valid, model_scores, popularity, k=k, threshold=threshold)
    out: dict[str, float] = {}
    for quality in (catalogue, rated):
        for name in MEASURES:
            out[f"{quality.protocol}_{name}@{k}"] = quality.model[name]
            out[f"popularity_{quality.protocol}_{name}@{k}"] = quality.popularity[name]
        out[f"{quality.protocol}_users"] = quality.n_users
    return out
