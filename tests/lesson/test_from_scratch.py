"""fastbook chapter 8 in collab.lesson.from_scratch: the named-factor dot products, nn.Parameter registering
what a plain tensor does not, and the from-scratch model learning exactly as the nn.Embedding one does."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from collab.lesson import from_scratch
from collab.plots import chapter8 as plots


def test_named_dot_gives_fastbooks_numbers() -> None:
    skywalker, casablanca = from_scratch.named_dot(from_scratch.USER1)
    assert skywalker.movie == "Last Skywalker" and skywalker.match == pytest.approx(2.142)
    assert casablanca.match == pytest.approx(-1.611)
    assert casablanca.products == pytest.approx((-0.891, -0.24, -0.48))


def test_named_dot_refuses_a_film_with_another_number_of_factors() -> None:
    with pytest.raises(ValueError, match="'Odd' has 2 factors, the user has 3"):
        from_scratch.named_dot((1.0, 0.0, 0.0), {"Odd": (1.0, 2.0)})


def test_create_params_is_a_registered_small_random_table() -> None:
    torch.manual_seed(0)
    table = from_scratch.create_params([1000, 4])
    assert isinstance(table, torch.nn.Parameter) and table.requires_grad
    assert table.shape == (1000, 4) and 0.008 < float(table.detach().std()) < 0.012


def test_each_model_registers_its_tables_and_a_plain_tensor_registers_none() -> None:
    scratch = from_scratch.parameter_shapes(from_scratch.ScratchDotProductBias(5, 7, 3))
    embedding = from_scratch.parameter_shapes(from_scratch.EmbeddingDotProductBias(5, 7, 3))
    assert scratch == [
        ("user_factors", (5, 3)),
        ("user_bias", (5,)),
        ("item_factors", (7, 3)),
        ("item_bias", (7,)),
    ]
    assert [shape for _, shape in embedding] == [(5, 3), (5, 1), (7, 3), (7, 1)]
    assert from_scratch.parameter_shapes(from_scratch.PlainTensorModel(5, 3)) == []


def test_both_models_predict_inside_y_range() -> None:
    users, items = torch.tensor([0, 1, 4]), torch.tensor([6, 0, 2])
    for model in (from_scratch.ScratchDotProductBias(5, 7, 3), from_scratch.EmbeddingDotProductBias(5, 7, 3)):
        out = model(users, items)
        assert out.shape == (3,) and bool(((out > 0) & (out < 5.5)).all())


def planted(seed: int = 0, n_users: int = 40, n_items: int = 30):
    """Ratings from planted rank-2 factors, 1-5, most cells observed."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=(n_users, 2)) @ rng.normal(size=(2, n_items))
    users, items = np.nonzero(rng.random((n_users, n_items)) < 0.7)
    ratings = np.clip(np.round(3 + truth[users, items]), 1, 5).astype(np.float32)
    valid = rng.random(len(users)) < 0.2
    return (users[~valid], items[~valid], ratings[~valid]), (users[valid], items[valid], ratings[valid])


def test_the_two_implementations_learn_the_same_way() -> None:
    (users, items, ratings), valid = planted()
    run = from_scratch.train_side_by_side(
        users, items, ratings, valid, 40, 30, n_factors=4, epochs=6, batch_size=64, lr=0.05, weight_decay=0.01
    )
    assert run.scratch_train == pytest.approx(run.embedding_train, rel=1e-5)
    assert run.scratch_valid == pytest.approx(run.embedding_valid, rel=1e-5)
    assert run.max_weight_gap < 1e-5
    assert run.scratch_train[-1] < 0.5 * run.scratch_train[0]  # it learns


def test_figures_draw_the_numbers_they_are_given() -> None:
    named = plots.named_factors_figure(("a", "b"), {"Film": (0.5, -0.25)})
    assert list(named.data[0].y) == [0.5, -0.25] and "sum +0.250" in named.data[0].name
    curves = plots.side_by_side_figure([1.0, 0.9], [1.0, 0.9], [1.2, 0.8], [1.2, 0.8])
    assert len(curves.data) == 4
    rule = plots.size_rule_figure({"users": 943})
    assert list(rule.data[1].y) == [74]
