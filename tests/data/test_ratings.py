"""The `Ratings` contract: validation messages, vocabulary, splits, crosstab, summary, views."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from collab.data.errors import DataError
from collab.data.ratings import Ratings, Split
from collab.data.vocabulary import label_order


def frame(rows: list[tuple], columns: tuple[str, ...] = ("user", "item", "rating")) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


def small() -> Ratings:
    """4 users x 3 items, with timestamps and one title missing."""
    rows = [
        ("u10", "a", 5.0, 100),
        ("u2", "a", 4.0, 200),
        ("u2", "b", 3.0, 300),
        ("u3", "c", 1.0, 400),
        ("u3", "a", 2.0, 500),
        ("u3", "b", 4.0, 600),
        ("u4", "c", 5.0, 700),
        ("u4", "b", 3.5, 800),
    ]
    ratings = Ratings.from_frame(
        frame(rows, ("user", "item", "rating", "ts")), timestamp_col="ts", name="small"
    )
    items = pd.DataFrame(
        {"title": ["Alpha (1990)", "Beta (1991)"], "genres": [("Drama",), ()]}, index=["a", "b"]
    )
    return ratings.with_items(items)


# ---- validation ---------------------------------------------------------------------------------

BAD_FRAMES = [
    ("empty", frame([]), {}, ["no ratings"]),
    (
        "missing column",
        frame([(1, 2, 3.0)]),
        {"rating_col": "stars"},
        ["column 'stars' not found", "'rating'"],
    ),
    (
        "non-numeric rating",
        frame([(1, 1, 4), (1, 2, "five"), (2, 1, "x")]),
        {},
        ["column 'rating'", "2 non-numeric", "'five'", "row 1", "Use numbers"],
    ),
    ("infinite rating", frame([(1, 1, 4.0), (2, 2, np.inf)]), {}, ["1 non-numeric", "row 1"]),
    (
        "NaN user",
        frame([(1, 1, 4.0), (None, 2, 3.0)]),
        {},
        ["column 'user'", "1 empty or NaN", "row 1", "Fill them in"],
    ),
    ("NaN rating", frame([(1, 1, 4.0), (2, 2, np.nan)]), {}, ["column 'rating'", "1 empty or NaN"]),
    ("all equal", frame([(1, 1, 3.0), (2, 2, 3.0)]), {}, ["same value (3)", "all 2 rows", "right one"]),
    ("single user", frame([(1, 1, 3.0), (1, 2, 4.0)]), {}, ["single user ('1')", "at least 2 users"]),
    ("single item", frame([(1, 1, 3.0), (2, 1, 4.0)]), {}, ["single item ('1')", "at least 2 items"]),
    (
        "too many rows",
        frame([(1, 1, 3.0), (2, 2, 4.0), (3, 3, 5.0)]),
        {"max_rows": 2},
        ["more than 2 rows", "max_rows"],
    ),
    (
        "duplicates refused",
        frame([(1, 1, 3.0), (2, 2, 4.0), (1, 1, 5.0)]),
        {"duplicates": "error"},
        ["1 duplicate (user, item) rows", "row 0", "user '1', item '1'", "one rating per user and item"],
    ),
    (
        "bad timestamp",
        frame([(1, 1, 3.0, "2020-01-01"), (2, 2, 4.0, "soon")], ("user", "item", "rating", "ts")),
        {"timestamp_col": "ts"},
        ["column 'ts'", "1 values", "'soon' on row 1", "Unix seconds"],
    ),
]


@pytest.mark.parametrize(
    ("df", "options", "expected"), [c[1:] for c in BAD_FRAMES], ids=[c[0] for c in BAD_FRAMES]
)
def test_bad_frames_raise_a_message_naming_the_problem(
    df: pd.DataFrame, options: dict, expected: list[str]
) -> None:
    with pytest.raises(DataError) as caught:
        Ratings.from_frame(df, **options)
    for text in expected:
        assert text in str(caught.value)


def test_line_numbers_refer_to_the_file_when_given() -> None:
    df = frame([(1, 1, 4.0), (2, 2, "bad")])
    with pytest.raises(DataError, match="on line 3"):
        Ratings.from_frame(df, lines=2)
    with pytest.raises(DataError, match="on line 9"):
        Ratings.from_frame(df, lines=np.array([2, 9]))


def test_duplicates_keep_the_last_rating_and_are_reported() -> None:
    ratings = Ratings.from_frame(frame([(1, 1, 3.0), (2, 2, 4.0), (1, 1, 5.0), (2, 2, 1.0), (1, 2, 2.0)]))
    assert ratings.n_ratings == 3
    assert ratings.ratings.tolist() == [5.0, 1.0, 2.0]
    assert len(ratings.notes) == 1 and "2 duplicate (user, item) rows" in ratings.notes[0]
    assert "kept the last" in ratings.notes[0]


# ---- vocabulary and contract --------------------------------------------------------------------


def test_labels_are_sorted_naturally_and_ids_are_dense() -> None:
    ratings = Ratings.from_frame(frame([(10, 3, 1.0), (9, 20, 2.0), (100, 3, 3.0)]))
    assert ratings.user_labels.tolist() == ["9", "10", "100"]  # numbers sort numerically
    assert ratings.item_labels.tolist() == ["3", "20"]
    assert ratings.user_ids.tolist() == [1, 0, 2]
    assert ratings.item_ids.tolist() == [0, 1, 0]
    text = Ratings.from_frame(frame([("b", "y", 1.0), ("a", "x", 2.0), ("B", "x", 3.0)]))
    assert text.user_labels.tolist() == ["B", "a", "b"]  # text sorts lexicographically


LABEL_CASES = [
    ("plain integers: numeric", ["10", "9", "100", "0"], ["0", "9", "10", "100"]),
    ("leading zeros: text", ["007", "7", "10"], ["007", "10", "7"]),
    ("mixed text and numbers: text", ["10", "9", "x1", "B"], ["10", "9", "B", "x1"]),
    ("float-looking: text", ["1e3", "1000", "1.0", "2"], ["1.0", "1000", "1e3", "2"]),
    ("negative: text", ["-5", "3", "12"], ["-5", "12", "3"]),
    ("beyond int64: numeric", ["99999999999999999999", "8"], ["8", "99999999999999999999"]),
]


@pytest.mark.parametrize(
    ("labels", "expected"), [c[1:] for c in LABEL_CASES], ids=[c[0] for c in LABEL_CASES]
)
def test_text_labels_keep_their_text_and_sort_numerically_only_when_plain(
    labels: list[str], expected: list[str]
) -> None:
    rows = [(label, f"i{n % 2}", float(n % 5 + 1)) for n, label in enumerate(labels)]
    ratings = Ratings.from_frame(frame(rows))
    assert ratings.user_labels.tolist() == expected
    assert ratings.user_labels[ratings.user_ids].tolist() == labels  # every row keeps its own label
    assert label_order(np.array(labels)).tolist() == [labels.index(x) for x in expected]


def test_numbers_from_code_become_their_plain_text() -> None:
    ints = Ratings.from_frame(frame([(1, 1.0, 3.0), (2, 2.0, 4.0)]))
    assert ints.user_labels.tolist() == ["1", "2"] and ints.item_labels.tolist() == ["1", "2"]
    text = Ratings.from_frame(frame([("1", "1", 3.0), ("2", "2", 4.0)]))
    assert ints.fingerprint == text.fingerprint  # the same ids as numbers or as text: the same data


def test_spaces_around_a_label_are_not_part_of_it() -> None:
    ratings = Ratings.from_frame(frame([(" 7", "a ", 3.0), ("7", "b", 4.0), ("8 ", "a", 5.0)]))
    assert ratings.user_labels.tolist() == ["7", "8"] and ratings.item_labels.tolist() == ["a", "b"]
    assert ratings.user_ids.tolist() == [0, 0, 1] and ratings.item_ids.tolist() == [0, 1, 0]


def test_contract_dtypes_and_fingerprint() -> None:
    ratings = small()
    assert ratings.user_ids.dtype == np.int64 and ratings.item_ids.dtype == np.int64
    assert ratings.ratings.dtype == np.float32 and ratings.timestamps.dtype == np.int64
    assert ratings.user_labels.dtype.kind == "U"
    assert len(ratings.fingerprint) == 32
    assert small().fingerprint == ratings.fingerprint  # equal data, equal fingerprint
    assert ratings.subset(np.arange(7)).fingerprint != ratings.fingerprint


def test_row_order_does_not_change_the_vocabulary() -> None:
    rows = [(3, "x", 1.0), (1, "y", 2.0), (2, "x", 3.0), (1, "x", 4.0)]
    forward = Ratings.from_frame(frame(rows))
    backward = Ratings.from_frame(frame(rows[::-1]))
    assert forward.user_labels.tolist() == backward.user_labels.tolist()
    assert forward.item_labels.tolist() == backward.item_labels.tolist()


def test_titles_genres_and_display_names() -> None:
    ratings = small()
    assert ratings.titles.tolist() == ["Alpha (1990)", "Beta (1991)", ""]
    assert ratings.genres == (("Drama",), (), ())
    assert ratings.item_display_names().tolist() == ["Alpha (1990)", "Beta (1991)", "c"]
    assert any("1 of 3 items have no entry" in note for note in ratings.notes)


def test_rating_values_and_label_lookup() -> None:
    ratings = small()
    assert ratings.rating_values.tolist() == [1.0, 2.0, 3.0, 3.5, 4.0, 5.0]
    assert ratings.user_index(["u2", "u10"]).tolist() == [1, 0]
    assert ratings.item_index("c").tolist() == [2]
    with pytest.raises(DataError, match="1 unknown user label.*'nobody'"):
        ratings.user_index(["u2", "nobody"])


def test_frame_has_labels_and_titles() -> None:
    table = small().frame()
    assert list(table.columns) == ["user", "item", "rating", "timestamp", "title"]
    assert table.iloc[0].tolist() == ["u10", "a", 5.0, 100, "Alpha (1990)"]


def test_subset_keeps_the_vocabulary() -> None:
    ratings = small()
    part = ratings.subset(ratings.user_ids == 1)
    assert part.n_ratings == 2 and part.n_users == ratings.n_users and part.n_items == ratings.n_items
    assert part.titles is ratings.titles and part.genres is ratings.genres
    assert part.timestamps.tolist() == [200, 300]
    with pytest.raises(ValueError, match="mask has 2 entries for 8 ratings"):
        ratings.subset(np.array([True, False]))


# ---- splits -------------------------------------------------------------------------------------


def grid(n_users: int = 40, n_items: int = 30, seed: int = 0) -> Ratings:
    """A dense-ish random set: every user rates about half the items."""
    rng = np.random.default_rng(seed)
    users, items = np.nonzero(rng.random((n_users, n_items)) < 0.5)
    df = pd.DataFrame({"user": users, "item": items, "rating": rng.integers(1, 6, len(users)).astype(float)})
    df["ts"] = rng.permutation(len(df))
    return Ratings.from_frame(df, timestamp_col="ts")


@pytest.mark.parametrize("method", ["random", "by_time", "by_user"])
def test_split_shares_the_vocabulary_and_accounts_for_every_row(method: str) -> None:
    ratings = grid()
    split = ratings.split(valid_pct=0.2, seed=1, method=method)
    assert isinstance(split, Split)
    train, valid = split
    assert train.n_users == valid.n_users == ratings.n_users
    assert train.item_labels is ratings.item_labels and valid.user_labels is ratings.user_labels
    assert train.n_ratings + valid.n_ratings + split.n_dropped == ratings.n_ratings
    assert abs(valid.n_ratings + split.n_dropped - 0.2 * ratings.n_ratings) <= ratings.n_users
    train_pairs = set(zip(train.user_ids.tolist(), train.item_ids.tolist(), strict=True))
    valid_pairs = set(zip(valid.user_ids.tolist(), valid.item_ids.tolist(), strict=True))
    assert not train_pairs & valid_pairs
    again = ratings.split(valid_pct=0.2, seed=1, method=method)
    assert again.valid.fingerprint == valid.fingerprint  # same seed, same split


def test_split_by_time_puts_the_latest_ratings_in_valid() -> None:
    train, valid = grid().split(valid_pct=0.25, method="by_time")
    assert train.timestamps.max() < valid.timestamps.min()


def test_split_by_user_takes_a_share_of_each_user() -> None:
    ratings = grid()
    split = ratings.split(valid_pct=0.2, method="by_user")
    per_user = np.bincount(ratings.user_ids, minlength=ratings.n_users)
    in_valid = np.bincount(split.valid.user_ids, minlength=ratings.n_users)
    assert split.n_dropped == 0  # every user keeps ratings in train; items here are all common
    assert np.array_equal(in_valid, np.minimum(np.floor(per_user * 0.2 + 0.5), per_user - 1))


def test_split_drops_and_counts_valid_rows_unseen_in_train() -> None:
    # Item "z" has one rating; whichever split puts it in valid must drop it.
    rows = [(u, i, float(1 + (u + i) % 5)) for u in range(10) for i in range(5)] + [(0, 99, 5.0)]
    ratings = Ratings.from_frame(frame(rows))
    for seed in range(10):
        split = ratings.split(valid_pct=0.3, seed=seed)
        z = ratings.item_index("99")[0]
        assert z not in split.valid.item_ids
        in_train = z in split.train.item_ids
        assert split.n_dropped >= (0 if in_train else 1)


def test_split_rejects_bad_arguments() -> None:
    ratings = small()
    with pytest.raises(ValueError, match="between 0 and 1"):
        ratings.split(valid_pct=1.5)
    with pytest.raises(ValueError, match="one of random, by_time, by_user"):
        ratings.split(method="sideways")  # type: ignore[arg-type]
    no_time = Ratings.from_frame(frame([(1, 1, 1.0), (2, 2, 2.0)]))
    with pytest.raises(DataError, match="no timestamps.*method='random'"):
        no_time.split(method="by_time")


# ---- crosstab and summary -----------------------------------------------------------------------


def test_crosstab_shows_the_most_active_users_and_most_rated_items() -> None:
    table = small().crosstab(n_users=2, n_items=2)
    assert table.index.tolist() == ["u3", "u2"]  # 3 ratings, then 2 (ties by id order)
    assert table.columns.tolist() == ["Alpha (1990)", "Beta (1991)"]
    assert table.loc["u3"].tolist() == [2.0, 4.0]
    assert table.loc["u2"].tolist() == [4.0, 3.0]
    full = small().crosstab()
    assert full.shape == (4, 3) and int(full.notna().sum().sum()) == 8
    assert np.isnan(full.loc["u10", "c"])


def test_summary() -> None:
    summary = small().summary()
    assert (summary.n_ratings, summary.n_users, summary.n_items) == (8, 4, 3)
    assert summary.sparsity == pytest.approx(1 - 8 / 12)
    assert summary.rating_counts == {1.0: 1, 2.0: 1, 3.0: 1, 3.5: 1, 4.0: 2, 5.0: 2}
    assert summary.per_user_counts.tolist() == [1, 2, 3, 2]
    assert summary.per_item_counts.tolist() == [3, 3, 2]
    assert (summary.min_rating, summary.max_rating) == (1.0, 5.0)
    assert summary.mean_rating == pytest.approx(27.5 / 8)
    assert summary.has_timestamps and summary.has_titles


def test_empty_validation_advice_follows_the_split_method_in_both_wordings() -> None:
    from collab.data.ratings import empty_validation_error
    from collab.data.read import read_ratings
    from ui.messages import say

    one_each = read_ratings(frame([("u1", "a", 5.0), ("u2", "b", 3.0), ("u3", "a", 1.0)]))
    split = one_each.split(valid_pct=0.2, method="by_user")  # every user keeps their only rating
    assert split.valid.n_ratings == 0
    error = empty_validation_error(split.n_dropped, split.method)
    for text in (str(error), say(error)):
        assert "already by user" in text and "Split by user" not in text and "by_user" not in text
        assert "A share of each user" not in text
    assert "(valid_pct=...)" in str(error) and "(the **Validation share** slider)" in say(error)
    for method in ("random", "by_time", None):
        advice = empty_validation_error(1, method)
        assert 'Set method="by_user" so that every user keeps ratings' in str(advice)
        assert 'Set the **Split** box to "A share of each user\'s ratings" so that' in say(advice)
        assert "the 1 held-out rating belongs to a user or item with no rating left in training" in str(
            advice
        )
    many = str(empty_validation_error(3, "random"))
    assert "the 3 held-out ratings all belong to users or items with no rating left" in many
    assert "all of users" not in many
