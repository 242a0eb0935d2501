"""What a trained model is for: top-N unseen items, similar items, new-user fold-in, ranking quality.

Core functions take plain numpy arrays; the adapters at the bottom take a `TrainResult` and `Ratings`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from collab.analysis.embeddings import Metric, Neighbours, nearest_neighbours
from collab.data import guards
from collab.data.guards import as_text
from collab.evaluate.metrics import relevant_threshold
from collab.evaluate.ranking import (
    PROTOCOLS,
    Protocol,
    RankingQuality,
    catalogue_ranking_quality,
    popularity_scores,
    rated_ranking_quality,
    top_k_rows,
)

if TYPE_CHECKING:
    import pandas as pd

    from collab.data.ratings import Ratings
    from collab.training.result import TrainResult


def sigmoid_range(x: np.ndarray, y_range: tuple[float, float]) -> np.ndarray:
    """Squash `x` into `y_range` with a sigmoid, as the dot-product model does."""
    low, high = y_range
    return low + (high - low) / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def top_n_unseen(scores: np.ndarray, seen: np.ndarray, n: int) -> np.ndarray:
    """Indices of the `n` best-scored items not in `seen`, best first (ties: lower index first)."""
    s = np.asarray(scores, dtype=np.float64)
    mask = np.ones(len(s), dtype=bool)
    mask[np.asarray(seen, dtype=np.int64)] = False
    pool = np.flatnonzero(mask)
    order = np.lexsort((pool, -s[pool]))
    return pool[order[:n]]


@dataclass(frozen=True)
class Recommendations:
    """Items recommended to one user, best first, with the parts of each prediction."""

    item_ids: np.ndarray  # (n,) item indices
    predicted: np.ndarray  # (n,) predicted rating on the rating scale
    item_bias: np.ndarray  # (n,) learned item bias, NaN when the model has none
    dot: np.ndarray  # (n,) user·item dot-product part (before the sigmoid), NaN for non-dot models


def recommend(
    scores: np.ndarray,
    seen: np.ndarray,
    n: int,
    item_bias: np.ndarray | None = None,
    dot: np.ndarray | None = None,
) -> Recommendations:
    """The top-`n` unseen items by `scores`, carrying each item's bias and dot-product part along."""
    ids = top_n_unseen(scores, seen, n)
    nan = np.full(len(ids), np.nan)
    return Recommendations(
        item_ids=ids,
        predicted=np.asarray(scores, dtype=np.float64)[ids],
        item_bias=nan if item_bias is None else np.asarray(item_bias, dtype=np.float64).reshape(-1)[ids],
        dot=nan.copy() if dot is None else np.asarray(dot, dtype=np.float64)[ids],
    )


def similar_items(
    item_factors: np.ndarray,
    item_id: int,
    n: int = 10,
    metric: Metric = "cosine",
    counts: np.ndarray | None = None,
    min_count: int = 0,
) -> Neighbours:
    """Items whose factors are nearest `item_id`'s ("more like this"); with `counts` (n_items,) only items
    with at least `min_count` ratings (see `nearest_neighbours`)."""
    return nearest_neighbours(item_factors, item_id, n=n, metric=metric, counts=counts, min_count=min_count)


@dataclass(frozen=True)
class FoldIn:
    """A new user's vector and bias fitted against frozen item factors."""

    user_vector: np.ndarray  # (k,)
    user_bias: float
    fitted: np.ndarray  # (n_rated,) the model's ratings for the items the user rated
    iterations: int

    def scores(
        self, item_factors: np.ndarray, item_bias: np.ndarray, y_range: tuple[float, float]
    ) -> np.ndarray:
        """Predicted ratings of every item for this user."""
        return sigmoid_range(
            self.dot(item_factors) + self.user_bias + np.asarray(item_bias).reshape(-1), y_range
        )

    def dot(self, item_factors: np.ndarray) -> np.ndarray:
        """The dot-product part for every item."""
        return np.asarray(item_factors, dtype=np.float64) @ self.user_vector  # (n_items,)


