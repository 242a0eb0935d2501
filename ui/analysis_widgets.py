"""Sections of the Embeddings and Recommend pages: widgets in, one call into `collab`, tables and figures out."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import streamlit as st

from collab.analysis import embeddings as emb
from collab.analysis import recommend as rec
from collab.plots import embeddings as plots
from collab.plots.format import fixed
from ui import state, text

if TYPE_CHECKING:
    from collab.data.ratings import Ratings
    from collab.training.result import TrainResult

TRAIN_PAGE = "app_pages/train.py"
MAX_MODEL_MB = 200
MAX_GENRE_COLOURS = 11  # rarer genres are drawn as "other" so colours stay distinguishable
CLICK_KEY = "emb_last_click"  # the map selection already applied to the item picker
ITEM_KEY = "emb_item"  # the item picked on the map or in the neighbours panel
# long titles are cut (the full title shows on hover) so the numbers beside them stay visible
COMPACT = {
    "title": st.column_config.TextColumn("title", width="medium"),
    **{
        name: st.column_config.NumberColumn(name, width="small")
        for name in ("cosine", "distance", "bias", "ratings", "mean")
    },
}

# the neighbours table sits in the map's side panel (about 310 px at 1280 x 720): a shorter title column
NARROW = {**COMPACT, "title": st.column_config.TextColumn("title", width=150)}

# the two bias tables side by side get about 385 px each at 1280 x 720: title, bias, ratings and mean fit in
# 140 + 3 x 75 px (a "medium" 200 px title pushed "mean" out of view)
HALF = {**COMPACT, "title": st.column_config.TextColumn("title", width=140)}


def model_or_notice(extra: str = "") -> TrainResult | None:
    """The current model; without one, say what to do and link to the Train page."""
    result = state.result()
    if result is None:
        st.info(
            "There is no trained model for this dataset yet. Train one on the **Train** page "
            f"(the defaults take a few seconds){extra}.",
            icon=":material/info:",
        )
        st.page_link(TRAIN_PAGE, label="Go to Train", icon=":material/model_training:")
    return result


def item_picker(
    label: str, ratings: Ratings, key: str, counts: np.ndarray, default: int | None = None, where: Any = st
) -> int:
    """A select box over items, most rated first, labelled by title and rating count."""
    names = emb.item_names(ratings)
    options = emb.most_rated(counts, len(counts)).tolist()
    if key not in st.session_state and default is not None:
        st.session_state[key] = int(default)
    return int(
        where.selectbox(label, options, format_func=lambda i: f"{names[i]} ({counts[i]:,} ratings)", key=key)
    )


def user_picker(label: str, ratings: Ratings, key: str, where: Any = st) -> int:
    """A select box over users, most active first, labelled by original id and rating count."""
    counts = np.bincount(ratings.user_ids, minlength=ratings.n_users)
    options = emb.most_rated(counts, ratings.n_users).tolist()
    labels = ratings.user_labels
    return int(
        where.selectbox(
            label, options, format_func=lambda u: f"user {labels[u]} ({counts[u]:,} ratings)", key=key
        )
    )


# --- Embeddings page -----------------------------------------------------------------------------


def _colour_options(result: TrainResult, ratings: Ratings, table: str) -> dict[str, str]:
    has_bias = (result.item_bias() if table == "items" else result.user_bias()) is not None
    options = {"genre": "Planted genre" if ratings.truth is not None else "Genre"}
    if ratings.truth is None and ratings.genres is None:
        options = {}  # no genres to colour by (a ratings file without an items file): every point 'unknown'
    if table == "users":
        options = {"genre": "Favourite planted genre"} if ratings.truth is not None else {}
    if has_bias:
        options["bias"] = "Learned bias"
    options["count"] = "Number of ratings"
    return options


ALL_GENRES = "(each item's first genre)"


def genre_choices(ratings: Ratings) -> list[str]:
    """Genres of a real dataset's items, commonest first (an item may have several)."""
    if ratings.genres is None:
        return []
    counts = pd.Series([g for genres in ratings.genres for g in genres]).value_counts()
    return [str(g) for g in counts.index]


