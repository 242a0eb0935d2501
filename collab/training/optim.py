"""A row-wise AdamW for huge embedding tables: each step touches only the rows in the batch.

`torch.optim.AdamW` updates every row of every table at every step, so an epoch costs
O(steps x table size). With sparse embedding gradients this optimizer updates, decays and keeps
moments only for the rows that appear in the batch ("lazy" Adam, as in TensorFlow's LazyAdam and
PyTorch's SparseAdam, plus decoupled weight decay on the touched rows). Dense gradients (MLP weights
of a model whose tables are sparse) get the ordinary AdamW update.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from collab import kernels
from collab.models.base import is_no_decay
from collab.models.embedding import DotProductBias
from collab.training.config import ROW_STATES, TrainConfig


class RowAdamW(torch.optim.Optimizer):
    """AdamW with decoupled weight decay; sparse gradients update only their rows."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One update of every parameter that has a gradient."""
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, (beta1, beta2), eps, decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(param)
                    state["exp_avg_sq"] = torch.zeros_like(param)
                    if param.grad.is_sparse and param.device.type == "cpu":
                        state["slot"] = torch.full((param.shape[0],), -1, dtype=torch.long)
                state["step"] += 1
                correction1 = 1 - beta1 ** state["step"]
                correction2 = 1 - beta2 ** state["step"]
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                grad = param.grad
                if grad.is_sparse:
                    rows, values = _sum_rows(grad, state.get("slot"))
                    _row_update(
                        param,
                        rows,
                        values,
                        exp_avg,
                        exp_avg_sq,
                        lr,
                        beta1,
                        beta2,
                        eps,
                        decay,
                        correction1,
                        correction2,
                    )
                    continue
                param.mul_(1 - lr * decay)
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = (exp_avg_sq / correction2).sqrt_().add_(eps)
                param.addcdiv_(exp_avg, denom, value=-lr / correction1)
        return loss


