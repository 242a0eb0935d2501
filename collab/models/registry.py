"""The model registry: `build_model` looks a model up by its `TrainConfig.model` name.

Each entry is a small function that sizes one model from the config and the vocabulary, so no model
module imports another to be built, and a new model is one import and one line here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from collab.models.autorec import AutoRec
from collab.models.base import DEFAULT_RATING_VALUES, DEFAULT_Y_RANGE, CollabModel
from collab.models.bayes_fm import BayesFM
from collab.models.embedding import BiasOnly, DotProductBias, EmbeddingNN, RatingClassifier
from collab.models.implicit import ImplicitMF

if TYPE_CHECKING:
    from collab.training.config import TrainConfig


@dataclass(frozen=True)
class ModelSpec:
    """Everything a builder needs: the config and the sizes the data gives."""

    config: TrainConfig
    n_users: int
    n_items: int
    y_range: tuple[float, float]
    rating_values: Sequence[float]
    sparse: bool
    n_ratings: int


Builder = Callable[[ModelSpec], CollabModel]

BUILDERS: dict[str, Builder] = {
    "dot": lambda s: DotProductBias(
        s.n_users, s.n_items, s.config.n_factors, s.y_range, s.sparse, s.config.l2
    ),
    "nn": lambda s: EmbeddingNN(s.n_users, s.n_items, s.y_range, s.config.hidden, s.config.dropout, s.sparse),
    "bias": lambda s: BiasOnly(s.n_users, s.n_items, s.y_range, s.sparse),
    "classifier": lambda s: RatingClassifier(
        s.n_users, s.n_items, s.config.n_factors, s.rating_values, s.sparse
    ),
    # AutoRec keeps its training ratings: `n_ratings` sizes them (for loading; `train` sets them)
    "autorec": lambda s: AutoRec(s.n_users, s.n_items, s.config.n_factors, s.y_range, s.n_ratings),
    # Bayesian FM: posterior means only (trained by collab.training.bayes_fm, not by gradients)
    "bfm": lambda s: BayesFM(s.n_users, s.n_items, s.config.n_factors, s.config.epochs, s.y_range),
    # implicit feedback: one model, two losses (BPR, BCE with sampled negatives)
    "bpr": lambda s: ImplicitMF(s.n_users, s.n_items, s.config.n_factors, "bpr"),
    "bce": lambda s: ImplicitMF(s.n_users, s.n_items, s.config.n_factors, "bce"),
}


def build_model(
    config: TrainConfig,
    n_users: int,
    n_items: int,
    y_range: tuple[float, float] | None = None,
    rating_values: Sequence[float] | None = None,
    sparse: bool = False,
    n_ratings: int = 0,
) -> CollabModel:
    """The model `config.model` names, sized for the vocabulary; y_range falls back to config then 0-5.5.

    Raises ValueError for a model name with no builder (`TrainConfig` checks names first)."""
    builder = BUILDERS.get(config.model)
    if builder is None:
        raise ValueError(f"model {config.model!r} has no builder; known: {', '.join(sorted(BUILDERS))}")
    spec = ModelSpec(
        config=config,
        n_users=n_users,
        n_items=n_items,
        y_range=config.y_range or y_range or DEFAULT_Y_RANGE,
        rating_values=rating_values or DEFAULT_RATING_VALUES,
        sparse=sparse,
        n_ratings=n_ratings,
    )
    return builder(spec)
