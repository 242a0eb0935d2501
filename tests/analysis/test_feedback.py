"""collab.analysis.feedback: the popular items, the popularity baseline's lists, and the share of each kind of
top-k list going to the most-rated items (the numbers behind the Lesson's feedback-loop step)."""

from __future__ import annotations

import numpy as np
import pytest

from collab.analysis import feedback
from collab.plots import chapter8 as plots


def test_popular_items_are_the_top_tenth_with_ties_to_the_lower_index() -> None:
    counts = np.array([5, 9, 9, 1, 0, 3, 2, 2, 8, 7, 6, 4, 0, 0, 1, 1, 2, 3, 9, 4])  # 20 items: 2 popular
    assert np.flatnonzero(feedback.popular_items(counts)).tolist() == [1, 2]
    assert feedback.popular_items(np.array([3, 1])).sum() == 1  # at least one


def test_popularity_lists_are_the_most_rated_items_each_user_has_not_rated() -> None:
    # item counts: 0 -> 3, 1 -> 2, 2 -> 1, 3 -> 0; user 0 rated items 0 and 1
    users = np.array([0, 0, 1, 2, 1, 2])
    items = np.array([0, 1, 0, 0, 1, 2])
    lists = feedback.popularity_top_lists(users, items, n_items=4, k=2)
    assert lists.tolist() == [[2, 3], [2, 3], [1, 3]]


def test_popularity_lists_in_chunks_match_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 50, 400), rng.integers(0, 30, 400)
    whole = feedback.popularity_top_lists(users, items, 30, 5)
    monkeypatch.setattr(feedback, "CHUNK_CELLS", 64)  # two users at a time
    assert np.array_equal(feedback.popularity_top_lists(users, items, 30, 5), whole)


def test_popularity_bias_counts_the_slots_going_to_popular_items() -> None:
    counts = np.array([50, 10, 10, 10, 10, 5, 5, 0, 0, 0])  # one popular item (10%): half the ratings
    model = np.array([[0, 1], [2, 3]])  # one slot of four is the popular item
    baseline = np.array([[0, 1], [0, 1]])
    bias = feedback.popularity_bias(model, baseline, counts, k=2)
    assert (bias.n_popular, bias.n_users, bias.n_items) == (1, 2, 10)
    assert bias.rating_share == pytest.approx(0.5)
    assert bias.model_share == pytest.approx(0.25) and bias.popularity_share == pytest.approx(0.5)
    assert (bias.model_coverage, bias.popularity_coverage) == (4, 2)


def test_popularity_bias_of_a_trained_model_on_the_demo_set(tiny_demo_model) -> None:
    result, train = tiny_demo_model
    bias = feedback.popularity_bias_of(result, train, k=10)
    assert bias.n_users == train.n_users and bias.n_popular == 40
    assert bias.popularity_share > 0.9  # popularity fills its lists with the popular items
    assert 0 <= bias.model_share <= 1 and bias.model_coverage > bias.popularity_coverage
    table = feedback.new_user_table(result, {str(result.item_labels[0]): 5.0}, train, n=10)
    assert list(table.columns) == ["title", "predicted", "ratings", "top 10%"] and len(table) == 10
    assert table["title"].str.startswith("The ").all()


def test_share_figure_has_one_bar_per_share() -> None:
    fig = plots.popularity_share_figure({"a": 0.1, "b": 0.5}, 4, 40)
    assert list(fig.data[0].x) == [10.0, 50.0] and fig.layout.xaxis.title.text == "% to the 4 most rated"


@pytest.fixture(scope="module")
def tiny_demo_model():
    from collab.data.demo import demo_ratings
    from collab.training.config import TrainConfig
    from collab.training.loop import train

    train_set, valid_set = demo_ratings(seed=0).split(valid_pct=0.2, seed=42)
    config = TrainConfig(epochs=3, n_factors=8, lr=0.03, weight_decay=0.1, seed=0)
    return train(train_set, valid_set, config), train_set
