"""Data-parallel training on several processes and hosts, with PyTorch's own `torch.distributed`.

Launched by `torchrun` (`torchrun --standalone --nproc-per-node N -m collab train ...`): every
process holds the whole model, takes its share of every optimizer step's ratings, and the
gradients are combined before the update, so **N processes make the same update as one process
with the same global batch** (`batch_size x accum_steps x world_size` ratings): data parallelism is
gradient accumulation across processes. Backends: gloo on the CPU, NCCL on CUDA.

Why not `DistributedDataParallel`: the fast paths write gradients without autograd
(`DotProductBias.accumulate_gradients`, the packed row-wise optimizer), so DDP's autograd hooks
would never fire and the processes would drift apart silently. Instead `GradSync` combines what
each path really updates: the dense gradients with one all-reduce per step; sparse tables (the
row-wise optimizers) only the rows a step touched (an all-gather of row ids and their gradient
rows), so the cost per step follows the batch, not the table (`comm="dense"` all-reduces the
whole table instead, to measure the difference). The compiled kernels update the weights inside
one call of many steps, with no place to combine gradients, so distributed runs take the PyTorch
path (and log it).

Data: a file is read by every process (each trains on its slice of every step, drawn from one
shared shuffle: the exact equivalence above); a folder of part files is split by part, each
process reading only its own, with the user and item vocabulary agreed across processes (the
union of the labels, in `label_order`, the order one process reading everything would give).
Validation metrics are reduced as sums (squared errors, counts), never averages of averages.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist

from collab.data.errors import DataError
from collab.data.ratings import SPLIT_METHODS, Ratings, Split
from collab.data.vocabulary import label_order
from collab.models.implicit import IMPLICIT_MODELS
from collab.training.config import TrainConfig

log = logging.getLogger(__name__)

BACKENDS = ("auto", "gloo", "nccl")
COMMS = ("auto", "rows", "dense")
PART_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".dat", ".data", ".txt")


# ---- the process group ----------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """This process's place among the processes training one model (one process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""  # "" for one process

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that prints, and writes the model."""
        return self.rank == 0


def launched() -> bool:
    """Whether a launcher such as torchrun started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def init(backend: str = "auto", device: str = "auto", timeout_s: float = 1800.0) -> World:
    """Join the process group that torchrun describes in the environment (RANK, WORLD_SIZE,
    MASTER_ADDR, MASTER_PORT, LOCAL_RANK); without one, the single-process `World()`.

    `backend` "auto" is NCCL when the training device is CUDA, else gloo. Raises ValueError for a
    backend that cannot serve the device (NCCL without CUDA)."""
    from collab.training.device import resolve_device

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    if not launched():
        return World()
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = resolve_device(device).type == "cuda"
    if backend == "auto":
        backend = "nccl" if cuda else "gloo"
    if backend == "nccl" and not cuda:
        raise ValueError("backend 'nccl' needs CUDA devices; use --backend gloo (or auto) on the CPU")
    if cuda:
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    return World(rank, world_size, local_rank, backend)


_CONFIRMED = {"done": False}  # every process passed shutdown's barrier: `finish` may skip gloo's teardown


def shutdown() -> bool:
    """Leave the process group (if this process joined one), all processes together.

    First a barrier: every process confirms its work is done (rank 0 has written the model). Then, under
    a launcher with the gloo backend, the group is *not* destroyed: gloo's teardown of its I/O threads
    aborts a process (`terminate called without an active exception`, about one 2-process run in 30)
    when its peer closed the connection first, a non-zero exit after the work is done. `finish(code)`
    then ends the process without that teardown. Returns whether the group was left for `finish`. A
    failed barrier (a peer already gone) or another backend destroys the group as usual."""
    if not (dist.is_available() and dist.is_initialized()):
        return False
    try:
        dist.barrier()
    except RuntimeError:  # a peer that already failed: nothing to confirm, tear down as usual
        dist.destroy_process_group()
        return False
    if launched() and dist.get_backend() == "gloo":
        _CONFIRMED["done"] = True
        return True
    dist.destroy_process_group()
    return False


