"""`train()`: one plain loop over tensors on the device, with exact gradient accumulation.

No DataLoader and no per-sample Python: an epoch is one `randperm` and slices. `accum_steps`
micro-batches make one optimizer step; each micro-batch loss is a *sum* divided by the true number
of ratings in its group, so the update equals one big batch's, the epoch's last partial group included.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from collab import kernels
from collab.data.ratings import Ratings, empty_validation_error
from collab.data.read import read_ratings
from collab.evaluate import metrics
from collab.models.autorec import AutoRec, LbfgsRounds
from collab.models.base import CollabModel
from collab.models.implicit import IMPLICIT_MODELS
from collab.models.registry import build_model
from collab.training.bayes_fm import train_bayes_fm
from collab.training.config import TrainConfig
from collab.training.device import resolve_device, to_tensors, use_sparse
from collab.training.implicit import train_implicit
from collab.training.optim import (
    FlatAdamW,
    Optimizer,
    PackedRowAdamW,
    RowAdamW,
    make_optimizer,
    schedule,
    set_schedule,
)
from collab.training.result import EVAL_CHUNK, EpochStats, TrainResult, predict_tensor
from collab.training.scoring import catalogue_metrics, onto_vocabulary, rated_metrics

if TYPE_CHECKING:
    from collab.training.distributed import GradSync

log = logging.getLogger(__name__)

TOP_K = 10
# users x items scored for train()'s catalogue ranking metrics (about a second on a CPU); past it, the
# first users by index are ranked and `ranked_users` says how many
TRAIN_RANKED_CELLS = 20_000_000


def data_y_range(ratings: np.ndarray) -> tuple[float, float]:
    """The lesson's range: from 0 (or the lowest rating, if negative) to the highest rating plus 0.5.

    A sigmoid only approaches its ends, so the top needs headroom to predict 5 stars; 0-5.5 on
    MovieLens' 1-5 scale also measured slightly better on u1 than 1-5.5.
    """
    return min(0.0, float(np.min(ratings))), float(np.max(ratings)) + 0.5


@torch.no_grad()
def evaluate(
    model: CollabModel, users: torch.Tensor, items: torch.Tensor, ratings: torch.Tensor, amp: bool = False
) -> tuple[float, torch.Tensor]:
    """(mean loss, predicted ratings) over a whole set, in chunks, in eval mode."""
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=ratings.device)
    # filled in place, as in `predict_tensor` (chunk outputs kept in a list pin malloc's freed space)
    predictions = torch.empty(len(users), dtype=torch.float32, device=ratings.device)
    for start in range(0, len(users), EVAL_CHUNK):
        chunk = slice(start, start + EVAL_CHUNK)
        with _autocast(users.device, amp):
            output = model(users[chunk], items[chunk])
        loss_sum += model.loss_sum(output, ratings[chunk])
        predictions[chunk] = model.output_to_ratings(output).float()
    model.train(was_training)
    mean_loss = loss_sum.item() / max(len(users), 1)
    return mean_loss, predictions


def _autocast(device: torch.device, amp: bool) -> Any:
    return torch.autocast(
        device_type=device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda"
    )


def accumulate_group(
    model: CollabModel,
    users: torch.Tensor,
    items: torch.Tensor,
    ratings: torch.Tensor,
    batch_size: int,
    amp: bool = False,
    divisor: int | None = None,
) -> torch.Tensor:
    """Backward over one optimizer step's ratings in micro-batches; returns the summed loss (detached).

    Each micro-batch's summed loss is divided by the group's true size (`divisor`: the whole step's
    size when other processes hold the rest of it), so the accumulated gradient is the gradient of
    the group's mean loss whatever the split.
    """
    group_size = divisor or len(users)
    total = torch.zeros((), device=users.device)
    for start in range(0, group_size, batch_size):
        micro = slice(start, start + batch_size)
        if not amp:
            loss_sum = model.accumulate_gradients(users[micro], items[micro], ratings[micro], group_size)
            if loss_sum is not None:
                total += loss_sum
                continue
        with _autocast(users.device, amp):
            output = model(users[micro], items[micro])
        loss_sum = model.loss_sum(output, ratings[micro])
        penalty = model.penalty_sum(users[micro], items[micro])
        ((loss_sum if penalty is None else loss_sum + penalty) / group_size).backward()
        total += loss_sum.detach()
    return total


def train(
    train: Ratings | pd.DataFrame,
    valid: Ratings | pd.DataFrame | None = None,
    config: TrainConfig | None = None,
    on_epoch: Callable[[EpochStats], bool | None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    stop_event: threading.Event | None = None,
    *,
    progress: bool = False,
) -> TrainResult:
    """Train `config.model` (default: `TrainConfig()`) on `train`, scoring `valid` after every epoch.

    `train` and `valid` may be `Ratings` or pandas DataFrames (columns detected by name as
    `read_ratings` does: userId/user, movieId/item, rating; call `read_ratings(df, user_col=...)`
    for other names). A `valid` with its own vocabulary (a DataFrame, or `Ratings` read from another
    file) is put on `train`'s by user and item label; its rows whose user or item is not in `train`
    are dropped, and the result's `notes` say how many. The two sides of `ratings.split()` already
    share one vocabulary. With `valid=None` nothing
    is scored: the result's `metrics` has no validation metrics (no rmse, mae, valid_loss or
    global_mean_rmse) and its `notes` say so; split first (`ratings.split(valid_pct=0.2)`) to score.
    `on_epoch(stats)` runs after each epoch; returning False stops. `on_batch(step, total_steps)`
    runs about 50 times per epoch. Setting `stop_event` stops within a fiftieth of an epoch (after
    the current optimizer step; on the compiled path, after the current run of steps).
    `progress=True` shows a progress bar (tqdm's notebook widget in Jupyter, text in a terminal)
    with each epoch's losses. After an early stop the model of the best validation epoch is kept.
    """
    config = TrainConfig() if config is None else config
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    notes: list[str] = []
    train, valid = _as_ratings(train, valid, notes, binary=config.model in IMPLICIT_MODELS)
    if valid is None:
        notes.append(
            "No validation set (valid=None): nothing was scored, so metrics has no rmse, mae or "
            "baseline. To score the model, split first: train_set, valid_set = "
            "read_ratings(df).split(valid_pct=0.2), then train(train_set, valid_set)."
        )
    if progress:
        with _ProgressBar(config) as bar:
            result = train_impl(
                train, valid, config, bar.chain_epoch(on_epoch), bar.chain_batch(on_batch), stop_event
            )
    else:
        result = train_impl(train, valid, config, on_epoch, on_batch, stop_event)
    return replace(result, notes=(*notes, *result.notes)) if notes else result


def _as_ratings(
    train: Ratings | pd.DataFrame,
    valid: Ratings | pd.DataFrame | None,
    notes: list[str],
    binary: bool = False,
) -> tuple[Ratings, Ratings | None]:
    """DataFrames read as `read_ratings` does (`binary`: as interactions, `implicit="binary"`); a `valid`
    with its own vocabulary (a DataFrame, or `Ratings` read separately) mapped onto `train`'s by labels,
    its unseen users/items dropped and noted."""
    implicit = "binary" if binary else None
    if isinstance(train, pd.DataFrame):
        train = read_ratings(train, name="train", implicit=implicit)
    if not isinstance(train, Ratings):
        raise TypeError(f"train must be Ratings or a pandas DataFrame, got {type(train).__name__}")
    if isinstance(valid, pd.DataFrame):
        valid = _onto_vocabulary(train, read_ratings(valid, name="valid", implicit=implicit), notes)
    elif isinstance(valid, Ratings):
        valid = _onto_vocabulary(train, valid, notes)
    elif valid is not None:
        raise TypeError(f"valid must be Ratings, a pandas DataFrame or None, got {type(valid).__name__}")
    return train, valid


def on_train_vocabulary(train: Ratings, valid: Ratings) -> tuple[Ratings, tuple[str, ...]]:
    """`valid` on `train`'s vocabulary (renumbered by label unless already shared) and the notes
    saying how many of its ratings were left out for an unseen user or item."""
    notes: list[str] = []
    return _onto_vocabulary(train, valid, notes), tuple(notes)


def _onto_vocabulary(train: Ratings, read: Ratings, notes: list[str]) -> Ratings:
    """`read`'s ratings renumbered by label onto `train`'s users and items (`scoring.onto_vocabulary`);
    rows that `train` has no index for are dropped and counted in `notes` (two separately read files
    number their ids apart)."""
    mapped, n_left_out = onto_vocabulary(train.user_labels, train.item_labels, read)
    if n_left_out:
        notes.append(
            f"{n_left_out:,} of {read.n_ratings:,} validation ratings were left out: their "
            "user or item has no rating in the training set, so no model could know them."
        )
    if mapped is read:
        return read
    return replace(mapped, titles=train.titles, genres=train.genres, name="valid")


class _ProgressBar:
    """A tqdm bar over optimizer steps (tqdm.auto: a widget in Jupyter, text elsewhere)."""

    def __init__(self, config: TrainConfig) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=None, desc=f"training {config.model}", unit="step", leave=True)
        self.epochs = config.epochs

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()

    def chain_batch(self, on_batch: Callable[[int, int], None] | None) -> Callable[[int, int], None]:
        def update(step: int, total: int) -> None:
            if self.bar.total != total:
                self.bar.total = total
            self.bar.update(step - self.bar.n)
            if on_batch is not None:
                on_batch(step, total)

        return update

    def chain_epoch(
        self, on_epoch: Callable[[EpochStats], bool | None] | None
    ) -> Callable[[EpochStats], bool | None]:
        def update(stats: EpochStats) -> bool | None:
            shown = {"epoch": f"{stats.epoch}/{stats.epochs}", "train_loss": f"{stats.train_loss:.4f}"}
            if not math.isnan(stats.valid_rmse):
                shown["valid_rmse"] = f"{stats.valid_rmse:.4f}"
            self.bar.set_postfix(shown)
            return None if on_epoch is None else on_epoch(stats)

        return update


def train_impl(
    train: Ratings,
    valid: Ratings | None,
    config: TrainConfig,
    on_epoch: Callable[[EpochStats], bool | None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    stop_event: threading.Event | None = None,
    sync: GradSync | None = None,
) -> TrainResult:
    """`train` on `Ratings` and a `TrainConfig`, without the conveniences.

    `sync` (see `collab.training.distributed`): this process is one of several training one model; `train`
    and `valid` are its share, and every step's gradients are combined across the processes.
    """
    if train.n_ratings == 0 and sync is None:
        raise ValueError("the training set has no ratings")
    if valid is not None and valid.n_ratings == 0 and sync is None:  # valid=None: train without validation
        raise empty_validation_error()
    if config.model in IMPLICIT_MODELS:
        return train_implicit(train, valid, config, on_epoch, on_batch, stop_event, sync)
    if config.model == "bfm":
        if sync is not None:
            raise ValueError("the Bayesian factorization machine samples on one process")
        return train_bayes_fm(train, valid, config, on_epoch, on_batch, stop_event)
    if sync is not None and config.model == "autorec":
        raise ValueError("the autoencoder trains full batch with L-BFGS; train it on one process")
    started = time.perf_counter()
    device = resolve_device(config.device)
    n_users, n_items = train.n_users, train.n_items
    world = sync.world_size if sync is not None else 1
    sparse = use_sparse(config, n_users, n_items, world)
    y_range = config.y_range or data_y_range(train.ratings)
    rating_values = rating_values_of(train.ratings) if config.model == "classifier" else None
    amp = config.amp and device.type == "cuda"

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)  # model init and dropout: same seed, same numbers
        model = build_model(config, n_users, n_items, y_range, rating_values, sparse).to(device)
        model.train()
        n, group = train.n_ratings, config.effective_batch * world
        if sync is not None:
            n, steps_per_epoch = sync.n_total, sync.steps_per_epoch(group)
        else:
            steps_per_epoch = 1 if isinstance(model, AutoRec) else math.ceil(n / group)
        total_steps = steps_per_epoch * config.epochs
        users, items, ratings = to_tensors(train, device)
        optimizer: Optimizer | LbfgsRounds
        notes: list[str] = []
        if isinstance(model, AutoRec):  # full batch: its inputs are the training ratings themselves
            model.set_ratings(users, items, ratings)
            optimizer = LbfgsRounds(model, config.weight_decay)
        else:
            micro_batches = math.ceil(n / config.batch_size) * config.epochs
            compiled = kernels.wanted(micro_batches, sparse)
            if compiled and sync is not None:  # the kernels update weights inside: nowhere to combine grads
                notes.append(
                    "Several processes: trained on the PyTorch path with gradient sync instead of the "
                    "compiled kernels (they update the weights inside one call, with no step to sync)."
                )
                log.info(notes[-1])
                compiled = False
            optimizer = make_optimizer(model, config, sparse, device, compiled, notes)
        valid_tensors = None
        if valid is not None and (valid.n_ratings or sync is not None):  # every process, or none, scores
            valid_tensors = to_tensors(valid, device)
        generator = torch.Generator().manual_seed(config.seed)

        progress = _Progress(total_steps, max(1, steps_per_epoch // 50), on_batch, stop_event, sync)
        track_best = valid_tensors is not None and (on_epoch is not None or stop_event is not None)
        history: list[EpochStats] = []
        best_loss, best_epoch, best_state = math.inf, 0, None
        stopped = False
        step = 0
        for epoch in range(1, config.epochs + 1):
            epoch_start = time.perf_counter()
            if isinstance(optimizer, LbfgsRounds):
                group_losses = [torch.tensor([optimizer.run_round() * n])]
                step, stopped = progress.advance(step, 1)
            else:
                step, stopped, group_losses = _minibatch_epoch(
                    model, optimizer, (users, items, ratings), generator, config, amp, step, progress, sync
                )
            if stopped:
                break
            train_loss = (
                torch.cat([g.reshape(-1) for g in group_losses]).sum().item() / n
                if group_losses
                else math.nan
            )
            if sync is not None:
                loss_sum = sum(g.sum().item() for g in group_losses)
                train_loss = sync.sum([loss_sum])[0] / n
            valid_loss = valid_rmse = math.nan
            if valid_tensors is not None:
                valid_loss, predicted = evaluate(model, *valid_tensors, amp=amp)
                valid_rmse = metrics.rmse(predicted.cpu().numpy(), valid_tensors[2].cpu().numpy())
                if sync is not None:  # sums across processes, not an average of averages
                    count = len(valid_tensors[2])
                    squared = ((predicted.cpu().double() - valid_tensors[2].cpu().double()) ** 2).sum().item()
                    loss_total, squared, count = sync.sum([valid_loss * count, squared, float(count)])
                    valid_loss = loss_total / max(count, 1)
                    valid_rmse = math.sqrt(squared / count) if count else math.nan
            seconds = time.perf_counter() - epoch_start
            stats = EpochStats(epoch, config.epochs, train_loss, valid_loss, valid_rmse, seconds, n / seconds)
            history.append(stats)
            if valid_loss < best_loss:
                best_loss, best_epoch = valid_loss, epoch
                if track_best:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if on_epoch is not None and on_epoch(stats) is False:
                stopped = epoch < config.epochs
                break
        if isinstance(optimizer, FlatAdamW | PackedRowAdamW | kernels.KernelTrainer):
            optimizer.release()
        if stopped and best_state is not None:
            model.load_state_dict(best_state)
        if valid_tensors is None:
            best_epoch = len(history)

    model = model.cpu().eval()
    train_mean = float(np.mean(train.ratings)) if train.n_ratings else math.nan
    final = _final_metrics(model, train_mean, valid, metrics.relevant_threshold(train.ratings), train)
    return TrainResult(
        model=model,
        config=config,
        user_labels=np.asarray(train.user_labels),
        item_labels=np.asarray(train.item_labels),
        y_range=(float(y_range[0]), float(y_range[1])),
        history=tuple(history),
        metrics=final,
        seconds=time.perf_counter() - started,
        device=str(device),
        best_epoch=best_epoch,
        stopped_early=stopped,
        sparse=sparse,
        optimizer=describe_optimizer(optimizer),
        notes=tuple(notes),
    )


def describe_optimizer(optimizer: Optimizer | LbfgsRounds) -> str:
    """A few words naming the optimizer and the code path that ran it."""
    if isinstance(optimizer, LbfgsRounds):
        return "L-BFGS, full batch"
    if isinstance(optimizer, kernels.KernelTrainer):
        if optimizer.dense:
            return "AdamW (compiled)"
        return (
            "row-wise Adam, 1 moment/row (compiled)" if optimizer.one_moment else "row-wise AdamW (compiled)"
        )
    if isinstance(optimizer, PackedRowAdamW):
        return "row-wise Adam, 1 moment/row" if optimizer.state == "rowwise" else "row-wise AdamW (packed)"
    if isinstance(optimizer, RowAdamW):
        return "row-wise AdamW"
    return "fused AdamW" if optimizer.defaults.get("fused") else "AdamW"


def _minibatch_epoch(
    model: CollabModel,
    optimizer: Optimizer,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    generator: torch.Generator,
    config: TrainConfig,
    amp: bool,
    step: int,
    progress: _Progress,
    sync: GradSync | None = None,
) -> tuple[int, bool, list[torch.Tensor]]:
    """One shuffled pass in optimizer steps of `effective_batch` ratings; (step, stopped, step losses)."""
    users = data[0]
    if sync is None:
        n, group = len(users), config.effective_batch
        order = torch.randperm(n, generator=generator)
        bounds = np.append(np.arange(0, n, group, dtype=np.int64), n)  # step s: rows bounds[s]:bounds[s+1]
        divisors = np.diff(bounds)
    else:  # this process's share of every step, and every step's size across the processes
        order, bounds, divisors = sync.epoch_plan(len(users), generator, config.effective_batch)
    order = order.to(users.device)
    epoch_data = tuple(t.index_select(0, order) for t in data)
    group_losses: list[torch.Tensor] = []  # summed at the epoch's end: one op fewer per step
    if isinstance(optimizer, kernels.KernelTrainer):
        step, stopped = _kernel_epoch(optimizer, epoch_data, config, step, progress, group_losses)
    else:
        step, stopped = _torch_epoch(
            model, optimizer, epoch_data, (bounds, divisors), config, amp, step, progress, group_losses, sync
        )
    return step, stopped, group_losses


@dataclass(frozen=True)
class _Progress:
    """Where an epoch reports progress (`on_batch`, every `report_every` steps) and looks for a stop."""

    total_steps: int
    report_every: int
    on_batch: Callable[[int, int], None] | None
    stop_event: threading.Event | None
    sync: GradSync | None = None  # several processes: they agree on a stop at the report steps

    def advance(self, step: int, steps: int) -> tuple[int, bool]:
        """Count `steps` more optimizer steps after `step`; return (new step, stop requested)."""
        reported = False
        for _ in range(steps):
            step += 1
            if step % self.report_every == 0 or step == self.total_steps:
                reported = True
                if self.on_batch is not None:
                    self.on_batch(step, self.total_steps)
        stop = self.stop_event is not None and self.stop_event.is_set()
        if self.sync is not None:
            stop = reported and self.sync.any(stop)
        return step, stop


def _torch_epoch(
    model: CollabModel,
    optimizer: Optimizer,
    epoch_data: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    plan: tuple[np.ndarray, np.ndarray],
    config: TrainConfig,
    amp: bool,
    step: int,
    progress: _Progress,
    group_losses: list[torch.Tensor],
    sync: GradSync | None = None,
) -> tuple[int, bool]:
    """One epoch of PyTorch steps: step s on rows bounds[s]:bounds[s+1], its loss divided by
    divisors[s] (the step's size over all processes), where `plan` is (bounds, divisors); returns
    (step, stopped)."""
    users, items, ratings = epoch_data
    bounds, divisors = plan
    for s in range(len(divisors)):
        rows, divisor = slice(int(bounds[s]), int(bounds[s + 1])), int(divisors[s])
        set_schedule(optimizer, *schedule(config, step, progress.total_steps))
        if isinstance(optimizer, PackedRowAdamW):
            group_losses.append(
                optimizer.train_group(
                    users[rows], items[rows], ratings[rows], config.batch_size, divisor=divisor, sync=sync
                )
            )
        else:
            group_losses.append(
                accumulate_group(
                    model, users[rows], items[rows], ratings[rows], config.batch_size, amp, divisor=divisor
                )
            )
            if sync is not None:
                sync.reduce_grads(model)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        step, stop = progress.advance(step, 1)
        if stop:
            return step, True
    return step, False


def _kernel_epoch(
    trainer: kernels.KernelTrainer,
    epoch_data: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    config: TrainConfig,
    step: int,
    progress: _Progress,
    group_losses: list[torch.Tensor],
) -> tuple[int, bool]:
    """One epoch through the compiled kernels, `report_every` optimizer steps per call (so progress
    and the stop event are seen as often as on the PyTorch path); returns (step, stopped)."""
    users, items, ratings = (t.numpy() for t in epoch_data)
    n, group = len(users), config.effective_batch
    starts = np.arange(0, n, group, dtype=np.int64)
    for first in range(0, len(starts), progress.report_every):
        chunk = starts[first : first + progress.report_every]
        bounds = np.append(chunk, min(int(chunk[-1]) + group, n))
        planned = [schedule(config, step + s, progress.total_steps) for s in range(len(chunk))]
        lrs = np.array([lr for lr, _ in planned], dtype=np.float64)
        beta1s = np.array([beta1 for _, beta1 in planned], dtype=np.float64)
        group_losses.append(torch.from_numpy(trainer.train_steps(users, items, ratings, bounds, lrs, beta1s)))
        step, stop = progress.advance(step, len(chunk))
        if stop:
            return step, True
    return step, False


def rating_values_of(ratings: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in np.unique(np.asarray(ratings, dtype=np.float32)))


def _final_metrics(
    model: CollabModel,
    train_mean: float,
    valid: Ratings | None,
    threshold: float,
    train: Ratings | None = None,
) -> dict[str, float]:
    """RMSE, MAE, loss, baselines and ranking metrics on the validation set; {} without one, nan if empty.

    Ranking (`collab.training.scoring`): given the whole training set `train`, the catalogue protocol's
    `precision@10`, `recall@10`, `ndcg@10`, `hit_rate@10`, `map@10`, `mrr@10` (every unseen item ranked)
    beside `popularity_*`; always the "rated" protocol's `rated_*@10` (held-out items re-ranked)."""
    if valid is None:  # nothing to score: no validation metrics at all (train() notes it), not nan
        return {}
    out: dict[str, float] = {"global_mean_rmse": math.nan}
    if valid.n_ratings == 0:
        return {"rmse": math.nan, "mae": math.nan, "valid_loss": math.nan, **out}
    users, items, ratings = to_tensors(valid, torch.device("cpu"))
    valid_loss, predicted_t = evaluate(model, users, items, ratings)
    predicted, truth = predicted_t.numpy(), ratings.numpy()
    out = {
        "rmse": metrics.rmse(predicted, truth),
        "mae": metrics.mae(predicted, truth),
        "valid_loss": valid_loss,
        "global_mean_rmse": metrics.rmse(np.full_like(truth, train_mean), truth),
    }
    if train is not None:

        def predict_ids(user_ids: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
            return predict_tensor(model, torch.as_tensor(user_ids), torch.as_tensor(item_ids)).numpy()

        out.update(
            catalogue_metrics(predict_ids, train.n_items, train, valid, TOP_K, threshold, TRAIN_RANKED_CELLS)
        )
        out.update(rated_metrics(predicted, train, valid, TOP_K, threshold))
    else:  # a share of the training set (sharded processes): only the held-out items can be re-ranked
        for name, fn in (
            ("precision", metrics.precision_at_k),
            ("recall", metrics.recall_at_k),
            ("ndcg", metrics.ndcg_at_k),
        ):
            out[f"rated_{name}@{TOP_K}"] = fn(valid.user_ids, predicted, truth, TOP_K, threshold)
    return out
