"""Embeddings page: no model, then a tiny trained model: map controls, neighbours, biases, recovery, lookup."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from collab.data.demo import demo_ratings
from tests.app.conftest import charts, texts
from ui import embeddings_view
from ui.state import RESULT, SplitParams, TrainedModel

PAGE = "app_pages/embeddings.py"


@pytest.fixture
def with_model(app, tiny_model):
    app.session_state[RESULT] = TrainedModel(tiny_model, demo_ratings(seed=0).fingerprint, SplitParams())
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def _length(values: list | dict) -> int:
    """Length of a plotly array: a list, or plotly 7's base64 {"dtype", "bdata"} encoding."""
    if isinstance(values, list):
        return len(values)
    return len(np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]))


def scatter_points(spec: dict) -> int:
    """Number of points drawn by the map's marker traces (not the highlight ring)."""
    return sum(_length(trace["x"]) for trace in spec["data"] if trace.get("name") != "highlighted")


def frames(app) -> list:
    """Every dataframe's value, in page order (plain st.dataframe has no key to find it by)."""
    return [element.value for element in app.dataframe]


def neighbours_table(app):
    found = [f for f in frames(app) if {"cosine", "distance"} & set(f.columns)]
    assert len(found) == 1
    return found[0]


def bias_tables(app) -> tuple:
    low, high = [f for f in frames(app) if "bias" in f.columns]
    return low, high


def lookup_product(app):
    (found,) = [f for f in frames(app) if "one-hot @ factors" in f.index]
    return found


def map_spec(app) -> dict:
    found = [s for s in charts(app) if "PC1" in str(s["layout"].get("xaxis", {})) or "scene" in s["layout"]]
    assert len(found) == 1, "exactly one PCA map"
    return found[0]


def test_without_a_model_the_page_says_what_to_do(app):
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    assert "no trained model" in texts(app)
    assert not charts(app)
    links = app.get("page_link")
    assert links and "train" in links[0].proto.page.lower()


def test_map_shows_items_by_planted_genre_with_variance_shares(with_model):
    spec = map_spec(with_model)
    assert "of variance" in spec["layout"]["xaxis"]["title"]["text"]
    genres = {t["name"] for t in spec["data"]}
    assert {"Sci-Fi", "Romance", "Horror"} <= genres
    assert scatter_points(spec) == 400  # the demo set has 400 items, all within the 1000 default
    assert "Share of variance" in texts(with_model)


def test_map_controls_change_the_figure(with_model):
    app = with_model
    app.slider(key="emb_n_items").set_value(50).run()
    assert scatter_points(map_spec(app)) == 50
    app.selectbox(key="emb_colour_items").set_value("bias").run()
    spec = map_spec(app)
    assert spec["data"][0]["marker"]["showscale"] is True
    app.button_group(key="emb_dims").set_value("3-D").run()
    assert not app.exception, app.exception
    assert "scene" in map_spec(app)["layout"]
    app.button_group(key="emb_table").set_value("users").run()
    assert not app.exception, app.exception
    assert "users" in texts(app)


def test_search_highlights_matching_titles(with_model):
    app = with_model
    app.text_input(key="emb_search").input("the").run()
    spec = map_spec(app)
    ring = [t for t in spec["data"] if t.get("name") == "highlighted"]
    assert ring and len(ring[0]["text"]) > 10
    assert "matching titles are among" in texts(app)


def test_neighbours_follow_the_picked_item_and_metric(with_model):
    app = with_model
    before = neighbours_table(app)
    assert len(before) == 10 and "cosine" in before.columns
    assert before["cosine"].is_monotonic_decreasing
    picker = app.selectbox(key="emb_item")
    picked_title = picker.options[5].rsplit(" (", 1)[0]  # options are the formatted labels
    picker.select_index(5).run()
    after = neighbours_table(app)
    assert list(after["title"]) != list(before["title"])
    assert picked_title not in set(after["title"])  # an item is not its own neighbour
    app.button_group(key="emb_metric").set_value("euclidean").run()
    table = neighbours_table(app)
    assert "distance" in table.columns and table["distance"].is_monotonic_increasing
    app.number_input(key="emb_n_neighbours").set_value(3).run()
    assert len(neighbours_table(app)) == 3