def finish(code: int) -> int:
    """`code`, or, after `shutdown` confirmed every process's work under a launcher, end this process
    now with `code` (output flushed, `os._exit`): no destructor of the gloo group runs, so no peer can
    read the teardown as a failure. Call it last, with the exit code (the command line does)."""
    if not _CONFIRMED["done"]:
        return code
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _comm_device(world: World) -> torch.device:
    return (
        torch.device("cuda", torch.cuda.current_device()) if world.backend == "nccl" else torch.device("cpu")
    )


def total(world: World, count: int) -> int:
    """`count` summed over the processes."""
    if world.world_size == 1:
        return int(count)
    buffer = torch.tensor([int(count)], dtype=torch.int64, device=_comm_device(world))
    dist.all_reduce(buffer)
    return int(buffer.item())


def agree(world: World, failure: str | None) -> None:
    """Every process says whether it failed; if any did, every process raises DataError with the
    first failing rank's message (so a bad part file ends the job everywhere, instead of leaving
    the others waiting for it)."""
    if world.world_size == 1:
        if failure:
            raise DataError(failure)
        return
    failures: list[Any] = [None] * world.world_size
    dist.all_gather_object(failures, failure)
    for rank, message in enumerate(failures):
        if message:
            raise DataError(message if rank == world.rank else f"process {rank}: {message}")


# ---- gradient synchronisation ---------------------------------------------------------------------


