"""Column roles: which column of a table is the user, the item, the rating, the timestamp and the title.

From the header's names where they are known (with preferences when several fit: a rating before a
thumbs up/down before a count, Amazon's `parent_asin` before `asin`, Unix time before text dates
before days), else from the values (a headerless file: ids, a column that can be a rating, a time).
Every choice that is not plain from the names is said in a note naming the columns left out."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from collab.data.errors import Arg, Message
from collab.data.source import Column
from collab.data.values import plausible_years, yyyymmdd_seconds

# Column names we recognise, compared lower-case with punctuation removed ("user_id" -> "userid").
ALIASES: dict[str, tuple[str, ...]] = {
    "user": ("userid", "user", "users", "uid", "customerid", "reviewerid"),
    "item": (
        "movieid", "itemid", "item", "movie", "productid", "bookid", "isbn", "asin", "iid", "parentasin",
        "businessid", "animeid", "jokeid", "artist", "artistid", "track", "trackid", "song", "songid", "game",
        "gameid", "appid", "product", "business", "book", "anime", "joke", "videoid", "video",
    ),
    # thumbs up/down and counts too (Steam, Last.fm): read as the value column, then reported
    "rating": (
        "rating", "ratings", "score", "stars", "overall",
        "isrecommended", "recommended", "votedup", "liked", "thumbsup", "thumbs", "like",
        "plays", "playcount", "count", "weight", "clicks", "hours", "playtime", "hoursplayed",
    ),
    "timestamp": ("timestamp", "time", "ts", "unixtime", "datetime", "date", "unixreviewtime"),
    "title": ("title", "movietitle", "itemtitle"),
}  # fmt: skip
ROLES = tuple(ALIASES)
# Of several rating-like names: a rating first, then a thumbs up/down, then a count (implicit feedback)
_THUMBS = ("isrecommended", "recommended", "votedup", "liked", "thumbsup", "thumbs", "like")
_COUNTS = ("plays", "playcount", "count", "weight", "clicks", "hours", "playtime", "hoursplayed")
# Fields of a review: beside them a `title` is the review's, not the item's (Amazon, Yelp, LibraryThing)
_REVIEW_FIELDS = ("text", "reviewtext", "review", "summary", "comment", "body", "content", "reviewbody")
_DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")
_HEADER_HINTS = {
    "user": "userId or user_id",
    "item": "movieId or item_id",
    "rating": "rating, score or stars",
}
# Ids that say what they are: users (user_000639, u12, Amazon reviewer ids) and items (ISBNs, ASINs, tt ids)
_USER_LIKE = re.compile(r"^(?:(?:user|usr|u|customer|reviewer)[_\-]?\d+|A[0-9A-Z]{12,})$", re.IGNORECASE)
_ITEM_LIKE = re.compile(
    r"^(?:\d{9}[\dX]|B0[0-9A-Z]{8}|tt\d{6,}|(?:item|movie|book|song|track|artist|game|i|m)[_\-]?\d+)$",
    re.IGNORECASE,
)
# The time kinds, most precise first: the order a time column is chosen in when several hold times
TIME_KINDS = (
    "Unix time",
    "date-times",
    "dates written as numbers (yyyymmdd)",
    "dates",
    "numbers that are no plausible time",  # only a column named as a time: taken, then warned about
)


def normalise(name: str) -> str:
    """A column name for matching: lower case, no punctuation, no RecBole type ("user_id:token" is "userid")."""
    name = re.sub(r":(token|token_seq|float|float_seq)$", "", str(name).strip().lower())
    return re.sub(r"[^a-z0-9]", "", name)


# A name that only contains a role's word (Book-Crossing's "Book-Rating", "goodreads_book_id"), used
# when no name is an exact alias
_CONTAINS = {
    "user": ("userid", "user"),
    "item": ("itemid", "movieid", "bookid", "productid", "videoid", "songid", "trackid", "gameid", "appid"),
    "rating": ("rating", "score"),
}


def is_number(text: str) -> bool:
    """A number as a file writes it: 4, 3.5, -1e3, or 3,5 (a decimal comma)."""
    try:
        float(text)
    except ValueError:
        return bool(_DECIMAL_COMMA.match(text))
    return True


def column_values(rows: Sequence[list[str]], index: int) -> list[str]:
    return [row[index] for row in rows if index < len(row)]


def _numbers(values: Sequence[str]) -> np.ndarray | None:
    cells = [v.strip().replace(",", ".") for v in values if v.strip()]
    if not cells:
        return None
    try:
        return np.array([float(v) for v in cells], dtype=np.float64)
    except ValueError:
        return None


def time_kind(values: Sequence[str], named: bool) -> str | None:
    """What kind of time a column's first values hold (one of `TIME_KINDS`), or None.

    Numbers: dates written as yyyymmdd (20200705, 20200705.0), else Unix time in seconds (a fraction
    allowed), milliseconds, microseconds or nanoseconds, told apart by size; text: dates or
    date-times. Every one must fall between 1990 and next year (a column of small numbers, or
    20200705 read as seconds, is no time). An unnamed column of numbers must be Unix seconds or
    milliseconds; `named` (the header says time) accepts the finer units too, and non-negative numbers
    that are no plausible time as the last kind (taken when nothing better is there; `Ratings.from_frame`
    warns about them)."""
    cells = [v.strip() for v in values if v.strip()]
    if not cells:
        return None
    first, last = plausible_years()
    numbers = _numbers(cells)
    if numbers is not None:
        odd = TIME_KINDS[4] if named and numbers.min() >= 0 else None
        if yyyymmdd_seconds(numbers) is not None:
            years = numbers // 10000
            return TIME_KINDS[2] if years.min() >= first and years.max() <= last else odd
        if numbers.min() <= 0:
            return odd
        typical = float(np.median(numbers))
        units = (1.0, 1e3) if not named else (1.0, 1e3, 1e6, 1e9)
        for per_second in units:
            seconds = numbers / per_second
            low = pd.Timestamp(f"{first}-01-01", tz="UTC").timestamp()
            high = pd.Timestamp(f"{last + 1}-01-01", tz="UTC").timestamp()
            if low <= typical / per_second < high:
                return TIME_KINDS[0] if seconds.min() >= low and seconds.max() < high else odd
        return odd
    if not all(re.search(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", v) for v in cells):
        return None
    parsed = pd.to_datetime(pd.Series(cells), errors="coerce", format="mixed", dayfirst=False)
    if parsed.isna().any():  # 31.12.2020 fails month first: try day first
        parsed = pd.to_datetime(pd.Series(cells), errors="coerce", format="mixed", dayfirst=True)
    if parsed.isna().any() or parsed.dt.year.min() < first or parsed.dt.year.max() > last:
        return None
    with_time = all(re.search(r"\d{1,2}:\d{2}", v) for v in cells)
    return TIME_KINDS[1] if with_time else TIME_KINDS[3]


def rating_like(values: Sequence[str]) -> bool:
    """Values that can be ratings: numbers on a small scale (whole or half steps within -10..10 and at
    most 21 levels, such as 1-5, 0.5-5, 1-10, -10..10) or decimals within -10..10 (Jester). An id
    with many levels (a genre 1-17, a review number) is not."""
    numbers = _numbers(values)
    if numbers is None or len(numbers) < 2 or len(np.unique(numbers)) < 2:
        return False
    if numbers.min() < -10 or numbers.max() > 10:
        return False
    doubled = numbers * 2
    if np.all(doubled == np.round(doubled)):
        return len(np.unique(numbers)) <= 21
    return True


def _id_side(values: Sequence[str]) -> str | None:
    """'user' or 'item' when every value is an id of that kind by its form, else None."""
    cells = [v.strip() for v in values if v.strip()]
    if not cells:
        return None
    if all(_USER_LIKE.match(v) for v in cells):
        return "user"
    if all(_ITEM_LIKE.match(v) for v in cells):
        return "item"
    return None


def resolve(choice: Column, columns: tuple[str, ...], role: str) -> tuple[str | None, Message | None]:
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


def map_columns(
    columns: tuple[str, ...],
    has_header: bool,
    rows: Sequence[list[str]],
    explicit: dict[str, Column],
) -> tuple[dict[str, str | None], list[str], list[str]]:
    """Column roles (user, item, rating, timestamp, title), the problems that stop a read, and notes.

    `rows` are the first rows as text (the more, the surer the choice of a headerless file's columns)."""
    mapping: dict[str, str | None] = {}
    problems: list[str] = []
    notes: list[str] = []
    for role, choice in explicit.items():
        mapping[role], problem = resolve(choice, columns, role)
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
        role: [c for c in columns if normalise(c) in ALIASES[role]] for role in ("user", "item", "rating")
    }
    by_position = not has_header or (
        len(columns) >= 3
        and not any(matched.values())
        and all(explicit.get(role) is None for role in ("user", "item", "rating"))
        and all(is_number(v) for v in column_values(rows, 2))
    )
    if by_position:
        return _by_position(columns, has_header, rows, explicit, mapping, taken, problems)

    reviews = [c for c in columns if normalise(c) in _REVIEW_FIELDS]
    for role in ROLES:
        if explicit.get(role) is not None:
            continue
        matches = [c for c in columns if c not in taken and normalise(c) in ALIASES[role]]
        if not matches and role in _CONTAINS:
            matches = [
                c for c in columns if c not in taken and any(w in normalise(c) for w in _CONTAINS[role])
            ]
            if role == "rating":  # "is_rated", "rating_count" hold no ratings: numbers on a rating scale only
                matches = [c for c in matches if rating_like(column_values(rows, columns.index(c)))]
        if role == "item" and not matches and not reviews:
            matches = [c for c in columns if c not in taken and normalise(c) in ALIASES["title"]]
        if role == "title" and matches and reviews:
            notes.append(
                f"Column {matches[0]!r} is not read as the items' titles: beside {reviews[0]!r} it is the title of "
                "a review. Titles come from an items file."
            )
            matches = []
        if role == "timestamp" and matches:
            matches = _timely(matches, columns, rows, notes)
        if role in ("item", "rating") and len(matches) > 1:
            matches = _preferred(role, matches, notes)
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
            if (
                role == "rating"
                and mapping.get("user")
                and mapping.get("item")
                and not _numbers_left(columns, rows, taken)
            ):
                problems.append(_no_rating_problem(columns, rows, {}, {}))
            elif role in ("user", "item", "rating"):
                problems.append(
                    Message(
                        f"no {role} column found among {list(columns)}; choose one with ",
                        Arg(f"{role}_col"),
                        f", or name it {_HEADER_HINTS[role]} in the header.",
                    )
                )
    return mapping, problems, notes


