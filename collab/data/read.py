"""Ratings from uploaded or local text files: one validated read after sniffing the layout.

Every reader ends in `Ratings.from_frame`, so all sources share one validation and one set of
`DataError` messages. Ids are read as the text in the file ("007" stays "007"). A clean ratings
file is parsed by pyarrow; anything else, and every error message, by pandas' C parser. Nothing
here loops over rows."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from collab.data import guards
from collab.data.errors import Arg, DataError, Message
from collab.data.items import read_items
from collab.data.ratings import MAX_RATINGS, Ratings
from collab.data.roles import normalise, time_kind
from collab.data.sniff import (
    POWERS_OF_TEN,
    Sniff,
    map_columns,
    netflix_frame,
    sniff_layout,
)
from collab.data.source import Column, Input, Source, parse_text, read_table
from collab.data.values import IMPLICIT_TRANSFORMS, Implicit

if TYPE_CHECKING:
    import pyarrow as pa

# ---- ratings and items --------------------------------------------------------------------------


def read_ratings(
    path_or_buffer: Source | pd.DataFrame,
    user_col: Column = None,
    item_col: Column = None,
    rating_col: Column = None,
    timestamp_col: Column = None,
    sep: str | None = None,
    *,
    title_col: Column = None,
    has_header: bool | None = None,
    items: Source | pd.DataFrame | None = None,
    name: str | None = None,
    max_rows: int = MAX_RATINGS,
    max_mb: float | None = None,
    duplicates: Literal["last", "error"] = "last",
    not_rated: Sequence[float] = (),
    implicit: Implicit | None = None,
    decimal: str | None = None,
    day_first: bool | None = None,
    layout: str = "auto",
) -> Ratings:
    """Read ratings from CSV, TSV or '::'-separated text, with or without a header; also the Netflix
    Prize block layout, JSON lines (or a JSON array of records), Parquet, and a user x item matrix.

    Columns may be named or given by 0-based position (False: no such column, e.g. to ignore a
    timestamp); unnamed roles are detected from the header
    (userId/user_id/user, movieId/item_id/item/movie/title, rating/score/stars, timestamp), or taken
    as user, item, rating[, timestamp] by position without one (or with a header in another
    language). `decimal` is "." or "," (detected: `3,5` beside a ';' separator is 3.5). A timestamp
    is detected only when it holds Unix seconds or dates; `day_first` sets the order of dates such as
    05.06.2020 (None: decided from the data and noted). `layout`: "auto" (detect), "rows",
    "wide" (each row a user, each column an item; blank cells are not rated; a wide file is never
    read as rows without it), "netflix", "json", "parquet". `not_rated` drops rows whose rating is one
    of these codes (e.g. [-1] or [99]); `implicit` ("log1p" or "scale") turns counts into trainable
    values; `implicit="binary"` keeps every row as an interaction (rating 1.0, for `model="bpr"` or
    `"bce"`) and also reads files with no rating column (user, item[, timestamp]) and all-1 files. Values that look like not-rated codes or counts are reported in `Ratings.warnings`.
    `items` attaches titles and genres (see `read_items`; its id column is matched to these
    ratings). Files or buffers over `max_mb` MiB (default: no limit; the app passes its memory
    budget's upload limit) and files over `max_rows` rows are refused before they are parsed in full.

    A pandas DataFrame is taken as it is (a notebook's ratings): its columns are chosen and
    detected as a file's header is (names, or 0-based positions), and `sep`, `has_header`,
    `decimal`, `layout` and `max_mb` do not apply. Problems raise `DataError` naming the argument to set.
    """
    explicit = {
        "user": user_col,
        "item": item_col,
        "rating": rating_col,
        "timestamp": timestamp_col,
        "title": title_col,
    }
    if decimal not in (None, ".", ","):
        raise DataError(Message(f"decimal must be '.' or ',', got {decimal!r} (", Arg("decimal"), ")."))
    values = {"not_rated": not_rated, "implicit": implicit, "day_first": day_first}
    if isinstance(path_or_buffer, pd.DataFrame):
        ratings = _ratings_from_frame(path_or_buffer, explicit, name, max_rows, duplicates, values)
        if items is not None:
            ratings = ratings.with_items(
                items
                if isinstance(items, pd.DataFrame)
                else read_items(items, item_labels=ratings.item_labels)
            )
        return ratings
    source = Input(path_or_buffer, max_mb)
    sniff = sniff_layout(source, sep, has_header, explicit, n_preview=0, decimal=decimal, layout=layout)
    if (
        implicit in IMPLICIT_TRANSFORMS
        and rating_col is None
        and sniff.rating_col is None
        and sniff.layout in ("rows", "netflix")
    ):
        # a file of interactions: user, item[, timestamp] and no rating column
        no_rating = {**explicit, "rating": False}
        sniff = sniff_layout(source, sep, has_header, no_rating, n_preview=0, decimal=decimal, layout=layout)
    if sniff.problems:
        raise DataError(Message.join(" ", sniff.problems))
    # NUL bytes and giant fields past the sniffed head (JSON: text split at spaces)
    if sniff.layout != "parquet":
        guards.check_text(source.chunks(), r"\s+" if sniff.layout == "json" else sniff.sep)
    first_line = 2 if sniff.has_header else 1
    options = {
        "title_col": sniff.title_col,
        "name": name or source.name,
        "max_rows": max_rows,
        "duplicates": duplicates,
        "not_rated": not_rated,
        "implicit": implicit,
        "day_first": day_first,
    }
    roles = (sniff.user_col, sniff.item_col, sniff.rating_col, sniff.timestamp_col)
    ratings = None
    if sniff.layout == "wide":
        ratings = _read_wide(source, sniff, options)
    elif sniff.layout == "netflix":
        frame, lines = netflix_frame(source.handle(","), sniff.encoding, max_rows * 2)
        _check_rows(frame, max_rows)
        ratings = Ratings.from_frame(frame, *roles, lines=lines, **options)  # type: ignore[arg-type]
    elif sniff.layout in ("json", "parquet"):
        frame = read_table(source, sniff.layout)
        _check_rows(frame, max_rows)
        ratings = Ratings.from_frame(frame, *roles, lines=1 if sniff.layout == "json" else None, **options)  # type: ignore[arg-type]
    else:
        fast = _parse_clean(source, sniff, max_rows)
        if fast is not None:
            with contextlib.suppress(DataError):  # the C parser below finds it again and names its true line
                ratings = Ratings.from_frame(fast, *roles, lines=first_line, **options)  # type: ignore[arg-type]
            del fast
        if ratings is None:
            ratings = _read_ratings_c(source, sniff, first_line, roles, options)
    if sniff.notes or source.notes:
        ratings = replace(ratings, notes=(*source.notes, *sniff.notes, *ratings.notes))
    if items is not None:
        ratings = ratings.with_items(
            items if isinstance(items, pd.DataFrame) else read_items(items, item_labels=ratings.item_labels)
        )
    return ratings


def _check_rows(frame: pd.DataFrame, max_rows: int) -> None:
    if len(frame) > max_rows:
        raise DataError(
            Message(
                f"too many ratings: more than {max_rows:,} rows (the size limit). Use a sample of the file, or "
                "raise the limit (",
                Arg("max_rows"),
                ") on a machine with enough memory.",
            )
        )


def _read_wide(source: Input, sniff: Sniff, options: dict) -> Ratings:
    """Melt a user x item matrix: each row a user, each column an item, blank cells not rated.

    Users are labelled by the chosen user column (`user_col`), else by a text column before the
    numbers (a survey's e-mail or name; not its timestamp), else by their row (1, 2, ...); the
    other text columns are left out and named in a note. A first column of integers beside
    non-integer ratings (Jester's count of rated jokes per user) is not an item. Items are labelled
    by the header (the part in brackets when every column reads like 'Question [Item]', as survey
    grids write them), else by their position among the rating columns (1, 2, ...).
    """
    frame = parse_text(
        source.handle(sniff.sep),
        sniff.sep,
        sniff.has_header,
        sniff.columns,
        sniff.encoding,
        options["max_rows"] + 1,
        decimal=sniff.decimal,
    )
    frame = frame.dropna(axis=1, how="all")
    rows_present = ~frame.isna().all(axis=1).to_numpy()
    line_of_row = np.flatnonzero(rows_present) + (2 if sniff.has_header else 1)
    frame = frame[rows_present].reset_index(drop=True)
    # label columns before the numbers (a survey's response ID, timestamp, e-mail, name): as sniffed, else text
    lead = int(frame.columns.isin(sniff.columns[: sniff.wide_lead]).sum()) if sniff.wide_lead else 0
    while lead < min(4, frame.shape[1]) and not pd.api.types.is_numeric_dtype(frame.iloc[:, lead].dtype):
        lead += 1
    if frame.shape[1] - lead < 2 or not len(frame):
        raise DataError(
            Message(
                f"read as a user x item matrix, the file has {frame.shape[1] - lead} column(s) of numbers (after "
                f"{lead} of text); a matrix has one per item. Check the separator (",
                Arg("sep"),
                ") and the layout (",
                Arg("layout"),
                "): it may be one rating per row.",
            )
        )
    notes = []
    chosen = sniff.user_col
    if chosen is not None and chosen not in frame.columns:
        raise DataError(Message(f"the user column {chosen!r} is empty (", Arg("user_col"), ")."))
    if chosen is None and lead:
        chosen = _wide_user_column(frame.iloc[:, :lead])
    if chosen is not None:
        user_labels = frame[chosen].astype(str).str.strip().to_numpy()
        left_out = [str(c) for c in frame.columns[:lead] if c != chosen]
        values = frame.drop(columns=[chosen, *left_out])
        text = f"; left out (text, not ratings): {', '.join(map(repr, left_out))}" if left_out else ""
        notes.append(
            Message(
                f"Matrix read with users labelled by column {chosen!r}{text}. Choose the user column with ",
                Arg("user_col"),
                ".",
            )
        )
    elif lead:
        user_labels = np.arange(1, len(frame) + 1).astype(str)
        left_out = [str(c) for c in frame.columns[:lead]]
        values = frame.iloc[:, lead:]
        notes.append(
            Message(
                f"Matrix read with users labelled by row (1 to {len(frame):,}): no text column before the numbers "
                f"has one distinct label per row; left out (text, not ratings): {', '.join(map(repr, left_out))}. "
                "Choose the user column with ",
                Arg("user_col"),
                ".",
            )
        )
    else:
        first = frame.iloc[:, 0]
        user_labels = np.arange(1, len(frame) + 1).astype(str)
        rest = frame.iloc[:, 1:].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        firsts = first.to_numpy(dtype=np.float64)
        count_like = (
            np.all(firsts == np.round(firsts))
            and np.nanmin(firsts) >= 0
            and not np.all(np.isnan(rest) | (rest == np.round(rest)))
        )
        values = frame.iloc[:, 1:] if count_like else frame
        if count_like:
            notes.append(
                f"Matrix read with users labelled by row (1 to {len(frame):,}); the first column holds whole "
                "numbers unlike the ratings (a count per row, as in Jester) and is not read as an item."
            )
        else:
            notes.append(f"Matrix read with users labelled by row (1 to {len(frame):,}).")
    values = _numeric_cells(values, notes)
    names = [str(c) for c in values.columns]
    item_labels = (
        np.asarray(_item_labels(names, notes))
        if sniff.has_header
        else np.arange(1, values.shape[1] + 1).astype(str)
    )
    matrix = values.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)  # (n_users, n_items)
    filled = ~np.isnan(matrix)
    if len(frame) > options["max_rows"] or int(filled.sum()) > options["max_rows"]:
        _check_rows(pd.DataFrame(index=range(options["max_rows"] + 1)), options["max_rows"])
    user_index, item_index = np.nonzero(filled)  # row-major: user by user
    melted = pd.DataFrame(
        {
            "user": user_labels[user_index],
            "item": item_labels[item_index],
            "rating": matrix[user_index, item_index],
        }
    )
    ratings = Ratings.from_frame(
        melted, "user", "item", "rating", None, lines=line_of_row[user_index], **options
    )
    return replace(ratings, notes=(*notes, *ratings.notes))


def _numeric_cells(values: pd.DataFrame, notes: list) -> pd.DataFrame:
    """A matrix's rating columns as numbers: a column of text only (a date, a comment) is left out and
    noted; a column of numbers with some text cells is refused, naming the column and the first one."""
    numbers = values.apply(pd.to_numeric, errors="coerce")
    text = numbers.isna().to_numpy() & values.notna().to_numpy()  # (n_users, n_columns) cells that are text
    if not text.any():
        return numbers
    all_text = text.sum(axis=0) == values.notna().sum(axis=0).to_numpy()
    mixed = np.flatnonzero(text.any(axis=0) & ~all_text)
    if len(mixed):
        column = values.columns[mixed[0]]
        row = int(np.flatnonzero(text[:, mixed[0]])[0])
        raise DataError(
            Message(
                f"column {column!r} of the matrix holds text among its ratings (first: {values[column].iloc[row]!r} "
                f"in row {row + 1}). Fix that cell, or read the file as one rating per row (",
                Arg("layout", '"rows"'),
                ").",
            )
        )
    dropped = [str(c) for c in values.columns[all_text]]
    notes.append(f"Left out of the matrix (text, not ratings): {', '.join(map(repr, dropped))}.")
    return numbers.loc[:, ~all_text]


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _wide_user_column(text: pd.DataFrame) -> str | None:
    """The text column that labels a matrix's users: an e-mail or a user/name column with one distinct
    value per row, else the first such column that is not a time; None when none is."""
    candidates = []
    for column in text.columns:
        cells = text[column].dropna().astype(str).str.strip()
        if len(cells) < len(text) or time_kind(cells.head(200).tolist(), named=True) is not None:
            continue
        name = normalise(column)
        named = any(k in name for k in ("user", "email", "mail", "name", "respondent"))
        if named or cells.head(200).map(lambda v: bool(_EMAIL.match(v))).all():
            candidates.append((0, column))  # a respondent who answered twice is one user (duplicates noted)
        elif not cells.duplicated().any():
            candidates.append((1, column))
    return str(min(candidates, key=lambda pair: pair[0])[1]) if candidates else None


def _item_labels(names: list[str], notes: list) -> list[str]:
    """A matrix's item labels: the header's names, or the part in brackets when every name reads like
    'Question [Item]' (a survey's rating grid) and those parts are distinct."""
    inner = [_BRACKETS.search(name) for name in names]
    if len(names) > 1 and all(inner):
        labels = [m.group(1).strip() for m in inner]  # type: ignore[union-attr]
        if len(set(labels)) == len(labels):
            notes.append(
                f"Items labelled by the part of each column name in brackets ({names[0]!r} is {labels[0]!r})."
            )
            return labels
    return names


_BRACKETS = re.compile(r"\[([^\[\]]+)\]\s*$")


def _ratings_from_frame(
    frame: pd.DataFrame,
    explicit: dict[str, Column],
    name: str | None,
    max_rows: int,
    duplicates: Literal["last", "error"],
    values: dict | None = None,
) -> Ratings:
    """`read_ratings` of a DataFrame: roles from `explicit` or the column names, then `Ratings.from_frame`."""
    if frame.columns.duplicated().any():
        raise DataError(f"the DataFrame has repeated column names: {list(map(str, frame.columns))}.")
    frame = frame.rename(columns=str)  # detection works on names; 0, 1, 2 become "0", "1", "2"
    explicit = {role: str(c) if isinstance(c, str) else c for role, c in explicit.items()}
    sample = frame.head(20).astype(str).to_numpy().tolist()  # for the timestamp and by-position checks
    mapping, problems, _ = map_columns(tuple(frame.columns), True, sample, explicit)
    if (
        (values or {}).get("implicit") == "binary"
        and explicit.get("rating") is None
        and mapping["rating"] is None
    ):
        no_rating = {**explicit, "rating": False}  # interactions: user, item[, timestamp] and no rating
        mapping, problems, _ = map_columns(tuple(frame.columns), True, sample, no_rating)
    if problems:
        raise DataError(Message.join(" ", problems))
    return Ratings.from_frame(
        frame,
        mapping["user"],  # type: ignore[arg-type]
        mapping["item"],  # type: ignore[arg-type]
        mapping["rating"],  # type: ignore[arg-type]
        mapping["timestamp"],
        title_col=mapping["title"],
        name=name or "DataFrame",
        max_rows=max_rows,
        duplicates=duplicates,
        **(values or {}),
    )


def _read_ratings_c(
    source: Input, sniff: Sniff, first_line: int, roles: tuple[str | None, ...], options: dict
) -> Ratings:
    """The careful read: pandas' C parser, blank lines skipped, every message naming its true line."""
    # All columns are parsed (no usecols): with usecols the C parser silently accepts ragged lines.
    frame = parse_text(
        source.handle(sniff.sep),
        sniff.sep,
        sniff.has_header,
        sniff.columns,
        sniff.encoding,
        options["max_rows"] + 1,
        text_cols=(sniff.user_col, sniff.item_col),  # type: ignore[arg-type]
        decimal=sniff.decimal,
    )
    lines: int | np.ndarray = first_line
    maybe_blank = frame[sniff.user_col].isna().to_numpy()
    if maybe_blank.any():  # blank lines parse as all-NaN rows; drop them but keep true line numbers
        blank = maybe_blank & frame.isna().all(axis=1).to_numpy()
        if blank.any():
            lines = np.flatnonzero(~blank) + first_line
            frame = frame[~blank].reset_index(drop=True)
    if len(frame) == 0:
        raise DataError(
            "no ratings: the file has a header but no rows. Check that you picked the right file."
        )
    return Ratings.from_frame(frame, *roles, lines=lines, **options)  # type: ignore[arg-type]


def _parse_clean(source: Input, sniff: Sniff, max_rows: int) -> pd.DataFrame | None:
    """A fast read of a clean file with pyarrow (ids as ints if plainly written, else as text), or None.

    Reading ids as text costs pandas' C parser about 4x its integer parse; pyarrow reads text
    without a Python object per cell. Anything unusual (blank lines, ragged lines, missing
    cells, non-UTF-8 bytes, text ratings or dates, more than `max_rows` rows) returns None, so
    errors and their line numbers always come from `_read_ratings_c`.

    The file is read a block at a time and each block's ids become int64 at once (text only when
    some id is not a plain integer), so the peak is about the compact columns, not a whole table of
    text: pyarrow's one-shot `read_csv` peaks at twice its table and keeps that in its pool.
    """
    if (
        sniff.sep == r"\s+"
        or sniff.encoding == "latin-1"
        or sniff.decimal != "."
        or len(set(sniff.columns)) < len(sniff.columns)
    ):
        return None
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv
    except ImportError:  # pragma: no cover - pyarrow is pinned; the C parser still works without it
        return None
    ids = [sniff.user_col, sniff.item_col]
    wanted = [c for c in (*ids, sniff.rating_col, sniff.timestamp_col, sniff.title_col) if c is not None]
    rest = [c for c in wanted if c not in ids]
    numbers: dict[str, list[np.ndarray]] = {c: [] for c in ids}  # per block while every id is plain
    parts: dict[str, list] = {c: [] for c in rest}  # blocks of text ids (arrow), numbers (numpy), titles
    n_rows = 0
    pool = pa.default_memory_pool()
    reader = None
    try:
        reader = pa_csv.open_csv(
            source.handle(sniff.sep),
            read_options=pa_csv.ReadOptions(
                column_names=list(sniff.columns), skip_rows=int(sniff.has_header)
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter="\x1f" if sniff.sep == "::" else sniff.sep,
                quote_char=False if sniff.sep == "::" else '"',
                ignore_empty_lines=False,  # a blank line becomes a row of nulls, sending us to the C parser
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(ids, pa.string()), include_columns=wanted, strings_can_be_null=True
            ),
        )
        schema = reader.schema
        if any(
            not pa.types.is_integer(schema.field(c).type) and not pa.types.is_floating(schema.field(c).type)
            for c in (sniff.rating_col, sniff.timestamp_col)
            if c is not None
        ):
            return None
        if sniff.title_col is not None and not pa.types.is_string(schema.field(sniff.title_col).type):
            return None
        for batch in reader:
            n_rows += batch.num_rows
            if n_rows > max_rows or any(batch.column(c).null_count for c in wanted if c != sniff.title_col):
                return None
            if batch.num_rows == 0:
                continue
            for column in ids:
                text = batch.column(column)
                if column in numbers:
                    plain = _plain_integers(text)
                    if plain is not None:  # the usual case: the ints' own text is the file's text
                        numbers[column].append(plain)
                        continue
                    # plain ints print as their own text, so the blocks before this one come back exactly
                    parts[column] = [pa.array(block).cast(pa.string()) for block in numbers.pop(column)]
                parts[column].append(text)
            # numbers leave the block at once, so pyarrow reuses its memory for the next; titles stay
            for column in rest:
                values = batch.column(column)
                parts[column].append(values if column == sniff.title_col else values.to_numpy().copy())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError):
        return None
    finally:
        del reader  # its read-ahead blocks go back to pyarrow's pool ...
        pool.release_unused()  # ... and from there to the system, before the columns below are built
    if n_rows == 0:
        return None
    columns: dict[str, object] = {}
    for column in ids:  # one column at a time, each freeing its blocks: the peak is one column's copy
        if column in numbers:
            blocks = numbers.pop(column)
            # int32 when every id fits: `Ratings.from_frame` reads both alike, and half the frame stays alive
            fits = max(int(block.max()) for block in blocks) <= np.iinfo(np.int32).max
            columns[column] = np.concatenate(blocks, dtype=np.int32 if fits else np.int64)  # (n_rows,)
            del blocks
            continue
        encoded = pa.chunked_array(parts.pop(column), pa.string()).combine_chunks().dictionary_encode()
        codes = encoded.indices.to_numpy(zero_copy_only=False)  # (n_rows,) int32
        categories = pd.Index(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object)
        columns[column] = pd.Categorical.from_codes(codes, categories=categories)
        del encoded
    for column in rest:
        if column != sniff.title_col:
            columns[column] = np.concatenate(parts.pop(column))  # (n_rows,) int64 or float64, as to_pandas
            continue
        chunked = pa.chunked_array(parts.pop(column), schema.field(column).type)
        columns[column] = pa.table({column: chunked}).to_pandas()[column]
        del chunked
    pool.release_unused()
    return pd.DataFrame(columns, copy=False)  # the columns are fresh: no copy


def _plain_integers(text: pa.StringArray) -> np.ndarray | None:
    """Ids as int64 when every one is written as a plain non-negative integer ("42", not "042" or "-0")."""
    import pyarrow as pa
    import pyarrow.compute as pa_compute

    try:
        numbers = text.cast(pa.int64()).to_numpy(zero_copy_only=False)  # (n_rows,)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if len(numbers) == 0 or numbers.min() < 0:
        return None
    # The text is plain exactly when it is no longer than the number's digits ("007" is 3 for 1 digit).
    digits = np.searchsorted(POWERS_OF_TEN, numbers, side="right") + 1  # (n_rows,)
    lengths = pa_compute.binary_length(text).to_numpy(zero_copy_only=False)  # (n_rows,)
    return numbers if np.array_equal(lengths, digits) else None