class GradSync:
    """What `collab.training.loop.train` calls so that several processes take one optimizer step together.

    `n_local`: this process's training ratings. `sharded=False`: every process holds the same
    ratings and takes its slice of each step from one shared shuffle (exactly one process's steps);
    `sharded=True`: each holds its own ratings (a folder's parts) and shuffles them itself.
    `comm`: how the row-wise optimizers combine gradients: "rows" (all-gather of the touched rows,
    the default) or "dense" (all-reduce of a whole-table buffer). Counts what it sends:
    `bytes_sent` (payload handed to collectives by this process), `comm_seconds`, `steps`.
    """

    def __init__(self, world: World, n_local: int, sharded: bool, comm: str = "auto") -> None:
        if comm not in COMMS:
            raise ValueError(f"comm must be one of {list(COMMS)}, got {comm!r}")
        self.world = world
        self.rank, self.world_size = world.rank, world.world_size
        self.sharded = sharded
        self.comm = "rows" if comm == "auto" else comm
        self.device = _comm_device(world)
        self.bytes_sent = 0
        self.comm_seconds = 0.0
        self.steps = 0
        self._dense_buffer: torch.Tensor | None = None
        counts = self._all_gather_ints([n_local])
        self.counts = counts[:, 0]  # (world,) training ratings per process
        if not sharded and len(set(self.counts.tolist())) != 1:
            raise ValueError(f"processes hold different training sets ({self.counts.tolist()} ratings)")
        self.n_total = int(self.counts.sum()) if sharded else int(n_local)
        self.local_rows = 0  # the most ratings one process takes in one step (set by epoch_plan)

    # -- plans

    def steps_per_epoch(self, group: int) -> int:
        """Optimizer steps in one epoch with `group` ratings per step over all processes."""
        if not self.sharded:
            return math.ceil(self.n_total / group)
        local = group // self.world_size
        return max(1, max(math.ceil(int(c) / local) for c in self.counts))

    def epoch_plan(
        self, n_local: int, generator: torch.Generator, local_group: int
    ) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        """(this process's rows in training order, bounds, divisors): step s trains on
        order[bounds[s]:bounds[s+1]] and divides its loss by divisors[s], the step's ratings over
        all processes."""
        world, rank = self.world_size, self.rank
        self.local_rows = local_group
        order = torch.randperm(n_local, generator=generator)  # the same on every process if not sharded
        if not self.sharded:
            group = local_group * world
            full = n_local // group
            mine = [order[: full * group].view(full, world, local_group)[:, rank].reshape(-1)]
            bounds = list(np.arange(full + 1, dtype=np.int64) * local_group)
            divisors = [group] * full
            tail = order[full * group :]
            if len(tail):  # the epoch's last, partial step, split as evenly as it goes
                piece = torch.tensor_split(tail, world)[rank]
                mine.append(piece)
                bounds.append(bounds[-1] + len(piece))
                divisors.append(len(tail))
            return torch.cat(mine), np.asarray(bounds, dtype=np.int64), np.asarray(divisors, dtype=np.int64)
        steps = self.steps_per_epoch(local_group * world)
        edges = np.minimum(np.arange(steps + 1, dtype=np.int64)[None, :] * local_group, self.counts[:, None])
        divisors = np.diff(edges, axis=1).sum(0)  # (steps,) ratings of each step over all processes
        return order, edges[rank], divisors

    # -- collectives

    def _timed(self, fn: Callable[[], Any], nbytes: int) -> Any:
        start = time.perf_counter()
        out = fn()
        self.comm_seconds += time.perf_counter() - start
        self.bytes_sent += nbytes
        return out

    def _all_gather_ints(self, values: Sequence[int]) -> np.ndarray:
        mine = torch.tensor(list(values), dtype=torch.int64, device=self.device)
        out = [torch.empty_like(mine) for _ in range(self.world_size)]
        self._timed(lambda: dist.all_gather(out, mine), mine.numel() * 8)
        return torch.stack(out).cpu().numpy()  # (world, len(values))

    def sum(self, values: Sequence[float]) -> list[float]:
        """Element-wise sums over the processes (float64)."""
        buffer = torch.tensor(list(values), dtype=torch.float64, device=self.device)
        self._timed(lambda: dist.all_reduce(buffer), buffer.numel() * 8)
        return buffer.cpu().tolist()

    def any(self, flag: bool) -> bool:
        """True on every process if it is True on any (e.g. a stop request)."""
        buffer = torch.tensor([int(flag)], dtype=torch.int64, device=self.device)
        self._timed(lambda: dist.all_reduce(buffer, op=dist.ReduceOp.MAX), 8)
        return bool(buffer.item())

    def gather_rows(
        self, ids: torch.Tensor, values: torch.Tensor, capacity: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Every process's (ids, value rows), concatenated in rank order: (m_total,), (m_total, width).

        With `capacity` (the most rows any process can send: known from the step size) and float32
        values, one all-gather of one buffer per process, each row its values then its int64 id
        bit-cast to two float32 (id -1 marks padding); otherwise the counts go first."""
        width = values.shape[1]
        if capacity > 0 and values.dtype == torch.float32:  # the same choice on every process
            if len(ids) > capacity:
                raise RuntimeError(f"{len(ids)} rows for a step of at most {capacity}")
            packed = torch.zeros((capacity, width + 2), dtype=torch.float32, device=self.device)
            packed[len(ids) :, width:] = torch.tensor([-1], dtype=torch.int64).view(torch.float32)[0]
            packed[: len(ids), :width] = values.to(self.device, torch.float32)
            packed[: len(ids), width:] = ids.to(self.device).view(torch.float32).view(len(ids), 2)
            out = [torch.empty_like(packed) for _ in range(self.world_size)]
            self._timed(lambda: dist.all_gather(out, packed), packed.numel() * 4)
            rows = torch.cat(out)
            all_ids = rows[:, width:].contiguous().view(torch.int64).reshape(-1)
            keep = all_ids >= 0
            return all_ids[keep].to(ids.device), rows[keep, :width].to(values.device, values.dtype)
        counts = self._all_gather_ints([len(ids)])[:, 0]
        most = int(counts.max())
        ids_pad = torch.zeros(most, dtype=torch.int64, device=self.device)
        values_pad = torch.zeros((most, width), dtype=values.dtype, device=self.device)
        ids_pad[: len(ids)] = ids
        values_pad[: len(ids)] = values
        ids_out = [torch.empty_like(ids_pad) for _ in range(self.world_size)]
        values_out = [torch.empty_like(values_pad) for _ in range(self.world_size)]
        nbytes = ids_pad.numel() * 8 + values_pad.numel() * values_pad.element_size()

        def both() -> None:
            dist.all_gather(ids_out, ids_pad)
            dist.all_gather(values_out, values_pad)

        self._timed(both, nbytes)
        keep = [int(c) for c in counts]
        all_ids = torch.cat([t[:c] for t, c in zip(ids_out, keep, strict=True)])
        all_values = torch.cat([t[:c] for t, c in zip(values_out, keep, strict=True)])
        return all_ids.to(ids.device), all_values.to(values.device)

    def reduce_rows(
        self, ids: torch.Tensor, grads: torch.Tensor, n_rows: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(distinct rows touched by any process, sorted; their gradients summed over processes)
        from this process's distinct `ids` and gradient rows (len(ids), width) of an n_rows table."""
        self.steps += 1
        if self.comm == "rows":
            all_ids, all_grads = self.gather_rows(ids, grads, min(2 * self.local_rows, n_rows))
            rows, inverse = torch.unique(all_ids, return_inverse=True)
            summed = torch.zeros((len(rows), grads.shape[1]), dtype=grads.dtype, device=grads.device)
            return rows, summed.index_add_(0, inverse, all_grads)
        width = grads.shape[1]
        if self._dense_buffer is None or self._dense_buffer.shape != (n_rows, width + 1):
            self._dense_buffer = torch.zeros((n_rows, width + 1), dtype=grads.dtype, device=self.device)
        buffer = self._dense_buffer  # gradients, then a touched flag; all zeros between steps
        local = ids.to(self.device)
        buffer[local, :width] = grads.to(self.device)
        buffer[local, width] = 1.0
        self._timed(lambda: dist.all_reduce(buffer), buffer.numel() * buffer.element_size())
        rows = torch.nonzero(buffer[:, width]).reshape(-1)
        summed = buffer[rows, :width].clone()
        buffer[rows] = 0.0
        return rows.to(ids.device), summed.to(grads.device)

    def reduce_grads(self, model: torch.nn.Module) -> None:
        """Sum every parameter's gradient over the processes (each process's share was already
        divided by the whole step's size): dense ones in one all-reduce, sparse ones (row-wise
        tables) as their touched rows."""
        self.steps += 1
        sparse_ids = self._sparse(model)
        dense = [p for p in model.parameters() if p.requires_grad and id(p) not in sparse_ids]
        if dense:
            flat = torch.cat(
                [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in dense]
            ).to(self.device)
            self._timed(lambda: dist.all_reduce(flat), flat.numel() * flat.element_size())
            offset = 0
            for p in dense:
                size = p.numel()
                reduced = flat[offset : offset + size].view_as(p).to(p.device)
                if p.grad is None:
                    p.grad = reduced.clone()
                else:
                    p.grad.copy_(reduced)
                offset += size
        for p in model.parameters():
            if id(p) not in sparse_ids:
                continue
            if p.grad is None:
                ids = torch.zeros(0, dtype=torch.int64, device=p.device)
                values = torch.zeros((0, *p.shape[1:]), dtype=p.dtype, device=p.device)
            else:
                grad = p.grad.coalesce()
                ids, values = grad.indices()[0], grad.values()
            capacity = min(self.local_rows, p.shape[0])
            all_ids, all_values = self.gather_rows(ids, values.reshape(len(ids), -1), capacity)
            p.grad = torch.sparse_coo_tensor(
                all_ids[None], all_values.view(len(all_ids), *p.shape[1:]), p.shape, is_coalesced=False
            )

    def _sparse(self, model: torch.nn.Module) -> set[int]:
        return {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding) and m.sparse}