def test_biases_tables_and_scatter(with_model, tiny_model):
    app = with_model
    low, high = bias_tables(app)
    assert low["bias"].is_monotonic_increasing and high["bias"].is_monotonic_decreasing
    assert (low["ratings"] >= 20).all()
    app.slider(key="emb_bias_min_count").set_value(100).run()
    assert (bias_tables(app)[0]["ratings"] >= 100).all()
    assert any(s["layout"]["yaxis"]["title"]["text"] == "learned item bias" for s in charts(app))


# Streamlit's named column widths in pixels
WIDTHS = {"small": 75, "medium": 200, "large": 400}


def test_bias_tables_fit_half_a_1280_px_page(with_model):
    # each bias table gets about 385 px at 1280 x 720; a 200 px title column pushed "mean" out of view
    tables = [el for el in with_model.dataframe if "bias" in el.value.columns]
    assert len(tables) == 2
    for table in tables:
        config = json.loads(table.proto.columns)
        assert list(table.value.columns) == ["title", "bias", "ratings", "mean"]
        widths = [config[name]["width"] for name in table.value.columns]
        assert sum(WIDTHS.get(w, w) for w in widths) <= 370, widths


def test_recovery_of_the_planted_truth_is_shown(with_model):
    metrics = {m.label: m.value for m in with_model.metric}
    assert float(metrics["Bias correlation (learned vs planted)"]) > 0.8
    assert float(metrics["Genre from factors (accuracy)"].rstrip("%")) > 50  # chance is 12.5%


def test_one_hot_lookup_is_computed_for_the_chosen_user(with_model, tiny_model):
    app = with_model
    user = app.selectbox(key="emb_lookup_user").options[3]
    app.selectbox(key="emb_lookup_user").select_index(3).run()
    product = lookup_product(app)
    index = int(app.selectbox(key="emb_lookup_user").value)
    np.testing.assert_allclose(product.iloc[0].to_numpy(), product.iloc[1].to_numpy())
    np.testing.assert_allclose(
        product.iloc[1].to_numpy(), tiny_model.user_factors()[index][:6].round(4), atol=1e-4
    )
    assert "identical" in texts(app) and user


def test_export_buttons_exist(with_model):
    app = with_model
    assert app.get("download_button")
    app.button_group(key="emb_export_table").set_value("users").run()
    assert not app.exception, app.exception


def test_a_click_on_the_map_picks_the_item_once():
    """The selection handler turns a point's customdata into an item, once per click, not on every rerun."""
    store: dict = {}
    event = {"selection": {"points": [{"customdata": ["7", "12 ratings"]}]}}
    assert embeddings_view.clicked_item(event, store) == 7
    assert embeddings_view.clicked_item(event, store) is None  # the same selection, seen again on a rerun
    assert embeddings_view.clicked_item({"selection": {"points": []}}, store) is None
    assert embeddings_view.clicked_item(event, store) == 7


def test_a_common_search_rings_every_match_but_labels_only_a_few(with_model):
    """Issue 14: searching "The" wrote every title on the map."""
    from collab.plots.embeddings import MAX_LABELS

    app = with_model
    app.text_input(key="emb_search").input("The").run()
    ring = [t for t in map_spec(app)["data"] if t.get("name") == "highlighted"][0]
    written = [t for t in ring["text"] if t]
    assert len(ring["text"]) > 3 * MAX_LABELS
    assert 0 < len(written) <= MAX_LABELS + 1  # (+1: the picked item keeps its label)
    assert f"Titles are written on the {MAX_LABELS} most rated" in texts(app)


def test_neighbours_can_leave_out_rarely_rated_items(with_model):
    app = with_model
    assert app.slider(key="emb_neighbour_min_count").value == 20
    app.slider(key="emb_neighbour_min_count").set_value(100).run()
    table = neighbours_table(app)
    assert len(table) == 10 and (table["ratings"] >= 100).all()


