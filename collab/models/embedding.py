"""The models: dot product with biases, an embedding MLP, a bias-only baseline and a rating classifier.

Every model maps `(user_ids, item_ids)` to a raw output (`forward`), turns it into ratings
(`predict_ratings`) and scores it against the true ratings with a *summed* per-sample loss
(`loss_sum`), so the trainer can divide by the true number of ratings behind an optimizer step.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from collab.models.base import (
    DEFAULT_RATING_VALUES,
    MAX_CLASSES,
    CollabModel,
    add_rows,
    embedding_size,
    make_embedding,
    sigmoid_range,
    squared_error_grad,
)


class DotProductBias(CollabModel):
    """The lesson's model: sigmoid_range(user . item + user_bias + item_bias).

    `l2` adds l2 * (|user factors|^2 + |item factors|^2) to every rating's loss: classic matrix
    factorization regularisation, which shrinks a row in proportion to how often it is rated.
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        n_factors: int,
        y_range: tuple[float, float],
        sparse: bool = False,
        l2: float = 0.0,
    ) -> None:
        super().__init__()
        self.y_range = y_range
        self.l2 = float(l2)
        self.user_factors = make_embedding(n_users, n_factors, sparse)
        self.item_factors = make_embedding(n_items, n_factors, sparse)
        self.user_bias = make_embedding(n_users, 1, sparse, std=0.0)
        self.item_bias = make_embedding(n_items, 1, sparse, std=0.0)

    def forward(self, user_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor:
        users = self.user_factors(user_ids)  # (batch, k)
        items = self.item_factors(item_ids)  # (batch, k)
        raw = (users * items).sum(1) + self.user_bias(user_ids)[:, 0] + self.item_bias(item_ids)[:, 0]
        return sigmoid_range(raw, *self.y_range)  # (batch,)

    @torch.no_grad()
    def accumulate_gradients(
        self, user_ids: torch.Tensor, item_ids: torch.Tensor, ratings: torch.Tensor, divisor: int
    ) -> torch.Tensor | None:
        # On small batches autograd's bookkeeping costs several times the arithmetic; the
        # gradient of this model is four lines (a test checks it against autograd).
        if user_ids.device.type != "cpu":  # index_add_ is deterministic only on the CPU
            return None
        users = self.user_factors.weight.index_select(0, user_ids)  # (batch, k)
        items = self.item_factors.weight.index_select(0, item_ids)  # (batch, k)
        raw = (
            (users * items).sum(1)
            + self.user_bias.weight.index_select(0, user_ids)[:, 0]
            + self.item_bias.weight.index_select(0, item_ids)[:, 0]
        )
        grad_raw, loss_sum = squared_error_grad(raw, ratings, self.y_range, divisor)  # (batch, 1)
        sparse = self.user_factors.sparse
        user_grads, item_grads = items * grad_raw, users * grad_raw  # (batch, k) each
        if self.l2:
            user_grads.add_(users, alpha=2 * self.l2 / divisor)
            item_grads.add_(items, alpha=2 * self.l2 / divisor)
        add_rows(self.user_factors.weight, user_ids, user_grads, sparse)
        add_rows(self.item_factors.weight, item_ids, item_grads, sparse)
        add_rows(self.user_bias.weight, user_ids, grad_raw, sparse)
        add_rows(self.item_bias.weight, item_ids, grad_raw, sparse)
        return loss_sum

    def packed_gradients(
        self, rows: torch.Tensor, ratings: torch.Tensor, divisor: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(summed loss, gradient rows) for packed rows [factors | bias | anything], users then items:
        (2 * batch, width >= k + 1); the gradient is zero past the bias."""
        batch, k = len(ratings), self.user_factors.embedding_dim
        pairs = rows.view(2, batch, rows.shape[1])  # (user or item, batch, width)
        # a small batch costs a few microseconds per operation, whatever its size: few operations
        raw = torch.linalg.vecdot(pairs[0, :, :k], pairs[1, :, :k]) + pairs[:, :, k].sum(0)  # (batch,)
        grad_raw, loss_sum = squared_error_grad(raw, ratings, self.y_range, divisor)  # (batch, 1)
        # d raw / d user row = [item factors, 1], and the other way round: swap the halves and scale
        grad_rows = pairs.flip(0).mul_(grad_raw)  # (2, batch, width)
        grad_rows[:, :, k] = grad_raw[:, 0]
        if rows.shape[1] > k + 1:
            grad_rows[:, :, k + 1 :] = 0.0
        if self.l2:
            grad_rows[:, :, :k].add_(pairs[:, :, :k], alpha=2 * self.l2 / divisor)
        return loss_sum, grad_rows.view(2 * batch, rows.shape[1])

    def own_tables(self) -> None:
        """Give each table its own contiguous storage again (after training through a packed buffer)."""
        for module in (self.user_factors, self.user_bias, self.item_factors, self.item_bias):
            module.weight.data = module.weight.data.contiguous()

    def penalty_sum(self, user_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor | None:
        if not self.l2:
            return None
        users, items = self.user_factors(user_ids), self.item_factors(item_ids)  # (batch, k) each
        return self.l2 * (users.square().sum() + items.square().sum())


class BiasOnly(CollabModel):
    """Baseline without factors: sigmoid_range(user_bias + item_bias); how far popularity alone gets."""

    def __init__(
        self, n_users: int, n_items: int, y_range: tuple[float, float], sparse: bool = False
    ) -> None:
        super().__init__()
        self.y_range = y_range
        self.user_bias = make_embedding(n_users, 1, sparse, std=0.0)
        self.item_bias = make_embedding(n_items, 1, sparse, std=0.0)

    def forward(self, user_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor:
        raw = self.user_bias(user_ids)[:, 0] + self.item_bias(item_ids)[:, 0]
        return sigmoid_range(raw, *self.y_range)  # (batch,)

    @torch.no_grad()
    def accumulate_gradients(
        self, user_ids: torch.Tensor, item_ids: torch.Tensor, ratings: torch.Tensor, divisor: int
    ) -> torch.Tensor | None:
        if user_ids.device.type != "cpu":
            return None
        user_bias = self.user_bias.weight.index_select(0, user_ids)[:, 0]
        raw = user_bias + self.item_bias.weight.index_select(0, item_ids)[:, 0]
        grad_raw, loss_sum = squared_error_grad(raw, ratings, self.y_range, divisor)
        add_rows(self.user_bias.weight, user_ids, grad_raw, self.user_bias.sparse)
        add_rows(self.item_bias.weight, item_ids, grad_raw, self.user_bias.sparse)
        return loss_sum


class EmbeddingNN(CollabModel):
    """fastai's collab NN: concatenated user and item embeddings through an MLP (no batch norm, so
    gradient accumulation stays exact)."""

    def __init__(
        self,
        n_users: int,
        n_items: int,
        y_range: tuple[float, float],
        hidden: Sequence[int] = (100,),
        dropout: float = 0.1,
        sparse: bool = False,
    ) -> None:
        super().__init__()
        self.y_range = y_range
        self.user_factors = make_embedding(n_users, embedding_size(n_users), sparse)
        self.item_factors = make_embedding(n_items, embedding_size(n_items), sparse)
        layers: list[nn.Module] = []
        width = self.user_factors.embedding_dim + self.item_factors.embedding_dim
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, user_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor:
        joined = torch.cat(
            [self.user_factors(user_ids), self.item_factors(item_ids)], dim=1
        )  # (batch, du+di)
        return sigmoid_range(self.layers(joined)[:, 0], *self.y_range)  # (batch,)


class RatingClassifier(CollabModel):
    """Ratings as classes, trained with cross-entropy; the prediction is the expected rating.

    logits = head(user * item) + user_bias + item_bias, with per-class biases.
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        n_factors: int,
        rating_values: Sequence[float] = DEFAULT_RATING_VALUES,
        sparse: bool = False,
    ) -> None:
        super().__init__()
        values = sorted({float(v) for v in rating_values})
        if not 2 <= len(values) <= MAX_CLASSES:
            raise ValueError(
                f"the rating classifier needs 2 to {MAX_CLASSES} distinct rating values, got {len(values)}; "
                "use a regression model for continuous ratings"
            )
        self.y_range = (values[0], values[-1])
        n_classes = len(values)
        self.register_buffer("rating_values", torch.tensor(values, dtype=torch.float32))
        self.user_factors = make_embedding(n_users, n_factors, sparse)
        self.item_factors = make_embedding(n_items, n_factors, sparse)
        self.user_bias = make_embedding(n_users, n_classes, sparse, std=0.0)
        self.item_bias = make_embedding(n_items, n_classes, sparse, std=0.0)
        self.head = nn.Linear(n_factors, n_classes)

    def forward(self, user_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor:
        product = self.user_factors(user_ids) * self.item_factors(item_ids)  # (batch, k)
        return self.head(product) + self.user_bias(user_ids) + self.item_bias(item_ids)  # (batch, classes)

    def rating_classes(self, ratings: torch.Tensor) -> torch.Tensor:
        """Index of the nearest rating value, (batch,) int64."""
        return (ratings[:, None] - self.rating_values).abs().argmin(1)

    def loss_sum(self, output: torch.Tensor, ratings: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output.float(), self.rating_classes(ratings), reduction="sum")

    def output_to_ratings(self, output: torch.Tensor) -> torch.Tensor:
        return output.float().softmax(1) @ self.rating_values  # (batch,) expected rating

    def predict_ratings(self, user_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor:
        return self.output_to_ratings(self(user_ids, item_ids))