# ---- training ---------------------------------------------------------------------------------------


def train_parallel(
    world: World,
    train: Ratings,
    valid: Ratings | None,
    config: TrainConfig,
    *,
    sharded: bool = False,
    comm: str = "auto",
    on_epoch: Callable[[Any], bool | None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    stop_event: Any = None,
    report: dict[str, Any] | None = None,
) -> Any:
    """`collab.training.loop.train` on every process of `world`; returns the same TrainResult everywhere
    (rank 0's metrics are over the whole validation set).

    `sharded=False`: `train` and `valid` are the whole sets, the same on every process (read from
    one file); `sharded=True`: this process's share (`read_shard`, `split_shard`), with the
    vocabulary agreed. One process: plain `train`. Raises ValueError for what cannot be trained
    data-parallel (the autoencoder, full batch). `report`, if given, receives what this process
    communicated: steps synchronised, bytes handed to collectives, seconds spent in them."""
    from collab.evaluate.metrics import relevant_threshold
    from collab.training.loop import _final_metrics
    from collab.training.loop import train_impl as train_one

    if world.world_size == 1:
        return train_one(train, valid, config, on_epoch, on_batch, stop_event)
    if config.model == "autorec":
        raise ValueError(
            "the autoencoder (model autorec) trains full batch with L-BFGS; train it on one process"
        )
    if sharded and config.model == "classifier":
        raise ValueError(
            "the rating classifier learns one class per rating value seen in training; with a folder of "
            "parts on several processes, train it from one file (or on one process)"
        )
    if config.model in IMPLICIT_MODELS:
        return _train_parallel_implicit(world, train, valid, config, sharded, on_epoch, on_batch, stop_event)
    sync = GradSync(world, train.n_ratings, sharded, comm)
    full_valid = valid
    if sharded:
        if config.y_range is None:  # the lesson's range over every process's ratings
            config = replace(config, y_range=_global_y_range(sync, train))
    elif valid is not None:  # every process scores a slice of the validation set
        share = np.array_split(np.arange(valid.n_ratings), world.world_size)[world.rank]
        valid = valid.subset(share)
    result = train_one(train, valid, config, on_epoch, on_batch, stop_event, sync=sync)
    result = replace(
        result,
        processes=world.world_size,
        optimizer=f"{result.optimizer}, {world.world_size} processes ({world.backend}"
        + (
            (", touched rows all-gather" if sync.comm == "rows" else ", whole-table all-reduce")
            if result.sparse
            else ""
        )
        + ")",
    )
    # final metrics over the whole validation set, on rank 0, given to every process
    metrics = None
    if sharded:
        train_sum, train_n = sync.sum(
            [float(np.sum(train.ratings, dtype=np.float64)), float(train.n_ratings)]
        )
        pieces = _gather_objects(
            world,
            None if valid is None else (valid.user_ids, valid.item_ids, valid.ratings),
        )
        if world.is_main and valid is not None:
            full_valid = replace(
                valid,
                user_ids=np.concatenate([p[0] for p in pieces if p is not None]),
                item_ids=np.concatenate([p[1] for p in pieces if p is not None]),
                ratings=np.concatenate([p[2] for p in pieces if p is not None]),
                timestamps=None,
                fingerprint="",
            )
        train_mean = train_sum / max(train_n, 1)
    else:
        train_mean = float(np.mean(train.ratings))
    if world.is_main:
        metrics = _final_metrics(  # the catalogue protocol needs every training pair: not a share's
            result.model,
            train_mean,
            full_valid,
            relevant_threshold(train.ratings),
            None if sharded else train,
        )
    box = [metrics]
    dist.broadcast_object_list(box, src=0)
    result = replace(result, metrics=box[0], seconds=max(sync.sum([result.seconds])[0] / world.world_size, 0))
    if report is not None:
        report.update(steps=sync.steps, bytes_sent=sync.bytes_sent, comm_seconds=sync.comm_seconds)
    log.info(
        "rank %d: %d steps synchronised, %.1f MB sent, %.2f s in collectives",
        world.rank,
        sync.steps,
        sync.bytes_sent / 1e6,
        sync.comm_seconds,
    )
    return result


def _train_parallel_implicit(
    world: World,
    train: Ratings,
    valid: Ratings | None,
    config: TrainConfig,
    sharded: bool,
    on_epoch: Callable[[Any], bool | None] | None,
    on_batch: Callable[[int, int], None] | None,
    stop_event: Any,
) -> Any:
    """The implicit models data-parallel: every process holds the whole interactions and validation
    set (negatives must avoid each user's positives and held-out items, all of them), steps are
    shared as in `collab.training.implicit`; rank 0 ranks the catalogue and gives its metrics to all."""
    from collab.training.loop import train_impl as train_one

    if sharded:
        raise ValueError(
            f"the implicit models ({', '.join(IMPLICIT_MODELS)}) sample negatives from each user's whole "
            "history; with a folder of parts on several processes, train them from one file"
        )
    sync = GradSync(world, train.n_ratings, False, "dense")
    result = train_one(train, valid, config, on_epoch, on_batch, stop_event, sync=sync)
    box = [result.metrics]
    dist.broadcast_object_list(box, src=0)
    return replace(
        result,
        metrics=box[0],
        optimizer=f"{result.optimizer}, {world.world_size} processes ({world.backend})",
        seconds=max(sync.sum([result.seconds])[0] / world.world_size, 0),
    )


def _global_y_range(sync: GradSync, train: Ratings) -> tuple[float, float]:
    """`data_y_range` over every process's ratings: (min(0, lowest), highest + 0.5)."""
    low = float(np.min(train.ratings)) if train.n_ratings else math.inf
    high = float(np.max(train.ratings)) if train.n_ratings else -math.inf
    lows_highs = _gather_floats(sync, [low, high])
    return min(0.0, float(lows_highs[:, 0].min())), float(lows_highs[:, 1].max()) + 0.5


def _gather_floats(sync: GradSync, values: Sequence[float]) -> np.ndarray:
    mine = torch.tensor(list(values), dtype=torch.float64, device=sync.device)
    out = [torch.empty_like(mine) for _ in range(sync.world_size)]
    sync._timed(lambda: dist.all_gather(out, mine), mine.numel() * 8)
    return torch.stack(out).cpu().numpy()


def _gather_objects(world: World, value: Any) -> list[Any]:
    out: list[Any] = [None] * world.world_size
    dist.all_gather_object(out, value)
    return out


# ---- data: files, Parquet, folders of parts -------------------------------------------------------


def list_parts(folder: Path) -> list[Path]:
    """The part files of a folder as Spark and pandas write them (`part-*.parquet`, or any Parquet,
    CSV, TSV or '::' text files), sorted by name; markers such as `_SUCCESS` and hidden `.crc`
    files are skipped. Raises DataError for a folder without parts."""
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and not p.name.startswith(("_", "."))
        and any(p.name.lower().endswith(s) for s in PART_SUFFIXES)
    )
    parts = [p for p in files if p.name.startswith("part-")] or files
    if not parts:
        held = sorted(p.name for p in folder.iterdir())
        shown = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
        raise DataError(
            f"{str(folder)!r} is a folder, read as a folder of part files, but it has no part files (part-*.parquet, "
            f"*.parquet, *.csv, *.tsv, *.dat; it holds {shown or 'nothing'}); give the ratings file inside "
            "it, or a folder of parts"
        )
    return parts


