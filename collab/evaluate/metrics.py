"""Rating metrics (RMSE, MAE) and ranking metrics on a validation set (precision, recall, NDCG at k).

Ranking metrics rank each user's *validation* items by predicted score (ties keep input order);
an item is relevant when its true rating is >= `threshold` (4 by default, "liked").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

RELEVANT_RATING = 4.0


def relevant_threshold(ratings: np.ndarray) -> float:
    """The rating from which an item counts as relevant (liked) for ranking metrics: the top quarter of
    the scale the ratings use, low + 0.75 (high - low). 4 on a 1-5 scale (the usual MovieLens choice),
    3.875 on 0.5-5 (4 and up), 7.75 on 1-10 (8 and up), 5 on Jester's -10 to 10."""
    values = np.asarray(ratings, dtype=np.float64)
    if values.size == 0:
        return RELEVANT_RATING
    low, high = float(values.min()), float(values.max())
    return low + 0.75 * (high - low)


def rmse(predictions: np.ndarray, ratings: np.ndarray) -> float:
    """Root mean squared error."""
    diff = np.asarray(predictions, dtype=np.float64) - np.asarray(ratings, dtype=np.float64)
    return float(np.sqrt(np.mean(diff**2))) if diff.size else float("nan")


def mae(predictions: np.ndarray, ratings: np.ndarray) -> float:
    """Mean absolute error."""
    diff = np.asarray(predictions, dtype=np.float64) - np.asarray(ratings, dtype=np.float64)
    return float(np.mean(np.abs(diff))) if diff.size else float("nan")


def _per_user_hits(
    user_ids: np.ndarray, scores: np.ndarray, ratings: np.ndarray, k: int, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per user with validation rows: (hits in top k, rated count, relevant count, DCG at k)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    user_ids = np.asarray(user_ids)
    order = np.lexsort((-np.asarray(scores, dtype=np.float64), user_ids))  # by user, then best score first
    users = user_ids[order]
    relevant = np.asarray(ratings)[order] >= threshold
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])  # first row of each user
    counts = np.diff(np.r_[starts, len(users)])
    rank = np.arange(len(users)) - np.repeat(starts, counts)  # 0-based rank within the user
    in_top = rank < k
    hits = np.add.reduceat((relevant & in_top).astype(np.int64), starts)
    n_relevant = np.add.reduceat(relevant.astype(np.int64), starts)
    gains = np.where(relevant & in_top, 1.0 / np.log2(rank + 2.0), 0.0)
    dcg = np.add.reduceat(gains, starts)
    return hits, counts, n_relevant, dcg


def precision_at_k(
    user_ids: np.ndarray,
    scores: np.ndarray,
    ratings: np.ndarray,
    k: int = 10,
    threshold: float = RELEVANT_RATING,
) -> float:
    """Mean over users of relevant items among their top k, divided by min(k, items the user rated)."""
    if len(user_ids) == 0:
        return float("nan")
    hits, counts, _, _ = _per_user_hits(user_ids, scores, ratings, k, threshold)
    return float(np.mean(hits / np.minimum(counts, k)))


def recall_at_k(
    user_ids: np.ndarray,
    scores: np.ndarray,
    ratings: np.ndarray,
    k: int = 10,
    threshold: float = RELEVANT_RATING,
) -> float:
    """Mean over users with a relevant item of the share of their relevant items found in their top k."""
    if len(user_ids) == 0:
        return float("nan")
    hits, _, n_relevant, _ = _per_user_hits(user_ids, scores, ratings, k, threshold)
    has = n_relevant > 0
    return float(np.mean(hits[has] / n_relevant[has])) if has.any() else float("nan")


def ndcg_at_k(
    user_ids: np.ndarray,
    scores: np.ndarray,
    ratings: np.ndarray,
    k: int = 10,
    threshold: float = RELEVANT_RATING,
) -> float:
    """Mean over users with a relevant item of DCG@k / ideal DCG@k, binary gains, log2(rank + 2) discount."""
    if len(user_ids) == 0:
        return float("nan")
    _, _, n_relevant, dcg = _per_user_hits(user_ids, scores, ratings, k, threshold)
    has = n_relevant > 0
    if not has.any():
        return float("nan")
    discounts = np.cumsum(1.0 / np.log2(np.arange(k) + 2.0))  # ideal DCG with 1..k relevant items
    ideal = discounts[np.minimum(n_relevant[has], k) - 1]
    return float(np.mean(dcg[has] / ideal))


OVERFIT_RISE = 0.01  # validation loss must end 1% above its best: a rise a viewer can see on the chart


def find_overfit_epoch(history: Sequence[Any], tolerance: float = OVERFIT_RISE) -> int | None:
    """The epoch (1-based) where validation loss bottoms out, when it then ends more than `tolerance`
    (relative, 1% by default) above that best while training loss keeps falling; None otherwise, or
    when there is no validation loss.

    The last epoch is compared with the best, not the highest point after it: a bump that comes back
    down is noise, not overfitting, and a rise below 1% is invisible on a loss chart (the autoencoder's
    default settings end 0.7% above their best on the demo set)."""
    valid = np.array([getattr(h, "valid_loss", float("nan")) for h in history], dtype=np.float64)
    train = np.array([h.train_loss for h in history], dtype=np.float64)
    if len(valid) < 3 or np.isnan(valid).any():
        return None
    best = int(np.argmin(valid))
    if best == len(valid) - 1:
        return None
    rises = valid[-1] > valid[best] * (1 + tolerance)
    train_falls = train[-1] < train[best]
    return best + 1 if rises and train_falls else None
