"""The app's wording of library messages: each argument a message names becomes the control that sets it.

`collab` writes one message per problem (`collab.data.Message`), naming its arguments
(`rating_col=...`); pages show `say(error)`, which names the select boxes and sliders instead.
"""

from __future__ import annotations

from collab.data import worded
from ui import text

CONTROLS: dict[str, str] = {
    "user_col": "the **User column** box",
    "item_col": "the **Item column** box",
    "rating_col": "the **Rating column** box",
    "timestamp_col": "the **Timestamp column** box (choose (none))",
    "title_col": "the column boxes",
    "sep": "the **Separator** box",
    "decimal": "the **Decimal mark** box",
    "has_header": "the **Header row** box",
    "day_first": "the **Date order** box",
    "layout": "the **Layout** box (under Reading options)",
    "not_rated": "the **Not-rated values to drop** box, then load again",
    "implicit": "the **Counts (implicit feedback)** box, then load again",
    "id_col": "the **Items id column** box",
    "max_rows": "a smaller file",
    "valid_pct": "the **Validation share** slider",
    "method": 'the **Split** box to "A share of each user\'s ratings"',  # only ever advised as by_user
}


def say(message: object) -> str:
    """A library message (str, `Message` or `DataError`) in the app's words, its text shown literally
    (Markdown-escaped: it quotes ids and column names from the file); the controls' names stay bold."""
    return worded(message, CONTROLS, _escape)


def _escape(part: str) -> str:
    """`text.md` of one part of a message, keeping the spaces that join it to the next part."""
    core = part.strip()
    if not core:
        return " " if part else ""
    return part[: len(part) - len(part.lstrip())] + text.md(core) + part[len(part.rstrip()) :]


def sentence(prefix: str, message: object) -> str:
    """`prefix` followed by `say(message)`, the message's first letter capitalised when the prefix ends a
    sentence ("**Could not load x.csv.** The user and ..."); library messages start in lower case so that
    they can follow "file.csv: "."""
    said = say(message)
    if prefix.rstrip("*_) ").endswith((".", "!", "?")):
        said = capitalised(said)
    return f"{prefix} {said}" if prefix else capitalised(said)


def capitalised(said: str) -> str:
    """`said` with its first letter upper-cased, skipping Markdown marks (`**`, `\\`) before it."""
    for i, char in enumerate(said):
        if char.isalnum():
            return said[:i] + char.upper() + said[i + 1 :]
        if char not in "*_\\'\"( ":
            return said
    return said
