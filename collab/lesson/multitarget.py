"""A multi-target model: one network, one last layer, two targets, each with its own softmax and cross-entropy.

Lesson 7 (and fastbook's chapter on the collab model) points out that nothing forces a network to
predict one thing: make the last linear layer wider, read its activations in two slices, give each
slice its own loss, and add the losses. Here the first `n1` activations are head 1's logits and the
next `n2` are head 2's; the total loss is cross-entropy(head 1) + cross-entropy(head 2). The live
model predicts a rating's class and whether the item has a chosen genre from one shared
user/item embedding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from collab.data.ratings import Ratings
from collab.lesson import losses

__all__ = [
    "TwoHeadBreakdown",
    "TwoTargetEpoch",
    "TwoTargetModel",
    "TwoTargetResult",
    "two_head_breakdown",
    "two_head_loss",
    "train_two_target",
]


def two_head_loss(
    logits: torch.Tensor, n1: int, targets1: torch.Tensor, targets2: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split (batch, n1 + n2) activations into two heads; (total, head-1 loss, head-2 loss), each a mean
    cross-entropy over the batch and total = their sum."""
    head1 = logits[..., :n1]  # (batch, n1): the first target's logits
    head2 = logits[..., n1:]  # (batch, n2): the second target's logits
    loss1 = losses.cross_entropy(head1, targets1)
    loss2 = losses.cross_entropy(head2, targets2)
    return loss1 + loss2, loss1, loss2


@dataclass(frozen=True)
class TwoHeadBreakdown:
    """One example through a two-head output layer: each head's probabilities, loss and logit gradient."""

    labels1: tuple[str, ...]
    labels2: tuple[str, ...]
    logits: np.ndarray  # (n1 + n2,) the whole output layer
    target1: int
    target2: int
    probs1: np.ndarray  # (n1,) softmax over head 1 only
    probs2: np.ndarray  # (n2,) softmax over head 2 only
    loss1: float
    loss2: float
    loss: float  # loss1 + loss2
    torch_loss: float  # F.cross_entropy(head 1) + F.cross_entropy(head 2)
    grad: np.ndarray  # (n1 + n2,) ours: softmax - one-hot, per head
    autograd_grad: np.ndarray  # (n1 + n2,) d(total)/d(logits) from loss.backward()

    @property
    def n1(self) -> int:
        return len(self.labels1)

    @property
    def agrees(self) -> bool:
        """Our loss and gradient match PyTorch's to float32 precision."""
        return math.isclose(self.loss, self.torch_loss, rel_tol=1e-5, abs_tol=1e-5) and bool(
            np.allclose(self.grad, self.autograd_grad, atol=1e-6)
        )


def two_head_breakdown(
    logits: Sequence[float],
    n1: int,
    target1: int,
    target2: int,
    labels1: Sequence[str] | None = None,
    labels2: Sequence[str] | None = None,
) -> TwoHeadBreakdown:
    """Every number of a two-head loss for one example, checked against F.cross_entropy and autograd.

    Raises LossInputError when a head would have fewer than 2 classes or a target is not one of its classes.
    """
    values = losses.check_logits(logits, min_count=4, max_count=2 * losses.MAX_CLASSES)
    n2 = len(values) - n1
    if n1 < 2 or n2 < 2:
        raise losses.LossInputError(
            f"each head needs at least 2 logits: {len(values)} logits split after {n1} give {n1} and {n2}"
        )
    if not 0 <= target1 < n1:
        raise losses.LossInputError(f"head 1's target {target1} is not one of its classes 0..{n1 - 1}")
    if not 0 <= target2 < n2:
        raise losses.LossInputError(f"head 2's target {target2} is not one of its classes 0..{n2 - 1}")
    names1 = tuple(labels1) if labels1 is not None else tuple(f"a{i}" for i in range(n1))
    names2 = tuple(labels2) if labels2 is not None else tuple(f"b{i}" for i in range(n2))
    acts = torch.tensor(values, dtype=torch.float32).unsqueeze(0).requires_grad_()  # (1, n1 + n2)
    t1, t2 = torch.tensor([target1]), torch.tensor([target2])
    total, loss1, loss2 = two_head_loss(acts, n1, t1, t2)
    total.backward()
    detached = acts.detach()[0]
    ours = torch.cat(
        [losses.cross_entropy_grad(detached[:n1], t1[0]), losses.cross_entropy_grad(detached[n1:], t2[0])]
    )
    reference = F.cross_entropy(detached[None, :n1], t1) + F.cross_entropy(detached[None, n1:], t2)
    return TwoHeadBreakdown(
        labels1=names1,
        labels2=names2,
        logits=detached.numpy().copy(),
        target1=int(target1),
        target2=int(target2),
        probs1=losses.softmax(detached[:n1]).numpy(),
        probs2=losses.softmax(detached[n1:]).numpy(),
        loss1=loss1.item(),
        loss2=loss2.item(),
        loss=total.item(),
        torch_loss=float(reference),
        grad=ours.numpy(),
        autograd_grad=acts.grad[0].numpy().copy(),
    )


# --- a real two-target model ----------------------------------------------------------------------


