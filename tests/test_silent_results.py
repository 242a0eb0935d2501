"""No silent wrong results (issue 20): two separately read files, fixed train/test protocols in the CLI,
a model scored on another dataset, ranking metrics named for their protocol, splits that say what they dropped."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from collab import read_ratings, train
from collab.cli import main
from collab.training.config import TrainConfig
from collab.training.cross_validation import cross_validate
from tests.test_cli import FAST, frame

SMALL = TrainConfig(n_factors=4, epochs=2, batch_size=64, seed=0)


def halves(seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A train and a test frame whose users and items appear in different orders (so ids differ)."""
    df = frame(seed=seed).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    test = df.iloc[: len(df) // 5]
    test = test[test.movieId != test.movieId.min()]  # an item the test set lacks shifts every later id
    return df.iloc[len(df) // 5 :], test


def test_two_separately_read_ratings_train_the_same_model_as_frames() -> None:
    train_df, test_df = halves()
    by_frames = train(train_df, test_df, SMALL)
    by_reads = train(read_ratings(train_df), read_ratings(test_df), SMALL)
    read_train, read_test = read_ratings(train_df), read_ratings(test_df)
    assert read_train.n_items != read_test.n_items  # ids numbered apart: index i is another item
    assert by_reads.metrics["rmse"] == pytest.approx(by_frames.metrics["rmse"], rel=1e-9)
    assert by_reads.notes == by_frames.notes


def test_swapped_reads_are_matched_by_label_not_an_index_error() -> None:
    train_df, test_df = halves()
    swapped = train(read_ratings(test_df), read_ratings(train_df), SMALL)  # test is smaller: unseen labels
    assert np.isfinite(swapped.metrics["rmse"])
    assert any("were left out" in note for note in swapped.notes)


def test_the_two_sides_of_a_split_are_used_as_they_are() -> None:
    train_set, valid_set = read_ratings(frame()).split(valid_pct=0.2, seed=0)
    result = train(train_set, valid_set, SMALL)
    assert not any("left out" in note for note in result.notes)


def test_ranking_metrics_say_their_protocol_in_train_and_cross_validate() -> None:
    ratings = read_ratings(frame())
    result = train(*ratings.split(valid_pct=0.2, seed=0), SMALL)
    assert "rated_ndcg@10" in result.metrics and "catalogue_ndcg@10" not in result.metrics
    assert result.metrics["ranked_users"] > 0 and "popularity_ndcg@10" in result.metrics
    table = cross_validate(SMALL, ratings, k=2, seed=0)
    for name in ("ndcg@10", "recall@10", "map@10", "mrr@10", "popularity_ndcg@10", "rated_ndcg@10"):
        assert table[name].between(0, 1).all(), name
    assert (table.ranked_users > 0).all()


def test_a_by_time_split_that_drops_most_of_its_held_out_ratings_says_so() -> None:
    # each user rates in their own time window: the latest 20% are mostly of users unseen before the cut
    n_users = 40
    users = np.repeat(np.arange(n_users), 10)
    items = np.tile(np.arange(10), n_users)
    stamps = users * 1_000 + items
    ratings = read_ratings(
        pd.DataFrame({"userId": users, "movieId": items, "rating": 1.0 + items % 5, "timestamp": stamps})
    )
    split = ratings.split(valid_pct=0.2, method="by_time")
    assert split.n_held_out == split.valid.n_ratings + split.n_dropped == 80
    assert split.n_dropped > 40
    (note,) = split.notes
    assert f"{split.n_dropped:,} of 80 held-out ratings were dropped" in note
    assert "More than half" in note and "method='by_user'" in note
    assert "More than half" not in "".join(ratings.split(valid_pct=0.2, method="by_user").notes)


# ---- the command line ----------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path):
    train_df, test_df = halves()
    train_df.to_csv(tmp_path / "base.csv", index=False)
    test_df.to_csv(tmp_path / "test.csv", index=False)
    return tmp_path


def test_cli_trains_on_a_fixed_test_file_with_the_librarys_rmse(files, capsys) -> None:
    report, model = files / "m.json", files / "m.safetensors"
    args = ["train", str(files / "base.csv"), "--valid", str(files / "test.csv"), *FAST, "--seed", "0"]
    assert main([*args, "--metrics-json", str(report), "--out", str(model)]) == 0
    out = capsys.readouterr().out
    assert "\nndcg@10 (" in out and "users, all unseen items ranked)" in out
    assert "rated_ndcg@10 (" in out and "held-out items only re-ranked)" in out
    assert "baseline: popularity" in out and "baseline: rmse of predicting the mean" in out
    saved = json.loads(report.read_text())
    config = TrainConfig(n_factors=8, epochs=2, batch_size=64, seed=0)
    library = train(read_ratings(files / "base.csv"), read_ratings(files / "test.csv"), config)
    assert saved["metrics"]["rmse"] == pytest.approx(library.metrics["rmse"], abs=1e-6)
    assert main(["evaluate", str(model), str(files / "test.csv"), "--train", str(files / "base.csv")]) == 0
    evaluated = capsys.readouterr().out
    rmse_line = next(line for line in evaluated.splitlines() if line.startswith("rmse"))
    assert float(rmse_line.split()[-1]) == pytest.approx(library.metrics["rmse"], abs=1e-4)
    assert "ndcg@10 (" in evaluated and "map@10 (" in evaluated and "mrr@10 (" in evaluated


def test_cli_valid_is_a_file_not_an_abbreviation_and_0_trains_on_everything(files, capsys) -> None:
    base = str(files / "base.csv")
    with pytest.raises(SystemExit):
        main(["train", base, "--valid-p", "0.1", *FAST])
    capsys.readouterr()
    assert main(["train", base, "--valid-pct", "0", *FAST]) == 0
    assert "none (--valid-pct 0)" in capsys.readouterr().out
    assert main(["train", base, "--valid", str(files / "test.csv"), "--valid-pct", "0.1", *FAST]) == 2


def test_cli_refuses_a_model_of_another_dataset_unless_forced(files, capsys) -> None:
    model = files / "m.safetensors"
    assert main(["train", str(files / "base.csv"), *FAST, "--out", str(model)]) == 0
    other = frame(seed=1)
    other["userId"] += 10_000  # the same shape, other people
    other.to_csv(files / "other.csv", index=False)
    capsys.readouterr()
    for command in (["evaluate", str(model), str(files / "other.csv")],
                    ["recommend", str(model), "--user", "1", "--ratings", str(files / "other.csv")]):  # fmt: skip
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "another dataset" in err and "--force" in err
    assert main(["evaluate", str(model), str(files / "other.csv"), "--force"]) == 2  # nothing known at all
    assert "none of the" in capsys.readouterr().err


def test_cli_says_when_a_model_is_scored_on_its_training_file(files, capsys) -> None:
    model = files / "m.safetensors"
    assert main(["train", str(files / "base.csv"), *FAST, "--out", str(model)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(model), str(files / "base.csv")]) == 0
    assert "scored on the data it was trained on" in capsys.readouterr().err