def _numbers_left(columns: tuple[str, ...], rows: Sequence[list[str]], taken: set[str]) -> bool:
    """Whether a column not yet taken holds numbers that are not times (a rating could be among them)."""
    for i, column in enumerate(columns):
        values = column_values(rows, i)
        if column not in taken and _numbers(values) is not None and time_kind(values, named=False) is None:
            return True
    return False


def _timely(
    matches: list[str], columns: tuple[str, ...], rows: Sequence[list[str]], notes: list[str]
) -> list[str]:
    """Of the columns named like a time, the one holding the most precise plausible time (noted when
    there are several), and notes for those that hold no time."""
    kinds = {c: time_kind(column_values(rows, columns.index(c)), named=True) for c in matches}
    for column in (c for c in matches if kinds[c] is None):
        notes.append(
            f"Column {column!r} is not used as the timestamp: its values are not Unix time or dates between "
            f"{plausible_years()[0]} and {plausible_years()[1]}."
        )
    timely = [c for c in matches if kinds[c] is not None]
    if len(timely) <= 1:
        return timely
    best = min(timely, key=lambda c: TIME_KINDS.index(kinds[c]))  # type: ignore[arg-type]
    others = "; ".join(f"{c!r} ({kinds[c]})" for c in timely if c != best)
    notes.append(
        Message(
            f"Several columns hold times: {best!r} ({kinds[best]}) is used as the timestamp; also {others}. "
            "Choose another with ",
            Arg("timestamp_col"),
            ".",
        )
    )
    return [best]


