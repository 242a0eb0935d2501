"""TrainResult: a trained model with its config, vocabulary, history and metrics, and how it predicts.

Saving and loading go through `collab.training.io` (safetensors + JSON metadata, never pickle)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from collab.models.base import CollabModel
from collab.training.config import TrainConfig
from collab.training.io import ModelFileError, read_result_fields, save_result

# pairs predicted at once: the neural net concatenates its two embeddings per pair (up to 1,200 floats on
# big tables), so 2^16 pairs took ~300 MB per chunk and a 50k x 14k upload's catalogue scoring peaked
# at 1.2 GiB; 2^14 keeps that under 80 MB and costs the dot model nothing measurable
EVAL_CHUNK = 1 << 14


class UnknownLabelError(ValueError):
    """A user or item label that the model never saw in training."""


@dataclass(frozen=True)
class EpochStats:
    """What one epoch did; the UI draws progress and loss curves from these."""

    epoch: int  # 1-based
    epochs: int
    train_loss: float
    valid_loss: float  # nan without a validation set
    valid_rmse: float
    seconds: float
    samples_per_s: float


@dataclass(frozen=True, eq=False)
class TrainResult:
    """A trained model with its config, vocabulary, history and validation metrics."""

    model: CollabModel  # eval mode, on the CPU
    config: TrainConfig
    user_labels: np.ndarray
    item_labels: np.ndarray
    y_range: tuple[float, float]
    history: tuple[EpochStats, ...]
    metrics: dict[str, float]
    seconds: float
    device: str
    best_epoch: int
    stopped_early: bool
    sparse: bool = False
    optimizer: str = ""  # how it was trained, e.g. "AdamW (compiled)" or "L-BFGS, full batch"
    dataset: str = ""  # fingerprint of the whole dataset it was trained on, when the caller knows it
    processes: int = 1  # data-parallel processes: one step saw processes x config.effective_batch ratings
    notes: tuple[str, ...] = ()  # what the run had to work around, e.g. compiled kernels unavailable
    _lookup: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        """One line for a notebook: the model, its size and its validation RMSE (not every label)."""
        rmse, ndcg = self.metrics.get("rmse"), self.metrics.get("ndcg@10")
        scored = "not scored (no validation set)" if rmse is None else f"valid RMSE {rmse:.4f}"
        if ndcg is not None:  # the catalogue protocol: every unseen item ranked
            ranked = f"NDCG@10 {ndcg:.4f} (popularity {self.metrics.get('popularity_ndcg@10', math.nan):.4f})"
            scored = ranked if rmse is None else f"{scored}, {ranked}"
        return (
            f"TrainResult({self.config.describe()}; "
            f"{len(self.user_labels):,} users x {len(self.item_labels):,} items; "
            f"{scored}; {self.seconds:.2f} s on {self.device})"
        )

    @property
    def effective_batch(self) -> int:
        """Ratings behind one optimizer step over every process: processes x batch_size x accum_steps."""
        return self.processes * self.config.effective_batch

    def _index(self, kind: str, labels: Sequence[Any]) -> np.ndarray:
        vocab = self.user_labels if kind == "user" else self.item_labels
        if kind not in self._lookup:
            self._lookup[kind] = {str(label): i for i, label in enumerate(vocab)}
        lookup = self._lookup[kind]
        wanted = [str(label) for label in labels]
        missing = [label for label in wanted if label not in lookup]
        if missing:
            raise UnknownLabelError(
                f"{len(missing)} {kind} label(s) not seen in training (first: {missing[0]!r}); "
                f"the model knows {len(vocab)} {kind}s"
            )
        return np.array([lookup[label] for label in wanted], dtype=np.int64)

    def predict(self, user_labels: Sequence[Any], item_labels: Sequence[Any]) -> np.ndarray:
        """Predicted ratings, (n,) float32, for n (user, item) pairs of original labels: `user_labels[i]`
        with `item_labels[i]`. The two must have the same length (ValueError naming both lengths, never a
        silent broadcast); unknown labels raise UnknownLabelError. For every item of a few users use
        `collab.top_n`."""
        user_labels, item_labels = _pairs(user_labels, item_labels, "labels")
        return self.predict_ids(self._index("user", user_labels), self._index("item", item_labels))

    def predict_ids(self, user_ids: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
        """Predicted ratings for pairs of integer ids on this model's vocabulary, (n,) float32; the two
        arrays must have the same length (ValueError otherwise)."""
        user_ids, item_ids = _pairs(user_ids, item_ids, "ids")
        users = torch.as_tensor(np.asarray(user_ids, dtype=np.int64))
        items = torch.as_tensor(np.asarray(item_ids, dtype=np.int64))
        return predict_tensor(self.model, users, items).numpy()

    def evaluate(self, valid: Any, train: Any = None, k: int = 10) -> dict[str, float]:
        """This model scored on the `Ratings` `valid` (any read: matched to the model by label, unknown
        pairs left out and counted in `n_unknown`): rmse, mae, global_mean_rmse, the ranking metrics of
        `collab.training.scoring.evaluate_result` (the catalogue protocol's need `train`, the training
        ratings, to leave out what each user already rated)."""
        from collab.training.scoring import evaluate_result

        return evaluate_result(self, valid, train, k)

    def user_factors(self) -> np.ndarray:
        """User embedding matrix, (n_users, k); the bias-only model has none (k = 0)."""
        return _table(self.model, "user_factors", len(self.user_labels))

    def item_factors(self) -> np.ndarray:
        """Item embedding matrix, (n_items, k)."""
        return _table(self.model, "item_factors", len(self.item_labels))

    def user_bias(self) -> np.ndarray | None:
        """Per-user bias, (n_users,), or None for models without a scalar bias."""
        return _bias(self.model, "user_bias")

    def item_bias(self) -> np.ndarray | None:
        """Per-item bias, (n_items,), or None for models without a scalar bias."""
        return _bias(self.model, "item_bias")

    def save(self, path: str | Path) -> Path:
        """Write a safetensors file (tensors plus JSON metadata); `collab.load` reads it back."""
        return save_result(self, path)


def _pairs(users: Any, items: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Users and items as two 1-D arrays of one length (pairs), or ValueError saying what differs."""
    users, items = np.asarray(users), np.asarray(items)
    if users.ndim != 1 or items.ndim != 1 or len(users) != len(items):
        raise ValueError(
            f"predict scores (user, item) pairs: give two lists of {what} of one length; got shapes "
            f"{users.shape} and {items.shape}. For every item of a user, use collab.top_n(result, user) or "
            "repeat the user once per item"
        )
    return users, items


