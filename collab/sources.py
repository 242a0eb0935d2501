"""Ratings and items from uploaded or local text files: sniffing the layout, then one validated read.

Every reader ends in `Ratings.from_frame`, so all sources share one validation and one set of
`DataError` messages. Ids are read as the text in the file ("007" stays "007"). A clean ratings
file is parsed by pyarrow; anything else, and every error message, by pandas' C parser. Nothing
here loops over rows.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import importlib
import io
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from collab import budget, guards
from collab.data import MAX_RATINGS, DataError, Ratings

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "MAX_RATINGS",
    "MAX_UPLOAD_MB",
    "Sniff",
    "read_items",
    "read_ratings",
    "sniff_ratings",
]

# Uploads (buffers) larger than the memory budget's limit are refused before parsing (collab.budget);
# this is the default budget's limit in MB of 10**6 bytes, the unit of Streamlit's server.maxUploadSize.
MAX_UPLOAD_MB = budget.Budget().upload_mb

Source = str | os.PathLike | bytes | IO[bytes] | IO[str]
Column = str | int | Literal[False] | None  # a name, a 0-based position, False for "none", None to detect

_HEAD_BYTES = 64 * 1024
# What pandas reads as missing by default; id columns use only "" (an id "NA" is an id).
_NA_TEXT = sorted(pd.io.parsers.readers.STR_NA_VALUES)
_POWERS_OF_TEN = 10 ** np.arange(1, 19, dtype=np.int64)  # 10 .. 10**18: the digit count of an int64
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
        if max_mb is None:  # an upload: the server's memory budget decides (collab.budget)
            size = _buffer_size(source)
            if size is not None:
                budget.current().check_upload(size)
        else:
            _check_size(_buffer_size(source), max_mb)
        self.name = Path(str(getattr(source, "name", "") or "ratings")).stem
        if callable(getattr(source, "getbuffer", None)):  # BytesIO (and Streamlit uploads): no copy yet
            with source.getbuffer() as view:  # type: ignore[union-attr]
                self.size = view.nbytes
        else:
            self.size = len(self.bytes())
            if max_mb is None:
                budget.current().check_upload(self.size)

    def bytes(self) -> bytes:
        """The whole upload (read once)."""
        if self.data is None:
            raw = self.buffer if isinstance(self.buffer, bytes) else _read_all(self.buffer)  # type: ignore[arg-type]
            self.data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        return self.data

    def chunks(self) -> Iterator[bytes]:
        """The whole input, a few MB at a time (no copy of an in-memory upload)."""
        if self.path is not None:
            yield from guards.chunks_of(self.path)
        elif self.data is None and callable(getattr(self.buffer, "getbuffer", None)):
            with self.buffer.getbuffer() as view:  # type: ignore[union-attr]
                yield from guards.chunks_of(view)
        else:
            yield from guards.chunks_of(self.bytes())

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
            ids = [c for c in (mapping["user"], mapping["item"]) if c is not None]
            preview = _parse(io.BytesIO(preview_text), sep, has_header, columns, encoding, n_preview, ids)
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
    text_cols: Sequence[str] = (),
) -> pd.DataFrame:
    """pandas' C parser with our separator conventions; parse failures become `DataError`.

    `text_cols` (ids) are read as the text in the file: "007" stays "007", "NA" is an id, only an
    empty cell is missing.
    """
    options: dict[str, object] = {
        "sep": "\x1f" if sep == "::" else sep,
        "engine": "c",
        "header": 0 if has_header else None,
        "names": list(columns),
        "nrows": nrows,
        "skip_blank_lines": False,
        "encoding": encoding,
    }
    text_cols = [c for c in text_cols if c in columns]
    if text_cols:
        options["dtype"] = dict.fromkeys(text_cols, object)
        options["keep_default_na"] = False
        options["na_values"] = {c: [""] if c in text_cols else _NA_TEXT for c in columns}
    if sep == "::":
        options["quoting"] = csv.QUOTE_NONE
    try:
        return pd.read_csv(handle, **options)
    except UnicodeDecodeError:
        if encoding == "latin-1":
            raise
        if isinstance(handle, io.BytesIO):
            handle.seek(0)
        return _parse(handle, sep, has_header, columns, "latin-1", nrows, text_cols)
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
) -> Ratings:
    """Read ratings from CSV, TSV or '::'-separated text, with or without a header.

    Columns may be named or given by 0-based position (False: no such column, e.g. to ignore a
    timestamp); unnamed roles are detected from the header
    (userId/user_id/user, movieId/item_id/item/movie/title, rating/score/stars, timestamp), or taken
    as user, item, rating[, timestamp] without one. `items` attaches titles and genres (see
    `read_items`). Uploads (buffers) over `max_mb` (default: the memory budget's limit, `collab.budget`) and files over
    `max_rows` rows are refused before they are parsed in full.

    A pandas DataFrame is taken as it is (a notebook's ratings): its columns are chosen and
    detected as a file's header is (names, or 0-based positions), and `sep`, `has_header` and
    `max_mb` do not apply. Problems raise `DataError` naming the argument to set.
    """
    explicit = {
        "user": user_col,
        "item": item_col,
        "rating": rating_col,
        "timestamp": timestamp_col,
        "title": title_col,
    }
    if isinstance(path_or_buffer, pd.DataFrame):
        ratings = _ratings_from_frame(path_or_buffer, explicit, name, max_rows, duplicates)
        if items is not None:
            ratings = ratings.with_items(items if isinstance(items, pd.DataFrame) else read_items(items))
        return ratings
    source = _Input(path_or_buffer, max_mb)
    sniff = _sniff(source, sep, has_header, explicit, n_preview=0)
    if sniff.problems:
        raise DataError(" ".join(sniff.problems))
    guards.check_text(source.chunks(), sniff.sep)  # NUL bytes and giant fields past the sniffed head
    first_line = 2 if sniff.has_header else 1
    options = {
        "title_col": sniff.title_col,
        "name": name or source.name,
        "max_rows": max_rows,
        "duplicates": duplicates,
    }
    roles = (sniff.user_col, sniff.item_col, sniff.rating_col, sniff.timestamp_col)
    ratings = None
    fast = _parse_clean(source, sniff, max_rows)
    if fast is not None:
        with contextlib.suppress(DataError):  # the C parser below finds it again and names its true line
            ratings = Ratings.from_frame(fast, *roles, lines=first_line, **options)  # type: ignore[arg-type]
        del fast
    if ratings is None:
        ratings = _read_ratings_c(source, sniff, first_line, roles, options)
    if items is not None:
        ratings = ratings.with_items(items if isinstance(items, pd.DataFrame) else read_items(items))
    return ratings


def _ratings_from_frame(
    frame: pd.DataFrame,
    explicit: dict[str, Column],
    name: str | None,
    max_rows: int,
    duplicates: Literal["last", "error"],
) -> Ratings:
    """`read_ratings` of a DataFrame: roles from `explicit` or the column names, then `Ratings.from_frame`."""
    if frame.columns.duplicated().any():
        raise DataError(f"the DataFrame has repeated column names: {list(map(str, frame.columns))}.")
    frame = frame.rename(columns=str)  # detection works on names; 0, 1, 2 become "0", "1", "2"
    explicit = {role: str(c) if isinstance(c, str) else c for role, c in explicit.items()}
    mapping, problems = _map_columns(tuple(frame.columns), True, [], explicit)
    if problems:
        raise DataError(" ".join(problems))
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
    )


def _read_ratings_c(
    source: _Input, sniff: Sniff, first_line: int, roles: tuple[str | None, ...], options: dict
) -> Ratings:
    """The careful read: pandas' C parser, blank lines skipped, every message naming its true line."""
    # All columns are parsed (no usecols): with usecols the C parser silently accepts ragged lines.
    frame = _parse(
        source.handle(sniff.sep),
        sniff.sep,
        sniff.has_header,
        sniff.columns,
        sniff.encoding,
        options["max_rows"] + 1,
        text_cols=(sniff.user_col, sniff.item_col),  # type: ignore[arg-type]
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


def _parse_clean(source: _Input, sniff: Sniff, max_rows: int) -> pd.DataFrame | None:
    """A fast read of a clean file with pyarrow (ids as ints if plainly written, else as text), or None.

    Reading ids as text costs pandas' C parser about 4x its integer parse; pyarrow reads text
    without a Python object per cell. Anything unusual (blank lines, ragged lines, missing
    cells, non-UTF-8 bytes, text ratings or dates) returns None, so errors and their line
    numbers always come from `_read_ratings_c`.
    """
    if sniff.sep == r"\s+" or sniff.encoding == "latin-1" or len(set(sniff.columns)) < len(sniff.columns):
        return None
    if source.size > max_rows * 4:  # surely too many rows: let the C parser stop at max_rows
        return None
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv
    except ImportError:  # pragma: no cover - pyarrow is pinned; the C parser still works without it
        return None
    ids = [sniff.user_col, sniff.item_col]
    wanted = [c for c in (*ids, sniff.rating_col, sniff.timestamp_col, sniff.title_col) if c is not None]
    try:
        table = pa_csv.read_csv(
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
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError):
        return None
    numeric = [c for c in (sniff.rating_col, sniff.timestamp_col) if c is not None]
    if any(
        not pa.types.is_integer(table[c].type) and not pa.types.is_floating(table[c].type) for c in numeric
    ):
        return None
    if sniff.title_col is not None and not pa.types.is_string(table[sniff.title_col].type):
        return None
    if (
        len(table) == 0
        or len(table) > max_rows
        or any(table[c].null_count for c in wanted if c != sniff.title_col)
    ):
        return None
    columns: dict[str, object] = {}
    for column in ids:
        text = table[column].combine_chunks()
        numbers = _plain_integers(text)
        if numbers is not None:  # the usual case: the ints' own text is the file's text, and ints are cheap
            columns[column] = numbers
            continue
        encoded = text.dictionary_encode()
        codes = encoded.indices.to_numpy(zero_copy_only=False)  # (n_rows,) int32
        categories = pd.Index(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object)
        columns[column] = pd.Categorical.from_codes(codes, categories=categories)
    rest = table.select([c for c in wanted if c not in ids]).to_pandas()
    for column in rest.columns:
        columns[column] = rest[column]
    return pd.DataFrame(columns)


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
    digits = np.searchsorted(_POWERS_OF_TEN, numbers, side="right") + 1  # (n_rows,)
    lengths = pa_compute.binary_length(text).to_numpy(zero_copy_only=False)  # (n_rows,)
    return numbers if np.array_equal(lengths, digits) else None


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
        frame = _parse(
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
        frame = _parse(source.handle("|"), "|", False, columns, encoding, None, ["item"])
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
        frame = _parse(source.handle(sep), sep, True, header, encoding, None, id_cols)
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
    labels = frame["item"].astype(str).str.strip()  # the id's text, as ratings labels keep it
    return pd.DataFrame(
        {"title": frame["title"].fillna("").astype(str).str.strip().to_numpy(), "genres": genres.to_numpy()},
        index=pd.Index(labels.to_numpy(dtype=str), name="item"),
    )


def _split_genres(column: pd.Series) -> pd.Series:
    """'Action|Comedy' -> ('Action', 'Comedy'); MovieLens' '(no genres listed)' -> ()."""
    text = column.fillna("").astype(str).replace("(no genres listed)", "")
    return pd.Series([tuple(g for g in genres if g) for genres in text.str.split("|")], dtype=object)


# ---- moved names ---------------------------------------------------------------------------------

# The demo set and MovieLens used to live here; these names stay importable from collab.sources
# for existing callers. Resolved lazily (PEP 562) because collab.movielens imports this module.
_MOVED = {
    "DemoTruth": "collab.demo",
    "demo_ratings": "collab.demo",
    "MOVIELENS_DATASETS": "collab.movielens",
    "load_movielens": "collab.movielens",
    "load_movielens_dir": "collab.movielens",
    "movielens_cache_dir": "collab.movielens",
}


def __getattr__(name: str) -> object:
    if name not in _MOVED:
        raise AttributeError(f"module 'collab.sources' has no attribute {name!r}")
    return getattr(importlib.import_module(_MOVED[name]), name)
