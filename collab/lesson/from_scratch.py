"""fastbook chapter 8 written out small: a dot product of factors that have names, and the dot model built
from scratch with `nn.Parameter` beside the same model on `nn.Embedding`, trained side by side.

Source: fastbook chapter 8 ("Collaborative Filtering Deep Dive"): "Learning the Latent Factors" and
"Creating Our Own Embedding Module".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from collab.models.base import sigmoid_range

__all__ = [
    "FACTOR_NAMES",
    "MOVIES",
    "USER1",
    "EmbeddingDotProductBias",
    "NamedDot",
    "PlainTensorModel",
    "ScratchDotProductBias",
    "SideBySide",
    "create_params",
    "named_dot",
    "parameter_shapes",
    "train_side_by_side",
]

# fastbook's three named factors, and its user and two films on them
FACTOR_NAMES = ("science-fiction", "action", "old")
USER1 = (0.9, 0.8, -0.6)  # likes science fiction and action, not old films
MOVIES = {
    "Last Skywalker": (0.98, 0.9, -0.9),  # very much science fiction, action, not old
    "Casablanca": (-0.99, -0.3, 0.8),  # no science fiction, little action, old
}


@dataclass(frozen=True)
class NamedDot:
    """A user's taste against one film's traits, factor by factor, and their dot product (the match)."""

    movie: str
    products: tuple[float, ...]  # (3,) user[f] * movie[f], one per named factor
    match: float  # their sum: the dot product


def named_dot(user: tuple[float, ...], movies: dict[str, tuple[float, ...]] = MOVIES) -> list[NamedDot]:
    """fastbook's `(user1 * last_skywalker).sum()` for each film: the products factor by factor and the sum.

    Raises ValueError when a film has a different number of factors than the user.
    """
    taste = np.asarray(user, dtype=np.float64)  # (n_factors,)
    found = []
    for name, traits in movies.items():
        movie = np.asarray(traits, dtype=np.float64)  # (n_factors,)
        if movie.shape != taste.shape:
            raise ValueError(f"{name!r} has {movie.size} factors, the user has {taste.size}")
        products = taste * movie
        found.append(NamedDot(movie=name, products=tuple(products.tolist()), match=float(products.sum())))
    return found


def create_params(size: list[int]) -> nn.Parameter:
    """fastbook's `create_params`: a tensor of `size` drawn from N(0, 0.01), wrapped in `nn.Parameter`.

    The wrapper is the whole point: a module registers an `nn.Parameter` attribute, so `.parameters()`
    (and so the optimizer and weight decay) sees it; a plain tensor attribute is invisible to both.
    """
    return nn.Parameter(torch.zeros(*size).normal_(0, 0.01))


class ScratchDotProductBias(nn.Module):
    """fastbook's `DotProductBias` without `nn.Embedding`: the tables are `nn.Parameter`s, read by indexing."""

    def __init__(
        self, n_users: int, n_items: int, n_factors: int, y_range: tuple[float, float] = (0, 5.5)
    ) -> None:
        super().__init__()
        self.user_factors = create_params([n_users, n_factors])
        self.user_bias = create_params([n_users])
        self.item_factors = create_params([n_items, n_factors])
        self.item_bias = create_params([n_items])
        self.y_range = y_range

    def forward(self, user_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor:
        users = self.user_factors[user_ids]  # (batch, k): indexing a parameter *is* the embedding lookup
        items = self.item_factors[item_ids]  # (batch, k)
        raw = (users * items).sum(dim=1) + self.user_bias[user_ids] + self.item_bias[item_ids]  # (batch,)
        return sigmoid_range(raw, *self.y_range)


class EmbeddingDotProductBias(nn.Module):
    """The same model on `nn.Embedding` (fastbook's first `DotProductBias`): biases are (n, 1) tables."""

    def __init__(
        self, n_users: int, n_items: int, n_factors: int, y_range: tuple[float, float] = (0, 5.5)
    ) -> None:
        super().__init__()
        self.user_factors = nn.Embedding(n_users, n_factors)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_factors = nn.Embedding(n_items, n_factors)
        self.item_bias = nn.Embedding(n_items, 1)
        self.y_range = y_range

    def forward(self, user_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor:
        users = self.user_factors(user_ids)  # (batch, k)
        items = self.item_factors(item_ids)  # (batch, k)
        raw = (users * items).sum(dim=1) + self.user_bias(user_ids)[:, 0] + self.item_bias(item_ids)[:, 0]
        return sigmoid_range(raw, *self.y_range)


class PlainTensorModel(nn.Module):
    """fastbook's counter-example: a table kept as a plain tensor attribute is no parameter at all."""

    def __init__(self, n_users: int, n_factors: int) -> None:
        super().__init__()
        self.user_factors = torch.zeros(n_users, n_factors).normal_(0, 0.01)


def parameter_shapes(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """`list(model.named_parameters())` as (name, shape): what the optimizer will be handed."""
    return [(name, tuple(p.shape)) for name, p in model.named_parameters()]


@dataclass(frozen=True)
class SideBySide:
    """Both dot models trained from the same start on the same batches: losses per epoch and how far apart."""

    epochs: int
    scratch_train: tuple[float, ...]  # (epochs,) mean training MSE of the nn.Parameter model
    scratch_valid: tuple[float, ...]  # (epochs,) validation MSE after each epoch
    embedding_train: tuple[float, ...]
    embedding_valid: tuple[float, ...]
    max_weight_gap: float  # largest |difference| between the two models' weights after training


def train_side_by_side(
    user_ids: np.ndarray,
    item_ids: np.ndarray,
    ratings: np.ndarray,
    valid: tuple[np.ndarray, np.ndarray, np.ndarray],
    n_users: int,
    n_items: int,
    *,
    n_factors: int = 20,
    epochs: int = 4,
    batch_size: int = 512,
    lr: float = 1e-2,
    weight_decay: float = 0.1,
    seed: int = 0,
) -> SideBySide:
    """Train `ScratchDotProductBias` and `EmbeddingDotProductBias` with AdamW on identical batches.

    The embedding model starts from a copy of the scratch model's numbers, so any difference after
    training is the implementation, not the luck of the draw: the two learn the same way.
    `valid` is (user_ids, item_ids, ratings) on the same indices.
    """
    torch.manual_seed(seed)
    scratch = ScratchDotProductBias(n_users, n_items, n_factors)
    embedding = EmbeddingDotProductBias(n_users, n_items, n_factors)
    with torch.no_grad():  # the same start: copy every table across (biases (n,) into (n, 1))
        embedding.user_factors.weight.copy_(scratch.user_factors)
        embedding.item_factors.weight.copy_(scratch.item_factors)
        embedding.user_bias.weight.copy_(scratch.user_bias[:, None])
        embedding.item_bias.weight.copy_(scratch.item_bias[:, None])
    users = torch.as_tensor(user_ids, dtype=torch.int64)
    items = torch.as_tensor(item_ids, dtype=torch.int64)
    targets = torch.as_tensor(ratings, dtype=torch.float32)
    valid_users, valid_items, valid_targets = (torch.as_tensor(a) for a in valid)
    models = {"scratch": scratch, "embedding": embedding}
    optimizers = {
        name: torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        for name, model in models.items()
    }
    history: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in models}
    generator = torch.Generator().manual_seed(seed)
    for _ in range(int(epochs)):
        order = torch.randperm(len(targets), generator=generator)  # one shuffle, shared by both models
        sums = dict.fromkeys(models, 0.0)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            for name, model in models.items():
                loss = F.mse_loss(model(users[batch], items[batch]), targets[batch])
                optimizers[name].zero_grad()
                loss.backward()
                optimizers[name].step()
                sums[name] += loss.item() * len(batch)
        for name, model in models.items():
            with torch.no_grad():
                valid_loss = F.mse_loss(model(valid_users.long(), valid_items.long()), valid_targets.float())
            history[name][0].append(sums[name] / len(targets))
            history[name][1].append(float(valid_loss))
    with torch.no_grad():
        gap = max(
            float((scratch.user_factors - embedding.user_factors.weight).abs().max()),
            float((scratch.item_factors - embedding.item_factors.weight).abs().max()),
            float((scratch.user_bias - embedding.user_bias.weight[:, 0]).abs().max()),
            float((scratch.item_bias - embedding.item_bias.weight[:, 0]).abs().max()),
        )
    return SideBySide(
        epochs=int(epochs),
        scratch_train=tuple(history["scratch"][0]),
        scratch_valid=tuple(history["scratch"][1]),
        embedding_train=tuple(history["embedding"][0]),
        embedding_valid=tuple(history["embedding"][1]),
        max_weight_gap=gap,
    )