def test_recovery_says_not_applicable_without_biases_and_scores_r2_on_held_out_items(app):
    from collab.training.config import TrainConfig
    from collab.training.loop import train

    data = demo_ratings(seed=0)
    train_set, valid_set = data.split(valid_pct=0.2, seed=42)
    nn = train(train_set, valid_set, TrainConfig(model="nn", epochs=1, seed=0))
    app.session_state[RESULT] = TrainedModel(nn, data.fingerprint, SplitParams())
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Bias correlation (learned vs planted)"] == "not applicable"
    r2 = metrics["Planted factors explained (R², held-out items)"]
    assert not r2.startswith("-0.000") and float(r2) < 0.99


def test_a_real_dataset_can_highlight_one_genre(app, tiny_model):
    import dataclasses

    from ui.state import DATASET, DATASET_SOURCE

    demo = demo_ratings(seed=0)
    names = ("Drama", "Comedy", "Action")
    genres = tuple((names[i % 3],) + (("Comedy",) if i % 5 == 0 else ()) for i in range(demo.n_items))
    real = dataclasses.replace(demo, truth=None, genres=genres)
    app.session_state[DATASET] = real
    app.session_state[DATASET_SOURCE] = "Upload: films.csv"
    app.session_state[RESULT] = TrainedModel(tiny_model, real.fingerprint, SplitParams())
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    picker = app.selectbox(key="emb_genre")
    assert picker.options[1:] == ["Comedy", "Drama", "Action"]  # commonest first
    picker.set_value("Comedy").run()
    spec = map_spec(app)
    groups = {t["name"]: _length(t["x"]) for t in spec["data"] if t.get("name") != "highlighted"}
    n_comedy = sum("Comedy" in g for g in genres)
    assert groups == {"Comedy": n_comedy, "other genres": demo.n_items - n_comedy}


def test_without_genres_the_map_is_not_coloured_by_genre(app, tiny_model):
    """An uploaded file with no items file has no genres: 'Genre' would paint every point 'unknown'."""
    import dataclasses

    from ui.state import DATASET, DATASET_SOURCE

    plain = dataclasses.replace(demo_ratings(seed=0), truth=None, genres=None)
    app.session_state[DATASET] = plain
    app.session_state[DATASET_SOURCE] = "Upload: ratings.csv"
    app.session_state[RESULT] = TrainedModel(tiny_model, plain.fingerprint, SplitParams())
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    colour = app.selectbox(key="emb_colour_items")
    assert colour.options == ["Learned bias", "Number of ratings"] and colour.value == "bias"
    spec = map_spec(app)
    assert not any(t.get("name") == "unknown" for t in spec["data"])


def test_a_dataset_with_ten_items_or_fewer_shows_them_all_without_a_slider(app):
    """A slider needs min < max: with 8 items the map shows all of them instead of raising."""
    import pandas as pd

    from collab.data.ratings import Ratings
    from collab.training.config import TrainConfig
    from collab.training.loop import train
    from ui.state import DATASET, DATASET_SOURCE

    rng = np.random.default_rng(0)
    rows = [(u, i, float(rng.integers(1, 6))) for u in range(30) for i in range(8) if rng.random() < 0.8]
    small = Ratings.from_frame(pd.DataFrame(rows, columns=["user", "item", "rating"]), name="small.csv")
    train_set, valid_set = small.split(valid_pct=0.2, seed=42)
    model = train(train_set, valid_set, TrainConfig(n_factors=4, epochs=1, seed=0))
    app.session_state[DATASET] = small
    app.session_state[DATASET_SOURCE] = "Upload: small.csv"
    app.session_state[RESULT] = TrainedModel(model, small.fingerprint, SplitParams())
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    assert not [s for s in app.slider if s.key == "emb_n_items"]
    assert "All 8 items shown." in texts(app)
    assert scatter_points(map_spec(app)) >= 8
