"""No silent wrong results (issue 20), defects 1 and 3: one vocabulary, checked, wherever a model meets a
`Ratings` it was not trained with; a model of another dataset whose ids merely coincide is caught."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collab import read_ratings, top_n, train
from collab.analysis.model_check import check_model_data
from collab.analysis.recommend import predictions_csv, ranking_quality_of, recommend_for_user
from collab.cli import main
from collab.data.demo import demo_ratings
from collab.training.config import TrainConfig

TINY = TrainConfig(n_factors=3, epochs=1, batch_size=16, seed=0)


@pytest.fixture(scope="module")
def planted():
    """A model with structure to lose: the demo set's split, three epochs."""
    ratings = demo_ratings(seed=0)
    train_set, valid_set = ratings.split(valid_pct=0.2, seed=0)
    return train_set, valid_set, train(train_set, valid_set, TrainConfig(epochs=3, seed=0))


def relabelled(frame: pd.DataFrame, column: str, seed: int = 0) -> pd.DataFrame:
    """The same labels over other people (or items): each label of `column` moved to another row's."""
    labels = np.unique(frame[column].astype(str))
    moved = dict(zip(labels, np.random.default_rng(seed).permutation(labels), strict=True))
    return frame.assign(**{column: frame[column].astype(str).map(moved)})


def test_a_model_of_another_dataset_whose_ids_coincide_is_refused(planted) -> None:
    _, valid_set, result = planted
    held_out = check_model_data(result, read_ratings(valid_set.frame(), name="held out"))
    assert held_out.refusal is None and not held_out.warnings  # the same data, read again: fine
    other = read_ratings(relabelled(valid_set.frame(), "item"), name="other")
    check = check_model_data(result, other)
    assert check.known_items[0] == check.known_items[1]  # every label known: overlap alone cannot tell
    assert check.refusal is not None and "ids coincide with another dataset" in check.refusal
    users_only = check_model_data(result, read_ratings(relabelled(valid_set.frame(), "user"), name="o"))
    assert users_only.refusal is not None or any("another dataset" in w for w in users_only.warnings)


def test_cli_evaluate_refuses_coinciding_ids_with_exit_2(planted, tmp_path, capsys) -> None:
    _, valid_set, result = planted
    model = result.save(tmp_path / "m.safetensors")
    relabelled(valid_set.frame(), "item").to_csv(tmp_path / "other.csv", index=False)
    valid_set.frame().to_csv(tmp_path / "held_out.csv", index=False)
    assert main(["evaluate", str(model), str(tmp_path / "other.csv")]) == 2
    err = capsys.readouterr().err
    assert "ids coincide" in err and "--force" in err
    assert main(["evaluate", str(model), str(tmp_path / "held_out.csv")]) == 0


def test_evaluate_rank_and_recommend_match_a_separately_read_ratings_by_label(planted) -> None:
    train_set, valid_set, result = planted
    shuffled = valid_set.frame().sample(frac=1.0, random_state=3)
    shuffled = shuffled[shuffled["item"] != shuffled["item"].iloc[0]]  # one item fewer: every id shifts
    read_valid = read_ratings(shuffled.reset_index(drop=True))
    read_train = read_ratings(train_set.frame().sample(frac=1.0, random_state=4))
    assert not np.array_equal(read_valid.item_labels, valid_set.item_labels)  # numbered apart
    same_pairs = valid_set.subset(np.isin(valid_set.item_labels[valid_set.item_ids], read_valid.item_labels))
    direct, read = result.evaluate(same_pairs, train_set), result.evaluate(read_valid, read_train)
    for name in ("rmse", "mae", "ndcg@10", "map@10", "mrr@10", "rated_ndcg@10"):
        assert read[name] == pytest.approx(direct[name], abs=1e-6), name
    assert read["n_unknown"] == 0
    quality = ranking_quality_of(result, read_train, read_valid)
    assert quality.model["ndcg"] == pytest.approx(direct["ndcg@10"], abs=1e-6)
    user = 0
    by_ids = recommend_for_user(result, train_set, user).item_ids
    assert list(recommend_for_user(result, read_train, user).item_ids) == list(by_ids)
    assert list(top_n(result, result.user_labels[0], ratings=read_train).item) == list(
        result.item_labels[by_ids]
    )
    rows = predictions_csv(result, read_valid).splitlines()[1:]
    first = rows[0].split(",")
    assert float(first[-1]) == pytest.approx(result.predict([first[0]], [first[1]])[0], abs=1e-4)


def test_predict_scores_pairs_and_names_a_shape_mismatch(planted) -> None:
    _, _, result = planted
    users, items = list(result.user_labels[:3]), list(result.item_labels[:3])
    assert result.predict(users, items).shape == (3,)
    for bad_users, bad_items in ((users[:1], items), (users, items[:2]), (users[0], items[0])):
        with pytest.raises(ValueError, match="pairs: give two lists of labels of one length"):
            result.predict(bad_users, bad_items)


# ---- the property: frames or separately read Ratings, the same model ------------------------------

frames = st.lists(
    st.tuples(st.integers(1, 6), st.integers(1, 7), st.integers(1, 5)), min_size=1, max_size=40
).map(lambda rows: pd.DataFrame(rows, columns=["userId", "movieId", "rating"]).astype({"rating": float}))


def outcome(read: bool, train_frame: pd.DataFrame, valid_frame: pd.DataFrame) -> tuple[str, object]:
    try:
        if read:
            result = train(read_ratings(train_frame), read_ratings(valid_frame), TINY)
        else:
            result = train(train_frame, valid_frame, TINY)
    except ValueError as error:  # unusable data, or no validation pair left: the same kind both ways
        return "error", type(error).__name__
    weights = {k: v.clone() for k, v in result.model.state_dict().items()}
    return "model", (
        result.user_labels.tolist(),
        result.item_labels.tolist(),
        weights,
        result.metrics,
        result.notes,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(train_frame=frames, valid_frame=frames)
def test_any_two_frames_give_the_same_model_as_separately_read_ratings(train_frame, valid_frame) -> None:
    kind, by_frames = outcome(False, train_frame, valid_frame)
    other_kind, by_reads = outcome(True, train_frame, valid_frame)
    assert kind == other_kind
    if kind == "error":
        assert by_frames == by_reads
        return
    users, items, weights, metrics, notes = by_frames
    assert (users, items, notes) == (by_reads[0], by_reads[1], by_reads[4])
    for name, tensor in weights.items():
        assert torch.equal(tensor, by_reads[2][name]), name
    assert metrics.keys() == by_reads[3].keys()
    for name, value in metrics.items():
        assert value == pytest.approx(by_reads[3][name], nan_ok=True), name
