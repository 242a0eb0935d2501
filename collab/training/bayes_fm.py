"""Train the Bayesian factorization machine (`TrainConfig(model="bfm")`) by Gibbs sampling.

The features ("timeSVD++ flipped", Rendle, Zhang and Koren 2019) come from the *training* ratings
only: a user's implicit feature is the set of items they rated in `train`, an item's the set of users
who rated it in `train`, and the day slots are the training days; the validation ratings are only
scored. `CHAINS` independent chains of `config.epochs` sweeps run side by side (numba releases the
GIL), `config.n_factors` is the rank. The sampler is `collab.kernels.bayes_fm_numba.gibbs`; the
predictor it fills is `collab.models.bayes_fm.BayesFM`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from collab import kernels
from collab.data.ratings import Ratings
from collab.evaluate import metrics
from collab.models.bayes_fm import CHAINS, DAY_SLOTS, SECONDS_PER_DAY, BayesFM, sample_plan
from collab.training.config import TrainConfig
from collab.training.result import EpochStats, TrainResult

TOP_K = 10
RANKED_CELLS = 20_000_000  # users x items ranked for the catalogue metrics, as `train` ranks
REPORTS = 8  # progress reports (EpochStats) per run
N_GROUPS = 5  # prior groups: user ids, items rated, item ids, users who rated, days


@dataclass(frozen=True)
class Features:
    """The block design of one training set (see `collab.kernels.bayes_fm_numba` for the layout)."""

    row_map: np.ndarray  # (n_blocks, n_ratings) int64: each rating's row in each block
    row_off: np.ndarray  # (n_blocks + 1,) int64
    feat_off: np.ndarray  # (n_blocks + 1,) int64
    csr: tuple[np.ndarray, np.ndarray, np.ndarray]  # row_ptr, feature, value
    csc: tuple[np.ndarray, np.ndarray, np.ndarray]  # col_ptr, row, value
    groups: np.ndarray  # (n_features,) int64 prior group of each feature
    day_starts: np.ndarray  # (DAY_SLOTS,) int64 first day of each slot (int64 max: unused)
    n_slots: int  # 0 without timestamps


def day_starts_of(timestamps: np.ndarray) -> np.ndarray:
    """Slot starts (days since 1970, UTC), (DAY_SLOTS,) int64: one slot per training day, or equal-count
    bins of the rating days when there are more than DAY_SLOTS days; unused slots hold int64 max."""
    days = np.asarray(timestamps, dtype=np.int64) // SECONDS_PER_DAY
    unique = np.unique(days)
    if len(unique) > DAY_SLOTS:
        quantiles = np.quantile(days, np.linspace(0, 1, DAY_SLOTS, endpoint=False), method="lower")
        unique = np.unique(quantiles.astype(np.int64))
    starts = np.full(DAY_SLOTS, np.iinfo(np.int64).max, dtype=np.int64)
    starts[: len(unique)] = unique
    return starts


def build_features(train: Ratings, use_days: bool = True) -> Features:
    """The user block [one-hot | items rated / sqrt(count)], the item block [one-hot | users who rated /
    sqrt(count)] and, with timestamps, the day block, all from `train` alone."""
    n_u, n_i, n = train.n_users, train.n_items, train.n_ratings
    users, items = train.user_ids.astype(np.int64), train.item_ids.astype(np.int64)
    per_user = np.bincount(users, minlength=n_u)
    per_item = np.bincount(items, minlength=n_i)
    blocks = [  # (rows, features, row index, feature index, value, groups)
        (n_u, n_u + n_i, np.r_[np.arange(n_u), users], np.r_[np.arange(n_u), n_u + items],
         np.r_[np.ones(n_u), 1 / np.sqrt(per_user[users])], np.r_[np.zeros(n_u), np.ones(n_i)]),
        (n_i, n_i + n_u, np.r_[np.arange(n_i), items], np.r_[np.arange(n_i), n_i + users],
         np.r_[np.ones(n_i), 1 / np.sqrt(per_item[items])], np.r_[np.full(n_i, 2), np.full(n_u, 3)]),
    ]  # fmt: skip
    maps = [users, items]
    starts = np.full(DAY_SLOTS, np.iinfo(np.int64).max, dtype=np.int64)
    n_slots = 0
    if use_days and train.timestamps is not None and n:
        starts = day_starts_of(train.timestamps)
        n_slots = DAY_SLOTS
        slot = np.searchsorted(starts, train.timestamps // SECONDS_PER_DAY, side="right") - 1
        eye = np.arange(DAY_SLOTS)
        blocks.append((DAY_SLOTS, DAY_SLOTS, eye, eye, np.ones(DAY_SLOTS), np.full(DAY_SLOTS, 4)))
        maps.append(slot.astype(np.int64))
    row_off = np.r_[0, np.cumsum([b[0] for b in blocks])].astype(np.int64)
    feat_off = np.r_[0, np.cumsum([b[1] for b in blocks])].astype(np.int64)
    rows = np.concatenate([b[2] + row_off[k] for k, b in enumerate(blocks)]).astype(np.int64)
    cols = np.concatenate([b[3] + feat_off[k] for k, b in enumerate(blocks)]).astype(np.int64)
    vals = np.concatenate([b[4] for b in blocks]).astype(np.float64)
    by_row = np.lexsort((cols, rows))
    by_col = np.lexsort((rows, cols))
    row_ptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=row_off[-1]))].astype(np.int64)
    col_ptr = np.r_[0, np.cumsum(np.bincount(cols, minlength=feat_off[-1]))].astype(np.int64)
    return Features(
        row_map=np.ascontiguousarray(np.stack([m + row_off[b] for b, m in enumerate(maps)]), dtype=np.int64),
        row_off=row_off,
        feat_off=feat_off,
        csr=(row_ptr, cols[by_row], vals[by_row]),
        csc=(col_ptr, rows[by_col], vals[by_col]),
        groups=np.concatenate([b[5] for b in blocks]).astype(np.int64),
        day_starts=starts,
        n_slots=n_slots,
    )


class _Chain:
    """One Gibbs chain's state and its running sums."""

    def __init__(
        self,
        features: Features,
        rank: int,
        y: np.ndarray,
        seed: int,
        plan: tuple[int, int, int],
        extra_rows: np.ndarray,
    ) -> None:
        rng = np.random.default_rng(seed)
        n_feat, n_rows = int(features.feat_off[-1]), int(features.row_off[-1])
        self.seed = seed
        self.w0 = np.array([float(np.mean(y))])
        self.w = np.zeros(n_feat)
        self.v = rng.normal(0.0, 0.1, (n_feat, rank))  # libFM's and myFM's initial spread
        self.burn, self.thin, n_kept = plan
        self.bias_sum = np.zeros(n_rows + 1)
        self.kept = np.zeros((n_kept, n_rows, rank), dtype=np.float32)
        self.n_kept = 0
        self.done = 0
        self.fit_sum = np.zeros(len(y))  # the training ratings' predictions, summed over samples
        self.extra_sum = np.zeros(extra_rows.shape[1])  # the same for the validation ratings
        self.extra_rows = extra_rows

    def run(self, gibbs: Callable[..., int], features: Features, y: np.ndarray, sweeps: int) -> None:
        f = features
        self.n_kept = gibbs(
            sweeps, self.done, self.burn, self.thin, self.seed * 7919 + self.done, y,
            f.row_map, f.row_off, f.feat_off, *f.csr, *f.csc, f.groups, N_GROUPS,
            self.w0, self.w, self.v, self.bias_sum, self.kept, self.n_kept,
            self.fit_sum, self.extra_rows, self.extra_sum,
        )  # fmt: skip
        self.done += sweeps

    @property
    def n_averaged(self) -> int:
        return max(0, self.done - self.burn)