def _colours(
    kind: str, result: TrainResult, ratings: Ratings, table: str, rows: np.ndarray, genre: str | None = None
) -> tuple[np.ndarray, bool]:
    """Colour values for the plotted rows and whether they are categories; with `genre`, items of that
    genre (among all their genres) against the rest."""
    if kind == "genre" and genre is not None and table == "items" and ratings.genres is not None:
        has = np.array([genre in ratings.genres[i] for i in rows])
        return np.where(has, genre, "other genres"), True
    if kind == "genre":
        if table == "items":
            genre = emb.item_genre_names(ratings)[rows]
        else:
            truth = ratings.truth
            genre = np.asarray(truth.genre_names)[np.asarray(truth.user_taste)[rows].argmax(axis=1)]
        common = pd.Series(genre).value_counts().index[:MAX_GENRE_COLOURS]
        return np.where(np.isin(genre, common), genre, "other"), True
    if kind == "bias":
        bias = result.item_bias() if table == "items" else result.user_bias()
        return np.asarray(bias)[rows], False
    ids = ratings.item_ids if table == "items" else ratings.user_ids
    counts = np.bincount(ids, minlength=ratings.n_items if table == "items" else ratings.n_users)
    return counts[rows], False


@dataclass(frozen=True)
class MapChoice:
    """What the map shows, as chosen in its controls."""

    table: str  # "items" or "users"
    dims: int  # 2 or 3
    colour: str  # a key of _colour_options
    colour_label: str
    n_shown: int
    search: str
    genre: str | None = None  # one genre to highlight (real data with several genres per item)


def map_controls(result: TrainResult, ratings: Ratings) -> MapChoice:
    """Two rows of controls for the map (one row is clipped at 1280 px): items or users, 2-D or 3-D,
    colour (and one genre to highlight), then how many and a title search."""
    cols = st.columns([1, 1, 1.4])
    table = (
        cols[0].segmented_control(
            "Project", ["items", "users"], default="items", key="emb_table", format_func=str.capitalize
        )
        or "items"
    )
    dims = cols[1].segmented_control("View", ["2-D", "3-D"], default="2-D", key="emb_dims") or "2-D"
    colour_options = _colour_options(result, ratings, table)
    colour = cols[2].selectbox(
        "Colour by", list(colour_options), format_func=colour_options.get, key=f"emb_colour_{table}"
    )
    genre = None
    genres = genre_choices(ratings) if table == "items" and ratings.truth is None else []
    second = st.columns([1.4, 1.4, 1.2] if colour == "genre" and genres else [1, 1])
    if colour == "genre" and genres:
        picked = second[2].selectbox(
            "Highlight one genre", [ALL_GENRES, *genres], key="emb_genre",
            help="MovieLens lists several genres per film; colouring by the first one listed (alphabetical) "
            "hides the rest. Pick one genre to see where all its films lie.",
        )  # fmt: skip
        genre = None if picked == ALL_GENRES else picked
    n_total = ratings.n_items if table == "items" else ratings.n_users
    if n_total > 10:
        n_shown = second[0].slider(
            f"Most-rated {table} shown", 10, n_total, min(1000, n_total), key=f"emb_n_{table}",
            help="The lesson projected the 1000 most-rated films: rarely rated ones have noisy factors.",
        )  # fmt: skip
    else:  # a slider needs min < max: with this few, every one is shown
        n_shown = n_total
        second[0].caption(f"All {n_total} {table} shown.")
    search = second[1].text_input(
        "Highlight titles containing",
        key="emb_search",
        placeholder="e.g. Star Wars",
        disabled=table != "items",
    )
    label = colour_options[colour]
    if genre is not None:
        label = f"Genre: {genre}"
    elif colour == "genre" and genres:
        label = "First listed genre"
    return MapChoice(
        table=table,
        dims=3 if dims == "3-D" else 2,
        colour=colour,
        colour_label=label,
        n_shown=int(n_shown),
        search=search.strip() if table == "items" else "",
        genre=genre,
    )


