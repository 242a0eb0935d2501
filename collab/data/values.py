"""Value checks on the columns of a ratings frame: numbers, not-rated codes and counts, timestamps.

Each check names the column, the count, the first offending line and the fix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from collab.data.errors import Arg, DataError, Message

Implicit = Literal["log1p", "scale", "binary"]
# "binary": every row is an interaction (a positive), whatever its value: for the ranking models
IMPLICIT_TRANSFORMS: tuple[str, ...] = ("log1p", "scale", "binary")
# Values that datasets use for "not rated": Anime -1 (watched, not rated), Book-Crossing 0 (implicit,
# beside 1-10), Jester 99 (beside -10..10), and the usual spreadsheet fillers.
NOT_RATED_CODES: tuple[float, ...] = (-1.0, 0.0, 99.0, -99.0, 999.0, -999.0, 9999.0)


class Locator:
    """Says where row i of a frame came from: 'line N' of the file, or 'row N' of the frame."""

    def __init__(self, lines: int | np.ndarray | None) -> None:
        self.lines = lines

    def subset(self, rows: np.ndarray) -> Locator:
        """The locator of the frame's rows at `rows` (after some rows were dropped)."""
        if self.lines is None:
            return Locator(None)  # "row N" then counts the remaining rows
        if isinstance(self.lines, np.ndarray):
            return Locator(self.lines[rows])
        return Locator(rows + self.lines)

    def __call__(self, row: int) -> str:
        if self.lines is None:
            return f"row {row}"
        if isinstance(self.lines, np.ndarray):
            return f"line {int(self.lines[row])}"
        return f"line {self.lines + row}"


@dataclass(frozen=True)
class RatingCheck:
    """What a rating column holds besides ratings: not-rated codes or out-of-scale values, or counts."""

    n_ratings: int
    suspects: dict[float, int]  # value -> rows: known not-rated codes and values far outside the scale
    scale: tuple[float, float]  # the range the other values span
    counts: bool  # looks like counts (implicit feedback), not ratings
    n_levels: int  # distinct values
    median: float

    @property
    def n_suspect(self) -> int:
        return sum(self.suspects.values())

    def messages(self, column: str) -> list[Message]:
        """What to tell the user, naming `not_rated=` / `implicit=` (the app words them as its controls)."""
        out: list[Message] = []
        low, high = self.scale
        if self.counts:
            out.append(
                Message(
                    f"Column {column!r} looks like counts, not ratings: {self.n_levels:,} distinct values from "
                    f"{format_number(low)} to {format_number(high)}, median {format_number(self.median)}, with a long tail. That is implicit "
                    "feedback (plays, clicks, hours); the lesson's models predict explicit ratings, and trained on "
                    "raw counts they chase the few largest ones. Choose a transform: ",
                    Arg("implicit", '"log1p"'),
                    " trains on log(1 + count), ",
                    Arg("implicit", '"scale"'),
                    " maps the counts onto 1-5 on a log scale, ",
                    Arg("implicit", '"binary"'),
                    ' keeps every row as an interaction for the ranking models (model "bpr" or "bce").',
                )
            )
        elif self.suspects:
            values = sorted(self.suspects)
            listed = ", ".join(format_number(v) for v in values)
            known = [v for v in values if v in NOT_RATED_CODES]
            share = self.n_suspect / self.n_ratings
            why = (
                f'{", ".join(format_number(v) for v in known)} is a common "not rated" code (Anime: -1 = watched, not '
                "rated; Jester: 99; Book-Crossing: 0 beside 1-10)"
                if known
                else "such values are usually codes or typos, not ratings"
            )
            out.append(
                Message(
                    f"Column {column!r} holds {listed} in {self.n_suspect:,} of {self.n_ratings:,} rows "
                    f"({share:.1%}), outside the {format_number(low)} to {format_number(high)} scale the other values use; {why}. "
                    'Trained as ratings they pull every prediction towards them. If they mean "not rated", '
                    "drop those rows with ",
                    Arg("not_rated", f"[{listed}]"),
                    ".",
                )
            )
        return out


