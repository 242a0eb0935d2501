"""Items files (titles, genres) read beside a ratings file, matched to its item ids."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from collab.data import guards
from collab.data.errors import Arg, DataError, Message
from collab.data.sniff import ALIASES, detect_sep, normalise, split_line
from collab.data.source import Input, Source, decode_head, parse_text

# u.item's 19 genre flags, in order (from MovieLens 100K's u.genre).
_ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
ITEMS_MAX_FIELD_BYTES = 64 * 1024


def read_items(
    path_or_buffer: Source,
    sep: str | None = None,
    *,
    id_col: str | int | None = None,
    title_col: str | int | None = None,
    header: Literal["infer"] | int | None = "infer",
    item_labels: Sequence[str] | np.ndarray | None = None,
) -> pd.DataFrame:
    """Item titles and genres from MovieLens `movies.csv`, `movies.dat`, `u.item`, or a CSV with id and title.

    Returns a frame indexed by item label (str) with columns `title` (str) and `genres` (tuple of str);
    `frame.attrs["notes"]` says which id column was used. A CSV with several id-like columns
    (goodbooks' book_id, goodreads_book_id, isbn, ...) uses `id_col`, else the one whose values
    match the most of `item_labels` (the ratings' item ids). Errors name the items file.

    `header`: "infer" (a first line of known names is a header; one starting with a number is not),
    0 (the first line is a header) or None (no header). Without a header the columns are taken by
    position: `id_col` (default 0) and `title_col` (default: the first column after the id that
    is not a number or NULL, such as Netflix's `MovieID,YearOfRelease,Title`), and the title is
    the rest of the line, so commas inside unquoted titles stay in the title. `id_col` and
    `title_col` are names or 0-based positions. Latin-1 files are read as such.
    """
    if header not in ("infer", 0, None):
        raise ValueError(f'header must be "infer", 0 or None, got {header!r}')
    source = Input(path_or_buffer, None)
    file = _file_name(path_or_buffer, "the items file")
    try:
        return _read_items(source, sep, id_col, item_labels, file, title_col, header)
    except DataError as error:
        message = error.args[0] if error.args else ""
        raise DataError(Message(f"{file}: ", message)) from error


def _file_name(source: object, default: str) -> str:
    name = os.fspath(source) if isinstance(source, str | os.PathLike) else getattr(source, "name", None)
    return f"items file {Path(str(name)).name!r}" if name else default


def _read_items(
    source: Input,
    sep: str | None,
    id_col: str | None,
    item_labels: Sequence[str] | np.ndarray | None,
    file: str,
    title_col: str | int | None = None,
    header: Literal["infer"] | int | None = "infer",
) -> pd.DataFrame:
    notes: list[str] = []
    head = source.head()
    # NUL bytes and giant fields, whatever the separator (items files may carry descriptions: 64 KiB)
    guards.check_text(source.chunks(), ",;|\t:", max_field=ITEMS_MAX_FIELD_BYTES)
    if not head.strip():
        raise DataError("it is empty. Choose a file with one item per line (id, title, genres).")
    text, encoding = decode_head(head)
    first = next(line for line in text.splitlines() if line.strip())
    fields = first.split("|")
    first_cells = split_line(first, sep or detect_sep([first]))
    u_item = sep in (None, "|") and len(fields) >= 6 and all(f in ("0", "1") for f in fields[-19:])
    movies_dat = sep in (None, "::") and "::" in first
    if header is None or (header == "infer" and not u_item and not movies_dat and _headerless(first_cells)):
        frame = _by_position(source, text, sep, encoding, id_col, title_col, notes)
        genres = pd.Series([()] * len(frame), dtype=object)
    elif movies_dat:  # movies.dat: id::title::genre|genre
        frame = parse_text(
            source.handle("::"), "::", False, ("item", "title", "genres"), encoding, None, ["item"]
        )
        frame = frame.dropna(how="all").reset_index(drop=True)  # blank lines
        genres = _split_genres(frame["genres"])
    elif u_item:
        flag_names = (
            _ML100K_GENRES
            if len(fields) - 5 == 19
            else tuple(f"genre {i + 1}" for i in range(len(fields) - 5))
        )
        columns = ("item", "title", "release_date", "video_release_date", "url", *flag_names)
        frame = parse_text(source.handle("|"), "|", False, columns, encoding, None, ["item"])
        frame = frame.dropna(how="all").reset_index(drop=True)
        flags = frame[list(flag_names)].fillna(0).to_numpy(dtype=bool)  # (n_items, n_genres)
        names = np.array(flag_names, dtype=object)
        genres = pd.Series([tuple(names[row]) for row in flags], dtype=object)
    else:
        sample = [line for line in text.splitlines()[:50] if line.strip()]
        sep = sep if sep is not None else detect_sep(sample)
        names = tuple(cell.strip() for cell in split_line(sample[0], sep))
        names = tuple(name or f"column {i + 1}" for i, name in enumerate(names))
        if isinstance(id_col, int) and not isinstance(id_col, bool):
            id_col = names[id_col] if 0 <= id_col < len(names) else str(id_col)
        if isinstance(title_col, int) and not isinstance(title_col, bool):
            title_col = names[title_col] if 0 <= title_col < len(names) else str(title_col)
        header_names = names
        if title_col is not None and title_col not in header_names:
            raise DataError(
                Message(
                    f"the title column {title_col!r} is not in its header {list(header_names)} (",
                    Arg("title_col", repr(title_col)),
                    ").",
                )
            )
        title_cols = (
            [title_col]
            if title_col is not None
            else [c for c in header_names if normalise(c) in ALIASES["title"]]
        )
        header = header_names
        if id_col is not None and id_col not in header:
            raise DataError(
                Message(
                    f"the id column {id_col!r} is not in its header {list(header)} (",
                    Arg("id_col", repr(id_col)),
                    ").",
                )
            )
        candidates = [id_col] if id_col is not None else _id_like(header, title_cols)
        if not candidates or len(title_cols) != 1:
            raise DataError(
                f"it needs an id column and one title column; its header is {list(header)}. "
                "Name them movieId (or item_id) and title, as in MovieLens movies.csv."
            )
        genre_cols = [c for c in header if normalise(c) in ("genres", "genre")]
        frame = parse_text(source.handle(sep), sep, True, header, encoding, None, candidates)
        frame = frame.dropna(how="all").reset_index(drop=True)
        chosen = _choose_id_column(frame, candidates, item_labels, notes)
        frame = frame.rename(columns={chosen: "item", title_cols[0]: "title"})
        genres = (
            _split_genres(frame[genre_cols[0]]) if genre_cols else pd.Series([()] * len(frame), dtype=object)
        )
    missing = frame["item"].isna().to_numpy()
    if missing.any():
        raise DataError(
            f"it has {int(missing.sum())} rows without an id (first: item number "
            f"{int(np.flatnonzero(missing)[0]) + 1}). Give every item an id."
        )
    labels = frame["item"].astype(str).str.strip()  # the id's text, as ratings labels keep it
    out = pd.DataFrame(
        {
            "title": frame["title"].fillna("").astype(str).str.strip().to_numpy(dtype=object),
            "genres": genres.to_numpy(),
        },
        index=pd.Index(labels.to_numpy(dtype=object), name="item"),  # never n x the longest id (text_array)
    )
    out.attrs["notes"] = tuple(f"{file[0].upper()}{file[1:]}: {note}" for note in notes)
    return out


_NULL = ("", "null", "none", "nan", "na", "n/a", "\\n")


def _headerless(cells: Sequence[str]) -> bool:
    """A first line that is data, not names: it starts with a number and names no column we know."""
    known = {alias for aliases in ALIASES.values() for alias in aliases} | {"id", "name", "genres", "year"}
    if any(normalise(c) in known or normalise(c).endswith("id") for c in cells):
        return False
    return bool(cells) and cells[0].strip().isdigit()


def _by_position(
    source: Input,
    head_text: str,
    sep: str | None,
    encoding: str,
    id_col: str | int | None,
    title_col: str | int | None,
    notes: list[str],
) -> pd.DataFrame:
    """An items file without a header: the id at `id_col` and the title from `title_col` to the end of
    the line (Netflix's movie_titles.txt: 'MovieID,YearOfRelease,Title', titles with unquoted commas)."""
    raw = source.bytes() if source.path is None else Path(source.path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # Netflix's titles are latin-1
        encoding = "latin-1"
    lines = pd.Series([line for line in text.splitlines() if line.strip()], dtype=object)
    sample = [line for line in head_text.splitlines()[:50] if line.strip()]
    sep = sep if sep is not None else detect_sep(sample)
    for name, value in (("id_col", id_col), ("title_col", title_col)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise DataError(
                Message(
                    f"it has no header, so {name} is a 0-based position, not {value!r} (",
                    Arg(name, "0"),
                    ").",
                )
            )
    id_at = 0 if id_col is None else int(id_col)
    if title_col is None:
        cells = [split_line(line, sep) for line in sample]
        title_at = next(
            (
                i
                for i in range(id_at + 1, max(map(len, cells)))
                if not all(
                    i < len(row) and (row[i].strip().lower() in _NULL or guards.is_float_text(row[i]))
                    for row in cells
                )
            ),
            None,
        )
        if title_at is None:
            raise DataError(
                Message(
                    "it has no header and no column of text after the id to read as the title; choose the "
                    "columns with ",
                    Arg("id_col"),
                    " and ",
                    Arg("title_col"),
                    ", or add a header such as movieId,title.",
                )
            )
    else:
        title_at = int(title_col)
    parts = lines.str.split(sep if sep not in ("::", r"\s+") else None, n=title_at, regex=False, expand=True)
    if parts.shape[1] <= max(id_at, title_at):
        raise DataError(
            Message(
                f"it has no column {max(id_at, title_at) + 1} (",
                Arg("title_col"),
                f"); its lines have at most {parts.shape[1]} columns.",
            )
        )
    titles = parts[title_at].fillna("").str.strip().str.strip('"')
    notes.append(
        f"no header: column {id_at + 1} read as the item id and the rest of each line from column "
        f"{title_at + 1} as the title{' (latin-1 text)' if encoding == 'latin-1' else ''}."
    )
    return pd.DataFrame({"item": parts[id_at].str.strip(), "title": titles})


def _id_like(header: tuple[str, ...], title_cols: Sequence[str]) -> list[str]:
    """Columns that may hold item ids: known id names first, then names ending in 'id', and ISBNs."""
    known = [c for c in header if normalise(c) in ALIASES["item"] and c not in title_cols]
    other = [
        c
        for c in header
        if c not in known and (normalise(c).endswith("id") or normalise(c).startswith("isbn"))
    ]
    return known + other


def _choose_id_column(
    frame: pd.DataFrame,
    candidates: list[str],
    item_labels: Sequence[str] | np.ndarray | None,
    notes: list[str],
) -> str:
    """The id column: the only candidate, else the one matching the most ratings item ids (noted)."""
    if len(candidates) == 1 and item_labels is None:
        return candidates[0]
    if item_labels is None:
        raise DataError(
            Message(
                f"several columns could hold the item ids ({', '.join(map(repr, candidates))}); choose one with ",
                Arg("id_col"),
                ", or load it with the ratings so the column whose ids match theirs is used.",
            )
        )
    wanted = pd.Index(guards.as_text(np.asarray(item_labels, dtype=object)))
    matches = {
        c: int(wanted.isin(frame[c].dropna().astype(str).str.strip().to_numpy()).sum()) for c in candidates
    }
    best = max(candidates, key=lambda c: matches[c])  # the first of equal matches
    if matches[best] == 0:
        what = (
            f"none of its id-like columns ({', '.join(map(repr, candidates))}) holds the ratings' item ids"
            if len(candidates) > 1
            else f"its id column {candidates[0]!r} holds none of the ratings' item ids"
        )
        raise DataError(
            Message(
                f"{what} (first: {str(wanted[0])!r}); check that it belongs to these ratings, or choose the id column with ",
                Arg("id_col"),
                ".",
            )
        )
    if len(candidates) > 1:
        others = ", ".join(f"{c!r} {matches[c]:,}" for c in candidates if c != best)
        notes.append(
            f"item ids matched by column {best!r} ({matches[best]:,} of {len(wanted):,} rated items; other "
            f"id-like columns: {others})."
        )
    return best


def _split_genres(column: pd.Series) -> pd.Series:
    """'Action|Comedy' -> ('Action', 'Comedy'); MovieLens' '(no genres listed)' -> ()."""
    text = column.fillna("").astype(str).replace("(no genres listed)", "")
    return pd.Series([tuple(g for g in genres if g) for genres in text.str.split("|")], dtype=object)