def fold_in(
    item_factors: np.ndarray,
    item_bias: np.ndarray,
    item_ids: np.ndarray,
    ratings: np.ndarray,
    y_range: tuple[float, float],
    *,
    prior_mean: np.ndarray | None = None,
    prior_var: np.ndarray | None = None,
    noise_var: float = 1.0,
    max_iter: int = 50,
) -> FoldIn:
    """Fit one user's vector and bias to a few ratings with the item factors frozen.

    Minimises sum((sigmoid_range(v_i·u + b + c_i) - r_i)^2) + noise_var * sum((theta - mean)^2 / var),
    the MAP estimate under a Gaussian prior over (u, b) (by default the trained users' spread), by
    Gauss-Newton steps with backtracking: k+1 unknowns, so each step is a tiny linear solve.
    """
    v = np.asarray(item_factors, dtype=np.float64)[np.asarray(item_ids, dtype=np.int64)]  # (m, k)
    c = np.asarray(item_bias, dtype=np.float64).reshape(-1)[np.asarray(item_ids, dtype=np.int64)]  # (m,)
    r = np.asarray(ratings, dtype=np.float64)  # (m,)
    if len(r) != len(v):
        raise ValueError(f"{len(v)} items but {len(r)} ratings")
    k = v.shape[1]
    design = np.hstack([v, np.ones((len(v), 1))])  # (m, k+1): theta = (u, b)
    mean = np.zeros(k + 1) if prior_mean is None else np.asarray(prior_mean, dtype=np.float64)
    var = np.ones(k + 1) if prior_var is None else np.asarray(prior_var, dtype=np.float64)
    precision = noise_var / np.maximum(var, 1e-8)  # (k+1,)
    low, high = y_range

    def objective(theta: np.ndarray) -> float:
        residual = sigmoid_range(design @ theta + c, y_range) - r
        return float(residual @ residual + ((theta - mean) ** 2 * precision).sum())

    theta = mean.copy()
    current = objective(theta)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 (reported below)
        z = design @ theta + c
        s = 1.0 / (1.0 + np.exp(-z))
        residual = low + (high - low) * s - r
        jac = design * ((high - low) * s * (1 - s))[:, None]  # (m, k+1)
        grad = jac.T @ residual + precision * (theta - mean)
        hessian = jac.T @ jac + np.diag(precision)
        step = np.linalg.solve(hessian, -grad)
        scale, improved = 1.0, False
        while scale > 1e-4:
            candidate = theta + scale * step
            value = objective(candidate)
            if value <= current:
                improved = True
                break
            scale /= 2
        if not improved:
            break
        done = current - value < 1e-10 * max(1.0, current)
        theta, current = candidate, value
        if done:
            break
    fitted = sigmoid_range(design @ theta + c, y_range)
    return FoldIn(user_vector=theta[:k], user_bias=float(theta[k]), fitted=fitted, iterations=iterations)


def suggest_items_to_rate(
    item_factors: np.ndarray, counts: np.ndarray, n: int = 10, pool_size: int = 100
) -> np.ndarray:
    """Popular and diverse items to ask a new user about: farthest-point picks (cosine) among the most rated."""
    x = np.asarray(item_factors, dtype=np.float64)
    pool = np.lexsort((np.arange(len(counts)), -np.asarray(counts)))[:pool_size]
    unit = x[pool] / np.maximum(np.linalg.norm(x[pool], axis=1, keepdims=True), 1e-12)
    chosen = [0]  # the most rated item first
    nearest = unit @ unit[0]  # (pool,) highest similarity to anything chosen so far
    while len(chosen) < min(n, len(pool)):
        nearest[chosen] = np.inf
        pick = int(np.argmin(nearest))
        chosen.append(pick)
        nearest = np.maximum(nearest, unit @ unit[pick])
    return pool[np.asarray(chosen)]


# --- adapters over a trained model -------------------------------------------------------------