def map_chart(result: TrainResult, ratings: Ratings, choice: MapChoice) -> None:
    """The PCA map of the chosen factors; a click on an item picks it for the neighbours panel."""
    table = choice.table
    factors = result.item_factors() if table == "items" else result.user_factors()
    if factors.shape[1] < 2:
        st.warning(
            "This model has no embeddings to project (the bias-only model learns one number per item)."
        )
        return
    n_total = len(factors)
    counts = np.bincount(ratings.item_ids if table == "items" else ratings.user_ids, minlength=n_total)
    rows = emb.most_rated(counts, choice.n_shown)
    projection = emb.pca(factors[rows], n_components=3)
    names = (
        emb.item_names(ratings) if table == "items" else np.char.add("user ", ratings.user_labels.astype(str))
    )
    values, categorical = _colours(choice.colour, result, ratings, table, rows, choice.genre)
    highlight = None
    if choice.search:
        needle = choice.search.lower()
        highlight = np.char.find(np.char.lower(names[rows].astype(str)), needle) >= 0
        hits = int(np.count_nonzero(np.char.find(np.char.lower(names.astype(str)), needle) >= 0))
        found = int(highlight.sum())
        capped = (
            f" Titles are written on the {plots.MAX_LABELS} most rated; hover a ring for the others."
            if found > plots.MAX_LABELS
            else ""
        )
        st.caption(f"{found} of {hits} matching titles are among the {choice.n_shown} shown.{capped}")
    chart_key = f"emb_map_{table}_{choice.dims}d"
    selected = None
    if table == "items":
        # apply a click before drawing, so the ring and the picker show the new item in this same run
        clicked = clicked_item(st.session_state.get(chart_key))
        if clicked is not None:
            st.session_state[ITEM_KEY] = clicked
        selected = st.session_state.setdefault(ITEM_KEY, int(rows[0]))
    fig = plots.projection_fig(
        projection.coords[:, : choice.dims],
        names[rows],
        values,
        choice.colour_label,
        projection.explained,
        categorical=categorical,
        ids=rows,
        highlight=highlight,
        selected=selected,
        hover_extra=[f"{c:,} ratings" for c in counts[rows]],
    )
    share = ", ".join(f"PC{i + 1} {100 * e:.1f}%" for i, e in enumerate(projection.explained))
    click = " Click a point to see its neighbours." if table == "items" and choice.dims == 2 else ""
    st.caption(
        f"PCA of the {choice.n_shown} most-rated {table}' {factors.shape[1]} factors. Share of variance: {share}.{click}"
    )
    st.plotly_chart(fig, on_select="rerun", selection_mode="points", key=chart_key)


def clicked_item(event: Any, store: MutableMapping[str, Any] | None = None) -> int | None:
    """The item of a new click on the map (once per click, not on every rerun), from the point's customdata."""
    store = st.session_state if store is None else store
    points = event.get("selection", {}).get("points", []) if event is not None else []
    if not points:
        store.pop(CLICK_KEY, None)
        return None
    custom = points[0].get("customdata")
    if custom is None:
        return None
    item = int(float(custom[0] if isinstance(custom, list | tuple) else custom))
    if store.get(CLICK_KEY) == item:
        return None
    store[CLICK_KEY] = item
    return item


def neighbours_section(result: TrainResult, ratings: Ratings) -> None:
    """Pick an item (or click one on the map) and list its nearest neighbours."""
    if result.item_factors().shape[1] == 0:
        st.info("This model has no item factors, so items have no neighbours.")
        return
    stats = emb.item_stats_of(ratings)
    item = item_picker(
        "Item", ratings, ITEM_KEY, stats.counts, default=int(emb.most_rated(stats.counts, 1)[0])
    )
    cols = st.columns([1.6, 1])  # the segmented control needs the wider half in the narrow side panel
    metric = (
        cols[0].segmented_control(
            "Distance",
            ["cosine", "euclidean"],
            default="cosine",
            key="emb_metric",
            format_func=str.capitalize,
        )
        or "cosine"
    )
    n = cols[1].number_input("Neighbours", 1, 50, 10, key="emb_n_neighbours")
    min_count = neighbour_min_count(stats, "emb_neighbour_min_count")
    found = emb.nearest_neighbours(
        result.item_factors(), item, n=int(n), metric=metric, counts=stats.counts, min_count=min_count
    )
    if len(found.indices) < int(n):
        st.caption(f"Only {len(found.indices)} items have at least {min_count} ratings.")
    # a narrow panel: leave out the mean rating so the distances stay visible
    frame = neighbours_frame(found, ratings, stats).drop(columns="mean")
    st.dataframe(text.table(frame), hide_index=True, column_config=NARROW, key="emb_neighbours_table")


