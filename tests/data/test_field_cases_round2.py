"""Real-world formats, round 2 (issue 21): each kind as a small synthetic file built here, plus the
trimmed copies in tests/fixtures/field_cases (never ../shared). Expected values come from the files'
own columns (read independently with pandas), not from the reader under test."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collab.data import DataError
from collab.data.items import read_items
from collab.data.read import read_ratings
from collab.data.sniff import sniff_ratings

FIELD = Path(__file__).parents[1] / "fixtures" / "field_cases"
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def said(ratings, text: str) -> bool:
    return any(text in str(m) for m in (*ratings.notes, *ratings.warnings))


# ---- 0 as "not rated" beside a scale from 1 ---------------------------------------------------------


@FAST
@given(
    scale=st.sampled_from([(1, 5, 1.0), (1, 7, 1.0), (1, 10, 1.0), (0.5, 5, 0.5), (1, 5, 0.5)]),
    zero_share=st.floats(0.15, 0.7),
    seed=st.integers(0, 10_000),
)
def test_zero_beside_a_scale_from_one_is_reported_with_rows_share_and_fix(
    scale: tuple, zero_share: float, seed: int
) -> None:
    low, high, step = scale
    rng = np.random.default_rng(seed)
    n = 400
    levels = np.arange(low, high + step / 2, step)
    values = rng.choice(levels, n)
    zeros = rng.random(n) < zero_share
    values[zeros] = 0
    text = "user_id,book_id,rating\n" + "".join(f"{k % 37},{k},{v:g}\n" for k, v in enumerate(values))
    ratings = read_ratings(text.encode())
    n_zero = int(zeros.sum())
    warning = next(str(w) for w in ratings.warnings if "not_rated=[0]" in str(w))
    assert f"in {n_zero:,} of {n:,} rows ({n_zero / n:.1%})" in warning
    dropped = read_ratings(text.encode(), not_rated=[0])
    assert dropped.n_ratings == n - n_zero and dropped.ratings.min() >= low
    assert not any("not_rated" in str(w) for w in dropped.warnings)


def test_a_rare_zero_on_a_zero_to_five_scale_stays_a_rating() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.integers(1, 6, 490), np.zeros(10, dtype=int)])  # 2% zeros: a real score
    text = "user,item,rating\n" + "".join(f"{k % 40},{k},{v}\n" for k, v in enumerate(values))
    assert not read_ratings(text.encode()).warnings


def test_goodreads_fixture_zero_is_flagged_and_dropped_on_request() -> None:
    path = FIELD / "goodreads_interactions.csv"
    truth = pd.read_csv(path)
    ratings = read_ratings(path)
    assert any("not_rated=[0]" in str(w) for w in ratings.warnings)
    kept = read_ratings(path, not_rated=[0])
    assert kept.n_ratings == int((truth["rating"] != 0).sum())
    assert said(kept, f"Dropped {int((truth['rating'] == 0).sum()):,} rows")


# ---- headerless files: which column is what ---------------------------------------------------------


@FAST
@given(order=st.permutations(["genre", "review", "rating"]), seed=st.integers(0, 1000))
def test_a_headerless_file_takes_the_column_that_can_be_a_rating_and_says_so(order: list, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 150
    columns = {
        "genre": rng.integers(1, 18, n),  # an id with 17 levels: never a rating
        "review": np.arange(1, n + 1),  # one per row
        "rating": rng.integers(1, 6, n),
    }
    dates = pd.Timestamp("2005-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), unit="D")
    lines = [
        ",".join([str(rng.integers(1, 40)), str(rng.integers(1, 200)), *(str(columns[c][k]) for c in order)])
        + f",{dates[k]:%Y-%m-%d}"
        for k in range(n)
    ]
    ratings = read_ratings(("\n".join(lines) + "\n").encode())
    position = order.index("rating") + 3  # 1-based column number
    frame = pd.read_csv(io.StringIO("\n".join(lines)), header=None)
    expected = frame.drop_duplicates([0, 1], keep="last")[position - 1].to_numpy()
    assert sorted(ratings.ratings.tolist()) == sorted(expected.astype(float).tolist())
    assert ratings.timestamps is not None
    note = next(str(n) for n in ratings.notes if "no header" in str(n))
    assert f"rating = 'column {position}'" in note and "timestamp = 'column 6'" in note
    left = [f"'column {i + 3}'" for i, c in enumerate(order) if c != "rating"]
    assert all(name in note.split("left out:")[1] for name in left)


def test_ciaodvd_fixture_reads_the_fifth_column_as_the_rating() -> None:
    path = FIELD / "ciaodvd_movie_ratings.txt"
    frame = pd.read_csv(path, header=None)
    ratings = read_ratings(path)
    assert set(ratings.ratings.tolist()) <= set(frame[4].astype(float))
    assert ratings.n_ratings == len(frame.drop_duplicates([0, 1]))
    assert said(ratings, "rating = 'column 5'") and said(ratings, "left out: 'column 3', 'column 4'")


def test_an_item_first_file_is_told_apart_by_its_ids() -> None:
    rows = [f"B0{k:08d},user_{k % 7},{k % 5 + 1}" for k in range(30)]
    ratings = read_ratings(("\n".join(rows) + "\n").encode())
    assert ratings.user_labels[0].startswith("user_") and ratings.item_labels[0].startswith("B0")
    assert said(ratings, "look like items")


def test_movielens_u_data_layout_says_nothing_extra() -> None:
    data = b"196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n"
    ratings = read_ratings(data)
    assert ratings.notes == () and ratings.timestamps is not None


# ---- time columns -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "kind"),
    [
        ("20200705", "dates written as numbers"),
        ("20200705.0", "dates written as numbers"),
        ("1593907200.438", "Unix time"),
        ("2020-07-05 00:00:00.438", "date-times"),
    ],
)
def test_time_columns_are_read_both_ways(written: str, kind: str) -> None:
    text = "user_id,video_id,rating,when\n" + "".join(
        f"{u},{i},{(u + i) % 5 + 1},{written}\n" for u in range(3) for i in range(3)
    )
    ratings = read_ratings(text.encode(), timestamp_col="when")
    day = pd.Timestamp("2020-07-05", tz="UTC").timestamp()
    assert day <= ratings.timestamps.min() <= day + 1 and not ratings.warnings


def test_several_time_columns_are_named_with_the_one_chosen() -> None:
    rows = "".join(
        f"{u},{i},{(u + i) % 5 + 1},2020-07-0{i + 1} 10:00:00.5,2020070{i + 1}.0,{1593597600 + i * 86400}.25\n"
        for u in range(4)
        for i in range(3)
    )
    ratings = read_ratings(("user_id,video_id,rating,time,date,timestamp\n" + rows).encode())
    note = next(str(n) for n in ratings.notes if "Several columns hold times" in str(n))
    assert (
        "'timestamp' (Unix time) is used" in note
        and "'time' (date-times)" in note
        and "'date' (dates" in note
    )
    assert ratings.timestamps.min() == 1593597600


def test_a_number_column_of_implausible_years_is_never_taken_silently() -> None:
    # unnamed: 20200705 as seconds would be 1970: no timestamp is guessed
    sniff = sniff_ratings(b"1,10,4,20\n2,11,3,30\n3,12,5,40\n")
    assert sniff.timestamp_col is None
    named = read_ratings(b"user,item,rating,timestamp\n1,10,4,9\n2,11,3,8\n1,11,5,7\n")
    assert any("timestamp_col=False" in str(w) and "1970" in str(w) for w in named.warnings)


def test_empty_timestamp_cells_leave_the_timestamps_out_with_a_warning() -> None:
    ratings = read_ratings(FIELD / "kuairec_small_matrix.csv", rating_col="watch_ratio")
    assert ratings.timestamps is None and any("empty cells" in str(w) for w in ratings.warnings)
    assert said(ratings, "Several columns hold times")


# ---- reviews: titles, lists, parent_asin --------------------------------------------------------------


def _reviews(n: int = 12) -> bytes:
    rows = [
        {
            "rating": float(k % 5 + 1),
            "title": f"Review title {k}",
            "text": "Fine, really.",
            "images": [] if k % 3 else [{"url": "x"}],
            "asin": f"B0{k:08d}",
            "parent_asin": f"B0{k % 4:08d}",
            "user_id": f"A{k % 3:013d}",
            "timestamp": 1588268886088 + k,
        }
        for k in range(n)
    ]
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def test_a_reviews_title_never_becomes_the_items_title() -> None:
    ratings = read_ratings(_reviews())
    assert ratings.titles is None and said(ratings, "title of a review")
    assert set(ratings.item_labels) == {f"B0{k:08d}" for k in range(4)}  # parent_asin, noted
    assert said(ratings, "'parent_asin' is used as the item")


@pytest.mark.parametrize("role", ["item_col", "user_col", "rating_col", "timestamp_col"])
def test_a_column_of_lists_is_refused_by_name(role: str) -> None:
    with pytest.raises(DataError, match=r"column 'images' holds (lists|objects)"):
        read_ratings(_reviews(), **{role: "images"})
    with pytest.raises(DataError, match=r"column 'images' holds"):
        read_ratings(pd.read_json(io.BytesIO(_reviews()), lines=True), **{role: "images"})


def test_amazon_fixture_reads_without_review_titles() -> None:
    ratings = read_ratings(FIELD / "amazon_2023.jsonl")
    truth = pd.read_json(FIELD / "amazon_2023.jsonl", lines=True)
    assert ratings.titles is None and ratings.n_items == truth["parent_asin"].nunique()


# ---- survey matrices ----------------------------------------------------------------------------------


def _survey() -> bytes:
    header = ["Timestamp", "Email Address", *(f"Rate these films [Film {k}]" for k in range(6))]
    lines = [",".join(f'"{h}"' for h in header)]
    for r in range(8):
        cells = [f"2023/01/05 {9 + r}:00:00 AM GMT+1", f"p{r}@example.org"]
        cells += ["" if (r + k) % 4 == 0 else str((r * k) % 5 + 1) for k in range(6)]
        lines.append(",".join(f'"{c}"' for c in cells))
    return ("\n".join(lines) + "\n").encode()


def test_a_survey_grid_is_recognised_as_a_matrix_and_read_with_the_email_as_user() -> None:
    with pytest.raises(DataError, match=r'user x item matrix \(6 numeric columns.*layout="wide"'):
        read_ratings(_survey())
    ratings = read_ratings(_survey(), layout="wide")
    assert ratings.user_labels[0].endswith("@example.org")
    assert sorted(ratings.item_labels) == [f"Film {k}" for k in range(6)]
    assert said(ratings, "left out (text, not ratings): 'Timestamp'") and said(ratings, "6 numeric columns")
    grid = pd.read_csv(io.BytesIO(_survey()))
    assert ratings.n_ratings == int(grid.iloc[:, 2:].notna().sum().sum())


def test_the_user_column_is_honoured_in_a_matrix() -> None:
    ratings = read_ratings(_survey(), layout="wide", user_col="Timestamp")
    assert ratings.user_labels[0].startswith("2023/01/05") and said(ratings, "'Email Address'")
    by_position = read_ratings(_survey(), layout="wide", user_col=1)
    assert by_position.user_labels[0].endswith("@example.org")


def test_google_forms_fixture() -> None:
    ratings = read_ratings(FIELD / "google_forms_responses.csv", layout="wide")
    grid = pd.read_csv(FIELD / "google_forms_responses.csv")
    assert ratings.n_ratings == int(grid.iloc[:, 2:].notna().sum().sum()) and ratings.n_items == 8


# ---- files without ratings, and not tables --------------------------------------------------------------


def test_netflix_probe_is_named_a_list_of_pairs_and_reads_as_interactions() -> None:
    with pytest.raises(DataError, match=r"no ratings.*list of \(user, movie\) pairs.*implicit=\"binary\""):
        read_ratings(FIELD / "netflix_probe.txt")
    pairs = read_ratings(FIELD / "netflix_probe.txt", implicit="binary")
    lines = (FIELD / "netflix_probe.txt").read_text().split()
    assert pairs.n_ratings == sum(not line.endswith(":") for line in lines) and set(pairs.ratings) == {1.0}


def test_a_netflix_qualifying_list_keeps_its_dates() -> None:
    text = b"1:\n10,2005-09-06\n11,2005-09-07\n2:\n10,2005-01-01\n12,2005-02-02\n"
    with pytest.raises(DataError, match="no ratings"):
        read_ratings(text)
    assert read_ratings(text, implicit="binary").timestamps is not None


def _log() -> bytes:
    rows = []
    for k in range(60):
        when = pd.Timestamp("2009-05-03T18:54:57Z") - pd.Timedelta(minutes=7 * k)
        rows.append(f'user_{k % 4:06d}\t{when:%Y-%m-%dT%H:%M:%SZ}\t\tArtist {k % 5}\t\tSong "{k}", live')
    return ("\n".join(rows) + "\n").encode()


def test_a_play_log_is_named_and_counted_into_plays_per_pair() -> None:
    with pytest.raises(
        DataError, match=r"no rating column.*log of events.*implicit=\"binary\".*implicit=\"log1p\""
    ):
        read_ratings(_log())
    counted = read_ratings(_log(), implicit="log1p")
    plays = pd.Series([(k % 4, k % 5) for k in range(60)]).value_counts()
    assert counted.n_ratings == len(plays)
    np.testing.assert_allclose(np.sort(counted.ratings), np.sort(np.log1p(plays.to_numpy())), rtol=1e-6)
    assert counted.item_labels[0].startswith("Artist") and said(counted, "counted into")
    binary = read_ratings(_log(), implicit="binary")
    assert binary.n_ratings == len(plays) and binary.timestamps is not None


def test_lastfm_fixture_is_refused_with_the_way_forward() -> None:
    with pytest.raises(DataError, match="no rating column"):
        read_ratings(FIELD / "lastfm_1k.tsv")
    assert read_ratings(FIELD / "lastfm_1k.tsv", implicit="binary").item_labels[0].startswith("Artist")


def test_python_literals_are_named_and_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    line = f"reviews[('u1', 'w1')] = {{'work': __import__('pathlib').Path({str(marker)!r}).touch(), 'stars': 4.0}}\n"
    for text in ("reviews = {}\n" + line * 3, "{'user': 'u1', 'work': 'w1', 'stars': 4.0}\n" * 3):
        with pytest.raises(DataError, match="Python literals.*not CSV or JSON"):
            read_ratings(text.encode())
    assert not marker.exists()
    with pytest.raises(DataError, match="Python literals"):
        read_ratings(FIELD / "librarything_reviews.txt")


# ---- items files without a header ------------------------------------------------------------------------


def test_a_headerless_latin1_items_file_reads_the_rest_of_the_line_as_the_title() -> None:
    text = "1,2003,Dinosaur Planet\n2,NULL,Am\xe9lie, Part 1, Special\n3,1997,Character\n".encode("latin-1")
    items = read_items(text)
    assert items.loc["2", "title"] == "Amélie, Part 1, Special" and items.loc["3", "title"] == "Character"
    assert any("no header" in n for n in items.attrs["notes"])
    chosen = read_items(text, header=None, id_col=0, title_col=1)
    assert chosen.loc["1", "title"] == "2003,Dinosaur Planet"
    named = read_items(b"code,year,name\n7,2001,A\n8,2002,B\n", id_col="code", title_col="name", header=0)
    assert named["title"].to_dict() == {"7": "A", "8": "B"}


def test_netflix_titles_fixture_attaches_titles() -> None:
    ratings = read_ratings(FIELD / "netflix_titles_ratings.txt", items=FIELD / "netflix_movie_titles.txt")
    lines = (FIELD / "netflix_movie_titles.txt").read_bytes().decode("latin-1").splitlines()
    truth = {line.split(",", 2)[0]: line.split(",", 2)[2] for line in lines}
    assert [ratings.titles[k] for k in range(ratings.n_items)] == [truth[i] for i in ratings.item_labels]


# ---- thumbs up/down, UTF-16 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("up", "down"), [("true", "false"), ("True", "False"), ("like", "dislike"), ("1", "-1")]
)
def test_a_thumbs_column_is_the_signal_before_hours(up: str, down: str) -> None:
    rows = "".join(
        f"{a},{u},{up if (a + u) % 3 else down},{(a * 37 + u) % 900 / 7:.1f}\n"
        for a in range(6)
        for u in range(9)
    )
    ratings = read_ratings(("app_id,user_id,is_recommended,hours\n" + rows).encode())
    assert said(ratings, "'is_recommended' is used as the rating") and len(set(ratings.ratings)) == 2
    assert not any("counts" in str(w) for w in ratings.warnings)


def test_steam_fixture_reads_is_recommended() -> None:
    truth = pd.read_csv(FIELD / "steam_recommendations.csv")
    ratings = read_ratings(FIELD / "steam_recommendations.csv")
    last = truth.drop_duplicates(["user_id", "app_id"], keep="last")
    assert ratings.n_ratings == len(last) and ratings.ratings.sum() == last["is_recommended"].sum()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_text_is_read_as_its_byte_order_mark_says(encoding: str) -> None:
    text = "Benutzer\tFilm\tBewertung\r\n" + "".join(
        f"Kunde {u}\tFilm Nr. {i} – Ü\t{(u + i) % 5 + 1}\r\n" for u in range(4) for i in range(3)
    )
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    ratings = read_ratings(data)
    assert ratings.n_ratings == 12 and "Film Nr. 0 – Ü" in ratings.item_labels and said(ratings, "UTF-16")


def test_utf16_fixture() -> None:
    truth = pd.read_csv(FIELD / "excel_unicode_text_utf16.txt", sep="\t", encoding="utf-16")
    ratings = read_ratings(FIELD / "excel_unicode_text_utf16.txt")
    assert ratings.n_ratings == len(truth.drop_duplicates(["Benutzer", "Film"]))


# ---- the table: each round-2 fixture read right, or refused naming the problem ---------------------------------

ROUND2 = [
    ("goodreads", "goodreads_interactions.csv", {}, "not_rated=[0]"),
    ("ciaodvd", "ciaodvd_movie_ratings.txt", {}, "rating = 'column 5'"),
    ("kuairec", "kuairec_small_matrix.csv", {"rating_col": "watch_ratio"}, "Several columns hold times"),
    ("amazon 2023", "amazon_2023.jsonl", {}, "title of a review"),
    ("google forms", "google_forms_responses.csv", {"layout": "wide"}, "'Email Address'"),
    ("netflix probe", "netflix_probe.txt", {}, DataError),
    ("netflix probe binary", "netflix_probe.txt", {"implicit": "binary"}, 'implicit="binary"'),
    ("lastfm 1k", "lastfm_1k.tsv", {}, DataError),
    ("lastfm 1k counted", "lastfm_1k.tsv", {"implicit": "log1p"}, "counted into"),
    ("librarything", "librarything_reviews.txt", {}, DataError),
    (
        "netflix titles",
        "netflix_titles_ratings.txt",
        {"items": FIELD / "netflix_movie_titles.txt"},
        "no header",
    ),
    ("steam", "steam_recommendations.csv", {}, "thumbs up/down"),
    ("utf-16", "excel_unicode_text_utf16.txt", {}, "UTF-16"),
]


@pytest.mark.parametrize(("name", "kwargs", "expect"), [c[1:] for c in ROUND2], ids=[c[0] for c in ROUND2])
def test_round2_fixtures_read_right_or_are_refused_by_name(name: str, kwargs: dict, expect: object) -> None:
    if expect is DataError:
        with pytest.raises(DataError):
            read_ratings(FIELD / name, **kwargs)
        return
    ratings = read_ratings(FIELD / name, **kwargs)
    assert ratings.n_ratings > 0 and said(ratings, str(expect)), (ratings.notes, ratings.warnings)


# ---- a fuzz: reading options x the new files: only DataError, never another exception ----------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted({c[1] for c in ROUND2})),
    layout=st.sampled_from(["auto", "rows", "wide", "netflix", "json"]),
    sep=st.sampled_from([None, ",", "\t", ";"]),
    has_header=st.sampled_from([None, True, False]),
    implicit=st.sampled_from([None, "binary", "log1p"]),
    not_rated=st.sampled_from([(), (0,), (-1,)]),
    columns=st.lists(st.one_of(st.none(), st.integers(0, 8)), min_size=4, max_size=4),
)
def test_reading_options_on_the_new_files_raise_only_data_errors(
    name: str, layout: str, sep, has_header, implicit, not_rated, columns: list
) -> None:
    user, item, rating, timestamp = columns
    with contextlib.suppress(DataError):  # any other exception fails the test
        read_ratings(
            FIELD / name,
            user_col=user,
            item_col=item,
            rating_col=rating,
            timestamp_col=timestamp,
            sep=sep,
            has_header=has_header,
            layout=layout,
            implicit=implicit,
            not_rated=not_rated,
        )


# ---- more files of the same kinds -------------------------------------------------------------------------


def test_book_crossing_zero_beside_one_to_seven_under_a_long_rating_name() -> None:
    rows = "".join(
        f'"{u}";"03454{i:04d}X";"{0 if (u + i) % 3 else (u * i) % 7 + 1}"\n'
        for u in range(20)
        for i in range(10)
    )
    ratings = read_ratings(('"User-ID";"ISBN";"Book-Rating"\n' + rows).encode())
    assert any("Book-Rating" in str(w) and "not_rated=[0]" in str(w) for w in ratings.warnings)


def test_recbole_typed_header_names_are_known() -> None:
    text = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + "".join(
        f"{u}\t{i}\t{(u + i) % 5 + 1}\t{881250949 + u * 10 + i}\n" for u in range(5) for i in range(5)
    )
    ratings = read_ratings(text.encode())
    assert ratings.n_ratings == 25 and ratings.timestamps is not None and not ratings.notes


@pytest.mark.parametrize(
    ("extra", "kind"), [("", "a list of (user, item) pairs"), (",timestamp", "a log of events")]
)
def test_a_named_file_without_ratings_says_what_it_is(extra: str, kind: str) -> None:
    text = f"user_id,item_id{extra}\n" + "".join(
        f"{u},{i}{',' + str(881250949 + u) if extra else ''}\n" for u in range(5) for i in range(5)
    )
    with pytest.raises(DataError, match=rf"no rating column.*{re.escape(kind)}.*implicit=\"binary\""):
        read_ratings(text.encode())
    assert read_ratings(text.encode(), implicit="binary").n_ratings == 25


def test_a_forms_export_with_an_id_column_first_is_a_matrix() -> None:
    header = '"ID","Start time","Email","Name",' + ",".join(f'"Film {k}"' for k in range(6)) + "\n"
    rows = "".join(
        f"{r + 1},1/5/23 9:0{r},p{r}@x.org,P {r},"
        + ",".join("" if (r + k) % 4 == 0 else str((r * k) % 5 + 1) for k in range(6))
        + "\n"
        for r in range(8)
    )
    with pytest.raises(DataError, match="user x item matrix"):
        read_ratings((header + rows).encode())
    ratings = read_ratings((header + rows).encode(), layout="wide")
    assert ratings.user_labels[0].endswith("@x.org") and len(ratings.item_labels) == 6
    assert said(ratings, "'ID'") and said(ratings, "'Start time'")