def read_file(path: Path, columns: dict[str, Any]) -> Ratings:
    """One ratings file, read as the app reads it (`read_ratings`: CSV, TSV, '::', Parquet, ...)."""
    from collab.data.read import read_ratings

    reading = {
        name: columns[name]
        for name in ("layout", "not_rated", "implicit", "sep", "decimal", "day_first")
        if columns.get(name) is not None
    }
    return read_ratings(
        path,
        user_col=columns.get("user"),
        item_col=columns.get("item"),
        rating_col=columns.get("rating"),
        **reading,
    )


def read_any(path: str | os.PathLike, columns: dict[str, Any] | None = None) -> Ratings:
    """All the ratings of a file or a folder of part files, on one process. Raises DataError."""
    path = Path(path)
    columns = columns or {}
    if not path.exists():
        raise DataError(f"{str(path)!r} does not exist; give a ratings file or a folder of part files")
    if path.is_dir():
        parts = [_read_part(p, columns) for p in list_parts(path)]
        return combine(parts, name=path.name)
    return read_file(path, columns)


def _read_part(path: Path, columns: dict[str, Any]) -> Ratings:
    try:
        return read_file(path, columns)
    except DataError as error:
        message = str(error)
        raise DataError(message if message.startswith(path.name) else f"{path.name}: {message}") from None


