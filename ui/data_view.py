"""Data-page pieces: the three sources (demo, MovieLens, upload) and the summary of the loaded set."""

from __future__ import annotations

import io

import streamlit as st

from collab.data import DataError, Ratings
from collab.plots import data as data_plots
from ui import budget, cached, state, text, uploads, url_state
from ui.messages import say, sentence

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
    if url_state.dataset_id() == url_state.DATA_UPLOAD:  # a reload finds it again (issue 19)
        cached.keep_upload(ratings, source)
    budget.release_memory()  # the reader's and the old dataset's memory goes back to the system
    state.flash(
        f"Loaded {text.md(source)}: {ratings.n_ratings:,} ratings, {ratings.n_users:,} users, {ratings.n_items:,} items."
    )
    st.rerun()


def demo_source() -> None:
    st.markdown(
        "About 2,000 users and 400 films in eight genres, with tastes planted by us: because the true model "
        "is known, the app can show how close training gets to the best possible error."
    )
    if st.button("Use the demo set", key="data_use_demo", icon=":material/science:"):
        use(cached.demo(), "Built-in demo set")


def _download_address(name: str) -> None:
    """The archive's address as an exact copy (the message's text keeps links from forming with invisible
    characters, which a copied address would carry)."""
    from collab.data.movielens import movielens_url

    st.code(movielens_url(name), language=None)


def movielens_source() -> None:
    name = st.selectbox("Which MovieLens", list(MOVIELENS), format_func=MOVIELENS.get, key="data_movielens")
    st.caption("Downloaded once from GroupLens, then cached on disk for every session of this server.")
    if st.button("Load MovieLens", key="data_load_movielens", icon=":material/download:"):
        bar = st.progress(0.0, text="Connecting…")

        def progress(done: int, total: int | None) -> None:
            share = min(done / total, 1.0) if total else 0.0
            size = f" of {total / 1e6:.1f} MB" if total else ""
            bar.progress(share, text=f"Downloading: {done / 1e6:.1f} MB{size}")

        st.button("Stop waiting", key="data_stop_movielens", help="Only your wait stops; nothing else.")
        try:  # one parsed copy for every session of the server (byte-bounded, ui/cached.py)
            ratings = cached.movielens(name, progress=progress, on_wait=movielens_wait(bar, name))
        except DataError as error:
            bar.empty()
            st.error(sentence("", error), icon=":material/error:")
            st.caption(
                "On this page you can use the **built-in demo set** instead, or upload the ratings file yourself "
                "(MovieLens 100K's u.data, or ratings.csv) under **Upload a file**. The settings above are kept."
            )
            _download_address(name)
            return
        use(ratings, f"MovieLens {name}")


def movielens_wait(bar, name: str):  # noqa: ANN001, ANN201 - a progress element; the callback
    """The note a page shows while another session loads the same MovieLens set: their progress, how long
    this page waits at most, and that leaving (or Stop waiting) is fine. Redrawing it is also where
    Streamlit stops this page's wait when its student leaves or clicks."""
    limit = cached.movielens_wait_limit()

    def show(waited: float, download: tuple[int, int | None] | None) -> None:
        done, total = download or (0, None)
        size = f"{done / 1e6:.1f} of {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
        bar.progress(
            min(done / total, 1.0) if total else 0.0,
            text=(
                f"Another student is loading {MOVIELENS[name].split(' (')[0]} ({size} so far): waiting for it, "
                f"{waited:.0f} s of at most {limit:.0f} s. You can leave this page or press Stop waiting; "
                "the download goes on for everyone."
            ),
        )

    return show


SEPARATORS = {
    "auto": "Detect",
    ",": "comma",
    ";": "semicolon",
    "\t": "tab",
    "|": "pipe",
    "::": "'::'",
    r"\s+": "spaces",
}
DECIMALS = {"auto": "Detect", ".": "point (3.5)", ",": "comma (3,5)"}
HEADERS = {"auto": "Detect", "yes": "first row is a header", "no": "no header row"}
DATE_ORDERS = {"auto": "Detect", "day": "day first (05.06 = 5 June)", "month": "month first (05/06 = May 6)"}
LAYOUTS = {
    "auto": "Detect",
    "rows": "One rating per row",
    "wide": "User x item matrix",
    "netflix": "Netflix Prize blocks",
    "json": "JSON lines",
    "parquet": "Parquet",
}
COUNTS = {
    "keep": "keep the values",
    "log1p": "log(1 + count)",
    "scale": "scale to 1-5 (log)",
    "binary": "seen it: each row an interaction (ranking models)",
}
AUTO_ID = "auto: the column matching the ratings' item ids"


