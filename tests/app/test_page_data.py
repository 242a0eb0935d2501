"""Data page: demo summary, upload with column mapping, every bad-input kind keeps the old dataset."""

from __future__ import annotations

from pathlib import Path

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
    if not app.error and app.button(key="data_load_upload").disabled:  # two boxes on one column: not loadable
        assert expected in "\n".join(str(w.value) for w in app.warning).lower()
        assert "Built-in demo set" in _sidebar(app)
        return
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
    assert "built-in demo set" in " ".join(c.value for c in app.caption)  # what a student can do here
    assert [c.value for c in app.code] == ["http://127.0.0.1:9/ml-100k.zip"]  # the exact address, no joiner


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


# ---- field cases: each kind of real-world file through the page (upload, overrides, load, train) ----

FIELD = Path(__file__).resolve().parents[1] / "fixtures" / "field_cases"
JSON_LINES = "".join(
    f'{{"user_id": "u{u}", "business_id": "b{b}", "stars": {(u * 3 + b) % 5 + 1}, "text": "fine"}}\n'
    for u in range(12)
    for b in range(8)
    if (u + b) % 3
)

# (id, file, page choices {key: value} before loading, ratings loaded, text that must be shown after loading)
FIELD_PAGE_CASES = [
    ("anime -1 dropped", "anime.csv", {"data_not_rated": [-1.0]}, 6, "Dropped 4 rows (40.0%)"),
    (
        "jester matrix",
        "jester_wide.csv",
        {"data_layout": "wide", "data_not_rated": [99.0]},
        27,
        "Dropped 13 rows",
    ),
    ("jester continuous", "jester_continuous.csv", {}, 42, "42 ratings"),
    ("excel eu, no header", "excel_eu_noheader.csv", {}, 40, "40 ratings"),
    ("excel eu, header", "excel_eu_header.csv", {"data_sep": ";", "data_decimal": ","}, 40, "40 ratings"),
    ("trailing separators", "trailing_separators.csv", {}, 4, "empty unnamed column"),
    ("netflix blocks", "netflix.txt", {}, 6, "Netflix Prize layout"),
    ("json lines", "reviews.jsonl", {}, 64, "64 ratings"),
    ("parquet", "ratings.parquet", {}, 64, "64 ratings"),
    ("plays as log(1 + count)", "plays.csv", {"data_counts": "log1p"}, 120, "trained as log(1 + count)"),
]
PLAYS = "user,artist,plays\n" + "".join(
    f"{u},{a},{(u * 37 + a * 11) % 9 + 1 if (u + a) % 7 else 400 + u * 91 + a * 13}\n"
    for u in range(1, 16)
    for a in range(1, 9)
)
GERMAN = "Benutzer;Film;Bewertung;Datum\n" + "".join(
    f"{u};{i};{(u + i) % 5 + 1},5;{(u * 3 + i) % 28 + 1:02d}.{i % 12 + 1:02d}.2020\n"
    for u in range(1, 13)
    for i in range(1, 9)
    if (u + i) % 4
)


def _field_body(name: str) -> bytes:
    if name.endswith(".jsonl"):
        return JSON_LINES.encode()
    if name.endswith(".parquet"):
        import io

        import pandas as pd

        buffer = io.BytesIO()
        pd.read_json(io.StringIO(JSON_LINES), lines=True).to_parquet(buffer)
        return buffer.getvalue()
    if name == "plays.csv":
        return PLAYS.encode()
    if name == "german.csv":
        return GERMAN.encode()
    return (FIELD / name).read_bytes()


def _upload_field(app, name: str) -> None:
    body = _field_body(name)
    _open_upload(app)
    app.file_uploader(key="data_upload").upload(name, body, "text/plain").run()
    assert not app.exception, app.exception


def _train_briefly(app) -> None:
    """Train one epoch on the loaded set: a result with a real RMSE, or the empty-validation error."""
    app.switch_page("app_pages/train.py").run()
    from collab.training.config import auto_epochs

    n_train = app.session_state["dataset"].n_ratings  # an upper bound of the training ratings
    assert app.checkbox(key="train_epochs_auto").value is True
    assert app.slider(key="train_epochs").value >= auto_epochs(n_train)  # small sets get more epochs than 5
    app.slider(key="train_epochs").set_value(2).run()
    assert not app.exception, app.exception
    assert app.checkbox(key="train_epochs_auto").value is False  # a hand on the slider turns auto off
    assert app.slider(key="train_epochs").value == 2
    if app.button(key="train_button").disabled:
        assert "validation set is empty" in texts(app)
        return
    app.button(key="train_button").click().run()
    assert not app.exception, app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Validation RMSE"] != "nan"
    assert "Predict-the-mean RMSE" in texts(app)