def has_dot_product(result: TrainResult) -> bool:
    """Whether the model predicts sigmoid_range(u·v + b_u + b_i), so fold-in and the score split apply."""
    return result.config.model == "dot" and result.item_bias() is not None and result.user_bias() is not None


def seen_items(ratings: Ratings, user_id: int) -> np.ndarray:
    """Item indices that `user_id` rated in `ratings`."""
    return np.unique(ratings.item_ids[ratings.user_ids == user_id])


def predict_all(result: TrainResult, user_ids: np.ndarray, n_items: int) -> np.ndarray:
    """Predicted ratings of every item for each user: (len(user_ids), n_items)."""
    users = np.asarray(user_ids, dtype=np.int64)
    user_col = np.repeat(users, n_items)
    item_col = np.tile(np.arange(n_items, dtype=np.int64), len(users))
    return np.asarray(result.predict_ids(user_col, item_col), dtype=np.float64).reshape(len(users), n_items)


def recommend_for_user(result: TrainResult, seen_in: Ratings, user_id: int, n: int = 10) -> Recommendations:
    """Top-`n` items that `user_id` (the model's index) has not rated in `seen_in`, with the bias and
    dot-product parts; `seen_in` from any read is matched to the model by label."""
    seen_in, _ = on_model_vocabulary(result, seen_in)
    n_items = len(result.item_labels)
    scores = predict_all(result, np.array([user_id]), n_items)[0]
    dot = None
    if has_dot_product(result):
        dot = result.item_factors() @ result.user_factors()[user_id]  # (n_items,)
    return recommend(scores, seen_items(seen_in, user_id), n, item_bias=result.item_bias(), dot=dot)


def fold_in_user(result: TrainResult, item_ids: np.ndarray, ratings: np.ndarray) -> FoldIn:
    """Fit a new user to a few ratings against `result`'s frozen item factors, with the trained users as prior."""
    if not has_dot_product(result):
        raise ValueError(
            f"fold-in needs the dot-product model with biases; this model is {result.config.model!r}"
        )
    users = np.hstack([result.user_factors(), result.user_bias().reshape(-1, 1)])  # (n_users, k+1)
    rmse = float(result.metrics.get("rmse", 1.0))
    return fold_in(
        result.item_factors(),
        result.item_bias(),
        item_ids,
        ratings,
        tuple(result.y_range),
        prior_mean=users.mean(axis=0),
        prior_var=users.var(axis=0),
        noise_var=rmse**2 if np.isfinite(rmse) else 1.0,
    )


def recommend_for_new_user(
    result: TrainResult, fit: FoldIn, rated: np.ndarray, n: int = 10
) -> Recommendations:
    """Top-`n` items for a folded-in user, excluding the items they rated."""
    item_factors, item_bias = result.item_factors(), result.item_bias()
    scores = fit.scores(item_factors, item_bias, tuple(result.y_range))
    return recommend(scores, rated, n, item_bias=item_bias, dot=fit.dot(item_factors))


def ranking_quality_of(
    result: TrainResult, train: Ratings, valid: Ratings, k: int = 10, protocol: Protocol = "catalogue"
) -> RankingQuality:
    """Ranking quality of a trained model against popularity on the validation set, under `protocol`
    (`collab.evaluate.ranking`: "catalogue", every unseen item ranked, the default; "rated", each user's
    held-out items re-ranked); an item is relevant when rated in the top quarter of the training
    ratings' scale (`metrics.relevant_threshold`: 4 on 1-5). `train` and `valid` from any read are
    matched to the model by label."""
    train, _ = on_model_vocabulary(result, train)
    valid, _ = on_model_vocabulary(result, valid)
    threshold = relevant_threshold(train.rating_values)  # (distinct values, kept with the split)
    popularity = popularity_scores(train.item_ids, train.n_items)
    if protocol == "rated":
        model_scores = result.predict_ids(valid.user_ids, valid.item_ids)
        return rated_ranking_quality(valid, model_scores, popularity, k, threshold)
    if protocol == "catalogue":
        n_items = len(result.item_labels)
        return catalogue_ranking_quality(
            lambda users: predict_all(result, users, n_items), train, valid, k=k, threshold=threshold
        )
    raise ValueError(f"protocol must be one of {sorted(PROTOCOLS)}, got {protocol!r}")


