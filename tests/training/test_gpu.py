"""CUDA: training runs, AMP runs, same seed gives the same numbers, memory is measured."""

from __future__ import annotations

import pytest
import torch

from collab.training.accumulation import compare_accumulation
from collab.training.loop import train
from tests.training.test_loop import TRAIN, VALID, small

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]


@pytest.mark.parametrize("model", ["dot", "nn", "classifier"])
@pytest.mark.parametrize("amp", [False, True])
def test_trains_on_cuda(model: str, amp: bool) -> None:
    result = train(TRAIN, VALID, small(model=model, device="cuda", amp=amp, epochs=3))
    assert result.device.startswith("cuda")
    assert next(result.model.parameters()).device.type == "cpu"
    assert result.metrics["rmse"] < result.metrics["global_mean_rmse"] * 1.1


def test_same_seed_same_numbers_on_cuda() -> None:
    config = small(device="cuda", epochs=2)
    first, second = train(TRAIN, VALID, config), train(TRAIN, VALID, config)
    assert [h.valid_loss for h in first.history] == [h.valid_loss for h in second.history]


def test_accumulation_check_measures_cuda_memory() -> None:
    check = compare_accumulation(TRAIN, small(device="cuda"), TRAIN.n_users, TRAIN.n_items, 8, 4)
    assert check.memory_measured and check.max_abs_diff < 1e-5
