"""Where ratings come from: uploaded or local text files, MovieLens (download + cache), the demo set.

Every reader ends in `Ratings.from_frame`, so all sources share one validation and one set of
`DataError` messages. Parsing is pandas' C engine throughout; nothing here loops over rows.
"""

from __future__ import annotations

import codecs
import csv
import http.client
import io
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Literal

import numpy as np
import pandas as pd

from collab.data import MAX_RATINGS, DataError, Ratings, label_values

__all__ = [
    "MAX_RATINGS",
    "MAX_UPLOAD_MB",
    "MOVIELENS_DATASETS",
    "DemoTruth",
    "Sniff",
    "demo_ratings",
    "load_movielens",
    "load_movielens_dir",
    "read_items",
    "read_ratings",
    "sniff_ratings",
]

# Uploads larger than this are refused before parsing; .streamlit's server.maxUploadSize should match.
MAX_UPLOAD_MB = 200
MOVIELENS_URL = "https://files.grouplens.org/datasets/movielens/"

Source = str | os.PathLike | bytes | IO[bytes] | IO[str]
Progress = Callable[[int, int | None], None]
Column = str | int | Literal[False] | None  # a name, a 0-based position, False for "none", None to detect

_HEAD_BYTES = 64 * 1024
_SEPARATORS = ("\t", ",", ";", "|")
_SEP_NAMES = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", "::": "'::'", r"\s+": "whitespace"}
# Column names we recognise, compared lower-case with punctuation removed ("user_id" -> "userid").
_ALIASES: dict[str, tuple[str, ...]] = {
    "user": ("userid", "user", "users", "uid", "customerid", "reviewerid"),
    "item": ("movieid", "itemid", "item", "movie", "productid", "bookid", "isbn", "asin", "iid"),
    "rating": ("rating", "ratings", "score", "stars"),
    "timestamp": ("timestamp", "time", "ts", "unixtime", "datetime", "date"),
    "title": ("title", "movietitle", "itemtitle"),
}
_ROLES = tuple(_ALIASES)
_HEADER_HINTS = {
    "user": "userId or user_id",
    "item": "movieId or item_id",
    "rating": "rating, score or stars",
}
_BINARY_MAGIC = {
    b"PK\x03\x04": "a zip archive (or .xlsx); extract it, or export the sheet as CSV",
    b"\x1f\x8b": "gzip-compressed; decompress it first",
    b"PAR1": "a Parquet file; export it as CSV",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) file; export it as CSV",
    b"\xff\xfe": "UTF-16 text; save it as UTF-8",
    b"\xfe\xff": "UTF-16 text; save it as UTF-8",
}
# u.item's 19 genre flags, in order (from MovieLens 100K's u.genre).
_ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip


# ---- sniffing -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Sniff:
    """What a ratings file looks like: separator, header, columns and the guessed column roles."""

    sep: str  # "\t", ",", ";", "|", "::" or r"\s+"
    has_header: bool
    columns: tuple[str, ...]  # header names, or "column 1", "column 2", ... without a header
    user_col: str | None
    item_col: str | None
    rating_col: str | None
    timestamp_col: str | None
    title_col: str | None  # item titles in the ratings file itself (e.g. movieId + title)
    encoding: str
    preview: pd.DataFrame  # the first rows as parsed
    problems: tuple[str, ...]  # why the mapping is incomplete; empty when read_ratings can go ahead

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def sep_name(self) -> str:
        return _SEP_NAMES.get(self.sep, repr(self.sep))


class _Input:
    """A path or an in-memory upload, with its size, a name and the first bytes."""

    def __init__(self, source: Source, max_mb: float | None) -> None:
        self.path: str | None = None
        self.data: bytes | None = None
        self.buffer = source
        if isinstance(source, str | os.PathLike):
            self.path = os.fspath(source)
            if not os.path.isfile(self.path):
                raise DataError(f"no such file: {self.path}. Check the path.")
            self.size = os.path.getsize(self.path)
            self.name = Path(self.path).stem
            if max_mb is not None:
                _check_size(self.size, max_mb)
            return
        _check_size(_buffer_size(source), MAX_UPLOAD_MB if max_mb is None else max_mb)
        self.name = Path(str(getattr(source, "name", "") or "ratings")).stem
        if callable(getattr(source, "getbuffer", None)):  # BytesIO (and Streamlit uploads): no copy yet
            with source.getbuffer() as view:  # type: ignore[union-attr]
                self.size = view.nbytes
        else:
            self.size = len(self.bytes())

    def bytes(self) -> bytes:
        """The whole upload (read once)."""
        if self.data is None:
            raw = self.buffer if isinstance(self.buffer, bytes) else _read_all(self.buffer)  # type: ignore[arg-type]
            self.data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        return self.data

    def head(self) -> bytes:
        if self.path is not None:
            with open(self.path, "rb") as file:
                return file.read(_HEAD_BYTES)
        if self.data is None and callable(getattr(self.buffer, "getbuffer", None)):
            with self.buffer.getbuffer() as view:  # type: ignore[union-attr]
                return bytes(view[:_HEAD_BYTES])
        return self.bytes()[:_HEAD_BYTES]

    def handle(self, sep: str) -> str | io.BytesIO:
        """Something pandas can read; '::' becomes one byte so the C engine can split on it."""
        if sep != "::":
            return self.path if self.path is not None else io.BytesIO(self.bytes())
        data = Path(self.path).read_bytes() if self.path is not None else self.bytes()
        return io.BytesIO(data.replace(b"::", b"\x1f"))


