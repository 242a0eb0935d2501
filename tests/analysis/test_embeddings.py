"""collab.analysis.embeddings: PCA, neighbours, bias rankings, one-hot lookups, Projector export, planted-truth recovery."""

from __future__ import annotations

import numpy as np
import pytest

from collab.analysis.embeddings import (
    bias_ranking,
    item_stats,
    most_rated,
    nearest_neighbours,
    one_hot_lookup,
    pca,
    projector_tsv,
    read_projector_tsv,
    recovery,
)


def low_rank(seed: int = 0, n: int = 200, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Rows spread along two known orthogonal directions (variance 9 and 1) around an offset."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(k, k)))
    directions = basis[:, :2].T  # (2, k)
    latent = rng.normal(size=(n, 2)) * np.array([3.0, 1.0])
    return latent @ directions + 5.0, directions


def test_pca_recovers_a_known_low_rank_matrix() -> None:
    x, directions = low_rank()
    proj = pca(x, n_components=3)
    # two components carry all the variance, in the planted 9:1 proportion (up to sampling)
    assert proj.explained[2] == pytest.approx(0.0, abs=1e-12)
    assert proj.explained[:2].sum() == pytest.approx(1.0)
    assert proj.explained[0] / proj.explained[1] == pytest.approx(9.0, rel=0.3)
    # the components span the planted directions and are orthonormal
    np.testing.assert_allclose(np.abs(proj.components[:2] @ directions.T).max(axis=1), 1.0, atol=0.02)
    np.testing.assert_allclose(proj.components[:2] @ proj.components[:2].T, np.eye(2), atol=1e-12)
    # coordinates reconstruct the data exactly
    np.testing.assert_allclose(proj.coords[:, :2] @ proj.components[:2] + proj.mean, x, atol=1e-9)


def test_pca_matches_covariance_eigenvalues_and_transforms_consistently() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 5)) @ rng.normal(size=(5, 5))
    proj = pca(x, n_components=5)
    eigenvalues = np.sort(np.linalg.eigvalsh(np.cov(x, rowvar=False)))[::-1]
    np.testing.assert_allclose(proj.explained, eigenvalues / eigenvalues.sum(), rtol=1e-9)
    np.testing.assert_allclose(proj.transform(x), proj.coords, atol=1e-12)
    # the sign convention makes the result independent of the SVD's arbitrary signs
    np.testing.assert_allclose(pca(x[::-1], 5).coords[::-1], proj.coords, atol=1e-9)


def test_pca_pads_when_there_are_fewer_factors_than_components() -> None:
    x = np.random.default_rng(2).normal(size=(30, 2))
    proj = pca(x, n_components=3)
    assert proj.coords.shape == (30, 3)
    assert proj.explained[2] == 0 and np.all(proj.coords[:, 2] == 0)


def test_pca_rejects_a_single_row() -> None:
    with pytest.raises(ValueError, match="at least 2 rows"):
        pca(np.ones((1, 4)))


# query [1, 0]: the long vector points the same way (cosine), the short one is closer (Euclidean)
NEIGHBOUR_FACTORS = np.array([[1.0, 0.0], [10.0, 0.5], [0.5, 0.5], [-1.0, 0.0]])


@pytest.mark.parametrize(
    ("metric", "order"),
    [("cosine", [1, 2, 3]), ("euclidean", [2, 3, 1])],
    ids=["cosine-by-angle", "euclidean-by-distance"],
)
def test_nearest_neighbours_on_a_constructed_example(metric: str, order: list[int]) -> None:
    found = nearest_neighbours(NEIGHBOUR_FACTORS, 0, n=3, metric=metric)
    assert found.indices.tolist() == order
    assert np.all(np.diff(found.distance) >= 0)
    if metric == "cosine":
        np.testing.assert_allclose(found.similarity, [10 / np.hypot(10, 0.5), np.sqrt(0.5), -1.0])
        np.testing.assert_allclose(found.distance, 1 - found.similarity)
    else:
        np.testing.assert_allclose(found.distance, [np.sqrt(0.5), 2.0, np.hypot(9, 0.5)])


def test_nearest_neighbours_excludes_the_query_and_limits_candidates() -> None:
    found = nearest_neighbours(NEIGHBOUR_FACTORS, 1, n=10, candidates=np.array([1, 3, 0]))
    assert found.indices.tolist() == [0, 3]
    with pytest.raises(ValueError, match="metric"):
        nearest_neighbours(NEIGHBOUR_FACTORS, 0, metric="manhattan")  # type: ignore[arg-type]
    with pytest.raises(IndexError):
        nearest_neighbours(NEIGHBOUR_FACTORS, 4)