def union_labels(label_sets: Sequence[np.ndarray]) -> np.ndarray:
    """The distinct labels of several sets, in `label_order` (the order of one read of them all)."""
    labels = np.unique(np.concatenate([np.asarray(s, dtype=str) for s in label_sets]))
    return labels[label_order(labels)]


def reindex(ratings: Ratings, user_labels: np.ndarray, item_labels: np.ndarray) -> Ratings:
    """The same ratings with ids into a larger vocabulary (every label of `ratings` must be in it)."""
    users = pd.Index(user_labels).get_indexer(pd.Index(ratings.user_labels))
    items = pd.Index(item_labels).get_indexer(pd.Index(ratings.item_labels))
    if (users < 0).any() or (items < 0).any():
        raise ValueError("reindex: a label is missing from the new vocabulary")
    return Ratings(
        user_ids=users[ratings.user_ids],
        item_ids=items[ratings.item_ids],
        ratings=ratings.ratings,
        user_labels=user_labels,
        item_labels=item_labels,
        timestamps=ratings.timestamps,
        name=ratings.name,
        notes=ratings.notes,
    )


def combine(parts: Sequence[Ratings], name: str = "ratings") -> Ratings:
    """Several parts' ratings in one vocabulary (their labels' union). Pairs repeated across parts
    are kept as they are (each part's own duplicates were handled when it was read)."""
    users = union_labels([p.user_labels for p in parts])
    items = union_labels([p.item_labels for p in parts])
    merged = [reindex(p, users, items) for p in parts]
    timestamps = None
    if all(p.timestamps is not None for p in merged):
        timestamps = np.concatenate([p.timestamps for p in merged])  # type: ignore[misc]
    return Ratings(
        user_ids=np.concatenate([p.user_ids for p in merged]),
        item_ids=np.concatenate([p.item_ids for p in merged]),
        ratings=np.concatenate([p.ratings for p in merged]),
        user_labels=users,
        item_labels=items,
        timestamps=timestamps,
        name=name,
        notes=tuple(note for p in merged for note in p.notes),
    )


