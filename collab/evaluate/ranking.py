"""Ranking quality of scores against held-out ratings, beside the popularity baseline, under a named
protocol: each user's validation items ("rated"), or every item the user has not rated ("catalogue")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from collab.evaluate.metrics import RELEVANT_RATING

if TYPE_CHECKING:
    from collab.data.ratings import Ratings


def popularity_scores(item_ids: np.ndarray, n_items: int) -> np.ndarray:
    """The popularity baseline's score: how many ratings each item has."""
    return np.bincount(np.asarray(item_ids, dtype=np.int64), minlength=n_items).astype(np.float64)


Protocol = Literal["rated", "catalogue"]
PROTOCOLS: dict[str, str] = {
    "rated": "rank each user's validation items (as the Train page's metrics)",
    "catalogue": "rank every item the user has not rated in training",
}


@dataclass(frozen=True)
class RankingQuality:
    """Ranking metrics at k for the model and the popularity baseline on a validation set."""

    k: int
    protocol: str  # a key of PROTOCOLS
    n_users: int  # validation users the means are over
    model: dict[str, float]  # "precision", "recall", "ndcg"
    popularity: dict[str, float]
    threshold: float = RELEVANT_RATING  # an item is relevant when rated at least this


def rated_ranking_quality(
    valid: Ratings,
    model_scores: np.ndarray,
    popularity: np.ndarray,
    k: int = 10,
    threshold: float = RELEVANT_RATING,
) -> RankingQuality:
    """Rank each user's validation items by the model's scores and by popularity (`collab.evaluate.metrics`);
    relevant = rated at least `threshold`."""
    from collab.evaluate import metrics

    def measure(scores: np.ndarray) -> dict[str, float]:
        return {
            "precision": metrics.precision_at_k(valid.user_ids, scores, valid.ratings, k, threshold),
            "recall": metrics.recall_at_k(valid.user_ids, scores, valid.ratings, k, threshold),
            "ndcg": metrics.ndcg_at_k(valid.user_ids, scores, valid.ratings, k, threshold),
        }

    return RankingQuality(
        k=k,
        protocol="rated",
        n_users=len(np.unique(valid.user_ids)),
        model=measure(np.asarray(model_scores, dtype=np.float64)),
        popularity=measure(np.asarray(popularity, dtype=np.float64)[valid.item_ids]),
        threshold=threshold,
    )


def ranking_metrics(ranked: np.ndarray, relevant: list[np.ndarray], k: int) -> dict[str, float]:
    """Mean precision@k, recall@k, NDCG@k and hit rate@k (share with a hit) of ranked lists (rows of `ranked`) against relevant item sets."""
    precision, recall, ndcg, hit_rate = [], [], [], []
    discounts = 1.0 / np.log2(np.arange(2, k + 2))  # (k,)
    for row, rel in zip(ranked, relevant, strict=True):
        hits = np.isin(row[:k], rel)  # (k,)
        n_hits = int(hits.sum())
        hit_rate.append(float(n_hits > 0))
        precision.append(n_hits / k)
        recall.append(n_hits / len(rel))
        ideal = discounts[: min(len(rel), k)].sum()
        ndcg.append(float((hits * discounts[: len(hits)]).sum() / ideal))
    return {
        "precision": float(np.mean(precision)) if precision else float("nan"),
        "recall": float(np.mean(recall)) if recall else float("nan"),
        "ndcg": float(np.mean(ndcg)) if ndcg else float("nan"),
        "hit_rate": float(np.mean(hit_rate)) if hit_rate else float("nan"),
    }


def catalogue_ranking_quality(
    score_users: Callable[[np.ndarray], np.ndarray],
    train: Ratings,
    valid: Ratings,
    k: int = 10,
    threshold: float = RELEVANT_RATING,
    max_users: int | None = None,
) -> RankingQuality:
    """Precision/recall/NDCG@k of top-k unseen lists vs the popularity baseline; relevant = valid ratings >= threshold.

    `score_users(user_ids) -> (len(user_ids), n_items)` gives the model's predicted ratings.
    """
    relevant_mask = valid.ratings >= threshold
    users = np.unique(valid.user_ids[relevant_mask])
    if max_users is not None:
        users = users[:max_users]
    n_items = train.n_items
    # rated-in-train items are excluded from every list, for the model and the baseline alike; the
    # training pairs sorted by user give each chunk its seen cells (no users x items matrix)
    by_user = np.argsort(train.user_ids, kind="stable")
    train_users, train_items = train.user_ids[by_user], train.item_ids[by_user]
    rel_users, rel_items = valid.user_ids[relevant_mask], valid.item_ids[relevant_mask]
    order = np.argsort(rel_users, kind="stable")
    rel_users, rel_items = rel_users[order], rel_items[order]
    starts = np.searchsorted(rel_users, users)
    ends = np.searchsorted(rel_users, users, side="right")
    relevant = [rel_items[a:b] for a, b in zip(starts, ends, strict=True)]

    popularity = popularity_scores(train.item_ids, n_items)
    model_ranked, pop_ranked = [], []
    for start in range(0, len(users), 256):  # chunks bound memory on large catalogues
        chunk = users[start : start + 256]
        block_seen = _seen_block(train_users, train_items, chunk, n_items)  # (chunk, n_items)
        scores = np.asarray(score_users(chunk), dtype=np.float64)  # (chunk, n_items)
        model_ranked.append(top_k_rows(np.where(block_seen, -np.inf, scores), k))
        pop = np.where(block_seen, -np.inf, popularity[None, :])
        pop_ranked.append(top_k_rows(pop, k))
    model_top = np.vstack(model_ranked) if model_ranked else np.empty((0, k), dtype=np.int64)
    pop_top = np.vstack(pop_ranked) if pop_ranked else np.empty((0, k), dtype=np.int64)
    return RankingQuality(
        k=k,
        protocol="catalogue",
        n_users=len(users),
        model=ranking_metrics(model_top, relevant, k),
        popularity=ranking_metrics(pop_top, relevant, k),
        threshold=threshold,
    )


def _seen_block(
    train_users: np.ndarray, train_items: np.ndarray, chunk: np.ndarray, n_items: int
) -> np.ndarray:
    """(len(chunk), n_items) bool: the items each user of `chunk` has in training (pairs sorted by user)."""
    lo = np.searchsorted(train_users, chunk)
    counts = np.searchsorted(train_users, chunk, side="right") - lo  # (chunk,)
    rows = np.repeat(np.arange(len(chunk)), counts)
    # position of every seen pair: each user's run lo[r] .. lo[r] + counts[r] - 1
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    block = np.zeros((len(chunk), n_items), dtype=bool)
    block[rows, train_items[np.repeat(lo, counts) + offsets]] = True
    return block


def top_k_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's k largest scores, largest first."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]  # (rows, k), unordered
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)
