"""Models: shapes, y_range bounds, the classifier's loss and prediction, embedding sizes."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from collab.models.base import embedding_size, sigmoid_range
from collab.models.embedding import BiasOnly, DotProductBias, EmbeddingNN, RatingClassifier
from collab.models.registry import build_model
from collab.training.config import TrainConfig

USERS = torch.tensor([0, 1, 2, 3, 4, 0])
ITEMS = torch.tensor([0, 1, 2, 3, 6, 6])


@pytest.mark.parametrize(
    ("model", "kind"),
    [("dot", DotProductBias), ("nn", EmbeddingNN), ("bias", BiasOnly), ("classifier", RatingClassifier)],
    ids=["dot", "nn", "bias", "classifier"],
)
def test_build_model_and_prediction_shape(model: str, kind: type) -> None:
    built = build_model(TrainConfig(model=model, n_factors=4), 5, 7)
    assert isinstance(built, kind)
    assert built.predict_ratings(USERS, ITEMS).shape == (6,)


@pytest.mark.parametrize("model", ["dot", "nn", "bias"])
@pytest.mark.parametrize("scale", [100.0, -100.0])
def test_y_range_bounds_hold_for_extreme_weights(model: str, scale: float) -> None:
    built = build_model(TrainConfig(model=model, n_factors=4, y_range=(0.5, 5.5)), 5, 7)
    with torch.no_grad():
        for param in built.parameters():
            param.fill_(scale if param.dim() == 2 and param.shape[1] == 1 else abs(scale))
        predictions = built.predict_ratings(USERS, ITEMS)
    assert ((predictions >= 0.5) & (predictions <= 5.5)).all()


def test_sigmoid_range_midpoint() -> None:
    assert sigmoid_range(torch.zeros(1), 0.0, 5.5).item() == pytest.approx(2.75)


def test_classifier_loss_is_cross_entropy_and_prediction_is_expected_rating() -> None:
    torch.manual_seed(0)
    model = RatingClassifier(5, 7, 4, rating_values=(1, 2, 3, 4, 5))
    logits = model(USERS, ITEMS)  # (6, 5)
    ratings = torch.tensor([1.0, 5.0, 3.0, 4.0, 2.0, 5.0])
    expected = F.cross_entropy(logits, (ratings - 1).long(), reduction="sum")
    torch.testing.assert_close(model.loss_sum(logits, ratings), expected)
    torch.testing.assert_close(
        model.predict_ratings(USERS, ITEMS), logits.softmax(1) @ torch.arange(1.0, 6.0)
    )
    assert model.y_range == (1.0, 5.0)


def test_classifier_rejects_continuous_ratings() -> None:
    with pytest.raises(ValueError, match="distinct rating values"):
        RatingClassifier(5, 7, 4, rating_values=[x / 10 for x in range(50)])


def test_embedding_size_rule() -> None:
    assert embedding_size(944) == round(1.6 * 944**0.56)
    assert embedding_size(10**7) == 600
    model = build_model(TrainConfig(model="nn", hidden=(16, 8)), 944, 1683)
    assert model.user_factors.embedding_dim == embedding_size(944)
    assert [m.out_features for m in model.layers if isinstance(m, torch.nn.Linear)] == [16, 8, 1]


def test_sparse_tables_give_sparse_gradients() -> None:
    model = build_model(TrainConfig(n_factors=4), 5, 7, sparse=True)
    model.predict_ratings(USERS, ITEMS).sum().backward()
    assert model.user_factors.weight.grad.is_sparse


@pytest.mark.parametrize("model", ["dot", "bias"])
@pytest.mark.parametrize("sparse", [False, True])
def test_hand_written_gradient_matches_autograd(model: str, sparse: bool) -> None:
    torch.manual_seed(0)
    built = build_model(TrainConfig(model=model, n_factors=4), 5, 7, sparse=sparse)
    with torch.no_grad():
        for param in built.parameters():
            param.normal_(0, 0.5)
    ratings = torch.tensor([1.0, 5.0, 3.0, 4.0, 2.0, 5.0])
    loss = built.accumulate_gradients(USERS, ITEMS, ratings, divisor=10)
    manual = [p.grad.to_dense() for p in built.parameters()]
    built.zero_grad(set_to_none=True)
    expected = built.loss_sum(built(USERS, ITEMS), ratings)
    (expected / 10).backward()
    torch.testing.assert_close(loss, expected.detach())
    for got, want in zip(manual, (p.grad.to_dense() for p in built.parameters()), strict=True):
        torch.testing.assert_close(got, want)


def test_per_rating_l2_gradient_matches_autograd() -> None:
    torch.manual_seed(0)
    built = build_model(TrainConfig(n_factors=4, l2=0.3), 5, 7)
    with torch.no_grad():
        for param in built.parameters():
            param.normal_(0, 0.5)
    ratings = torch.tensor([1.0, 5.0, 3.0, 4.0, 2.0, 5.0])
    built.accumulate_gradients(USERS, ITEMS, ratings, divisor=10)
    manual = [p.grad.clone() for p in built.parameters()]
    built.zero_grad(set_to_none=True)
    penalty = 0.3 * (built.user_factors(USERS).square().sum() + built.item_factors(ITEMS).square().sum())
    torch.testing.assert_close(built.penalty_sum(USERS, ITEMS), penalty)
    ((built.loss_sum(built(USERS, ITEMS), ratings) + penalty) / 10).backward()
    for got, want in zip(manual, (p.grad for p in built.parameters()), strict=True):
        torch.testing.assert_close(got, want)
