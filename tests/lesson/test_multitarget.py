"""Two heads on one output layer: the loss is the sum of two cross-entropies, the gradient autograd's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from collab.data.demo import demo_ratings
from collab.lesson.losses import LossInputError
from collab.lesson.multitarget import train_two_target, two_head_breakdown, two_head_loss


@settings(max_examples=40, deadline=None)
@given(
    n1=st.integers(2, 6),
    n2=st.integers(2, 5),
    batch=st.integers(1, 4),
    seed=st.integers(0, 10_000),
)
def test_two_head_loss_is_the_sum_of_two_cross_entropies(n1: int, n2: int, batch: int, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    logits = (torch.randn(batch, n1 + n2, generator=generator) * 3).requires_grad_()
    t1 = torch.randint(0, n1, (batch,), generator=generator)
    t2 = torch.randint(0, n2, (batch,), generator=generator)
    total, loss1, loss2 = two_head_loss(logits, n1, t1, t2)
    expected = F.cross_entropy(logits[:, :n1], t1) + F.cross_entropy(logits[:, n1:], t2)
    torch.testing.assert_close(total, expected)
    torch.testing.assert_close(loss1 + loss2, total)
    (ours,) = torch.autograd.grad(total, logits)
    (reference,) = torch.autograd.grad(expected, logits)
    torch.testing.assert_close(ours, reference)


def test_breakdown_gradient_is_softmax_minus_one_hot_per_head() -> None:
    b = two_head_breakdown([1.0, 2.0, 0.5, -1.0, 0.3], n1=3, target1=1, target2=0)
    assert b.agrees
    assert b.loss == pytest.approx(b.loss1 + b.loss2)
    np.testing.assert_allclose(b.grad, b.autograd_grad, atol=1e-6)
    assert b.grad[:3].sum() == pytest.approx(0, abs=1e-6) and b.grad[3:].sum() == pytest.approx(0, abs=1e-6)
    assert b.probs1.sum() == pytest.approx(1) and b.probs2.sum() == pytest.approx(1)


@pytest.mark.parametrize(
    ("logits", "n1", "t1", "t2", "message"),
    [
        ([1.0, 2.0, 3.0, 4.0], 1, 0, 0, "at least 2 logits"),
        ([1.0, 2.0, 3.0, 4.0], 2, 2, 0, "head 1's target 2"),
        ([1.0, 2.0, 3.0, 4.0], 2, 0, 5, "head 2's target 5"),
    ],
    ids=["head too small", "target 1 out of range", "target 2 out of range"],
)
def test_breakdown_refuses_bad_input(logits, n1, t1, t2, message) -> None:
    with pytest.raises(LossInputError, match=message):
        two_head_breakdown(logits, n1, t1, t2)


def test_two_target_model_learns_both_heads() -> None:
    data = demo_ratings(seed=0)
    train, valid = data.split(valid_pct=0.2, seed=1)
    flags = np.array(["Horror" in g for g in data.genres])
    result = train_two_target(train, valid, flags, genre="Horror", epochs=3, seed=0)
    first, last = result.history[0], result.history[-1]
    assert len(result.history) == 3 and result.classes == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert last.genre_accuracy > result.genre_baseline  # the item embeddings learn genre from ratings
    assert last.rating_accuracy > result.rating_baseline
    assert last.genre_loss < first.genre_loss
    assert result.model.head.out_features == 5 + 2
    with pytest.raises(ValueError, match="item_has_genre"):
        train_two_target(train, valid, flags[:10])
