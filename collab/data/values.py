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
                "rated; Jester: 99; Goodreads and Book-Crossing: 0 beside a scale from 1)"
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
    a scale from 1 or from half a star, when 0 is not rare; 99 beside -10..10), values far outside the range the rest spans, and count-like columns
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
            if code == 0.0:
                # 0 beside a scale from 1 (1-5, 1-7, 1-10) or from half a star: Goodreads and Book-Crossing
                # write 0 for "not rated". Flagged when it is at least a quarter as common as an average
                # rating, so a 0-5 scale whose 0 is a rare real score stays quiet.
                n_zero = counts[levels == 0][0]
                others = counts[np.isin(levels, rest)]
                flagged = bool(
                    rest[0] in (0.5, 1.0) and rest[-1] >= 4 and 4 * n_zero * len(others) >= others.sum()
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
        values = numeric_column(column, name, where, "timestamps")
        dates = yyyymmdd_seconds(values)
        if dates is not None:
            example = int(values[0])
            when = pd.Timestamp(int(dates[0]), unit="s").strftime("%Y-%m-%d")
            return dates, (
                f"Column {name!r} holds dates written as numbers (e.g. {example} is {when}): read as dates."
            )
        return _epoch_seconds(values, name)
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
        return np.floor(values).astype(np.int64), None  # 1593878903.438 (fractional seconds) is 1593878903
    seconds = np.floor_divide(values, per_second).astype(np.int64)
    example = int(values[np.flatnonzero(values)[0]])
    when = pd.Timestamp(int(seconds[np.flatnonzero(values)[0]]), unit="s").strftime("%Y-%m-%d")
    return seconds, (
        f"Column {name!r} holds Unix time in {unit} (e.g. {example} is {when}): read as seconds."
    )


def yyyymmdd_seconds(values: np.ndarray) -> np.ndarray | None:
    """Dates written as numbers (20200705, or 20200705.0 from a spreadsheet) as Unix seconds (int64), or
    None when some value is not such a date (a fraction, a month above 12, a year outside 1900-2100).
    Read as Unix seconds they would be days in 1970: 20200705 s is 1970-08-23."""
    values = np.asarray(values, dtype=np.float64)
    if not len(values) or values.min() < 19000101 or values.max() > 21001231:
        return None
    if not np.all(values == np.floor(values)):
        return None
    whole = values.astype(np.int64)
    year, month, day = whole // 10000, whole // 100 % 100, whole % 100
    if month.min() < 1 or month.max() > 12 or day.min() < 1 or day.max() > 31:
        return None
    parsed = pd.to_datetime(
        pd.DataFrame({"year": year, "month": month, "day": day}), errors="coerce", utc=True
    )
    if parsed.isna().any():  # 20200231
        return None
    return ((parsed - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)


PLAUSIBLE_FROM_YEAR = 1990  # ratings datasets start in the 1990s (EachMovie 1996, MovieLens 1997)


def plausible_years() -> tuple[int, int]:
    """The years a rating's timestamp may fall in: 1990 to next year."""
    return PLAUSIBLE_FROM_YEAR, pd.Timestamp.now(tz="UTC").year + 1


def implausible_time_warning(seconds: np.ndarray, name: str) -> Message | None:
    """A warning when Unix seconds fall before 1990 or after next year (not a time, or the wrong unit)."""
    if not len(seconds):
        return None
    first, last = plausible_years()
    low = pd.Timestamp(f"{first}-01-01", tz="UTC").timestamp()
    high = pd.Timestamp(f"{last + 1}-01-01", tz="UTC").timestamp()
    lo, hi = int(seconds.min()), int(seconds.max())
    if lo >= low and hi < high:
        return None
    outside = int(np.count_nonzero((seconds < low) | (seconds >= high)))
    span = f"{_year(lo)} to {_year(hi)}"
    return Message(
        f"Column {name!r} read as the timestamp gives dates from {span}: {outside:,} of {len(seconds):,} fall "
        f"outside {first} to {last}, the years a rating can have. It is probably not a time (or not Unix "
        "seconds); a split by time would be meaningless. Leave it out (",
        Arg("timestamp_col", "False"),
        ") or choose the right column (",
        Arg("timestamp_col"),
        ").",
    )


def _year(seconds: int) -> str:
    try:
        return str(pd.Timestamp(seconds, unit="s").year)
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        return "beyond the year 2262"


_ROLE_ARGS = {"user": "user_col", "item": "item_col", "rating": "rating_col", "timestamp": "timestamp_col"}


def check_scalar(column: pd.Series, name: str, role: str, where: Locator) -> None:
    """Refuse a column of lists or objects (JSON arrays or dicts, such as Amazon's `images`) as the
    `role` column, naming it; other columns pass. Costs nothing unless the column holds Python objects."""
    if column.dtype != object or not len(column):
        return
    first = column.iloc[0]
    if not isinstance(first, list | dict | tuple | set | np.ndarray):
        kind = pd.api.types.infer_dtype(column.iloc[:1000], skipna=True)
        if kind not in ("mixed", "mixed-integer", "unknown-array"):
            return
    nested = column.map(lambda v: isinstance(v, list | dict | tuple | set | np.ndarray)).to_numpy(dtype=bool)
    if not nested.any():
        return
    at = int(np.flatnonzero(nested)[0])
    what = "objects" if isinstance(column.iloc[at], dict) else "lists"
    raise DataError(
        Message(
            f"column {name!r} holds {what} (JSON arrays or objects such as {_short(column.iloc[at])} on "
            f"{where(at)}), not one {role} per row: it cannot be the {role} column. Choose a column of plain "
            "values (",
            Arg(_ROLE_ARGS.get(role, f"{role}_col")),
            ").",
        )
    )


def _short(value: object) -> str:
    text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= 40 else text[:37] + "..."


# A thumbs up/down column as 1 (up) and 0 (down): Steam's is_recommended, likes, yes/no answers
THUMBS = {
    "true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0, "like": 1.0, "dislike": 0.0, "liked": 1.0,
    "disliked": 0.0, "up": 1.0, "down": 0.0, "thumbs up": 1.0, "thumbs down": 0.0, "thumbsup": 1.0,
    "thumbsdown": 0.0, "recommended": 1.0, "not recommended": 0.0, "positive": 1.0, "negative": 0.0,
}  # fmt: skip


def thumbs_values(column: pd.Series) -> np.ndarray | None:
    """A true/false (or like/dislike, yes/no) column as float64 1/0, or None when it is not one."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return column.to_numpy(dtype=np.float64)
    if column.dtype != object and not isinstance(column.dtype, pd.CategoricalDtype | pd.StringDtype):
        return None
    head = column.iloc[:50].astype(str).str.strip().str.lower()
    if not head.isin(list(THUMBS)).all():
        return None
    mapped = column.astype(str).str.strip().str.lower().map(THUMBS)
    if mapped.isna().any():
        return None
    return mapped.to_numpy(dtype=np.float64)