def upload_source() -> None:
    from collab.data.items import read_items
    from collab.data.read import read_ratings
    from collab.data.sniff import sniff_ratings

    limits = budget.current()
    limit = uploads.limit_mb(limits.upload_mb)  # the budget's, within Streamlit's endpoint (ui/uploads.py)
    upload = st.file_uploader(
        "Ratings file (CSV, TSV, '::'-separated, Netflix Prize blocks, a user x item matrix, JSON lines or Parquet)",
        type=["csv", "tsv", "txt", "dat", "data", "json", "jsonl", "parquet"],
        key="data_upload",
        max_upload_size=limit,  # the browser refuses what the server's budget would (ui/budget.py)
        help=(
            f"Up to {limit:,} MB (about {limit * budget.UPLOAD_MB // budget.BYTES_PER_RATING:,} ratings) on this "
            f"server: its memory budget is {limits.memory_mb:,} MB. For bigger files use the collab library in "
            "Python (read_ratings(path)) on a machine with more memory."
        ),
    )
    items_upload = st.file_uploader(
        "Optional items file for titles and genres (MovieLens movies.csv, movies.dat, u.item, or a CSV with an id "
        "and a title)",
        type=["csv", "tsv", "txt", "dat", "item"],
        key="data_items_upload",
        max_upload_size=limit,  # the same limit as the ratings file: the browser says it before the upload
        help=f"Up to {limit:,} MB on this server, as the ratings file.",
    )
    uploads.hold("data_upload", upload)  # any other file this session PUT is released (ui/uploads.py)
    uploads.hold("data_items_upload", items_upload)
    if upload is None:
        st.caption(
            "Needs a user column, an item column and a numeric rating column; a timestamp is optional."
        )
        return
    try:  # before anything is parsed: the library reads what it is given, the server keeps to its budget
        limits.check_upload(upload.size, text.md(upload.name), limit)
        if items_upload is not None:
            limits.check_upload(items_upload.size, text.md(items_upload.name), limit)
    except DataError as error:
        st.error(say(error), icon=":material/error:")
        return
    raw = upload.getvalue()
    reading = reading_options()
    try:
        sniff = sniff_ratings(io.BytesIO(raw), **reading)
    except DataError as error:
        st.error(f"**{text.md(upload.name)}**: {say(error)}", icon=":material/error:")
        return
    st.markdown(detected_text(sniff))
    st.dataframe(text.table(sniff.preview), hide_index=True, key="data_preview")
    detected = {
        "user": sniff.user_col,
        "item": sniff.item_col,
        "rating": sniff.rating_col,
        "timestamp": sniff.timestamp_col,
    }
    guessed = guess_by_position(list(sniff.columns), detected) if sniff.layout == "rows" else []
    notes, problems = list(sniff.notes), list(sniff.problems)
    if sniff.layout == "wide":  # one message for the matrix: what was recognised and what loads it
        notes = [n for n in notes if not str(n).startswith(MATRIX_NOTE)]
        problems = [p for p in problems if not str(p).startswith(MATRIX_PROBLEM)]
        matrix_message(sniff, detected=reading["layout"] == "auto")
    for note in notes:
        st.info(say(note), icon=":material/info:")
    chosen = (
        st.session_state.get(CHOSEN, set())
        if st.session_state.get(MAPPED_FILE) == _file_token(upload, reading)
        else set()
    )
    for problem in problems:
        # a role the boxes fill (guessed), or one the user has picked a column for, needs no warning
        said = str(problem)
        if not any(said.startswith(f"no {r} column") for r in {*guessed, *chosen}) and not any(
            said.startswith(f"ambiguous {r} column") for r in chosen
        ):
            st.warning(sentence("", problem), icon=":material/help:")
    if guessed:
        named = ", ".join(f"**{ROLE_BOXES[role]}** = {text.md(repr(detected[role]))}" for role in guessed)
        st.info(
            f"No known name (such as userId, movieId, rating) for the {' and '.join(guessed)} column"
            f"{'s' if len(guessed) > 1 else ''}, so the boxes are guessed by position (a column whose name "
            f"suggests the role first): {named}. Check them.",
            icon=":material/info:",
        )
    # a new file: forget the previous file's column choices, so this file's detected columns apply
    # (kept choices would hide, say, a detected timestamp behind a stale "(none)")
    # (new reading options give new columns too: "column 4" after "no header" is not "Datum")
    file_token = _file_token(upload, reading)
    if st.session_state.get(MAPPED_FILE) != file_token:
        for role in ("user", "item", "rating", "timestamp"):
            st.session_state.pop(f"data_map_{role}", None)
        st.session_state[MAPPED_FILE] = file_token
        st.session_state[CHOSEN] = set()
    mapping = (
        dict.fromkeys(detected)  # fixed layouts: the matrix and the Netflix blocks have no columns to map
        if sniff.layout in ("wide", "netflix")
        else column_mapping(list(sniff.columns), detected)
    )
    not_rated, implicit = value_options(sniff)
    id_col = items_id_choice(items_upload)
    clash = mapping_clash(mapping)
    if clash:
        st.warning(clash, icon=":material/warning:")
    if st.button(
        "Load this file",
        type="primary",
        key="data_load_upload",
        icon=":material/upload:",
        disabled=bool(clash),
        help=clash or None,
    ):
        try:
            columns = (
                {}
                if sniff.layout in ("wide", "netflix")
                else {
                    "user_col": mapping["user"],
                    "item_col": mapping["item"],
                    "rating_col": mapping["rating"],
                    "timestamp_col": mapping["timestamp"] or False,  # None would mean "detect it"
                }
            )
            ratings = read_ratings(
                io.BytesIO(raw),
                **columns,
                sep=sniff.sep if sniff.layout in ("rows", "wide") else None,
                has_header=sniff.has_header if sniff.layout in ("rows", "wide") else None,
                decimal=sniff.decimal,
                layout=sniff.layout,
                day_first=reading_day_first(),
                not_rated=not_rated,
                implicit=implicit,
                name=upload.name,
            )
        except DataError as error:
            st.error(sentence(f"**Could not load {text.md(upload.name)}.**", error), icon=":material/error:")
            st.caption("The dataset you had before is still loaded.")
            return
        except (
            TypeError,
            ValueError,
            KeyError,
            IndexError,
        ) as error:  # a reader bug: said, never a traceback
            st.error(
                f"**Could not load {text.md(upload.name)}.** The reader failed on it ({type(error).__name__}: "
                f"{text.md(str(error)[:200])}). Check the column boxes and the reading options; if they are right, "
                "this is a bug in the app: please report it with the file's first lines.",
                icon=":material/error:",
            )
            st.caption("The dataset you had before is still loaded.")
            return
        if items_upload is not None:
            try:
                items_buffer = io.BytesIO(items_upload.getvalue())
                items_buffer.name = items_upload.name  # so its messages name the items file
                items = read_items(items_buffer, id_col=id_col, item_labels=ratings.item_labels)
            except DataError as error:
                st.error(
                    sentence(
                        f"**Could not use the items file {text.md(items_upload.name)}** (the ratings file "
                        f"{text.md(upload.name)} is fine).",
                        error,
                    ),
                    icon=":material/error:",
                )
                st.caption("The dataset you had before is still loaded.")
                return
            ratings = ratings.with_items(items)
        use(ratings, f"Upload: {upload.name}")