def model_mismatch(result: TrainResult, ratings: Ratings) -> str | None:
    """Why `result` cannot be used with `ratings` (another dataset, or a different user or item
    vocabulary), or None if it can."""
    trained_on = getattr(result, "dataset", "")
    if trained_on and trained_on != ratings.fingerprint:
        return (
            f"it was trained on another dataset (fingerprint {trained_on[:12]}; '{ratings.name}' is "
            f"{ratings.fingerprint[:12]}), even if the labels may match"
        )
    for kind, model_labels, data_labels in (
        ("users", result.user_labels, ratings.user_labels),
        ("items", result.item_labels, ratings.item_labels),
    ):
        model_labels = as_text(model_labels)
        data_labels = as_text(data_labels)
        if len(model_labels) != len(data_labels):
            return (
                f"the model has {len(model_labels):,} {kind} but the dataset '{ratings.name}' has "
                f"{len(data_labels):,}: it was trained on another dataset"
            )
        differ = np.flatnonzero(model_labels != data_labels)
        if len(differ):
            first = differ[0]
            return (
                f"{len(differ):,} {kind[:-1]} labels differ from the dataset '{ratings.name}' "
                f"(first: index {first} is '{model_labels[first]}' in the model, '{data_labels[first]}' in the data)"
            )
    return None


def predictions_csv(result: TrainResult, valid: Ratings) -> str:
    """The validation set with the model's predictions, as CSV text (user, item, title, rating, predicted);
    `valid` from any read is matched to the model by label (pairs it does not know are left out)."""
    import pandas as pd

    valid, _ = on_model_vocabulary(result, valid)

    predicted = np.asarray(result.predict_ids(valid.user_ids, valid.item_ids), dtype=np.float64)
    frame = pd.DataFrame(
        {
            "user": np.asarray(valid.user_labels)[valid.user_ids],
            "item": np.asarray(valid.item_labels)[valid.item_ids],
            "title": (
                np.asarray(valid.titles) if valid.titles is not None else np.asarray(valid.item_labels)
            )[valid.item_ids],
            "rating": valid.ratings,
            "predicted": np.round(predicted, 4),
        }
    )
    buffer = io.StringIO()
    guards.neutralise_formulas(frame).to_csv(buffer, index=False)
    return buffer.getvalue()


# --- labels in, DataFrames out (the notebook API) ----------------------------------------------

# a block of users is scored against every item at once; blocks keep that under this many cells
_BLOCK_CELLS = 1 << 21


