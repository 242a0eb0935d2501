"""The implicit model's losses: BCE is binary cross-entropy with logits, BPR its pairwise form."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from collab.models.implicit import ImplicitMF, bce_loss, bpr_loss
from collab.models.registry import build_model
from collab.training.config import PRESETS, TrainConfig


def test_bce_loss_equals_binary_cross_entropy_with_logits() -> None:
    gen = torch.Generator().manual_seed(0)
    pos, neg = torch.randn(7, generator=gen) * 3, torch.randn(7, 4, generator=gen) * 3
    logits = torch.cat([pos[:, None], neg], 1)
    labels = torch.cat([torch.ones(7, 1), torch.zeros(7, 4)], 1)
    torch.testing.assert_close(bce_loss(pos, neg), F.binary_cross_entropy_with_logits(logits, labels))
    torch.testing.assert_close(
        bce_loss(pos, neg, reduction="sum"),
        F.binary_cross_entropy_with_logits(logits, labels, reduction="sum"),
    )


def test_bpr_loss_is_minus_log_sigmoid_of_the_difference() -> None:
    pos, neg = torch.tensor([2.0, -1.0]), torch.tensor([[0.5], [1.0]])
    expected = -torch.log(torch.sigmoid(torch.tensor([1.5, -2.0]))).mean()
    torch.testing.assert_close(bpr_loss(pos, neg), expected)


def test_registry_builds_the_implicit_models_with_their_presets() -> None:
    for name in ("bpr", "bce"):
        model = build_model(TrainConfig(model=name), 5, 9)
        assert isinstance(model, ImplicitMF) and model.loss == name
        assert model(torch.tensor([[0]]), torch.arange(9)[None]).shape == (1, 9)
        assert PRESETS[name].model == name
    assert TrainConfig(model="bpr").epochs == 120 and TrainConfig(model="bpr", epochs=7).epochs == 7


def test_the_bce_models_training_loss_is_binary_cross_entropy_with_logits_of_its_scores() -> None:
    """What the model trains on (pair_loss_sum, without L2) is F.binary_cross_entropy_with_logits over
    the positives' scores (label 1) and the sampled negatives' scores (label 0)."""
    torch.manual_seed(0)
    model = ImplicitMF(6, 11, 4, "bce")
    users, pos, neg = (
        torch.tensor([0, 3, 5]),
        torch.tensor([1, 2, 10]),
        torch.tensor([[4, 7], [0, 9], [3, 3]]),
    )
    logits = torch.cat([model(users, pos)[:, None], model(users[:, None], neg)], 1)  # (3, 1 + 2)
    labels = torch.cat([torch.ones(3, 1), torch.zeros(3, 2)], 1)
    torch.testing.assert_close(
        model.pair_loss_sum(users, pos, neg, l2=0.0, bias_l2=0.0),
        F.binary_cross_entropy_with_logits(logits, labels, reduction="sum"),
    )