@dataclass(frozen=True)
class Shard:
    """One process's share of a folder of parts: its ratings (in the agreed vocabulary) and files."""

    ratings: Ratings
    parts: tuple[str, ...]  # the file names this process read
    all_parts: tuple[tuple[str, ...], ...]  # the file names each process read, by rank


def read_shard(world: World, folder: str | os.PathLike, columns: dict[str, Any] | None = None) -> Shard:
    """Each process reads its own parts (part i goes to rank i mod world_size) and the processes
    agree on one user and item vocabulary. A failing read on any process raises DataError on all."""
    folder = Path(folder)
    columns = columns or {}
    local: Ratings | None = None
    mine: list[Path] = []
    failure = None
    try:
        if not folder.is_dir():
            raise DataError(f"{str(folder)!r} is not a folder of part files")
        parts = list_parts(folder)
        if len(parts) < world.world_size:
            raise DataError(
                f"the folder has {len(parts)} part file(s) for {world.world_size} processes; each process "
                "reads whole parts, so write at least as many parts as processes"
            )
        mine = parts[world.rank :: world.world_size]
        local = combine([_read_part(p, columns) for p in mine], name=folder.name)
    except DataError as error:
        failure = str(error)
    agree(world, failure)
    assert local is not None
    if world.world_size == 1:
        return Shard(local, tuple(p.name for p in mine), (tuple(p.name for p in mine),))
    labels = _gather_objects(world, (local.user_labels, local.item_labels, tuple(p.name for p in mine)))
    users = union_labels([u for u, _, _ in labels])
    items = union_labels([i for _, i, _ in labels])
    return Shard(reindex(local, users, items), tuple(p.name for p in mine), tuple(n for _, _, n in labels))


