"""Issue 19: the lesson's weight-decay sweep must show overfitting on the built-in demo set (the only data
a room without internet has): with fastbook's settings, no weight decay turns its validation loss up
clearly, while the lesson's 0.1 does not."""

from __future__ import annotations

import dataclasses

import pytest

from collab import TrainConfig, train
from collab.data.demo import demo_ratings
from collab.evaluate.metrics import OVERFIT_RISE, find_overfit_epoch

# the Lesson's settings (ui/lesson/common.py) on the app's default split (20% random, seed 42)
LESSON = TrainConfig(n_factors=50, weight_decay=0.1, lr=5e-3, batch_size=64, epochs=5, seed=42)


@pytest.fixture(scope="module")
def sweep() -> dict[float, list[float]]:
    data = demo_ratings(seed=0).split(valid_pct=0.2, seed=42, method="random")
    curves = {}
    for wd in (0.1, 0.0):
        result = train(data.train, data.valid, dataclasses.replace(LESSON, weight_decay=wd))
        curves[wd] = result.history
    return curves


def _rise(history) -> float:
    valid = [h.valid_loss for h in history]
    return valid[-1] / min(valid) - 1


def test_no_weight_decay_overfits_visibly_on_the_demo_set(sweep) -> None:
    history = sweep[0.0]
    assert _rise(history) > 0.05, (
        "wd 0 must end more than 5% above its best validation loss (over the 1% marker)"
    )
    epoch = find_overfit_epoch(history, tolerance=OVERFIT_RISE)
    assert epoch is not None and epoch < len(history)
    assert history[-1].train_loss < history[epoch - 1].train_loss  # training loss keeps falling meanwhile


def test_the_lessons_weight_decay_does_not(sweep) -> None:
    assert _rise(sweep[0.1]) < OVERFIT_RISE
    assert find_overfit_epoch(sweep[0.1]) is None
    assert min(h.valid_loss for h in sweep[0.1]) < min(h.valid_loss for h in sweep[0.0])