def _preferred(role: str, matches: list[str], notes: list[str]) -> list[str]:
    """One of several item or rating names when one is plainly meant (noted), else all of them."""
    if role == "item":
        parents = [c for c in matches if normalise(c).startswith("parent")]
        if len(parents) == 1 and all(
            normalise(parents[0]).endswith(normalise(c)) for c in matches if c != parents[0]
        ):
            others = ", ".join(repr(c) for c in matches if c != parents[0])
            notes.append(
                Message(
                    f"Column {parents[0]!r} is used as the item (the product; {others} tells its variants apart, "
                    "as in Amazon's reviews). Choose another with ",
                    Arg("item_col"),
                    ".",
                )
            )
            return parents
        return matches
    tiers = [
        [c for c in matches if normalise(c) not in _THUMBS + _COUNTS],
        [c for c in matches if normalise(c) in _THUMBS],
        [c for c in matches if normalise(c) in _COUNTS],
    ]
    best = next(tier for tier in tiers if tier)
    if len(best) != 1:
        return best
    others = ", ".join(repr(c) for c in matches if c != best[0])
    kind = "a rating" if best is tiers[0] else "a thumbs up/down"
    notes.append(
        Message(
            f"Column {best[0]!r} is used as the rating ({kind}, the explicit signal); {others} left out "
            "(counts such as plays or hours are implicit feedback). Choose another with ",
            Arg("rating_col"),
            ".",
        )
    )
    return best


