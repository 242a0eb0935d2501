"""The one data contract, `Ratings`: integer ids, float ratings, labels, and a content fingerprint.

Every source (demo, MovieLens, CSV) ends in `Ratings.from_frame`, which validates the rows and
builds the dense id vocabulary; bad input raises `DataError` naming the problem, the column, the
count, the first offending line and the fix. Splits keep the parent's full vocabulary, so ids
index the same embedding tables in train and valid.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

from collab.data.errors import Arg, DataError, Message
from collab.data.guards import as_text, text_array
from collab.data.values import (
    IMPLICIT_TRANSFORMS,
    Implicit,
    Locator,
    check_ratings,
    check_scalar,
    format_number,
    implausible_time_warning,
    numeric_column,
    thumbs_values,
    timestamp_column,
    transform_counts,
)
from collab.data.vocabulary import count_plays, duplicated_pairs, vocabulary

MAX_RATINGS = 30_000_000  # rows; more than this is refused before it is parsed in full
SplitMethod = Literal["random", "by_time", "by_user", "leave_one_out", "leave_last_n"]
SPLIT_METHODS: tuple[str, ...] = ("random", "by_time", "by_user", "leave_one_out", "leave_last_n")


def _thumbs_example(column: pd.Series) -> str:
    values = column.drop_duplicates().head(2).astype(str).tolist()
    return "/".join(values)


def _implicit_note(implicit: str, rating_col: str | None) -> str:
    """What `from_frame` did to the rating column under `implicit`."""
    if implicit == "binary":
        source = (
            "no rating column" if rating_col is None else f"the values of column {rating_col!r} are not used"
        )
        return (
            f'Read as implicit feedback (implicit="binary"): every (user, item) row is an interaction, '
            f'rating 1.0 ({source}); train a ranking model (model="bpr" or "bce").'
        )
    how = "log(1 + count)." if implicit == "log1p" else "counts mapped onto 1-5 on a log scale."
    return f"Column {rating_col!r} read as counts (implicit feedback) and trained as {how}"


@dataclass(frozen=True, eq=False)
class Ratings:
    """Explicit-feedback ratings with a dense id vocabulary shared by every split of one dataset."""

    user_ids: np.ndarray  # (n_ratings,) int64 in 0..n_users-1
    item_ids: np.ndarray  # (n_ratings,) int64 in 0..n_items-1
    ratings: np.ndarray  # (n_ratings,) float32
    # Text arrays (labels, titles) are `<U`, or `object` arrays of str when one long value would make a
    # fixed-width array cost n x longest (`collab.data.guards.text_array`): each value costs its own length.
    user_labels: np.ndarray  # (n_users,) str: the original id of user index i
    item_labels: np.ndarray  # (n_items,) str: the original id of item index i
    timestamps: np.ndarray | None = None  # (n_ratings,) int64 seconds, or None
    titles: np.ndarray | None = None  # (n_items,) str, or None
    genres: tuple[tuple[str, ...], ...] | None = None  # per item index, or None
    name: str = "ratings"
    truth: object | None = None  # ground truth of a planted (demo) set: collab.data.demo.DemoTruth
    fingerprint: str = field(default="", compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)  # what loading fixed, e.g. duplicates dropped
    # what loading found suspicious and left for the user to decide: not-rated codes, counts (`Message`s)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        # Normalise dtypes once, so code that builds Ratings by hand gets the contract's types.
        for name, dtype in (("user_ids", np.int64), ("item_ids", np.int64), ("ratings", np.float32)):
            object.__setattr__(self, name, np.ascontiguousarray(getattr(self, name), dtype=dtype))
        for name in ("user_labels", "item_labels", "titles"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, text_array(value))
        if self.timestamps is not None:
            object.__setattr__(self, "timestamps", np.ascontiguousarray(self.timestamps, dtype=np.int64))
        n = len(self.ratings)
        if len(self.user_ids) != n or len(self.item_ids) != n:
            raise ValueError(
                f"user_ids, item_ids and ratings differ in length: {len(self.user_ids)}, {len(self.item_ids)}, {n}"
            )
        if self.timestamps is not None and len(self.timestamps) != n:
            raise ValueError(f"timestamps has {len(self.timestamps)} entries for {n} ratings")
        if self.titles is not None and len(self.titles) != self.n_items:
            raise ValueError(f"titles has {len(self.titles)} entries for {self.n_items} items")
        if self.genres is not None and len(self.genres) != self.n_items:
            raise ValueError(f"genres has {len(self.genres)} entries for {self.n_items} items")
        if n and (self.user_ids.min() < 0 or self.user_ids.max() >= self.n_users):
            raise ValueError(f"user_ids must lie in 0..{self.n_users - 1} (one per user label)")
        if n and (self.item_ids.min() < 0 or self.item_ids.max() >= self.n_items):
            raise ValueError(f"item_ids must lie in 0..{self.n_items - 1} (one per item label)")
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", _fingerprint(self))

    # ---- construction ---------------------------------------------------------------------------

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        user_col: str = "user",
        item_col: str = "item",
        rating_col: str = "rating",
        timestamp_col: str | None = None,
        *,
        title_col: str | None = None,
        name: str = "ratings",
        max_rows: int = MAX_RATINGS,
        duplicates: Literal["last", "error"] = "last",
        lines: int | np.ndarray | None = None,
        not_rated: Sequence[float] = (),
        implicit: Implicit | None = None,
        day_first: bool | None = None,
    ) -> Ratings:
        """Validate a frame of (user, item, rating[, timestamp]) rows and build the dense vocabulary.

        `lines` maps rows to places in the source file for error messages: the file line of the
        first row (int), the line of every row (array), or None for "row N" of the frame.
        Duplicate (user, item) pairs keep the last rating and are reported in `notes`
        (`duplicates="error"` raises instead). Labels keep the ids' text ("007" stays "007"; give
        id columns as text or categorical to keep it) and are sorted by `label_order`, so the
        vocabulary does not depend on row order.

        Rows whose rating is one of `not_rated` (codes such as -1 or 99 that mean "not rated") are
        dropped and counted in `notes`. Without them, values outside the scale the rest of the column
        uses and counts that look like implicit feedback are reported in `warnings` (see
        `check_ratings`), never changed: `implicit="log1p"` trains on log(1 + count),
        `implicit="scale"` maps counts onto 1-5 on a log scale. `day_first` reads text dates such as
        05.06.2020 as 5 June (True) or May 6 (False); None decides from the column and notes it.
        """
        if implicit not in (None, *IMPLICIT_TRANSFORMS):
            raise ValueError(f"implicit must be one of {list(IMPLICIT_TRANSFORMS)} or None, got {implicit!r}")
        if rating_col is None and implicit is None:
            raise ValueError(
                'rating_col=None (a file of interactions, no rating column) needs implicit="binary" (each row an '
                'interaction) or "log1p" / "scale" (rows counted into plays per (user, item) pair)'
            )
        counting = rating_col is None and implicit in ("log1p", "scale")  # a log: rows counted per pair
        where = Locator(lines)
        columns = [user_col, item_col] + [c for c in (rating_col, timestamp_col, title_col) if c is not None]
        for column in columns:
            if column not in df.columns:
                raise DataError(
                    f"column {column!r} not found; the columns are {list(map(str, df.columns))}. "
                    "Pick the right column names (user, item, rating)."
                )
        n = len(df)
        if n == 0:
            raise DataError("no ratings: the table has no rows. Check that you picked the right data.")
        if n > max_rows:
            raise DataError(
                f"too many ratings: more than {max_rows:,} rows (the size limit). "
                "Use a sample of the file, or raise the limit (max_rows) on a machine with enough memory."
            )
        warnings: list[str] = []
        for column in [c for c in (user_col, item_col, rating_col, timestamp_col) if c is not None]:
            missing = df[column].isna().to_numpy()
            if missing.any() and column == timestamp_col:  # KuaiRec: a few events have no time
                first = int(np.flatnonzero(missing)[0])
                warnings.append(
                    Message(
                        f"Column {column!r} has {int(missing.sum()):,} empty cells (first: {where(first)}), so the "
                        "ratings are read without timestamps (a split by time needs one for every rating). Fill "
                        "them in to use them, or choose another column (",
                        Arg("timestamp_col"),
                        ").",
                    )
                )
                timestamp_col = None
            elif missing.any():
                first = int(np.flatnonzero(missing)[0])
                raise DataError(
                    f"column {column!r} has {int(missing.sum()):,} empty or NaN cells (first: {where(first)}). "
                    "Fill them in or delete those rows."
                )

        for role, column in (
            ("user", user_col),
            ("item", item_col),
            ("rating", rating_col),
            ("timestamp", timestamp_col),
        ):
            if column is not None:
                check_scalar(df[column], column, role, where)
        notes: list[str] = []
        thumbs = None if rating_col is None else thumbs_values(df[rating_col])
        if thumbs is not None:
            rating_values = thumbs
            notes.append(
                f"Column {rating_col!r} is a thumbs up/down ({_thumbs_example(df[rating_col])}): read as 1 (up) and "
                "0 (down)."
            )
        else:
            rating_values = (
                np.ones(n)
                if rating_col is None
                else numeric_column(df[rating_col], rating_col, where, "ratings")
            )
        timestamps = None
        if timestamp_col is not None:
            timestamps, date_note = timestamp_column(df[timestamp_col], timestamp_col, where, day_first)
            if date_note:
                notes.append(date_note)
        if isinstance(not_rated, int | float):  # not_rated=-1 means not_rated=[-1]
            not_rated = [not_rated]
        if len(not_rated):
            codes = np.asarray([float(c) for c in not_rated], dtype=np.float64)
            drop = np.isin(rating_values, codes)
            n_drop = int(drop.sum())
            listed = ", ".join(format_number(float(c)) for c in codes)
            if n_drop == n:
                raise DataError(
                    Message(
                        f"every one of the {n:,} ratings in column {rating_col!r} is a not-rated value ({listed}); "
                        "nothing is left to train on. Check ",
                        Arg("not_rated", f"[{listed}]"),
                        " and ",
                        Arg("rating_col"),
                        ".",
                    )
                )
            if n_drop:
                notes.append(
                    f"Dropped {n_drop:,} rows ({n_drop / n:.1%}) whose rating is a not-rated value ({listed})."
                )
                keep = ~drop
                df = df[keep].reset_index(drop=True)
                rating_values = rating_values[keep]
                timestamps = timestamps[keep] if timestamps is not None else None
                where = where.subset(np.flatnonzero(keep))
                n = len(df)
            else:
                notes.append(
                    f"No rating in column {rating_col!r} is a not-rated value ({listed}); nothing dropped."
                )
        check = check_ratings(rating_values)
        if counting:
            pass  # the plays are counted per pair below, once the ids are known
        elif implicit is not None:
            rating_values = transform_counts(rating_values, implicit, rating_col)
            notes.append(_implicit_note(implicit, rating_col))
        else:
            warnings.extend(check.messages(rating_col))
        if (
            timestamps is not None
            and (odd := implausible_time_warning(timestamps, timestamp_col)) is not None
        ):
            warnings.append(odd)
        if implicit != "binary" and not counting and np.all(rating_values == rating_values[0]):
            raise DataError(
                Message(
                    f"column {rating_col!r} has the same value ({format_number(rating_values[0])}) in all {n:,} rows; "
                    "a model cannot learn from that. Check that the rating column (",
                    Arg("rating_col"),
                    ") is the right one.",
                )
            )

        user_ids, user_labels = vocabulary(df[user_col])
        item_ids, item_labels = vocabulary(df[item_col])
        if len(user_labels) < 2:
            raise DataError(
                Message(
                    f"column {user_col!r} has a single user ({str(user_labels[0])!r}) in {n:,} rows; collaborative "
                    "filtering needs at least 2 users. Check that the user column (",
                    Arg("user_col"),
                    ") is the right one.",
                )
            )
        if len(item_labels) < 2:
            raise DataError(
                Message(
                    f"column {item_col!r} has a single item ({str(item_labels[0])!r}) in {n:,} rows; collaborative "
                    "filtering needs at least 2 items. Check that the item column (",
                    Arg("item_col"),
                    ") is the right one.",
                )
            )

        titles = None
        if title_col is not None:
            titles = np.full(len(item_labels), "", dtype=object)
            titles[item_ids[::-1]] = df[title_col].fillna("").astype(str).to_numpy()[::-1]  # first title wins
            titles = text_array(titles)

        if counting:
            rating_values, count_note = count_plays(user_ids, item_ids, len(item_labels), implicit)  # type: ignore[arg-type]
            notes.append(count_note)
        ratings = rating_values.astype(np.float32)  # the contract's dtype now: half the bytes to filter below
        del rating_values
        dropped = duplicated_pairs(user_ids, item_ids, len(item_labels))
        n_duplicates = int(dropped.sum())
        if n_duplicates and counting:  # every row of a pair holds its count: keep one, said in the count note
            keep = ~dropped
            user_ids, item_ids, ratings = user_ids[keep], item_ids[keep], ratings[keep]
            timestamps = timestamps[keep] if timestamps is not None else None
        elif n_duplicates:
            first = int(np.flatnonzero(dropped)[0])
            message = (
                f"{n_duplicates:,} duplicate (user, item) rows in columns {user_col!r}, {item_col!r} "
                f"(first: {where(first)}, user {str(user_labels[user_ids[first]])!r}, item {str(item_labels[item_ids[first]])!r})"
            )
            if duplicates == "error":
                raise DataError(f"{message}. Keep one rating per user and item.")
            notes.append(f"{message}; kept the last rating of each pair.")
            keep = ~dropped
            # one column at a time, so each full-length array is freed as soon as its copy exists
            user_ids = user_ids[keep]
            item_ids = item_ids[keep]
            ratings = ratings[keep]
            timestamps = timestamps[keep] if timestamps is not None else None

        return cls(
            user_ids=user_ids,
            item_ids=item_ids,
            ratings=ratings,
            user_labels=user_labels,
            item_labels=item_labels,
            timestamps=timestamps,
            titles=titles,
            name=name,
            notes=tuple(notes),
            warnings=tuple(warnings),
        )

    def with_items(self, items: pd.DataFrame) -> Ratings:
        """Attach titles (and genres) from a frame indexed by item label with columns `title`[, `genres`]."""
        index = items.index.astype(str)
        table = items.set_axis(index)
        table = table[~index.duplicated(keep="first")]
        aligned = table.reindex(pd.Index(self.item_labels))
        known = aligned["title"].notna().to_numpy()
        titles = text_array(aligned["title"].fillna("").astype(str).to_numpy(dtype=object))
        genres = None
        if "genres" in aligned.columns:
            genres = tuple(g if isinstance(g, tuple) else () for g in aligned["genres"].tolist())
        notes = [*self.notes, *items.attrs.get("notes", ())]
        n_unknown = int((~known).sum())
        if n_unknown:
            first = self.item_labels[np.flatnonzero(~known)[0]]
            notes.append(
                f"{n_unknown:,} of {self.n_items:,} items have no entry in the items file (first: {str(first)!r})."
            )
        return replace(self, titles=titles, genres=genres, notes=tuple(notes), fingerprint=self.fingerprint)

    # ---- views ------------------------------------------------------------------------------------

    @property
    def n_users(self) -> int:
        return len(self.user_labels)

    @property
    def n_items(self) -> int:
        return len(self.item_labels)

    @property
    def n_ratings(self) -> int:
        return len(self.ratings)

    def __len__(self) -> int:
        return self.n_ratings

    def __repr__(self) -> str:
        """One line for a notebook (the dataclass default prints every array: tens of kilobytes)."""
        scale = f", ratings {self.ratings.min():g} to {self.ratings.max():g}" if self.n_ratings else ""
        extras = [name for name in ("titles", "genres", "timestamps") if getattr(self, name) is not None]
        return (
            f"Ratings({self.name!r}: {self.n_ratings:,} ratings, {self.n_users:,} users, "
            f"{self.n_items:,} items{scale}{', with ' + ', '.join(extras) if extras else ''}"
            f"{f', notes: {len(self.notes)}' if self.notes else ''}"
            f"{f', warnings: {len(self.warnings)}' if self.warnings else ''})"
        )

    @cached_property
    def rating_values(self) -> np.ndarray:
        """The distinct rating values, sorted (the classes of a rating classifier)."""
        return np.unique(self.ratings)

    def item_display_names(self) -> np.ndarray:
        """One name per item index: its title where there is one, else its label."""
        if self.titles is None:
            return self.item_labels.copy()
        return np.where(self.titles != "", self.titles, self.item_labels)

    def user_index(self, labels: str | Sequence[str] | np.ndarray) -> np.ndarray:
        """Map user labels to user ids; unknown labels raise `DataError` naming the first of them."""
        return _lookup(self._user_positions, labels, "user")

    def item_index(self, labels: str | Sequence[str] | np.ndarray) -> np.ndarray:
        """Map item labels to item ids; unknown labels raise `DataError` naming the first of them."""
        return _lookup(self._item_positions, labels, "item")

    @cached_property
    def _user_positions(self) -> pd.Index:
        return pd.Index(self.user_labels)

    @cached_property
    def _item_positions(self) -> pd.Index:
        return pd.Index(self.item_labels)

    def frame(self) -> pd.DataFrame:
        """The ratings as a table of labels: user, item, rating[, timestamp][, title]."""
        columns: dict[str, object] = {
            "user": pd.Categorical.from_codes(self.user_ids, categories=self.user_labels),
            "item": pd.Categorical.from_codes(self.item_ids, categories=self.item_labels),
            "rating": self.ratings,
        }
        if self.timestamps is not None:
            columns["timestamp"] = self.timestamps
        if self.titles is not None:
            columns["title"] = self.titles[self.item_ids]
        return pd.DataFrame(columns)

    def subset(self, rows: np.ndarray | Sequence[int] | Sequence[bool]) -> Ratings:
        """The ratings at `rows` (a boolean mask or integer positions), with the same vocabulary."""
        index = np.asarray(rows)
        if index.dtype == bool and len(index) != self.n_ratings:
            raise ValueError(f"mask has {len(index)} entries for {self.n_ratings} ratings")
        return replace(
            self,
            user_ids=self.user_ids[index],
            item_ids=self.item_ids[index],
            ratings=self.ratings[index],
            timestamps=self.timestamps[index] if self.timestamps is not None else None,
            fingerprint="",
            notes=(),
            warnings=(),
        )

    def split(
        self, valid_pct: float = 0.2, seed: int = 42, method: SplitMethod = "random", *, n_last: int = 1
    ) -> Split:
        """Split into train and valid; valid rows whose user or item is absent from train are dropped
        (cold start), and the `Split` counts both (`n_held_out` before, `valid.n_ratings` after; `notes`).

        - "random": a seeded random `valid_pct` of all ratings.
        - "by_time": the latest `valid_pct` of ratings by timestamp (one global cutoff, ties by row
          order), the honest "predict the future" split; needs timestamps. Users and items first seen
          after the cut are cold start: often most of what it holds out (its notes say how much).
        - "by_user": a seeded random `valid_pct` of each user's ratings (rounded; every user keeps
          at least one rating in train).
        - "leave_one_out": each user's latest rating (by timestamp, ties by row order; a seeded random
          one without timestamps), the protocol of NCF and most top-N papers; `valid_pct` is not used.
        - "leave_last_n": each user's `n_last` latest ratings by timestamp (per user, not one global
          cut, so no user is cold start); needs timestamps; `valid_pct` is not used.
        Both per-user protocols leave a user with too few ratings at least one in train.
        """
        if method in ("leave_one_out", "leave_last_n"):
            return self._leave_last(1 if method == "leave_one_out" else n_last, seed, method)
        if not 0.0 < valid_pct < 1.0:
            raise ValueError(f"valid_pct must be between 0 and 1 (exclusive), got {valid_pct}")
        if method not in SPLIT_METHODS:
            raise ValueError(f"method must be one of {', '.join(SPLIT_METHODS)}; got {method!r}")
        rng = np.random.default_rng(seed)
        n = self.n_ratings
        n_valid = int(round(n * valid_pct))
        is_valid = np.zeros(n, dtype=bool)
        if method == "random":
            is_valid[rng.permutation(n)[:n_valid]] = True
        elif method == "by_time":
            if self.timestamps is None:
                raise DataError(
                    f"{self.name} has no timestamps, so it cannot be split by time. Use method='random' or 'by_user'."
                )
            order = np.argsort(self.timestamps, kind="stable")
            is_valid[order[n - n_valid :]] = True
        else:
            # Rank each user's ratings in a random order, then take the first share of each user.
            order = np.lexsort((rng.random(n), self.user_ids))  # grouped by user, shuffled within
            counts = np.bincount(self.user_ids, minlength=self.n_users)
            starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
            rank = np.arange(n) - starts[self.user_ids[order]]
            share = np.minimum(np.floor(counts * valid_pct + 0.5), counts - 1)
            is_valid[order] = rank < share[self.user_ids[order]]

        return self._split_at(is_valid, method, valid_pct, seed)

    def _leave_last(self, n_last: int, seed: int, method: str) -> Split:
        """Hold out each user's `n_last` latest ratings (see `split`)."""
        if isinstance(n_last, bool) or not isinstance(n_last, int) or n_last < 1:
            raise ValueError(f"n_last must be a positive integer, got {n_last!r}")
        if self.timestamps is None and method == "leave_last_n":
            raise DataError(
                f"{self.name} has no timestamps, so there is no 'last' rating per user. "
                "Use method='leave_one_out' (a random rating per user without timestamps) or 'by_user'."
            )
        n = self.n_ratings
        when = self.timestamps if self.timestamps is not None else np.random.default_rng(seed).random(n)
        order = np.lexsort(
            (-np.arange(n), -np.asarray(when, dtype=np.float64), self.user_ids)
        )  # latest first
        counts = np.bincount(self.user_ids, minlength=self.n_users)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        rank = np.arange(n) - starts[self.user_ids[order]]  # 0 = the user's latest
        held = np.minimum(n_last, np.maximum(counts - 1, 0))  # every user keeps one rating in train
        is_valid = np.zeros(n, dtype=bool)
        is_valid[order] = rank < held[self.user_ids[order]]
        return self._split_at(is_valid, method, 0.0, seed)

    def _split_at(self, is_valid: np.ndarray, method: str, valid_pct: float, seed: int) -> Split:
        """The split holding out `is_valid`, its cold-start rows dropped and counted."""
        train = self.subset(~is_valid)
        seen_user = np.bincount(train.user_ids, minlength=self.n_users) > 0
        seen_item = np.bincount(train.item_ids, minlength=self.n_items) > 0
        keep = is_valid & seen_user[self.user_ids] & seen_item[self.item_ids]
        return Split(
            train=train,
            valid=self.subset(keep),
            n_dropped=int(is_valid.sum() - keep.sum()),
            method=method,
            valid_pct=valid_pct,
            seed=seed,
        )

    def crosstab(self, n_users: int = 15, n_items: int = 15) -> pd.DataFrame:
        """The most active users x the most rated items, NaN where a user did not rate an item."""
        user_counts = np.bincount(self.user_ids, minlength=self.n_users)
        item_counts = np.bincount(self.item_ids, minlength=self.n_items)
        top_users = np.argsort(-user_counts, kind="stable")[:n_users]
        top_items = np.argsort(-item_counts, kind="stable")[:n_items]
        row_of = np.full(self.n_users, -1)
        row_of[top_users] = np.arange(len(top_users))
        col_of = np.full(self.n_items, -1)
        col_of[top_items] = np.arange(len(top_items))
        rows, cols = row_of[self.user_ids], col_of[self.item_ids]
        inside = (rows >= 0) & (cols >= 0)
        table = np.full((len(top_users), len(top_items)), np.nan)  # (n_users, n_items)
        table[rows[inside], cols[inside]] = self.ratings[inside]
        return pd.DataFrame(
            table,
            index=pd.Index(self.user_labels[top_users], name="user"),
            columns=pd.Index(self.item_display_names()[top_items], name="item"),
        )

    def summary(self) -> RatingsSummary:
        """Counts, sparsity, the rating histogram and per-user / per-item count distributions."""
        values, counts = np.unique(self.ratings, return_counts=True)
        n_cells = self.n_users * self.n_items
        return RatingsSummary(
            n_ratings=self.n_ratings,
            n_users=self.n_users,
            n_items=self.n_items,
            sparsity=1.0 - self.n_ratings / n_cells if n_cells else 1.0,
            rating_counts={float(v): int(c) for v, c in zip(values, counts, strict=True)},
            per_user_counts=np.bincount(self.user_ids, minlength=self.n_users),
            per_item_counts=np.bincount(self.item_ids, minlength=self.n_items),
            mean_rating=float(self.ratings.mean()) if self.n_ratings else float("nan"),
            min_rating=float(values[0]) if len(values) else float("nan"),
            max_rating=float(values[-1]) if len(values) else float("nan"),
            has_timestamps=self.timestamps is not None,
            has_titles=self.titles is not None,
        )


