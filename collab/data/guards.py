"""Guards at the edges: hostile text coming in (NUL bytes, giant fields) and spreadsheet formulas going out.

`check_text` scans a whole file in chunks (not only the part the sniffer saw) so a NUL byte or a
100 MB "id" is refused before any parser keeps it. `neutralise_formulas` / `safe_cell` are the
usual guard for CSV/TSV exports (OWASP "CSV injection"): a text cell starting with `=`, `+`, `-`,
`@`, tab or carriage return gets a leading apostrophe so a spreadsheet shows it instead of running
it; numbers, and text that is a plain number ("-1.5"), are left as they are.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from collab.data.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

MAX_FIELD_BYTES = 1024  # an id, a rating, a timestamp or a title is far shorter than this
CHUNK_BYTES = 8 * 2**20
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Unicode's bidirectional controls: shown as they are, an id or title holding U+202E displays its end
# reversed ("x\u202eexe.txt" reads "xtxt.exe"), so text from data shows them as their code instead
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


TEXT_WASTE = 2  # a fixed-width text array may take this many times its texts' own bytes, else object
TEXT_SLACK_BYTES = 2**20  # and always this much (small arrays stay fixed-width)


def text_array(values: object) -> np.ndarray:
    """Texts (labels, titles) as a 1-d numpy array in which one long value costs its own length.

    numpy's fixed-width text (`<U`) stores every entry as wide as the longest: 100,000 ids with one of
    1,000 characters take 400 MB. Such arrays are stored as `object` arrays of `str` instead (each
    value its own size); arrays whose width wastes little (the usual case) stay `<U`, which numpy's
    string functions and fast comparisons need. An existing `<U` or `object` array is returned as it
    is (an object array when it holds only `str`); anything else is converted with `str()` per value.
    Memory: the texts once more, never `n x longest` beyond `TEXT_WASTE` times the texts.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind == "U":
        return values
    if isinstance(values, np.ndarray) and values.dtype == object and values.ndim == 1 and _all_str(values):
        texts = values
    else:
        import pandas as pd

        series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object))
        texts = series.astype(str).to_numpy(dtype=object)
    if len(texts) == 0:
        return np.zeros(0, dtype="<U1")
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    fixed = len(texts) * int(lengths.max()) * 4
    if fixed <= TEXT_WASTE * int(lengths.sum()) * 4 + TEXT_SLACK_BYTES:
        return texts.astype(str)
    return texts


def as_text(values: object) -> np.ndarray:
    """`values` as text for matching or display without widening: `<U` and `object` arrays as they are,
    anything else through `text_array`. Use instead of `np.asarray(x).astype(str)` on labels and titles."""
    if (
        isinstance(values, np.ndarray)
        and values.ndim == 1
        and (values.dtype.kind == "U" or (values.dtype == object and _all_str(values)))
    ):
        return values
    return text_array(values)


def _all_str(values: np.ndarray) -> bool:
    return all(type(value) is str for value in values)


def visible_controls(text: str) -> str:
    """`text` with each bidirectional control character written as its code point, e.g. "[U+202E]"."""
    return BIDI_CONTROLS.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


def chunks_of(source: bytes | memoryview | str | os.PathLike, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """A file's bytes (a path) or a buffer's, `size` bytes at a time."""
    if isinstance(source, bytes | memoryview):
        for start in range(0, len(source), size):
            yield bytes(source[start : start + size])
        return
    with open(source, "rb") as file:
        while block := file.read(size):
            yield block


def nul_byte_error(line: int) -> DataError:
    """The message for a NUL byte (binary data, not a text export) on `line` (1-based)."""
    return DataError(
        f"the file is not text: it has a NUL byte on line {line:,}. Export the data as a CSV or TSV text file."
    )


def check_text(chunks: Iterable[bytes], sep: str, max_field: int = MAX_FIELD_BYTES) -> None:
    """Raise `DataError` at the first NUL byte or field longer than `max_field` bytes, naming its line.

    Fields are split on the separator's bytes and newlines only (quotes are ignored, so a quoted
    field holding separators counts as several shorter ones: never a false alarm). Memory: one chunk.
    """
    boundary = np.zeros(256, dtype=bool)  # byte value -> ends a field
    boundary[[10, 13]] = True
    for char in {" ", "\t"} if sep == r"\s+" else set(sep):
        boundary[ord(char)] = True
    line = 1  # line number at the start of the chunk
    run = 0  # length of the field open at the end of the previous chunk
    for chunk in chunks:
        nul = chunk.find(b"\x00")
        if nul >= 0:
            where = line + chunk.count(b"\n", 0, nul)
            raise nul_byte_error(where)
        codes = np.frombuffer(chunk, dtype=np.uint8)
        ends = np.flatnonzero(boundary[codes])  # (n_boundaries,) positions in this chunk
        if len(ends) == 0:
            run += len(chunk)
        else:
            lengths = np.diff(ends) - 1
            longest = int(lengths.max()) if len(lengths) else 0
            first = run + int(ends[0])
            if first > max_field or longest > max_field:
                at = int(ends[0]) if first > max_field else int(ends[1 + int(np.argmax(lengths))])
                where = line + chunk.count(b"\n", 0, at)
                length = first if first > max_field else longest
                _too_long(length, where, max_field)
            run = len(chunk) - 1 - int(ends[-1])
        if run > max_field:
            _too_long(run, line + chunk.count(b"\n"), max_field)
        line += chunk.count(b"\n")


def _too_long(length: int, line: int, max_field: int) -> None:
    raise DataError(
        f"a field on line {line:,} is {length:,} bytes long, more than {max_field:,}: ids, ratings and "
        "titles are short, so this is not a ratings table (or a quote is never closed). "
        "Check the separator and the quoting."
    )


def is_float_text(text: str) -> bool:
    """Whether `float(text)` reads it (4, -1, 3.5, 1e3, nan; not a decimal comma)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def safe_cell(value: object) -> object:
    """`value`, or `"'" + value` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not is_float_text(value):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells (and column names) cannot start a spreadsheet formula."""
    import pandas as pd

    frame = frame.copy()
    for column in frame.columns:
        dtype = frame[column].dtype
        if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype) or dtype == "category":
            frame[column] = frame[column].astype(object).map(safe_cell)
    frame.columns = [safe_cell(str(name)) if isinstance(name, str) else name for name in frame.columns]
    return frame
