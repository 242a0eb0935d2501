"""Four lecture points written out small: a net's bias on an input of zeros, `**kwargs` forwarding,
log-softmax + NLL = cross-entropy (and taking the log twice), and squashing predictions with sigmoid_range.

Sources: fast.ai lesson 7 and fastbook chapter 8 ("Collaborative Filtering Deep Dive").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from collab.models.base import sigmoid_range

__all__ = [
    "BiasRun",
    "LogTable",
    "embedding_table",
    "fit_zero_input",
    "log_twice",
    "out_of_range",
    "sigmoid_range",
]


@dataclass(frozen=True)
class BiasRun:
    """Outputs of a tiny linear net on an input of zeros, before and after training it towards `target`."""

    bias: bool
    target: float
    outputs: tuple[float, ...]  # (steps + 1,) the output on the zero input after each step


def fit_zero_input(
    bias: bool, target: float = 3.0, steps: int = 50, lr: float = 0.1, seed: int = 0
) -> BiasRun:
    """Train `nn.Linear(3, 1, bias=bias)` by gradient descent to output `target` for the input (0, 0, 0).

    Without a bias the output is `w · 0 = 0` whatever the weights become: the gradient of every weight
    is zero (it is multiplied by the input), so nothing moves. With a bias the output walks to `target`.
    """
    torch.manual_seed(seed)
    layer = nn.Linear(3, 1, bias=bias)
    zeros = torch.zeros(1, 3)  # (batch 1, 3 inputs)
    goal = torch.tensor([[float(target)]])
    optimizer = torch.optim.SGD(layer.parameters(), lr=lr)
    with torch.no_grad():
        outputs = [layer(zeros).item()]
    for _ in range(int(steps)):
        loss = F.mse_loss(layer(zeros), goal)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            outputs.append(layer(zeros).item())
    return BiasRun(bias=bias, target=float(target), outputs=tuple(outputs))


def embedding_table(n_rows: int, n_factors: int, **kwargs: Any) -> tuple[nn.Embedding, dict[str, Any]]:
    """An `nn.Embedding(n_rows, n_factors, ...)` with every other keyword argument passed on unchanged.

    `**kwargs` gathers the keyword arguments this signature does not name (e.g. `padding_idx=0`,
    `max_norm=1.0`) into a dict, and `**kwargs` in the call spreads them out again: fastai builds its
    layers this way. Returns the table and the dict received, so the page can print it. Raises what
    `nn.Embedding` raises for an argument it does not take (TypeError).
    """
    table = nn.Embedding(n_rows, n_factors, **kwargs)
    return table, dict(kwargs)


@dataclass(frozen=True)
class LogTable:
    """Four ways to get a classification loss from the same logits, side by side."""

    cross_entropy: float  # F.cross_entropy(logits, target)
    nll_of_log_softmax: float  # F.nll_loss(F.log_softmax(logits), target): the same number
    nll_of_log_twice: float  # F.nll_loss(torch.log(F.log_softmax(logits)), target): NaN, log of negatives
    nll_of_softmax: float  # F.nll_loss(F.softmax(logits), target): forgot the log, -p instead of -log p
    log_probs: tuple[float, ...]  # (n_classes,)


def log_twice(logits: list[float], target: int) -> LogTable:
    """`F.cross_entropy` is `F.nll_loss` after `F.log_softmax`; take the log only if log_softmax was not used.

    `logits` (n_classes,) one example's scores, `target` the right class. Raises ValueError for a
    target outside the classes.
    """
    if not 0 <= int(target) < len(logits):
        raise ValueError(f"target must be a class index in 0..{len(logits) - 1}, got {target}")
    scores = torch.tensor([logits], dtype=torch.float64)  # (1, n_classes)
    label = torch.tensor([int(target)])
    log_probs = F.log_softmax(scores, dim=1)  # (1, n_classes), all <= 0
    return LogTable(
        cross_entropy=float(F.cross_entropy(scores, label)),
        nll_of_log_softmax=float(F.nll_loss(log_probs, label)),
        nll_of_log_twice=float(F.nll_loss(torch.log(log_probs), label)),
        nll_of_softmax=float(F.nll_loss(F.softmax(scores, dim=1), label)),
        log_probs=tuple(log_probs[0].tolist()),
    )


def out_of_range(predictions: np.ndarray, low: float, high: float) -> int:
    """How many predictions fall outside [low, high] (NaN counts as outside)."""
    values = np.asarray(predictions, dtype=np.float64)
    return int(np.sum(~((values >= low) & (values <= high))))
