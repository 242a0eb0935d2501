"""The lecture's binary cross-entropy training a recommender, small enough to watch step by step.

"Use binary cross-entropy when you are predicting if something is or is not": did this user pick this
item? Each interaction ("seen it") is a 1; a few items the user never touched (neither in training nor
held out) are sampled as 0s; the model's score for a (user, item) pair is a logit, and the loss is
`F.binary_cross_entropy_with_logits`, exactly the playground's BCE. After each epoch the model ranks every
unseen item for each validation user (whole-catalogue NDCG@10), beside recommending the most popular
items. Plain PyTorch (Adam, `loss.backward()`), no compiled kernels: the lesson's code, not the fast path
(`collab.training.implicit` is that).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from collab.data.ratings import Ratings
from collab.evaluate.ranking import catalogue_ranking_quality
from collab.models.implicit import ImplicitMF


@dataclass(frozen=True)
class Checkpoint:
    """The ranking after `epoch` epochs: mean BCE per labelled example, NDCG@10 beside popularity's."""

    epoch: int
    loss: float  # nan before training
    ndcg: float
    popularity_ndcg: float


class BceRecommender:
    """A matrix-factorisation recommender trained with BCE on sampled negatives, one epoch at a time.

    `train`, `valid`: interactions (every row a positive, its value unused) on one vocabulary, e.g. a
    split of `read_ratings(..., implicit="binary")`. Memory: the factor tables and the sorted
    (user, item) keys of training and validation pairs; nothing of size users x items."""

    def __init__(
        self,
        train: Ratings,
        valid: Ratings,
        n_factors: int = 32,
        negatives: int = 2,
        lr: float = 0.01,
        batch_size: int = 1024,
        seed: int = 0,
    ) -> None:
        if train.n_ratings == 0 or valid.n_ratings == 0:
            raise ValueError("the recommender needs training and validation interactions")
        self.train, self.valid = train, valid
        self.negatives, self.batch_size = negatives, batch_size
        self.generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model = ImplicitMF(train.n_users, train.n_items, n_factors, "bce")
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        n_items = train.n_items
        users = np.r_[train.user_ids, valid.user_ids].astype(np.int64)
        items = np.r_[train.item_ids, valid.item_ids].astype(np.int64)
        self.keys = torch.from_numpy(np.unique(users * n_items + items))  # no negative may be one of these
        self.epoch = 0
        self.history: list[Checkpoint] = [self.checkpoint(math.nan)]

    def sample_negatives(self, user_ids: torch.Tensor, n: int) -> torch.Tensor:
        """(b,) users -> (b, n) items, uniform over the items the user never interacted with (training or
        validation): rejected draws are redrawn, vectorised."""
        n_items = self.train.n_items
        items = torch.randint(n_items, (len(user_ids), n), generator=self.generator)
        while True:
            wanted = user_ids[:, None] * n_items + items
            at = torch.searchsorted(self.keys, wanted).clamp_(max=len(self.keys) - 1)
            bad = self.keys[at] == wanted
            if not bad.any():
                return items
            items[bad] = torch.randint(n_items, (int(bad.sum()),), generator=self.generator)

    def examples(self, user: int, n_positive: int = 3, n_negative: int = 3) -> pd.DataFrame:
        """A few of `user`'s positives and sampled negatives, each with its label, logit, probability and
        BCE loss: rows item, title, label, logit, p, loss (the mean of `loss` is
        `F.binary_cross_entropy_with_logits` over these rows)."""
        mine = np.flatnonzero(self.train.user_ids == user)
        rng = np.random.default_rng(user + 1000 * self.epoch)
        positives = self.train.item_ids[rng.permutation(mine)[:n_positive]]
        negatives = self.sample_negatives(torch.tensor([user]), n_negative)[0].numpy()
        items = np.r_[positives, negatives].astype(np.int64)
        labels = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
        with torch.no_grad():
            logits = self.model(torch.full((len(items),), user), torch.from_numpy(items)).double()
            loss = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(labels), reduction="none")
        names = self.train.item_display_names()
        return pd.DataFrame(
            {
                "item": names[items],
                "label": labels.astype(int),
                "logit": logits.numpy(),
                "p = sigmoid(logit)": torch.sigmoid(logits).numpy(),
                "loss": loss.numpy(),
            }
        )

    def train_epoch(self) -> Checkpoint:
        """One shuffled pass over the training interactions: each batch's positives (label 1) and
        `negatives` sampled items per positive (label 0) through F.binary_cross_entropy_with_logits,
        backward, an Adam step. Returns (and records) the new checkpoint."""
        users_all = torch.from_numpy(self.train.user_ids)
        items_all = torch.from_numpy(self.train.item_ids)
        order = torch.randperm(len(users_all), generator=self.generator)
        total, count = 0.0, 0
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            users, positives = users_all[rows], items_all[rows]
            negatives = self.sample_negatives(users, self.negatives)  # (b, negatives)
            logits = torch.cat(
                [self.model(users, positives)[:, None], self.model(users[:, None], negatives)], 1
            )
            labels = torch.cat([torch.ones(len(rows), 1), torch.zeros(len(rows), self.negatives)], 1)
            loss = F.binary_cross_entropy_with_logits(logits, labels)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            total += float(loss.detach()) * labels.numel()
            count += labels.numel()
        self.epoch += 1
        point = self.checkpoint(total / max(count, 1))
        self.history.append(point)
        return point

    def checkpoint(self, loss: float) -> Checkpoint:
        """NDCG@10 of the whole-catalogue ranking now, and popularity's, on the validation users."""
        weights = self.model.user_factors.weight.detach()
        items, bias = self.model.item_factors.weight.detach(), self.model.item_bias.weight.detach()

        def scores(user_ids: np.ndarray) -> np.ndarray:
            return (weights[torch.as_tensor(user_ids)] @ items.T + bias.T).double().numpy()

        quality = catalogue_ranking_quality(scores, self.train, self.valid, k=10, threshold=-math.inf)
        return Checkpoint(self.epoch, loss, quality.model["ndcg"], quality.popularity["ndcg"])


def interactions(ratings: Ratings, min_rating: float | None = None) -> Ratings:
    """`ratings` as interactions: every row (or only those rated at least `min_rating`) a 1."""
    if min_rating is not None:
        ratings = ratings.subset(ratings.ratings >= min_rating)
    return Ratings(
        user_ids=ratings.user_ids,
        item_ids=ratings.item_ids,
        ratings=np.ones(ratings.n_ratings, dtype=np.float32),
        user_labels=ratings.user_labels,
        item_labels=ratings.item_labels,
        titles=ratings.titles,
        genres=ratings.genres,
        name=ratings.name,
    )
