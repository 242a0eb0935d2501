"""Text from data (ids, titles, file names) shown as text: the one escaping helper for Markdown.

Streamlit renders labels, captions, headers and messages as Markdown, so a user id like
`![x](http://host/x.png)` would load a remote image and `[click](http://host)` would be a link.
`md` backslash-escapes what Markdown (and Streamlit's `:color[...]`, `:material/icon:` and
`$math$` extensions) gives a meaning, so the text shows exactly as it is in the file. Characters
that only mean something at the start of a line (`#`, `-`, `+`, `1.`) are escaped there only, so
"Built-in demo set" stays readable in the page's source and in tests. Bidirectional control
characters (U+202E and kin, which make "x\u202eexe.txt" read "xtxt.exe") are shown as their code, in
text (`md`) and in tables (`table`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from collab.data.guards import BIDI_CONTROLS, visible_controls

if TYPE_CHECKING:
    import pandas as pd

# (":" before a letter starts :material/icon: and :red[...]; "://", "www." and "@" make GFM autolinks)
# ("_" inside a word, as in my_ratings.csv, never makes emphasis, so it stays as it is)
_ANYWHERE = re.compile(
    r"[\\`*\[\]<>!|~$@]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|:(?=[A-Za-z/])|&(?=[#A-Za-z])|(?<=www)\.",
    re.IGNORECASE,
)
_LEADING = re.compile(r"^(\s*)([#>+\-=]|\d+(?=[.)]))")


WORD_JOINER = "\u2060"  # invisible, zero width: what keeps a URL in data from becoming a link


def _escape(match: re.Match[str]) -> str:
    """A backslash before a Markdown character; before the parts of a URL or an e-mail address (the
    `:` of `://`, the `.` of `www.`, any `@`) also a word joiner, and one after a `:` that starts a
    word (`:material/icon:`, `:red[...]`). Streamlit turns URLs and addresses
    in text into links whether or not their characters are backslash-escaped (checked in Chromium);
    the invisible joiner is what stops it, and the text still reads the same."""
    char = match.group(0)
    if char == ":" and match.string[match.end() : match.end() + 1].isalpha():
        # `:material/home:` is drawn as an icon even as `\:material/home:`; a joiner after the colon stops it
        return "\\:" + WORD_JOINER
    url_part = char in "@." or (char == ":" and match.string.startswith("//", match.end()))
    return (WORD_JOINER if url_part else "") + "\\" + char


def md(value: object, limit: int | None = None) -> str:
    """`value` as Markdown that renders literally (one line: newlines become spaces); with `limit`, at
    most that many characters of it (then "…"): for values quoted from a link or a file."""
    flat = visible_controls(" ".join(str(value).split()))  # U+202E and kin shown, never obeyed
    if limit is not None and len(flat) > limit:
        flat = flat[: max(limit - 1, 0)] + "…"
    escaped = _ANYWHERE.sub(_escape, flat)
    return _LEADING.sub(_escape_leading, escaped, count=1)


def _escape_leading(match: re.Match[str]) -> str:
    space, mark = match.group(1), match.group(2)
    return f"{space}{mark}\\" if mark.isdigit() else f"{space}\\{mark}"  # "1\." and "\#"


def table(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` for `st.dataframe`: its text cells and column names (ids, titles, file names from data) with
    bidirectional controls shown as their code, as `md` does. A frame without any is returned as it is."""
    import pandas as pd

    texts = [
        c
        for c in frame.columns
        if pd.api.types.is_object_dtype(frame[c].dtype) or pd.api.types.is_string_dtype(frame[c].dtype)
    ]
    dirty = [c for c in texts if frame[c].astype(str).str.contains(BIDI_CONTROLS).any()]
    names_dirty = any(isinstance(c, str) and BIDI_CONTROLS.search(c) for c in frame.columns)
    if not dirty and not names_dirty:
        return frame
    frame = frame.copy()
    for column in dirty:
        frame[column] = frame[column].map(lambda v: visible_controls(v) if isinstance(v, str) else v)
    frame.columns = [visible_controls(c) if isinstance(c, str) else c for c in frame.columns]
    return frame