def neighbour_min_count(stats: emb.ItemStats, key: str) -> int:
    """The 'Only neighbours with at least this many ratings' slider (default 20, or fewer on a small set)."""
    return int(
        st.slider(
            "Only neighbours with at least this many ratings", 1, 100, min(20, int(stats.counts.max())),
            key=key,
            help="An item rated once or twice has noisy factors that can sit next to anything: on real data "
            "they crowd the top of the list.",
        )
    )  # fmt: skip


def neighbours_frame(found: emb.Neighbours, ratings: Ratings, stats: emb.ItemStats) -> pd.DataFrame:
    """A table of neighbours: title, cosine similarity or distance, rating count, mean rating."""
    names = emb.item_names(ratings)
    frame = pd.DataFrame({"title": names[found.indices]})
    if found.metric == "cosine":
        frame["cosine"] = found.similarity.round(3)
    else:
        frame["distance"] = found.distance.round(3)
    frame["ratings"] = stats.counts[found.indices]
    frame["mean"] = stats.mean_rating[found.indices].round(2)
    return frame


def bias_section(result: TrainResult, ratings: Ratings, stacked: bool = False) -> None:
    """Lowest and highest learned item biases, and bias against mean rating (`stacked`: one table above the
    other, for a narrow screen)."""
    bias = result.item_bias()
    if bias is None:
        st.info(
            "This model has no single per-item bias to rank: only the dot-product and bias-only models learn one."
        )
        return
    stats = emb.item_stats_of(ratings)
    min_count = st.slider(
        "Only items with at least this many ratings", 1, 100, 20, key="emb_bias_min_count",
        help="Rarely rated items get extreme biases from a few ratings; the lesson looks at well-known films.",
    )  # fmt: skip
    ranking = emb.bias_ranking(bias, n=10, counts=stats.counts, min_count=min_count)
    shown = len(ranking.lowest) + len(ranking.highest)
    if shown < 20:
        st.caption(
            f"Only {shown:,} items have at least {min_count} ratings: the lower half is listed as lowest, the "
            "upper half as highest. Lower the slider to rank more."
        )
    names = emb.item_names(ratings)

    def frame(rows: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "title": names[rows],
                "bias": bias[rows].round(3),
                "ratings": stats.counts[rows],
                "mean": stats.mean_rating[rows].round(2),
            }
        )

    cols = [st.container(), st.container()] if stacked else st.columns(2)
    cols[0].markdown("**Lowest bias**: rated low even by people whose taste matches the item")
    cols[0].dataframe(
        text.table(frame(ranking.lowest)), hide_index=True, column_config=HALF, key="emb_bias_low"
    )
    cols[1].markdown("**Highest bias**: rated high even by people it does not fit")
    cols[1].dataframe(
        text.table(frame(ranking.highest)), hide_index=True, column_config=HALF, key="emb_bias_high"
    )
    keep = stats.counts >= min_count
    st.plotly_chart(
        plots.bias_scatter_fig(bias[keep], stats.mean_rating[keep], stats.counts[keep], names[keep]),
        key="emb_bias_scatter",
    )


