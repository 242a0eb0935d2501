"""Training the implicit models (`model="bpr"` or `"bce"`): positives against sampled negatives.

Every training row is a positive (read the data with `implicit="binary"`). A negative is a uniform
item that is neither one of the user's training positives nor one of the user's validation items
(so nothing held out leaks into training as a "not interacted" signal). Two paths, same model:

- compiled (CPU, numba, `collab.kernels`): one kernel call per epoch, plain SGD per example;
- PyTorch (no numba, `COLLAB_KERNELS=0`, a GPU, or several processes): shuffled steps of
  `effective_batch` positives, micro-batches of `batch_size` whose summed losses are divided by the
  step's size, so gradient accumulation equals one big batch; Adam, the learning rate times
  `lr_decay` after each epoch. Data-parallel (`sync`, `collab.training.distributed`): every process
  holds the whole data, draws the same shuffle and the same negatives for a step of
  `effective_batch x world_size` positives, trains on its slice and the gradients are summed before
  the update, so N processes make the same update as one process with the same global batch.

The result's metrics rank the whole catalogue of each validation user's unseen items (`ndcg@10`, `hit_rate@10`,
`precision@10`, `recall@10`, `map@10`, `mrr@10`: `collab.evaluate.ranking`) beside popularity on the same
protocol (`popularity_ndcg@10`, ...); implicit models have no RMSE.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

from collab import kernels
from collab.data.ratings import Ratings
from collab.evaluate.ranking import catalogue_ranking_quality
from collab.models.implicit import ImplicitMF
from collab.models.registry import build_model
from collab.training.config import TrainConfig
from collab.training.device import resolve_device
from collab.training.result import EpochStats, TrainResult
from collab.training.scoring import CATALOGUE_MEASURES

if TYPE_CHECKING:
    from collab.training.distributed import GradSync

TOP_K = 10
BIAS_L2 = 0.01  # per-example L2 on the item biases (tuned beside l2 = 0.02 on ML-100K u1)


class Exclusions:
    """Per user, the sorted items no negative may be: training positives and validation items (CSR)."""

    def __init__(self, train: Ratings, valid: Ratings | None) -> None:
        users, items = train.user_ids, train.item_ids
        if valid is not None and valid.n_ratings:
            users, items = np.r_[users, valid.user_ids], np.r_[items, valid.item_ids]
        self.n_items = train.n_items
        keys = np.unique(users.astype(np.int64) * self.n_items + items)  # sorted, (n_excluded,)
        self.keys = keys
        counts = np.bincount(keys // self.n_items, minlength=train.n_users)
        self.indptr = np.r_[0, np.cumsum(counts)].astype(np.int64)  # (n_users + 1,)
        self.indices = (keys % self.n_items).astype(np.int64)  # each user's run sorted ascending
        self.counts = counts

    def check(self, train: Ratings) -> None:
        """Raise ValueError when a user with positives has no item left to sample as a negative."""
        full = np.flatnonzero(self.counts[np.unique(train.user_ids)] >= self.n_items)
        if len(full):
            label = train.user_labels[np.unique(train.user_ids)[full[0]]]
            raise ValueError(
                f"user {str(label)!r} interacted with every item (training and validation together), so no "
                "negative can be sampled for them; drop such users or add items"
            )


def sample_negatives_torch(
    user_ids: torch.Tensor, keys: torch.Tensor, n_items: int, n_neg: int, generator: torch.Generator
) -> torch.Tensor:
    """user_ids (b,) -> (b, n_neg) items, uniform over the items whose user * n_items + item is not in
    the sorted `keys` (the exclusions); rejected draws are redrawn, vectorised, until none is left."""
    negatives = torch.randint(n_items, (len(user_ids), n_neg), generator=generator)  # (b, n_neg)
    rows = user_ids[:, None].expand(-1, n_neg)
    todo = torch.ones_like(negatives, dtype=torch.bool)
    while True:
        wanted = rows[todo] * n_items + negatives[todo]
        at = torch.searchsorted(keys, wanted).clamp_(max=len(keys) - 1)
        bad = keys[at] == wanted
        if not bad.any():
            return negatives
        where = todo.nonzero(as_tuple=True)
        redo = (where[0][bad], where[1][bad])
        todo = torch.zeros_like(todo)
        todo[redo] = True
        negatives[redo] = torch.randint(n_items, (int(bad.sum()),), generator=generator)


def accumulate_pairs(
    model: ImplicitMF,
    user_ids: torch.Tensor,
    positives: torch.Tensor,
    negatives: torch.Tensor,
    batch_size: int,
    l2: float,
    bias_l2: float = BIAS_L2,
    divisor: int | None = None,
) -> float:
    """Backward over one step's (user, positive, negatives) rows in micro-batches of `batch_size`; each
    summed loss is divided by the step's size (`divisor`: the whole step's positives over every
    process, default these rows), so `.grad` is the step's mean-loss gradient. Returns the summed loss."""
    group_size = len(user_ids) if divisor is None else divisor
    total = 0.0
    for start in range(0, group_size, batch_size):
        micro = slice(start, start + batch_size)
        loss_sum = model.pair_loss_sum(user_ids[micro], positives[micro], negatives[micro], l2, bias_l2)
        (loss_sum / group_size).backward()
        total += float(loss_sum.detach())
    return total


