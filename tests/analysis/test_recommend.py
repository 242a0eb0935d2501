"""collab.analysis.recommend: top-N unseen, fold-in, item suggestions, ranking quality, model/dataset checks."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from collab.analysis.recommend import (
    fold_in,
    model_mismatch,
    predictions_csv,
    recommend,
    sigmoid_range,
    similar_items,
    suggest_items_to_rate,
    top_n_unseen,
)
from collab.data.ratings import Ratings
from collab.evaluate.ranking import catalogue_ranking_quality, ranking_metrics, rated_ranking_quality

Y_RANGE = (0.5, 5.5)


def make_ratings(user_ids, item_ids, ratings, n_users: int, n_items: int) -> Ratings:
    return Ratings(
        user_ids=np.asarray(user_ids, dtype=np.int64),
        item_ids=np.asarray(item_ids, dtype=np.int64),
        ratings=np.asarray(ratings, dtype=np.float32),
        user_labels=np.array([f"u{i}" for i in range(n_users)]),
        item_labels=np.array([f"i{i}" for i in range(n_items)]),
        titles=np.array([f"Title {i}" for i in range(n_items)]),
        name="tiny",
    )


def test_top_n_unseen_excludes_rated_items_and_is_sorted() -> None:
    scores = np.array([4.0, 5.0, 3.0, 5.0, 1.0, 4.5])
    top = top_n_unseen(scores, seen=np.array([1, 5]), n=3)
    assert top.tolist() == [3, 0, 2]
    assert np.all(np.diff(scores[top]) <= 0)
    assert top_n_unseen(scores, seen=np.array([], dtype=np.int64), n=2).tolist() == [
        1,
        3,
    ]  # ties: lower index
    assert len(top_n_unseen(scores, seen=np.arange(5), n=10)) == 1


def test_recommend_carries_bias_and_dot_parts() -> None:
    scores = np.array([1.0, 3.0, 2.0])
    recs = recommend(
        scores, np.array([1]), 2, item_bias=np.array([[0.1], [0.2], [0.3]]), dot=np.array([7, 8, 9])
    )
    assert recs.item_ids.tolist() == [2, 0]
    assert recs.predicted.tolist() == [2.0, 1.0]
    assert recs.item_bias.tolist() == [0.3, 0.1] and recs.dot.tolist() == [9, 7]
    assert np.isnan(recommend(scores, np.array([1]), 2).dot).all()


def test_similar_items_are_cosine_neighbours() -> None:
    factors = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 0.1], [0.9, 1.0]])
    assert similar_items(factors, 0, n=2).indices.tolist() == [2, 3]


def planted_items(seed: int = 0, n_items: int = 60, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_items, k)), rng.normal(scale=0.3, size=n_items)


def test_fold_in_recovers_a_planted_user_from_many_ratings() -> None:
    item_factors, item_bias = planted_items()
    user, bias = np.array([0.8, -0.5, 0.3, 0.1]), 0.4
    ratings = sigmoid_range(item_factors @ user + bias + item_bias, Y_RANGE)
    fit = fold_in(item_factors, item_bias, np.arange(60), ratings, Y_RANGE, noise_var=1e-6)
    np.testing.assert_allclose(fit.user_vector, user, atol=1e-3)
    assert fit.user_bias == pytest.approx(bias, abs=1e-3)
    np.testing.assert_allclose(fit.fitted, ratings, atol=1e-4)
    np.testing.assert_allclose(fit.scores(item_factors, item_bias, Y_RANGE), ratings, atol=1e-4)


def test_fold_in_with_few_ratings_leans_on_the_prior() -> None:
    item_factors, item_bias = planted_items()
    prior_mean = np.array([0.1, 0.1, 0.1, 0.1, 0.2])
    strong = fold_in(
        item_factors, item_bias, np.array([0, 1]), np.array([5.0, 5.0]), Y_RANGE,
        prior_mean=prior_mean, prior_var=np.full(5, 1e-6),
    )  # fmt: skip
    np.testing.assert_allclose(np.append(strong.user_vector, strong.user_bias), prior_mean, atol=1e-3)
    weak = fold_in(item_factors, item_bias, np.array([0, 1]), np.array([5.0, 5.0]), Y_RANGE)
    start = sigmoid_range(item_bias[:2], Y_RANGE)
    assert np.all(weak.fitted > start)  # moved towards the 5-star ratings


def test_fold_in_rejects_mismatched_lengths() -> None:
    item_factors, item_bias = planted_items()
    with pytest.raises(ValueError, match="3 items but 2 ratings"):
        fold_in(item_factors, item_bias, np.array([0, 1, 2]), np.array([4.0, 5.0]), Y_RANGE)


def test_suggested_items_are_popular_and_diverse() -> None:
    # three tight clusters; the most rated items all sit in cluster 0
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 5
    cluster = np.repeat(np.arange(3), 10)
    factors = centres[cluster] + rng.normal(scale=0.1, size=(30, 3))
    counts = np.where(cluster == 0, 100, 50) + np.arange(30)
    picks = suggest_items_to_rate(factors, counts, n=3, pool_size=30)
    assert picks[0] == int(np.argmax(counts))
    assert sorted(cluster[picks].tolist()) == [0, 1, 2]
    assert len(set(suggest_items_to_rate(factors, counts, n=10, pool_size=12).tolist())) == 10
    assert np.all(suggest_items_to_rate(factors, counts, n=5, pool_size=5) < 30)


def test_ranking_metrics_by_hand() -> None:
    ranked = np.array([[3, 1, 2], [0, 4, 5]])
    relevant = [np.array([1, 7]), np.array([0, 4, 5, 6])]
    found = ranking_metrics(ranked, relevant, k=2)
    assert found["precision"] == pytest.approx((1 / 2 + 2 / 2) / 2)
    assert found["recall"] == pytest.approx((1 / 2 + 2 / 4) / 2)
    ndcg_first = (1 / np.log2(3)) / (1 + 1 / np.log2(3))
    assert found["ndcg"] == pytest.approx((ndcg_first + 1.0) / 2)
    assert found["hit_rate"] == 1.0
    # AP@2: row 0 hits at rank 2 (precision 1/2) over min(2 relevant, 2); row 1 hits at 1 and 2
    assert found["map"] == pytest.approx((0.5 / 2 + (1 + 1) / 2) / 2)
    assert found["mrr"] == pytest.approx((1 / 2 + 1) / 2)  # first hit at rank 2, then rank 1


def test_ranking_metrics_count_no_hit_as_zero_and_need_one_set_per_row() -> None:
    found = ranking_metrics(np.array([[1, 2, 3]]), [np.array([9])], k=3)
    assert found == {"precision": 0.0, "recall": 0.0, "ndcg": 0.0, "hit_rate": 0.0, "map": 0.0, "mrr": 0.0}
    assert all(np.isnan(v) for v in ranking_metrics(np.zeros((0, 3)), [], k=3).values())
    with pytest.raises(ValueError, match="1 rows but relevant has 2"):
        ranking_metrics(np.array([[1, 2]]), [np.array([1]), np.array([2])], k=2)


def test_catalogue_ranking_of_an_oracle_beats_popularity() -> None:
    # everyone rated item 0 (so it is excluded); item 7, rated once by user 6, is the popular unseen one;
    # each other user's one relevant validation item is "their own" item 1 + user % 6
    n_users, n_items = 7, 8
    train_u = np.r_[np.arange(n_users), 6]
    train_i = np.r_[np.zeros(n_users, dtype=int), 7]
    train = make_ratings(train_u, train_i, np.full(n_users + 1, 3.0), n_users, n_items)
    valid_u = np.arange(6)
    valid_i = 1 + valid_u
    valid = make_ratings(np.r_[valid_u, 6], np.r_[valid_i, 1], np.r_[np.full(6, 5.0), 2.0], n_users, n_items)

    def oracle(users: np.ndarray) -> np.ndarray:
        scores = np.full((len(users), n_items), 1.0)
        scores[np.arange(len(users)), 1 + users % 6] = 5.0
        scores[:, 0] = 5.5  # seen by everyone: must be skipped
        return scores

    quality = catalogue_ranking_quality(oracle, train, valid, k=1)
    assert quality.n_users == 6  # user 6 has no relevant (>= 4) validation item
    assert quality.model == dict.fromkeys(("precision", "recall", "ndcg", "hit_rate", "map", "mrr"), 1.0)
    assert quality.popularity == dict.fromkeys(("precision", "recall", "ndcg", "hit_rate", "map", "mrr"), 0.0)


def test_rated_ranking_ranks_each_users_validation_items() -> None:
    # user 0 rated items 0 (5 stars) and 1 (2 stars); item 1 is the popular one
    valid = make_ratings([0, 0, 1, 1], [0, 1, 2, 1], [5.0, 2.0, 4.0, 1.0], n_users=2, n_items=3)
    popularity = np.array([1.0, 10.0, 2.0])
    quality = rated_ranking_quality(valid, np.array([4.5, 2.5, 4.0, 1.5]), popularity, k=1)
    assert quality.protocol == "rated" and quality.n_users == 2
    assert quality.model == {"precision": 1.0, "recall": 1.0, "ndcg": 1.0}
    assert quality.popularity == {"precision": 0.0, "recall": 0.0, "ndcg": 0.0}


def test_model_mismatch_names_what_differs() -> None:
    data = make_ratings([0, 1], [0, 1], [3, 4], n_users=2, n_items=3)
    ok = SimpleNamespace(user_labels=data.user_labels, item_labels=data.item_labels)
    assert model_mismatch(ok, data) is None
    fewer = SimpleNamespace(user_labels=data.user_labels, item_labels=data.item_labels[:2])
    assert "the model has 2 items but the dataset 'tiny' has 3" in model_mismatch(fewer, data)
    renamed = SimpleNamespace(user_labels=np.array(["u0", "x"]), item_labels=data.item_labels)
    assert "1 user labels differ" in model_mismatch(renamed, data)
    assert "index 1 is 'x' in the model, 'u1' in the data" in model_mismatch(renamed, data)
    same_labels = SimpleNamespace(
        user_labels=data.user_labels, item_labels=data.item_labels, dataset="f" * 64
    )
    assert "trained on another dataset" in model_mismatch(same_labels, data)
    this_one = SimpleNamespace(
        user_labels=data.user_labels, item_labels=data.item_labels, dataset=data.fingerprint
    )
    assert model_mismatch(this_one, data) is None


def test_predictions_csv_has_labels_titles_and_predictions() -> None:
    valid = make_ratings([1, 0], [2, 0], [4.0, 2.0], n_users=2, n_items=3)
    stub = SimpleNamespace(
        predict_ids=lambda users, items: users + items / 10,
        user_labels=valid.user_labels,
        item_labels=valid.item_labels,
    )
    lines = predictions_csv(stub, valid).splitlines()
    assert lines[0] == "user,item,title,rating,predicted"
    assert lines[1] == "u1,i2,Title 2,4.0,1.2"
    assert lines[2] == "u0,i0,Title 0,2.0,0.0"


# --- on the demo set, with a small trained model ------------------------------------------------


@pytest.fixture(scope="module")
def demo_model():
    from collab.data.demo import demo_ratings
    from collab.training.config import TrainConfig
    from collab.training.loop import train

    ratings = demo_ratings(seed=0)
    train_set, valid_set = ratings.split(valid_pct=0.2, seed=42)
    config = TrainConfig(epochs=4, n_factors=8, lr=0.03, weight_decay=0.1, seed=0)
    return ratings, train_set, train(train_set, valid_set, config)


def test_fold_in_beats_popularity_for_every_planted_taste(demo_model) -> None:
    """A new user who loves one planted genre rates ten suggested items; fold-in's list suits them better."""
    from collab.analysis.recommend import fold_in_user, recommend_for_new_user
    from collab.evaluate.ranking import popularity_scores

    ratings, train_set, result = demo_model
    truth = ratings.truth
    counts = np.bincount(train_set.item_ids, minlength=ratings.n_items)
    asked = suggest_items_to_rate(result.item_factors(), counts, n=10)
    popular = top_n_unseen(popularity_scores(train_set.item_ids, ratings.n_items), asked, 10)
    fold_share, popular_share = [], []
    for genre in range(len(truth.genre_names)):
        taste = np.zeros(len(truth.genre_names))
        taste[genre] = 1.5
        true_scores = truth.global_mean + truth.item_bias + truth.item_factors @ taste  # (n_items,)
        stars = np.clip(np.round(true_scores[asked]), 1, 5)
        recs = recommend_for_new_user(result, fold_in_user(result, asked, stars), asked, n=10)
        assert not set(recs.item_ids) & set(asked)
        assert true_scores[recs.item_ids].mean() > true_scores[popular].mean(), truth.genre_names[genre]
        fold_share.append(np.mean(truth.item_genre[recs.item_ids] == genre))
        popular_share.append(np.mean(truth.item_genre[popular] == genre))
    # twice popularity's share of the genre (issue 19's noisier demo set: 0.8-star noise, many light raters)
    assert np.mean(fold_share) >= 2 * np.mean(popular_share) > 0


def test_ranking_quality_of_the_demo_model_beats_popularity(demo_model) -> None:
    from collab.analysis.recommend import ranking_quality_of

    ratings, train_set, result = demo_model
    valid_set = ratings.split(valid_pct=0.2, seed=42).valid
    quality = ranking_quality_of(result, train_set, valid_set, k=10, protocol="rated")
    assert quality.model["ndcg"] > quality.popularity["ndcg"]
    assert quality.model["precision"] == pytest.approx(result.metrics["rated_precision@10"], abs=1e-9)
    catalogue = ranking_quality_of(result, train_set, valid_set, k=10)  # the default protocol
    assert catalogue.protocol == "catalogue"
    assert catalogue.model["ndcg"] == pytest.approx(result.metrics["ndcg@10"], abs=1e-9)