def recovery_section(result: TrainResult, ratings: Ratings) -> None:
    """On the demo set: how well the learned factors and biases recover the planted ones."""
    found = emb.recovery_of(result, ratings)
    if found is None:
        return
    st.subheader("Did it find the planted structure?", anchor=False)
    st.caption(
        "The demo set was generated from known item factors, biases and genres. A model that learned "
        "something real should recover them, up to a rotation of the factors."
    )
    cols = st.columns(3)
    if np.isnan(found.bias_correlation):
        cols[0].metric(
            "Bias correlation (learned vs planted)", "not applicable",
            help="This model has no single number per item to compare with the planted item bias.",
        )  # fmt: skip
    else:
        cols[0].metric("Bias correlation (learned vs planted)", fixed(found.bias_correlation, 3))
    cols[1].metric(
        "Planted factors explained (R², held-out items)", fixed(found.factor_r2, 3),
        help="A linear map from the learned factors to the planted ones is fitted on half the items and "
        "scored on the other half (and the other way round), so factors that only fit noise score near 0 "
        "or below, however many there are.",
    )  # fmt: skip
    cols[2].metric(
        "Genre from factors (accuracy)",
        f"{found.genre_accuracy:.1%}",
        delta=f"{found.genre_accuracy - found.genre_chance:+.1%} vs guessing",
    )
    truth = ratings.truth
    if result.item_bias() is not None:
        st.plotly_chart(
            plots.recovery_fig(
                truth.item_bias, result.item_bias(), emb.item_genre_names(ratings), emb.item_names(ratings)
            ),
            key="emb_recovery",
        )


def lookup_section(result: TrainResult, ratings: Ratings, stacked: bool = False) -> None:
    """Show that a one-hot vector times the user factor matrix equals the looked-up row.

    `stacked` puts the two tables one above the other with fewer factor columns (a narrow screen: the Lesson).
    """
    factors = result.user_factors()
    if factors.shape[1] == 0:
        st.info("This model has no user factors to look up.")
        return
    user = user_picker("User", ratings, "emb_lookup_user")
    lookup = emb.one_hot_lookup(factors, user)
    n_cols = min(4 if stacked else 6, factors.shape[1])
    window = np.arange(max(0, user - 2), min(len(factors), user + 3))
    st.markdown(
        f"The one-hot vector for user **{text.md(ratings.user_labels[user])}** has {len(lookup.one_hot):,} entries, all 0 "
        f"except a 1 at position {user}. Entries {window[0]}…{window[-1]}: `{lookup.one_hot[window].astype(int).tolist()}`"
    )
    columns = [f"factor {j}" for j in range(n_cols)]
    shown = pd.DataFrame(factors[window][:, :n_cols], columns=columns, index=[f"row {i}" for i in window])
    both = pd.DataFrame(
        [lookup.product[:n_cols], lookup.row[:n_cols]],
        columns=columns,
        index=["one-hot @ factors", f"factors[{user}]"],
    )
    cols = [st.container(), st.container()] if stacked else st.columns(2)
    cols[0].caption(
        f"Rows {window[0]}–{window[-1]} of the user factor matrix (first {n_cols} of {factors.shape[1]} factors)"
    )
    cols[0].dataframe(shown.round(4), key="emb_lookup_rows")
    cols[1].caption("The matrix product and the looked-up row")
    cols[1].dataframe(both.round(4), key="emb_lookup_product")
    verdict = "identical" if lookup.equal else "different"
    st.markdown(
        f"All {factors.shape[1]} numbers are **{verdict}**: an embedding layer is a matrix multiplication by a "
        "one-hot vector, done as an index look-up because that skips multiplying by thousands of zeros."
    )


def export_section(result: TrainResult, ratings: Ratings) -> None:
    """Download item or user vectors and metadata as TensorFlow Embedding Projector TSV files."""
    table = (
        st.segmented_control(
            "Export", ["items", "users"], default="items", key="emb_export_table", format_func=str.capitalize
        )
        or "items"
    )

    def files() -> tuple[str, str]:
        if table == "items":
            stats = emb.item_stats_of(ratings)
            metadata = {
                "title": emb.item_names(ratings),
                "genre": emb.item_genre_names(ratings),
                "ratings": stats.counts,
            }
            return emb.projector_tsv(result.item_factors(), metadata)
        counts = np.bincount(ratings.user_ids, minlength=ratings.n_users)
        return emb.projector_tsv(result.user_factors(), {"user": ratings.user_labels, "ratings": counts})

    cols = st.columns(2)
    cols[0].download_button(
        "Vectors (TSV)", lambda: files()[0], file_name=f"{table}_vectors.tsv", mime="text/tab-separated-values",
        key="emb_export_vectors", icon=":material/download:",
    )  # fmt: skip
    cols[1].download_button(
        "Metadata (TSV)", lambda: files()[1], file_name=f"{table}_metadata.tsv", mime="text/tab-separated-values",
        key="emb_export_metadata", icon=":material/download:",
    )  # fmt: skip
    st.caption(
        "Load both files at projector.tensorflow.org (Load → vectors, then metadata) to explore them in 3-D."
    )


