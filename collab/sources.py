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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from collab import budget, guards
from collab.data import MAX_RATINGS, Arg, DataError, Implicit, Message, Ratings, check_ratings

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
    "item": (
        "movieid", "itemid", "item", "movie", "productid", "bookid", "isbn", "asin", "iid", "parentasin",
        "businessid", "animeid", "jokeid", "artist", "artistid", "track", "trackid", "song", "songid", "game",
        "gameid", "appid", "product", "business", "book", "anime", "joke",
    ),
    # counts too (Last.fm, Steam): read as the value column, then reported as implicit feedback
    "rating": (
        "rating", "ratings", "score", "stars", "overall", "plays", "playcount", "count", "weight", "clicks",
        "hours", "playtime", "hoursplayed",
    ),
    "timestamp": ("timestamp", "time", "ts", "unixtime", "datetime", "date", "unixreviewtime"),
    "title": ("title", "movietitle", "itemtitle"),
}  # fmt: skip
_LAYOUTS = ("auto", "rows", "wide", "netflix", "json", "parquet")
_NETFLIX_BLOCK = re.compile(r"^\s*\d+\s*:\s*$")  # a Netflix Prize block header: "1:" (the movie id)
_HINT_LINES = 2000  # lines of the head whose ratings hint at not-rated codes or counts before loading
_DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")
_EPOCH_SECONDS = (1e8, 4e9)  # 1973 .. 2096: a bare number column in this range reads as Unix seconds
_ROLES = tuple(_ALIASES)
_HEADER_HINTS = {
    "user": "userId or user_id",
    "item": "movieId or item_id",
    "rating": "rating, score or stars",
}
_BINARY_MAGIC = {
    b"PK\x03\x04": "a zip archive (or .xlsx); extract it, or export the sheet as CSV",
    b"\x1f\x8b": "gzip-compressed; decompress it first",
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
    decimal: str = "."  # "," for spreadsheet exports such as 3,5
    layout: str = "rows"  # "rows", "wide" (user x item matrix), "netflix", "json" or "parquet"
    notes: tuple[str, ...] = ()  # what was detected and how: ignored columns, guessed roles
    not_rated_hint: tuple[float, ...] = ()  # not-rated codes seen in the first rows (e.g. -1, 99)
    counts_hint: bool = False  # the rating column's first rows look like counts (implicit feedback)

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
        if callable(getattr(source, "getbuffer", None)):  # BytesIO (and Streamlit uploads)
            # getvalue() hands out the bytes a BytesIO was made from; getbuffer() would copy them first
            self.data = source.getvalue()  # type: ignore[union-attr]
            self.size = len(self.data)
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
        else:
            yield from guards.chunks_of(self.bytes())

    def head(self) -> bytes:
        if self.path is not None:
            with open(self.path, "rb") as file:
                return file.read(_HEAD_BYTES)
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
    if b"\x00" in head:  # before decoding: the sniffer must not guess columns in binary data
        raise guards.nul_byte_error(head[: head.index(b"\x00")].count(b"\n") + 1)
    if head.startswith(codecs.BOM_UTF8):
        return head[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(head, final=False), "utf-8"
    except UnicodeDecodeError:
        return head.decode("latin-1"), "latin-1"


def _check_sep(sep: object) -> None:
    r"""`sep` is one character (not a quote or line break), "::" or r"\s+"; else a `DataError` naming it."""
    if sep is None or sep in ("::", r"\s+"):
        return
    if not isinstance(sep, str) or len(sep) != 1 or sep in '\r\n"':
        raise DataError(
            Message(
                f"the separator {sep!r} cannot split lines into columns: use one character (such as ',' or "
                "a tab), '::' or r'\\s+' for whitespace. Set ",
                Arg("sep"),
                " to one of those, or leave it out to detect it.",
            )
        )


def _split_line(line: str, sep: str) -> list[str]:
    if sep == "::":
        return line.split("::")
    if sep == r"\s+":
        return line.split()
    return next(csv.reader([line], delimiter=sep))


def _detect_sep(lines: Sequence[str]) -> str:
    """'::' if every line has it; else of tab, comma, semicolon and pipe the one giving a steady column
    count, the most columns first ("1;2;3,5" is three columns with a decimal comma, not two)."""
    if all("::" in line for line in lines):
        return "::"
    steady: list[tuple[int, str]] = []
    for sep in _SEPARATORS:
        widths = {len(_split_line(line, sep)) for line in lines}
        if len(widths) == 1 and (width := widths.pop()) >= 2:
            steady.append((width, sep))
    if steady:
        return max(steady, key=lambda pair: pair[0])[1]  # max keeps the first of equal widths
    widths = {len(line.split()) for line in lines}
    if len(widths) == 1 and widths.pop() >= 2:
        return r"\s+"
    return ","


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _is_number(text: str) -> bool:
    """A number as a file writes it: 4, 3.5, -1e3, or 3,5 (a decimal comma)."""
    try:
        float(text)
    except ValueError:
        return bool(_DECIMAL_COMMA.match(text))
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
        return None, Message(
            f"{role} column position {choice} is out of range: the file has {len(columns)} columns (",
            Arg(f"{role}_col", str(choice)),
            ").",
        )
    if choice in columns:
        return str(choice), None
    return None, Message(
        f"{role} column {choice!r} not found; the columns are {list(columns)} (",
        Arg(f"{role}_col", repr(choice)),
        ").",
    )


def _looks_like_time(values: Sequence[str], named: bool) -> bool:
    """Unix seconds (any non-negative integers when the header names a time, else 1973..2096) or dates."""
    cells = [v.strip() for v in values if v.strip()]
    if not cells:
        return False
    try:
        numbers = np.array([float(v) for v in cells])
    except ValueError:
        numbers = None
    if numbers is not None:
        integral = bool(np.all(numbers == np.round(numbers)) and numbers.min() >= 0)
        return integral and (
            named or bool(_EPOCH_SECONDS[0] <= numbers.min() and numbers.max() <= _EPOCH_SECONDS[1])
        )
    if not all(re.search(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", v) for v in cells):
        return False
    parsed = pd.to_datetime(pd.Series(cells), errors="coerce", format="mixed", dayfirst=False)
    if parsed.isna().any():  # 31.12.2020 fails month first: try day first
        parsed = pd.to_datetime(pd.Series(cells), errors="coerce", format="mixed", dayfirst=True)
    return not parsed.isna().any()


def _column_values(rows: Sequence[list[str]], index: int) -> list[str]:
    return [row[index] for row in rows if index < len(row)]


def _map_columns(
    columns: tuple[str, ...],
    has_header: bool,
    rows: Sequence[list[str]],
    explicit: dict[str, Column],
) -> tuple[dict[str, str | None], list[str], list[str]]:
    """Column roles (user, item, rating, timestamp, title), the problems that stop a read, and notes."""
    mapping: dict[str, str | None] = {}
    problems: list[str] = []
    notes: list[str] = []
    for role, choice in explicit.items():
        mapping[role], problem = _resolve(choice, columns, role)
        if problem:
            problems.append(problem)
    chosen = [(role, c) for role, c in mapping.items() if c is not None]
    for i, (role, column) in enumerate(chosen):
        clash = [other for other, c in chosen[i + 1 :] if c == column]
        if clash:
            problems.append(
                Message(
                    f"the {role} and {clash[0]} columns are both {column!r}; choose different columns (",
                    Arg(f"{role}_col"),
                    ", ",
                    Arg(f"{clash[0]}_col"),
                    ").",
                )
            )
    taken = {c for c in mapping.values() if c is not None}
    matched = {
        role: [c for c in columns if _normalise(c) in _ALIASES[role]] for role in ("user", "item", "rating")
    }
    by_position = not has_header or (
        len(columns) >= 3
        and not any(matched.values())
        and all(explicit.get(role) is None for role in ("user", "item", "rating"))
        and all(_is_number(v) for v in _column_values(rows, 2))
    )
    if by_position:
        if len(columns) < 3:
            problems.append(
                Message(
                    f"the file has no header and only {len(columns)} column(s); ratings need 3 (user, item, "
                    "rating). Check the separator (",
                    Arg("sep"),
                    "), or add a header row such as userId,movieId,rating.",
                )
            )
            return {role: mapping.get(role) for role in _ROLES}, problems, notes
        positional = {"user": 0, "item": 1, "rating": 2}
        if (
            len(columns) >= 4
            and explicit.get("timestamp") is None
            and _looks_like_time(_column_values(rows, 3), named=False)
        ):
            positional["timestamp"] = 3
        guessed = []
        for role, position in positional.items():
            if mapping.get(role) is None and explicit.get(role) is None and columns[position] not in taken:
                mapping[role] = columns[position]
                taken.add(columns[position])
                guessed.append(f"{role} = {columns[position]!r}")
        if has_header and guessed:
            notes.append(
                Message(
                    f"No column name is one we know (such as userId, movieId, rating), so the columns are taken "
                    f"by position: {', '.join(guessed)}. Check the guess (",
                    Arg("user_col"),
                    ", ",
                    Arg("item_col"),
                    ", ",
                    Arg("rating_col"),
                    ").",
                )
            )
        for role in ("user", "item", "rating"):
            if mapping.get(role) is None and not problems:
                problems.append(
                    Message(f"no {role} column: choose one of {list(columns)} with ", Arg(f"{role}_col"), ".")
                )
        return {role: mapping.get(role) for role in _ROLES}, problems, notes

    for role in _ROLES:
        if explicit.get(role) is not None:
            continue
        matches = [c for c in columns if c not in taken and _normalise(c) in _ALIASES[role]]
        if role == "item" and not matches:
            matches = [c for c in columns if c not in taken and _normalise(c) in _ALIASES["title"]]
        if role == "timestamp" and matches:
            timely = [
                c for c in matches if _looks_like_time(_column_values(rows, columns.index(c)), named=True)
            ]
            for column in (c for c in matches if c not in timely):
                notes.append(
                    f"Column {column!r} is not used as the timestamp: its values are not Unix seconds or dates."
                )
            matches = timely
        if len(matches) == 1:
            mapping[role] = matches[0]
            taken.add(matches[0])
        elif len(matches) > 1:
            mapping[role] = None
            problems.append(
                Message(
                    f"ambiguous {role} column: {', '.join(map(repr, matches))} could all be it; choose one with ",
                    Arg(f"{role}_col"),
                    ".",
                )
            )
        else:
            mapping[role] = None
            if role in ("user", "item", "rating"):
                problems.append(
                    Message(
                        f"no {role} column found among {list(columns)}; choose one with ",
                        Arg(f"{role}_col"),
                        f", or name it {_HEADER_HINTS[role]} in the header.",
                    )
                )
    return mapping, problems, notes


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
    decimal: str | None = None,
    layout: str = "auto",
) -> Sniff:
    """Look at the first lines of a ratings file: layout, separator, decimal mark, header, columns,
    guessed roles, a preview, and hints (not-rated codes, counts) from the first rows."""
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
        decimal,
        layout,
    )


def _sniff(
    source: _Input,
    sep: str | None,
    has_header: bool | None,
    explicit: dict[str, Column],
    n_preview: int,
    decimal: str | None = None,
    layout: str = "auto",
) -> Sniff:
    if layout not in _LAYOUTS:
        raise ValueError(f"layout must be one of {list(_LAYOUTS)}, got {layout!r}")
    _check_sep(sep)
    head = source.head()
    if not head.strip():
        raise DataError("the file is empty: no lines to read. Choose a file with one rating per line.")
    if layout == "parquet" or (layout == "auto" and head.startswith(b"PAR1")):
        return _sniff_table(source, "parquet", explicit, n_preview)
    text, encoding = _decode_head(head)
    first_char = text.lstrip()[:1]
    if layout == "json" or (layout == "auto" and first_char in ("{", "[")):
        return _sniff_table(source, "json", explicit, n_preview)
    lines = text.splitlines()
    if len(head) < source.size and len(lines) > 1:
        lines = lines[:-1]  # the last line of the head may be cut short
    sample = [line for line in lines[:50] if line.strip()]
    if layout == "netflix" or (layout == "auto" and _NETFLIX_BLOCK.match(sample[0])):
        return _sniff_netflix(source, sample, encoding, explicit, n_preview)
    sep = sep if sep is not None else _detect_sep(sample)
    rows = [_split_line(line, sep) for line in sample]
    has_header = _detect_header(rows) if has_header is None else has_header
    width = max(len(row) for row in rows)
    notes: list[str] = []
    if has_header:
        names = [cell.strip() for cell in rows[0]] + [""] * (width - len(rows[0]))
        body = rows[1:]
    else:
        names = [""] * width
        body = rows
    # Spreadsheets end lines with empty columns ("1,1,4,,"): unnamed, they get a placeholder name and are ignored.
    columns = tuple(name or f"column {i + 1}" for i, name in enumerate(names))
    empty = [
        i for i, name in enumerate(names) if not name and all(not v.strip() for v in _column_values(body, i))
    ]
    if empty and body:
        notes.append(f"{len(empty)} empty unnamed column(s) at the end of each line are ignored.")
    decimal = decimal if decimal is not None else _detect_decimal(sep, body)
    wide = layout == "wide" or (layout == "auto" and _looks_wide(columns, has_header, body, empty))
    if wide:
        mapping = dict.fromkeys(_ROLES)
        problems = [] if layout == "wide" else [_wide_message(columns, body)]
        notes.append(_wide_description(columns, has_header, body))
    else:
        mapping, problems, found = _map_columns(columns, has_header, body[:20], explicit)
        notes.extend(found)
    preview_text = "\n".join(lines[: n_preview + (1 if has_header else 0) + 5]).encode(encoding)
    if sep == "::":
        preview_text = preview_text.replace(b"::", b"\x1f")
    preview = pd.DataFrame()
    if n_preview:
        try:
            ids = [c for c in (mapping["user"], mapping["item"]) if c is not None]
            preview = _parse(
                io.BytesIO(preview_text), sep, has_header, columns, encoding, n_preview, ids, decimal=decimal
            )
        except DataError:
            preview = pd.DataFrame(body[:n_preview])
        preview = preview.drop(columns=[columns[i] for i in empty if columns[i] in preview.columns])
        preview = preview.dropna(how="all").head(n_preview)
    # hints (not-rated codes, counts) from every whole line of the head, not only the first 50
    hint_rows = [_split_line(line, sep) for line in lines[: _HINT_LINES + 1] if line.strip()]
    hint_rows = hint_rows[1:] if has_header else hint_rows
    values = (
        _sample_values(hint_rows, columns, mapping["rating"], decimal)
        if not wide
        else _wide_values(hint_rows, decimal)
    )
    hint = check_ratings(values) if len(values) else None
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
        decimal=decimal,
        layout="wide" if wide else "rows",
        notes=tuple(notes),
        not_rated_hint=tuple(sorted(hint.suspects)) if hint is not None else (),
        counts_hint=bool(hint is not None and hint.counts),
    )


def _detect_decimal(sep: str, body: Sequence[list[str]]) -> str:
    """',' when a column is written like 3,5 throughout (only possible when ',' is not the separator)."""
    if sep == "," or not body:
        return "."
    width = max(len(row) for row in body)
    for i in range(width):
        cells = [v for v in _column_values(body, i) if v.strip()]
        if cells and all(_DECIMAL_COMMA.match(v) for v in cells):
            return ","
    return "."


def _to_number(text: str, decimal: str) -> float:
    text = text.strip()
    return float(text.replace(",", ".") if decimal == "," else text)


def _sample_values(
    body: Sequence[list[str]], columns: tuple[str, ...], column: str | None, decimal: str
) -> np.ndarray:
    """The first rows' values of `column` as numbers (what is not a number is left out)."""
    if column is None:
        return np.array([])
    out = []
    for cell in _column_values(body, columns.index(column)):
        with contextlib.suppress(ValueError):
            out.append(_to_number(cell, decimal))
    return np.array(out, dtype=np.float64)


def _looks_wide(
    columns: tuple[str, ...], has_header: bool, body: Sequence[list[str]], empty: Sequence[int]
) -> bool:
    """A user x item matrix: 6 or more columns, every cell a number (or blank), no user/item/rating names."""
    width = len(columns) - len(empty)
    if width < 6 or len(body) < 2:
        return False
    if has_header and any(
        _normalise(c) in _ALIASES[role] for c in columns[1:] for role in ("user", "item", "rating")
    ):
        return False
    first = 1 if has_header and not all(_is_number(v) for v in _column_values(body, 0) if v.strip()) else 0
    return all(_is_number(v) for row in body for v in row[first:width] if v.strip())


def _wide_values(body: Sequence[list[str]], decimal: str) -> np.ndarray:
    out = []
    for row in body:
        for cell in row[1:]:
            with contextlib.suppress(ValueError):
                out.append(_to_number(cell, decimal))
    return np.array(out, dtype=np.float64)


def _wide_description(columns: tuple[str, ...], has_header: bool, body: Sequence[list[str]]) -> str:
    return (
        f"A user x item matrix: one row per user, {len(columns)} numeric columns (one per item), as Jester "
        "ships its ratings."
    )


def _wide_message(columns: tuple[str, ...], body: Sequence[list[str]]) -> Message:
    values = _wide_values(body, ".")
    codes = check_ratings(values).suspects if len(values) else {}
    code_part: tuple[str | Arg, ...] = ()
    if codes:
        listed = ", ".join(f"{c:g}" for c in sorted(codes))
        code_part = (" and drop its not-rated code with ", Arg("not_rated", f"[{listed}]"))
    return Message(
        f"the file looks like a user x item matrix ({len(columns)} numeric columns, no user, item or rating "
        "column), not one rating per row: read as rows, its first three columns would be taken as user, item "
        "and rating, and the model would be nonsense. Read it as a matrix with ",
        Arg("layout", '"wide"'),
        " (each row a user, each column an item, empty cells not rated)",
        *code_part,
        ". If it is one rating per row after all, read it with ",
        Arg("layout", '"rows"'),
        ".",
    )


def _sniff_netflix(
    source: _Input, sample: Sequence[str], encoding: str, explicit: dict[str, Column], n_preview: int
) -> Sniff:
    """The Netflix Prize layout: a 'MovieID:' line, then 'CustomerID,Rating,Date' lines for that movie."""
    columns = ("user", "item", "rating", "date")
    frame, _ = _netflix_frame(io.BytesIO("\n".join(sample).encode(encoding)), encoding, None)
    problems = [
        Message(
            f"the Netflix Prize layout has fixed columns {list(columns)}; ",
            Arg(f"{role}_col"),
            " does not apply.",
        )
        for role, choice in explicit.items()
        if choice not in (None, False) and role != "title"
    ]
    values = pd.to_numeric(frame["rating"], errors="coerce").dropna().to_numpy()
    hint = check_ratings(values) if len(values) else None
    return Sniff(
        sep=",",
        has_header=False,
        columns=columns,
        user_col="user",
        item_col="item",
        rating_col="rating",
        timestamp_col=None if explicit.get("timestamp") is False else "date",
        title_col=None,
        encoding=encoding,
        preview=frame.head(n_preview),
        problems=tuple(problems),
        layout="netflix",
        notes=(
            "Netflix Prize layout: each 'MovieID:' line starts a block of 'user,rating,date' lines for that movie.",
        ),
        not_rated_hint=tuple(sorted(hint.suspects)) if hint is not None else (),
    )


def _netflix_frame(
    handle: str | io.BytesIO, encoding: str, nrows: int | None
) -> tuple[pd.DataFrame, np.ndarray]:
    """user, item, rating, date rows from the block layout, and each row's line in the file (1-based)."""
    raw = pd.read_csv(
        handle,
        sep=",",
        header=None,
        names=["user", "rating", "date"],
        dtype={"user": object, "date": object},
        keep_default_na=False,
        na_values={"rating": [""]},
        skip_blank_lines=False,
        encoding=encoding,
        nrows=nrows,
    )
    user = raw["user"].astype(str).str.strip()
    is_block = user.str.endswith(":").to_numpy()
    if not is_block.any():
        raise DataError("the file is not in the Netflix Prize layout: no 'MovieID:' line.")
    item = pd.Series(np.where(is_block, user.str[:-1].str.strip(), None)).ffill()
    blank = (user == "").to_numpy() & raw["rating"].isna().to_numpy()
    keep = ~is_block & ~blank
    lines = np.flatnonzero(keep) + 1
    frame = pd.DataFrame(
        {
            "user": user[keep].to_numpy(),
            "item": item[keep].to_numpy(),
            "rating": raw["rating"][keep].to_numpy(),
            "date": raw["date"][keep].to_numpy(),
        }
    )
    return frame, lines


def _sniff_table(source: _Input, kind: str, explicit: dict[str, Column], n_preview: int) -> Sniff:
    """JSON lines, a JSON array of records, or Parquet: named columns, roles from the names."""
    frame = _read_table(source, kind, nrows=200)
    columns = tuple(str(c) for c in frame.columns)
    mapping, problems, notes = _map_columns(
        columns, True, frame.head(20).astype(str).to_numpy().tolist(), explicit
    )
    values = (
        pd.to_numeric(frame[mapping["rating"]], errors="coerce").dropna().to_numpy()
        if mapping["rating"] is not None
        else np.array([])
    )
    hint = check_ratings(values) if len(values) else None
    return Sniff(
        sep=kind,
        has_header=True,
        columns=columns,
        user_col=mapping["user"],
        item_col=mapping["item"],
        rating_col=mapping["rating"],
        timestamp_col=mapping["timestamp"],
        title_col=mapping["title"],
        encoding="utf-8",
        preview=frame.head(n_preview),
        problems=tuple(problems),
        layout=kind,
        notes=tuple(notes),
        not_rated_hint=tuple(sorted(hint.suspects)) if hint is not None else (),
        counts_hint=bool(hint is not None and hint.counts),
    )


def _read_table(source: _Input, kind: str, nrows: int | None = None) -> pd.DataFrame:
    """A Parquet file, JSON lines or a JSON array of records as a frame (values as stored; no code runs)."""
    data = source.handle(",")
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.ParquetFile(data)
            frame = (
                next(table.iter_batches(batch_size=nrows)).to_pandas()
                if nrows is not None
                else table.read().to_pandas()
            )
        except (OSError, ValueError, StopIteration) as error:
            raise DataError(f"could not read the Parquet file: {error}.") from error
        return frame
    if isinstance(data, str):
        data = io.BytesIO(Path(data).read_bytes())
    head = data.getvalue().lstrip()[:1]
    try:
        if head == b"[":
            frame = pd.read_json(data, orient="records", dtype=False)
            frame = frame.head(nrows) if nrows is not None else frame
        else:
            frame = pd.read_json(data, lines=True, dtype=False, nrows=nrows)
        # lines that are plain values, not objects (a CSV read as JSON lines), give a column named 0:
        # names as text, as the column boxes and the mapping give them
        return frame.set_axis([str(c) for c in frame.columns], axis=1)
    except ValueError as error:
        raise DataError(
            "could not read the file as JSON lines (one object per line, such as "
            '{"user_id": "u1", "item_id": "i9", "rating": 4}): '
            f"{str(error).strip().splitlines()[-1]}. Save each rating as one JSON object per line, or as CSV."
        ) from error


def _parse(
    handle: str | io.BytesIO,
    sep: str,
    has_header: bool,
    columns: tuple[str, ...],
    encoding: str,
    nrows: int | None,
    text_cols: Sequence[str] = (),
    decimal: str = ".",
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
        "decimal": decimal,
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
        return _parse(handle, sep, has_header, columns, "latin-1", nrows, text_cols, decimal)
    except pd.errors.EmptyDataError as error:
        raise DataError(
            "the file is empty: no lines to read. Choose a file with one rating per line."
        ) from error
    except (pd.errors.ParserError, ValueError) as error:
        found = re.search(r"line (\d+)", str(error))
        where = f" (first: line {found.group(1)})" if found else ""
        raise DataError(
            Message(
                f"could not split the file into columns with the {_SEP_NAMES.get(sep, repr(sep))} separator{where}: "
                f"{str(error).strip().splitlines()[-1]}. Check the separator (",
                Arg("sep"),
                "), and quote fields that contain it.",
            )
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
    values. Values that look like not-rated codes or counts are reported in `Ratings.warnings`.
    `items` attaches titles and genres (see `read_items`; its id column is matched to these
    ratings). Uploads (buffers) over `max_mb` (default: the memory budget's limit, `collab.budget`)
    and files over `max_rows` rows are refused before they are parsed in full.

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
    source = _Input(path_or_buffer, max_mb)
    sniff = _sniff(source, sep, has_header, explicit, n_preview=0, decimal=decimal, layout=layout)
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
        frame, lines = _netflix_frame(source.handle(","), sniff.encoding, max_rows * 2)
        _check_rows(frame, max_rows)
        ratings = Ratings.from_frame(frame, *roles, lines=lines, **options)  # type: ignore[arg-type]
    elif sniff.layout in ("json", "parquet"):
        frame = _read_table(source, sniff.layout)
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
    if sniff.notes:
        ratings = replace(ratings, notes=(*sniff.notes, *ratings.notes))
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


def _read_wide(source: _Input, sniff: Sniff, options: dict) -> Ratings:
    """Melt a user x item matrix: each row a user, each column an item, blank cells not rated.

    Users are labelled by their row (1, 2, ...) unless the first column holds text labels; a first
    column of integers beside non-integer ratings (Jester's count of rated jokes per user) is not an
    item. Items are labelled by the header, else by their position among the rating columns (1, 2, ...).
    """
    frame = _parse(
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
    first = frame.iloc[:, 0]
    notes = []
    if not pd.api.types.is_numeric_dtype(first.dtype):
        user_labels = first.astype(str).str.strip().to_numpy()
        values = frame.iloc[:, 1:]
        notes.append(f"Matrix read with users labelled by the first column ({frame.columns[0]!r}).")
    else:
        user_labels = np.arange(1, len(frame) + 1).astype(str)
        rest = frame.iloc[:, 1:].to_numpy(dtype=np.float64)
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
    item_labels = (
        np.asarray([str(c) for c in values.columns])
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
    mapping, problems, _ = _map_columns(tuple(frame.columns), True, sample, explicit)
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


def _parse_clean(source: _Input, sniff: Sniff, max_rows: int) -> pd.DataFrame | None:
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
    digits = np.searchsorted(_POWERS_OF_TEN, numbers, side="right") + 1  # (n_rows,)
    lengths = pa_compute.binary_length(text).to_numpy(zero_copy_only=False)  # (n_rows,)
    return numbers if np.array_equal(lengths, digits) else None


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
    source = _Input(path_or_buffer, None)
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
    source: _Input,
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
        header = tuple(name or f"column {i + 1}" for i, name in enumerate(header))
        title_cols = [c for c in header if _normalise(c) in _ALIASES["title"]]
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
        genre_cols = [c for c in header if _normalise(c) in ("genres", "genre")]
        frame = _parse(source.handle(sep), sep, True, header, encoding, None, candidates)
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
        {"title": frame["title"].fillna("").astype(str).str.strip().to_numpy(), "genres": genres.to_numpy()},
        index=pd.Index(labels.to_numpy(dtype=str), name="item"),
    )
    out.attrs["notes"] = tuple(f"{file[0].upper()}{file[1:]}: {note}" for note in notes)
    return out


def _id_like(header: tuple[str, ...], title_cols: Sequence[str]) -> list[str]:
    """Columns that may hold item ids: known id names first, then names ending in 'id', and ISBNs."""
    known = [c for c in header if _normalise(c) in _ALIASES["item"] and c not in title_cols]
    other = [
        c
        for c in header
        if c not in known and (_normalise(c).endswith("id") or _normalise(c).startswith("isbn"))
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
    wanted = pd.Index(np.asarray(item_labels, dtype=str))
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