def extra_rows_of(features: Features, ratings: Ratings | None) -> np.ndarray:
    """Each rating's row in each block of `features` (the training design), (n_blocks, n) int64: user and
    item by id, the day by its slot; -1 where it has no day slot (before the first training day, or no
    timestamps)."""
    n_blocks = features.row_map.shape[0]
    if ratings is None or ratings.n_ratings == 0:
        return np.zeros((n_blocks, 0), dtype=np.int64)
    rows = [
        features.row_off[0] + ratings.user_ids.astype(np.int64),
        features.row_off[1] + ratings.item_ids.astype(np.int64),
    ]
    if n_blocks > 2:
        slot = np.full(ratings.n_ratings, -1, dtype=np.int64)
        if ratings.timestamps is not None:
            days = np.asarray(ratings.timestamps, dtype=np.int64) // SECONDS_PER_DAY
            slot = np.searchsorted(features.day_starts, days, side="right") - 1
        rows.append(np.where(slot >= 0, features.row_off[2] + slot, -1))
    return np.ascontiguousarray(np.stack(rows), dtype=np.int64)


def _running_rmse(chains: list[_Chain], sums: str, truth: np.ndarray, bounds: tuple[float, float]) -> float:
    """RMSE of the chains' running posterior-mean predictions (`sums`: "fit_sum" or "extra_sum"), clipped
    to the rating range as the model's are."""
    mean = np.mean([getattr(c, sums) / c.n_averaged for c in chains], axis=0)
    return metrics.rmse(np.clip(mean, *bounds), truth)


