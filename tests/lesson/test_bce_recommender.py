"""The lesson's BCE recommender: its loss is F.binary_cross_entropy_with_logits, negatives are unseen,
and a few epochs rank better than popularity on planted tastes."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from collab.data.demo import demo_ratings
from collab.lesson.bce_recommender import BceRecommender, interactions


def _recommender() -> BceRecommender:
    data = interactions(demo_ratings(seed=0), min_rating=4.0)
    train, valid = data.split(valid_pct=0.2, seed=42)
    return BceRecommender(train, valid, n_factors=16, negatives=2, lr=0.02, seed=0)


def test_examples_loss_is_bce_with_logits_and_negatives_are_unseen() -> None:
    rec = _recommender()
    table = rec.examples(3, n_positive=3, n_negative=4)
    expected = F.binary_cross_entropy_with_logits(
        torch.tensor(table["logit"].to_numpy()), torch.tensor(table["label"].to_numpy(), dtype=torch.float64)
    )
    assert abs(table["loss"].mean() - float(expected)) < 1e-9
    users = torch.arange(rec.train.n_users).repeat_interleave(20)
    negatives = rec.sample_negatives(users, 3).numpy()
    seen = np.zeros((rec.train.n_users, rec.train.n_items), dtype=bool)
    for part in (rec.train, rec.valid):
        seen[part.user_ids, part.item_ids] = True
    assert not seen[users.numpy()[:, None], negatives].any()


def test_a_few_epochs_rank_better_than_popularity() -> None:
    rec = _recommender()
    assert rec.history[0].ndcg < rec.history[0].popularity_ndcg  # random factors
    for _ in range(5):
        point = rec.train_epoch()
    assert point.ndcg > point.popularity_ndcg
    assert rec.history[1].loss > point.loss