def _by_position(
    columns: tuple[str, ...],
    has_header: bool,
    rows: Sequence[list[str]],
    explicit: dict[str, Column],
    mapping: dict[str, str | None],
    taken: set[str],
    problems: list[str],
) -> tuple[dict[str, str | None], list[str], list[str]]:
    """Roles of a file without known names: user and item first (item first when the ids say so), the
    rating the first column that can be one, a timestamp any column holding times; all noted."""
    notes: list[str] = []
    interactions = explicit.get("rating") is False  # implicit="binary": (user, item[, time]) rows
    if len(columns) < (2 if interactions else 3):
        problems.append(
            Message(
                f"the file has no header and only {len(columns)} column(s); ratings need 3 (user, item, "
                "rating). Check the separator (",
                Arg("sep"),
                "), or add a header row such as userId,movieId,rating.",
            )
        )
        return {role: mapping.get(role) for role in ROLES}, problems, notes
    # a column of numbers is a time only from the third column on (ids come first); text dates anywhere
    kinds = {
        i: time_kind(values, named=False) if i >= 2 or _numbers(values) is None else None
        for i, values in ((i, column_values(rows, i)) for i in range(len(columns)))
    }
    free = [i for i in range(len(columns)) if columns[i] not in taken]
    untimed = [i for i in free if kinds[i] is None]
    full = [i for i in untimed if all(v.strip() for v in column_values(rows, i))]  # ids have no blanks
    ids = (full if len(full) >= 2 else untimed)[:2]
    positional: dict[str, int] = {}
    if any(explicit.get(role) not in (None, False) for role in ("user", "item", "rating")):
        # some columns chosen: the others by their plain positions only (user, item, rating, time), no guessing
        positional = {"user": 0, "item": 1}
        if not interactions:
            positional["rating"] = 2
        time_at = 2 if interactions else 3
        if len(columns) > time_at and kinds[time_at] is not None:
            positional["timestamp"] = time_at
        for role, position in positional.items():
            if mapping.get(role) is None and explicit.get(role) is None and columns[position] not in taken:
                mapping[role] = columns[position]
                taken.add(columns[position])
        for role in ("user", "item") if interactions else ("user", "item", "rating"):
            if mapping.get(role) is None and not problems:
                problems.append(
                    Message(f"no {role} column: choose one of {list(columns)} with ", Arg(f"{role}_col"), ".")
                )
        return {role: mapping.get(role) for role in ROLES}, problems, notes
    if len(ids) == 2:
        first, second = ids
        sides = (_id_side(column_values(rows, first)), _id_side(column_values(rows, second)))
        swap = sides in (("item", "user"), ("item", None), (None, "user"))
        positional = {"user": second, "item": first} if swap else {"user": first, "item": second}
    rest = [i for i in free if i not in positional.values()]
    if not interactions:
        numeric = [i for i in rest if kinds[i] is None and _numbers(column_values(rows, i)) is not None]
        can_rate = [i for i in numeric if rating_like(column_values(rows, i))]
        if can_rate:
            positional["rating"] = can_rate[0]
        elif numeric:
            positional["rating"] = numeric[0]
        elif rest and explicit.get("rating") is None and mapping.get("rating") is None:
            problems.append(_no_rating_problem(columns, rows, kinds, positional))
    timely = [i for i in rest if kinds[i] is not None and i not in positional.values()]
    if timely and explicit.get("timestamp") is None:
        positional["timestamp"] = min(timely, key=lambda i: TIME_KINDS.index(kinds[i]))  # type: ignore[arg-type]
    for role, position in positional.items():
        if mapping.get(role) is None and explicit.get(role) is None and columns[position] not in taken:
            mapping[role] = columns[position]
            taken.add(columns[position])
    for role in ("user", "item", "rating"):
        if role == "rating" and interactions:
            continue
        if mapping.get(role) is None and not problems:
            problems.append(
                Message(f"no {role} column: choose one of {list(columns)} with ", Arg(f"{role}_col"), ".")
            )
    plain = list(positional.values()) == list(range(len(columns)))  # u.data: user, item, rating[, time]
    if not problems and not (plain and not has_header):
        notes.append(
            _position_note(columns, has_header, mapping, positional, swap=positional.get("user", 0) != 0)
        )
    return {role: mapping.get(role) for role in ROLES}, problems, notes