def _file_token(upload, reading: dict) -> tuple:
    """What identifies the mapped file: the upload and the reading options (new options, new columns)."""
    return (upload.name, upload.size, getattr(upload, "file_id", ""), *reading.values())


CHOSEN = "data_map_chosen"  # the roles whose box the user has set for the mapped file


def _mark_chosen(role: str) -> None:
    st.session_state[CHOSEN] = {*st.session_state.get(CHOSEN, set()), role}


MATRIX_NOTE = "A user x item matrix"  # collab.data.read' note and problem for a wide file, said once here
MATRIX_PROBLEM = "the file looks like a user x item matrix"


def matrix_message(sniff, detected: bool) -> None:
    """The one message for a user x item matrix: recognised as such, and the one action that loads it
    (drop the not-rated code, if the first rows show one); with Layout on Detect it already loads as a matrix."""
    how = "detected" if detected else "read as you chose under **Layout**"
    lines = [
        f"**Recognised as a user × item matrix** ({how}): one row per user, {len(sniff.columns):,} numeric "
        "columns, one per item. **Load this file** reads it that way: each filled cell becomes one rating."
    ]
    hints = [float(v) for v in sniff.not_rated_hint]
    if hints:
        listed = ", ".join(f"**{v:g}**" for v in hints)
        lines.append(
            f"First add {listed} to **Not-rated values to drop** below: the first rows hold it outside the scale "
            "of the other cells, the matrix's **not-rated** code (Jester: 99). Trained as a rating it would skew "
            "every prediction."
        )
    if detected:
        lines.append(
            "Only if the file is one rating per row after all, choose *One rating per row* under **Layout** "
            "(Reading options)."
        )
    (st.warning if hints else st.info)("\n\n".join(lines), icon=":material/grid_on:")


