"""Data page with the round-2 field cases (issue 21): uploads of four new kinds, the list column's error
in the page's words, boxes filled by name, and an ambiguity warning that goes once the user has chosen."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.app.conftest import texts
from tests.app.test_page_data import _open_upload, _sidebar

FIELD = Path(__file__).resolve().parents[1] / "fixtures" / "field_cases"


def _upload(app, name: str, body: bytes | None = None) -> None:
    _open_upload(app)
    data = (FIELD / name).read_bytes() if body is None else body
    app.file_uploader(key="data_upload").upload(name, data, "text/plain").run()
    assert not app.exception, app.exception


def _warnings(app) -> str:
    return "\n".join(str(w.value) for w in app.warning)


def test_goodreads_zero_is_flagged_before_loading_and_dropped_with_the_box(app):
    _upload(app, "goodreads_interactions.csv")
    assert "**0**" in _warnings(app) and "Goodreads" in _warnings(app)
    app.multiselect(key="data_not_rated").set_value([0.0]).run()
    app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    truth = pd.read_csv(FIELD / "goodreads_interactions.csv")
    assert f"{int((truth['rating'] != 0).sum()):,} ratings" in _sidebar(app)
    assert "Dropped" in texts(app)


def test_steam_loads_the_thumbs_column_not_the_hours(app):
    _upload(app, "steam_recommendations.csv")
    assert app.selectbox(key="data_map_rating").value == "is_recommended"
    app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert "thumbs up/down" in texts(app)


def test_a_list_column_chosen_as_the_item_is_a_message_not_a_traceback(app):
    _upload(app, "amazon_2023.jsonl")
    app.selectbox(key="data_map_item").set_value("images").run()
    app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    error = str(app.error[0].value)
    assert "holds lists" in error and "**Item column** box" in error and "item_col" not in error
    app.selectbox(key="data_map_item").set_value("parent_asin").run()
    app.button(key="data_load_upload").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert "title of a review" in texts(app)


def test_a_survey_grid_is_detected_and_loads_as_a_matrix(app):
    _upload(app, "google_forms_responses.csv")
    assert "Recognised as a user × item matrix" in "\n".join(str(a.value) for a in (*app.info, *app.warning))
    app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    grid = pd.read_csv(FIELD / "google_forms_responses.csv")
    assert f"{int(grid.iloc[:, 2:].notna().sum().sum()):,} ratings" in _sidebar(app)
    assert "'Email Address'" in texts(app)


def test_boxes_are_filled_by_name_and_the_ambiguity_warning_goes_once_chosen(app):
    body = "person,item_id,movie_id,watch_ratio\n" + "".join(
        f"{u},{i},{i + 100},{(u + i) % 5 + 1}\n" for u in range(8) for i in range(6)
    )
    _upload(app, "ambiguous.csv", body.encode())
    assert "ambiguous item column" in _warnings(app).lower()
    assert app.selectbox(key="data_map_user").value == "person"
    assert app.selectbox(key="data_map_rating").value == "watch_ratio"  # by its name, not by position
    app.selectbox(key="data_map_item").set_value("movie_id").run()
    assert "ambiguous item column" not in _warnings(app).lower()
    app.button(key="data_load_upload").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert "48 ratings" in _sidebar(app)
