"""What a trained model learned: PCA of factors, nearest neighbours, bias rankings, lookups, export.

The core functions work on plain numpy arrays; the `*_of` adapters at the bottom take a
`TrainResult` and a `Ratings` so pages need only one call.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from collab.data.guards import as_text, safe_cell, text_array

if TYPE_CHECKING:
    from collab.data.ratings import Ratings
    from collab.training.result import TrainResult

Metric = Literal["cosine", "euclidean"]


@dataclass(frozen=True)
class Projection:
    """Factors projected on their principal components."""

    coords: np.ndarray  # (n, n_components) coordinates of each row
    components: np.ndarray  # (n_components, k) unit directions in factor space
    explained: np.ndarray  # (n_components,) share of total variance of each component
    mean: np.ndarray  # (k,) the centre that was subtracted

    def transform(self, factors: np.ndarray) -> np.ndarray:
        """Project other rows (for example users) onto the same components."""
        return (np.asarray(factors, dtype=np.float64) - self.mean) @ self.components.T


def pca(factors: np.ndarray, n_components: int = 3) -> Projection:
    """PCA by SVD of the centred factors; components are sign-fixed so results are stable."""
    x = np.asarray(factors, dtype=np.float64)  # (n, k)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"PCA needs a 2-D array with at least 2 rows, got shape {x.shape}")
    mean = x.mean(axis=0)
    centred = x - mean
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)  # vt: (min(n,k), k)
    total = float((singular**2).sum())
    n = min(n_components, vt.shape[0])
    components = vt[:n].copy()
    # SVD signs are arbitrary: make the largest coordinate of each component positive
    signs = np.sign(components[np.arange(n), np.abs(components).argmax(axis=1)])
    components *= signs[:, None]
    explained = (singular[:n] ** 2) / total if total > 0 else np.zeros(n)
    coords = centred @ components.T  # (n_rows, n)
    if n < n_components:  # fewer factors than components asked: pad with zeros
        pad = n_components - n
        coords = np.hstack([coords, np.zeros((len(x), pad))])
        components = np.vstack([components, np.zeros((pad, x.shape[1]))])
        explained = np.concatenate([explained, np.zeros(pad)])
    return Projection(coords=coords, components=components, explained=explained, mean=mean)


@dataclass(frozen=True)
class Neighbours:
    """The rows nearest one row, nearest first."""

    query: int
    indices: np.ndarray  # (n,) row indices, nearest first, query excluded
    similarity: np.ndarray  # (n,) cosine similarity, or NaN for Euclidean
    distance: np.ndarray  # (n,) 1 - cosine, or Euclidean distance
    metric: str


def nearest_neighbours(
    factors: np.ndarray,
    index: int,
    n: int = 10,
    metric: Metric = "cosine",
    candidates: np.ndarray | None = None,
    counts: np.ndarray | None = None,
    min_count: int = 0,
) -> Neighbours:
    """The `n` rows of `factors` nearest row `index` (itself excluded), by cosine or Euclidean distance.

    `candidates` limits the rows searched; with `counts` (n_rows,) only rows with at least `min_count`
    ratings are neighbours (rarely rated items have noisy factors that crowd the top of the list)."""
    x = np.asarray(factors, dtype=np.float64)  # (n_rows, k)
    if not 0 <= index < len(x):
        raise IndexError(f"row {index} is out of range for {len(x)} rows")
    pool = np.arange(len(x)) if candidates is None else np.asarray(candidates, dtype=np.int64)
    pool = pool[pool != index]
    if counts is not None and min_count > 0:
        pool = pool[np.asarray(counts)[pool] >= min_count]
    if metric == "cosine":
        norms = np.linalg.norm(x, axis=1)
        norms[norms == 0] = 1.0
        similarity = (x[pool] @ x[index]) / (norms[pool] * norms[index])  # (len(pool),)
        distance = 1.0 - similarity
    elif metric == "euclidean":
        distance = np.linalg.norm(x[pool] - x[index], axis=1)
        similarity = np.full(len(pool), np.nan)
    else:
        raise ValueError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")
    order = np.argsort(distance, kind="stable")[:n]
    return Neighbours(
        query=index,
        indices=pool[order],
        similarity=similarity[order],
        distance=distance[order],
        metric=metric,
    )


@dataclass(frozen=True)
class ItemStats:
    """How often each item was rated and its mean rating."""

    counts: np.ndarray  # (n_items,) int64
    mean_rating: np.ndarray  # (n_items,) float64, NaN where an item has no ratings


def item_stats(item_ids: np.ndarray, ratings: np.ndarray, n_items: int) -> ItemStats:
    """Rating counts and mean ratings per item from parallel id and rating arrays."""
    counts = np.bincount(item_ids, minlength=n_items).astype(np.int64)
    sums = np.bincount(item_ids, weights=ratings, minlength=n_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_rating = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return ItemStats(counts=counts, mean_rating=mean_rating)


def most_rated(counts: np.ndarray, n: int) -> np.ndarray:
    """Indices of the `n` most-rated rows, most rated first (ties by index)."""
    order = np.lexsort((np.arange(len(counts)), -np.asarray(counts)))
    return order[:n]


@dataclass(frozen=True)
class BiasRanking:
    """Items with the lowest and highest learned bias."""

    lowest: np.ndarray  # (n,) item indices, lowest bias first
    highest: np.ndarray  # (n,) item indices, highest bias first


def bias_ranking(
    bias: np.ndarray, n: int = 10, counts: np.ndarray | None = None, min_count: int = 0
) -> BiasRanking:
    """The `n` lowest- and highest-bias rows, optionally only rows with at least `min_count` ratings.

    With fewer than 2n such rows the two lists split them (the lower half lowest, the upper half highest)
    instead of overlapping: an item is never shown as both among the lowest and the highest."""
    b = np.asarray(bias, dtype=np.float64).reshape(-1)
    pool = np.arange(len(b))
    if counts is not None and min_count > 0:
        pool = pool[np.asarray(counts)[pool] >= min_count]
    order = pool[np.argsort(b[pool], kind="stable")]
    n_low = min(n, (len(order) + 1) // 2)
    n_high = min(n, len(order) - n_low)
    return BiasRanking(lowest=order[:n_low], highest=order[::-1][:n_high])


@dataclass(frozen=True)
class Lookup:
    """One row of an embedding table computed two ways: a one-hot product and an index."""

    index: int
    one_hot: np.ndarray  # (n_rows,) zeros with a single one
    product: np.ndarray  # (k,) one_hot @ factors
    row: np.ndarray  # (k,) factors[index]

    @property
    def equal(self) -> bool:
        return bool(np.array_equal(self.product, self.row))


def one_hot_lookup(factors: np.ndarray, index: int) -> Lookup:
    """Show that a one-hot vector times the factor matrix is the looked-up row."""
    x = np.asarray(factors)
    if not 0 <= index < len(x):
        raise IndexError(f"row {index} is out of range for {len(x)} rows")
    one_hot = np.zeros(len(x), dtype=x.dtype)
    one_hot[index] = 1
    return Lookup(index=index, one_hot=one_hot, product=one_hot @ x, row=x[index].copy())


def projector_tsv(vectors: np.ndarray, metadata: Mapping[str, Sequence[object]]) -> tuple[str, str]:
    """Two TSV texts that TensorFlow's Embedding Projector loads: vectors (no header) and metadata.

    The metadata file has a header row only when it has more than one column, as the Projector expects.
    """
    x = np.asarray(vectors, dtype=np.float64)  # (n, k)
    vectors_tsv = "".join("\t".join(f"{v:.6g}" for v in row) + "\n" for row in x)
    columns = {name: [_clean_cell(v) for v in values] for name, values in metadata.items()}
    for name, values in columns.items():
        if len(values) != len(x):
            raise ValueError(f"metadata column {name!r} has {len(values)} values for {len(x)} vectors")
    lines = []
    if len(columns) > 1:
        lines.append("\t".join(_clean_cell(name) for name in columns))
    lines.extend("\t".join(row) for row in zip(*columns.values(), strict=True))
    metadata_tsv = "".join(line + "\n" for line in lines)
    return vectors_tsv, metadata_tsv


def read_projector_tsv(vectors_tsv: str, metadata_tsv: str) -> tuple[np.ndarray, dict[str, list[str]]]:
    """Parse the two Projector TSV texts back into vectors and metadata columns."""
    vectors = np.loadtxt(io.StringIO(vectors_tsv), delimiter="\t", ndmin=2)
    rows = [line.split("\t") for line in metadata_tsv.splitlines()]
    if rows and len(rows[0]) > 1:
        header, body = rows[0], rows[1:]
        metadata = {name: [row[i] for row in body] for i, name in enumerate(header)}
    else:
        metadata = {"label": [row[0] for row in rows]}
    return vectors, metadata


def _clean_cell(value: object) -> str:
    # tabs and newlines would break the Projector's TSV parser; a leading "=" would run in a spreadsheet
    return str(safe_cell(" ".join(str(value).split())))


def _ridge_predict(x: np.ndarray, y: np.ndarray, x_new: np.ndarray) -> np.ndarray:
    """Ridge regression of y (n, m) on x (n, k) with an intercept, its penalty picked by exact
    leave-one-out error over a log grid; returns the predictions for x_new (n_new, k).

    Computed in the dual (kernel) form from the n x n Gram matrix, so k > n costs nothing extra and
    one symmetric eigendecomposition serves every penalty of the grid."""
    x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - x_mean, y - y_mean
    squared, u = np.linalg.eigh(xc @ xc.T)  # Gram = U diag(s²) Uᵀ, (n,), (n, n)
    squared = np.maximum(squared, 0.0)
    uy = u.T @ yc  # (n, m)
    top = float(squared.max()) or 1.0
    best_error, best_penalty = float("inf"), top
    for penalty in top * np.logspace(-8, 3, 23):
        shrink = squared / (squared + penalty)  # (n,) the hat matrix's eigenvalues
        fitted = u @ (shrink[:, None] * uy)
        leverage = np.einsum("ij,j,ij->i", u, shrink, u) + 1.0 / len(x)  # with the intercept's share
        loo = (yc - fitted) / np.maximum(1.0 - leverage, 1e-9)[:, None]
        error = float((loo**2).sum())
        if error < best_error:
            best_error, best_penalty = error, float(penalty)
    dual = u @ ((1.0 / (squared + best_penalty))[:, None] * uy)  # (Gram + penalty I)^-1 yc, (n, m)
    return ((x_new - x_mean) @ xc.T) @ dual + y_mean


def held_out_r2(learned: np.ndarray, truth: np.ndarray, folds: int = 2, seed: int = 0) -> float:
    """Share of the variance of `truth` (n, k_true) explained by a linear map of `learned` (n, k),
    fitted on some rows and scored on the others (`folds`-fold cross-fitting, rows shuffled by `seed`).

    Learned factors equal the true ones only up to an invertible linear map, so the map is fitted
    (ridge regression, its penalty chosen by leave-one-out error within the fitting rows); scoring it on
    the rows it was fitted on would reward any k >= n random factors with R² = 1. Returns the pooled
    out-of-fold R² (about 0 for factors unrelated to the truth, below 0 when the map predicts worse than
    the held-out mean), NaN for fewer than 2 rows per fold or a constant truth."""
    x = np.asarray(learned, dtype=np.float64)
    y = np.asarray(truth, dtype=np.float64)
    n = len(x)
    if n < 2 * folds:
        return float("nan")
    order = np.random.default_rng(seed).permutation(n)
    residual_ss = total_ss = 0.0
    for fold in np.array_split(order, folds):
        fit = np.setdiff1d(order, fold, assume_unique=True)
        predicted = _ridge_predict(x[fit], y[fit], x[fold])
        residual_ss += float(((y[fold] - predicted) ** 2).sum())
        total_ss += float(((y[fold] - y[fold].mean(axis=0)) ** 2).sum())
    return 1.0 - residual_ss / total_ss if total_ss > 0 else float("nan")


@dataclass(frozen=True)
class Recovery:
    """How well learned item factors recover a planted (demo) truth."""

    bias_correlation: float  # Pearson r between learned and true item bias (NaN without biases)
    factor_r2: float  # share of the true factors' variance explained linearly, on held-out items
    genre_accuracy: float  # nearest-genre-centroid accuracy of the learned factors (leave-one-out)
    genre_chance: float  # the same accuracy when always guessing the commonest genre
    genre_separation: float  # mean cosine to own genre centroid minus mean cosine to other centroids


def recovery(
    learned_factors: np.ndarray,
    learned_bias: np.ndarray | None,
    true_factors: np.ndarray,
    true_bias: np.ndarray,
    item_genre: np.ndarray,
    rows: np.ndarray | None = None,
    seed: int = 0,
) -> Recovery:
    """Compare learned item factors and biases with planted ones (optionally only some `rows`).

    The factor R² is scored on held-out items (see `held_out_r2`), so more learned factors than
    items cannot score 1 by fitting noise. Bias correlation is NaN when `learned_bias` is None."""
    sel = np.arange(len(learned_factors)) if rows is None else np.asarray(rows)
    x = np.asarray(learned_factors, dtype=np.float64)[sel]  # (n, k)
    truth = np.asarray(true_factors, dtype=np.float64)[sel]  # (n, k_true)
    genre = np.asarray(item_genre)[sel]
    if learned_bias is None:
        bias_corr = float("nan")
    else:
        bias_corr = float(
            np.corrcoef(np.asarray(learned_bias).reshape(-1)[sel], np.asarray(true_bias)[sel])[0, 1]
        )
    factor_r2 = held_out_r2(x, truth, seed=seed)
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    labels, genre_index = np.unique(genre, return_inverse=True)
    sums = np.zeros((len(labels), x.shape[1]))
    np.add.at(sums, genre_index, unit)
    sizes = np.bincount(genre_index, minlength=len(labels)).astype(np.float64)
    # leave-one-out centroids, so an item does not vote for its own genre
    own = sums[genre_index] - unit
    scores = unit @ sums.T  # (n, n_genres) similarity to each centroid's direction
    scores[np.arange(len(x)), genre_index] = np.einsum("ij,ij->i", unit, own)
    counts = np.broadcast_to(sizes, scores.shape).copy()
    counts[np.arange(len(x)), genre_index] -= 1
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_cos = np.where(counts > 0, scores / np.maximum(counts, 1), -np.inf)
    accuracy = float((mean_cos.argmax(axis=1) == genre_index).mean())
    own_cos = mean_cos[np.arange(len(x)), genre_index]
    others = np.where(np.isfinite(mean_cos), mean_cos, np.nan)
    others[np.arange(len(x)), genre_index] = np.nan
    valid = np.isfinite(own_cos)
    separation = (
        float(np.nanmean(own_cos[valid]) - np.nanmean(others[valid])) if valid.any() else float("nan")
    )
    return Recovery(
        bias_correlation=bias_corr,
        factor_r2=factor_r2,
        genre_accuracy=accuracy,
        genre_chance=float(sizes.max() / sizes.sum()),
        genre_separation=separation,
    )


# --- adapters over a trained model -------------------------------------------------------------


def item_stats_of(ratings: Ratings) -> ItemStats:
    """Rating counts and mean ratings per item of a `Ratings`."""
    return item_stats(ratings.item_ids, ratings.ratings.astype(np.float64), ratings.n_items)


def item_names(ratings: Ratings) -> np.ndarray:
    """A readable name per item: the title when there is one, else the original label."""
    if ratings.titles is not None:
        return as_text(ratings.titles)  # never n x the longest title (collab.data.guards.text_array)
    return as_text(ratings.item_labels)


def item_genre_names(ratings: Ratings) -> np.ndarray:
    """One genre name per item (the first listed, 'unknown' if none); the planted genre on the demo set."""
    truth = ratings.truth
    if truth is not None and hasattr(truth, "item_genre"):
        names = np.asarray(truth.genre_names, dtype=object)
        return names[np.asarray(truth.item_genre)].astype(str)
    if ratings.genres is not None:
        return text_array([g[0] if len(g) else "unknown" for g in ratings.genres])
    return np.full(ratings.n_items, "unknown")


def recovery_of(result: TrainResult, ratings: Ratings, rows: np.ndarray | None = None) -> Recovery | None:
    """Recovery of the planted truth by a trained model; None when the dataset has no truth."""
    truth = ratings.truth
    if truth is None:
        return None
    return recovery(
        result.item_factors(),
        result.item_bias(),
        truth.item_factors,
        truth.item_bias,
        truth.item_genre,
        rows=rows,
    )