def _buffer_size(source: object) -> int | None:
    size = getattr(source, "size", None)  # Streamlit's UploadedFile
    if isinstance(size, int):
        return size
    if isinstance(source, bytes):
        return len(source)
    try:
        position = source.tell()  # type: ignore[attr-defined]
        end = source.seek(0, io.SEEK_END)  # type: ignore[attr-defined]
        source.seek(position)  # type: ignore[attr-defined]
        return end - position
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None


def _read_all(source: IO) -> bytes | str:
    getvalue = getattr(source, "getvalue", None)
    if callable(getvalue):
        return getvalue()
    position = source.tell() if source.seekable() else None
    data = source.read()
    if position is not None:
        source.seek(position)
    return data


def _check_size(size: int | None, max_mb: float) -> None:
    if size is not None and size > max_mb * 1024 * 1024:
        raise DataError(
            f"the file is {size / 2**20:,.1f} MB, more than the size limit of {max_mb:g} MB. "
            "Upload a sample of it, or load it from disk in Python with read_ratings(path)."
        )


def _decode_head(head: bytes) -> tuple[str, str]:
    """The first bytes as text and the encoding to read the file with: UTF-8, else latin-1."""
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise DataError(f"the file is not text: it looks like {what}.")
    if b"\x00" in head:
        line = head[: head.index(b"\x00")].count(b"\n") + 1
        raise DataError(
            f"the file is not text: it has a NUL byte on line {line}. Export the data as a CSV or TSV text file."
        )
    if head.startswith(codecs.BOM_UTF8):
        return head[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(head, final=False), "utf-8"
    except UnicodeDecodeError:
        return head.decode("latin-1"), "latin-1"


def _split_line(line: str, sep: str) -> list[str]:
    if sep == "::":
        return line.split("::")
    if sep == r"\s+":
        return line.split()
    return next(csv.reader([line], delimiter=sep))


def _detect_sep(lines: Sequence[str]) -> str:
    """'::' if every line has it; else the first of tab, comma, semicolon, pipe giving a steady column count."""
    if all("::" in line for line in lines):
        return "::"
    for sep in _SEPARATORS:
        widths = {len(_split_line(line, sep)) for line in lines}
        if len(widths) == 1 and widths.pop() >= 2:
            return sep
    widths = {len(line.split()) for line in lines}
    if len(widths) == 1 and widths.pop() >= 2:
        return r"\s+"
    return ","


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _detect_header(rows: Sequence[list[str]]) -> bool:
    """A header names a known column, or has text where the rows below have numbers."""
    first = rows[0]
    known = {alias for aliases in _ALIASES.values() for alias in aliases}
    if any(_normalise(cell) in known for cell in first):
        return True
    if len(rows) < 2:
        return not any(_is_number(cell) for cell in first)
    return any(
        not _is_number(cell) and all(i < len(row) and _is_number(row[i]) for row in rows[1:])
        for i, cell in enumerate(first)
    )


def _resolve(choice: Column, columns: tuple[str, ...], role: str) -> tuple[str | None, str | None]:
    """An explicit column choice (name, 0-based position, or False for none) as a column name, or a problem."""
    if choice is None or choice is False:
        return None, None
    if isinstance(choice, int) and not isinstance(choice, bool):
        if 0 <= choice < len(columns):
            return columns[choice], None
        return None, f"{role} column position {choice} is out of range: the file has {len(columns)} columns."
    if choice in columns:
        return str(choice), None
    return None, f"{role} column {choice!r} not found; the columns are {list(columns)}."


def _map_columns(
    columns: tuple[str, ...],
    has_header: bool,
    rows: Sequence[list[str]],
    explicit: dict[str, Column],
) -> tuple[dict[str, str | None], list[str]]:
    """Column roles (user, item, rating, timestamp, title) and the problems that stop a read."""
    mapping: dict[str, str | None] = {}
    problems: list[str] = []
    for role, choice in explicit.items():
        mapping[role], problem = _resolve(choice, columns, role)
        if problem:
            problems.append(problem)
    chosen = [(role, c) for role, c in mapping.items() if c is not None]
    for i, (role, column) in enumerate(chosen):
        clash = [other for other, c in chosen[i + 1 :] if c == column]
        if clash:
            problems.append(
                f"the {role} and {clash[0]} columns are both {column!r}; choose different columns."
            )
    taken = {c for c in mapping.values() if c is not None}
    if not has_header:
        if len(columns) < 3:
            problems.append(
                f"the file has no header and only {len(columns)} column(s); ratings need 3 (user, item, rating). "
                "Check the separator, or add a header row such as userId,movieId,rating."
            )
            return {role: mapping.get(role) for role in _ROLES}, problems
        positional = {"user": 0, "item": 1, "rating": 2}
        if len(columns) >= 4 and rows and all(len(r) > 3 and _is_number(r[3]) for r in rows):
            positional["timestamp"] = 3
        for role, position in positional.items():
            if mapping.get(role) is None and explicit.get(role) is None and columns[position] not in taken:
                mapping[role] = columns[position]
                taken.add(columns[position])
        for role in ("user", "item", "rating"):
            if mapping.get(role) is None and not problems:
                problems.append(f"no {role} column: choose one of {list(columns)} with {role}_col=...")
        return {role: mapping.get(role) for role in _ROLES}, problems

    for role in _ROLES:
        if explicit.get(role) is not None:
            continue
        matches = [c for c in columns if c not in taken and _normalise(c) in _ALIASES[role]]
        if role == "item" and not matches:
            matches = [c for c in columns if c not in taken and _normalise(c) in _ALIASES["title"]]
        if len(matches) == 1:
            mapping[role] = matches[0]
            taken.add(matches[0])
        elif len(matches) > 1:
            mapping[role] = None
            problems.append(
                f"ambiguous {role} column: {', '.join(map(repr, matches))} could all be it; "
                f"choose one with {role}_col=..."
            )
        else:
            mapping[role] = None
            if role in ("user", "item", "rating"):
                problems.append(
                    f"no {role} column found among {list(columns)}; choose one with {role}_col=..., "
                    f"or name it {_HEADER_HINTS[role]} in the header."
                )
    return mapping, problems


def sniff_ratings(
    path_or_buffer: Source,
    user_col: Column = None,
    item_col: Column = None,
    rating_col: Column = None,
    timestamp_col: Column = None,
    sep: str | None = None,
    *,
    title_col: Column = None,
    has_header: bool | None = None,
    n_preview: int = 10,
    max_mb: float | None = None,
) -> Sniff:
    """Look at the first lines of a ratings file: separator, header, columns, guessed roles, preview."""
    return _sniff(
        _Input(path_or_buffer, max_mb),
        sep,
        has_header,
        {
            "user": user_col,
            "item": item_col,
            "rating": rating_col,
            "timestamp": timestamp_col,
            "title": title_col,
        },
        n_preview,
    )


def _sniff(
    source: _Input,
    sep: str | None,
    has_header: bool | None,
    explicit: dict[str, Column],
    n_preview: int,
) -> Sniff:
    head = source.head()
    if not head.strip():
        raise DataError("the file is empty: no lines to read. Choose a file with one rating per line.")
    text, encoding = _decode_head(head)
    lines = text.splitlines()
    if len(head) < source.size and len(lines) > 1:
        lines = lines[:-1]  # the last line of the head may be cut short
    sample = [line for line in lines[:50] if line.strip()]
    sep = sep if sep is not None else _detect_sep(sample)
    rows = [_split_line(line, sep) for line in sample]
    has_header = _detect_header(rows) if has_header is None else has_header
    width = max(len(row) for row in rows)
    if has_header:
        columns = tuple(cell.strip() for cell in rows[0])
        body = rows[1:]
    else:
        columns = tuple(f"column {i + 1}" for i in range(width))
        body = rows
    mapping, problems = _map_columns(columns, has_header, body[:20], explicit)
    preview_text = "\n".join(lines[: n_preview + (1 if has_header else 0) + 5]).encode(encoding)
    if sep == "::":
        preview_text = preview_text.replace(b"::", b"\x1f")
    preview = pd.DataFrame()
    if n_preview:
        try:
            preview = _parse(io.BytesIO(preview_text), sep, has_header, columns, encoding, n_preview)
        except DataError:
            preview = pd.DataFrame(body[:n_preview])
        preview = preview.dropna(how="all").head(n_preview)
    return Sniff(
        sep=sep,
        has_header=has_header,
        columns=columns,
        user_col=mapping["user"],
        item_col=mapping["item"],
        rating_col=mapping["rating"],
        timestamp_col=mapping["timestamp"],
        title_col=mapping["title"],
        encoding=encoding,
        preview=preview,
        problems=tuple(problems),
    )


def _parse(
    handle: str | io.BytesIO,
    sep: str,
    has_header: bool,
    columns: tuple[str, ...],
    encoding: str,
    nrows: int | None,
) -> pd.DataFrame:
    """pandas' C parser with our separator conventions; parse failures become `DataError`."""
    options: dict[str, object] = {
        "sep": "\x1f" if sep == "::" else sep,
        "engine": "c",
        "header": 0 if has_header else None,
        "names": list(columns),
        "nrows": nrows,
        "skip_blank_lines": False,
        "encoding": encoding,
    }
    if sep == "::":
        options["quoting"] = csv.QUOTE_NONE
    try:
        return pd.read_csv(handle, **options)
    except UnicodeDecodeError:
        if encoding == "latin-1":
            raise
        if isinstance(handle, io.BytesIO):
            handle.seek(0)
        return _parse(handle, sep, has_header, columns, "latin-1", nrows)
    except pd.errors.EmptyDataError as error:
        raise DataError(
            "the file is empty: no lines to read. Choose a file with one rating per line."
        ) from error
    except (pd.errors.ParserError, ValueError) as error:
        found = re.search(r"line (\d+)", str(error))
        where = f" (first: line {found.group(1)})" if found else ""
        raise DataError(
            f"could not split the file into columns with the {_SEP_NAMES.get(sep, repr(sep))} separator{where}: "
            f"{str(error).strip().splitlines()[-1]}. Check the separator, and quote fields that contain it."
        ) from error


# ---- ratings and items --------------------------------------------------------------------------


def read_ratings(
    path_or_buffer: Source,
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
) -> Ratings:
    """Read ratings from CSV, TSV or '::'-separated text, with or without a header.

    Columns may be named or given by 0-based position (False: no such column, e.g. to ignore a
    timestamp); unnamed roles are detected from the header
    (userId/user_id/user, movieId/item_id/item/movie/title, rating/score/stars, timestamp), or taken
    as user, item, rating[, timestamp] without one. `items` attaches titles and genres (see
    `read_items`). Uploads (buffers) over `max_mb` (default `MAX_UPLOAD_MB`) and files over
    `max_rows` rows are refused before they are parsed in full.
    """
    source = _Input(path_or_buffer, max_mb)
    explicit = {
        "user": user_col,
        "item": item_col,
        "rating": rating_col,
        "timestamp": timestamp_col,
        "title": title_col,
    }
    sniff = _sniff(source, sep, has_header, explicit, n_preview=0)
    if sniff.problems:
        raise DataError(" ".join(sniff.problems))
    # All columns are parsed (no usecols): with usecols the C parser silently accepts ragged lines.
    frame = _parse(
        source.handle(sniff.sep), sniff.sep, sniff.has_header, sniff.columns, sniff.encoding, max_rows + 1
    )
    first_line = 2 if sniff.has_header else 1
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
    ratings = Ratings.from_frame(
        frame,
        sniff.user_col,  # type: ignore[arg-type]
        sniff.item_col,  # type: ignore[arg-type]
        sniff.rating_col,  # type: ignore[arg-type]
        sniff.timestamp_col,
        title_col=sniff.title_col,
        name=name or source.name,
        max_rows=max_rows,
        duplicates=duplicates,
        lines=lines,
    )
    if items is not None:
        ratings = ratings.with_items(items if isinstance(items, pd.DataFrame) else read_items(items))
    return ratings


def read_items(path_or_buffer: Source, sep: str | None = None) -> pd.DataFrame:
    """Item titles and genres from MovieLens `movies.csv`, `movies.dat`, `u.item`, or a CSV with id and title.

    Returns a frame indexed by item label (str) with columns `title` (str) and `genres` (tuple of str).
    """
    source = _Input(path_or_buffer, None)
    head = source.head()
    if not head.strip():
        raise DataError("the items file is empty. Choose a file with one item per line (id, title, genres).")
    text, encoding = _decode_head(head)
    first = next(line for line in text.splitlines() if line.strip())
    fields = first.split("|")
    if (sep in (None, "::")) and "::" in first:  # movies.dat: id::title::genre|genre
        frame = _parse(source.handle("::"), "::", False, ("item", "title", "genres"), encoding, None)
        frame = frame.dropna(how="all").reset_index(drop=True)  # blank lines
        genres = _split_genres(frame["genres"])
    elif sep in (None, "|") and len(fields) >= 6 and all(f in ("0", "1") for f in fields[-19:]):  # u.item
        flag_names = (
            _ML100K_GENRES
            if len(fields) - 5 == 19
            else tuple(f"genre {i + 1}" for i in range(len(fields) - 5))
        )
        columns = ("item", "title", "release_date", "video_release_date", "url", *flag_names)
        frame = _parse(source.handle("|"), "|", False, columns, encoding, None)
        frame = frame.dropna(how="all").reset_index(drop=True)
        flags = frame[list(flag_names)].fillna(0).to_numpy(dtype=bool)  # (n_items, n_genres)
        names = np.array(flag_names, dtype=object)
        genres = pd.Series([tuple(names[row]) for row in flags], dtype=object)
    else:
        sample = [line for line in text.splitlines()[:50] if line.strip()]
        sep = sep if sep is not None else _detect_sep(sample)
        header = tuple(cell.strip() for cell in _split_line(sample[0], sep))
        id_cols = [c for c in header if _normalise(c) in _ALIASES["item"]]
        title_cols = [c for c in header if _normalise(c) in _ALIASES["title"]]
        if len(id_cols) != 1 or len(title_cols) != 1:
            raise DataError(
                f"the items file needs one id column and one title column; its header is {list(header)}. "
                "Name them movieId (or item_id) and title, as in MovieLens movies.csv."
            )
        genre_cols = [c for c in header if _normalise(c) in ("genres", "genre")]
        frame = _parse(source.handle(sep), sep, True, header, encoding, None)
        frame = frame.dropna(how="all").reset_index(drop=True)
        frame = frame.rename(columns={id_cols[0]: "item", title_cols[0]: "title"})
        genres = (
            _split_genres(frame[genre_cols[0]]) if genre_cols else pd.Series([()] * len(frame), dtype=object)
        )
    missing = frame["item"].isna().to_numpy()
    if missing.any():
        raise DataError(
            f"the items file has {int(missing.sum())} rows without an id (first: item number "
            f"{int(np.flatnonzero(missing)[0]) + 1}). Give every item an id."
        )
    labels = label_values(frame["item"]).astype(str)
    return pd.DataFrame(
        {"title": frame["title"].fillna("").astype(str).str.strip().to_numpy(), "genres": genres.to_numpy()},
        index=pd.Index(labels.to_numpy(), name="item"),
    )


def _split_genres(column: pd.Series) -> pd.Series:
    """'Action|Comedy' -> ('Action', 'Comedy'); MovieLens' '(no genres listed)' -> ()."""
    text = column.fillna("").astype(str).replace("(no genres listed)", "")
    return pd.Series([tuple(g for g in genres if g) for genres in text.str.split("|")], dtype=object)


# ---- MovieLens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MovieLensSpec:
    """One MovieLens archive: its folder (and zip) name, the files we parse, and a display name."""

    folder: str
    ratings_file: str
    items_file: str
    title: str


MOVIELENS_DATASETS: dict[str, MovieLensSpec] = {
    "100k": MovieLensSpec("ml-100k", "u.data", "u.item", "MovieLens 100K"),
    "latest-small": MovieLensSpec("ml-latest-small", "ratings.csv", "movies.csv", "MovieLens latest (small)"),
    "1m": MovieLensSpec("ml-1m", "ratings.dat", "movies.dat", "MovieLens 1M"),
}


def movielens_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where MovieLens archives live: `cache_dir`, else $COLLAB_DATA_DIR, else the user's cache dir."""
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get("COLLAB_DATA_DIR"):
        return Path(os.environ["COLLAB_DATA_DIR"])
    import platformdirs

    return Path(platformdirs.user_cache_dir("collab-lab"))


def load_movielens(
    name: str = "100k",
    cache_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
    base_url: str | None = None,
) -> Ratings:
    """MovieLens with titles and genres: downloaded once from GroupLens, verified, cached, parsed.

    The archive is fetched from `base_url` (else $COLLAB_MOVIELENS_URL, else GroupLens) into the
    cache dir (see `movielens_cache_dir`) through a temporary file that is renamed only once the
    download is complete and the zip is intact and holds the expected files. A zip placed there
    by hand, or its extracted folder, is used without a download. `progress(bytes_done, bytes_total
    or None)` is called as bytes arrive.
    """
    spec = _movielens_spec(name)
    root = movielens_cache_dir(cache_dir)
    folder = root / spec.folder
    if not _is_extracted(folder, spec):
        zip_path = root / f"{spec.folder}.zip"
        if not zip_path.is_file():
            base = base_url or os.environ.get("COLLAB_MOVIELENS_URL") or MOVIELENS_URL
            _download(f"{base.rstrip('/')}/{spec.folder}.zip", zip_path, spec, progress)
        _extract(zip_path, spec, folder)
    return load_movielens_dir(folder)


def load_movielens_dir(path: str | os.PathLike, name: str | None = None) -> Ratings:
    """Parse an extracted MovieLens folder (ml-100k, ml-latest-small or ml-1m layout)."""
    folder = Path(path)
    for spec in MOVIELENS_DATASETS.values():
        if _is_extracted(folder, spec):
            break
    else:
        expected = " or ".join(f"{s.ratings_file} + {s.items_file}" for s in MOVIELENS_DATASETS.values())
        raise DataError(f"{folder} is not a MovieLens folder: it needs {expected}.")
    ratings_path = folder / spec.ratings_file
    if spec.ratings_file == "ratings.csv":
        ratings = read_ratings(
            ratings_path, "userId", "movieId", "rating", "timestamp", sep=",", has_header=True
        )
    else:
        sep = "\t" if spec.ratings_file == "u.data" else "::"
        ratings = read_ratings(ratings_path, 0, 1, 2, 3, sep=sep, has_header=False)
    return replace(ratings.with_items(read_items(folder / spec.items_file)), name=name or spec.title)


def _movielens_spec(name: str) -> MovieLensSpec:
    if name not in MOVIELENS_DATASETS:
        raise DataError(f"unknown MovieLens set {name!r}; choose one of {', '.join(MOVIELENS_DATASETS)}.")
    return MOVIELENS_DATASETS[name]


def _is_extracted(folder: Path, spec: MovieLensSpec) -> bool:
    return (folder / spec.ratings_file).is_file() and (folder / spec.items_file).is_file()


def _download(url: str, dest: Path, spec: MovieLensSpec, progress: Progress | None) -> None:
    """Fetch `url` to `dest` through a temporary file; only a complete, valid zip is renamed into place."""
    manual = (
        f"To install it by hand, download {url} on a machine with internet access and put the zip at {dest} "
        "(or set COLLAB_DATA_DIR to a folder holding it), then try again."
    )
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(
            f"cannot create the data folder {dest.parent}: {error}. Set COLLAB_DATA_DIR to a writable folder."
        ) from error
    fd, partial = tempfile.mkstemp(dir=dest.parent, prefix=f".{spec.folder}-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    length = response.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    done = 0
                    if progress is not None:
                        progress(0, total)
                    while chunk := response.read(1 << 16):
                        out.write(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, total)
            except urllib.error.HTTPError as error:
                raise DataError(
                    f"could not download {spec.title}: {url} answered HTTP {error.code}. {manual}"
                ) from error
            except http.client.IncompleteRead as error:
                raise DataError(
                    f"the download of {spec.title} was cut short ({done + len(error.partial):,} of "
                    f"{total or 0:,} bytes). Try again. {manual}"
                ) from error
            except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
                reason = getattr(error, "reason", error)
                raise DataError(
                    f"could not download {spec.title} from {url} ({reason}); are you offline? {manual}"
                ) from error
        if total is not None and done != total:
            raise DataError(
                f"the download of {spec.title} was cut short ({done:,} of {total:,} bytes). Try again. {manual}"
            )
        _check_zip(Path(partial), spec, what=f"the file downloaded from {url}")
        os.replace(partial, dest)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def _zip_members(archive: zipfile.ZipFile, spec: MovieLensSpec, what: str) -> dict[str, zipfile.ZipInfo]:
    """The archive's ratings and items members, found by file name (the folder inside may vary)."""
    by_name = {Path(info.filename).name: info for info in archive.infolist() if not info.is_dir()}
    missing = [f for f in (spec.ratings_file, spec.items_file) if f not in by_name]
    if missing:
        found = ", ".join(sorted(i.filename for i in archive.infolist())[:5]) or "nothing"
        raise DataError(
            f"{what} is not the {spec.title} archive: it lacks {', '.join(missing)} (it holds {found}). "
            f"Delete it and download {spec.folder}.zip again."
        )
    return {f: by_name[f] for f in (spec.ratings_file, spec.items_file)}


def _check_zip(path: Path, spec: MovieLensSpec, what: str) -> None:
    """The zip opens, holds the expected files, and their CRCs match."""
    try:
        with zipfile.ZipFile(path) as archive:
            _zip_members(archive, spec, what)
            bad = archive.testzip()
    except zipfile.BadZipFile as error:
        raise DataError(
            f"{what} is not a valid zip archive ({error}). Delete it and download {spec.folder}.zip again."
        ) from error
    if bad is not None:
        raise DataError(
            f"{what} is damaged: {bad} fails its CRC check. Delete it and download {spec.folder}.zip again."
        )


def _extract(zip_path: Path, spec: MovieLensSpec, folder: Path) -> None:
    """Copy the two files we parse out of the zip, each through a temporary file and an atomic rename."""
    what = f"the archive at {zip_path}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for file_name, info in _zip_members(archive, spec, what).items():
                fd, partial = tempfile.mkstemp(dir=folder, prefix=f".{file_name}-", suffix=".part")
                try:
                    with os.fdopen(fd, "wb") as out, archive.open(info) as member:
                        shutil.copyfileobj(member, out)
                    os.replace(partial, folder / file_name)
                finally:
                    if os.path.exists(partial):
                        os.unlink(partial)
    except zipfile.BadZipFile as error:
        if not any(folder.iterdir()):
            folder.rmdir()  # leave no empty folder behind
        raise DataError(
            f"{what} is damaged ({error}). Delete it and download {spec.folder}.zip again."
        ) from error


# ---- the demo set -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DemoTruth:
    """The planted model behind `demo_ratings`: rating = global + biases + user·item + noise."""

    user_factors: np.ndarray  # (n_users, k)
    item_factors: np.ndarray  # (n_items, k)
    user_bias: np.ndarray  # (n_users,)
    item_bias: np.ndarray  # (n_items,)
    global_mean: float
    genre_names: tuple[str, ...]
    item_genre: np.ndarray  # (n_items,) index into genre_names
    user_taste: np.ndarray  # (n_users, n_genres) how much each user likes each genre
    noise_std: float
    oracle_rmse: float  # RMSE of the true (unrounded, unclipped) model on the observed ratings

    def predict(self, user_ids: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
        """The true model's (unrounded, unclipped) ratings for (user, item) index pairs."""
        dot = np.einsum("nk,nk->n", self.user_factors[user_ids], self.item_factors[item_ids])
        return self.global_mean + self.user_bias[user_ids] + self.item_bias[item_ids] + dot


# Words for made-up titles: "The {adjective} {noun} (year)"; one vocabulary per genre.
_DEMO_GENRES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Sci-Fi": (
        ("Last", "Silent", "Distant", "Frozen", "Final", "Hidden", "Broken", "Eternal"),
        ("Orbit", "Nebula", "Signal", "Colony", "Horizon", "Android", "Frontier", "Eclipse"),
    ),
    "Romance": (
        ("Summer", "Paper", "Secret", "Golden", "Second", "Endless", "Sweet", "Little"),
        ("Promise", "Letters", "Kiss", "Garden", "Waltz", "Vows", "Heart", "Affair"),
    ),
    "Comedy": (
        ("Wrong", "Lucky", "Crazy", "Accidental", "Big", "Awkward", "Reluctant", "Noisy"),
        ("Wedding", "Neighbours", "Vacation", "Roommate", "Uncle", "Reunion", "Detour", "Plan"),
    ),
    "Horror": (
        ("Hollow", "Crimson", "Dead", "Whispering", "Black", "Rotten", "Howling", "Pale"),
        ("House", "Woods", "Cellar", "Mirror", "Harvest", "Ritual", "Doll", "Lake"),
    ),
    "Western": (
        ("Dusty", "Lone", "Iron", "Red", "Dry", "Wild", "Long", "High"),
        ("Trail", "Rider", "Canyon", "Gulch", "Saddle", "Sheriff", "Mesa", "Outlaw"),
    ),
    "Documentary": (
        ("Unseen", "Deep", "Forgotten", "Living", "Quiet", "Vanishing", "Ancient", "Restless"),
        ("Ocean", "Planet", "Kingdom", "Machines", "Forests", "Empire", "River", "Cities"),
    ),
    "Animation": (
        ("Brave", "Tiny", "Magic", "Clever", "Flying", "Sleepy", "Jolly", "Clockwork"),
        ("Dragon", "Mouse", "Robot", "Castle", "Balloon", "Penguin", "Teapot", "Fox"),
    ),
    "Thriller": (
        ("Cold", "Seventh", "Double", "Blind", "Midnight", "Burning", "Perfect", "Quiet"),
        ("Witness", "Protocol", "Cipher", "Alibi", "Verdict", "Contract", "Target", "Hostage"),
    ),
}


def demo_ratings(seed: int = 0) -> Ratings:
    """A planted-structure set (600 users, 400 items, ~50k ratings in 8 named genres) with its ground truth.

    rating = clip(round(global + user_bias + item_bias + user·item + noise), 1, 5), where items
    sit near their genre's axis and users have genre tastes; who rates what follows item
    popularity (a long tail), user activity, and taste (people watch what they like).
    """
    rng = np.random.default_rng(seed)
    n_users, n_items, target_ratings, noise_std = 600, 400, 50_000, 0.5
    genre_names = tuple(_DEMO_GENRES)
    n_genres = len(genre_names)

    item_genre = rng.permutation(np.repeat(np.arange(n_genres), n_items // n_genres))  # (n_items,)
    item_factors = np.eye(n_genres)[item_genre] + rng.normal(0.0, 0.2, (n_items, n_genres))  # (n_items, k)
    user_taste = rng.normal(0.0, 0.45, (n_users, n_genres))  # (n_users, n_genres)
    user_taste[np.arange(n_users), rng.integers(0, n_genres, n_users)] += 0.9  # a favourite genre each
    user_factors = user_taste.copy()  # (n_users, k): the genre axes are the latent factors
    popularity = 1.0 / (rng.permutation(n_items) + 8.0)  # (n_items,) Zipf-like long tail
    log_popularity = np.log(popularity)
    user_bias = rng.normal(0.0, 0.3, n_users)
    popularity_z = (log_popularity - log_popularity.mean()) / log_popularity.std()
    item_bias = 0.25 * popularity_z + rng.normal(0.0, 0.3, n_items)  # popular items rate a bit higher
    global_mean = 3.0
    interaction = user_factors @ item_factors.T  # (n_users, n_items)
    true_scores = global_mean + user_bias[:, None] + item_bias[None, :] + interaction  # (n_users, n_items)

    # Who rates what: each user rates their top-n items under Gumbel-perturbed log weights
    # (sampling without replacement, vectorised), weights = popularity x taste.
    activity = rng.lognormal(0.0, 0.7, n_users)
    n_rated = np.clip(np.round(activity * target_ratings / activity.sum()), 20, n_items // 2).astype(np.int64)
    keys = log_popularity[None, :] + 0.8 * interaction + rng.gumbel(size=(n_users, n_items))
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)  # (n_users, n_items) 0 = first choice
    user_ids, item_ids = np.nonzero(rank < n_rated[:, None])

    truth_values = true_scores[user_ids, item_ids]
    observed = np.clip(np.round(truth_values + rng.normal(0.0, noise_std, len(user_ids))), 1, 5)
    oracle_rmse = float(np.sqrt(np.mean((truth_values - observed) ** 2)))
    timestamps = 1_420_070_400 + rng.integers(0, 3 * 365 * 86_400, len(user_ids))  # 2015-2017
    order = np.argsort(timestamps, kind="stable")

    titles = np.empty(n_items, dtype=object)
    for genre, (adjectives, nouns) in enumerate(_DEMO_GENRES.values()):
        members = np.flatnonzero(item_genre == genre)
        combos = rng.permutation(len(adjectives) * len(nouns))[: len(members)]
        years = rng.integers(1950, 2024, len(members))
        for item, combo, year in zip(members, combos, years, strict=True):
            titles[item] = f"The {adjectives[combo // len(nouns)]} {nouns[combo % len(nouns)]} ({year})"

    truth = DemoTruth(
        user_factors=user_factors,
        item_factors=item_factors,
        user_bias=user_bias,
        item_bias=item_bias,
        global_mean=global_mean,
        genre_names=genre_names,
        item_genre=item_genre,
        user_taste=user_taste,
        noise_std=noise_std,
        oracle_rmse=oracle_rmse,
    )
    return Ratings(
        user_ids=user_ids[order],
        item_ids=item_ids[order],
        ratings=observed[order],
        user_labels=np.arange(1, n_users + 1).astype(str),
        item_labels=np.arange(1, n_items + 1).astype(str),
        timestamps=timestamps[order],
        titles=titles.astype(str),
        genres=tuple((genre_names[g],) for g in item_genre),
        name=f"Demo (planted, seed {seed})",
        truth=truth,
    )