def reading_options() -> dict[str, object]:
    """Override what is detected: layout, separator, decimal mark, header row, date order."""
    with st.expander(
        "Reading options: layout, separator, decimal mark, header, date order", icon=":material/tune:"
    ):
        cols = st.columns(5)
        layout = cols[0].selectbox("Layout", list(LAYOUTS), format_func=LAYOUTS.get, key="data_layout")
        sep = cols[1].selectbox("Separator", list(SEPARATORS), format_func=SEPARATORS.get, key="data_sep")
        decimal = cols[2].selectbox(
            "Decimal mark", list(DECIMALS), format_func=DECIMALS.get, key="data_decimal"
        )
        header = cols[3].selectbox("Header row", list(HEADERS), format_func=HEADERS.get, key="data_header")
        cols[4].selectbox("Date order", list(DATE_ORDERS), format_func=DATE_ORDERS.get, key="data_date_order")
    return {
        "layout": layout,
        "sep": None if sep == "auto" else sep,
        "decimal": None if decimal == "auto" else decimal,
        "has_header": None if header == "auto" else header == "yes",
    }


def reading_day_first() -> bool | None:
    order = st.session_state.get("data_date_order", "auto")
    return None if order == "auto" else order == "day"


def detected_text(sniff) -> str:
    """One line: what the reader detected."""
    if sniff.layout == "netflix":
        return "Detected the **Netflix Prize layout**: 'MovieID:' lines, each followed by user, rating, date lines."
    if sniff.layout in ("json", "parquet"):
        kind = "JSON" if sniff.layout == "json" else "Parquet"
        return f"Detected **{kind}** with {len(sniff.columns)} fields."
    decimal = "decimal **comma**" if sniff.decimal == "," else "decimal point"
    shape = (
        "; a **user x item matrix** (one row per user, one column per item)" if sniff.layout == "wide" else ""
    )
    return (
        f"Detected separator **{sniff.sep_name}**, {decimal}, "
        f"{'a header row' if sniff.has_header else 'no header row'}, {len(sniff.columns)} columns{shape}."
    )


def value_options(sniff) -> tuple[list[float], str | None]:
    """Not-rated codes to drop and a counts transform: what the user chooses, never applied unasked."""
    hints = [float(v) for v in sniff.not_rated_hint]
    if hints and sniff.layout != "wide":  # a matrix says it in its own message (matrix_message)
        listed = ", ".join(f"{v:g}" for v in hints)
        st.warning(
            f"The first rows hold **{listed}**, outside the scale of the other ratings: often a **not-rated** code "
            "(Anime: -1, Jester: 99, Goodreads and Book-Crossing: 0 beside a scale from 1). Trained as ratings they "
            "skew every prediction. If they mean not rated, add them to **Not-rated values to drop**.",
            icon=":material/warning:",
        )
    if sniff.counts_hint:
        st.warning(
            "The rating column looks like **counts** (plays, clicks, hours), not ratings: implicit feedback. The "
            "lesson's models predict explicit ratings; choose a transform under **Counts (implicit feedback)**.",
            icon=":material/warning:",
        )
    cols = st.columns(2)
    options = sorted({*hints, -1.0, 0.0, 99.0})
    chosen = cols[0].multiselect(
        "Not-rated values to drop",
        options,
        format_func=_code_text,
        accept_new_options=True,
        key="data_not_rated",
        help="Rows whose rating is one of these codes are dropped when the file loads (read_ratings(not_rated=...)). "
        "Type another value to add it.",
    )
    codes = []
    for value in chosen:
        try:
            codes.append(float(value))
        except ValueError:
            st.error(
                f"**{text.md(value, limit=40)}** is not a number; type a not-rated code such as -1 or 99.",
                icon=":material/error:",
            )
    counts = cols[1].selectbox(
        "Counts (implicit feedback)",
        list(COUNTS),
        format_func=COUNTS.get,
        key="data_counts",
        help="For play counts, clicks or hours: the lesson's models predict ratings, so transform counts first; "
        "or read each row as “seen it” (an interaction, whatever its value) for the ranking models.",
    )
    if counts == "binary":
        from ui import implicit_view

        implicit_view.binary_reason()
    return codes, None if counts == "keep" else counts


