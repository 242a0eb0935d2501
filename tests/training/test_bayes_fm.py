"""The Bayesian factorization machine: it learns, its implicit features come from the training ratings
only, its day features are used where dates are given, and it survives a save/load round trip."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

import collab
from collab import kernels
from collab.data.ratings import Ratings
from collab.evaluate import metrics
from collab.models.bayes_fm import SECONDS_PER_DAY, BayesFM
from collab.training.bayes_fm import build_features, predict_set
from collab.training.blend import train_blend
from collab.training.config import PRESETS, TrainConfig
from collab.training.loop import train

pytestmark = pytest.mark.skipif(not kernels.usable(), reason="the Gibbs sampler needs numba")

N_USERS, N_ITEMS, N_DAYS = 60, 40, 20


def planted(seed: int = 0, n: int = 1500) -> tuple[Ratings, Ratings]:
    """Rank-2 taste plus a day effect plus noise, rounded to 1-5 stars; an 80/20 split with timestamps."""
    rng = np.random.default_rng(seed)
    users, items = rng.normal(size=(N_USERS, 2)), rng.normal(size=(N_ITEMS, 2))
    u, i = rng.integers(0, N_USERS, n), rng.integers(0, N_ITEMS, n)
    pairs = np.unique(np.stack([u, i], 1), axis=0)
    u, i = pairs[:, 0], pairs[:, 1]
    day = rng.integers(0, N_DAYS, len(u))
    score = 3 + (users[u] * items[i]).sum(1) + 0.8 * np.sin(day) + rng.normal(0, 0.3, len(u))
    ratings = np.clip(np.round(score), 1, 5).astype(np.float32)
    full = Ratings(
        user_ids=u.astype(np.int64),
        item_ids=i.astype(np.int64),
        ratings=ratings,
        user_labels=np.array([f"u{k}" for k in range(N_USERS)]),
        item_labels=np.array([f"i{k}" for k in range(N_ITEMS)]),
        timestamps=(10_000 + day).astype(np.int64) * SECONDS_PER_DAY
        + rng.integers(0, SECONDS_PER_DAY, len(u)),
    )
    split = full.split(valid_pct=0.2, seed=seed)
    return split.train, split.valid


TRAIN, VALID = planted()
CONFIG = TrainConfig(model="bfm", n_factors=4, epochs=48, seed=3)


@pytest.fixture(scope="module")
def result() -> collab.TrainResult:
    return train(TRAIN, VALID, CONFIG)


def test_it_beats_the_mean_and_the_days_help(result: collab.TrainResult) -> None:
    mean_rmse = result.metrics["global_mean_rmse"]
    assert result.metrics["rmse"] < 0.8 * mean_rmse
    # both ranking protocols, as `train` reports them for the other rating models, beside popularity
    for key in ("ndcg@10", "popularity_ndcg@10", "map@10", "rated_ndcg@10", "popularity_rated_ndcg@10"):
        assert 0 <= result.metrics[key] <= 1, key
    assert result.metrics["ranked_users"] > 0
    undated = metrics.rmse(result.predict_ids(VALID.user_ids, VALID.item_ids), VALID.ratings)
    assert result.metrics["rmse"] < undated  # the planted day effect is only seen through the dates
    assert len(result.history) >= 2 and result.history[-1].epoch == CONFIG.epochs


def test_implicit_features_come_from_the_training_ratings_only() -> None:
    features = build_features(TRAIN)
    row_ptr, cols, _ = features.csr
    n_u = TRAIN.n_users
    rated = set()
    for user in range(n_u):  # the user block's implicit part: exactly the items rated in TRAIN
        row = cols[row_ptr[user] : row_ptr[user + 1]]
        rated |= {(user, int(c) - n_u) for c in row if c >= n_u}
    assert rated == set(zip(TRAIN.user_ids.tolist(), TRAIN.item_ids.tolist(), strict=True))
    valid_pairs = set(zip(VALID.user_ids.tolist(), VALID.item_ids.tolist(), strict=True))
    assert not rated & valid_pairs
    # and the validation set changes nothing in the model: same seed, same numbers with or without it
    other_valid = planted(seed=5)[1]
    a = train(TRAIN, VALID, replace(CONFIG, epochs=16))
    b = train(TRAIN, other_valid, replace(CONFIG, epochs=16))
    np.testing.assert_array_equal(a.model.user_factors.numpy(), b.model.user_factors.numpy())
    np.testing.assert_array_equal(a.model.item_bias.numpy(), b.model.item_bias.numpy())


def test_save_and_load_round_trip(result: collab.TrainResult, tmp_path: Path) -> None:
    path = result.save(tmp_path / "bfm.safetensors")
    loaded = collab.load(path)
    assert isinstance(loaded.model, BayesFM) and loaded.config == result.config
    np.testing.assert_array_equal(
        loaded.predict_ids(VALID.user_ids, VALID.item_ids), result.predict_ids(VALID.user_ids, VALID.item_ids)
    )
    np.testing.assert_array_equal(predict_set(loaded.model, VALID), predict_set(result.model, VALID))
    assert loaded.metrics == result.metrics


def test_a_blend_with_the_machine_scores_on_the_rating_days() -> None:
    blend = train_blend(TRAIN, VALID, (replace(CONFIG, epochs=16), TrainConfig(n_factors=4, epochs=3)))
    assert blend.metrics["rmse"] < metrics.rmse(np.full(VALID.n_ratings, TRAIN.ratings.mean()), VALID.ratings)


def test_without_timestamps_it_still_trains() -> None:
    plain = replace(TRAIN, timestamps=None)
    result = train(plain, replace(VALID, timestamps=None), replace(CONFIG, epochs=16))
    assert np.isfinite(result.metrics["rmse"]) and any("No timestamps" in n for n in result.notes)


def test_the_preset_and_describe() -> None:
    assert PRESETS["bfm"].model == "bfm" and "rank 10" in PRESETS["bfm"].describe()


def test_the_progress_points_are_the_running_posterior_means(result: collab.TrainResult) -> None:
    # intermediate points come from the sampler's running sums, the last from the predictor: the same
    # quantity (all samples after burn-in are kept at this size), so the curve ends on the metric
    last = result.history[-1]
    assert last.valid_rmse == pytest.approx(result.metrics["rmse"], abs=1e-6)
    middle = [h.valid_rmse for h in result.history[1:-1]]
    assert middle and all(np.isfinite(middle))
    assert abs(middle[-1] - last.valid_rmse) < 0.05  # one report apart: close, not identical
    assert all(h.train_loss < h.valid_loss for h in result.history[1:])


def test_the_running_sums_match_the_predictor() -> None:
    from collab.models.bayes_fm import sample_plan
    from collab.training.bayes_fm import _Chain, extra_rows_of

    features = build_features(TRAIN)
    y = TRAIN.ratings.astype(np.float64)
    plan = sample_plan(24, TRAIN.n_users + TRAIN.n_items, 3)
    assert plan == (3, 1, 21)  # every sample after burn-in is kept at this size
    extra = extra_rows_of(features, TRAIN)
    chain = _Chain(features, 3, y, 11, plan, extra)
    chain.run(kernels.implicit_kernel("bayes_fm_gibbs"), features, y, 24)
    running_fit = chain.fit_sum / chain.n_averaged
    running_extra = chain.extra_sum / chain.n_averaged  # the same ratings, scored from their rows
    np.testing.assert_allclose(running_extra, running_fit, atol=1e-6)
    import collab.models.bayes_fm as bm
    from collab.training.bayes_fm import _fill

    saved = bm.CHAINS
    try:  # one chain fills a model as wide as one chain's samples
        bm.CHAINS = 1
        model = BayesFM(TRAIN.n_users, TRAIN.n_items, 3, 24, (1.0, 5.0))
    finally:
        bm.CHAINS = saved
    _fill(model, [chain], features, TRAIN.n_users, TRAIN.n_items)
    np.testing.assert_allclose(predict_set(model, TRAIN), np.clip(running_fit, 1, 5), atol=2e-4)


def test_the_kept_samples_are_bounded_by_the_table_size() -> None:
    from collab.models.bayes_fm import CHAINS, DAY_SLOTS, SAMPLE_CELLS, sample_plan

    burn, thin, kept = sample_plan(128, 943 + 1682, 10)  # MovieLens 100K: every sample after burn-in
    assert (burn, thin, kept) == (16, 1, 112)
    for rows, sweeps in [(64_000, 256), (9_746, 512), (3, 16), (200_000, 16)]:
        burn, thin, kept = sample_plan(sweeps, rows, 10)
        assert kept >= 1 and burn + (kept - 1) * thin < sweeps
        assert kept == 1 or CHAINS * kept * 10 * (rows + DAY_SLOTS) <= SAMPLE_CELLS


def test_the_fast_paths_give_the_pairwise_numbers(result: collab.TrainResult) -> None:
    import collab.models.bayes_fm as bm

    model = result.model
    users = torch.as_tensor(VALID.user_ids)
    items = torch.as_tensor(VALID.item_ids)
    whole = model.score_users(torch.arange(TRAIN.n_users))  # one matrix product
    np.testing.assert_allclose(whole[users, items].numpy(), model(users, items).numpy(), atol=1e-5)
    table = predict_set(model, VALID)
    saved = bm.TABLE_CELLS
    try:
        bm.TABLE_CELLS = 0  # row by row
        rows = predict_set(model, VALID)
    finally:
        bm.TABLE_CELLS = saved
    np.testing.assert_allclose(table, rows, atol=1e-5)


def test_a_rating_before_the_first_training_day_has_no_day_row() -> None:
    from collab.training.bayes_fm import extra_rows_of

    features = build_features(TRAIN)
    early = replace(VALID, timestamps=np.zeros(VALID.n_ratings, dtype=np.int64))
    rows = extra_rows_of(features, early)
    assert rows.shape == (3, VALID.n_ratings) and (rows[2] == -1).all()
    assert (rows[0] == VALID.user_ids).all() and (rows[1] == features.row_off[1] + VALID.item_ids).all()
    assert extra_rows_of(features, replace(VALID, timestamps=None))[2].max() == -1


def test_predictions_go_in_chunks_of_bounded_width_with_the_same_numbers(
    result: collab.TrainResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row of the machine's tables is chains x kept samples x rank wide (640 floats at rank 10), so the
    catalogue ranking's 2^19 pairs gathered at once peaked at 3.9 GiB on MovieLens 100K: predictions go in
    chunks whose gathered block stays within PREDICT_FLOATS, and give the same numbers."""
    from collab.models import bayes_fm

    assert bayes_fm.PREDICT_FLOATS * 4 <= 4 * 2**20  # a gathered block: at most 4 MiB
    model = result.model
    users, items = torch.as_tensor(VALID.user_ids), torch.as_tensor(VALID.item_ids)
    whole, dated = model(users, items), model.predict_at(users, items, VALID.timestamps)
    width = model.user_factors.shape[1]
    monkeypatch.setattr(bayes_fm, "PREDICT_FLOATS", 9 * width)  # 9 pairs a chunk: many chunks, one short
    monkeypatch.setattr(bayes_fm, "TABLE_CELLS", 0)  # row by row (not the whole-table product)
    assert len(users) % 9
    torch.testing.assert_close(model(users, items), whole)
    torch.testing.assert_close(model.predict_at(users, items, VALID.timestamps), dated)