@dataclass(frozen=True, eq=False)
class Split:
    """Train and valid ratings over one shared vocabulary; unpacks as `train, valid = ratings.split()`."""

    train: Ratings
    valid: Ratings
    n_dropped: int  # valid rows dropped because their user or item never occurs in train
    method: str = "random"
    valid_pct: float = 0.2
    seed: int = 42

    def __iter__(self) -> Iterator[Ratings]:
        return iter((self.train, self.valid))

    @property
    def n_held_out(self) -> int:
        """Ratings held out before cold-start removal: the kept validation ratings plus the dropped ones."""
        return self.valid.n_ratings + self.n_dropped

    @property
    def notes(self) -> tuple[str, ...]:
        """How many ratings the split held out and kept (always one line), what it had to drop, and, when
        that is most of what it held out, the fix."""
        if not self.n_dropped:
            return (
                f"{self.method} split: {self.n_held_out:,} ratings held out, all {self.valid.n_ratings:,} "
                "scored (none dropped as cold start).",
            )
        held = self.n_held_out
        note = (
            f"{self.method} split: {self.n_dropped:,} of {held:,} held-out ratings were dropped (cold start: their user or item "
            f"has no rating left in training); {self.valid.n_ratings:,} are scored."
        )
        if 2 * self.n_dropped <= held:
            return (note,)
        if self.method == "by_user":
            fix = Message("a smaller share (", Arg("valid_pct", "0.1"), ")")
        else:
            fix = Message(Arg("method", "'by_user'"), " or ", Arg("method", "'random'"))
        loud = (
            f"{note} More than half of the held-out ratings ({self.n_dropped / held:.0%}) were dropped, so "
            f"the validation set no longer measures what the {self.method!r} split promises; use "
        )
        return (Message(loud, fix, "."),)


