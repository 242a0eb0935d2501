"""Scoring a saved model on a ratings file it did not necessarily come from: first check that the two
belong together (fingerprint, then label overlap), then score the pairs they share under named protocols."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from collab.data.guards import as_text
from collab.evaluate import metrics
from collab.training.scoring import ranking_metrics

if TYPE_CHECKING:
    from collab.data.ratings import Ratings
    from collab.training.result import TrainResult

# below this share of a file's users (or items) known to the model, the file is another dataset's
MIN_KNOWN_SHARE = 0.5


@dataclass(frozen=True)
class ModelDataCheck:
    """How a model and a ratings file relate: `refusal` (another dataset: scoring would mislead) and
    `warnings` (scored on its own training data, ...) are sentences; `on_model` is the file on the
    model's vocabulary, its unknown pairs dropped."""

    on_model: Ratings
    n_unknown: int  # the file's ratings whose user or item the model does not know
    known_users: tuple[int, int]  # (the file's users the model knows, the file's users)
    known_items: tuple[int, int]
    trained_on_it: bool  # the file is the model's training file (same fingerprint)
    refusal: str | None
    warnings: tuple[str, ...]


def check_model_data(result: TrainResult, data: Ratings) -> ModelDataCheck:
    """Put `data` on `result`'s vocabulary by label and say whether the two belong together."""
    users = _lookup(result.user_labels, data.user_labels)  # (data.n_users,) model index or -1
    items = _lookup(result.item_labels, data.item_labels)
    present_users = np.unique(data.user_ids)
    present_items = np.unique(data.item_ids)
    known_users = (int((users[present_users] >= 0).sum()), len(present_users))
    known_items = (int((items[present_items] >= 0).sum()), len(present_items))
    user_ids, item_ids = users[data.user_ids], items[data.item_ids]
    known = (user_ids >= 0) & (item_ids >= 0)
    on_model = replace(
        data,
        user_ids=user_ids[known],
        item_ids=item_ids[known],
        ratings=data.ratings[known],
        timestamps=data.timestamps[known] if data.timestamps is not None else None,
        user_labels=np.asarray(result.user_labels),
        item_labels=np.asarray(result.item_labels),
        titles=None,
        genres=None,
        fingerprint="",
        notes=(),
        warnings=(),
    )
    trained_on = getattr(result, "dataset", "")
    trained_on_it = bool(trained_on) and trained_on == data.fingerprint
    refusal = None
    if not trained_on_it:
        for kind, (n_known, n_all) in (("users", known_users), ("items", known_items)):
            if n_all and n_known < MIN_KNOWN_SHARE * n_all:
                refusal = (
                    f"the model knows only {n_known:,} of the {n_all:,} {kind} in '{data.name}' "
                    f"({n_known / n_all:.0%}): it was trained on another dataset"
                    + (
                        f" (fingerprint {trained_on[:12]}, this file {data.fingerprint[:12]})"
                        if trained_on
                        else ""
                    )
                )
                break
        if refusal is None and data.n_ratings and known.sum() < MIN_KNOWN_SHARE * data.n_ratings:
            refusal = (
                f"only {int(known.sum()):,} of the {data.n_ratings:,} ratings in '{data.name}' have a user and "
                "an item the model knows: it was trained on another dataset"
            )
    warnings: list[str] = []
    if trained_on_it:
        warnings.append(
            f"the model is scored on the data it was trained on ('{data.name}' has its training data's "
            f"fingerprint {trained_on[:12]}): these numbers measure fit, not prediction; score held-out ratings"
        )
    return ModelDataCheck(
        on_model, int((~known).sum()), known_users, known_items, trained_on_it, refusal, tuple(warnings)
    )


def score(result: TrainResult, valid: Ratings, train: Ratings | None = None, k: int = 10) -> dict[str, float]:
    """RMSE and MAE of `valid` (on the model's vocabulary) beside predicting the mean (`train`'s, else
    `valid`'s own), the "rated" ranking metrics, and, given the training ratings `train` (on the model's
    vocabulary), the "catalogue" ones beside popularity (`collab.training.scoring.ranking_metrics`)."""
    predicted = np.asarray(result.predict_ids(valid.user_ids, valid.item_ids), dtype=np.float64)
    truth = valid.ratings
    mean = float(np.mean(train.ratings if train is not None and train.n_ratings else truth))
    threshold = metrics.relevant_threshold(train.ratings if train is not None else truth)
    out: dict[str, float] = {
        "rmse": metrics.rmse(predicted, truth),
        "global_mean_rmse": metrics.rmse(np.full_like(predicted, mean), truth),
        "mae": metrics.mae(predicted, truth),
        f"rated_precision@{k}": metrics.precision_at_k(valid.user_ids, predicted, truth, k, threshold),
        f"rated_recall@{k}": metrics.recall_at_k(valid.user_ids, predicted, truth, k, threshold),
        f"rated_ndcg@{k}": metrics.ndcg_at_k(valid.user_ids, predicted, truth, k, threshold),
        "rated_users": len(np.unique(valid.user_ids)),
    }
    if train is not None:
        out.update(ranking_metrics(result, train, valid, k))
    return out


def _lookup(known: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each label's index in `known`, or -1."""
    return pd.Index(as_text(known)).get_indexer(as_text(labels))


PROTOCOL_WORDS = {"catalogue": "all unseen items ranked", "rated": "held-out items only re-ranked"}


def labelled_metrics(scores: dict[str, float], n_pairs: int) -> list[tuple[str, float]]:
    """(label, value) rows for a table: each metric named with its protocol and what it scored, its baseline below it."""
    rows: list[tuple[str, float]] = []
    for name, value in scores.items():
        if name.endswith("_users") or name.startswith("popularity_"):
            continue
        protocol = name.split("_", 1)[0]
        if name in ("rmse", "mae"):
            rows.append((f"{name} ({n_pairs:,} pairs)", value))
            if name == "rmse" and "global_mean_rmse" in scores:
                rows.append(("  baseline: rmse of predicting the mean", scores["global_mean_rmse"]))
        elif name == "global_mean_rmse":
            continue
        elif protocol in PROTOCOL_WORDS:
            users = int(scores.get(f"{protocol}_users", 0))
            shown = (
                f" ({users:,} users, {PROTOCOL_WORDS[protocol]})"
                if users
                else f" ({PROTOCOL_WORDS[protocol]})"
            )
            rows.append((name + shown, value))
            if f"popularity_{name}" in scores:
                rows.append(("  baseline: popularity", scores[f"popularity_{name}"]))
        else:
            rows.append((name, value))
    return rows
