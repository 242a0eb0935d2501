"""Ranking metrics of a trained model under both protocols, each beside the popularity baseline, and
the one check that a `Ratings` is on a model's vocabulary before any of its integer ids are used.

Keys (k = 10 unless asked): `precision@k`, `recall@k`, `ndcg@k`, `hit_rate@k`, `map@k`, `mrr@k` rank the
whole catalogue of each validation user's unseen items (`collab.evaluate.ranking`, "catalogue"), with
`popularity_<name>` beside each and `ranked_users` (the users the means are over); `rated_precision@k`,
`rated_recall@k`, `rated_ndcg@k` re-rank only each user's held-out items, with `popularity_rated_<name>`
and `rated_users`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from collab.data.guards import as_text, text_array
from collab.evaluate.metrics import relevant_threshold
from collab.evaluate.ranking import catalogue_ranking_quality, popularity_scores, rated_ranking_quality

if TYPE_CHECKING:
    from collab.data.ratings import Ratings
    from collab.training.result import TrainResult

CATALOGUE_MEASURES = ("precision", "recall", "ndcg", "hit_rate", "map", "mrr")
RATED_MEASURES = ("precision", "recall", "ndcg")
MAX_CELLS = 50_000_000  # user x item scores for the catalogue protocol: a few seconds on a CPU


def catalogue_metrics(
    predict_ids: Callable[[np.ndarray, np.ndarray], np.ndarray],
    n_items: int,
    train: Ratings,
    valid: Ratings,
    k: int = 10,
    threshold: float | None = None,
    max_cells: int = MAX_CELLS,
    score_users: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, float]:
    """The catalogue protocol's `<measure>@k` and `popularity_<measure>@k`, plus `ranked_users`.

    `predict_ids(users, items) -> (n,)` scores pairs of model indices; `train` and `valid` are on that
    vocabulary. At most `max_cells // n_items` users are ranked (the first by index); `ranked_users` says
    how many. `threshold`: relevant from this rating (default: the top quarter of `train`'s scale).
    `score_users(users) -> (len(users), n_items)`, where given, scores whole rows at once (the same
    numbers as `predict_ids` on every pair, faster)."""
    if threshold is None:
        threshold = relevant_threshold(train.ratings)

    def by_pairs(users: np.ndarray) -> np.ndarray:
        user_col = np.repeat(np.asarray(users, dtype=np.int64), n_items)
        item_col = np.tile(np.arange(n_items, dtype=np.int64), len(users))
        scores = np.asarray(predict_ids(user_col, item_col), dtype=np.float64)
        return scores.reshape(len(users), n_items)  # (len(users), n_items)

    max_users = max(1, max_cells // max(n_items, 1))
    quality = catalogue_ranking_quality(score_users or by_pairs, train, valid, k, threshold, max_users)
    out: dict[str, float] = {}
    for name in CATALOGUE_MEASURES:
        out[f"{name}@{k}"] = quality.model[name]
        out[f"popularity_{name}@{k}"] = quality.popularity[name]
    out["ranked_users"] = quality.n_users
    return out


def rated_metrics(
    predicted: np.ndarray, train: Ratings, valid: Ratings, k: int = 10, threshold: float | None = None
) -> dict[str, float]:
    """The "rated" protocol (each user's held-out items re-ranked): `rated_<measure>@k`,
    `popularity_rated_<measure>@k` and `rated_users`; `predicted` is (valid.n_ratings,)."""
    if threshold is None:
        threshold = relevant_threshold(train.ratings)
    popularity = popularity_scores(train.item_ids, train.n_items)
    quality = rated_ranking_quality(valid, predicted, popularity, k=k, threshold=threshold)
    out: dict[str, float] = {}
    for name in RATED_MEASURES:
        out[f"rated_{name}@{k}"] = quality.model[name]
        out[f"popularity_rated_{name}@{k}"] = quality.popularity[name]
    out["rated_users"] = quality.n_users
    return out


def ranking_metrics(
    result: TrainResult, train: Ratings, valid: Ratings, k: int = 10, max_cells: int = MAX_CELLS
) -> dict[str, float]:
    """Both protocols for a trained rating model (`catalogue_metrics` and `rated_metrics`). `train`
    and `valid` are put on the model's vocabulary by label first (`on_model_vocabulary`)."""
    train, _ = on_model_vocabulary(result, train)
    valid, _ = on_model_vocabulary(result, valid)
    threshold = relevant_threshold(train.ratings)
    out = catalogue_metrics(
        result.predict_ids, len(result.item_labels), train, valid, k, threshold, max_cells
    )
    predicted = np.asarray(result.predict_ids(valid.user_ids, valid.item_ids), dtype=np.float64)
    out.update(rated_metrics(predicted, train, valid, k, threshold))
    return out


def same_vocabulary(user_labels: np.ndarray, item_labels: np.ndarray, ratings: Ratings) -> bool:
    """Whether index i means the same user (and item) in `ratings` as in these labels."""
    return all(
        a is b or (len(a) == len(b) and np.array_equal(as_text(a), as_text(b)))
        for a, b in ((user_labels, ratings.user_labels), (item_labels, ratings.item_labels))
    )


def onto_vocabulary(
    user_labels: np.ndarray, item_labels: np.ndarray, ratings: Ratings
) -> tuple[Ratings, int]:
    """`ratings` renumbered by label onto these users and items (unchanged when they already share
    them), and how many of its ratings were left out because their user or item is not among them.
    Titles and genres follow the items they belong to."""
    if same_vocabulary(user_labels, item_labels, ratings):
        return ratings, 0
    users = _lookup(user_labels, ratings.user_labels)[ratings.user_ids]
    item_map = _lookup(item_labels, ratings.item_labels)  # (ratings.n_items,) new index or -1
    items = item_map[ratings.item_ids]
    known = (users >= 0) & (items >= 0)
    titles = genres = None
    if ratings.titles is not None or ratings.genres is not None:
        back = _lookup(ratings.item_labels, item_labels)  # (len(item_labels),) old index or -1
        if ratings.titles is not None:
            old = np.asarray(ratings.titles).astype(object)
            titles = np.where(back >= 0, old[np.maximum(back, 0)], np.asarray(item_labels).astype(object))
            titles = text_array(titles)
        if ratings.genres is not None:
            genres = tuple(ratings.genres[b] if b >= 0 else () for b in back)
    mapped = replace(
        ratings,
        user_ids=users[known],
        item_ids=items[known],
        ratings=ratings.ratings[known],
        timestamps=ratings.timestamps[known] if ratings.timestamps is not None else None,
        user_labels=np.asarray(user_labels),
        item_labels=np.asarray(item_labels),
        titles=titles,
        genres=genres,
        truth=None,
        fingerprint="",
        notes=(),
        warnings=(),
    )
    return mapped, int((~known).sum())


def on_model_vocabulary(result: TrainResult, ratings: Ratings) -> tuple[Ratings, int]:
    """`ratings` on `result`'s users and items by label (`onto_vocabulary`), and how many were left out.
    Every function that takes a model and a `Ratings` goes through this before using integer ids, so a
    `Ratings` read on its own (another file, another order) is never scored on mismatched ids."""
    return onto_vocabulary(result.user_labels, result.item_labels, ratings)


def _lookup(known: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each label's index in `known`, or -1 (labels compared as text)."""
    return pd.Index(as_text(known)).get_indexer(as_text(labels))


def evaluate_result(
    result: TrainResult, valid: Ratings, train: Ratings | None = None, k: int = 10
) -> dict[str, float]:
    """A trained rating model scored on `valid`, both put on the model's vocabulary by label first.

    Returns `rmse`, `mae` and `global_mean_rmse` (predicting `train`'s mean, else `valid`'s own) over the
    pairs whose user and item the model knows (`n_scored`; `n_unknown` were left out), the "rated"
    ranking metrics, and, given the training ratings `train`, the catalogue ones beside popularity
    (`ranking_metrics`). Raises ValueError when the model knows no pair of `valid`."""
    from collab.evaluate import metrics

    valid, n_unknown = on_model_vocabulary(result, valid)
    if valid.n_ratings == 0:
        raise ValueError(
            f"none of the ratings in '{valid.name}' has a user and an item the model knows "
            f"({n_unknown:,} left out): was it trained on this dataset?"
        )
    if train is not None:
        train, _ = on_model_vocabulary(result, train)
    predicted = np.asarray(result.predict_ids(valid.user_ids, valid.item_ids), dtype=np.float64)
    truth = valid.ratings
    reference = train if train is not None and train.n_ratings else valid
    mean = float(np.mean(reference.ratings))
    out: dict[str, float] = {
        "rmse": metrics.rmse(predicted, truth),
        "global_mean_rmse": metrics.rmse(np.full_like(predicted, mean), truth),
        "mae": metrics.mae(predicted, truth),
    }
    if train is not None:
        out.update(
            catalogue_metrics(
                result.predict_ids,
                len(result.item_labels),
                train,
                valid,
                k,
                relevant_threshold(train.ratings),
            )
        )
    out.update(rated_metrics(predicted, reference, valid, k, relevant_threshold(reference.ratings)))
    out.update(n_scored=valid.n_ratings, n_unknown=n_unknown)
    return out
