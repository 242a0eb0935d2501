"""Sections of the Embeddings page (Lesson steps 3 and 6 show them too): widgets in, one call into `collab`,
tables and figures out."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import streamlit as st

from collab.analysis import embeddings as emb
from collab.plots import embeddings as plots
from collab.plots.format import fixed
from ui import text, widgets

if TYPE_CHECKING:
    from collab.data import Ratings
    from collab.training.result import TrainResult

MAX_GENRE_COLOURS = 11  # rarer genres are drawn as "other" so colours stay distinguishable
CLICK_KEY = "emb_last_click"  # the map selection already applied to the item picker
ITEM_KEY = "emb_item"  # the item picked on the map or in the neighbours panel

# the neighbours table sits in the map's side panel (about 310 px at 1280 x 720): a shorter title column
NARROW = {**widgets.COMPACT, "title": st.column_config.TextColumn("title", width=150)}

# the two bias tables side by side get about 385 px each at 1280 x 720: title, bias, ratings and mean fit in
# 140 + 3 x 75 px (a "medium" 200 px title pushed "mean" out of view)
HALF = {**widgets.COMPACT, "title": st.column_config.TextColumn("title", width=140)}


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


def map_chart(result: TrainResult, ratings: Ratings, choice: MapChoice, label_most_rated: int = 0) -> None:
    """The PCA map of the chosen factors; a click on an item picks it for the neighbours panel. Without a
    title search, `label_most_rated` items (the most rated shown) get their title written on the map."""
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
        emb.item_names(ratings)
        if table == "items"
        else np.asarray(["user " + label for label in ratings.user_labels.tolist()], dtype=object)
    )
    values, categorical = _colours(choice.colour, result, ratings, table, rows, choice.genre)
    highlight = None
    if choice.search:
        needle = choice.search.lower()
        found_at = pd.Series(names, dtype=object).astype(str).str.lower().str.contains(needle, regex=False)
        hits = int(found_at.sum())
        highlight = found_at.to_numpy(dtype=bool)[rows]
        found = int(highlight.sum())
        capped = (
            f" Titles are written on the {plots.MAX_LABELS} most rated; hover a ring for the others."
            if found > plots.MAX_LABELS
            else ""
        )
        st.caption(f"{found} of {hits} matching titles are among the {choice.n_shown} shown.{capped}")
    elif label_most_rated and table == "items":
        highlight = np.arange(len(rows)) < label_most_rated  # rows come most rated first
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
        max_labels=max(plots.MAX_LABELS, label_most_rated),
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
    item = widgets.item_picker(
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
    min_count = widgets.neighbour_min_count(stats, "emb_neighbour_min_count")
    found = emb.nearest_neighbours(
        result.item_factors(), item, n=int(n), metric=metric, counts=stats.counts, min_count=min_count
    )
    if len(found.indices) < int(n):
        st.caption(f"Only {len(found.indices)} items have at least {min_count} ratings.")
    # a narrow panel: leave out the mean rating so the distances stay visible
    frame = widgets.neighbours_frame(found, ratings, stats).drop(columns="mean")
    widgets.table(st, frame, "emb_neighbours_table", "neighbours.csv", hide_index=True, column_config=NARROW)


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
    widgets.table(
        cols[0], frame(ranking.lowest), "emb_bias_low", "lowest_bias.csv", hide_index=True, column_config=HALF
    )
    cols[1].markdown("**Highest bias**: rated high even by people it does not fit")
    widgets.table(
        cols[1],
        frame(ranking.highest),
        "emb_bias_high",
        "highest_bias.csv",
        hide_index=True,
        column_config=HALF,
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
    user = widgets.user_picker("User", ratings, "emb_lookup_user")
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