def top_n(
    result: TrainResult,
    users: object = None,
    n: int = 10,
    *,
    ratings: Ratings | None = None,
    exclude_rated: bool = True,
) -> pd.DataFrame:
    """The `n` best-predicted items for each user, by label: a DataFrame with columns user, rank
    (1 = best), item, title, score (the predicted rating).

    `users`: one user label, a list of labels, or None for every user the model knows (Spark's
    `recommendForAllUsers`): users are scored in blocks against every item with the model's batched
    forward pass, and the top `n` of each row picked with one partial sort, so there is no Python loop
    per user. `ratings` (e.g. the training set) gives the items each user has rated, left out when
    `exclude_rated`, and the titles; its labels are matched to the model's by text. Unknown user labels
    raise `UnknownLabelError` (a ValueError) naming the first. A user with fewer than `n` unrated items
    gets fewer rows.
    """
    import pandas as pd

    _check_n(n)
    n_items = len(result.item_labels)
    user_ids = _user_ids(result, users)
    rated = _rated_matrix(result, ratings) if (exclude_rated and ratings is not None) else None
    titles = _titles(result, ratings)
    block = max(1, _BLOCK_CELLS // max(n_items, 1))
    score = _block_scorer(result)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(0, len(user_ids), block):
        ids = user_ids[start : start + block]
        scores = score(ids)  # (block, n_items)
        if rated is not None:
            scores[rated.cells(ids)] = -np.inf
        best = top_k_rows(scores, n)  # (block, min(n, n_items))
        best_scores = np.take_along_axis(scores, best, axis=1)
        parts.append((np.repeat(ids, best.shape[1]), best.reshape(-1), best_scores.reshape(-1)))
    users_col, items_col, scores_col = (
        np.concatenate([p[i] for p in parts]) if parts else np.zeros(0) for i in range(3)
    )
    width = min(n, n_items)
    rank = np.tile(np.arange(1, width + 1), len(user_ids))
    keep = np.isfinite(scores_col)
    items_col = items_col.astype(np.int64)
    return pd.DataFrame(
        {
            "user": np.asarray(result.user_labels)[users_col.astype(np.int64)][keep],
            "rank": rank[keep],
            "item": np.asarray(result.item_labels)[items_col][keep],
            "title": titles[items_col][keep],
            "score": scores_col[keep],
        }
    ).reset_index(drop=True)


def similar_to(
    result: TrainResult,
    item: object,
    n: int = 10,
    *,
    ratings: Ratings | None = None,
    metric: Metric = "cosine",
) -> pd.DataFrame:
    """Items whose learned factors are nearest `item`'s (a label), nearest first: a DataFrame with
    columns item, title, similarity (cosine; NaN for "euclidean"), distance. `ratings` gives titles.
    Models without item factors (the bias-only baseline) raise ValueError."""
    import pandas as pd

    _check_n(n)
    factors = result.item_factors()
    if factors.shape[1] == 0:
        raise ValueError(f"the {result.config.model!r} model has no item factors to compare")
    index = int(result._index("item", [item])[0])  # noqa: SLF001 - the result's own label lookup
    near = similar_items(factors, index, n=n, metric=metric)
    titles = _titles(result, ratings)
    return pd.DataFrame(
        {
            "item": np.asarray(result.item_labels)[near.indices],
            "title": titles[near.indices],
            "similarity": near.similarity,
            "distance": near.distance,
        }
    )


def recommend_new_user(
    result: TrainResult,
    rated: Mapping[object, float] | pd.DataFrame,
    n: int = 10,
    *,
    ratings: Ratings | None = None,
) -> pd.DataFrame:
    """Fold a new user in from a few ratings, by item label, and recommend: a DataFrame with columns
    item, title, score (predicted rating), item_bias, dot (the parts of the score before the sigmoid).

    `rated`: {item label: rating}, or a DataFrame with item and rating columns. The user's vector and
    bias are fitted with the item factors frozen (`fold_in`, MAP under a prior from the trained users);
    the rated items are left out. Needs the dot-product model; unknown item labels raise
    `UnknownLabelError`.
    """
    import pandas as pd

    _check_n(n)
    if isinstance(rated, pd.DataFrame):
        missing = [c for c in ("item", "rating") if c not in rated.columns]
        if missing:
            raise ValueError(
                f"rated needs columns 'item' and 'rating'; it has {list(map(str, rated.columns))}"
            )
        labels, values = list(rated["item"]), np.asarray(rated["rating"], dtype=np.float64)
    else:
        labels, values = list(rated), np.asarray(list(rated.values()), dtype=np.float64)
    if not labels:
        raise ValueError("rated is empty: give at least one {item label: rating}")
    if not np.isfinite(values).all():
        raise ValueError("every rating in rated must be a number")
    low, high = (float(v) for v in result.y_range)
    outside = (values < low) | (values > high)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"rated gives {labels[first]!r} the rating {values[first]:g}, outside {low:g} to {high:g}, the "
            f"scale this model predicts on (its training ratings' range): give ratings on that scale"
        )
    item_ids = result._index("item", labels)  # noqa: SLF001
    fit = fold_in_user(result, item_ids, values)
    recs = recommend_for_new_user(result, fit, item_ids, n)
    titles = _titles(result, ratings)
    return pd.DataFrame(
        {
            "item": np.asarray(result.item_labels)[recs.item_ids],
            "title": titles[recs.item_ids],
            "score": recs.predicted,
            "item_bias": recs.item_bias,
            "dot": recs.dot,
        }
    )