def split_shard(world: World, ratings: Ratings, valid_pct: float, seed: int, method: str = "random") -> Split:
    """Train/valid split of one process's share with `Ratings.split`'s rules: "random" a seeded
    share of the process's ratings, "by_user" of each user's ratings on the process, "by_time" the
    latest `valid_pct` over all processes (one global cutoff; ties at it go to valid). Valid rows
    whose user or item no process trains on are dropped."""
    if not 0.0 < valid_pct < 1.0:
        raise ValueError(f"valid_pct must be between 0 and 1 (exclusive), got {valid_pct}")
    if method not in SPLIT_METHODS:
        raise ValueError(f"split must be one of {', '.join(SPLIT_METHODS)}; got {method!r}")
    if method not in ("random", "by_time", "by_user"):  # a user's ratings may lie in several parts
        raise ValueError(
            f"the {method} split needs each user's ratings together: with a folder of parts on several "
            "processes, use random, by_time or by_user (or train from one file)"
        )
    rng = np.random.default_rng([seed, world.rank])
    n = ratings.n_ratings
    n_valid = int(round(n * valid_pct))
    is_valid = np.zeros(n, dtype=bool)
    if method == "random":
        is_valid[rng.permutation(n)[:n_valid]] = True
    elif method == "by_time":
        has_time = ratings.timestamps is not None
        flags = _gather_objects(world, has_time) if world.world_size > 1 else [has_time]
        if not all(flags):
            raise DataError(
                f"{ratings.name} has no timestamps, so it cannot be split by time; use random or by_user"
            )
        stamps = ratings.timestamps
        everything = np.concatenate(_gather_objects(world, stamps)) if world.world_size > 1 else stamps
        total_valid = int(round(len(everything) * valid_pct))
        if total_valid:
            cutoff = np.partition(everything, len(everything) - total_valid)[len(everything) - total_valid]
            is_valid = stamps >= cutoff
    else:
        order = np.lexsort((rng.random(n), ratings.user_ids))
        counts = np.bincount(ratings.user_ids, minlength=ratings.n_users)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        rank = np.arange(n) - starts[ratings.user_ids[order]]
        share = np.minimum(np.floor(counts * valid_pct + 0.5), np.maximum(counts - 1, 0))
        is_valid[order] = rank < share[ratings.user_ids[order]]
    train = ratings.subset(~is_valid)
    seen_user = torch.from_numpy(
        (np.bincount(train.user_ids, minlength=ratings.n_users) > 0).astype(np.int32)
    )
    seen_item = torch.from_numpy(
        (np.bincount(train.item_ids, minlength=ratings.n_items) > 0).astype(np.int32)
    )
    if world.world_size > 1:
        device = _comm_device(world)
        seen_user, seen_item = seen_user.to(device), seen_item.to(device)
        dist.all_reduce(seen_user, op=dist.ReduceOp.MAX)
        dist.all_reduce(seen_item, op=dist.ReduceOp.MAX)
    seen_u, seen_i = seen_user.cpu().numpy() > 0, seen_item.cpu().numpy() > 0
    keep = is_valid & seen_u[ratings.user_ids] & seen_i[ratings.item_ids]
    return Split(
        train=train,
        valid=ratings.subset(keep),
        n_dropped=int(is_valid.sum() - keep.sum()),
        method=method,  # type: ignore[arg-type]
        valid_pct=valid_pct,
        seed=seed,
    )
