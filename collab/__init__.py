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
    "Ratings": "collab.data",
    "Split": "collab.data",
    "DataError": "collab.data",
    "read_ratings": "collab.sources",
    "read_items": "collab.sources",
    "sniff_ratings": "collab.sources",
    "load_movielens": "collab.movielens",
    "demo_ratings": "collab.demo",
    "DemoTruth": "collab.demo",
    "RatingsSummary": "collab.data",
    "MAX_RATINGS": "collab.data",
    "Sniff": "collab.sources",
    "MAX_UPLOAD_MB": "collab.sources",
    "load_movielens_dir": "collab.movielens",
    # training
    "TrainConfig": "collab.config",
    "build_model": "collab.models",
    "train": "collab.training",
    "TrainResult": "collab.training",
    "EpochStats": "collab.training",
    "load": "collab.training",
    "estimate_memory": "collab.memory",
    "MemoryEstimate": "collab.memory",
    "MODEL_LABELS": "collab.config",
    "PRESETS": "collab.config",
    "compare_accumulation": "collab.training",
    "AccumulationCheck": "collab.training",
    "UnknownLabelError": "collab.training",
    "ModelFileError": "collab.io",
    "find_overfit_epoch": "collab.metrics",
    "train_blend": "collab.blend",
    "BlendResult": "collab.blend",
    "BEST_BLEND": "collab.blend",
    # what a model learned, and what it is for
    "pca": "collab.embeddings",
    "nearest_neighbours": "collab.embeddings",
    "projector_tsv": "collab.embeddings",
    "recommend_for_user": "collab.recommend",
    "fold_in": "collab.recommend",
    "fold_in_user": "collab.recommend",
    # labels in, DataFrames out (the notebook API)
    "top_n": "collab.recommend",
    "similar_to": "collab.recommend",
    "recommend_new_user": "collab.recommend",
    # cross-validation
    "kfold": "collab.validation",
    "cross_validate": "collab.validation",
    "Fold": "collab.validation",
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