def _block_scorer(result: TrainResult) -> Callable[[np.ndarray], np.ndarray]:
    """ids -> (len(ids), n_items) predicted ratings. The dot model as one matrix product per block
    (sigmoid_range(U V^T + b_u + b_i), float32 like the model); others through the model's forward."""
    if not has_dot_product(result):
        return lambda ids: predict_all(result, ids, len(result.item_labels))
    import torch

    users = torch.as_tensor(result.user_factors(), dtype=torch.float32)  # (n_users, k)
    items = torch.as_tensor(result.item_factors(), dtype=torch.float32)  # (n_items, k)
    user_bias = torch.as_tensor(result.user_bias(), dtype=torch.float32).reshape(-1, 1)  # (n_users, 1)
    item_bias = torch.as_tensor(result.item_bias(), dtype=torch.float32).reshape(1, -1)  # (1, n_items)
    low, high = (float(v) for v in result.y_range)

    def score(ids: np.ndarray) -> np.ndarray:
        rows = torch.as_tensor(ids, dtype=torch.int64)
        raw = users[rows] @ items.T + user_bias[rows] + item_bias
        return (torch.sigmoid(raw) * (high - low) + low).numpy().astype(np.float64)

    return score


def on_model_vocabulary(result: TrainResult, ratings: Ratings) -> tuple[Ratings, int]:
    """`collab.training.scoring.on_model_vocabulary`: `ratings` on the model's ids by label, and how many
    of its ratings the model does not know (left out)."""
    from collab.training.scoring import on_model_vocabulary as onto

    return onto(result, ratings)


def _check_n(n: object) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")


def _user_ids(result: TrainResult, users: object) -> np.ndarray:
    """Model user indices for one label, a sequence of labels, or None (all)."""
    if users is None:
        return np.arange(len(result.user_labels), dtype=np.int64)
    if isinstance(users, str | bytes) or np.ndim(users) == 0:
        users = [users]
    return result._index("user", list(users))  # noqa: SLF001


class _Rated:
    """The (model user, model item) pairs rated in a `Ratings`, grouped by user (CSR layout)."""

    def __init__(self, users: np.ndarray, items: np.ndarray, n_users: int) -> None:
        order = np.argsort(users, kind="stable")
        self.items = items[order]
        self.indptr = np.concatenate(([0], np.cumsum(np.bincount(users, minlength=n_users))))

    def cells(self, user_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row in `user_ids`, item) of every rated pair of those users, without a loop per user."""
        starts, stops = self.indptr[user_ids], self.indptr[user_ids + 1]
        lengths = stops - starts
        rows = np.repeat(np.arange(len(user_ids)), lengths)
        offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return rows, self.items[np.repeat(starts, lengths) + offsets]


def _rated_matrix(result: TrainResult, ratings: Ratings) -> _Rated:
    """The pairs rated in `ratings`, on the model's vocabulary (matched by label text)."""
    mapped, _ = on_model_vocabulary(result, ratings)
    return _Rated(mapped.user_ids, mapped.item_ids, len(result.user_labels))


def _titles(result: TrainResult, ratings: Ratings | None) -> np.ndarray:
    """One title per model item from `ratings` (None where it has none, every item without `ratings` or
    titles: the `title` column never repeats the id as if it were a title)."""
    labels = as_text(result.item_labels)
    if ratings is None or ratings.titles is None:
        return np.full(len(labels), None, dtype=object)
    import pandas as pd

    where = pd.Index(as_text(ratings.item_labels)).get_indexer(labels)
    names = np.asarray(ratings.item_display_names()).astype(object)
    return np.where(where >= 0, names[np.maximum(where, 0)], None)
