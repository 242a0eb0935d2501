"""Ranking quality of scores against held-out ratings, beside the popularity baseline, under a named
protocol. The one implementation of the ranking measures (precision, recall, NDCG, hit rate, MAP, MRR at k)
for the rating models, the implicit models, `cross_validate`, the command line and the Recommend page.

- "catalogue" (the default meaning of plain `precision@k`, `recall@k`, `ndcg@k`, `hit_rate@k`, `map@k`,
  `mrr@k` everywhere): for each validation user with a relevant held-out item, every item the user has
  not rated in training is ranked and the top k compared with the user's relevant held-out items (as
  cornac, implicit, RecBole and the papers rank). The pairs scored: n_users x n_items, training pairs
  excluded.
- "rated" (`rated_precision@k`, ...): each user's own held-out items re-ranked among themselves, which
  says only how the model orders what the user did rate; several times higher than the catalogue numbers
  and not comparable with published ones.

An item is relevant when its held-out rating is at least `threshold` (the top quarter of the scale:
`collab.evaluate.metrics.relevant_threshold`; every held-out interaction for the implicit models).
"""

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


# users x items cells scored at once by the catalogue protocol: each temporary (scores, the seen mask, the
# partition) is a few MB, whatever the catalogue's size (256 users at a time on 14,000 items peaked a
# server at ~700 MiB above its training)
CHUNK_CELLS = 1 << 19

Protocol = Literal["rated", "catalogue"]
PROTOCOLS: dict[str, str] = {
    "catalogue": "rank every item the user has not rated in training (precision@k, ...)",
    "rated": "re-rank only each user's held-out items (rated_precision@k, ...)",
}


@dataclass(frozen=True)
class RankingQuality:
    """Ranking metrics at k for the model and the popularity baseline on a validation set."""

    k: int
    protocol: str  # a key of PROTOCOLS
    n_users: int  # validation users the means are over
    model: dict[str, float]  # "precision", "recall", "ndcg" (+ "hit_rate", "map", "mrr" for "catalogue")
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
    """Means over users of precision, recall, NDCG, hit rate, MAP and MRR at k of ranked lists against
    relevant item sets, with no loop per user.

    `ranked`: (n_users, <= k) item indices, best first (one row per user); `relevant`: one array of
    relevant item indices per row (non-empty). Per user, with hits = relevant items in the top k:
    - precision@k = hits / k; recall@k = hits / relevant items; hit_rate@k = 1 if any hit;
    - ndcg@k = sum of 1 / log2(rank + 1) over hits / its best value with min(relevant, k) hits
      (binary gains, rank 1-based);
    - map@k = sum over hits of precision at that hit's rank / min(relevant, k) (the "AP@k" of
      Microsoft Recommenders and cornac);
    - mrr@k = 1 / rank of the first hit, 0 with none in the top k.
    NaN for every measure when there are no rows.
    """
    names = ("precision", "recall", "ndcg", "hit_rate", "map", "mrr")
    ranked = np.asarray(ranked, dtype=np.int64)[:, :k] if np.ndim(ranked) == 2 else np.zeros((0, k), np.int64)
    if len(ranked) == 0:
        return {name: float("nan") for name in names}
    n_rows, width = ranked.shape
    lengths = np.array([len(r) for r in relevant], dtype=np.int64)  # (n_rows,)
    if len(lengths) != n_rows:
        raise ValueError(f"ranked has {n_rows} rows but relevant has {len(lengths)} sets")
    rel_items = np.concatenate(relevant).astype(np.int64) if n_rows else np.zeros(0, dtype=np.int64)
    span = int(max(ranked.max(initial=0), rel_items.max(initial=0))) + 1
    rel_codes = np.repeat(np.arange(n_rows, dtype=np.int64), lengths) * span + rel_items
    hits = np.isin(np.arange(n_rows, dtype=np.int64)[:, None] * span + ranked, rel_codes)  # (n_rows, width)
    n_hits = hits.sum(axis=1)
    rank = np.arange(1, width + 1)  # (width,) 1-based
    discounts = 1.0 / np.log2(rank + 1.0)
    capped = np.minimum(lengths, k)  # relevant items a perfect top k could hold
    ideal = np.concatenate(([0.0], np.cumsum(1.0 / np.log2(np.arange(1, k + 1) + 1.0))))[capped]
    precision_at = np.cumsum(hits, axis=1) / rank  # (n_rows, width) precision at each rank
    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, 0)
    per_user = {
        "precision": n_hits / k,
        "recall": n_hits / lengths,
        "ndcg": (hits * discounts).sum(axis=1) / ideal,
        "hit_rate": (n_hits > 0).astype(np.float64),
        "map": (precision_at * hits).sum(axis=1) / capped,
        "mrr": np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0),
    }
    return {name: float(np.mean(per_user[name])) for name in names}


def catalogue_ranking_quality(
    score_users: Callable[[np.ndarray], np.ndarray],
    train: Ratings,
    valid: Ratings,
    k: int = 10,
    threshold: float = RELEVANT_RATING,
    max_users: int | None = None,
) -> RankingQuality:
    """The catalogue protocol: `ranking_metrics` of each user's top k among the items they did not rate
    in `train`, for the model and the popularity baseline; relevant = `valid` ratings >= threshold.

    `score_users(user_ids) -> (len(user_ids), n_items)` gives the model's scores (predicted ratings).
    Users are those with a relevant `valid` item, at most `max_users` of them (the first by index).
    `train` and `valid` share one vocabulary (as `Ratings.split` gives them).
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
    width = min(k, n_items)
    # the top lists are filled in place: small arrays kept from chunk to chunk among the chunks' megabytes
    # of temporaries keep malloc from reusing or returning them (the process grew by tens of MiB)
    model_top = np.empty((len(users), width), dtype=np.int64)  # (users, k)
    pop_top = np.empty((len(users), width), dtype=np.int64)
    step = max(1, CHUNK_CELLS // max(n_items, 1))  # users per chunk: a few MB per temporary, any catalogue
    for start in range(0, len(users), step):
        chunk = users[start : start + step]
        block_seen = _seen_block(train_users, train_items, chunk, n_items)  # (chunk, n_items)
        scores = np.asarray(score_users(chunk), dtype=np.float64)  # (chunk, n_items)
        model_top[start : start + len(chunk)] = top_k_rows(np.where(block_seen, -np.inf, scores), k)
        pop = np.where(block_seen, -np.inf, popularity[None, :])
        pop_top[start : start + len(chunk)] = top_k_rows(pop, k)
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