def load(path: str | Path) -> TrainResult:
    """Read a model written by `TrainResult.save`; anything else raises ModelFileError (a ValueError)."""
    fields = read_result_fields(path)
    try:
        history = tuple(EpochStats(**stats) for stats in fields.pop("history"))
    except TypeError as error:
        raise ModelFileError(
            f"{Path(path).name}: invalid model metadata or tensors ({type(error).__name__}: {error})"
        ) from None
    return TrainResult(history=history, **fields)


def _table(model: CollabModel, name: str, n: int) -> np.ndarray:
    table = model.tables().get(name)
    if table is None:
        return np.zeros((n, 0), dtype=np.float32)
    return table.cpu().float().numpy().copy()


def _bias(model: CollabModel, name: str) -> np.ndarray | None:
    table = model.tables().get(name)
    if table is None or table.shape[1] != 1:
        return None
    return table.cpu().float().numpy()[:, 0].copy()


@torch.no_grad()
def predict_tensor(model: CollabModel, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """Ratings for id tensors, in chunks, eval mode restored afterwards."""
    was_training = model.training
    model.eval()
    # One output filled in place, not a list of chunk outputs joined at the end: those small, long-lived
    # pieces land between each chunk's megabytes of temporaries and keep malloc from reusing or returning
    # them (the catalogue ranking's 2^19 pairs grew the process by 20-120 MiB; filled in place, 0-35).
    out = torch.zeros(0)
    for start in range(0, len(users), EVAL_CHUNK):
        chunk = model.predict_ratings(users[start : start + EVAL_CHUNK], items[start : start + EVAL_CHUNK])
        if start == 0:
            out = torch.empty(len(users), dtype=torch.float32, device=chunk.device)
        out[start : start + len(chunk)] = chunk
    model.train(was_training)
    return out