def test_item_stats_and_most_rated() -> None:
    stats = item_stats(np.array([0, 0, 2, 2, 2]), np.array([1.0, 3.0, 5.0, 4.0, 3.0]), n_items=4)
    assert stats.counts.tolist() == [2, 0, 3, 0]
    np.testing.assert_allclose(stats.mean_rating, [2.0, np.nan, 4.0, np.nan])
    assert most_rated(stats.counts, 3).tolist() == [2, 0, 1]


def test_bias_ranking_lowest_and_highest_with_a_minimum_count() -> None:
    bias = np.array([0.5, -2.0, 1.5, -0.1, 3.0])
    ranking = bias_ranking(bias, n=2)
    assert ranking.lowest.tolist() == [1, 3] and ranking.highest.tolist() == [4, 2]
    ranking = bias_ranking(bias, n=2, counts=np.array([5, 1, 5, 5, 1]), min_count=2)
    assert ranking.lowest.tolist() == [3, 0] and ranking.highest.tolist() == [2]  # 0 not in both


def test_one_hot_times_factors_is_the_looked_up_row() -> None:
    factors = np.random.default_rng(3).normal(size=(6, 4)).astype(np.float32)
    lookup = one_hot_lookup(factors, 4)
    assert lookup.one_hot.tolist() == [0, 0, 0, 0, 1, 0]
    assert lookup.equal
    np.testing.assert_array_equal(lookup.product, factors[4])


def test_projector_tsv_round_trips_with_a_header_for_several_columns() -> None:
    vectors = np.random.default_rng(4).normal(size=(3, 4))
    titles = ["Toy Story (1995)", "Tab\there", "Line\nbreak"]
    vectors_tsv, metadata_tsv = projector_tsv(vectors, {"title": titles, "genre": ["a", "b", "c"]})
    assert "\t" in vectors_tsv.splitlines()[0] and len(vectors_tsv.splitlines()) == 3  # no header
    assert metadata_tsv.splitlines()[0] == "title\tgenre"
    back, metadata = read_projector_tsv(vectors_tsv, metadata_tsv)
    np.testing.assert_allclose(back, vectors, rtol=1e-5)
    assert metadata == {"title": ["Toy Story (1995)", "Tab here", "Line break"], "genre": ["a", "b", "c"]}


def test_projector_tsv_has_no_header_for_a_single_column() -> None:
    vectors_tsv, metadata_tsv = projector_tsv(np.eye(2), {"title": ["x", "y"]})
    assert metadata_tsv == "x\ny\n"
    assert read_projector_tsv(vectors_tsv, metadata_tsv)[1] == {"label": ["x", "y"]}
    with pytest.raises(ValueError, match="3 values for 2 vectors"):
        projector_tsv(np.eye(2), {"title": ["x", "y", "z"]})


def test_recovery_is_perfect_for_an_invertible_map_of_the_truth() -> None:
    rng = np.random.default_rng(5)
    genre = np.repeat(np.arange(3), 20)
    centres = np.array([[3.0, 0, 0], [0, 3.0, 0], [0, 0, 3.0]])
    truth = centres[genre] + rng.normal(scale=0.3, size=(60, 3))
    true_bias = rng.normal(size=60)
    learned = truth @ rng.normal(size=(3, 3)) + 0.1  # an invertible linear map, plus a shift
    found = recovery(learned, 2 * true_bias + 1, truth, true_bias, genre)
    assert found.bias_correlation == pytest.approx(1.0)
    assert found.factor_r2 == pytest.approx(1.0)
    assert found.genre_accuracy > 0.9 > found.genre_chance
    assert found.genre_separation > 0.3
    noise = recovery(rng.normal(size=(60, 3)), None, truth, true_bias, genre)
    assert np.isnan(noise.bias_correlation)
    assert noise.factor_r2 < 0.3 and noise.genre_separation < found.genre_separation


def test_a_small_model_recovers_the_planted_demo_structure() -> None:
    from collab.analysis.embeddings import recovery_of
    from collab.data.demo import demo_ratings
    from collab.training.config import TrainConfig
    from collab.training.loop import train

    ratings = demo_ratings(seed=0)
    train_set, valid_set = ratings.split(valid_pct=0.2, seed=42)
    result = train(
        train_set, valid_set, TrainConfig(epochs=4, n_factors=8, lr=0.03, weight_decay=0.1, seed=0)
    )
    found = recovery_of(result, ratings)
    assert found.bias_correlation > 0.85
    assert found.factor_r2 > 0.5
    assert found.genre_accuracy > 0.8 > 5 * found.genre_chance
    assert found.genre_separation > 0.2