@pytest.mark.parametrize(
    ("name", "choices", "n_ratings", "shown"),
    [c[1:] for c in FIELD_PAGE_CASES],
    ids=[c[0] for c in FIELD_PAGE_CASES],
)
def test_field_case_files_load_and_train_through_the_page(app, name, choices, n_ratings, shown):
    _upload_field(app, name)
    for key, value in choices.items():
        (app.multiselect if key == "data_not_rated" else app.selectbox)(key=key).set_value(value)
    app.run()
    app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert f"{n_ratings:,} ratings" in _sidebar(app)
    assert shown in texts(app)
    _train_briefly(app)


def test_a_matrix_is_explained_in_the_pages_words_before_it_is_melted(app):
    _upload_field(app, "jester_wide.csv")
    warning = "\n".join(str(w.value) for w in app.warning)
    assert "user × item matrix" in warning and "**Layout**" in warning
    assert "layout=" not in warning and "not_rated=" not in warning
    assert "**99**" in warning  # the not-rated code seen in the first rows


def test_a_detected_matrix_gets_one_message_and_loads_with_layout_on_detect(app):
    """QA: an info box said "detected as a matrix" while a warning beside it said to pick Layout."""
    _upload_field(app, "jester_wide.csv")
    assert app.selectbox(key="data_layout").value == "auto"
    alerts = [str(a.value) for a in (*app.info, *app.warning)]
    matrix = [a for a in alerts if "matrix" in a]
    assert len(matrix) == 1, alerts  # one message, not a note and a contradicting warning
    assert "Recognised as a user × item matrix" in matrix[0] and "**Not-rated values to drop**" in matrix[0]
    assert "Only if the file is one rating per row" in matrix[0]  # Layout only for the other case
    app.multiselect(key="data_not_rated").set_value([99.0]).run()
    app.button(key="data_load_upload").click().run()  # the one action: Layout stays on Detect
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert "Upload: jester_wide.csv" in _sidebar(app)
    assert "Dropped 13 rows" in texts(app)


def test_anime_not_rated_code_is_reported_and_kept_until_the_user_drops_it(app):
    _upload_field(app, "anime.csv")
    assert "**-1**" in "\n".join(str(w.value) for w in app.warning)
    app.button(key="data_load_upload").click().run()
    assert "10 ratings" in _sidebar(app)
    warnings = "\n".join(str(w.value) for w in app.warning)
    assert "holds -1 in 4 of 10 rows (40.0%)" in warnings and "**Not-rated values to drop** box" in warnings


def test_decimal_mark_override_shows_the_reason_in_the_pages_words(app):
    _upload_field(app, "excel_eu_noheader.csv")
    assert "decimal **comma**" in texts(app)
    app.selectbox(key="data_decimal").set_value(".").run()
    app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    error = str(app.error[0].value)
    assert "decimal comma" in error and "the **Decimal mark** box" in error and "decimal=" not in error


def test_goodbooks_items_match_by_id_and_a_wrong_pick_blames_the_items_file(app):
    _open_upload(app)
    app.file_uploader(key="data_upload").upload(
        "ratings.csv", (FIELD / "goodbooks_ratings.csv").read_bytes(), "text/csv"
    )
    books = (FIELD / "goodbooks_books.csv").read_bytes()
    app.file_uploader(key="data_items_upload").upload("books.csv", books, "text/csv").run()
    app.selectbox(key="data_items_id").set_value("isbn").run()
    app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    error = str(app.error[0].value)
    assert (
        "Could not use the items file books.csv" in error and "the ratings file ratings.csv is fine" in error
    )
    assert "Built-in demo set" in _sidebar(app)
    app.selectbox(key="data_items_id").set_value(app.selectbox(key="data_items_id").options[0]).run()
    app.button(key="data_load_upload").click().run()
    assert not app.error
    assert "matched by column 'book_id' (12 of 12" in texts(app)


