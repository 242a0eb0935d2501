"""Where a ratings or items file comes from: a path or an in-memory upload, its size, its first bytes
and its text encoding, and the Parquet/JSON tables read as frames. Nothing here guesses columns."""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Literal

import pandas as pd

from collab.data import guards
from collab.data.errors import Arg, DataError, Message

# The largest upload the app accepts under its default 1 GB memory budget (ui/budget.py), in MB of 10**6
# bytes (the browser's unit for an uploader's limit; Streamlit's endpoint counts server.maxUploadSize in
# MiB, and the app refuses what lies between before parsing). The library itself limits a file only when
# `max_mb` is given: the server checks an upload against its budget before it parses it.
MAX_UPLOAD_MB = 7  # three students at once each with the worst case of its size (short lines): issue 24

Source = str | os.PathLike | bytes | IO[bytes] | IO[str]
Column = str | int | Literal[False] | None  # a name, a 0-based position, False for "none", None to detect

_HEAD_BYTES = 64 * 1024
# What pandas reads as missing by default; id columns use only "" (an id "NA" is an id).
_NA_TEXT = sorted(pd.io.parsers.readers.STR_NA_VALUES)
SEP_NAMES = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", "::": "'::'", r"\s+": "whitespace"}
_BINARY_MAGIC = {
    b"PK\x03\x04": "a zip archive (or .xlsx); extract it, or export the sheet as CSV",
    b"\x1f\x8b": "gzip-compressed; decompress it first",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) file; export it as CSV",
}
# Excel's "Unicode Text" export is UTF-16 with a byte-order mark: the mark says the encoding
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class Input:
    """A path or an in-memory upload, with its size, a name and the first bytes."""

    def __init__(self, source: Source, max_mb: float | None) -> None:
        self.path: str | None = None
        self.data: bytes | None = None
        self.buffer = source
        self.notes: tuple[str, ...] = ()  # what reading the bytes did (a UTF-16 file transcoded)
        if isinstance(source, str | os.PathLike):
            self.path = os.fspath(source)
            if os.path.isdir(self.path):
                raise DataError(
                    f"{self.path} is a folder, not a ratings file. Give the file inside it (e.g. "
                    f"{Path(self.path) / 'ratings.csv'}), or load_movielens_dir for a MovieLens folder; the "
                    "command line (collab train) and collab.training.distributed.read_any read a folder of "
                    "part files (part-*.parquet, *.csv)."
                )
            if not os.path.isfile(self.path):
                raise DataError(f"no such file: {self.path}. Check the path.")
            self.size = os.path.getsize(self.path)
            self.name = Path(self.path).stem
            if max_mb is not None:
                _check_size(self.size, max_mb)
            self._utf16()
            return
        if max_mb is not None:  # the app checks an upload against its memory budget before this
            _check_size(_buffer_size(source), max_mb)
        self.name = Path(str(getattr(source, "name", "") or "ratings")).stem
        if callable(getattr(source, "getbuffer", None)):  # BytesIO (and Streamlit uploads)
            # getvalue() hands out the bytes a BytesIO was made from; getbuffer() would copy them first
            self.data = source.getvalue()  # type: ignore[union-attr]
            self.size = len(self.data)
        else:
            self.size = len(self.bytes())
        self._utf16()

    def _utf16(self) -> None:
        """UTF-16 text with a byte-order mark (Excel's "Unicode Text") becomes UTF-8 in memory, once."""
        head = self.head()[:2]
        if head not in _UTF16_BOMS:
            return
        raw = Path(self.path).read_bytes() if self.path is not None else self.bytes()
        try:
            text = raw.decode("utf-16")  # the BOM gives the byte order
        except UnicodeDecodeError as error:
            raise DataError(
                f"the file starts as UTF-16 text (its byte-order mark says so) but byte {error.start:,} is not "
                "UTF-16. Export it again, as CSV UTF-8 or as Unicode Text."
            ) from error
        self.data = text.encode("utf-8")
        self.path = None
        self.size = len(self.data)
        order = "little" if head == codecs.BOM_UTF16_LE else "big"
        self.notes = (
            f"Read as UTF-16 text ({order}-endian, as its byte-order mark says: Excel's Unicode Text).",
        )

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


def decode_head(head: bytes) -> tuple[str, str]:
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


def read_table(source: Input, kind: str, nrows: int | None = None) -> pd.DataFrame:
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


def parse_text(
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
        return parse_text(handle, sep, has_header, columns, "latin-1", nrows, text_cols, decimal)
    except pd.errors.EmptyDataError as error:
        raise DataError(
            "the file is empty: no lines to read. Choose a file with one rating per line."
        ) from error
    except (pd.errors.ParserError, ValueError) as error:
        found = re.search(r"line (\d+)", str(error))
        where = f" (first: line {found.group(1)})" if found else ""
        raise DataError(
            Message(
                f"could not split the file into columns with the {SEP_NAMES.get(sep, repr(sep))} separator{where}: "
                f"{str(error).strip().splitlines()[-1]}. Check the separator (",
                Arg("sep"),
                "), and quote fields that contain it.",
            )
        ) from error
