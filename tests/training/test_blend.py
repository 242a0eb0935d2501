"""Blends: least-squares weights, fitted on held-out training ratings, never worse there than a member."""

from __future__ import annotations

import numpy as np
import pytest

from collab.evaluate import metrics
from collab.training.blend import fit_weights, train_blend
from collab.training.config import TrainConfig
from collab.training.loop import train
from tests.training.test_loop import TRAIN, VALID, small


def test_fit_weights_recovers_a_linear_combination() -> None:
    rng = np.random.default_rng(0)
    first, second = rng.normal(3, 1, 200), rng.normal(3, 1, 200)
    intercept, weights = fit_weights([first, second], 0.5 + 0.25 * first + 0.7 * second)
    assert intercept == pytest.approx(0.5) and weights == pytest.approx((0.25, 0.7))


def test_blend_is_no_worse_than_any_member_on_its_holdout() -> None:
    configs = [small(epochs=6, batch_size=16), TrainConfig(model="bias", epochs=4, batch_size=16, lr=0.05)]
    members: dict[int, np.ndarray] = {}
    holdout = TRAIN.split(valid_pct=0.2, seed=3).valid

    def record(stage: str, index: int, result) -> None:
        if stage == "holdout":
            members[index] = result.predict_ids(holdout.user_ids, holdout.item_ids)

    blend = train_blend(TRAIN, VALID, configs, holdout_pct=0.2, seed=3, on_member=record)
    for predicted in members.values():
        assert blend.holdout_rmse <= metrics.rmse(predicted, holdout.ratings) + 1e-9
    assert len(blend.members) == 2 and len(blend.weights) == 2
    assert blend.metrics["rmse"] < blend.members[0].metrics["global_mean_rmse"]
    labels = blend.predict(VALID.user_labels[VALID.user_ids[:5]], VALID.item_labels[VALID.item_ids[:5]])
    np.testing.assert_allclose(labels, blend.predict_ids(VALID.user_ids[:5], VALID.item_ids[:5]))
    assert "Dot product" in blend.describe() and "Biases only" in blend.describe()


def test_a_blend_needs_members() -> None:
    with pytest.raises(ValueError, match="at least one"):
        train_blend(TRAIN, VALID, [])


def test_the_full_trainings_can_come_from_elsewhere() -> None:
    configs = [small(epochs=2, batch_size=16), TrainConfig(model="bias", epochs=2, batch_size=16)]
    asked: list[str] = []

    def train_full(config: TrainConfig):
        asked.append(config.model)
        return train(TRAIN, VALID, config)

    blend = train_blend(TRAIN, VALID, configs, train_full=train_full)
    assert asked == ["dot", "bias"] and len(blend.members) == 2


def test_the_holdout_trainings_can_come_from_elsewhere() -> None:
    configs = [small(epochs=2, batch_size=16), TrainConfig(model="bias", epochs=2, batch_size=16)]
    parts: list[int] = []

    def train_holdout(fit_part, config: TrainConfig):
        parts.append(fit_part.n_ratings)
        return train(fit_part, None, config)

    blend = train_blend(TRAIN, VALID, configs, train_holdout=train_holdout)
    direct = train_blend(TRAIN, VALID, configs)
    assert len(parts) == 2 and parts[0] == parts[1] < TRAIN.n_ratings  # the 90% part, for each model
    assert blend.weights == pytest.approx(direct.weights, rel=1e-4)


def test_a_blend_refuses_a_holdout_too_small_to_fit_its_weights():
    # a tester's 42-rating file: weights fitted on 3 ratings gave a blend RMSE of 10.5 beside 4.9 and 6.3
    from collab.data.read import read_ratings
    from collab.training.blend import MIN_HOLDOUT_PER_WEIGHT, min_train_ratings

    rows = "".join(
        f"{u},{i},{(u * 3 + i * 7) % 5 + 1}\n" for u in range(20) for i in range(12) if (u + i) % 4
    )
    tiny = read_ratings(("user,item,rating\n" + rows).encode()).split(valid_pct=0.2, seed=0)
    configs = [
        TrainConfig(model="dot", n_factors=4, epochs=1, batch_size=64),
        TrainConfig(model="bias", epochs=1),
    ]
    assert min_train_ratings(2, 0.1) == 30 * MIN_HOLDOUT_PER_WEIGHT > tiny.train.n_ratings
    with pytest.raises(ValueError, match=r"too few training ratings to blend 2 models: .* need at least 30"):
        train_blend(tiny.train, tiny.valid, configs)


def test_in_parallel_the_same_blend_as_one_at_a_time() -> None:
    import torch

    from collab import kernels

    if not kernels.usable():
        pytest.skip("the Gibbs sampler needs numba")
    configs = [small(epochs=4, batch_size=16), TrainConfig(model="bfm", n_factors=3, epochs=16)]
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the parallel path trains on one thread: compare like with like
    try:
        stages: list[tuple[str, int]] = []
        together = train_blend(
            TRAIN, VALID, configs, holdout_pct=0.2, seed=3, parallel=True,
            on_member=lambda stage, index, _: stages.append((stage, index)),
        )  # fmt: skip
        alone = train_blend(TRAIN, VALID, configs, holdout_pct=0.2, seed=3, parallel=False)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert sorted(stages) == [("full", 0), ("full", 1), ("holdout", 0), ("holdout", 1)]
    assert together.weights == alone.weights and together.intercept == alone.intercept
    assert together.metrics["rmse"] == alone.metrics["rmse"]


def test_a_parallel_blend_restores_the_thread_count_and_raises_a_member_error(monkeypatch) -> None:
    import torch

    from collab import kernels
    from collab.training import blend as blend_module

    if not kernels.usable():
        pytest.skip("the Gibbs sampler needs numba")

    def failing(train_set, valid_set, config):
        if config.model == "dot":
            raise ValueError("this member cannot train")
        return train(train_set, valid_set, config)

    monkeypatch.setattr(blend_module, "train", failing)
    before = torch.get_num_threads()
    with pytest.raises(ValueError, match="cannot train"):
        train_blend(
            TRAIN, VALID, [small(epochs=1), TrainConfig(model="bfm", n_factors=2, epochs=16)], holdout_pct=0.2
        )
    assert torch.get_num_threads() == before