def empty_validation_error(n_dropped: int | None = None, method: str | None = None) -> DataError:
    """The error for a split whose validation set is empty, with the reason and the fix
    (`n_dropped`: held-out ratings dropped for an unseen user or item, None if unknown; `method`: the
    split used, as in `Ratings.split`, None if unknown). Splitting by user is advised only when the
    split was not already by user."""
    by_user = method == "by_user"
    if n_dropped is None:
        reason = (
            "every validation rating belongs to an unseen user or item, or the validation share rounds to no "
            "rating, so there is nothing to score (pass valid=None to train without validation)"
        )
    elif n_dropped:
        held = f"{n_dropped:,} held-out rating" + (" belongs" if n_dropped == 1 else "s all belong")
        whose = "an item" if by_user else "a user or item"
        if n_dropped > 1:
            whose = "items" if by_user else "users or items"
        reason = f"the {held} to {whose} with no rating left in training, so there is nothing to score"
    elif by_user:
        reason = (
            "each user's validation share rounds to no rating (every user keeps at least one rating in "
            "training), so nothing is held out"
        )
    else:
        reason = "the validation share of these few ratings rounds to no rating at all"
    if by_user:
        advice: tuple[str | Arg, ...] = (
            " The split is already by user; set a larger validation share (",
            Arg("valid_pct"),
            ") so that users with few ratings hold one out too, or load more ratings per user and item",
        )
    else:
        advice = (
            " Set ",
            Arg("method", '"by_user"'),
            " so that every user keeps ratings in training, or change the validation share (",
            Arg("valid_pct"),
            ")",
        )
    return DataError(
        Message(
            f"the validation set is empty: {reason}. A model trained anyway would report RMSE nan.",
            *advice,
            "; check too that the file is one rating per row.",
        )
    )


