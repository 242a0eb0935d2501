"""The one data contract, `Ratings`: integer ids, float ratings, labels, and a content fingerprint.

SKELETON written to fix the interface; the data-layer work fills in validation, splits,
crosstab and summary (see issue 2). Field names and meanings here are the contract.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np


class DataError(ValueError):
    """Bad input data: the message names the problem, the column, the count and the fix."""


@dataclass(frozen=True, eq=False)
class Ratings:
    """Explicit-feedback ratings with a dense id vocabulary shared by every split of one dataset."""

    user_ids: np.ndarray  # (n_ratings,) int64 in 0..n_users-1
    item_ids: np.ndarray  # (n_ratings,) int64 in 0..n_items-1
    ratings: np.ndarray  # (n_ratings,) float32
    user_labels: np.ndarray  # (n_users,) str: the original id of user index i
    item_labels: np.ndarray  # (n_items,) str: the original id of item index i
    timestamps: np.ndarray | None = None  # (n_ratings,) int64 seconds, or None
    titles: np.ndarray | None = None  # (n_items,) str, or None
    genres: tuple[tuple[str, ...], ...] | None = None  # per item index, or None
    name: str = "ratings"
    truth: object | None = None  # ground truth of a planted (demo) set: collab.sources.DemoTruth
    fingerprint: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", _fingerprint(self))

    @property
    def n_users(self) -> int:
        return len(self.user_labels)

    @property
    def n_items(self) -> int:
        return len(self.item_labels)

    @property
    def n_ratings(self) -> int:
        return len(self.ratings)

    def __len__(self) -> int:
        return self.n_ratings


def _fingerprint(r: Ratings) -> str:
    """A stable content hash (ids, ratings, labels); equal data gives an equal fingerprint."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (r.user_ids, r.item_ids, r.ratings):
        digest.update(np.ascontiguousarray(array).tobytes())
    for labels in (r.user_labels, r.item_labels):
        digest.update("\x1f".join(map(str, labels)).encode())
    if r.timestamps is not None:
        digest.update(np.ascontiguousarray(r.timestamps).tobytes())
    return digest.hexdigest()