def _position_note(
    columns: tuple[str, ...],
    has_header: bool,
    mapping: dict[str, str | None],
    positional: dict[str, int],
    swap: bool,
) -> Message:
    """Which column was taken for what, and which were left out."""
    used = [
        f"{role} = {mapping[role]!r}" for role in ("user", "item", "rating", "timestamp") if mapping.get(role)
    ]
    left = [c for c in columns if c not in mapping.values()]
    why = (
        "No column name is one we know (such as userId, movieId, rating), so the columns are taken by position "
        "and by their values"
        if has_header
        else "The file has no header, so the columns are taken by position and by their values"
    )
    order = " (the ids in the first column look like items, those in the second like users)" if swap else ""
    out = f"{why}: {', '.join(used)}{order}"
    out += f"; left out: {', '.join(map(repr, left))}." if left else "."
    return Message(
        out + " Check the guess (", Arg("user_col"), ", ", Arg("item_col"), ", ", Arg("rating_col"), ")."
    )


def _no_rating_problem(
    columns: tuple[str, ...],
    rows: Sequence[list[str]],
    kinds: dict[int, str | None],
    positional: dict[str, int],
) -> Message:
    """A file with ids (and times) but no column of numbers: a list of pairs or an event log."""
    has_time = any(kinds.values()) or any(
        time_kind(column_values(rows, i), named=True) not in (None, TIME_KINDS[4])
        for i in range(len(columns))
    )
    what = (
        "a log of events (user, time, item per line, such as a listening log)"
        if has_time
        else "a list of (user, item) pairs"
    )
    return Message(
        f"no rating column found: none of its {len(columns)} columns holds numbers that could be "
        "ratings, so the data looks like "
        f"{what}, not ratings. Read each (user, item) pair as one interaction (implicit feedback) with ",
        Arg("implicit", '"binary"'),
        " and train a ranking model, or count the events per pair into plays with ",
        Arg("implicit", '"log1p"'),
        ". Choose the item column with ",
        Arg("item_col"),
        ".",
    )
