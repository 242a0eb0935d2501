"""No silent wrong results (issue 20), defects 2 and 5: the papers' per-user splits, every split counting
what it held out before and after cold-start removal, and the split written out for another tool."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from collab import read_ratings
from collab.cli import main
from collab.data.errors import DataError
from tests.test_cli import FAST, frame


def timed(n_users: int = 30, per_user: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(n_users), per_user)
    items = np.concatenate([rng.choice(20, per_user, replace=False) for _ in range(n_users)])
    stamps = rng.permutation(len(users)) * 10
    return read_ratings(
        pd.DataFrame({"userId": users, "movieId": items, "rating": 1.0 + items % 5, "timestamp": stamps})
    )


def test_leave_one_out_holds_out_each_users_latest_rating() -> None:
    ratings = timed()
    split = ratings.split(method="leave_one_out")
    frame_ = ratings.frame()
    latest = frame_.loc[frame_.groupby("user", observed=True)["timestamp"].idxmax()]
    held = split.valid.frame()
    assert split.n_held_out == ratings.n_users  # one per user, before cold-start removal
    kept = set(zip(held.user, held.item, strict=True))
    assert kept <= set(zip(latest.user, latest.item, strict=True))
    assert split.valid.n_ratings + split.n_dropped == ratings.n_users
    assert np.bincount(split.valid.user_ids, minlength=ratings.n_users).max() == 1


def test_leave_last_n_holds_out_each_users_n_latest_and_keeps_one_in_train() -> None:
    ratings = timed(per_user=3)
    split = ratings.split(method="leave_last_n", n_last=2)
    assert split.n_held_out == 2 * ratings.n_users
    per_user = np.bincount(split.train.user_ids, minlength=ratings.n_users)
    assert per_user.min() == 1
    train_frame, valid_frame = split.train.frame(), split.valid.frame()
    last_train = train_frame.groupby("user", observed=True)["timestamp"].max()
    first_valid = valid_frame.groupby("user", observed=True)["timestamp"].min()
    assert (first_valid > last_train.reindex(first_valid.index)).all()  # valid is each user's future
    single = read_ratings(pd.DataFrame({"userId": [1, 2, 2], "movieId": [1, 1, 2], "rating": [1.0, 2, 3],
                                        "timestamp": [1, 2, 3]}))  # fmt: skip
    assert single.split(method="leave_last_n", n_last=5).train.n_ratings == 2  # user 1 keeps its one
    with pytest.raises(DataError, match="no timestamps"):
        read_ratings(frame().drop(columns="timestamp", errors="ignore")).split(method="leave_last_n")
    assert (
        read_ratings(frame().drop(columns="timestamp", errors="ignore"))
        .split(method="leave_one_out")
        .n_held_out
        > 0
    )  # random one, no timestamps
    with pytest.raises(ValueError, match="n_last must be a positive integer"):
        ratings.split(method="leave_last_n", n_last=0)


@pytest.mark.parametrize("method", ["random", "by_time", "by_user", "leave_one_out", "leave_last_n"])
def test_every_split_says_what_it_held_out_and_kept(method) -> None:
    split = timed().split(valid_pct=0.2, method=method)
    (note,) = split.notes
    assert note.startswith(f"{method} split: ")
    assert f"{split.n_held_out:,}" in str(note) and f"{split.valid.n_ratings:,}" in str(note)


def test_cli_says_the_split_counts_and_writes_the_split(tmp_path, capsys) -> None:
    timed().frame().rename(columns={"user": "userId", "item": "movieId"}).to_csv(
        tmp_path / "r.csv", index=False
    )
    out = tmp_path / "split"
    args = ["train", str(tmp_path / "r.csv"), *FAST, "--split", "leave_one_out", "--write-split", str(out)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "leave_one_out split: " in err and "held out" in err
    written_train, written_valid = read_ratings(out / "train.csv"), read_ratings(out / "valid.csv")
    assert written_train.n_ratings + written_valid.n_ratings <= 180
    assert np.bincount(written_valid.user_ids).max() == 1
    report = tmp_path / "m.json"
    assert main(["train", str(out / "train.csv"), "--valid", str(out / "valid.csv"), *FAST,
                 "--metrics-json", str(report)]) == 0  # fmt: skip
    (out / "f").write_text("x")
    assert main(["train", str(tmp_path / "r.csv"), *FAST, "--write-split", str(out / "f")]) == 2