# --- Recommend page ------------------------------------------------------------------------------


# long titles are cut to a medium column (the full title shows on hover) so the scores stay on screen
REC_COLUMNS = {
    "title": st.column_config.TextColumn("title", width="medium"),
    **{
        name: st.column_config.NumberColumn(name, width="small")
        for name in ("predicted", "item bias", "user·item")
    },
}


def _recommendations_frame(recs: rec.Recommendations, ratings: Ratings) -> pd.DataFrame:
    names = emb.item_names(ratings)
    frame = pd.DataFrame({"title": names[recs.item_ids], "predicted": recs.predicted.round(2)})
    if not np.isnan(recs.item_bias).all():
        frame["item bias"] = recs.item_bias.round(3)
    if not np.isnan(recs.dot).all():
        frame["user·item"] = recs.dot.round(3)
    return frame


def user_recommendations_section(result: TrainResult, ratings: Ratings) -> None:
    """Top-N unseen items for a chosen user beside the items that user rated highest."""
    cols = st.columns([2, 1])
    user = user_picker("User", ratings, "rec_user", where=cols[0])
    n = cols[1].number_input("How many", 1, 50, 10, key="rec_n")
    recs = rec.recommend_for_user(result, ratings, user, n=int(n))
    left, right = st.columns([3, 2])  # the recommendations have four columns, the user's own list two
    left.markdown("**Recommended** (not yet rated)")
    left.dataframe(
        text.table(_recommendations_frame(recs, ratings)),
        hide_index=True,
        column_config=REC_COLUMNS,
        key="rec_table",
    )
    mine = ratings.user_ids == user
    items, stars = ratings.item_ids[mine], ratings.ratings[mine]
    order = np.lexsort((items, -stars))[: int(n)]
    right.markdown("**Rated highest** by this user")
    right.dataframe(
        text.table(pd.DataFrame({"title": emb.item_names(ratings)[items[order]], "rating": stars[order]})),
        hide_index=True,
        column_config={"title": REC_COLUMNS["title"], "rating": st.column_config.NumberColumn(width="small")},
        key="rec_user_top",
    )
    if rec.has_dot_product(result):
        st.caption(
            "predicted = squash(user·item + user bias + item bias) into the rating range; the table shows the "
            "item bias and the user·item part separately, so you can see whether taste or reputation ranks an item."
        )


def similar_section(result: TrainResult, ratings: Ratings) -> None:
    """'More like this': the items nearest a chosen item."""
    if result.item_factors().shape[1] == 0:
        st.info("This model has no item factors, so it has no notion of similar items.")
        return
    stats = emb.item_stats_of(ratings)
    item = item_picker("Item", ratings, "rec_similar_item", stats.counts)
    min_count = neighbour_min_count(stats, "rec_similar_min_count")
    found = rec.similar_items(result.item_factors(), item, n=10, counts=stats.counts, min_count=min_count)
    if len(found.indices) < 10:
        st.caption(f"Only {len(found.indices)} items have at least {min_count} ratings.")
    st.dataframe(
        text.table(neighbours_frame(found, ratings, stats)),
        hide_index=True,
        column_config=COMPACT,
        key="rec_similar_table",
    )


RATING_CHOICES = ["skip", 1, 2, 3, 4, 5]


def rating_choices(ratings: Ratings) -> list:
    """What a new user may give: the data's own levels when there are few (1-5 stars, 1-10, half stars),
    else five steps across its range (Jester's continuous -10..10: -10, -5, 0, 5, 10). Never a fixed 1-5:
    on a 1-10 scale a 5 is below average, on -10..10 it cannot say 'disliked'."""
    levels = np.unique(np.asarray(ratings.ratings, dtype=np.float64))
    if len(levels) == 0:
        return RATING_CHOICES
    low, high = levels[0], levels[-1]
    if np.all(levels == np.round(levels)) and high - low <= 10:
        levels = np.arange(low, high + 1)  # whole stars: every step of the scale, also ones nobody gave
    elif len(levels) > 11:
        levels = np.unique(np.round(np.linspace(low, high, 5), 0 if high - low >= 5 else 1))
    return ["skip", *(int(v) if float(v).is_integer() else float(v) for v in levels)]


