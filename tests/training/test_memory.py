"""estimate_memory: exact parameter counts, costs that grow with factors and batch."""

from __future__ import annotations

import pytest

from collab.models.registry import build_model
from collab.training.config import TrainConfig
from collab.training.memory import estimate_memory


@pytest.mark.parametrize("model", ["dot", "nn", "bias", "classifier"])
def test_parameter_count_matches_a_real_model(model: str) -> None:
    config = TrainConfig(model=model, n_factors=16)
    real = sum(p.numel() for p in build_model(config, 50, 70).parameters())
    estimate = estimate_memory(config, 50, 70)
    assert estimate.n_parameters == real
    assert estimate.parameter_bytes == 4 * real and estimate.optimizer_bytes == 8 * real
    assert estimate.total_bytes > estimate.parameter_bytes


def test_more_factors_and_bigger_batches_cost_more() -> None:
    base = estimate_memory(TrainConfig(n_factors=32, batch_size=256), 1000, 2000, n_ratings=80_000)
    wider = estimate_memory(TrainConfig(n_factors=64, batch_size=256), 1000, 2000, n_ratings=80_000)
    bigger = estimate_memory(TrainConfig(n_factors=32, batch_size=2048), 1000, 2000, n_ratings=80_000)
    assert wider.parameter_bytes > base.parameter_bytes and wider.activation_bytes > base.activation_bytes
    assert bigger.activation_bytes == pytest.approx(8 * base.activation_bytes)
    assert base.data_bytes == 80_000 * 20
    assert "MiB" in base.describe()


def test_sparse_tables_keep_gradients_small() -> None:
    estimate = estimate_memory(TrainConfig(n_factors=50, batch_size=4096), 200_000, 50_000)
    assert estimate.sparse and estimate.gradient_bytes < estimate.parameter_bytes / 10


def test_rowwise_state_keeps_one_number_per_row() -> None:
    config = TrainConfig(n_factors=50, batch_size=4096, sparse="sparse", row_state="rowwise")
    estimate = estimate_memory(config, 200_000, 50_000)
    assert estimate.optimizer_bytes == 250_000 * 4