class TwoTargetModel(nn.Module):
    """Shared user and item embeddings -> one hidden layer -> one output layer of n1 + n2 activations.

    First layer: the same embeddings as the single-target neural net. Last layer: `n_classes + 2`
    outputs instead of `n_classes`; the first `n_classes` are the rating-class logits, the last two
    the genre head's "no"/"yes" logits.
    """

    def __init__(
        self, n_users: int, n_items: int, n_classes: int, n_factors: int = 16, hidden: int = 64
    ) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.user_factors = nn.Embedding(n_users, n_factors)
        self.item_factors = nn.Embedding(n_items, n_factors)
        self.body = nn.Sequential(nn.Linear(2 * n_factors, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, n_classes + 2)  # the one last layer both targets share

    def forward(self, user_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.user_factors(user_ids), self.item_factors(item_ids)], dim=1)  # (batch, 2k)
        return self.head(self.body(x))  # (batch, n_classes + 2)


@dataclass(frozen=True)
class TwoTargetEpoch:
    """Validation loss and accuracy of each head after one epoch, and the training loss (sum of heads)."""

    epoch: int
    train_loss: float
    rating_loss: float
    rating_accuracy: float
    genre_loss: float
    genre_accuracy: float


@dataclass(frozen=True)
class TwoTargetResult:
    """The trained two-target model and its per-epoch history."""

    model: TwoTargetModel
    classes: tuple[float, ...]  # rating value of each rating class
    genre: str
    history: tuple[TwoTargetEpoch, ...]
    rating_baseline: float  # accuracy of always answering the most common rating (validation)
    genre_baseline: float  # accuracy of always answering the more common of yes/no (validation)
    seconds: float


def train_two_target(
    train: Ratings,
    valid: Ratings,
    item_has_genre: np.ndarray,
    genre: str = "genre",
    epochs: int = 5,
    n_factors: int = 16,
    batch_size: int = 1024,
    lr: float = 3e-3,
    seed: int = 0,
    on_epoch: Callable[[TwoTargetEpoch], None] | None = None,
) -> TwoTargetResult:
    """Train one model for two targets: the rating's class and whether the item has `genre`.

    `item_has_genre` is (n_items,) bool over the shared item vocabulary. Batches are slices of a
    randperm over tensors (no DataLoader); Adam; loss = cross-entropy(rating) + cross-entropy(genre).
    Raises ValueError when the training set is empty or `item_has_genre` has the wrong length.
    """
    import time

    if train.n_ratings == 0:
        raise ValueError("the training set is empty")
    flags = np.asarray(item_has_genre, dtype=bool)
    if flags.shape != (train.n_items,):
        raise ValueError(f"item_has_genre has shape {flags.shape}, expected ({train.n_items},)")
    started = time.perf_counter()
    torch.manual_seed(seed)
    classes = np.unique(np.concatenate([train.ratings, valid.ratings]))  # (n_classes,) sorted rating values

    def tensors(data: Ratings) -> tuple[torch.Tensor, ...]:
        users = torch.from_numpy(data.user_ids)
        items = torch.from_numpy(data.item_ids)
        rating_class = torch.from_numpy(np.searchsorted(classes, data.ratings)).long()
        has_genre = torch.from_numpy(flags[data.item_ids].astype(np.int64))
        return users, items, rating_class, has_genre

    train_t, valid_t = tensors(train), tensors(valid)
    model = TwoTargetModel(train.n_users, train.n_items, len(classes), n_factors=n_factors)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    n1 = len(classes)
    history: list[TwoTargetEpoch] = []
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(train.n_ratings)
        total, seen = 0.0, 0
        for start in range(0, train.n_ratings, batch_size):
            rows = order[start : start + batch_size]
            users, items, rating_class, has_genre = (t[rows] for t in train_t)
            loss, _, _ = two_head_loss(model(users, items), n1, rating_class, has_genre)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
            seen += len(rows)
        stats = _evaluate(model, valid_t, n1, epoch, total / max(seen, 1))
        history.append(stats)
        if on_epoch is not None:
            on_epoch(stats)
    _, _, valid_class, valid_genre = valid_t
    rating_baseline = float(np.bincount(valid_class.numpy()).max() / max(len(valid_class), 1))
    genre_share = float(valid_genre.float().mean()) if len(valid_genre) else 0.0
    return TwoTargetResult(
        model=model,
        classes=tuple(float(c) for c in classes),
        genre=genre,
        history=tuple(history),
        rating_baseline=rating_baseline,
        genre_baseline=max(genre_share, 1 - genre_share),
        seconds=time.perf_counter() - started,
    )


@torch.no_grad()
def _evaluate(
    model: TwoTargetModel, data: tuple[torch.Tensor, ...], n1: int, epoch: int, train_loss: float
) -> TwoTargetEpoch:
    model.eval()
    users, items, rating_class, has_genre = data
    if len(users) == 0:
        nan = float("nan")
        return TwoTargetEpoch(epoch, train_loss, nan, nan, nan, nan)
    logits = model(users, items)  # (n_valid, n1 + 2)
    _, loss1, loss2 = two_head_loss(logits, n1, rating_class, has_genre)
    accuracy1 = (logits[:, :n1].argmax(1) == rating_class).float().mean()
    accuracy2 = (logits[:, n1:].argmax(1) == has_genre).float().mean()
    return TwoTargetEpoch(epoch, train_loss, float(loss1), float(accuracy1), float(loss2), float(accuracy2))
