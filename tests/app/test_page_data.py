"""Data page: demo summary, upload with column mapping, every bad-input kind keeps the old dataset."""

from __future__ import annotations

import pytest

from tests.app.conftest import charts, texts

GOOD_CSV = "userId,movieId,rating,timestamp\n" + "".join(
    f"{u},{i},{(u * 7 + i * 3) % 5 + 1},{1_000_000 + u * 100 + i}\n"
    for u in range(1, 21)
    for i in range(1, 16)
    if (u + i) % 3
)


def _open_upload(app):
    app.switch_page("app_pages/data.py").run()
    app.radio(key="data_source").set_value("upload").run()
    assert not app.exception, app.exception
    return app


def _sidebar(app) -> str:
    return "\n".join(str(c.value) for c in app.sidebar.caption)


def test_demo_summary_shows_counts_charts_and_crosstab(app):
    app.switch_page("app_pages/data.py").run()
    assert not app.exception
    labels = {m.label: m.value for m in app.metric}
    assert int(labels["Users"].replace(",", "")) > 500
    specs = charts(app)
    assert len(specs) == 4  # histogram, two long tails, crosstab
    heatmap = [s for s in specs if s["data"][0]["type"] == "heatmap"]
    assert len(heatmap) == 1
    cells = heatmap[0]["data"][0]["text"]
    assert len(cells) == 15 and len(cells[0]) == 15
    assert any(cell == "" for row in cells for cell in row), "empty cells must stay visible as blanks"


def test_upload_good_csv_detects_columns_and_loads(app):
    _open_upload(app)
    app.file_uploader(key="data_upload").upload("my_ratings.csv", GOOD_CSV.encode(), "text/csv").run()
    assert not app.exception, app.exception
    assert app.selectbox(key="data_map_user").value == "userId"
    assert app.selectbox(key="data_map_item").value == "movieId"
    assert app.selectbox(key="data_map_rating").value == "rating"
    assert app.selectbox(key="data_map_timestamp").value == "timestamp"
    app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    assert "Upload: my_ratings.csv" in _sidebar(app)
    assert "20 users" in _sidebar(app)
    assert "Loaded Upload: my_ratings.csv" in texts(app)


def test_upload_with_odd_column_names_can_be_mapped_by_hand(app):
    body = "who,what,how_much\n" + "".join(
        f"u{u},i{i},{(u + i) % 5 + 1}\n" for u in range(8) for i in range(6)
    )
    _open_upload(app)
    app.file_uploader(key="data_upload").upload("odd.csv", body.encode(), "text/csv").run()
    app.selectbox(key="data_map_user").set_value("who")
    app.selectbox(key="data_map_item").set_value("what")
    app.selectbox(key="data_map_rating").set_value("how_much").run()
    app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    assert "8 users" in _sidebar(app)


BAD_FILES = [
    ("empty", b"", "empty"),
    ("text_rating", b"user,item,rating\n1,1,5\n2,1,five\n3,2,4\n", "non-numeric"),
    ("nan_rating", b"user,item,rating\n1,1,5\n2,1,\n3,2,4\n2,2,3\n", "empty"),
    ("one_user", b"user,item,rating\n1,1,5\n1,2,4\n1,3,3\n", "user"),
    ("two_columns", b"1,1\n2,2\n3,3\n", "column"),
    ("all_equal", b"user,item,rating\n1,1,4\n2,1,4\n3,2,4\n1,2,4\n", "equal"),
]


@pytest.mark.parametrize(("name", "body", "expected"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_upload_shows_error_and_keeps_the_demo_set(app, name, body, expected):
    _open_upload(app)
    app.file_uploader(key="data_upload").upload(f"{name}.csv", body, "text/csv").run()
    if not app.error:
        app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    assert app.error, "a bad file must produce an st.error"
    assert expected in str(app.error[0].value).lower()
    assert "Built-in demo set" in _sidebar(app)


def test_movielens_offline_gives_a_clear_error(app):
    app.switch_page("app_pages/data.py").run()
    app.radio(key="data_source").set_value("movielens").run()
    app.button(key="data_load_movielens").click().run()
    assert not app.exception, app.exception
    assert app.error
    assert "Built-in demo set" in _sidebar(app)


def test_upload_with_an_items_file_attaches_titles(app):
    movies = "movieId,title,genres\n" + "".join(
        f"{i},Film number {i} ({1980 + i}),Drama|Comedy\n" for i in range(1, 16)
    )
    _open_upload(app)
    app.file_uploader(key="data_upload").upload("ratings.csv", GOOD_CSV.encode(), "text/csv")
    app.file_uploader(key="data_items_upload").upload("movies.csv", movies.encode(), "text/csv").run()
    app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    heatmap = [s for s in charts(app) if s["data"][0]["type"] == "heatmap"][0]
    assert all(str(label).startswith("Film number") for label in heatmap["data"][0]["x"])


def test_duplicate_rows_load_with_a_note(app):
    body = GOOD_CSV + "1,1,5,1000101\n1,1,2,1000102\n"  # user 1 rated item 1 three times
    _open_upload(app)
    app.file_uploader(key="data_upload").upload("dupes.csv", body.encode(), "text/csv").run()
    app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    assert "Upload: dupes.csv" in _sidebar(app)
    assert any("duplicate" in str(note.value).lower() for note in app.info)


def test_replacing_an_upload_detects_the_new_files_timestamp(app):
    """Issue 14: a second file must not inherit the first file's "(none)" timestamp choice."""
    no_time = "userId,movieId,rating\n" + "".join(
        f"{u},{i},{(u + i) % 5 + 1}\n" for u in range(1, 11) for i in range(1, 8)
    )
    _open_upload(app)
    app.file_uploader(key="data_upload").upload("first.csv", no_time.encode(), "text/csv").run()
    assert app.selectbox(key="data_map_timestamp").value == "(none)"
    app.file_uploader(key="data_upload").upload("second.csv", GOOD_CSV.encode(), "text/csv").run()
    assert not app.exception, app.exception
    assert app.selectbox(key="data_map_timestamp").value == "timestamp"
    app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    assert (
        "Latest ratings (by time)"
        in app.switch_page("app_pages/train.py").run().selectbox(key="train_split_method").options
    )
