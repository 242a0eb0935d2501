"""The notebook workflow: DataFrames in, labels out, a progress bar, k-fold cross-validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import collab
from collab import (
    DataError,
    TrainConfig,
    UnknownLabelError,
    cross_validate,
    kfold,
    read_ratings,
    recommend_new_user,
    similar_to,
    top_n,
    train,
)
from collab.analysis.recommend import recommend_for_user

RNG = np.random.default_rng(0)
_pairs = np.unique(RNG.integers(0, 30 * 20, 420))[:360]
FRAME = pd.DataFrame(
    {
        "userId": [f"u{p // 20}" for p in _pairs],
        "movieId": [int(p % 20) * 7 for p in _pairs],  # ints: labels are their text
        "rating": RNG.integers(1, 6, len(_pairs)).astype(float),
        "title": [f"Film {int(p % 20) * 7}" for p in _pairs],
    }
)
SMALL = TrainConfig(n_factors=4, epochs=2, batch_size=16, lr=0.03)


@pytest.fixture(scope="module")
def ratings() -> collab.Ratings:
    return read_ratings(FRAME)


@pytest.fixture(scope="module")
def result(ratings: collab.Ratings) -> collab.TrainResult:
    return train(ratings, None, SMALL)


RENAMED = FRAME.rename(columns={"userId": "who", "movieId": "what", "rating": "stars_given"})
FRAMES = [
    ("detected names", FRAME, {}),
    ("mapped names", RENAMED, {"user_col": "who", "item_col": "what", "rating_col": "stars_given"}),
    ("positions", FRAME.set_axis(range(4), axis=1), {"user_col": 0, "item_col": 1, "rating_col": 2}),
    ("user, item, rating", FRAME.set_axis(["user", "item", "rating", "title"], axis=1), {}),
]


@pytest.mark.parametrize(("frame", "mapping"), [f[1:] for f in FRAMES], ids=[f[0] for f in FRAMES])
def test_read_ratings_takes_a_dataframe_with_a_column_mapping(frame: pd.DataFrame, mapping: dict) -> None:
    ratings = read_ratings(frame, **mapping)
    assert ratings.n_ratings == len(FRAME)
    assert set(ratings.user_labels) == set(FRAME["userId"])
    assert set(ratings.item_labels) == {str(m) for m in FRAME["movieId"]}
    assert float(ratings.ratings.sum()) == pytest.approx(FRAME["rating"].sum())


def test_a_dataframe_with_titles_keeps_them(ratings: collab.Ratings) -> None:
    assert ratings.titles is not None
    assert ratings.titles[ratings.item_index("7")[0]] == "Film 7"


BAD_FRAMES = [
    ("no rating column", FRAME.drop(columns="rating"), {}, "no rating column found"),
    ("missing named column", FRAME, {"user_col": "nope"}, "user column 'nope' not found"),
    ("position out of range", FRAME, {"rating_col": 9}, "rating column position 9 is out of range"),
    ("text ratings", FRAME.assign(rating="good"), {}, "rating"),
    ("empty", FRAME.iloc[:0], {}, "no rows"),
]


@pytest.mark.parametrize(
    ("frame", "mapping", "expected"), [b[1:] for b in BAD_FRAMES], ids=[b[0] for b in BAD_FRAMES]
)
def test_a_bad_dataframe_is_a_data_error_naming_the_argument(frame, mapping, expected) -> None:
    with pytest.raises(DataError, match=expected):
        read_ratings(frame, **mapping)


def test_train_takes_dataframes_and_maps_valid_onto_the_training_vocabulary() -> None:
    train_frame, valid_frame = FRAME.iloc[:300], FRAME.iloc[300:]
    unknown = pd.DataFrame({"userId": ["stranger"], "movieId": [7], "rating": [3.0]})
    result = train(train_frame, pd.concat([valid_frame, unknown]), SMALL)
    fitted = read_ratings(train_frame)
    assert list(result.user_labels) == list(fitted.user_labels)
    assert np.isfinite(result.metrics["rmse"])
    assert any("1 of" in note and "left out" in note for note in result.notes)
    # the same validation rows as Ratings on the training vocabulary give the same metrics
    rows = valid_frame[
        valid_frame.userId.isin(fitted.user_labels) & valid_frame.movieId.astype(str).isin(fitted.item_labels)
    ]
    same = fitted.subset(np.zeros(fitted.n_ratings, dtype=bool))
    same = collab.Ratings(
        user_ids=fitted.user_index(rows.userId.to_numpy()),
        item_ids=fitted.item_index(rows.movieId.astype(str).to_numpy()),
        ratings=rows.rating.to_numpy(np.float32),
        user_labels=same.user_labels,
        item_labels=same.item_labels,
    )
    assert train(fitted, same, SMALL).metrics["rmse"] == pytest.approx(result.metrics["rmse"], rel=1e-5)


def test_train_without_validation_scores_nothing_and_says_so() -> None:
    result = train(FRAME, None, SMALL)  # README: train(df)
    assert not any(key in result.metrics for key in ("rmse", "mae", "valid_loss", "global_mean_rmse"))
    assert not any(isinstance(v, float) and np.isnan(v) for v in result.metrics.values())
    note = next(note for note in result.notes if "valid=None" in note)
    assert "nothing was scored" in note and "split(valid_pct=0.2)" in note
    assert "not scored" in repr(result) and "nan" not in repr(result)
    train_set, valid_set = read_ratings(FRAME).split(valid_pct=0.2, seed=0)
    scored = train(train_set, valid_set, SMALL)
    assert np.isfinite(scored.metrics["rmse"]) and not any("valid=None" in n for n in scored.notes)


def test_train_with_progress_draws_a_bar_and_changes_nothing(
    ratings: collab.Ratings, capsys: pytest.CaptureFixture[str]
) -> None:
    split = ratings.split(seed=1)
    quiet = train(split.train, split.valid, SMALL)
    shown = train(split.train, split.valid, SMALL, progress=True)
    err = capsys.readouterr().err
    assert "training dot" in err and "valid_rmse" in err and "epoch=2/2" in err
    assert shown.metrics["rmse"] == pytest.approx(quiet.metrics["rmse"], rel=1e-6)


def test_train_rejects_what_is_not_ratings() -> None:
    with pytest.raises(TypeError, match="train must be Ratings or a pandas DataFrame"):
        train([(1, 2, 3)], None, SMALL)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        train(FRAME, None, {"epochs": 2})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "users", [None, "u3", ["u3", "u0"], np.array(["u1"])], ids=["all", "one", "list", "array"]
)
def test_top_n_by_label_matches_the_per_user_recommendations(result, ratings, users) -> None:
    table = top_n(result, users, n=5, ratings=ratings)
    assert list(table.columns) == ["user", "rank", "item", "title", "score"]
    wanted = list(result.user_labels) if users is None else list(np.atleast_1d(users))
    assert list(dict.fromkeys(table.user)) == wanted
    for label in wanted:
        one = recommend_for_user(result, ratings, int(ratings.user_index(label)[0]), n=5)
        rows = table[table.user == label]
        assert list(rows["rank"]) == list(range(1, len(rows) + 1))
        assert list(rows.item) == list(np.asarray(result.item_labels)[one.item_ids])
        np.testing.assert_allclose(rows.score, one.predicted, rtol=1e-6)
        rated = set(FRAME.movieId[FRAME.userId == label].astype(str))
        assert not rated & set(rows.item)
        assert all(title == f"Film {item}" for item, title in zip(rows.item, rows.title, strict=True))


def test_top_n_all_users_in_blocks_is_the_same_as_in_one(result, ratings, monkeypatch) -> None:
    whole = top_n(result, n=3, ratings=ratings)
    monkeypatch.setattr(collab.analysis.recommend, "_BLOCK_CELLS", 40)  # two users a block
    blocks = top_n(result, n=3, ratings=ratings)
    assert whole[["user", "rank", "item", "title"]].equals(blocks[["user", "rank", "item", "title"]])
    np.testing.assert_allclose(whole.score, blocks.score, rtol=1e-6)


def test_top_n_without_ratings_may_repeat_rated_items_and_has_no_fake_titles(result) -> None:
    table = top_n(result, "u0", n=50)
    assert len(table) == len(result.item_labels)  # nothing left out; n capped at the catalogue
    assert table.title.isna().all()  # no titles given: none made up from the ids


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda r, d: top_n(r, "nobody", ratings=d), "user label"),
        (lambda r, d: similar_to(r, "no-such-film"), "item label"),
        (lambda r, d: recommend_new_user(r, {"no-such-film": 4}), "item label"),
    ],
    ids=["top_n", "similar_to", "recommend_new_user"],
)
def test_unknown_labels_are_named(result, ratings, call, expected) -> None:
    with pytest.raises(UnknownLabelError, match=expected):
        call(result, ratings)


@pytest.mark.parametrize("item", ["7", 7], ids=["text label", "int label"])
def test_similar_to_takes_a_label_and_returns_labels_and_titles(result, ratings, item) -> None:
    table = similar_to(result, item, n=4, ratings=ratings)
    assert list(table.columns) == ["item", "title", "similarity", "distance"]
    assert len(table) == 4 and "7" not in set(table.item)
    assert list(table.title) == [f"Film {i}" for i in table.item]
    assert (np.diff(table.distance) >= 0).all()


@pytest.mark.parametrize(
    "rated",
    [{"7": 5.0, "14": 1.0}, pd.DataFrame({"item": [7, 14], "rating": [5.0, 1.0]})],
    ids=["dict", "frame"],
)
def test_recommend_new_user_folds_in_by_label(result, ratings, rated) -> None:
    table = recommend_new_user(result, rated, n=5, ratings=ratings)
    assert list(table.columns) == ["item", "title", "score", "item_bias", "dot"]
    assert len(table) == 5 and not {"7", "14"} & set(table.item)
    assert (np.diff(table.score) <= 1e-12).all()


@pytest.mark.parametrize("n", [0, -1, True, 2.5])
def test_a_bad_n_is_refused(result, n) -> None:
    with pytest.raises(ValueError, match="n must be a positive integer"):
        top_n(result, n=n)


@pytest.mark.parametrize("k", [2, 3, 7])
def test_kfold_folds_partition_the_ratings_exactly(ratings: collab.Ratings, k: int) -> None:
    folds = kfold(ratings, k, seed=3)
    assert len(folds) == k
    held = np.concatenate([f.held_out for f in folds])
    assert np.array_equal(np.sort(held), np.arange(ratings.n_ratings))  # each rating held out once
    sizes = [len(f.held_out) for f in folds]
    assert max(sizes) - min(sizes) <= 1
    pairs = ratings.user_ids * ratings.n_items + ratings.item_ids
    for fold in folds:
        inside = np.zeros(ratings.n_ratings, dtype=bool)
        inside[fold.held_out] = True
        train_pairs = fold.train.user_ids * ratings.n_items + fold.train.item_ids
        assert np.array_equal(np.sort(train_pairs), np.sort(pairs[~inside]))
        valid_pairs = fold.valid.user_ids * ratings.n_items + fold.valid.item_ids
        assert set(valid_pairs) <= set(pairs[inside])
        assert fold.valid.n_ratings + fold.n_dropped == len(fold.held_out)
        assert list(fold.train.user_labels) == list(ratings.user_labels)
    assert [f.held_out.tolist() for f in kfold(ratings, k, seed=3)] == [f.held_out.tolist() for f in folds]


def test_kfold_drops_only_what_no_model_could_predict() -> None:
    frame = pd.DataFrame(
        {"user": ["a", "a", "b", "b", "c"], "item": ["x", "y", "x", "y", "z"], "rating": [1, 2, 3, 4, 5]}
    )
    folds = kfold(frame, k=5, seed=0)
    lonely = [f for f in folds if 4 in f.held_out][0]  # user c / item z appear only in row 4
    assert lonely.n_dropped == 1 and lonely.valid.n_ratings == 0


@pytest.mark.parametrize("k", [1, 0, True, 10_000])
def test_kfold_rejects_a_bad_k(ratings, k) -> None:
    with pytest.raises(ValueError, match="k must be an integer from 2"):
        kfold(ratings, k)


def test_cross_validate_returns_per_fold_metrics(ratings) -> None:
    table = cross_validate(SMALL, ratings, k=3, seed=0)
    assert list(table.fold) == [0, 1, 2]
    assert {
        "rmse",
        "mae",
        "rated_ndcg@10",
        "ndcg@10",
        "map@10",
        "mrr@10",
        "popularity_ndcg@10",
        "ranked_users",
        "global_mean_rmse",
        "n_train",
        "n_valid",
        "n_dropped",
        "seconds",
    } <= set(table.columns)
    assert (table.n_train + table.n_valid + table.n_dropped == ratings.n_ratings).all()
    assert table.rmse.notna().all() and (table.rmse < 3).all()
    first = kfold(ratings, 3, seed=0)[0]
    alone = train(first.train, first.valid, SMALL)
    assert table.rmse[0] == pytest.approx(alone.metrics["rmse"], rel=1e-6)


BOOLS = ["lr", "weight_decay", "l2", "dropout", "n_factors", "epochs", "batch_size", "accum_steps", "seed"]


@pytest.mark.parametrize("field", BOOLS)
def test_train_config_rejects_booleans_where_numbers_are_expected(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: True})


@pytest.mark.parametrize(
    "fields",
    [
        {"y_range": (True, 5.0)},
        {"hidden": (True,)},
        {"decay_biases": 1},
        {"amp": "yes"},
        {"lr": float("nan")},
    ],
    ids=["y_range", "hidden", "decay_biases", "amp", "nan lr"],
)
def test_train_config_rejects_other_wrong_types(fields: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(fields))):
        TrainConfig(**fields)


def test_a_notebook_shows_ratings_and_a_result_in_one_line(
    ratings: collab.Ratings, result: collab.TrainResult
) -> None:
    """`ratings` or `result` as a cell's last line: the counts and the score, not every label and tensor."""
    shown = repr(ratings)
    assert shown.startswith("Ratings(") and "\n" not in shown and len(shown) < 300
    assert f"{ratings.n_ratings:,} ratings, {ratings.n_users:,} users, {ratings.n_items:,} items" in shown
    shown = repr(result)
    assert shown.startswith("TrainResult(") and "\n" not in shown and len(shown) < 400
    assert f"{len(result.user_labels):,} users x {len(result.item_labels):,} items" in shown