def _sum_rows(grad: torch.Tensor, slot: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(unique rows, summed gradient rows) of an uncoalesced sparse gradient.

    `coalesce` sorts the indices; on the CPU a scratch array of one slot per table row finds the
    duplicates in O(batch) instead (table rows are never scanned: the slots are reset after use).
    On GPUs `coalesce` is kept: it is fast there and, unlike index_add_, deterministic.
    """
    if slot is None:
        grad = grad.coalesce()
        return grad.indices()[0], grad.values()
    ids = grad._indices()[0]  # (n,) with repeats
    values = grad._values()  # (n, dim)
    positions = torch.arange(len(ids))
    slot.index_put_((ids,), positions)  # one representative position per distinct row
    representative = slot.index_select(0, ids)  # (n,)
    is_first = representative == positions
    rows = ids[is_first]  # (n_touched,)
    compact = torch.cumsum(is_first, 0) - 1  # position -> index among the distinct rows
    summed = torch.zeros((len(rows), values.shape[1]), dtype=values.dtype).index_add_(
        0, compact.index_select(0, representative), values
    )
    slot.index_fill_(0, rows, -1)
    return rows, summed


def _row_update(
    param: torch.Tensor,
    rows: torch.Tensor,
    values: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_sq: torch.Tensor,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    decay: float,
    correction1: float,
    correction2: float,
) -> None:
    """AdamW on the given distinct rows with their summed gradients (n_touched, dim)."""
    avg = exp_avg.index_select(0, rows).lerp_(values, 1 - beta1)
    avg_sq = exp_avg_sq.index_select(0, rows).mul_(beta2).addcmul_(values, values, value=1 - beta2)
    exp_avg.index_copy_(0, rows, avg)
    exp_avg_sq.index_copy_(0, rows, avg_sq)
    weights = param.index_select(0, rows)
    if decay:
        weights.mul_(1 - lr * decay)
    weights.addcdiv_(avg, avg_sq.div_(correction2).sqrt_().add_(eps), value=-lr / correction1)
    param.index_copy_(0, rows, weights)


class FlatAdamW:
    """AdamW over one flat buffer holding every parameter (and one for every gradient).

    Same update as `torch.optim.AdamW`; weight decay is a per-element vector, so the decay groups
    cost nothing. On small models the per-step cost is a handful of kernels instead of optimizer
    bookkeeping per tensor. Parameters become views into the buffer; gradients stay allocated
    (zeroed, never set to None) so autograd accumulates into the buffer in place.
    """

    def __init__(
        self,
        groups: list[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        params = [p for group in groups for p in group["params"]]
        total = sum(p.numel() for p in params)
        like = params[0]
        self.flat = torch.empty(total, dtype=like.dtype, device=like.device)
        self.grad = torch.zeros_like(self.flat)
        self.decay = torch.empty_like(self.flat)
        offset = 0
        self.segments: list[tuple[int, int, float, torch.Tensor]] = []  # (start, end, decay, step count)
        for group in groups:
            start = offset
            for param in group["params"]:
                size = param.numel()
                view = self.flat[offset : offset + size].view_as(param)
                view.copy_(param.detach())
                param.data = view
                param.grad = self.grad[offset : offset + size].view_as(param)
                self.decay[offset : offset + size] = group["weight_decay"]
                offset += size
            step_count = torch.zeros((), dtype=torch.float32, device=like.device)
            self.segments.append((start, offset, float(group["weight_decay"]), step_count))
        self.fused = like.device.type in ("cpu", "cuda")
        self.params = params
        self.exp_avg = torch.zeros_like(self.flat)
        self.exp_avg_sq = torch.zeros_like(self.flat)
        self.steps = 0
        self.param_groups = [{"lr": lr, "betas": betas, "eps": eps}]

    def zero_grad(self, set_to_none: bool = False) -> None:
        """Zero the gradient buffer (kept allocated whatever `set_to_none` says)."""
        self.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One AdamW update of every parameter."""
        group = self.param_groups[0]
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        self.steps += 1
        if self.fused:  # PyTorch's fused AdamW kernel: one pass over memory per decay group
            segments = [(a, b, wd, steps) for a, b, wd, steps in self.segments if b > a]
            for start, end, decay, step_count in segments:
                step_count += 1
                torch._fused_adamw_(
                    [self.flat[start:end]],
                    [self.grad[start:end]],
                    [self.exp_avg[start:end]],
                    [self.exp_avg_sq[start:end]],
                    [],
                    [step_count],
                    lr=lr,
                    beta1=beta1,
                    beta2=beta2,
                    weight_decay=decay,
                    eps=eps,
                    amsgrad=False,
                    maximize=False,
                )
            return
        correction1 = 1 - beta1**self.steps
        correction2 = 1 - beta2**self.steps
        self.flat.addcmul_(self.flat, self.decay, value=-lr)  # decoupled decay: p *= 1 - lr * wd
        self.exp_avg.lerp_(self.grad, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(self.grad, self.grad, value=1 - beta2)
        denom = self.exp_avg_sq.sqrt().div_(math.sqrt(correction2)).add_(eps)
        self.flat.addcdiv_(self.exp_avg, denom, value=-lr / correction1)

    def release(self) -> None:
        """Detach the gradients from the buffer (after training)."""
        for param in self.params:
            param.grad = None


class PackedRowAdamW:
    """Row-wise AdamW for the dot model's tables, with every row's state in one packed table.

    Users and items share one table of (blocks, n_users + n_items, width): block 0 holds each row's
    factors and bias, then the state: blocks 1 and 2 hold both Adam moments ("adamw", exactly
    `RowAdamW`'s lazy update), or one second moment per row sits beside the bias and there is no
    momentum ("rowwise", a third of the memory). A step is one sort of the batch's ids, one gather of
    their rows (all blocks), the gradient summed per distinct row with one `index_add_`, the update on
    the gathered rows (PyTorch's fused AdamW kernel), and one scatter back: nothing per step is as
    big as the table. The model's parameters become views into the table, so it predicts with the
    current weights at any time.
    """

    def __init__(
        self,
        model: Any,
        weight_decay: float,
        decay_biases: bool,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        state: str = "adamw",
    ) -> None:
        if state not in ROW_STATES:
            raise ValueError(f"state must be one of {list(ROW_STATES)}, got {state!r}")
        self.model = model
        self.state = state
        self.n_users = model.user_factors.num_embeddings
        n_items = model.item_factors.num_embeddings
        k = model.user_factors.embedding_dim
        self.n_factors = k
        self.width = width = k + 1  # factors, then the bias
        weight = model.user_factors.weight
        blocks, used = (3, width) if state == "adamw" else (1, width + 1)
        # rows padded to 16 bytes, so the scatter can move 16-byte elements (a quarter as many)
        per_16 = 16 // weight.element_size()
        row_floats = -(-used // per_16) * per_16
        self.table = torch.zeros(
            (blocks, self.n_users + n_items, row_floats), dtype=weight.dtype, device=weight.device
        )  # (blocks, n_users + n_items, row width)
        users, items = self.table[0, : self.n_users], self.table[0, self.n_users :]
        bindings = [
            (model.user_factors, users[:, :k]),
            (model.user_bias, users[:, k:width]),
            (model.item_factors, items[:, :k]),
            (model.item_bias, items[:, k:width]),
        ]
        for module, view in bindings:
            view.copy_(module.weight.detach())
            module.weight.data = view  # the model reads and writes through the table
        self.weight_decay, self.decay_biases = float(weight_decay), decay_biases
        self.steps = 0
        self.step_count = torch.zeros((), dtype=torch.float32)  # for the fused kernel
        self.param_groups = [{"lr": lr, "betas": betas, "eps": eps}]

    @torch.no_grad()
    def train_group(
        self,
        user_ids: torch.Tensor,
        item_ids: torch.Tensor,
        ratings: torch.Tensor,
        batch_size: int,
        divisor: int | None = None,
        sync: Any = None,
    ) -> torch.Tensor:
        """One optimizer step on a group of ratings, gradients accumulated over micro-batches of
        `batch_size` (the same update as one batch); returns the group's summed loss.

        With `sync` (a `collab.training.distributed.GradSync`) this process holds only its share of the step
        (`divisor`: the step's size over all processes): the touched rows' gradients are combined
        across processes before the update, and every process updates the union of their rows."""
        group_size = len(user_ids)
        ids = torch.cat([user_ids, item_ids + self.n_users])  # (2 * group,) users then items
        rows_ids, inverse = torch.unique(ids, return_inverse=True)  # distinct rows, sorted
        rows = self.table.index_select(1, rows_ids)  # (blocks, n_rows, row width)
        block = rows[0]  # (n_rows, row width): factors, bias, then padding or the row's moment
        grads = torch.zeros_like(block)  # contiguous, so index_add_ takes its fast path
        loss_sum = torch.zeros((), dtype=torch.float32) if group_size == 0 else None
        divisor = divisor or group_size
        for start in range(0, group_size, batch_size):
            stop = min(start + batch_size, group_size)
            if start == 0 and stop == group_size:
                micro_inverse = inverse
            else:
                micro_inverse = torch.cat(
                    [inverse[start:stop], inverse[group_size + start : group_size + stop]]
                )
            gathered = block.index_select(0, micro_inverse)  # (2 * micro, row width)
            micro_loss, grad_rows = self.model.packed_gradients(gathered, ratings[start:stop], divisor)
            grads.index_add_(0, micro_inverse, grad_rows)
            loss_sum = micro_loss if loss_sum is None else loss_sum + micro_loss
        if sync is not None:  # the union of every process's rows, with their summed gradients
            rows_ids, summed = sync.reduce_rows(rows_ids, grads[:, : self.width], self.table.shape[1])
            grads = torch.zeros((len(rows_ids), block.shape[1]), dtype=block.dtype)
            grads[:, : self.width] = summed
            rows = self.table.index_select(1, rows_ids)
        self._update(rows, grads)
        # index_copy_ moves one element at a time: as 16-byte elements it moves a quarter as many
        wide = torch.complex128 if self.table.dtype == torch.float32 else self.table.dtype
        self.table.view(wide).index_copy_(1, rows_ids, rows.view(wide))
        assert loss_sum is not None
        return loss_sum

    def _update(self, rows: torch.Tensor, grads: torch.Tensor) -> None:
        group = self.param_groups[0]
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        self.steps += 1
        width = self.width
        if self.weight_decay:  # decoupled weight decay, on the touched rows only
            decayed = rows[0, :, : width if self.decay_biases else self.n_factors]
            decayed.mul_(1 - lr * self.weight_decay)
        if self.state == "adamw":
            self.step_count += 1
            torch._fused_adamw_(
                [rows[0]],
                [grads],
                [rows[1]],
                [rows[2]],
                [],
                [self.step_count],
                lr=lr,
                beta1=beta1,
                beta2=beta2,
                weight_decay=0.0,  # done above, so that biases can be left out
                eps=eps,
                amsgrad=False,
                maximize=False,
            )
            return
        correction2 = 1 - beta2**self.steps
        weights, row_sq = rows[0, :, :width], rows[0, :, width]  # row_sq: (n_rows,) one moment per row
        row_sq.mul_(beta2).add_(torch.linalg.vecdot(grads, grads), alpha=(1 - beta2) / width)
        denom = row_sq.mul(1 / correction2).sqrt_().add_(eps)  # (n_rows,)
        weights.addcdiv_(grads[:, :width], denom[:, None], value=-lr)

    def zero_grad(self, set_to_none: bool = False) -> None:
        """Nothing to clear: gradients live only inside `train_group`."""

    def release(self) -> None:
        """Give the model its own parameter tensors again, so the packed table can be freed."""
        self.model.own_tables()


# what `make_optimizer` returns: torch's AdamW or one of the row-wise/packed/compiled steppers above
Optimizer = torch.optim.Optimizer | FlatAdamW | PackedRowAdamW | kernels.KernelTrainer


def parameter_groups(model: torch.nn.Module, weight_decay: float, decay_biases: bool) -> list[dict[str, Any]]:
    """Two AdamW groups by name: factors and weights decay; biases decay only when asked."""
    decay, no_decay = [], []
    decay_names, no_decay_names = [], []
    for name, param in model.named_parameters():
        if is_no_decay(name) and not decay_biases:
            no_decay.append(param)
            no_decay_names.append(name)
        else:
            decay.append(param)
            decay_names.append(name)
    return [
        {"params": decay, "names": decay_names, "weight_decay": weight_decay},
        {"params": no_decay, "names": no_decay_names, "weight_decay": 0.0},
    ]


def make_optimizer(
    model: torch.nn.Module,
    config: TrainConfig,
    sparse: bool,
    device: torch.device,
    compiled: bool = False,
    notes: list[str] | None = None,
) -> Optimizer:
    """AdamW (dense tables) or a row-wise AdamW (sparse tables), with decay groups.

    With `compiled` (see `kernels.wanted`) the dot model on the CPU gets the compiled kernels: the
    same updates, many steps per call. Without them its sparse tables get the
    packed row-wise optimizer, which also runs the hand-written forward and backward; other models
    get RowAdamW over autograd's sparse gradients. Kernels that cannot be loaded here (no writable
    folder for numba's cache) give the PyTorch path, and `notes` gets the reason.
    """
    dot_on_cpu = isinstance(model, DotProductBias) and device.type == "cpu" and not config.amp
    want_kernels = compiled and dot_on_cpu and model.user_factors.weight.dtype == torch.float32
    if want_kernels and not kernels.usable() and notes is not None and kernels.failure():
        notes.append(str(kernels.failure()))
    if want_kernels and kernels.usable():
        return kernels.KernelTrainer(
            model,
            config.weight_decay,
            config.decay_biases,
            dense=not sparse,
            max_group=config.effective_batch,
            one_moment=config.row_state == "rowwise",
            betas=(0.9, 0.99),
            eps=1e-5,
        )
    if sparse and dot_on_cpu:
        return PackedRowAdamW(
            model,
            config.weight_decay,
            config.decay_biases,
            lr=config.lr,
            betas=(0.9, 0.99),
            eps=1e-5,
            state=config.row_state,
        )
    groups = [g for g in parameter_groups(model, config.weight_decay, config.decay_biases) if g["params"]]
    if sparse:
        return RowAdamW(groups, lr=config.lr, betas=(0.9, 0.99), eps=1e-5)
    # one fused kernel per tensor: on small tables the per-step overhead, not the arithmetic, dominates
    fused = device.type in ("cpu", "cuda")
    return torch.optim.AdamW(
        groups, lr=config.lr, betas=(0.9, 0.99), eps=1e-5, fused=fused, foreach=not fused
    )


def schedule(config: TrainConfig, step: int, total_steps: int) -> tuple[float, float]:
    """(lr, beta1) at an optimizer step: fastai's one-cycle (warm up 25%, cosine down) or constant."""
    if config.schedule == "constant" or total_steps <= 1:
        return config.lr, 0.9
    pct = step / (total_steps - 1)
    warm = 0.25
    if pct < warm:
        t = pct / warm
        lr = _cos(config.lr / 25, config.lr, t)
        return lr, _cos(0.95, 0.85, t)
    t = (pct - warm) / (1 - warm)
    return _cos(config.lr, config.lr / 1e5, t), _cos(0.85, 0.95, t)


def _cos(start: float, end: float, t: float) -> float:
    return end + (start - end) * (1 + math.cos(math.pi * t)) / 2


def set_schedule(optimizer: Optimizer, lr: float, beta1: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
        group["betas"] = (beta1, group["betas"][1])
