"""The lecture's gradient-accumulation check: the gradient of one big batch equals the sum over
micro-batches, measured on the model a student just chose."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from collab.data.ratings import Ratings
from collab.models.registry import build_model
from collab.training.config import TrainConfig
from collab.training.device import resolve_device, to_tensors, use_sparse
from collab.training.loop import accumulate_group, data_y_range, rating_values_of


@dataclass(frozen=True)
class AccumulationCheck:
    """One big batch against the same rows in accumulated micro-batches: gradients, time, memory."""

    max_abs_diff: float  # largest difference between the two gradients, any parameter
    grad_norm_accum: float
    grad_norm_big: float
    seconds_per_step_accum: float
    seconds_per_step_big: float
    peak_bytes_accum: int
    peak_bytes_big: int
    memory_measured: bool  # True: CUDA's max_memory_allocated; False: estimate_memory's figure
    device: str


def _gradients(model: torch.nn.Module) -> list[torch.Tensor]:
    grads = []
    for param in model.parameters():
        grad = param.grad
        if grad is None:
            grads.append(torch.zeros_like(param))
        else:
            grads.append(grad.to_dense() if grad.is_sparse else grad.clone())
    return grads


def compare_accumulation(
    train: Ratings, config: TrainConfig, n_users: int, n_items: int, micro_batch: int, accum_steps: int
) -> AccumulationCheck:
    """Gradient of one batch of micro_batch x accum_steps ratings vs the same rows in accum_steps
    micro-batches, on a fresh model (dropout off, so the two see the same function)."""
    from collab.training.memory import estimate_memory

    if micro_batch < 1 or accum_steps < 1:
        raise ValueError("micro_batch and accum_steps must be at least 1")
    device = resolve_device(config.device)
    sparse = use_sparse(config, n_users, n_items)
    y_range = config.y_range or data_y_range(train.ratings)
    rating_values = rating_values_of(train.ratings) if config.model == "classifier" else None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build_model(config, n_users, n_items, y_range, rating_values, sparse).to(device).eval()
        order = torch.randperm(train.n_ratings, generator=torch.Generator().manual_seed(config.seed))
    rows = order[: micro_batch * accum_steps]
    users, items, ratings = (t[rows.to(device)] for t in to_tensors(train, device))
    amp = config.amp and device.type == "cuda"
    cuda = device.type == "cuda"

    def run(batch_size: int, repeats: int = 3) -> tuple[list[torch.Tensor], float, int]:
        times, peak = [], 0
        for _ in range(repeats):
            model.zero_grad(set_to_none=True)
            if cuda:
                torch.cuda.synchronize(device)
                torch.cuda.reset_peak_memory_stats(device)
                base = torch.cuda.memory_allocated(device)
            start = time.perf_counter()
            accumulate_group(model, users, items, ratings, batch_size, amp)
            if cuda:
                torch.cuda.synchronize(device)
                peak = max(peak, torch.cuda.max_memory_allocated(device) - base)
            times.append(time.perf_counter() - start)
        return _gradients(model), float(np.median(times)), peak

    grads_big, seconds_big, peak_big = run(len(users))
    grads_accum, seconds_accum, peak_accum = run(micro_batch)
    model.zero_grad(set_to_none=True)
    diff = max((a - b).abs().max().item() for a, b in zip(grads_accum, grads_big, strict=True))

    def norm(grads: list[torch.Tensor]) -> float:
        return float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).item())

    if not cuda:
        peak_big = estimate_memory(
            replace(config, batch_size=_round8(len(users)), accum_steps=1), n_users, n_items
        )
        peak_accum = estimate_memory(
            replace(config, batch_size=_round8(micro_batch), accum_steps=1), n_users, n_items
        )
        peak_big, peak_accum = peak_big.total_bytes, peak_accum.total_bytes
    return AccumulationCheck(
        max_abs_diff=diff,
        grad_norm_accum=norm(grads_accum),
        grad_norm_big=norm(grads_big),
        seconds_per_step_accum=seconds_accum,
        seconds_per_step_big=seconds_big,
        peak_bytes_accum=int(peak_accum),
        peak_bytes_big=int(peak_big),
        memory_measured=cuda,
        device=str(device),
    )


def _round8(n: int) -> int:
    return max(8, (n + 7) // 8 * 8)