def test_continuous_ratings_disable_the_classifier_with_the_reason(app):
    _upload_field(app, "jester_continuous.csv")
    app.button(key="data_load_upload").click().run()
    app.switch_page("app_pages/train.py").run()
    app.selectbox(key="train_model").set_value("classifier").run()
    assert not app.exception, app.exception
    assert "not available for these ratings" in texts(app) and "42 distinct values" in texts(app)
    assert app.button(key="train_button").disabled
    app.multiselect(key="train_blend_models").set_value(["classifier", "dot"]).run()
    assert not app.exception, app.exception
    assert app.button(key="train_blend_button").disabled  # the blend would train the classifier too


def test_a_split_with_no_validation_rating_is_an_error_not_a_result(app):
    body = "user,item,rating\n" + "".join(f"{u},{u % 7},{u % 5 + 1}\n" for u in range(40))  # one rating each
    _open_upload(app)
    app.file_uploader(key="data_upload").upload("sparse.csv", body.encode(), "text/csv").run()
    app.button(key="data_load_upload").click().run()
    app.switch_page("app_pages/train.py").run()
    assert not app.exception, app.exception
    assert "held-out ratings all belong to users or items with no rating left in training" in texts(app)
    assert "the **Validation share** slider" in texts(app)
    assert 'Set the **Split** box to "A share of each user\'s ratings" so that' in texts(app)  # split: random
    assert app.button(key="train_button").disabled
    assert app.button(key="train_blend_button").disabled


def test_counts_are_reported_and_transformed_only_when_chosen(app):
    _upload_field(app, "plays.csv")
    assert "looks like **counts**" in "\n".join(str(w.value) for w in app.warning)  # before loading
    app.button(key="data_load_upload").click().run()
    warnings = "\n".join(str(w.value) for w in app.warning)
    assert (
        "looks like counts, not ratings" in warnings and "the **Counts (implicit feedback)** box" in warnings
    )
    assert "implicit=" not in warnings


def test_header_and_date_order_overrides(app):
    _upload_field(app, "german.csv")
    assert "a header row" in texts(app)
    app.selectbox(key="data_header").set_value("no").run()
    assert "no header row" in texts(app)
    app.selectbox(key="data_header").set_value("auto").run()
    app.button(key="data_load_upload").click().run()
    assert not app.error, [e.value for e in app.error]
    assert "read day first" in texts(app) and "taken by position" in texts(app)
    app.selectbox(key="data_date_order").set_value("month").run()
    app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    error = str(app.error[0].value)
    assert "cannot be read month first" in error and "the **Date order** box" in error


def test_unknown_user_and_item_names_default_to_distinct_columns(app):
    """QA: `who,what,stars` put both boxes on 'who', and the load error began in lower case."""
    body = "who,what,stars\n" + "".join(
        f"{u},{i},{(u + i) % 5 + 1}\n" for u in range(1, 9) for i in range(1, 7)
    )
    _open_upload(app)
    app.file_uploader(key="data_upload").upload("textr.csv", body.encode(), "text/csv").run()
    assert not app.exception, app.exception
    assert app.selectbox(key="data_map_user").value == "who"
    assert app.selectbox(key="data_map_item").value == "what"
    assert app.selectbox(key="data_map_rating").value == "stars"
    assert "guessed by position" in texts(app)
    assert not app.warning, [w.value for w in app.warning]  # no "no user column found" beside the guess
    assert not app.button(key="data_load_upload").disabled
    app.selectbox(key="data_map_item").set_value("who").run()
    assert app.button(key="data_load_upload").disabled
    warnings = "\n".join(str(w.value) for w in app.warning)
    assert "**User column** and **Item column** boxes both name" in warnings
    app.selectbox(key="data_map_item").set_value("what").run()
    app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    assert "8 users" in _sidebar(app)


def test_a_load_error_after_a_full_stop_starts_with_a_capital(app):
    _open_upload(app)
    app.file_uploader(key="data_upload").upload(
        "one.csv", b"user,item,rating\n1,1,5\n1,2,4\n1,3,3\n", "text/csv"
    )
    app.run()
    app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    error = str(app.error[0].value)
    assert error.startswith("**Could not load one.csv.** ") and error.split(".** ", 1)[1][0].isupper(), error