def test_projection_figure_carries_ids_variance_and_highlights() -> None:
    from collab.plots.embeddings import projection_fig, ranking_fig

    coords = np.random.default_rng(6).normal(size=(6, 3))
    names = [f"t{i}" for i in range(6)]
    ids = np.array([10, 11, 12, 13, 14, 15])
    fig = projection_fig(
        coords[:, :2], names, ["a", "b", "a", "b", "a", "b"], "genre", np.array([0.5, 0.3, 0.2]),
        categorical=True, ids=ids, highlight=np.array([1, 0, 0, 0, 0, 0], dtype=bool), selected=15,
    )  # fmt: skip
    assert [t.name for t in fig.data] == ["a", "b", "highlighted"]
    assert sorted(int(c[0]) for t in fig.data[:2] for c in t.customdata) == ids.tolist()
    assert list(fig.data[2].text) == ["t0", "t5"]  # the search hit and the selected item
    assert fig.layout.xaxis.title.text == "PC1 (50.0% of variance)"
    fig3 = projection_fig(coords, names, np.arange(6.0), "bias", np.array([0.5, 0.3, 0.2]), categorical=False)
    assert (
        fig3.data[0].type == "scatter3d" and fig3.layout.scene.zaxis.title.text == "PC3 (20.0% of variance)"
    )
    with pytest.raises(ValueError, match="2 or 3 columns"):
        projection_fig(coords[:, :1], names, np.arange(6.0), "bias", np.ones(3), categorical=False)
    bars = ranking_fig({"precision": 0.5, "ndcg": 0.7}, {"precision": 0.4, "ndcg": 0.6}, k=5)
    assert [t.name for t in bars.data] == ["model", "popularity"]
    assert list(bars.data[0].x) == ["precision@5", "ndcg@5"]


def test_factor_r2_is_scored_on_held_out_items() -> None:
    """Issue 14: 500 random factors for 400 items must not 'explain' the planted factors (it scored 1.000)."""
    from collab.analysis.embeddings import held_out_r2

    rng = np.random.default_rng(0)
    truth = rng.normal(size=(400, 8))
    assert held_out_r2(rng.normal(size=(400, 500)), truth) < 0.1
    assert held_out_r2(rng.normal(size=(400, 3)), truth) < 0.1
    mapped = truth @ rng.normal(size=(8, 8)) + 0.01 * rng.normal(size=(400, 8))
    assert held_out_r2(mapped, truth) > 0.99
    genre = rng.integers(0, 4, size=400)
    found = recovery(rng.normal(size=(400, 500)), None, truth, rng.normal(size=400), genre)
    assert found.factor_r2 < 0.1
    assert np.isnan(held_out_r2(np.ones((3, 2)), np.ones((3, 2))))


def test_nearest_neighbours_can_skip_rarely_rated_items() -> None:
    factors = np.array([[1.0, 0.0], [0.99, 0.05], [0.9, 0.3], [0.0, 1.0]])
    counts = np.array([50, 1, 40, 60])
    assert nearest_neighbours(factors, 0, n=2).indices.tolist() == [1, 2]
    kept = nearest_neighbours(factors, 0, n=2, counts=counts, min_count=20)
    assert kept.indices.tolist() == [2, 3]


def test_bias_ranking_never_lists_an_item_as_both_lowest_and_highest() -> None:
    """14 items pass the minimum count, 10 asked for each way: the lists split them 7 / 7, no overlap."""
    bias = np.linspace(-1, 1, 30)
    counts = np.where(np.arange(30) % 2 == 0, 50, 1)[:30]
    counts[28:] = 1  # 14 items with enough ratings
    ranking = bias_ranking(bias, n=10, counts=counts, min_count=20)
    assert len(ranking.lowest) == 7 and len(ranking.highest) == 7
    assert not set(ranking.lowest) & set(ranking.highest)
    assert bias[ranking.lowest].max() < bias[ranking.highest].min()
    assert len(bias_ranking(bias, n=10).lowest) == 10  # enough items: n each way, as before
    one = bias_ranking(bias, n=10, counts=np.eye(30, dtype=int)[0] * 50, min_count=20)
    assert list(one.lowest) == [0] and len(one.highest) == 0