def new_user_section(result: TrainResult, ratings: Ratings) -> None:
    """Cold start: the visitor rates a few items; fold-in fits their vector; recommendations follow."""
    st.markdown(
        "The model has one learned row per user it saw in training, and none for you. Fold-in fits a new row "
        "(your vector and bias) to a few ratings while every item's factors stay frozen: a tiny least-squares "
        "problem, solved in milliseconds instead of retraining."
    )
    if not rec.has_dot_product(result):
        st.warning(
            "Fold-in needs the dot-product model with biases: train one with the model **Dot product + biases**."
        )
        return
    stats = emb.item_stats_of(ratings)
    names = emb.item_names(ratings)
    suggested = rec.suggest_items_to_rate(result.item_factors(), stats.counts, n=8).tolist()
    extra = st.multiselect(
        "Add items to rate", emb.most_rated(stats.counts, ratings.n_items).tolist(),
        format_func=lambda i: names[i], key="rec_new_search", placeholder="Search titles",
    )  # fmt: skip
    chosen = suggested + [i for i in extra if i not in suggested]
    given: dict[int, float] = {}
    choices = rating_choices(ratings)
    cols = st.columns(2)
    for position, item in enumerate(chosen):
        choice = cols[position % 2].radio(
            text.md(names[item]), choices, horizontal=True, key=f"rec_new_{ratings.item_labels[item]}"
        )
        if choice != "skip":
            given[item] = float(choice)
    if not given:
        st.info("Rate at least one item (popular and varied ones are suggested) to get recommendations.")
        return
    rated = np.array(list(given), dtype=np.int64)
    started = time.perf_counter()
    fit = rec.fold_in_user(result, rated, np.array(list(given.values())))
    recs = rec.recommend_for_new_user(result, fit, rated, n=10)
    seconds = time.perf_counter() - started
    st.markdown(
        f"**Recommended for you** from {len(given)} rating{'s' if len(given) != 1 else ''} "
        f"(fold-in and ranking took {1000 * seconds:.1f} ms)"
    )
    st.dataframe(
        text.table(_recommendations_frame(recs, ratings)),
        hide_index=True,
        column_config=REC_COLUMNS,
        key="rec_new_table",
    )
    st.caption(
        f"Your fitted bias {fit.user_bias:+.3f}; the model now predicts "
        + ", ".join(f"{text.md(names[i])}: {p:.1f}" for i, p in zip(rated, fit.fitted, strict=True))
        + " for what you rated."
    )


def ranking_section(result: TrainResult) -> None:
    """Precision, recall and NDCG at k on the validation set beside the popularity baseline."""
    train, valid = state.split()
    if valid.n_ratings == 0:
        st.info("There is no validation set to measure ranking quality on.")
        return
    cols = st.columns([1, 2])
    k = cols[0].slider("k", 1, 50, 10, key="rec_k")
    protocol = cols[1].radio(
        "Rank", list(rec.PROTOCOLS), format_func=rec.PROTOCOLS.get, key="rec_protocol", horizontal=False
    )
    quality = rec.ranking_quality_of(result, train, valid, k=int(k), protocol=protocol)
    st.plotly_chart(plots.ranking_fig(quality.model, quality.popularity, quality.k), key="rec_ranking_fig")
    st.caption(
        f"Means over {quality.n_users:,} validation users; an item is relevant when rated "
        f"{quality.threshold:g} or more (the top quarter of this data's rating scale). "
        "Popularity ranks by how many ratings an item has in training. " + ranking_verdict(quality)
    )


