"""Scoring a saved model on a ratings file it did not necessarily come from: first check that the two
belong together (fingerprint, then label overlap), then score the pairs they share under named protocols."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from collab.data.guards import as_text
from collab.evaluate import metrics
from collab.training.scoring import evaluate_result, on_model_vocabulary

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
    """Put `data` on `result`'s vocabulary by label and say whether the two belong together.

    In order: the fingerprint (the model's own training file: scored, with a warning that this measures
    fit); then label overlap (under half of the file's users, items or ratings known: another dataset);
    then, for labels that do overlap, whether they mean the same people and things: a model whose RMSE
    on the known pairs is worse than predicting their mean and over `MISMATCH_RMSE_RATIO` times its own
    validation RMSE has ids that merely coincide with this file's (another dataset numbered alike)."""
    users = _lookup(result.user_labels, data.user_labels)  # (data.n_users,) model index or -1
    items = _lookup(result.item_labels, data.item_labels)
    present_users = np.unique(data.user_ids)
    present_items = np.unique(data.item_ids)
    known_users = (int((users[present_users] >= 0).sum()), len(present_users))
    known_items = (int((items[present_items] >= 0).sum()), len(present_items))
    on_model, n_unknown = on_model_vocabulary(result, data)
    on_model = replace(on_model, titles=None, genres=None)
    n_known = on_model.n_ratings
    trained_on = getattr(result, "dataset", "")
    trained_on_it = bool(trained_on) and trained_on == data.fingerprint
    refusal = None
    warnings: list[str] = []
    if not trained_on_it:
        for kind, (n_in, n_all) in (("users", known_users), ("items", known_items)):
            if n_all and n_in < MIN_KNOWN_SHARE * n_all:
                refusal = (
                    f"the model knows only {n_in:,} of the {n_all:,} {kind} in '{data.name}' "
                    f"({n_in / n_all:.0%}): it was trained on another dataset"
                    + (
                        f" (fingerprint {trained_on[:12]}, this file {data.fingerprint[:12]})"
                        if trained_on
                        else ""
                    )
                )
                break
        if refusal is None and data.n_ratings and n_known < MIN_KNOWN_SHARE * data.n_ratings:
            refusal = (
                f"only {n_known:,} of the {data.n_ratings:,} ratings in '{data.name}' have a user and "
                "an item the model knows: it was trained on another dataset"
            )
        if refusal is None and n_known:
            refusal, warning = _coinciding_ids(result, on_model, data.name)
            warnings += [warning] if warning else []
    if trained_on_it:
        warnings.append(
            f"the model is scored on the data it was trained on ('{data.name}' has its training data's "
            f"fingerprint {trained_on[:12]}): these numbers measure fit, not prediction; score held-out ratings"
        )
    return ModelDataCheck(
        on_model, n_unknown, known_users, known_items, trained_on_it, refusal, tuple(warnings)
    )


# a model this many times worse on a file than on its own validation set (and worse than a constant)
# is scoring another dataset's ratings under coinciding ids; a held-out file of the same data lands
# near 1 (ML-100K u1.test: 1.00), the same ids shuffled over other people near 1.3
MISMATCH_RMSE_RATIO = 1.2


def _coinciding_ids(result: TrainResult, on_model: Ratings, name: str) -> tuple[str | None, str | None]:
    """(refusal, warning) for a file whose labels the model knows but whose ratings it cannot predict."""
    predicted = np.asarray(result.predict_ids(on_model.user_ids, on_model.item_ids), dtype=np.float64)
    rmse = metrics.rmse(predicted, on_model.ratings)
    constant = metrics.rmse(np.full_like(predicted, float(np.mean(on_model.ratings))), on_model.ratings)
    own = float(result.metrics.get("rmse", float("nan")))
    far = bool(np.isfinite(own) and rmse > MISMATCH_RMSE_RATIO * own)
    if not rmse > constant:
        if not far:
            return None, None
        return None, (
            f"on the {on_model.n_ratings:,} pairs of '{name}' it knows, the model's RMSE ({rmse:.3f}) is "
            f"{rmse / own:.2f}x its own validation RMSE ({own:.3f}): if these users or items are other "
            "people and things under the same ids (another dataset), these numbers mean little"
        )
    if far:
        return (
            f"its labels match '{name}' but its ratings do not: on the {on_model.n_ratings:,} pairs it knows, "
            f"its RMSE is {rmse:.3f}, worse than predicting their mean ({constant:.3f}) and "
            f"{rmse / own:.2f}x its own validation RMSE ({own:.3f}); the ids coincide with another dataset's "
            "(same numbers, other people and items)"
        ), None
    return None, (
        f"on the {on_model.n_ratings:,} pairs of '{name}' it knows, the model's RMSE ({rmse:.3f}) is worse than "
        f"predicting their mean ({constant:.3f}): if this file is from another dataset whose ids merely "
        "coincide, these numbers mean nothing"
    )


def score(result: TrainResult, valid: Ratings, train: Ratings | None = None, k: int = 10) -> dict[str, float]:
    """`collab.training.scoring.evaluate_result`: RMSE and MAE beside predicting the mean (`train`'s, else
    `valid`'s own), the "rated" ranking metrics and, given `train`, the catalogue ones beside popularity;
    both on any vocabulary (matched to the model by label)."""
    out = evaluate_result(result, valid, train, k)
    out.pop("n_scored", None)
    out.pop("n_unknown", None)
    return out


def _lookup(known: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each label's index in `known`, or -1."""
    return pd.Index(as_text(known)).get_indexer(as_text(labels))


PROTOCOL_WORDS = {"catalogue": "all unseen items ranked", "rated": "held-out items only re-ranked"}


def labelled_metrics(scores: dict[str, float], n_pairs: int) -> list[tuple[str, float]]:
    """(label, value) rows for a table: each metric named with its protocol and what it scored, its baseline below it.

    Plain `ndcg@10`, ... are the catalogue protocol ("all unseen items ranked"), `rated_*` the held-out
    re-ranking; `*_users` and `popularity_*` are shown in the rows they qualify."""
    rows: list[tuple[str, float]] = []
    for name, value in scores.items():
        if name.endswith("_users") or name.startswith("popularity_") or name == "global_mean_rmse":
            continue
        if name in ("rmse", "mae"):
            rows.append((f"{name} ({n_pairs:,} pairs)", value))
            if name == "rmse" and "global_mean_rmse" in scores:
                rows.append(("  baseline: rmse of predicting the mean", scores["global_mean_rmse"]))
            continue
        if "@" not in name:
            rows.append((name, value))
            continue
        protocol = "rated" if name.startswith("rated_") else "catalogue"
        users = int(scores.get("rated_users" if protocol == "rated" else "ranked_users", 0))
        shown = (
            f" ({users:,} users, {PROTOCOL_WORDS[protocol]})" if users else f" ({PROTOCOL_WORDS[protocol]})"
        )
        rows.append((name + shown, value))
        if f"popularity_{name}" in scores:
            rows.append(("  baseline: popularity", scores[f"popularity_{name}"]))
    return rows
