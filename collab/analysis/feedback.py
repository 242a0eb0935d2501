"""fastbook chapter 8's closing warning, measured: bootstrapping a new user by fold-in, and how much of what a
model recommends goes to the most popular items (the start of a feedback loop), beside the popularity baseline.

Source: fastbook chapter 8, "Bootstrapping a Collaborative Filtering Model".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from collab.analysis.recommend import recommend_new_user, top_n
from collab.evaluate.ranking import popularity_scores, top_k_rows

if TYPE_CHECKING:
    from collab.data.ratings import Ratings
    from collab.training.result import TrainResult

POPULAR_SHARE = 0.1  # "popular" = the 10% most-rated items
CHUNK_CELLS = 1 << 19  # users x items scored at once for the popularity lists (a few MB, any catalogue)


def popular_items(counts: np.ndarray, share: float = POPULAR_SHARE) -> np.ndarray:
    """(n_items,) bool: the `share` most-rated items (at least one; ties broken by lower index)."""
    counts = np.asarray(counts)
    n_popular = max(1, round(share * len(counts)))
    order = np.lexsort((np.arange(len(counts)), -counts))
    mask = np.zeros(len(counts), dtype=bool)
    mask[order[:n_popular]] = True
    return mask


@dataclass(frozen=True)
class PopularityBias:
    """Where the top-k slots of every user's list go, for the model and for the popularity baseline."""

    k: int
    n_users: int
    n_items: int
    n_popular: int  # the 10% most-rated items
    rating_share: float  # share of the training ratings those items have
    model_share: float  # share of the model's top-k slots that are those items
    popularity_share: float  # the same for the popularity baseline's lists
    model_coverage: int  # distinct items in at least one of the model's lists
    popularity_coverage: int


def popularity_top_lists(user_ids: np.ndarray, item_ids: np.ndarray, n_items: int, k: int) -> np.ndarray:
    """(n_users, k) the popularity baseline's list for every user: the most-rated items each has not rated.

    `user_ids`, `item_ids` are the training pairs (users 0..max); scored a chunk of users at a time."""
    users = np.asarray(user_ids, dtype=np.int64)
    items = np.asarray(item_ids, dtype=np.int64)
    n_users = int(users.max()) + 1 if len(users) else 0
    counts = popularity_scores(items, n_items)
    order = np.argsort(users, kind="stable")
    users, items = users[order], items[order]
    step = max(1, CHUNK_CELLS // max(n_items, 1))
    lists = []
    for start in range(0, n_users, step):
        stop = min(start + step, n_users)
        lo, hi = np.searchsorted(users, [start, stop])
        scores = np.broadcast_to(counts, (stop - start, n_items)).copy()  # (chunk, n_items)
        scores[users[lo:hi] - start, items[lo:hi]] = -np.inf  # rated in training: never recommended
        lists.append(top_k_rows(scores, k))
    return np.vstack(lists) if lists else np.empty((0, k), dtype=np.int64)


def popularity_bias(
    model_slots: np.ndarray,
    popularity_slots: np.ndarray,
    counts: np.ndarray,
    k: int,
    share: float = POPULAR_SHARE,
) -> PopularityBias:
    """How much of the model's and the baseline's top-k lists goes to the `share` most-rated items.

    `model_slots`, `popularity_slots`: the item index of every slot of every user's list, flattened;
    `counts` (n_items,) the training ratings per item."""
    counts = np.asarray(counts, dtype=np.float64)
    popular = popular_items(counts, share)
    model_slots = np.asarray(model_slots, dtype=np.int64).reshape(-1)
    popularity_slots = np.asarray(popularity_slots, dtype=np.int64).reshape(-1)
    return PopularityBias(
        k=int(k),
        n_users=len(popularity_slots) // max(int(k), 1),
        n_items=len(counts),
        n_popular=int(popular.sum()),
        rating_share=float(counts[popular].sum() / max(counts.sum(), 1.0)),
        model_share=float(popular[model_slots].mean()) if model_slots.size else float("nan"),
        popularity_share=float(popular[popularity_slots].mean()) if popularity_slots.size else float("nan"),
        model_coverage=len(np.unique(model_slots)),
        popularity_coverage=len(np.unique(popularity_slots)),
    )


def popularity_bias_of(result: TrainResult, train: Ratings, k: int = 10) -> PopularityBias:
    """`popularity_bias` of a trained model's top-k list for every user (training items left out) against
    the popularity baseline's, on the training set's counts. `train` shares the model's vocabulary."""
    lists = top_n(result, None, n=k, ratings=train)  # every user at once: user, rank, item, title, score
    index = pd.Index(np.asarray(result.item_labels).astype(str))
    model_slots = index.get_indexer(lists["item"].astype(str))  # (n_users * k,) item indices
    popularity_lists = popularity_top_lists(train.user_ids, train.item_ids, train.n_items, k)  # (n_users, k)
    counts = popularity_scores(train.item_ids, train.n_items)
    return popularity_bias(model_slots, popularity_lists, counts, k)


def new_user_table(
    result: TrainResult, rated: Mapping[object, float], train: Ratings, n: int = 10
) -> pd.DataFrame:
    """A new user folded in from `rated` ({item label: rating}, `recommend_new_user`), their top `n` with
    each item's number of training ratings and whether it is among the 10% most rated."""
    recs = recommend_new_user(result, rated, n=n, ratings=train)
    counts = popularity_scores(train.item_ids, train.n_items)
    index = pd.Index(np.asarray(train.item_labels).astype(str))
    where = index.get_indexer(recs["item"].astype(str))
    popular = popular_items(counts)
    return pd.DataFrame(
        {
            "title": recs["title"].fillna(recs["item"]).astype(str),
            "predicted": recs["score"].round(2),
            "ratings": counts[where].astype(int),
            "top 10%": popular[where],
        }
    )