def check_ratings(values: np.ndarray) -> RatingCheck:
    """Look for values that are not ratings: known not-rated codes (-1 below a scale from 1; 0 beside
    1-10; 99 beside -10..10), values far outside the range the rest spans, and count-like columns
    (non-negative, many levels, a long tail: implicit feedback). Reports only; changes nothing."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    # Levels, median and tail from an even sample of about 2**18 values (a full sort of 25M ratings
    # costs seconds); the extremes and each suspect's row count are exact.
    step = max(1, n >> 18)
    sample = values[::step]
    levels, counts = np.unique(sample, return_counts=True)
    if step > 1 and n:
        sampled = levels
        levels = np.union1d(sampled, [values.min(), values.max()])
        estimated = np.zeros(len(levels), dtype=np.int64)
        estimated[np.searchsorted(levels, sampled)] = counts * step
        counts = estimated
        exact = np.flatnonzero(
            np.isin(levels, NOT_RATED_CODES) | (levels == levels[0]) | (levels == levels[-1])
        )
        for i in exact:  # at most the known codes and the two extremes
            counts[i] = int(np.count_nonzero(values == levels[i]))
    median = float(np.median(sample)) if n else float("nan")
    values_for_tail = sample
    n_levels = len(levels)
    is_counts = bool(
        n_levels > 20
        and levels[0] >= 0
        and levels[-1] >= 50
        and levels[-1] >= 10 * max(median, 1.0)
        and np.quantile(values_for_tail, 0.99) >= 4 * max(median, 1.0)
    )
    suspects: dict[float, int] = {}
    if not is_counts and n_levels >= 3:
        candidates = {float(v) for v in levels[np.isin(levels, NOT_RATED_CODES)]} | {
            float(levels[0]),
            float(levels[-1]),
        }
        for code in sorted(candidates):
            rest = levels[(levels != code) & ~np.isin(levels, list(suspects))]
            if len(rest) < 2 or rest[0] <= code <= rest[-1]:
                continue
            step = float(np.median(np.diff(rest)))
            gap = rest[0] - code if code < rest[0] else code - rest[-1]
            span = rest[-1] - rest[0]
            known = code in NOT_RATED_CODES
            if code == 0.0:  # 0 beside a 1-10 scale, as common as any rating (Book-Crossing); not 0-10 scores
                flagged = (
                    rest[0] >= 1 and rest[-1] >= 10 and counts[levels == 0][0] >= counts[levels != 0].max()
                )
            elif known:
                flagged = gap > step
            else:  # an unknown value only when far out: 50 beside 1-5, not 3 beside 6-10
                flagged = (
                    len(rest) >= 3
                    and gap > max(span, 3 * step)
                    and counts[levels == code][0] < len(values) / 2
                )
            if flagged:
                suspects[code] = int(counts[levels == code][0])
    rest = levels[~np.isin(levels, list(suspects))] if len(levels) else levels
    scale = (float(rest[0]), float(rest[-1])) if len(rest) else (float("nan"), float("nan"))
    return RatingCheck(n, suspects, scale, is_counts, n_levels, median)


def transform_counts(values: np.ndarray, how: Implicit, column: str = "rating") -> np.ndarray:
    """Counts (implicit feedback) as trainable values: "log1p" = log(1 + count); "scale" = 1 + 4 *
    log(1 + count) / log(1 + max count), so 0 maps to 1 and the largest count to 5; "binary" = 1 for
    every row (an interaction, whatever its value). (n,) -> (n,) float64; negative counts raise
    `DataError` (except in "binary", where any value only says the pair was seen)."""
    values = np.asarray(values, dtype=np.float64)
    if how == "binary":
        return np.ones_like(values)
    if len(values) and values.min() < 0:
        raise DataError(
            f"column {column!r} has negative values (first: {format_number(float(values[values < 0][0]))}), so it is not "
            "counts; read it without a counts transform."
        )
    logged = np.log1p(values)
    if how == "log1p":
        return logged
    top = float(logged.max()) if len(logged) else 0.0
    return 1.0 + 4.0 * logged / top if top > 0 else np.ones_like(logged)


def format_number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float | np.floating) else repr(value)


def numeric_column(column: pd.Series, name: str, where: Locator, what: str) -> np.ndarray:
    """The column as float64; non-numeric or infinite values raise `DataError`."""
    if pd.api.types.is_bool_dtype(column.dtype) or not pd.api.types.is_numeric_dtype(column.dtype):
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = column.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        value = column.iloc[first]
        role = "timestamp_col" if what == "timestamps" else "rating_col"
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+,\d+\s*", value):
            fix: tuple[str | Arg, ...] = (
                f"{value!r} is written with a decimal comma; read the file with ",
                Arg("decimal", "','"),
                ".",
            )
        else:
            fix = ("Use numbers such as 4 or 3.5, or pick another column (", Arg(role), ").")
        raise DataError(
            Message(
                f"column {name!r} has {int(bad.sum()):,} non-numeric {what} (first: {value!r} on "
                f"{where(first)}). ",
                *fix,
            )
        )
    return values


# A text date d/m/y, d.m.y or d-m-y (year last); ISO dates (year first) are never ambiguous.
_DAY_MONTH = r"^\s*(\d{1,2})[./-](\d{1,2})[./-]\d{2,4}\b"


def timestamp_column(
    column: pd.Series, name: str, where: Locator, day_first: bool | None = None
) -> tuple[np.ndarray, str | None]:
    """Seconds since the epoch as int64, from numbers or from date-time text, and a note on the date order.

    Dates such as 05.06.2020 are read day first when `day_first` is True, month first when False;
    None decides from the column (a first number above 12 is a day, a second one above 12 a
    day) and says so in the note.
    """
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return _epoch_seconds(numeric_column(column, name, where, "timestamps"), name)
    text = column.astype(str)
    note = None
    parts = text.str.extract(_DAY_MONTH)
    matched = parts[0].notna().to_numpy()
    if matched.any():
        first = pd.to_numeric(parts[0], errors="coerce").to_numpy()
        second = pd.to_numeric(parts[1], errors="coerce").to_numpy()
        example = str(text.iloc[int(np.flatnonzero(matched)[0])]).strip()
        if day_first is None:
            days_first = bool(np.nanmax(first) > 12)
            months_first = bool(np.nanmax(second) > 12)
            if days_first and not months_first:
                day_first = True
                note = f"Dates in column {name!r} read day first ({example} is day.month.year): some first numbers are above 12."
            elif months_first and not days_first:
                day_first = False
                note = f"Dates in column {name!r} read month first ({example} is month/day/year): some second numbers are above 12."
            else:
                day_first = "." in example  # 05.06.2020 is European (day first); 05/06/2020 most often US
                order = "day first (day.month.year)" if day_first else "month first (month/day/year)"
                note = Message(
                    f"Dates in column {name!r} such as {example} could be either order; read {order}. "
                    "If that is wrong, set the date order with ",
                    Arg("day_first", str(not day_first)),
                    ".",
                )
        else:
            order = "day first" if day_first else "month first"
            impossible = (second if day_first else first) > 12  # a month above 12
            if impossible.any():
                bad_row = int(np.flatnonzero(impossible)[0])
                raise DataError(
                    Message(
                        f"column {name!r} has {int(impossible.sum()):,} dates that cannot be read {order} (first: "
                        f"{str(text.iloc[bad_row]).strip()!r} on {where(bad_row)}: its month would be above 12). "
                        "Choose the other date order (",
                        Arg("day_first", str(not day_first)),
                        ").",
                    )
                )
            note = f"Dates in column {name!r} read {order}, as chosen."
    parsed = pd.to_datetime(text, errors="coerce", utc=True, format="mixed", dayfirst=bool(day_first))
    bad = parsed.isna().to_numpy()
    if bad.any():
        first_bad = int(np.flatnonzero(bad)[0])
        raise DataError(
            Message(
                f"column {name!r} has {int(bad.sum()):,} values that are neither numbers nor dates (first: "
                f"{column.iloc[first_bad]!r} on {where(first_bad)}). Use Unix seconds or ISO dates, or leave out "
                "the timestamp column (",
                Arg("timestamp_col", "False"),
                ").",
            )
        )
    seconds = (parsed - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    return seconds.to_numpy(dtype=np.int64), note


# Unix time in finer units, told apart by size: seconds stay below 1e11 until the year 5138, and a
# millisecond, microsecond or nanosecond count of any date after 1973 is above it (Amazon's 2023
# reviews give milliseconds, some exports microseconds or nanoseconds)
_EPOCH_UNITS = ((1e11, 1, "seconds"), (1e14, 10**3, "milliseconds"), (1e17, 10**6, "microseconds"),
                (np.inf, 10**9, "nanoseconds"))  # fmt: skip


def _epoch_seconds(values: np.ndarray, name: str) -> tuple[np.ndarray, str | None]:
    """Unix seconds as int64 from Unix time in seconds, milliseconds, microseconds or nanoseconds (the
    unit from the typical size of the non-zero values), and a note when the unit was not seconds."""
    nonzero = np.abs(values[values != 0])
    typical = float(np.median(nonzero)) if nonzero.size else 0.0
    _, per_second, unit = next(entry for entry in _EPOCH_UNITS if typical < entry[0])
    if per_second == 1:
        return values.astype(np.int64), None
    seconds = np.floor_divide(values, per_second).astype(np.int64)
    example = int(values[np.flatnonzero(values)[0]])
    when = pd.Timestamp(int(seconds[np.flatnonzero(values)[0]]), unit="s").strftime("%Y-%m-%d")
    return seconds, (
        f"Column {name!r} holds Unix time in {unit} (e.g. {example} is {when}): read as seconds."
    )
