"""Metrics against hand-worked examples."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from collab.evaluate.metrics import find_overfit_epoch, mae, ndcg_at_k, precision_at_k, recall_at_k, rmse


def test_rmse_and_mae_by_hand() -> None:
    predictions = np.array([3.0, 4.0, 2.0])
    ratings = np.array([4.0, 4.0, 5.0])  # errors -1, 0, -3
    assert rmse(predictions, ratings) == pytest.approx(math.sqrt(10 / 3))
    assert mae(predictions, ratings) == pytest.approx(4 / 3)


# user 0 rates items with true ratings [5, 2, 4, 1]; scores rank them 5, 1, 2, 4 (best first)
# user 1 rates two items, [3, 5]; scores rank the 3 first
USERS = np.array([0, 0, 0, 0, 1, 1])
SCORES = np.array([4.9, 3.0, 2.0, 4.0, 4.5, 4.0])
RATINGS = np.array([5.0, 2.0, 4.0, 1.0, 3.0, 5.0])


def test_precision_at_2_by_hand() -> None:
    # user 0 top 2: ratings 5, 1 -> 1 hit of 2; user 1 top 2: 3, 5 -> 1 hit of 2
    assert precision_at_k(USERS, SCORES, RATINGS, k=2) == pytest.approx(0.5)


def test_precision_divides_by_items_available() -> None:
    # k=3: user 0 top 3 = 5, 1, 2 -> 1/3; user 1 has only 2 items -> 1/2
    assert precision_at_k(USERS, SCORES, RATINGS, k=3) == pytest.approx((1 / 3 + 1 / 2) / 2)


def test_recall_at_2_by_hand() -> None:
    # user 0 has 2 relevant (5, 4), finds 1; user 1 has 1 relevant, finds it
    assert recall_at_k(USERS, SCORES, RATINGS, k=2) == pytest.approx((1 / 2 + 1) / 2)


def test_ndcg_at_3_by_hand() -> None:
    # user 0: relevant at ranks 1 and 4 -> DCG@3 = 1; ideal = 1 + 1/log2(3)
    # user 1: relevant at rank 2 -> DCG = 1/log2(3); ideal = 1
    user0 = 1 / (1 + 1 / math.log2(3))
    user1 = 1 / math.log2(3)
    assert ndcg_at_k(USERS, SCORES, RATINGS, k=3) == pytest.approx((user0 + user1) / 2)


def test_perfect_ranking_scores_one() -> None:
    assert ndcg_at_k(USERS, RATINGS, RATINGS, k=2) == pytest.approx(1.0)
    assert recall_at_k(USERS, RATINGS, RATINGS, k=2) == pytest.approx(1.0)


def test_users_without_relevant_items_are_skipped_for_recall() -> None:
    users, ratings = np.array([0, 0, 1]), np.array([5.0, 1.0, 2.0])
    assert recall_at_k(users, np.array([1.0, 2.0, 1.0]), ratings, k=1) == 0.0
    assert math.isnan(recall_at_k(np.array([0]), np.array([1.0]), np.array([1.0]), k=1))
    with pytest.raises(ValueError, match="k must be at least 1"):
        precision_at_k(users, ratings, ratings, k=0)


def _history(train: list[float], valid: list[float]) -> list[SimpleNamespace]:
    return [SimpleNamespace(train_loss=t, valid_loss=v) for t, v in zip(train, valid, strict=True)]


def test_find_overfit_epoch() -> None:
    rising = _history([1.0, 0.8, 0.6, 0.4, 0.3], [1.0, 0.9, 0.85, 0.9, 0.95])
    assert find_overfit_epoch(rising) == 3
    assert find_overfit_epoch(_history([1.0, 0.8, 0.6], [1.0, 0.9, 0.8])) is None  # still improving
    assert find_overfit_epoch(_history([1.0, 1.1, 1.2], [1.0, 0.9, 1.0])) is None  # train rises too


def test_overfitting_needs_a_visible_rise_that_lasts() -> None:
    """Issue 14: a 0.2% rise (invisible on the chart) was flagged; the autoencoder's defaults end 0.7% up."""
    autoencoder = _history(
        [0.68, 0.45, 0.38, 0.34, 0.33, 0.32, 0.31],
        [0.7407, 0.5852, 0.4716, 0.4553, 0.4517, 0.4538, 0.4550],
    )
    assert find_overfit_epoch(autoencoder) is None
    assert find_overfit_epoch(autoencoder, tolerance=0.002) == 5  # the old threshold flagged it
    bump = _history([1.0, 0.8, 0.6, 0.5, 0.4], [1.0, 0.9, 0.95, 0.88, 0.87])  # up, then back down
    assert find_overfit_epoch(bump) is None
    clear = _history([1.0, 0.8, 0.6, 0.5, 0.4], [1.0, 0.8, 0.82, 0.85, 0.9])
    assert find_overfit_epoch(clear) == 2
