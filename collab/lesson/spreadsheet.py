"""Latent factors by hand: the lesson's spreadsheet (a small crosstab) fitted by plain gradient descent.

fast.ai's lesson 7 starts from a spreadsheet: 15 users x 15 items, a few random numbers per user and
per item, a predicted rating that is their dot product, and a loss over the filled cells only. This
module is that spreadsheet in PyTorch, written out so every step can be read and shown: parameters
with `requires_grad`, `loss.backward()`, and an in-place `sub_` update. No optimizer object, no
training loop from `collab.training.loop`: each call is one visible step of gradient descent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from collab.models.base import sigmoid_range

__all__ = ["MAX_FACTORS", "SheetSnapshot", "Spreadsheet", "masked_mse", "predict", "sgd_step"]

MAX_FACTORS = 20
INIT_HIGH = 1.0  # factors start uniform in [0, 1): the spreadsheet's RAND()


class Spreadsheet:
    """A ratings table (NaN = not rated), k factors per row and per column, optional biases; all tensors.

    `ratings` is (n_users, n_items) float32 with 0 where empty, `mask` marks the filled cells,
    `user_factors` (n_users, k) and `item_factors` (n_items, k) are leaf tensors with
    `requires_grad=True`, and so are `user_bias` (n_users,) and `item_bias` (n_items,) when
    `biases` is on. `history` holds the MSE over the filled cells after every step (its first entry
    is the loss of the random start). Raises ValueError for an empty table or k out of 1..MAX_FACTORS.
    """

    def __init__(
        self,
        table: np.ndarray,
        n_factors: int = 5,
        seed: int = 0,
        biases: bool = False,
        weight_decay: float = 0.0,
        y_range: tuple[float, float] | None = None,
    ) -> None:
        values = np.asarray(table, dtype=np.float32)  # (n_users, n_items), NaN where not rated
        if values.ndim != 2 or values.size == 0:
            raise ValueError(f"the table must be a non-empty 2-D array, got shape {values.shape}")
        if not np.isfinite(values).any():
            raise ValueError("the table has no filled cells: there is nothing to fit")
        if not 1 <= int(n_factors) <= MAX_FACTORS:
            raise ValueError(f"n_factors must lie in 1..{MAX_FACTORS}, got {n_factors}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be 0 or more, got {weight_decay}")
        self.mask = torch.from_numpy(np.isfinite(values))  # (n_users, n_items) bool
        self.ratings = torch.from_numpy(np.nan_to_num(values, nan=0.0))  # (n_users, n_items)
        self.n_factors = int(n_factors)
        self.seed = int(seed)
        self.biases = bool(biases)
        self.weight_decay = float(weight_decay)
        self.y_range = None if y_range is None else (float(y_range[0]), float(y_range[1]))
        generator = torch.Generator().manual_seed(self.seed)
        n_users, n_items = values.shape
        # uniform_ and zero_ fill the tensor in place (the trailing underscore); requires_grad_ after
        # filling, so the fill itself is not recorded by autograd
        self.user_factors = torch.empty(n_users, self.n_factors).uniform_(0, INIT_HIGH, generator=generator)
        self.item_factors = torch.empty(n_items, self.n_factors).uniform_(0, INIT_HIGH, generator=generator)
        self.user_bias = torch.empty(n_users).zero_()
        self.item_bias = torch.empty(n_items).zero_()
        for param in (self.user_factors, self.item_factors, self.user_bias, self.item_bias):
            param.requires_grad_()  # biases too: switching them on later needs no new tensors
        self.steps = 0
        self.history: list[float] = [self.loss()]

    @classmethod
    def from_factors(
        cls,
        table: np.ndarray,
        user_factors: np.ndarray,
        item_factors: np.ndarray,
        user_bias: np.ndarray | None = None,
        item_bias: np.ndarray | None = None,
        weight_decay: float = 0.0,
    ) -> Spreadsheet:
        """A spreadsheet starting from given factors (and biases, which switches biases on): for checks by hand."""
        sheet = cls(
            table,
            n_factors=np.shape(user_factors)[1],
            biases=user_bias is not None,
            weight_decay=weight_decay,
        )
        with torch.no_grad():
            sheet.user_factors.copy_(torch.as_tensor(np.asarray(user_factors, dtype=np.float32)))
            sheet.item_factors.copy_(torch.as_tensor(np.asarray(item_factors, dtype=np.float32)))
            if user_bias is not None and item_bias is not None:
                sheet.user_bias.copy_(torch.as_tensor(np.asarray(user_bias, dtype=np.float32)))
                sheet.item_bias.copy_(torch.as_tensor(np.asarray(item_bias, dtype=np.float32)))
        sheet.history = [sheet.loss()]
        return sheet

    def restarted(self) -> Spreadsheet:
        """A new sheet on the same table with the same k, seed, biases, weight decay and y_range: the same
        random start this one had (the seed draws the same factors), before any step. Runs compared from it
        differ only by their settings, not by where they began."""
        table = torch.where(self.mask, self.ratings, torch.tensor(float("nan"))).numpy()
        return Spreadsheet(
            table, n_factors=self.n_factors, seed=self.seed, biases=self.biases,
            weight_decay=self.weight_decay, y_range=self.y_range,
        )  # fmt: skip

    def parameters(self) -> list[torch.Tensor]:
        """The tensors gradient descent changes: the two factor tables, and the biases when they are on."""
        tables = [self.user_factors, self.item_factors]
        return tables + [self.user_bias, self.item_bias] if self.biases else tables

    def predictions(self) -> np.ndarray:
        """(n_users, n_items) predicted ratings for every cell, filled or not."""
        with torch.no_grad():
            return predict(self).numpy().copy()

    def loss(self) -> float:
        """MSE over the filled cells (without the weight-decay penalty)."""
        with torch.no_grad():
            return float(masked_mse(predict(self), self.ratings, self.mask))

    @property
    def n_filled(self) -> int:
        return int(self.mask.sum())

    def snapshot(self) -> SheetSnapshot:
        """Plain numpy copies of everything a page shows."""
        with torch.no_grad():
            return SheetSnapshot(
                user_factors=self.user_factors.numpy().copy(),
                item_factors=self.item_factors.numpy().copy(),
                user_bias=self.user_bias.numpy().copy() if self.biases else None,
                item_bias=self.item_bias.numpy().copy() if self.biases else None,
                predictions=self.predictions(),
                loss=self.history[-1],
                steps=self.steps,
                history=tuple(self.history),
            )

    def run(self, n_steps: int, lr: float) -> float:
        """`n_steps` gradient steps; returns the MSE after the last one."""
        for _ in range(int(n_steps)):
            sgd_step(self, lr)
        return self.history[-1]

    def run_to_convergence(
        self,
        lr: float,
        tol: float = 1e-6,
        max_steps: int = 3000,
        every: int = 50,
        on_progress: Callable[[Spreadsheet], None] | None = None,
    ) -> int:
        """Step until the MSE improves by less than `tol` (relative) in one step, or `max_steps`; the steps taken.

        `on_progress(self)` is called every `every` steps and at the end (the page redraws its curve).
        A diverging run (loss not finite) stops at once.
        """
        taken = 0
        while taken < max_steps:
            before = self.history[-1]
            after = sgd_step(self, lr)
            taken += 1
            if on_progress is not None and taken % every == 0:
                on_progress(self)
            if not np.isfinite(after) or abs(before - after) <= tol * max(abs(before), 1e-12):
                break
        if on_progress is not None:
            on_progress(self)
        return taken


@dataclass(frozen=True)
class SheetSnapshot:
    """What the spreadsheet holds at one moment, as numpy arrays for tables and figures."""

    user_factors: np.ndarray  # (n_users, k)
    item_factors: np.ndarray  # (n_items, k)
    user_bias: np.ndarray | None  # (n_users,) or None without biases
    item_bias: np.ndarray | None  # (n_items,)
    predictions: np.ndarray  # (n_users, n_items)
    loss: float  # MSE over the filled cells
    steps: int
    history: tuple[float, ...]


def predict(sheet: Spreadsheet) -> torch.Tensor:
    """Every cell's prediction: the dot product of its user's and its item's factors (+ both biases),
    squashed into `y_range` by `sigmoid_range` when the sheet has one."""
    scores = sheet.user_factors @ sheet.item_factors.T  # (n_users, n_items)
    if sheet.biases:
        scores = scores + sheet.user_bias[:, None] + sheet.item_bias[None, :]
    if sheet.y_range is not None:
        scores = sigmoid_range(scores, *sheet.y_range)
    return scores


def masked_mse(predictions: torch.Tensor, ratings: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the filled cells only: an empty cell is not a rating of 0."""
    errors = (predictions - ratings)[mask]  # (n_filled,)
    return (errors**2).mean()


def sgd_step(sheet: Spreadsheet, lr: float) -> float:
    """One step of gradient descent on every filled cell; returns the MSE after the step.

    loss = MSE over filled cells + weight_decay * (sum of squared factors); biases are not decayed.
    """
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr}")
    loss = masked_mse(predict(sheet), sheet.ratings, sheet.mask)
    if sheet.weight_decay:
        penalty = (sheet.user_factors**2).sum() + (sheet.item_factors**2).sum()
        loss = loss + sheet.weight_decay * penalty
    loss.backward()  # fills .grad of every tensor with requires_grad=True
    with torch.no_grad():  # the update itself must not become part of the graph
        for param in sheet.parameters():
            param.sub_(lr * param.grad)  # in place: the same tensor, new values
            param.grad.zero_()  # backward() adds to .grad, so clear it for the next step
    sheet.steps += 1
    sheet.history.append(sheet.loss())
    return sheet.history[-1]