def _fill(model: BayesFM, chains: list[_Chain], features: Features, n_u: int, n_i: int) -> None:
    """Put the chains' posterior means into `model` (chains with no sample yet are left out)."""
    ready = [c for c in chains if c.n_averaged > 0 and c.n_kept > 0]
    if not ready:
        return
    bias = np.mean([c.bias_sum / c.n_averaged for c in ready], axis=0)
    samples = sum(c.n_kept for c in ready)
    n_rows, rank = ready[0].kept.shape[1:]
    padded = np.zeros((n_rows, model.user_factors.shape[1]), dtype=np.float32)  # samples side by side
    column = 0
    for chain in ready:  # written in place: no stacked or transposed copy of the samples
        for k in range(chain.n_kept):
            np.multiply(chain.kept[k], 1 / math.sqrt(samples), out=padded[:, column : column + rank])
            column += rank
    u0, i0 = int(features.row_off[0]), int(features.row_off[1])
    with torch.no_grad():
        model.global_bias.fill_(float(bias[-1]))
        model.user_bias.copy_(torch.from_numpy(bias[u0 : u0 + n_u]))
        model.item_bias.copy_(torch.from_numpy(bias[i0 : i0 + n_i]))
        model.user_factors.copy_(torch.from_numpy(padded[u0 : u0 + n_u]))
        model.item_factors.copy_(torch.from_numpy(padded[i0 : i0 + n_i]))
        model.day_starts.copy_(torch.from_numpy(features.day_starts))
        if features.n_slots:
            d0 = int(features.row_off[2])
            day_bias = bias[d0 : d0 + DAY_SLOTS]
            day_factors = padded[d0 : d0 + DAY_SLOTS]
            share = np.bincount(features.row_map[2] - d0, minlength=DAY_SLOTS) / features.row_map.shape[1]
            model.day_bias.copy_(torch.from_numpy(day_bias))
            model.day_factors.copy_(torch.from_numpy(day_factors))
            model.mean_day_bias.fill_(float(share @ day_bias))
            model.mean_day_factors.copy_(torch.from_numpy((share @ day_factors).astype(np.float32)))


def predict_set(model: torch.nn.Module, ratings: Ratings) -> np.ndarray:
    """Predicted ratings for every row of `ratings`, (n,) float32: on the rating's day when the model
    has days and the rows have timestamps, else the model's plain forward."""
    users = torch.as_tensor(ratings.user_ids, dtype=torch.int64)
    items = torch.as_tensor(ratings.item_ids, dtype=torch.int64)
    with torch.no_grad():
        if isinstance(model, BayesFM) and ratings.timestamps is not None:
            return model.predict_at(users, items, ratings.timestamps).numpy()
        return model(users, items).float().numpy()


