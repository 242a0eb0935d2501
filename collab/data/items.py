"""Items files (titles, genres) read beside a ratings file, matched to its item ids."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

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
    id_col: str | None = None,
    item_labels: Sequence[str] | np.ndarray | None = None,
) -> pd.DataFrame:
    """Item titles and genres from MovieLens `movies.csv`, `movies.dat`, `u.item`, or a CSV with id and title.

    Returns a frame indexed by item label (str) with columns `title` (str) and `genres` (tuple of str);
    `frame.attrs["notes"]` says which id column was used. A CSV with several id-like columns
    (goodbooks' book_id, goodreads_book_id, isbn, ...) uses `id_col`, else the one whose values
    match the most of `item_labels` (the ratings' item ids). Errors name the items file.
    """
    source = Input(path_or_buffer, None)
    file = _file_name(path_or_buffer, "the items file")
    try:
        return _read_items(source, sep, id_col, item_labels, file)
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
    if (sep in (None, "::")) and "::" in first:  # movies.dat: id::title::genre|genre
        frame = parse_text(
            source.handle("::"), "::", False, ("item", "title", "genres"), encoding, None, ["item"]
        )
        frame = frame.dropna(how="all").reset_index(drop=True)  # blank lines
        genres = _split_genres(frame["genres"])
    elif sep in (None, "|") and len(fields) >= 6 and all(f in ("0", "1") for f in fields[-19:]):  # u.item
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
        header = tuple(cell.strip() for cell in split_line(sample[0], sep))
        header = tuple(name or f"column {i + 1}" for i, name in enumerate(header))
        title_cols = [c for c in header if normalise(c) in ALIASES["title"]]
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