def compiled_path(device: torch.device) -> bool:
    """Whether this run trains in the compiled kernels: on the CPU, numba there and loadable."""
    if device.type != "cpu" or os.environ.get("COLLAB_KERNELS", "auto") == "0" or not kernels.available():
        return False
    return kernels.usable()


def train_implicit(
    train: Ratings,
    valid: Ratings | None,
    config: TrainConfig,
    on_epoch: Callable[[EpochStats], bool | None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    stop_event: threading.Event | None = None,
    sync: GradSync | None = None,
) -> TrainResult:
    """Train `config.model` ("bpr" or "bce") on `train`'s interactions; rank `valid` at the end.

    `sync`: this process is one of several, each holding the whole `train` and `valid` (read from one
    file); the PyTorch path then combines every step's gradients (the metrics are computed on rank 0
    only). Raises ValueError when a user has no item left to sample as a negative."""
    started = time.perf_counter()
    device = resolve_device(config.device)
    exclusions = Exclusions(train, valid)
    exclusions.check(train)
    compiled = sync is None and compiled_path(device)
    notes: list[str] = []
    if train.ratings.size and np.any(train.ratings != 1.0):
        notes.append(
            "Every training row was taken as an interaction, whatever its rating (read the data with "
            'implicit="binary" to say so).'
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build_model(config, train.n_users, train.n_items).to(device)
        assert isinstance(model, ImplicitMF)
        epoch_fn = _compiled_epochs(model, train, exclusions, config) if compiled else None
        if epoch_fn is None:
            epoch_fn = _torch_epochs(model, train, exclusions, config, device, sync)
        history: list[EpochStats] = []
        stopped = False
        for epoch in range(1, config.epochs + 1):
            epoch_start = time.perf_counter()
            train_loss = epoch_fn(epoch)
            seconds = time.perf_counter() - epoch_start
            stats = EpochStats(
                epoch,
                config.epochs,
                train_loss,
                math.nan,
                math.nan,
                seconds,
                train.n_ratings / max(seconds, 1e-9),
            )
            history.append(stats)
            if on_batch is not None:
                on_batch(epoch, config.epochs)
            stop = (on_epoch is not None and on_epoch(stats) is False) or bool(
                stop_event and stop_event.is_set()
            )
            if sync is not None:
                stop = sync.any(stop)  # every process stops at the same epoch
            if stop:
                stopped = epoch < config.epochs
                break
    model = model.cpu().eval()
    main = sync is None or sync.rank == 0
    metrics = ranking_metrics(model, train, valid) if valid is not None and main else {}
    return TrainResult(
        model=model,
        config=config,
        user_labels=np.asarray(train.user_labels),
        item_labels=np.asarray(train.item_labels),
        y_range=model.y_range,
        history=tuple(history),
        metrics=metrics,
        seconds=time.perf_counter() - started,
        device=str(device),
        best_epoch=len(history),
        stopped_early=stopped,
        optimizer="SGD (compiled)" if compiled else "Adam",
        notes=tuple(notes),
    )


def _compiled_epochs(
    model: ImplicitMF, train: Ratings, exclusions: Exclusions, config: TrainConfig
) -> Callable[[int], float] | None:
    """epoch -> mean loss, one compiled kernel call per epoch updating the model's weights in place."""
    try:
        kernel = kernels.implicit_kernel("bpr_epoch" if config.model == "bpr" else "bce_epoch")
    except kernels.KernelsUnavailable:
        return None
    # the arrays share memory with the embedding tables: the kernel trains the model itself
    user_table = model.user_factors.weight.detach().numpy()  # (n_users, k)
    item_table = model.item_factors.weight.detach().numpy()  # (n_items, k)
    item_bias = model.item_bias.weight.detach().numpy()[:, 0]  # (n_items,) view
    users, items = train.user_ids, train.item_ids

    def run(epoch: int) -> float:
        lr = config.lr * config.lr_decay ** (epoch - 1)
        seed = (config.seed * 100_003 + epoch) % (1 << 31)
        return float(
            kernel(
                user_table, item_table, item_bias, users, items, exclusions.indptr, exclusions.indices,
                exclusions.n_items, config.negatives, lr, config.l2, BIAS_L2, seed,
            )
        )  # fmt: skip

    return run


def _torch_epochs(
    model: ImplicitMF,
    train: Ratings,
    exclusions: Exclusions,
    config: TrainConfig,
    device: torch.device,
    sync: GradSync | None = None,
) -> Callable[[int], float]:
    """epoch -> mean loss per positive, PyTorch steps of `effective_batch` positives (times the processes
    with `sync`) with Adam."""
    generator = torch.Generator().manual_seed(config.seed)
    keys = torch.from_numpy(exclusions.keys)
    users_all = torch.from_numpy(train.user_ids)
    items_all = torch.from_numpy(train.item_ids)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    world, rank = (1, 0) if sync is None else (sync.world_size, sync.rank)
    n, group = len(users_all), config.effective_batch * world

    def run(epoch: int) -> float:
        for param_group in optimizer.param_groups:
            param_group["lr"] = config.lr * config.lr_decay ** (epoch - 1)
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for start in range(0, n, group):
            rows = order[start : start + group]
            users, positives = users_all[rows], items_all[rows]
            # drawn for the whole step on every process (one generator state), so the negatives do not
            # depend on how many processes share the step
            negatives = sample_negatives_torch(users, keys, exclusions.n_items, config.negatives, generator)
            mine = torch.tensor_split(torch.arange(len(rows)), world)[rank]  # this process's slice
            total += accumulate_pairs(
                model,
                users[mine].to(device),
                positives[mine].to(device),
                negatives[mine].to(device),
                config.batch_size,
                config.l2,
                divisor=len(rows),
            )
            if sync is not None:
                sync.local_rows = len(mine)
                sync.reduce_grads(model)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        if sync is not None:
            total = sync.sum([total])[0]
        return total / max(n, 1)

    return run


@torch.no_grad()
def catalogue_scores(model: ImplicitMF, user_ids: np.ndarray) -> np.ndarray:
    """(len(user_ids), n_items) scores of every item for each user."""
    users = model.user_factors.weight[torch.as_tensor(np.asarray(user_ids, dtype=np.int64))]  # (b, k)
    scores = users @ model.item_factors.weight.T + model.item_bias.weight.T  # (b, n_items)
    return scores.double().numpy()


RANKED_CELLS = 20_000_000  # users x items ranked for the metrics, as `train` ranks for the rating models


def ranking_metrics(model: ImplicitMF, train: Ratings, valid: Ratings) -> dict[str, float]:
    """Whole-catalogue ranking of each validation user's unseen items at 10, model and popularity: at most
    `RANKED_CELLS // n_items` users (the first by index; `ranked_users` says how many), so a file with
    hundreds of thousands of users is scored in seconds, not minutes (207 s on 183k x 60k ids, uncapped)."""
    if valid.n_ratings == 0:
        return {}
    quality = catalogue_ranking_quality(
        lambda ids: catalogue_scores(model, ids), train, valid, k=TOP_K, threshold=-math.inf,
        max_users=max(1, RANKED_CELLS // max(train.n_items, 1)),
    )  # fmt: skip
    out: dict[str, float] = {}
    for name in CATALOGUE_MEASURES:  # the catalogue protocol: the plain names, as for the rating models
        out[f"{name}@{TOP_K}"] = quality.model[name]
        out[f"popularity_{name}@{TOP_K}"] = quality.popularity[name]
    out["ranked_users"] = float(quality.n_users)
    return out
