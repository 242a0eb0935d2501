"""Collab Lab's core: collaborative filtering on a small, fast PyTorch library.

Names are loaded lazily, so ``from collab import read_ratings`` does not pay for
importing torch; the first use of a training name does.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # data contract and sources
    "Ratings": "collab.data.ratings",
    "Split": "collab.data.ratings",
    "DataError": "collab.data.errors",
    "read_ratings": "collab.data.read",
    "read_items": "collab.data.items",
    "sniff_ratings": "collab.data.sniff",
    "load_movielens": "collab.data.movielens",
    "demo_ratings": "collab.data.demo",
    "DemoTruth": "collab.data.demo",
    "RatingsSummary": "collab.data.ratings",
    "MAX_RATINGS": "collab.data.ratings",
    "Sniff": "collab.data.sniff",
    "MAX_UPLOAD_MB": "collab.data.source",
    "load_movielens_dir": "collab.data.movielens",
    # training
    "TrainConfig": "collab.training.config",
    "build_model": "collab.models.registry",
    "train": "collab.training.loop",
    "TrainResult": "collab.training.result",
    "EpochStats": "collab.training.result",
    "load": "collab.training.result",
    "estimate_memory": "collab.training.memory",
    "MemoryEstimate": "collab.training.memory",
    "MODEL_LABELS": "collab.training.config",
    "PRESETS": "collab.training.config",
    "compare_accumulation": "collab.training.accumulation",
    "AccumulationCheck": "collab.training.accumulation",
    "UnknownLabelError": "collab.training.result",
    "ModelFileError": "collab.training.io",
    "find_overfit_epoch": "collab.evaluate.metrics",
    "train_blend": "collab.training.blend",
    "BlendResult": "collab.training.blend",
    "BEST_BLEND": "collab.training.blend",
    # what a model learned, and what it is for
    "pca": "collab.analysis.embeddings",
    "nearest_neighbours": "collab.analysis.embeddings",
    "projector_tsv": "collab.analysis.embeddings",
    "recommend_for_user": "collab.analysis.recommend",
    "fold_in": "collab.analysis.recommend",
    "fold_in_user": "collab.analysis.recommend",
    # labels in, DataFrames out (the notebook API)
    "top_n": "collab.analysis.recommend",
    "similar_to": "collab.analysis.recommend",
    "recommend_new_user": "collab.analysis.recommend",
    # cross-validation
    "kfold": "collab.evaluate.folds",
    "cross_validate": "collab.training.cross_validation",
    "Fold": "collab.evaluate.folds",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'collab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