@dataclass(frozen=True, eq=False)
class RatingsSummary:
    """What a dataset holds, for the Data page."""

    n_ratings: int
    n_users: int
    n_items: int
    sparsity: float  # share of the user x item table that is empty
    rating_counts: dict[float, int]  # rating value -> number of ratings, sorted by value
    per_user_counts: np.ndarray  # (n_users,) ratings per user
    per_item_counts: np.ndarray  # (n_items,) ratings per item
    mean_rating: float
    min_rating: float
    max_rating: float
    has_timestamps: bool
    has_titles: bool


def _lookup(index: pd.Index, labels: str | Sequence[str] | np.ndarray, kind: str) -> np.ndarray:
    wanted = as_text(np.atleast_1d(np.asarray(labels, dtype=object)))
    positions = index.get_indexer(wanted)
    unknown = positions < 0
    if unknown.any():
        raise DataError(
            f"{int(unknown.sum())} unknown {kind} label(s) (first: {str(wanted[unknown][0])!r}); "
            f"use a {kind} that occurs in the ratings."
        )
    return positions.astype(np.int64)


def _fingerprint(r: Ratings) -> str:
    """A stable content hash (ids, ratings, labels); equal data gives an equal fingerprint."""
    digest = hashlib.sha256()  # sha256 is hardware-accelerated: about 3x blake2b on 25M rows
    for array in (r.user_ids, r.item_ids, r.ratings):
        digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))  # no copy
    for labels in (r.user_labels, r.item_labels):
        digest.update("\x1f".join(labels.tolist()).encode())
    if r.timestamps is not None:
        digest.update(memoryview(np.ascontiguousarray(r.timestamps)).cast("B"))
    return digest.hexdigest()[:32]