def ranking_verdict(quality: rec.RankingQuality) -> str:
    """What the bars show: where the model beats popularity, where popularity wins, and by how much."""
    names = {"precision": "precision", "recall": "recall", "ndcg": "NDCG"}
    wins, losses, ties = [], [], []
    for metric, model_score in quality.model.items():
        popular = quality.popularity[metric]
        if np.isnan(model_score) or np.isnan(popular):
            continue
        phrase = f"{names.get(metric, metric)}@{quality.k} ({model_score:.3f} vs {popular:.3f})"
        if round(model_score, 3) == round(popular, 3):  # as shown: a tie is nobody's win
            ties.append(phrase)
            continue
        (wins if model_score > popular else losses).append(phrase)
    if not (wins or losses or ties):  # no measure could be computed (no relevant validation rating)
        return (
            "No measure could be computed: no validation user rated an item high enough to count as relevant."
        )
    tied = f" Tied on {', '.join(ties)}." if ties else ""
    if not wins and not losses:
        return "Here the model and popularity rank alike on every measure: " + ", ".join(ties) + "."
    if not losses:
        return (
            "Here the model ranks better than popularity on "
            + _every(wins, ties)
            + ", ".join(wins)
            + "."
            + tied
        )
    if not wins:
        return (
            "Here **popularity ranks better** on "
            + _every(losses, ties)
            + ", ".join(losses)
            + "."
            + tied
            + " A model trained to predict ratings (RMSE) is not trained to rank, and on data where most "
            "people like the same popular items, recommending those is hard to beat."
        )
    return (
        "Here the model wins on " + ", ".join(wins) + " and popularity on " + ", ".join(losses) + "." + tied
    )


def _every(phrases: list[str], ties: list[str]) -> str:
    return "every measure: " if not ties else ("this measure: " if len(phrases) == 1 else "these measures: ")


def downloads_section(result: TrainResult) -> None:
    """Download the model and the validation predictions."""
    _, valid = state.split()
    cols = st.columns(2)
    cols[0].download_button(
        "Trained model (.safetensors)", lambda: model_bytes(result), file_name="collab_model.safetensors",
        mime="application/octet-stream", key="rec_download_model", icon=":material/download:",
    )  # fmt: skip
    cols[1].download_button(
        "Validation predictions (CSV)", lambda: rec.predictions_csv(result, valid), file_name="predictions.csv",
        mime="text/csv", key="rec_download_predictions", icon=":material/download:",
    )  # fmt: skip


def model_bytes(result: TrainResult) -> bytes:
    """The model in the core's safe format, as bytes."""
    with tempfile.TemporaryDirectory() as folder:
        path = result.save(Path(folder) / "model.safetensors")
        return Path(path).read_bytes()


def upload_section() -> None:
    """Load a saved model; it must match the current dataset, and anything else gives a clear error."""
    uploaded = st.file_uploader(
        "Load a saved model", type=["safetensors"], key="rec_upload",
        help="A file saved from this app (Download → Trained model), for the same dataset.",
    )  # fmt: skip
    if uploaded is None:
        return
    token = (uploaded.name, uploaded.size, getattr(uploaded, "file_id", ""))
    if st.session_state.get("rec_upload_done") == token:
        return  # already loaded; do not reload on every rerun
    error = load_uploaded(uploaded.name, uploaded.getvalue())
    if error:
        st.error(error, icon=":material/error:")
        return
    st.session_state["rec_upload_done"] = token
    state.flash(f"Loaded the model from {text.md(uploaded.name)}.")
    st.rerun()


def load_uploaded(name: str, data: bytes) -> str | None:
    """Load model bytes and make them the current model; the error message, or None on success."""
    from collab.training.result import load

    if len(data) > MAX_MODEL_MB * 1024 * 1024:
        return (
            f"{text.md(name)} is {len(data) / 2**20:.0f} MB; a saved model may be at most {MAX_MODEL_MB} MB."
        )
    with tempfile.TemporaryDirectory() as folder:
        safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name).lstrip(".") or "model.safetensors"
        path = Path(folder) / safe_name
        path.write_bytes(data)
        try:
            loaded = load(path)
        except (ValueError, OSError, KeyError, RuntimeError, MemoryError) as err:
            return f"Could not load the model: {text.md(err)}"
    mismatch = rec.model_mismatch(loaded, state.ratings())
    if mismatch:
        return f"{text.md(name)} does not fit the current dataset: {mismatch}. Load that dataset first, or train here."
    state.set_result(loaded)
    return None
