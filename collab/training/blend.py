"""Blends: several trained models' predictions combined with weights fitted on held-out ratings.

Different models make different mistakes (the autoencoder reads an item from who rated it how, the dot
model learns free vectors), so a weighted sum usually beats each of them. The weights must not be fitted on
the ratings being scored: `train_blend` holds out a share of the *training* ratings, trains every
member on the rest, fits intercept + weights by least squares on the held-out predictions, then
retrains every member on all the training ratings and keeps the weights.
"""

from __future__ import annotations

import math
import queue
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from collab.data.ratings import Ratings
from collab.evaluate import metrics
from collab.training.bayes_fm import predict_set
from collab.training.config import MODEL_LABELS, PRESETS, TrainConfig
from collab.training.loop import train
from collab.training.result import TrainResult

# the most accurate recipe measured on MovieLens 100K u1: the Bayesian factorization machine (2 chains x
# 128 sweeps, rank 10) and the autoencoder (500 hidden units, 10 rounds): 0.8842 in 19.5 s on 2 cores,
# against 0.8856 in 26.4 s for myFM's timeSVD++ flipped, 512 samples, in the same run (benchmarks/accuracy.py
# --anchor; 15 rounds: 0.8837 in 26.6 s)
BEST_BLEND: tuple[TrainConfig, ...] = (
    replace(PRESETS["bfm"], epochs=128),
    replace(PRESETS["autorec"], epochs=10),
)