def _scores(model: BayesFM, train_mean: float, train: Ratings, valid: Ratings | None) -> dict[str, float]:
    """The same metrics `train` reports (RMSE on each rating's day; both ranking protocols beside
    popularity, `collab.training.scoring`)."""
    from collab.training.scoring import catalogue_metrics, rated_metrics

    if valid is None:
        return {}
    if valid.n_ratings == 0:
        return {"rmse": math.nan, "mae": math.nan, "valid_loss": math.nan, "global_mean_rmse": math.nan}
    predicted, truth = predict_set(model, valid), valid.ratings.astype(np.float32)
    rmse = metrics.rmse(predicted, truth)
    threshold = metrics.relevant_threshold(train.ratings)

    def predict_ids(user_ids: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
        with torch.no_grad():  # ranking has no day: the model's day-averaged prediction
            return model(torch.as_tensor(user_ids), torch.as_tensor(item_ids)).float().numpy()

    return {
        "rmse": rmse,
        "mae": metrics.mae(predicted, truth),
        "valid_loss": rmse**2,
        "global_mean_rmse": metrics.rmse(np.full_like(truth, train_mean), truth),
        **catalogue_metrics(
            predict_ids,
            train.n_items,
            train,
            valid,
            TOP_K,
            threshold,
            RANKED_CELLS,
            score_users=lambda users: model.score_users(torch.as_tensor(users)).numpy(),
        ),  # fmt: skip
        **rated_metrics(predicted, train, valid, TOP_K, threshold),
    }


def train_bayes_fm(
    train: Ratings,
    valid: Ratings | None,
    config: TrainConfig,
    on_epoch: Callable[[EpochStats], bool | None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    stop_event: threading.Event | None = None,
) -> TrainResult:
    """Sample `CHAINS` chains of `config.epochs` sweeps at rank `config.n_factors`; score `valid`.

    Progress: `REPORTS` EpochStats over the run (epoch = sweeps done so far, epochs = sweeps), each with
    the posterior mean so far on the training and validation ratings: over every sample after burn-in
    (kept by the sampler, a validation rating with no training day slot without day terms), and at the
    last report from the predictor, as the metrics are; `on_epoch` returning False or
    `stop_event` stops after the current report (the samples so far are kept). Raises
    `kernels.KernelsUnavailable` where numba cannot load (the sampler has no PyTorch path)."""
    started = time.perf_counter()
    gibbs = kernels.implicit_kernel("bayes_fm_gibbs")
    features = build_features(train)
    y = train.ratings.astype(np.float64)
    low, high = float(np.min(train.ratings)), float(np.max(train.ratings))
    y_range = config.y_range or (low, high)
    model = BayesFM(train.n_users, train.n_items, config.n_factors, config.epochs, y_range)
    seeds = np.random.SeedSequence(config.seed).generate_state(CHAINS)
    plan = sample_plan(config.epochs, train.n_users + train.n_items, config.n_factors)
    extra = extra_rows_of(features, valid)
    chains = [_Chain(features, config.n_factors, y, int(s) % 2**31, plan, extra) for s in seeds]
    bounds = (float(y_range[0]), float(y_range[1]))
    burn, thin, _ = plan
    step = thin * max(1, math.ceil(config.epochs / REPORTS / thin))
    train_mean = float(np.mean(y))
    history: list[EpochStats] = []
    stopped = False
    with ThreadPoolExecutor(CHAINS) as pool:
        while chains[0].done < config.epochs:
            tick = time.perf_counter()
            sweeps = min(step, config.epochs - chains[0].done)
            list(pool.map(lambda c, s=sweeps: c.run(gibbs, features, y, s), chains))
            train_rmse = valid_rmse = math.nan
            if chains[0].n_averaged and chains[0].done < config.epochs:  # the running posterior means
                train_rmse = _running_rmse(chains, "fit_sum", train.ratings, bounds)
                if valid is not None and valid.n_ratings:
                    valid_rmse = _running_rmse(chains, "extra_sum", valid.ratings, bounds)
            elif chains[0].n_averaged:  # the last report: the predictor itself, as the metrics are
                _fill(model, chains, features, train.n_users, train.n_items)
                train_rmse = metrics.rmse(predict_set(model, train), train.ratings)
                if valid is not None and valid.n_ratings:
                    valid_rmse = metrics.rmse(predict_set(model, valid), valid.ratings)
            seconds = time.perf_counter() - tick
            stats = EpochStats(
                chains[0].done, config.epochs, train_rmse**2, valid_rmse**2, valid_rmse, seconds,
                train.n_ratings * sweeps * CHAINS / max(seconds, 1e-9),
            )  # fmt: skip
            history.append(stats)
            if on_batch is not None:
                on_batch(chains[0].done, config.epochs)
            if (on_epoch is not None and on_epoch(stats) is False) or (
                stop_event is not None and stop_event.is_set()
            ):
                stopped = chains[0].done < config.epochs
                break
    if stopped:
        _fill(model, chains, features, train.n_users, train.n_items)
    model.eval()
    notes: list[str] = []
    if features.n_slots == 0:
        notes.append("No timestamps: the model has no day features (user and item features only).")
    return TrainResult(
        model=model,
        config=config,
        user_labels=np.asarray(train.user_labels),
        item_labels=np.asarray(train.item_labels),
        y_range=(float(y_range[0]), float(y_range[1])),
        history=tuple(history),
        metrics=_scores(model, train_mean, train, valid),
        seconds=time.perf_counter() - started,
        device="cpu",
        best_epoch=len(history),
        stopped_early=stopped,
        sparse=False,
        optimizer=f"Gibbs sampling, {CHAINS} chains, burn-in {burn} sweeps, factors kept from 1 sample in {thin}",
        notes=tuple(notes),
    )
