"""Readers (sniffing, ratings, items, MovieLens folders), their error messages, and the demo set."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collab.data import read as sources
from collab.data.demo import DemoTruth, demo_ratings
from collab.data.errors import DataError
from collab.data.items import read_items
from collab.data.movielens import load_movielens_dir
from collab.data.ratings import MAX_RATINGS
from collab.data.read import read_ratings
from collab.data.sniff import sniff_ratings
from collab.data.source import MAX_UPLOAD_MB

# u.item lines: id|title|release|video release|url|19 genre flags (latin-1 on disk).
U_ITEM = (
    "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
    "2|Misérables, Les (1995)|01-Jan-1995||http://x|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|1|0\n"
    "3|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
)
U_DATA = "1\t1\t5\t881250949\n1\t2\t3\t881250950\n2\t1\t4\t881250951\n2\t3\t1\t881250952\n"


# ---- sniffing -----------------------------------------------------------------------------------

SNIFF_CASES = [
    (
        "csv header",
        b"userId,movieId,rating,timestamp\n1,10,4.0,9\n2,11,3.5,8\n",
        ",",
        True,
        ("userId", "movieId", "rating", "timestamp"),
    ),
    ("tsv no header", U_DATA.encode(), "\t", False, ("column 1", "column 2", "column 3", "column 4")),
    (
        "'::' no header",
        b"1::10::4::978300760\n2::11::3::978302109\n",
        "::",
        False,
        ("column 1", "column 2", "column 3", "column 4"),
    ),
    (
        "semicolon",
        b"user_id;item_id;score\nann;x;4\nbob;y;3\n",
        ";",
        True,
        ("user_id", "item_id", "score", None),
    ),
    ("pipe", b"user|item|stars\n1|2|3\n2|3|4\n", "|", True, ("user", "item", "stars", None)),
    ("spaces", b"1 10 4\n2 11 3\n", r"\s+", False, ("column 1", "column 2", "column 3", None)),
    # a header in no language we know: text above numbers, so the columns are taken by position
    ("short header names", b"u,i,r\n1,2,3\n2,3,4\n", ",", True, ("u", "i", "r", None)),
]


@pytest.mark.parametrize(
    ("data", "sep", "has_header", "roles"), [c[1:] for c in SNIFF_CASES], ids=[c[0] for c in SNIFF_CASES]
)
def test_sniff_detects_separator_header_and_roles(
    data: bytes, sep: str, has_header: bool, roles: tuple
) -> None:
    sniff = sniff_ratings(io.BytesIO(data))
    assert (sniff.sep, sniff.has_header) == (sep, has_header)
    assert (sniff.user_col, sniff.item_col, sniff.rating_col, sniff.timestamp_col) == roles
    assert sniff.ok == (roles[2] is not None)
    assert len(sniff.preview) == len(data.splitlines()) - has_header
    assert sniff.preview.shape[1] == len(sniff.columns) and sniff.preview.iloc[:, -1].notna().all()


def test_sniff_reports_problems_without_raising_and_accepts_corrections() -> None:
    data = b"u,i,stars\n1,2,3\n2,3,4\n"  # one known name: the others are not guessed by position
    sniff = sniff_ratings(io.BytesIO(data))
    assert not sniff.ok and any("no user column" in p for p in sniff.problems)
    fixed = sniff_ratings(io.BytesIO(data), user_col="u", item_col="i", rating_col="stars")
    assert fixed.ok and (fixed.user_col, fixed.item_col, fixed.rating_col) == ("u", "i", "stars")
    assert sniff.preview.columns.tolist() == ["u", "i", "stars"]


def test_columns_can_be_switched_off_or_chosen_by_position() -> None:
    data = b"1,10,4,978300100\n2,10,3,978300200\n2,11,5,978300300\n"
    assert read_ratings(data, timestamp_col=False).timestamps is None
    sniff = sniff_ratings(data, user_col=1)
    assert sniff.user_col == "column 2" and not sniff.ok
    assert "no item column: choose one of" in sniff.problems[0]
    swapped = read_ratings(data, user_col=1, item_col=0)
    assert swapped.user_labels.tolist() == ["10", "11"] and swapped.timestamps is not None


def test_sniff_leaves_an_upload_buffer_readable() -> None:
    buffer = io.BytesIO(b"user,item,rating\n1,2,3\n2,3,4\n")
    sniff_ratings(buffer)
    assert read_ratings(buffer).n_ratings == 2


# ---- reading ratings ----------------------------------------------------------------------------


def test_read_csv_with_header_and_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "ratings.csv"
    path.write_text("userId,movieId,rating,timestamp\n1,10,4.0,100\n2,10,3.5,200\n2,11,5,300\n")
    ratings = read_ratings(path)
    assert ratings.name == "ratings"
    assert ratings.user_labels.tolist() == ["1", "2"] and ratings.item_labels.tolist() == ["10", "11"]
    assert ratings.ratings.tolist() == [4.0, 3.5, 5.0]
    assert ratings.timestamps.tolist() == [100, 200, 300]


def test_read_movielens_dat_and_tsv_formats() -> None:
    dat = read_ratings(b"1::10::4::978300100\n2::10::3::978300200\n2::11::5::978300300\n")
    tsv = read_ratings(b"1\t10\t4\t978300100\n2\t10\t3\t978300200\n2\t11\t5\t978300300\n")
    for ratings in (dat, tsv):
        assert ratings.item_labels.tolist() == ["10", "11"]
        assert ratings.timestamps.tolist() == [978300100, 978300200, 978300300]


def test_explicit_columns_by_name_or_position_win_over_detection() -> None:
    data = b"when,who,what,stars,score\n5,ann,x,4,1\n6,bob,y,2,2\n7,bob,x,5,3\n"
    by_name = read_ratings(data, user_col="who", item_col="what", rating_col="stars", timestamp_col="when")
    by_position = read_ratings(data, 1, 2, 3, 0)
    for ratings in (by_name, by_position):
        assert ratings.user_labels.tolist() == ["ann", "bob"] and ratings.ratings.tolist() == [4.0, 2.0, 5.0]
        assert ratings.timestamps.tolist() == [5, 6, 7]


def test_titles_in_the_ratings_file_are_attached() -> None:
    data = b'userId,movieId,title,rating\n1,10,"Heat, The (1995)",4\n2,11,Up (2009),3\n2,10,"Heat, The (1995)",2\n'
    ratings = read_ratings(data)
    assert ratings.item_labels.tolist() == ["10", "11"]
    assert ratings.titles.tolist() == ["Heat, The (1995)", "Up (2009)"]


def test_a_title_column_alone_serves_as_the_item() -> None:
    ratings = read_ratings(b'user,title,rating\n1,"Heat, The (1995)",4\n2,Up,3\n')
    assert ratings.item_labels.tolist() == ["Heat, The (1995)", "Up"] and ratings.titles is None


def test_latin1_files_are_decoded() -> None:
    data = "user,item,rating\nJosé,Misérables,4\nAnn,Up,3\n".encode("latin-1")
    assert read_ratings(data).item_labels.tolist() == ["Misérables", "Up"]


def test_utf8_with_bom_and_windows_line_endings() -> None:
    data = "\ufeffuser,item,rating\r\nJosé,Misérables,4\r\nAnn,Up,3\r\n".encode()
    ratings = read_ratings(data)
    assert ratings.user_labels.tolist() == ["Ann", "José"] and ratings.ratings.tolist() == [4.0, 3.0]


def test_items_argument_attaches_titles_and_genres(tmp_path: Path) -> None:
    (tmp_path / "u.item").write_bytes(U_ITEM.encode("latin-1"))
    ratings = read_ratings(U_DATA.encode(), items=tmp_path / "u.item")
    assert ratings.titles.tolist() == ["Toy Story (1995)", "Misérables, Les (1995)", "unknown"]
    assert ratings.genres[2] == ("unknown",)


def test_blank_lines_are_skipped_and_line_numbers_stay_true() -> None:
    assert read_ratings(b"user,item,rating\n1,2,3\n\n2,3,4\n\n").n_ratings == 2
    with pytest.raises(DataError, match="'x' on line 5"):
        read_ratings(b"user,item,rating\n1,2,3\n\n2,3,4\n2,2,x\n")


# ---- ids keep their text ------------------------------------------------------------------------

ID_CASES = [
    ("leading zeros", ["007", "7", "0042", "42"], ["0042", "007", "42", "7"]),
    ("mixed text and numbers", ["10", "9", "ann", "B7"], ["10", "9", "B7", "ann"]),
    ("float-looking", ["1e3", "1000", "1.0", "1.50"], ["1.0", "1.50", "1000", "1e3"]),
    ("NA-looking", ["NA", "null", "1"], ["1", "NA", "null"]),
    ("plain integers", ["10", "9", "100"], ["9", "10", "100"]),
]


@pytest.mark.parametrize("blank_line", [False, True], ids=["fast read", "careful read"])
@pytest.mark.parametrize(("ids", "expected"), [c[1:] for c in ID_CASES], ids=[c[0] for c in ID_CASES])
def test_ids_keep_the_text_of_the_file(ids: list[str], expected: list[str], blank_line: bool) -> None:
    rows = [f"{label},{label},{n % 5 + 1}\n" for n, label in enumerate(ids)]
    if blank_line:  # a blank line sends the file through the C parser instead of pyarrow
        rows.insert(1, "\n")
    ratings = read_ratings(("user,item,rating\n" + "".join(rows)).encode())
    assert ratings.user_labels.tolist() == expected and ratings.item_labels.tolist() == expected
    assert ratings.user_labels[ratings.user_ids].tolist() == ids


@pytest.mark.parametrize("late_id", ["007", "x9", "9999999999"], ids=["leading zero", "text", "beyond int32"])
def test_an_id_far_into_a_big_file_reads_as_the_careful_read_does(
    late_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [f"{n % 997},{n % 89},{n % 5 + 1}\n" for n in range(200_000)]  # 1.8 MB: pyarrow reads it in blocks
    rows[-1] = f"{late_id},{late_id},3\n"
    careful = read_ratings(("user,item,rating\n" + "".join(rows) + "\n").encode())  # a blank line: C parser

    def no_careful_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("the clean file went through the C parser")

    monkeypatch.setattr(sources, "_read_ratings_c", no_careful_read)
    # max_rows of 200,000 is fewer than the file's bytes / 4: a size that used to skip pyarrow
    fast = read_ratings(("user,item,rating\n" + "".join(rows)).encode(), max_rows=len(rows))
    assert late_id in fast.user_labels.tolist() and late_id in fast.item_labels.tolist()
    assert fast.fingerprint == careful.fingerprint and fast.notes == careful.notes
    assert fast.user_labels.tolist() == careful.user_labels.tolist()


@pytest.mark.parametrize(
    "data",
    [b"1\t007\t4\n2\t7\t3\n", b"1::007::4\n2::7::3\n", b"user;item;rating\n1;007;4\n2;7;3\n"],
    ids=["tsv", "dat", "semicolon"],
)
def test_every_format_keeps_leading_zeros(data: bytes) -> None:
    assert read_ratings(data).item_labels.tolist() == ["007", "7"]


def test_spaces_around_ids_are_layout_not_text() -> None:
    ratings = read_ratings(b"user, item, rating\n1, 007, 4\n2, 7, 3\n2 ,007 ,5\n")
    assert ratings.user_labels.tolist() == ["1", "2"] and ratings.item_labels.tolist() == ["007", "7"]


def test_the_preview_shows_ids_as_written() -> None:
    sniff = sniff_ratings(b"user,item,rating\n007,1e3,4\n7,1000,3\n")
    assert sniff.preview["user"].tolist() == ["007", "7"] and sniff.preview["item"].tolist() == [
        "1e3",
        "1000",
    ]


@pytest.mark.parametrize(
    "items",
    [
        b"movieId,title,genres\n007,Bond (1962),Action\n7,Seven (1995),Crime\n1e3,Kilo (2000),\n",
        b"007::Bond (1962)::Action\n7::Seven (1995)::Crime\n1e3::Kilo (2000)::\n",
    ],
    ids=["movies.csv", "movies.dat"],
)
def test_items_join_on_the_ids_text(items: bytes) -> None:
    ratings = read_ratings(b"userId,movieId,rating\n1,007,4\n1,7,3\n2,1e3,5\n", items=items)
    assert ratings.item_labels.tolist() == ["007", "1e3", "7"]
    assert ratings.titles.tolist() == ["Bond (1962)", "Kilo (2000)", "Seven (1995)"]
    assert ratings.genres[0] == ("Action",) and not ratings.notes


def test_movielens_numeric_ids_join_their_items(tmp_path: Path) -> None:
    (tmp_path / "u.item").write_bytes(U_ITEM.encode("latin-1"))
    ratings = read_ratings(U_DATA.encode(), items=tmp_path / "u.item")
    assert ratings.item_labels.tolist() == ["1", "2", "3"] and all(ratings.titles) and not ratings.notes


numberish = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(str),
    st.integers(min_value=0, max_value=999).map(lambda n: f"{n:04d}"),  # leading zeros
    st.from_regex(r"-?[0-9]{1,3}(\.[0-9]{1,2})?(e[+-]?[0-9])?", fullmatch=True),  # floats, exponents, signs
    st.sampled_from(["NA", "nan", "null", "None", "+1", "1_000", "0x1F"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(numberish, numberish, st.sampled_from([1.0, 2.0, 3.5, 5.0])),
        min_size=2,
        max_size=25,
        unique_by=lambda row: (row[0], row[1]),
    ),
    sep=st.sampled_from([",", "\t", "::"]),
)
def test_number_like_ids_round_trip_as_text(rows: list[tuple[str, str, float]], sep: str) -> None:
    users, items = {r[0] for r in rows}, {r[1] for r in rows}
    if len(users) < 2 or len(items) < 2 or len({r[2] for r in rows}) < 2:
        return  # invalid by design: covered by the error table
    body = "".join(f"{u}{sep}{i}{sep}{r}\n" for u, i, r in rows)
    fast = read_ratings(f"user{sep}item{sep}rating\n{body}".encode())
    careful = read_ratings(f"user{sep}item{sep}rating\n\n{body}".encode())  # blank line: the C parser
    for ratings in (fast, careful):
        pairs = zip(ratings.user_labels[ratings.user_ids], ratings.item_labels[ratings.item_ids], strict=True)
        assert sorted((str(u), str(i)) for u, i in pairs) == sorted((u, i) for u, i, _ in rows)
        for labels, wanted in ((ratings.user_labels, users), (ratings.item_labels, items)):
            plain = all(re.fullmatch("0|[1-9][0-9]*", label) for label in wanted)
            assert labels.tolist() == sorted(wanted, key=int if plain else None)
    assert fast.fingerprint == careful.fingerprint


# ---- bad input: one table, asserting on the message ---------------------------------------------

BAD_FILES = [
    ("empty file", b"", {}, ["the file is empty"]),
    ("whitespace only", b"\n\n  \n", {}, ["the file is empty"]),
    ("header without rows", b"user,item,rating\n", {}, ["no ratings", "header but no rows"]),
    (
        "no header, two columns",
        b"1,2\n3,4\n",
        {},
        ["no header and only 2 column(s)", "need 3", "add a header row"],
    ),
    (
        "missing rating column",
        b"user,movie,foo\n1,2,3\n",
        {},
        ["no rating column found", "'foo'", "rating_col=", "rating, score or stars"],
    ),
    (
        "ambiguous user",
        b"user,user_id,item,rating\n1,1,2,3\n",
        {},
        ["ambiguous user column", "'user', 'user_id'", "user_col="],
    ),
    (
        "one column, two roles",
        b"user,item,rating\n1,2,3\n",
        {"user_col": "user", "item_col": "user"},
        ["the user and item columns are both 'user'", "choose different columns"],
    ),
    (
        "unknown explicit column",
        b"user,item,rating\n1,2,3\n",
        {"rating_col": "stars"},
        ["rating column 'stars' not found"],
    ),
    (
        "non-numeric ratings",
        b"user,item,rating\n1,2,3\n1,3,five\n2,3,4\n2,4,n/a?\n",
        {},
        ["column 'rating' has 2 non-numeric ratings", "'five' on line 3", "Use numbers"],
    ),
    (
        "empty cell",
        b"user,item,rating\n1,2,3\n1,,4\n2,3,4\n",
        {},
        ["column 'item' has 1 empty or NaN cells", "line 3", "Fill them in"],
    ),
    (
        "NaN rating",
        b"user,item,rating\n1,2,3\n1,3,NaN\n2,3,4\n",
        {},
        ["column 'rating' has 1 empty or NaN", "line 3"],
    ),
    ("all ratings equal", b"user,item,rating\n1,2,3\n1,3,3\n2,3,3\n", {}, ["same value (3) in all 3 rows"]),
    (
        "duplicates refused",
        b"user,item,rating\n1,2,3\n1,3,4\n1,2,5\n2,3,1\n",
        {"duplicates": "error"},
        ["1 duplicate (user, item) rows", "line 2", "user '1', item '2'"],
    ),
    ("single user", b"user,item,rating\n1,2,3\n1,3,4\n", {}, ["column 'user' has a single user ('1')"]),
    ("single item", b"user,item,rating\n1,2,3\n2,2,4\n", {}, ["column 'item' has a single item ('2')"]),
    (
        "too many rows",
        b"user,item,rating\n1,2,3\n1,3,4\n2,3,5\n",
        {"max_rows": 2},
        ["more than 2 rows (the size limit)"],
    ),
    (
        "too many megabytes",
        b"user,item,rating\n" + b"1,2,3\n" * 400_000,
        {"max_mb": 1},
        ["2.3 MB, more than the size limit of 1 MB"],
    ),
    (
        "ragged line",
        b"user,item,rating\n1,2,3\n1,2,3,4,5\n",
        {},
        ["could not split", "comma separator", "line 3", "saw 5"],
    ),
    ("zip upload", b"PK\x03\x04\x14\x00rest", {}, ["not text", "zip archive"]),
    ("binary bytes", b"user,item\x00,rating\n1,2,3\n", {}, ["not text", "NUL byte on line 1"]),
    ("UTF-16 header only", "user,item,rating\n".encode("utf-16"), {}, ["no ratings", "header but no rows"]),
]


@pytest.mark.parametrize(
    ("data", "options", "expected"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_bad_files_raise_a_message_naming_the_problem(
    data: bytes, options: dict, expected: list[str]
) -> None:
    with pytest.raises(DataError) as caught:
        read_ratings(io.BytesIO(data), **options)
    for text in expected:
        assert text in str(caught.value)


def test_duplicates_are_dropped_by_default_and_noted() -> None:
    ratings = read_ratings(b"user,item,rating\n1,2,3\n1,3,4\n1,2,5\n2,3,1\n")
    assert ratings.ratings.tolist() == [4.0, 5.0, 1.0]
    assert "1 duplicate (user, item) rows" in ratings.notes[0] and "line 2" in ratings.notes[0]


def test_size_limits_are_exported_and_max_mb_refuses_before_parsing() -> None:
    from ui import budget

    # the app's default budget accepts exactly this (its Data page checks an upload before parsing it)
    assert MAX_RATINGS >= 25_000_000 and MAX_UPLOAD_MB == budget.Budget().upload_mb >= 5

    class Upload(io.BytesIO):  # Streamlit's UploadedFile says its size; the body is never parsed
        size = 2 * 2**20 + 1

    with pytest.raises(DataError, match="more than the size limit of 2 MB"):
        read_ratings(Upload(b"user,item,rating\n1,2,\x00\n"), max_mb=2)
    assert read_ratings(io.BytesIO(b"user,item,rating\n1,2,3\n2,3,4\n")).n_ratings == 2  # no limit by default


def test_missing_path_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_ratings(tmp_path / "nope.csv")


# ---- round trip ---------------------------------------------------------------------------------

labels = st.one_of(
    st.integers(min_value=0, max_value=10**9).map(str),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzéü_-", min_size=1, max_size=8).map(lambda s: "x" + s),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(labels, labels, st.sampled_from([0.5, 1.0, 2.5, 3.0, 4.0, 5.0])),
        min_size=2,
        max_size=30,
        unique_by=lambda row: (row[0], row[1]),
    ),
    sep=st.sampled_from([",", "\t", ";", "::"]),
)
def test_round_trip_keeps_counts_and_labels(rows: list[tuple[str, str, float]], sep: str) -> None:
    users = {r[0] for r in rows}
    items = {r[1] for r in rows}
    values = {r[2] for r in rows}
    if len(users) < 2 or len(items) < 2 or len(values) < 2:
        return  # invalid by design (single user/item, constant ratings): covered by the error table
    text = sep.join(["user", "item", "rating"]) + "\n" + "".join(f"{u}{sep}{i}{sep}{r}\n" for u, i, r in rows)
    ratings = read_ratings(text.encode())
    assert ratings.n_ratings == len(rows)
    assert set(ratings.user_labels.tolist()) == users and set(ratings.item_labels.tolist()) == items
    pairs = zip(
        ratings.user_labels[ratings.user_ids],
        ratings.item_labels[ratings.item_ids],
        ratings.ratings,
        strict=True,
    )
    assert sorted((str(u), str(i), float(r)) for u, i, r in pairs) == sorted(rows)


# ---- items --------------------------------------------------------------------------------------


def test_read_u_item_latin1_with_unknown_item() -> None:
    items = read_items((U_ITEM + "\n").encode("latin-1"))
    assert items.index.tolist() == ["1", "2", "3"]
    assert items.loc["2", "title"] == "Misérables, Les (1995)"
    assert items.loc["1", "genres"] == ("Animation", "Children's", "Comedy")
    assert items.loc["3", "title"] == "unknown" and items.loc["3", "genres"] == ("unknown",)


def test_read_movies_csv_with_quoted_titles_and_no_genres() -> None:
    data = 'movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n2,"American President, The (1995)",(no genres listed)\n'
    items = read_items(data.encode())
    assert items.loc["2", "title"] == "American President, The (1995)"
    assert items.loc["1", "genres"] == ("Adventure", "Animation") and items.loc["2", "genres"] == ()


def test_read_movies_dat_latin1() -> None:
    data = '1::Toy Story (1995)::Animation|Children\'s\n2::Misérables, Les: "Part 1" (1995)::Drama\n'
    items = read_items(data.encode("latin-1"))
    assert items.loc["2", "title"] == 'Misérables, Les: "Part 1" (1995)'
    assert items.loc["1", "genres"] == ("Animation", "Children's")


def test_items_file_without_a_title_column_is_refused() -> None:
    with pytest.raises(DataError, match="items file.*an id column and one title column.*movieId"):
        read_items(b"movieId,name\n1,x\n")


@pytest.mark.parametrize(
    ("files", "n_ratings"),
    [
        ({"u.data": U_DATA.encode(), "u.item": U_ITEM.encode("latin-1")}, 4),
        (
            {
                "ratings.csv": b"userId,movieId,rating,timestamp\n1,1,4.0,1\n2,2,3.5,2\n",
                "movies.csv": b"movieId,title,genres\n1,A (2000),Drama\n2,B (2001),Comedy|Drama\n",
            },
            2,
        ),
        (
            {
                "ratings.dat": b"1::1::5::1\n2::2::3::2\n2::1::1::3\n",
                "movies.dat": "1::Amélie (2001)::Comedy\n2::B (1999)::Drama\n".encode("latin-1"),
            },
            3,
        ),
    ],
    ids=["ml-100k", "ml-latest-small", "ml-1m"],
)
def test_load_movielens_dir_reads_each_layout(
    tmp_path: Path, files: dict[str, bytes], n_ratings: int
) -> None:
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    ratings = load_movielens_dir(tmp_path)
    assert ratings.n_ratings == n_ratings and ratings.name.startswith("MovieLens")
    assert ratings.titles is not None and all(ratings.titles) and ratings.genres is not None


def test_load_movielens_dir_names_what_it_needs(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a MovieLens folder.*u.data \\+ u.item"):
        load_movielens_dir(tmp_path)


# ---- the demo set -------------------------------------------------------------------------------


def test_demo_set_has_the_promised_shape_and_truth() -> None:
    start = time.perf_counter()
    ratings = demo_ratings(seed=0)
    assert time.perf_counter() - start < 0.5
    assert (ratings.n_users, ratings.n_items) == (2000, 400)
    assert 70_000 <= ratings.n_ratings <= 85_000
    summary = ratings.summary()
    # many light raters (issue 19: room to overfit, as in MovieLens), none with fewer than 5 ratings
    assert summary.per_item_counts.min() >= 1 and summary.per_user_counts.min() >= 5
    assert np.median(summary.per_user_counts) < 40
    assert set(ratings.rating_values.tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    counts = np.sort(summary.per_item_counts)[::-1]
    assert counts[:40].sum() > 3 * counts[-40:].sum() * 2  # a popularity skew
    truth = ratings.truth
    assert isinstance(truth, DemoTruth) and len(truth.genre_names) == 8
    assert truth.user_factors.shape == (2000, truth.item_factors.shape[1])
    assert ratings.genres[0] == (truth.genre_names[truth.item_genre[0]],)
    assert len(set(ratings.titles.tolist())) == 400 and ratings.titles[0].startswith("The ")
    assert pd.Series(ratings.titles).str.fullmatch(r"The \w+ \w+ \(\d{4}\)").all()


def test_demo_oracle_rmse_is_the_true_models_error_and_beats_the_mean() -> None:
    ratings = demo_ratings(seed=3)
    truth = ratings.truth
    predicted = truth.predict(ratings.user_ids, ratings.item_ids)
    assert truth.oracle_rmse == pytest.approx(np.sqrt(np.mean((predicted - ratings.ratings) ** 2)), rel=1e-5)
    baseline = np.sqrt(np.mean((ratings.ratings - ratings.ratings.mean()) ** 2))
    # noise of 0.8 stars (issue 19: so the lesson overfits offline) leaves the oracle near MovieLens's ratio
    assert truth.oracle_rmse < 0.8 * baseline


def test_demo_set_is_deterministic_per_seed() -> None:
    assert demo_ratings(seed=1).fingerprint == demo_ratings(seed=1).fingerprint
    assert demo_ratings(seed=1).fingerprint != demo_ratings(seed=2).fingerprint
    assert demo_ratings(seed=1).titles.tolist() == demo_ratings(seed=1).titles.tolist()


def test_users_rate_more_of_their_favourite_genre() -> None:
    ratings = demo_ratings(seed=0)
    truth = ratings.truth
    favourite = truth.user_taste.argmax(axis=1)  # (n_users,)
    share = np.mean(truth.item_genre[ratings.item_ids] == favourite[ratings.user_ids])
    assert share > 1.5 / len(truth.genre_names)


# ---- field cases: real-world formats (one small file per kind, in tests/fixtures/field_cases) ------

FIELD = Path(__file__).parents[1] / "fixtures" / "field_cases"
JSON_LINES = (
    b'{"reviewerID": "A1", "asin": "B01", "overall": 5.0, "unixReviewTime": 1400000000, "summary": "ok"}\n'
    b'{"reviewerID": "A1", "asin": "B02", "overall": 3.0, "unixReviewTime": 1400000100, "summary": "meh"}\n'
    b'{"reviewerID": "A2", "asin": "B01", "overall": 4.0, "unixReviewTime": 1400000200, "summary": "good"}\n'
)
PLAYS = "user,artist,plays\n" + "".join(
    f"{u},{a},{(u * 37 + a * 11) % 9 + 1 if (u + a) % 7 else 400 + u * 91 + a * 13}\n"
    for u in range(1, 16)
    for a in range(1, 9)
)
GERMAN = "Benutzer;Film;Bewertung;Datum\n1;10;4,5;13.06.2020\n1;11;3,0;05.06.2020\n2;10;2,5;01.07.2021\n"

# (id, file or bytes, read_ratings arguments, (ratings, users, items), first ratings, a note or warning to find)
FIELD_CASES = [
    ("anime -1 kept, warned", "anime.csv", {}, (10, 4, 3), [-1, -1, 9, 8], "not_rated=[-1]"),
    (
        "anime -1 dropped",
        "anime.csv",
        {"not_rated": [-1]},
        (6, 4, 3),
        [9, 8, 3, 10],
        "Dropped 4 rows (40.0%)",
    ),
    ("jester continuous", "jester_continuous.csv", {}, (42, 7, 6), [9.08, 5.36, -7.48], None),
    ("excel eu no header", "excel_eu_noheader.csv", {}, (40, 38, 4), [1.5, 3.0, 2.0, 3.0], None),
    ("excel eu header", "excel_eu_header.csv", {}, (40, 38, 4), [1.5, 3.0, 2.0, 3.0], None),
    ("trailing separators", "trailing_separators.csv", {}, (4, 2, 2), [4, 3, 5, 2], "2 empty unnamed"),
    ("netflix blocks", "netflix.txt", {}, (6, 4, 2), [3, 5, 4, 4], "Netflix Prize layout"),
    (
        "jester matrix melted",
        "jester_wide.csv",
        {"layout": "wide", "not_rated": [99]},
        (27, 8, 5),
        [-9.16, -6.15, -7.72, 9.90],
        "Dropped 13 rows (32.5%)",
    ),
    (
        "goodbooks items matched",
        "goodbooks_ratings.csv",
        {"items": FIELD / "goodbooks_books.csv"},
        (79, 39, 12),
        [2, 4, 1, 2],
        "matched by column 'book_id' (12 of 12",
    ),
    ("json lines", JSON_LINES, {}, (3, 2, 2), [5, 3, 4], None),
    ("plays kept, warned", PLAYS.encode(), {}, (120, 15, 8), None, 'implicit="log1p"'),
    ("plays as log1p", PLAYS.encode(), {"implicit": "log1p"}, (120, 15, 8), None, "log(1 + count)"),
    ("german header, day-first dates", GERMAN.encode(), {}, (3, 2, 2), [4.5, 3.0, 2.5], "read day first"),
]


@pytest.mark.parametrize(
    ("source", "kwargs", "counts", "first", "said"),
    [c[1:] for c in FIELD_CASES],
    ids=[c[0] for c in FIELD_CASES],
)
def test_field_cases_load_with_the_right_values(
    source: str | bytes, kwargs: dict, counts: tuple, first: list | None, said: str | None
) -> None:
    ratings = read_ratings(FIELD / source if isinstance(source, str) else source, **kwargs)
    assert (ratings.n_ratings, ratings.n_users, ratings.n_items) == counts
    if first is not None:
        np.testing.assert_allclose(ratings.ratings[: len(first)], first, rtol=1e-6)
    if said is not None:
        assert any(said in text for text in (*ratings.notes, *ratings.warnings)), (
            ratings.notes,
            ratings.warnings,
        )
    else:
        assert not ratings.warnings, ratings.warnings


def test_netflix_blocks_give_the_item_from_the_header_and_dates_as_timestamps() -> None:
    ratings = read_ratings(FIELD / "netflix.txt")
    frame = ratings.frame()
    assert frame[frame["item"] == "2"]["user"].astype(str).tolist() == ["2059652", "1488844", "822109"]
    assert ratings.timestamps[0] == int(pd.Timestamp("2005-09-06", tz="UTC").timestamp())


def test_counts_transforms_are_chosen_never_silent() -> None:
    raw = read_ratings(PLAYS.encode())
    assert raw.ratings.max() > 400  # kept as they are, with a warning
    logged = read_ratings(PLAYS.encode(), implicit="log1p")
    np.testing.assert_allclose(logged.ratings, np.log1p(raw.ratings), rtol=1e-6)
    scaled = read_ratings(PLAYS.encode(), implicit="scale")
    assert scaled.ratings.min() >= 1 and scaled.ratings.max() == pytest.approx(5)
    assert not logged.warnings and not scaled.warnings


def test_dates_are_read_day_first_when_unambiguous_and_the_order_can_be_forced() -> None:
    ratings = read_ratings(GERMAN.encode())
    june_13 = int(pd.Timestamp("2020-06-13", tz="UTC").timestamp())
    assert ratings.timestamps[0] == june_13
    assert ratings.timestamps[1] == int(pd.Timestamp("2020-06-05", tz="UTC").timestamp())
    ambiguous = "user,item,rating,date\n1,1,4,05/06/2020\n2,1,3,01/02/2021\n1,2,5,03/04/2020\n"
    us = read_ratings(ambiguous.encode())
    assert us.timestamps[0] == int(pd.Timestamp("2020-05-06", tz="UTC").timestamp())
    assert any("could be either order" in note and "day_first=True" in note for note in us.notes)
    eu = read_ratings(ambiguous.encode(), day_first=True)
    assert eu.timestamps[0] == int(pd.Timestamp("2020-06-05", tz="UTC").timestamp())
    with pytest.raises(
        DataError, match=r"1 dates that cannot be read month first \(first: '13.06.2020' on line 2"
    ):
        read_ratings(GERMAN.encode(), day_first=False)  # never a silent swap


def test_a_timestamp_is_picked_only_for_unix_seconds_or_dates() -> None:
    # a 4th column of small numbers (a count) is not a time; Unix seconds and dates are
    assert sniff_ratings(b"1,10,4,3\n2,11,3,7\n").timestamp_col is None
    assert sniff_ratings(b"1,10,4,978300760\n2,11,3,978302109\n").timestamp_col == "column 4"
    assert sniff_ratings(b"1,10,4,2005-09-06\n2,11,3,2005-05-13\n").timestamp_col == "column 4"
    named = sniff_ratings(b"user,item,rating,time\n1,10,4,fast\n2,11,3,slow\n")
    assert named.timestamp_col is None and any("not used as the timestamp" in n for n in named.notes)


@pytest.mark.parametrize(
    ("per_second", "unit"),
    [(1, None), (10**3, "milliseconds"), (10**6, "microseconds"), (10**9, "nanoseconds")],
)
def test_unix_time_in_finer_units_is_read_as_seconds_with_a_note(per_second: int, unit: str | None) -> None:
    # Amazon's 2023 reviews give milliseconds; read as seconds they would be the year 52,000
    seconds = [1588687728, 1588615855, 1589000000, 978300760]
    rows = "".join(
        f"u{u},i{i},{(u + i) % 5 + 1},{seconds[(u + i) % 4] * per_second}\n"
        for u in range(3)
        for i in range(3)
    )
    ratings = read_ratings(("user_id,parent_asin,rating,timestamp\n" + rows).encode())
    assert ratings.timestamps is not None and set(ratings.timestamps) <= set(seconds)
    notes = [n for n in map(str, ratings.notes) if "Unix time" in n]
    if unit is None:
        assert notes == []
    else:
        assert len(notes) == 1 and f"Unix time in {unit}" in notes[0] and "read as seconds" in notes[0]


def test_decimal_comma_and_separator_can_be_overridden() -> None:
    data = (FIELD / "excel_eu_header.csv").read_bytes()
    sniff = sniff_ratings(data)
    assert (sniff.sep, sniff.decimal, sniff.has_header) == (";", ",", True)
    with pytest.raises(DataError, match=r"decimal comma; read the file with decimal=','"):
        read_ratings(data, decimal=".")
    no_header = sniff_ratings((FIELD / "excel_eu_noheader.csv").read_bytes(), has_header=True)
    assert no_header.columns == ("87", "80", "1,5")


@pytest.mark.parametrize("sep", ["ab", "", '"', "\n", 5])
def test_a_bad_separator_is_a_data_error_naming_the_argument(tmp_path: Path, sep: object) -> None:
    path = tmp_path / "r.csv"
    path.write_text("u,i,r\n1,2,3\n2,1,4\n")
    for call in (read_ratings, sniff_ratings):
        with pytest.raises(DataError, match=r"the separator .* cannot split lines.*Set sep=\.\.\. to one of"):
            call(path, sep=sep)  # type: ignore[arg-type]
    assert read_ratings(path, sep=",").n_ratings == 2  # a good one still reads
    assert read_ratings(path.read_bytes().replace(b",", b"::"), sep="::").n_ratings == 2


def test_a_wide_matrix_is_refused_unless_asked_for_with_the_reason() -> None:
    data = (FIELD / "jester_wide.csv").read_bytes()
    sniff = sniff_ratings(data)
    assert sniff.layout == "wide" and sniff.not_rated_hint == (99.0,)
    with pytest.raises(DataError) as caught:
        read_ratings(data)
    message = str(caught.value)
    assert message.startswith("the file looks like a user x item matrix (6 numeric columns")
    assert 'layout="wide"' in message and "not_rated=[99]" in message


def test_items_file_errors_name_the_items_file() -> None:
    books = FIELD / "goodbooks_books.csv"
    with pytest.raises(DataError, match=r"^items file 'goodbooks_books.csv': several columns could hold"):
        read_items(books)
    assert read_items(books, id_col="book_id").index[:2].tolist() == ["1", "2"]
    with pytest.raises(DataError, match=r"^items file 'goodbooks_books.csv': none of its id-like columns"):
        read_items(books, item_labels=["x1", "x2"])


def test_parquet_and_json_array_read_like_csv(tmp_path: Path) -> None:
    frame = pd.DataFrame({"user_id": ["a", "a", "b"], "item_id": [1, 2, 1], "rating": [4.0, 3.0, 5.0]})
    path = tmp_path / "ratings.parquet"
    frame.to_parquet(path)
    from_parquet = read_ratings(path)
    from_json = read_ratings(frame.to_json(orient="records").encode())
    for ratings in (from_parquet, from_json):
        assert (ratings.n_ratings, ratings.n_users, ratings.n_items) == (3, 2, 2)
        assert ratings.ratings.tolist() == [4.0, 3.0, 5.0]


def test_json_that_is_not_json_lines_says_so() -> None:
    with pytest.raises(DataError, match="could not read the file as JSON lines"):
        read_ratings(b'{"user": 1, "item": 2, "rating": \n')


# ---- one message, two wordings ----------------------------------------------------------------------

APP_WORDS = {
    "rating_col": "the Rating column box",
    "not_rated": "the Not-rated box",
    "layout": "the Layout box",
}


def test_library_messages_name_arguments_and_the_app_wording_names_controls() -> None:
    with pytest.raises(DataError) as caught:
        read_ratings(b"who,what,how\n1,2,3\n2,3,4\n", rating_col="stars")
    error = caught.value
    assert "rating_col='stars'" in str(error)
    assert "the Rating column box" in error.worded(APP_WORDS) and "rating_col" not in error.worded(APP_WORDS)
    warning = read_ratings(FIELD / "anime.csv").warnings[0]
    assert warning.endswith("drop those rows with not_rated=[-1].")
    assert warning.worded(APP_WORDS).endswith("drop those rows with the Not-rated box.")
    with pytest.raises(DataError) as wide:
        read_ratings(FIELD / "jester_wide.csv")
    assert "the Layout box" in wide.value.worded(APP_WORDS) and "layout=" not in wide.value.worded(APP_WORDS)


def test_a_csv_read_as_json_lines_with_columns_chosen_is_a_data_error(tmp_path) -> None:
    """Numbers on each line parse as JSON values, not objects: one column named 0. Choosing it by its
    name '0' (as the Data page's boxes do) gave a KeyError traceback; now the usual message."""
    path = tmp_path / "matrix.csv"
    path.write_text("93,-9.16,-6.15\n83,99,2.46\n54,99,99\n")
    with pytest.raises(DataError, match="are both '0'"):
        read_ratings(path, user_col="0", item_col="0", rating_col="0", layout="json")


def test_a_user_whose_every_rating_is_not_rated_is_no_user_on_either_reader() -> None:
    # the fast (pyarrow) reader keeps ids as categories: a category left without rows must not stay a user
    text = b"user,item,rating\nu1,a,4\nu1,b,3\nu2,a,5\nu2,b,2\nu3,a,-1\n"
    fast = read_ratings(text, not_rated=[-1])
    slow = read_ratings(text + b"\n", not_rated=[-1])  # a blank line sends the file to pandas' C parser
    assert list(fast.user_labels) == list(slow.user_labels) == ["u1", "u2"]
    assert fast.fingerprint == slow.fingerprint and fast.n_users == 2


@pytest.mark.parametrize(
    "text",
    [
        "user,item\n1,10\n1,11\n2,10\n3,12\n",
        "user,item,timestamp\n1,10,881250949\n1,11,881250950\n2,10,881250951\n3,12,881250952\n",
        "1\t10\n1\t11\n2\t10\n3\t12\n",
        "user,item,rating\n1,10,1\n1,11,1\n2,10,1\n3,12,1\n",
        "user,item,plays\n1,10,5\n1,11,300\n2,10,1\n3,12,7\n",
    ],
    ids=["no rating column", "with timestamps", "no header", "all 1", "counts"],
)
def test_binary_mode_reads_interactions(text: str) -> None:
    ratings = read_ratings(text.encode(), implicit="binary")
    assert ratings.n_ratings == 4 and set(ratings.ratings) == {1.0}
    assert 'implicit="binary"' in ratings.notes[-1]


def test_all_one_file_is_refused_without_binary_mode_and_counts_warning_names_it() -> None:
    with pytest.raises(DataError, match="same value"):
        read_ratings(b"user,item,rating\n1,10,1\n1,11,1\n2,10,1\n")
    assert 'implicit="binary"' in str(read_ratings(PLAYS.encode()).warnings[0])