def _code_text(value: object) -> str:
    """A not-rated code as the box shows it: a number as 99, anything typed as it was typed (plain text)."""
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return str(value)[:40]


def items_id_choice(items_upload) -> str | None:
    """Which items-file column holds the item ids: auto (the one matching the ratings) or the user's pick."""
    if items_upload is None:
        return None
    from collab.data.sniff import sniff_ratings

    try:
        header = sniff_ratings(io.BytesIO(items_upload.getvalue()), n_preview=0)
    except DataError:
        return None
    if not header.has_header or header.layout != "rows":
        return None
    choice = st.selectbox("Items id column", [AUTO_ID, *header.columns], key="data_items_id")
    return None if choice == AUTO_ID else choice


ROLE_BOXES = {
    "user": "User column",
    "item": "Item column",
    "rating": "Rating column",
    "timestamp": "Timestamp column",
}


# Parts of a column name that suggest its role, for the boxes the reader left open (kuairec's video_id,
# watch_ratio): a name that fits beats the next column in file order
NAME_HINTS = {
    "user": ("user", "customer", "member", "reviewer", "respondent", "email", "person", "viewer"),
    "item": (
        "item",
        "movie",
        "film",
        "book",
        "product",
        "video",
        "song",
        "track",
        "artist",
        "game",
        "app",
        "asin",
    ),
    "rating": ("rating", "score", "star", "ratio", "grade", "vote", "like", "recommend", "value"),
}


def guess_by_position(columns: list[str], detected: dict[str, str | None]) -> list[str]:
    """Fill the user, item and rating roles the reader left open with distinct unused columns: one whose
    name suggests the role (`NAME_HINTS`) first, else the next in file order (so two boxes never default
    to the same column); returns the roles guessed, changing `detected`."""
    taken = {c for c in detected.values() if c is not None}
    free = [c for c in columns if c not in taken]
    guessed = []
    for role in ("user", "item", "rating"):
        if detected.get(role) is None and free:
            named = [c for c in free if any(hint in str(c).lower() for hint in NAME_HINTS[role])]
            detected[role] = named[0] if named else free[0]
            free.remove(detected[role])
            guessed.append(role)
    return guessed


def mapping_clash(mapping: dict[str, str | None]) -> str:
    """Why the file cannot load as mapped ("" when it can): two boxes naming the same column."""
    chosen = [(role, c) for role, c in mapping.items() if c is not None]
    for i, (role, column) in enumerate(chosen):
        for other, other_column in chosen[i + 1 :]:
            if other_column == column:
                return (
                    f"The **{ROLE_BOXES[role]}** and **{ROLE_BOXES[other]}** boxes both name "
                    f"{text.md(repr(column))}: choose a different column in one of them to load the file."
                )
    return ""


def column_mapping(columns: list[str], detected: dict[str, str | None]) -> dict[str, str | None]:
    """Four select boxes: which column holds the user, item, rating and (optionally) timestamp."""
    cols = st.columns(4)
    mapping: dict[str, str | None] = {}
    for col, (role, label) in zip(cols, ROLE_BOXES.items(), strict=True):
        # (none) for the rating too: an interactions file (read as "seen it") has no rating column
        options = ([NONE] if role in ("timestamp", "rating") else []) + [str(c) for c in columns]
        guess = detected.get(role)
        index = options.index(str(guess)) if guess is not None and str(guess) in options else 0
        choice = col.selectbox(
            label, options, index=index, key=f"data_map_{role}", on_change=_mark_chosen, args=(role,)
        )
        mapping[role] = None if choice == NONE else choice
    return mapping


def summary_panel(ratings: Ratings) -> None:
    """Counts, sparsity, rating histogram, long tails and the crosstab heatmap."""
    summary = ratings.summary()
    for note in ratings.notes:
        st.info(say(note), icon=":material/info:")
    for warning in ratings.warnings:
        st.warning(say(warning), icon=":material/warning:")
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