@dataclass(frozen=True)
class BlendResult:
    """Members trained on all the training ratings, the blend's weights and its validation metrics."""

    members: tuple[TrainResult, ...]
    intercept: float
    weights: tuple[float, ...]  # one per member
    rating_range: tuple[float, float]  # predictions are clipped to the training ratings' range
    holdout_rmse: float  # the blend on the held-out training ratings the weights were fitted on
    metrics: dict[str, float]  # the blend on the validation set: rmse, mae (each member has its own)
    seconds: float

    def predict_ids(self, user_ids: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
        """Blended ratings for integer ids, (n,) float64."""
        return _combine(
            [m.predict_ids(user_ids, item_ids) for m in self.members],
            self.intercept,
            self.weights,
            self.rating_range,
        )

    def predict(self, user_labels: Sequence[Any], item_labels: Sequence[Any]) -> np.ndarray:
        """Blended ratings for original labels (unknown labels raise UnknownLabelError)."""
        first = self.members[0]
        return self.predict_ids(first._index("user", user_labels), first._index("item", item_labels))

    def describe(self) -> str:
        """One line: the intercept and the weight of each member."""
        parts = [
            f"{w:+.3f} x {MODEL_LABELS[m.config.model]}"
            for w, m in zip(self.weights, self.members, strict=True)
        ]
        return f"intercept {self.intercept:+.3f}, " + ", ".join(parts)


def _combine(
    predictions: Sequence[np.ndarray], intercept: float, weights: Sequence[float], bounds: tuple[float, float]
) -> np.ndarray:
    stacked = np.stack([np.asarray(p, dtype=np.float64) for p in predictions], axis=1)  # (n, members)
    return np.clip(intercept + stacked @ np.asarray(weights, dtype=np.float64), *bounds)


def fit_weights(predictions: Sequence[np.ndarray], truth: np.ndarray) -> tuple[float, tuple[float, ...]]:
    """Least-squares intercept and weights for predicting `truth` from the members' predictions."""
    design = np.column_stack([np.ones(len(truth)), *[np.asarray(p, dtype=np.float64) for p in predictions]])
    solution, *_ = np.linalg.lstsq(design, np.asarray(truth, dtype=np.float64), rcond=None)
    return float(solution[0]), tuple(float(w) for w in solution[1:])


MIN_HOLDOUT_PER_WEIGHT = 10  # held-out ratings per fitted number (the intercept and each weight)


SAMPLER_MODELS = frozenset({"bfm"})  # trained without PyTorch's random generator (collab.training.bayes_fm)
Job = tuple[str, int, TrainConfig, Callable[[], TrainResult]]  # (stage, index, config, run)


def _run_jobs(jobs: list[Job], parallel: bool, finished: Callable[[str, int, TrainResult], None]) -> None:
    """Run each job and hand its result to `finished(stage, index, result)` on this thread, as it ends.

    In parallel, two lanes run side by side: the Gibbs sampler's trainings (numba, its own random state
    per chain) and the rest (PyTorch), each lane one training at a time. PyTorch trainings never run two at
    once, because they seed and restore PyTorch's process-wide random generator (`train`'s fork_rng): two
    at once would draw each other's numbers. While both lanes run, PyTorch uses one intra-op thread."""
    lanes = [
        [j for j in jobs if j[2].model in SAMPLER_MODELS],
        [j for j in jobs if j[2].model not in SAMPLER_MODELS],
    ]
    if not parallel or not all(lanes):
        for stage, index, _, run in jobs:
            finished(stage, index, run())
        return
    results: queue.Queue[tuple[str, int, TrainResult] | BaseException] = queue.Queue()

    def run_lane(lane: list[Job]) -> None:
        try:
            for stage, index, _, run in lane:
                results.put((stage, index, run()))
        except BaseException as error:  # handed to the caller's thread, raised there
            results.put(error)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(len(lanes)) as pool:
            for lane in lanes:
                pool.submit(run_lane, lane)
            for _ in jobs:
                item = results.get()
                if isinstance(item, BaseException):
                    raise item
                finished(*item)
    finally:
        torch.set_num_threads(threads)


def min_train_ratings(n_members: int, holdout_pct: float = 0.1) -> int:
    """The fewest training ratings a blend of `n_members` can fit its weights on: its holdout
    (`holdout_pct` of them) must hold `MIN_HOLDOUT_PER_WEIGHT` ratings per fitted number."""
    return math.ceil(MIN_HOLDOUT_PER_WEIGHT * (n_members + 1) / holdout_pct)


def train_blend(
    train_set: Ratings,
    valid_set: Ratings | None,
    configs: Sequence[TrainConfig],
    holdout_pct: float = 0.1,
    seed: int = 0,
    on_member: Callable[[str, int, TrainResult], None] | None = None,
    train_full: Callable[[TrainConfig], TrainResult] | None = None,
    train_holdout: Callable[[Ratings, TrainConfig], TrainResult] | None = None,
    parallel: bool | None = None,
) -> BlendResult:
    """Train each config twice (on 1 - holdout_pct of `train_set`, then on all of it) and blend.

    Raises ValueError when the holdout has fewer than `MIN_HOLDOUT_PER_WEIGHT` ratings per fitted number.

    `on_member(stage, index, result)` runs after each training ("holdout" or "full"). `train_full(config)`
    replaces the second training (the app passes its model cache, so a model trained before is reused);
    it must train on `train_set` and score `valid_set`. `train_holdout(fit_part, config)` replaces the
    first: it must train on `fit_part` with no validation set (the app runs it on its training pool).

    `parallel` (default: True unless `train_full` or `train_holdout` is given): the trainings are
    independent, so the Gibbs sampler's (`SAMPLER_MODELS`) run beside the PyTorch ones, with PyTorch's
    intra-op threads set to one meanwhile (restored after; the setting is process-wide). On two cores this
    is faster than one training at a time, and it stays fast when another process takes a core: PyTorch's
    threads wait for each other at every operation, so a two-thread autoencoder training ran 7.5x slower
    with one core busy (measured), one thread does not. Peak memory is that of two trainings. `on_member`
    then runs as each training ends, in that order (on this thread). The same seeds give the same blend."""
    if len(configs) < 1:
        raise ValueError("a blend needs at least one model config")
    started = time.perf_counter()
    split = train_set.split(valid_pct=holdout_pct, seed=seed)
    fit_part, holdout = split.train, split.valid
    needed = MIN_HOLDOUT_PER_WEIGHT * (len(configs) + 1)
    if holdout.n_ratings < needed:  # least squares on a handful of ratings fits noise (blend RMSE 10 vs 5)
        raise ValueError(
            f"too few training ratings to blend {len(configs)} models: the weights are fitted on "
            f"{holdout_pct:.0%} of them, here {holdout.n_ratings:,} ratings, and {len(configs) + 1} numbers need "
            f"at least {needed:,} (about {min_train_ratings(len(configs), holdout_pct):,} training ratings). "
            "Use the best model alone, or more data."
        )
    if parallel is None:
        parallel = train_full is None and train_holdout is None
    holdout_runs: list[Callable[[], TrainResult]] = [
        (lambda c=config: train(fit_part, None, c))
        if train_holdout is None
        else (lambda c=config: train_holdout(fit_part, c))
        for config in configs
    ]
    full_runs: list[Callable[[], TrainResult]] = [
        (lambda c=config: train(train_set, valid_set, c))
        if train_full is None
        else (lambda c=config: train_full(c))
        for config in configs
    ]
    jobs: list[Job] = [("holdout", i, configs[i], run) for i, run in enumerate(holdout_runs)] + [
        ("full", i, configs[i], run) for i, run in enumerate(full_runs)
    ]
    held_out: dict[int, np.ndarray] = {}
    full: dict[int, TrainResult] = {}

    def finished(stage: str, index: int, result: TrainResult) -> None:
        if stage == "holdout":  # only its predictions are kept: the model is let go at once
            held_out[index] = predict_set(result.model, holdout)  # on each rating's day, for models with days
        else:
            full[index] = result
        if on_member is not None:
            on_member(stage, index, result)

    _run_jobs(jobs, parallel, finished)
    held = [held_out[i] for i in range(len(configs))]
    intercept, weights = fit_weights(held, holdout.ratings)
    bounds = (float(np.min(train_set.ratings)), float(np.max(train_set.ratings)))
    holdout_rmse = metrics.rmse(_combine(held, intercept, weights, bounds), holdout.ratings)
    members = [full[i] for i in range(len(configs))]
    scores: dict[str, float] = {"rmse": float("nan"), "mae": float("nan")}
    if valid_set is not None and valid_set.n_ratings:
        predicted = _combine(
            [predict_set(m.model, valid_set) for m in members],
            intercept,
            weights,
            bounds,
        )
        scores = {
            "rmse": metrics.rmse(predicted, valid_set.ratings),
            "mae": metrics.mae(predicted, valid_set.ratings),
        }
    return BlendResult(
        members=tuple(members),
        intercept=intercept,
        weights=weights,
        rating_range=bounds,
        holdout_rmse=holdout_rmse,
        metrics=scores,
        seconds=time.perf_counter() - started,
    )
