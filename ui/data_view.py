"""Data-page pieces: the three sources (demo, MovieLens, upload) and the summary of the loaded set."""

from __future__ import annotations

import io

import streamlit as st

from collab import budget
from collab.data import DataError, Ratings
from collab.plots import data as data_plots
from ui import cached, state, text

MOVIELENS = {
    "100k": "MovieLens 100K (100,000 ratings, 5 MB download)",
    "latest-small": "MovieLens latest-small (100,836 ratings, 1 MB)",
    "1m": "MovieLens 1M (1,000,209 ratings, 6 MB)",
}
NONE = "(none)"
MAPPED_FILE = "data_mapped_file"  # the upload whose columns the mapping boxes show


def use(ratings: Ratings, source: str) -> None:
    """Make `ratings` current and say so on the next run."""
    state.set_ratings(ratings, source)
    budget.release_memory()  # the reader's and the old dataset's memory goes back to the system
    state.flash(
        f"Loaded {text.md(source)}: {ratings.n_ratings:,} ratings, {ratings.n_users:,} users, {ratings.n_items:,} items."
    )
    st.rerun()


def demo_source() -> None:
    st.markdown(
        "About 600 users and 400 films in eight genres, with tastes planted by us: because the true model "
        "is known, the app can show how close training gets to the best possible error."
    )
    if st.button("Use the demo set", key="data_use_demo", icon=":material/science:"):
        use(cached.demo(), "Built-in demo set")


def movielens_source() -> None:
    from collab.movielens import load_movielens

    name = st.selectbox("Which MovieLens", list(MOVIELENS), format_func=MOVIELENS.get, key="data_movielens")
    st.caption("Downloaded once from GroupLens, then cached on disk for every session of this server.")
    if st.button("Load MovieLens", key="data_load_movielens", icon=":material/download:"):
        bar = st.progress(0.0, text="Connecting…")

        def progress(done: int, total: int | None) -> None:
            share = min(done / total, 1.0) if total else 0.0
            size = f" of {total / 1e6:.1f} MB" if total else ""
            bar.progress(share, text=f"Downloading: {done / 1e6:.1f} MB{size}")

        try:
            ratings = load_movielens(name, progress=progress)
        except DataError as error:
            bar.empty()
            st.error(str(error), icon=":material/error:")
            return
        use(ratings, f"MovieLens {name}")


