"""What every model shares: the `CollabModel` interface, embedding tables and their initialisation,
`sigmoid_range`, and the gradient helpers the compiled paths use."""

from __future__ import annotations

import torch
from torch import nn

DEFAULT_Y_RANGE = (0.0, 5.5)


DEFAULT_RATING_VALUES = (1.0, 2.0, 3.0, 4.0, 5.0)


MAX_CLASSES = 20


INIT_STD = 0.01  # fastai's embedding init: small, so the first predictions sit mid-range


def sigmoid_range(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Squash to (low, high) with a sigmoid."""
    return torch.sigmoid(x) * (high - low) + low


def embedding_size(n: int) -> int:
    """fastai's rule of thumb for an embedding width: min(600, round(1.6 * n ** 0.56))."""
    return min(600, round(1.6 * n**0.56))


def make_embedding(n: int, dim: int, sparse: bool, std: float = INIT_STD) -> nn.Embedding:
    table = nn.Embedding(n, dim, sparse=sparse)
    if std:
        nn.init.normal_(table.weight, 0.0, std)
    else:
        nn.init.zeros_(table.weight)
    return table


class CollabModel(nn.Module):
    """Shared interface: raw output, ratings, summed loss."""

    y_range: tuple[float, float]

    def predict_ratings(self, user_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor:
        """Predicted ratings on the rating scale, (batch,)."""
        return self(user_ids, item_ids)

    def loss_sum(self, output: torch.Tensor, ratings: torch.Tensor) -> torch.Tensor:
        """Sum over the batch of the per-rating loss (squared error here)."""
        return (output.float() - ratings).pow(2).sum()

    def output_to_ratings(self, output: torch.Tensor) -> torch.Tensor:
        """Turn `forward` output into ratings."""
        return output.float()

    def accumulate_gradients(
        self, user_ids: torch.Tensor, item_ids: torch.Tensor, ratings: torch.Tensor, divisor: int
    ) -> torch.Tensor | None:
        """Add d(sum of losses / divisor) to `.grad` without autograd and return the summed loss;
        None where the model has no hand-written backward (the trainer then uses autograd)."""
        return None

    def tables(self) -> dict[str, torch.Tensor]:
        """The embedding view for the explorer: whichever of user_factors, item_factors, user_bias and
        item_bias the model has, as (rows, width) tensors."""
        names = ("user_factors", "item_factors", "user_bias", "item_bias")
        modules = {name: getattr(self, name, None) for name in names}
        return {name: m.weight.detach() for name, m in modules.items() if isinstance(m, nn.Embedding)}

    def penalty_sum(self, user_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor | None:
        """The per-rating L2 penalty summed over the batch (added to the loss for gradients only);
        None where the model has none."""
        return None


def squared_error_grad(
    raw: torch.Tensor, ratings: torch.Tensor, y_range: tuple[float, float], divisor: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(d loss / d raw as (batch, 1), summed squared error) for sigmoid_range(raw) against ratings."""
    low, high = y_range
    squashed = torch.sigmoid(raw)  # (batch,)
    error = squashed.mul(high - low).sub_(ratings)  # (batch,) prediction - rating
    if low:
        error.add_(low)
    # d sigmoid = s (1 - s) = s - s^2
    grad_raw = (
        torch.addcmul(squashed, squashed, squashed, value=-1).mul_(error).mul_(2 * (high - low) / divisor)
    )
    return grad_raw[:, None], torch.dot(error, error)


def add_rows(weight: torch.Tensor, ids: torch.Tensor, rows: torch.Tensor, sparse: bool) -> None:
    """Add gradient rows: into the dense `.grad`, or as a sparse gradient like nn.Embedding(sparse=True)."""
    if sparse:
        grad = torch.sparse_coo_tensor(
            ids[None], rows, weight.shape, check_invariants=False, is_coalesced=False
        )
        weight.grad = grad if weight.grad is None else weight.grad + grad
        return
    if weight.grad is None:
        weight.grad = torch.zeros_like(weight)
    weight.grad.index_add_(0, ids, rows)


def is_no_decay(name: str) -> bool:
    """Biases (embedding biases and layer biases) are the parameters that decay only on request."""
    return name.endswith(".bias") or "_bias." in name
