"""Training the implicit models: sampled negatives, exact accumulation, it learns, it saves."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import collab
from collab import kernels
from collab.data.ratings import Ratings
from collab.models.implicit import ImplicitMF
from collab.training.config import TrainConfig
from collab.training.implicit import Exclusions, accumulate_pairs, sample_negatives_torch
from collab.training.loop import train


def _interactions(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int) -> Ratings:
    return Ratings(
        user_ids=users,
        item_ids=items,
        ratings=np.ones(len(users)),
        user_labels=np.array([f"u{i}" for i in range(n_users)]),
        item_labels=np.array([f"i{i}" for i in range(n_items)]),
    )


def _planted(
    seed: int = 0, n_users: int = 120, n_items: int = 60, groups: int = 4
) -> tuple[Ratings, Ratings]:
    """Users of a group interact with their group's items (plus a popular item everyone sees); held out:
    a few of each user's group items."""
    rng = np.random.default_rng(seed)
    train_rows, valid_rows = [], []
    for u in range(n_users):
        mine = np.flatnonzero(np.arange(n_items) % groups == u % groups)
        picked = rng.permutation(mine)[:10]
        train_rows += [(u, i) for i in picked[:7]] + [(u, n_items - 1 - (u % 3))]
        valid_rows += [(u, i) for i in picked[7:]]
    t, v = np.array(sorted(set(train_rows))), np.array(valid_rows)
    return _interactions(t[:, 0], t[:, 1], n_users, n_items), _interactions(
        v[:, 0], v[:, 1], n_users, n_items
    )


def _dense(data: Ratings) -> np.ndarray:
    mask = np.zeros((data.n_users, data.n_items), dtype=bool)
    mask[data.user_ids, data.item_ids] = True
    return mask


def test_torch_negatives_are_never_positives_or_validation_items() -> None:
    tr, va = _planted()
    excluded = _dense(tr) | _dense(va)
    keys = torch.from_numpy(Exclusions(tr, va).keys)
    users = torch.arange(tr.n_users).repeat_interleave(200)
    negatives = sample_negatives_torch(users, keys, tr.n_items, 3, torch.Generator().manual_seed(1)).numpy()
    assert not excluded[users.numpy()[:, None], negatives].any()
    assert set(negatives[users.numpy() == 0].ravel()) == set(
        np.flatnonzero(~excluded[0])
    )  # uniform over the rest


@pytest.mark.skipif(not kernels.usable(), reason="numba kernels unavailable")
def test_compiled_negatives_are_never_positives_or_validation_items() -> None:
    tr, va = _planted()
    excluded = _dense(tr) | _dense(va)
    ex = Exclusions(tr, va)
    users = np.repeat(np.arange(tr.n_users), 50)
    negatives = kernels.implicit_kernel("sample_negatives")(users, ex.indptr, ex.indices, tr.n_items, 3, 7)
    assert not excluded[users[:, None], negatives].any()


@pytest.mark.parametrize("loss", ["bpr", "bce"])
def test_gradient_accumulation_equals_one_big_batch(loss: str) -> None:
    torch.manual_seed(0)
    model = ImplicitMF(10, 20, 4, loss)
    users, pos = torch.randint(10, (24,)), torch.randint(20, (24,))
    neg = torch.randint(20, (24, 2))
    accumulate_pairs(model, users, pos, neg, batch_size=24, l2=0.05)
    whole = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    accumulate_pairs(model, users, pos, neg, batch_size=8, l2=0.05)  # 3 micro-batches
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, whole[n], rtol=0, atol=1e-7)


@pytest.mark.parametrize(
    "loss, compiled",
    [("bpr", True), ("bce", True), ("bpr", False)],
    ids=["bpr-numba", "bce-numba", "bpr-torch"],
)
def test_implicit_model_beats_popularity_on_planted_groups(
    loss: str, compiled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if compiled and not kernels.usable():
        pytest.skip("numba kernels unavailable")
    if not compiled:
        monkeypatch.setenv("COLLAB_KERNELS", "0")
    tr, va = _planted()
    config = TrainConfig(
        model=loss, n_factors=8, epochs=30 if compiled else 15, lr=0.05 if compiled else 0.02
    )
    result = train(tr, va, config)
    assert result.optimizer == ("SGD (compiled)" if compiled else "Adam")
    assert "rmse" not in result.metrics
    assert result.metrics["ndcg@10"] > result.metrics["popularity_ndcg@10"] + 0.1
    top = collab.top_n(result, ["u0", "u1"], n=5, ratings=tr)
    assert len(top) == 10 and not set(zip(top.user, top.item, strict=False)) & {
        (f"u{u}", f"i{i}") for u, i in zip(tr.user_ids, tr.item_ids, strict=False)
    }


def test_save_load_round_trip(tmp_path) -> None:
    tr, va = _planted()
    result = train(tr, None, TrainConfig(model="bce", n_factors=8, epochs=3))
    loaded = collab.load(result.save(tmp_path / "bce.safetensors"))
    assert loaded.config == result.config
    np.testing.assert_array_equal(
        loaded.predict(["u0"] * 3, ["i0", "i1", "i2"]), result.predict(["u0"] * 3, ["i0", "i1", "i2"])
    )


def test_top_n_ranks_bpr_by_its_scores_as_it_ranks_a_rating_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """`top_n(result, users, n=10, ratings=r)`: the same frame for bpr as for the dot model (columns,
    rows per user, seen items left out, best first); bpr's order is its catalogue scores' order."""
    from collab.training.implicit import catalogue_scores

    tr, va = _planted()
    users = ["u0", "u5", "u17"]
    dot = train(tr, va, TrainConfig(n_factors=8, epochs=2))
    bpr = train(tr, va, TrainConfig(model="bpr", n_factors=8, epochs=10))
    as_dot, as_bpr = (collab.top_n(r, users, n=10, ratings=tr) for r in (dot, bpr))
    assert list(as_bpr.columns) == list(as_dot.columns)
    assert (
        as_bpr.groupby("user").size().to_dict()
        == as_dot.groupby("user").size().to_dict()
        == dict.fromkeys(users, 10)
    )
    seen = _dense(tr)
    for user, rows in as_bpr.groupby("user"):
        u = int(user[1:])
        scores = catalogue_scores(bpr.model, np.array([u]))[0]
        scores[seen[u]] = -np.inf
        expected = [f"i{i}" for i in np.argsort(-scores, kind="stable")[:10]]
        assert rows.sort_values("rank").item.tolist() == expected
        assert np.all(np.diff(rows.sort_values("rank").score.to_numpy()) <= 0)
    everyone = collab.top_n(bpr, n=3, ratings=tr)  # every user at once, as for rating models
    assert len(everyone) == 3 * tr.n_users


def test_the_ranking_metrics_rank_at_most_their_share_of_users(monkeypatch: pytest.MonkeyPatch) -> None:
    from collab.training import implicit

    tr, va = _planted()
    config = TrainConfig(model="bpr", n_factors=4, epochs=2)
    assert train(tr, va, config).metrics["ranked_users"] == 120  # every validation user
    monkeypatch.setattr(implicit, "RANKED_CELLS", 25 * tr.n_items)  # a file with many users: 25 of them
    assert train(tr, va, config).metrics["ranked_users"] == 25