def upload_source() -> None:
    from collab.sources import read_items, read_ratings, sniff_ratings

    limits = budget.current()
    upload = st.file_uploader(
        "Ratings file (CSV, TSV or '::'-separated; one row per rating)",
        type=["csv", "tsv", "txt", "dat", "data"],
        key="data_upload",
        max_upload_size=limits.upload_mb,  # the browser refuses what the core would (collab.budget)
        help=(
            f"Up to {limits.upload_mb:,} MB (about {limits.upload_ratings:,} ratings) on this server: its memory "
            f"budget is {limits.memory_mb:,} MB. For bigger files use the collab library in Python "
            "(read_ratings(path)) on a machine with more memory."
        ),
    )
    items_upload = st.file_uploader(
        "Optional items file for titles and genres (MovieLens movies.csv, movies.dat or u.item)",
        type=["csv", "tsv", "txt", "dat", "item"],
        key="data_items_upload",
    )
    if upload is None:
        st.caption(
            "Needs a user column, an item column and a numeric rating column; a timestamp is optional."
        )
        return
    raw = upload.getvalue()
    try:
        sniff = sniff_ratings(io.BytesIO(raw))
    except DataError as error:
        st.error(f"**{text.md(upload.name)}**: {error}", icon=":material/error:")
        return
    st.markdown(
        f"Detected separator **{sniff.sep_name}**, "
        f"{'a header row' if sniff.has_header else 'no header row'}, {len(sniff.columns)} columns."
    )
    st.dataframe(sniff.preview, hide_index=True, key="data_preview")
    for problem in sniff.problems:
        st.warning(problem, icon=":material/help:")
    detected = {
        "user": sniff.user_col,
        "item": sniff.item_col,
        "rating": sniff.rating_col,
        "timestamp": sniff.timestamp_col,
    }
    # a new file: forget the previous file's column choices, so this file's detected columns apply
    # (kept choices would hide, say, a detected timestamp behind a stale "(none)")
    file_token = (upload.name, upload.size, getattr(upload, "file_id", ""))
    if st.session_state.get(MAPPED_FILE) != file_token:
        for role in ("user", "item", "rating", "timestamp"):
            st.session_state.pop(f"data_map_{role}", None)
        st.session_state[MAPPED_FILE] = file_token
    mapping = column_mapping(list(sniff.columns), detected)
    if st.button("Load this file", type="primary", key="data_load_upload", icon=":material/upload:"):
        try:
            items = None if items_upload is None else read_items(io.BytesIO(items_upload.getvalue()))
            ratings = read_ratings(
                io.BytesIO(raw),
                user_col=mapping["user"],
                item_col=mapping["item"],
                rating_col=mapping["rating"],
                timestamp_col=mapping["timestamp"] or False,  # None would mean "detect it"
                sep=sniff.sep,
                has_header=sniff.has_header,
                items=items,
                name=upload.name,
            )
        except DataError as error:
            st.error(f"**Could not load {text.md(upload.name)}.** {error}", icon=":material/error:")
            st.caption("The dataset you had before is still loaded.")
            return
        use(ratings, f"Upload: {upload.name}")


def column_mapping(columns: list[str], detected: dict[str, str | None]) -> dict[str, str | None]:
    """Four select boxes: which column holds the user, item, rating and (optionally) timestamp."""
    labels = {
        "user": "User column",
        "item": "Item column",
        "rating": "Rating column",
        "timestamp": "Timestamp column",
    }
    cols = st.columns(4)
    mapping: dict[str, str | None] = {}
    for col, (role, label) in zip(cols, labels.items(), strict=True):
        options = ([NONE] if role == "timestamp" else []) + [str(c) for c in columns]
        guess = detected.get(role)
        index = options.index(str(guess)) if guess is not None and str(guess) in options else 0
        choice = col.selectbox(label, options, index=index, key=f"data_map_{role}")
        mapping[role] = None if choice == NONE else choice
    return mapping


def summary_panel(ratings: Ratings) -> None:
    """Counts, sparsity, rating histogram, long tails and the crosstab heatmap."""
    summary = ratings.summary()
    for note in ratings.notes:
        st.info(note, icon=":material/info:")
    cols = st.columns(4)
    cols[0].metric("Ratings", f"{summary.n_ratings:,}")
    cols[1].metric("Users", f"{summary.n_users:,}")
    cols[2].metric("Items", f"{summary.n_items:,}")
    cols[3].metric(
        "Filled cells",
        f"{1 - summary.sparsity:.2%}",
        help="Share of the users x items table that has a rating.",
    )
    values, counts = zip(*sorted(summary.rating_counts.items()), strict=True)
    left, right = st.columns(2)
    left.plotly_chart(data_plots.rating_histogram(values, counts), key="data_hist")
    right.plotly_chart(data_plots.long_tail(summary.per_user_counts, "user"), key="data_tail_users")
    left.plotly_chart(data_plots.long_tail(summary.per_item_counts, "item"), key="data_tail_items")
    with right:
        st.markdown(
            "**Few users rate a lot, most rate little**, and the same for items: that long tail is why "
            "a model needs biases and why rare items get shaky factors."
        )
    st.subheader("The lesson's spreadsheet view")
    st.caption(
        "The 15 most active users and the 15 most rated items. Collaborative filtering fills the blank cells."
    )
    st.plotly_chart(data_plots.crosstab_heatmap(ratings.crosstab(15, 15)), key="data_crosstab")
