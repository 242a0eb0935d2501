"""Layout sniffing: separator, header, column roles, wide matrices and Netflix blocks, from a file's head.

`sniff_ratings` is the preview the Data page shows; `read_ratings` reads with what it found."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from collab.data.errors import Arg, DataError, Message
from collab.data.roles import ALIASES, ROLES, column_values, is_number, map_columns, normalise, resolve
from collab.data.source import SEP_NAMES, Column, Input, Source, decode_head, parse_text, read_table
from collab.data.values import check_ratings

__all__ = ["ALIASES", "map_columns", "normalise"]  # re-exported: readers import them from here

POWERS_OF_TEN = 10 ** np.arange(1, 19, dtype=np.int64)  # 10 .. 10**18: the digit count of an int64
_SEPARATORS = ("\t", ",", ";", "|")
_LAYOUTS = ("auto", "rows", "wide", "netflix", "json", "parquet")
_NETFLIX_BLOCK = re.compile(r"^\s*\d+\s*:\s*$")  # a Netflix Prize block header: "1:" (the movie id)
_HINT_LINES = 2000  # lines of the head whose ratings hint at not-rated codes or counts before loading
_DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")
_ROLES = ROLES


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
    wide_lead: int | None = None  # a matrix's leading columns (labels, not items); None: decided when read

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def sep_name(self) -> str:
        return SEP_NAMES.get(self.sep, repr(self.sep))


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


def split_line(line: str, sep: str) -> list[str]:
    if sep == "::":
        return line.split("::")
    if sep == r"\s+":
        return line.split()
    return next(csv.reader([line], delimiter=sep))


def detect_sep(lines: Sequence[str]) -> str:
    """'::' if every line has it; else of tab, comma, semicolon and pipe the one giving a steady column
    count, the most columns first ("1;2;3,5" is three columns with a decimal comma, not two)."""
    if all("::" in line for line in lines):
        return "::"
    steady: list[tuple[int, str]] = []
    for sep in _SEPARATORS:
        widths = {len(split_line(line, sep)) for line in lines}
        if len(widths) == 1 and (width := widths.pop()) >= 2:
            steady.append((width, sep))
    if steady:
        return max(steady, key=lambda pair: pair[0])[1]  # max keeps the first of equal widths
    widths = {len(line.split()) for line in lines}
    if len(widths) == 1 and widths.pop() >= 2:
        return r"\s+"
    return ","


def _detect_header(rows: Sequence[list[str]]) -> bool:
    """A header names a known column, or has text where the rows below have numbers."""
    first = rows[0]
    known = {alias for aliases in ALIASES.values() for alias in aliases}
    if any(normalise(cell) in known for cell in first):
        return True
    if len(rows) < 2:
        return not any(is_number(cell) for cell in first)
    return any(
        not is_number(cell) and all(i < len(row) and is_number(row[i]) for row in rows[1:])
        for i, cell in enumerate(first)
    )


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
    return sniff_layout(
        Input(path_or_buffer, max_mb),
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


def sniff_layout(
    source: Input,
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
    text, encoding = decode_head(head)
    _refuse_python_literals(text)
    first_char = text.lstrip()[:1]
    if layout == "json" or (layout == "auto" and first_char in ("{", "[")):
        return _sniff_table(source, "json", explicit, n_preview)
    lines = text.splitlines()
    if len(head) < source.size and len(lines) > 1:
        lines = lines[:-1]  # the last line of the head may be cut short
    sample = [line for line in lines[:50] if line.strip()]
    if layout == "netflix" or (layout == "auto" and _NETFLIX_BLOCK.match(sample[0])):
        return _sniff_netflix(source, sample, encoding, explicit, n_preview)
    sep = sep if sep is not None else detect_sep(sample)
    rows = [split_line(line, sep) for line in sample]
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
        i for i, name in enumerate(names) if not name and all(not v.strip() for v in column_values(body, i))
    ]
    if empty and body:
        trailing = empty == list(range(width - len(empty), width))
        where = " at the end of each line" if trailing else f" ({', '.join(repr(columns[i]) for i in empty)})"
        notes.append(f"{len(empty)} empty unnamed column(s){where} are ignored.")
    decimal = decimal if decimal is not None else _detect_decimal(sep, body)
    lead = _wide_lead(columns, has_header, body, empty) if layout in ("auto", "wide") else None
    wide = layout == "wide" or (layout == "auto" and lead is not None)
    if wide:
        lead = lead or 0
        mapping = dict.fromkeys(_ROLES)
        mapping["user"], problem = resolve(explicit.get("user"), columns, "user")
        problems = [problem] if problem else []
        if layout != "wide":
            problems.append(_wide_message(columns[: len(columns) - len(empty)], body, lead))
        notes.append(_wide_description(columns[: len(columns) - len(empty)], lead))
    else:
        # the roles of a headerless file come from the values: more rows than the preview's, for surer choices
        filled = [line for line in lines[:240] if line.strip()]
        role_rows = [split_line(line, sep) for line in filled[int(has_header) : int(has_header) + 200]]
        mapping, problems, found = map_columns(columns, has_header, role_rows or body[:20], explicit)
        notes.extend(found)
    preview_text = "\n".join(lines[: n_preview + (1 if has_header else 0) + 5]).encode(encoding)
    if sep == "::":
        preview_text = preview_text.replace(b"::", b"\x1f")
    preview = pd.DataFrame()
    if n_preview:
        try:
            ids = [c for c in (mapping["user"], mapping["item"]) if c is not None]
            preview = parse_text(
                io.BytesIO(preview_text), sep, has_header, columns, encoding, n_preview, ids, decimal=decimal
            )
        except DataError:
            preview = pd.DataFrame(body[:n_preview])
        preview = preview.drop(columns=[columns[i] for i in empty if columns[i] in preview.columns])
        preview = preview.dropna(how="all").head(n_preview)
    # hints (not-rated codes, counts) from every whole line of the head, not only the first 50
    hint_rows = [split_line(line, sep) for line in lines[: _HINT_LINES + 1] if line.strip()]
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
        wide_lead=lead if wide and lead else None,
    )


# Python source, not data: `reviews[('u1', 'w2')] = {'work': ...}` or `{'user': 'u1', ...}` (single quotes)
_PYTHON_LINE = re.compile(r"""^\s*(?:[A-Za-z_]\w*\s*(?:\[.*\])?\s*=\s*(?:\{|\[|dict\()|\{\s*'[^']*'\s*:)""")


def _refuse_python_literals(text: str) -> None:
    """A file of Python literals (dicts written by print or repr, one per line) is named for what it is:
    never evaluated (that would run code from the file) and never split as CSV."""
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        return
    python = [line for line in lines if _PYTHON_LINE.match(line)]
    if 2 * len(python) < len(lines):
        return
    example = python[min(1, len(python) - 1)].strip()
    example = example if len(example) <= 70 else example[:67] + "..."
    raise DataError(
        f"the file holds Python literals (lines such as {example!r}), not CSV or JSON: Python's own syntax, "
        "with single quotes, which this reader does not run (evaluating it would run any code in the file). "
        "Convert it to JSON lines in Python first: ast.literal_eval each record and write it with json.dumps, "
        "one object per line; then load that file."
    )


def _detect_decimal(sep: str, body: Sequence[list[str]]) -> str:
    """',' when a column is written like 3,5 throughout (only possible when ',' is not the separator)."""
    if sep == "," or not body:
        return "."
    width = max(len(row) for row in body)
    for i in range(width):
        cells = [v for v in column_values(body, i) if v.strip()]
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
    for cell in column_values(body, columns.index(column)):
        with contextlib.suppress(ValueError):
            out.append(_to_number(cell, decimal))
    return np.array(out, dtype=np.float64)


def _wide_lead(
    columns: tuple[str, ...], has_header: bool, body: Sequence[list[str]], empty: Sequence[int]
) -> int | None:
    """A user x item matrix: the number of text columns before its numeric ones (a survey's timestamp and
    e-mail, a user label, a response ID), or None when it is no matrix. A matrix has 5 or more numeric
    columns after at most 6 leading columns, every cell a number (or blank), and no user, item or rating
    name among them."""
    width = len(columns) - len(empty)
    if len(body) < 2:
        return None
    text = [i for i in range(width) if not all(is_number(v) for v in column_values(body, i) if v.strip())]
    lead = text[-1] + 1 if text else 0  # the numbers come after the last text column (an ID may precede it)
    if (lead and not has_header) or lead > 6 or width - lead < 5 or width < 6:
        return None
    if has_header and any(
        normalise(c) in ALIASES[role]
        for c in columns[max(lead, 1) : width]
        for role in ("user", "item", "rating")
    ):
        return None
    if all(is_number(v) for row in body for v in row[lead:width] if v.strip()):
        return lead
    return None


def _wide_values(body: Sequence[list[str]], decimal: str) -> np.ndarray:
    out = []
    for row in body:
        for cell in row[1:]:
            with contextlib.suppress(ValueError):
                out.append(_to_number(cell, decimal))
    return np.array(out, dtype=np.float64)


def _wide_description(columns: tuple[str, ...], lead: int) -> str:
    text = f" after {lead} label column(s) ({', '.join(map(repr, columns[:lead]))})" if lead else ""
    return (
        f"A user x item matrix: one row per user, {len(columns) - lead} numeric columns (one per item){text}, as "
        "Jester ships its ratings and survey exports (Google Forms) write a rating grid."
    )


def _wide_message(columns: tuple[str, ...], body: Sequence[list[str]], lead: int = 0) -> Message:
    values = _wide_values(body, ".")
    codes = check_ratings(values).suspects if len(values) else {}
    code_part: tuple[str | Arg, ...] = ()
    if codes:
        listed = ", ".join(f"{c:g}" for c in sorted(codes))
        code_part = (" and drop its not-rated code with ", Arg("not_rated", f"[{listed}]"))
    return Message(
        f"the file looks like a user x item matrix ({len(columns) - lead} numeric columns, no user, item or rating "
        "column), not one rating per row: read as rows, its first three columns would be taken as user, item "
        "and rating, and the model would be nonsense. Read it as a matrix with ",
        Arg("layout", '"wide"'),
        " (each row a user, each column an item, empty cells not rated)",
        *(
            (
                f"; its text column(s) {', '.join(map(repr, columns[:lead]))} are left out, except the user's "
                "label, which you can choose (",
                Arg("user_col"),
                ")",
            )
            if lead
            else ()
        ),
        *code_part,
        ". If it is one rating per row after all, read it with ",
        Arg("layout", '"rows"'),
        ".",
    )


def _sniff_netflix(
    source: Input, sample: Sequence[str], encoding: str, explicit: dict[str, Column], n_preview: int
) -> Sniff:
    """The Netflix Prize layout: a 'MovieID:' line, then 'CustomerID,Rating,Date' lines for that movie."""
    columns = ("user", "item", "rating", "date")
    frame, _ = netflix_frame(io.BytesIO("\n".join(sample).encode(encoding)), encoding, None)
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
    rated = bool(len(values))
    if not rated and explicit.get("rating") is not False:  # probe.txt, qualifying.txt: (user, movie) pairs
        dates = " and a date" if frame["date"].notna().any() else ""
        problems.append(
            Message(
                f"this file has no ratings: it is in the Netflix Prize block layout, but each 'MovieID:' block lists "
                f"users{dates} only, a list of (user, movie) pairs (as probe.txt and qualifying.txt are: their "
                "ratings are in the training set's combined_data files). Read the pairs as interactions (implicit "
                "feedback) with ",
                Arg("implicit", '"binary"'),
                ", or load the combined_data file that holds the ratings.",
            )
        )
    return Sniff(
        sep=",",
        has_header=False,
        columns=columns,
        user_col="user",
        item_col="item",
        rating_col="rating" if rated else None,
        timestamp_col=None if explicit.get("timestamp") is False or frame["date"].isna().all() else "date",
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


def netflix_frame(
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
    raw["date"] = raw["date"].where(raw["date"].astype(str).str.strip() != "")  # '' (no date) is missing
    if not pd.api.types.is_numeric_dtype(raw["rating"].dtype) and raw["date"].isna().all():
        raw["date"], raw["rating"] = raw["rating"], np.nan  # qualifying.txt: 'user,date' lines
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


def _sniff_table(source: Input, kind: str, explicit: dict[str, Column], n_preview: int) -> Sniff:
    """JSON lines, a JSON array of records, or Parquet: named columns, roles from the names."""
    frame = read_table(source, kind, nrows=200)
    columns = tuple(str(c) for c in frame.columns)
    mapping, problems, notes = map_columns(
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
