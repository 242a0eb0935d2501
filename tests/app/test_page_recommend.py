"""Recommend page: no model, a user's top-N, more like this, cold start, ranking quality, downloads, uploads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from collab.data.demo import demo_ratings
from collab.data.ratings import Ratings
from collab.training.config import TrainConfig
from collab.training.loop import train
from collab.training.result import load
from tests.app.conftest import charts, texts
from ui import recommend_view
from ui.state import RESULT, SplitParams, TrainedModel

PAGE = "app_pages/recommend.py"


@pytest.fixture(scope="module")
def model_file(tiny_model, tmp_path_factory) -> bytes:
    return tiny_model.save(tmp_path_factory.mktemp("model") / "demo.safetensors").read_bytes()


@pytest.fixture
def with_model(app, tiny_model):
    app.session_state[RESULT] = TrainedModel(tiny_model, demo_ratings(seed=0).fingerprint, SplitParams())
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def recommendation_tables(app) -> list:
    """The tables with predicted ratings, in page order: a user's list, then the new user's."""
    return [element.value for element in app.dataframe if "predicted" in element.value.columns]


def upload(app, name: str, data: bytes) -> None:
    app.file_uploader(key="rec_upload").set_value((name, data, "application/octet-stream")).run()


def test_without_a_model_the_page_links_to_train_and_offers_an_upload(app):
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    assert "no trained model" in texts(app)
    assert any("train" in link.proto.page.lower() for link in app.get("page_link"))
    assert app.file_uploader(key="rec_upload")
    assert not recommendation_tables(app)


def test_top_n_for_a_user_excludes_rated_items_and_shows_the_parts(with_model):
    app = with_model
    ratings = demo_ratings(seed=0)
    table = recommendation_tables(app)[0]
    assert len(table) == 10
    assert {"item bias", "user·item"} <= set(table.columns)
    assert table["predicted"].is_monotonic_decreasing
    user = app.selectbox(key="rec_user").value  # options are user indices, shown by label
    rated_titles = set(ratings.titles[ratings.item_ids[ratings.user_ids == user]])
    assert not rated_titles & set(table["title"])
    app.number_input(key="rec_n").set_value(5).run()
    assert len(recommendation_tables(app)[0]) == 5
    app.selectbox(key="rec_user").select_index(10).run()
    assert not app.exception, app.exception
    assert "Rated highest" in texts(app)


def test_more_like_this_lists_similar_items(with_model):
    app = with_model
    app.selectbox(key="rec_similar_item").select_index(3).run()
    similar = [e.value for e in app.dataframe if "cosine" in e.value.columns]
    assert len(similar) == 1 and len(similar[0]) == 10


def test_more_like_this_has_the_embeddings_pages_min_ratings_filter(with_model):
    # on MovieLens an item rated twice ranked third beside Star Wars: rarely rated items have noisy factors
    app = with_model
    app.selectbox(key="rec_similar_item").select_index(3).run()
    slider = app.slider(key="rec_similar_min_count")
    assert slider.label == "Only neighbours with at least this many ratings"
    assert slider.value == 20
    slider.set_value(1).run()
    [unfiltered] = [e.value for e in app.dataframe if "cosine" in e.value.columns]
    assert (unfiltered["ratings"] < 100).any()  # the filter below has something to remove
    app.slider(key="rec_similar_min_count").set_value(100).run()
    assert not app.exception, app.exception
    [similar] = [e.value for e in app.dataframe if "cosine" in e.value.columns]
    assert len(similar) == 10 and (similar["ratings"] >= 100).all()


def test_cold_start_fold_in_recommends_for_a_new_user(with_model):
    app = with_model
    assert "Rate at least one item" in texts(app)
    radios = [r for r in app.radio if (r.key or "").startswith("rec_new_")]
    assert len(radios) == 8
    for radio, stars in zip(radios[:4], (5, 5, 1, 2), strict=True):
        radio.set_value(stars)
    app.run()
    assert not app.exception, app.exception
    assert "Recommended for you" in texts(app)
    assert "from 4 ratings" in texts(app)
    new_user = recommendation_tables(app)[1]
    assert len(new_user) == 10 and new_user["predicted"].is_monotonic_decreasing
    rated = {radio.label for radio in radios[:4]}
    assert not rated & set(new_user["title"])


def test_cold_start_can_add_searched_items(with_model):
    app = with_model
    search = app.multiselect(key="rec_new_search")
    search.select(search.options[-1]).run()
    assert len([r for r in app.radio if (r.key or "").startswith("rec_new_")]) == 9


def test_ranking_quality_against_popularity_with_selectable_k(with_model):
    app = with_model
    (spec,) = [s for s in charts(app) if any(t.get("name") == "popularity" for t in s["data"])]
    # the whole catalogue by default, the protocol of result.metrics' plain names
    names = ["precision@10", "recall@10", "ndcg@10", "hit_rate@10", "map@10", "mrr@10"]
    assert list(spec["data"][0]["x"]) == names
    assert "did not rate in training (the protocol of published results)" in texts(app)
    app.slider(key="rec_k").set_value(5).run()
    app.radio(key="rec_protocol").set_value("rated").run()
    assert not app.exception, app.exception
    (spec,) = [s for s in charts(app) if any(t.get("name") == "popularity" for t in s["data"])]
    assert list(spec["data"][0]["x"]) == ["precision@5", "recall@5", "ndcg@5"]
    assert "not comparable with published ones" in texts(app)


def test_downloaded_model_bytes_load_back(tiny_model, tmp_path: Path):
    data = recommend_view.model_bytes(tiny_model)
    path = tmp_path / "m.safetensors"
    path.write_bytes(data)
    loaded = load(path)
    np.testing.assert_allclose(loaded.item_factors(), tiny_model.item_factors())


def test_uploading_a_saved_model_makes_it_current(app, model_file):
    app.switch_page(PAGE).run()
    upload(app, "demo.safetensors", model_file)
    assert not app.exception, app.exception
    assert "Loaded the model from demo.safetensors" in texts(app)
    assert recommendation_tables(app), "the page shows recommendations once a model is loaded"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.safetensors", b"this is not a model at all", "Could not load the model"),
        ("../../evil.safetensors", b"\x00" * 64, "Could not load the model"),
    ],
    ids=["foreign-bytes", "path-in-name"],
)
def test_a_foreign_file_gives_a_clear_error(app, name, data, message):
    app.switch_page(PAGE).run()
    upload(app, name, data)
    assert not app.exception, app.exception
    errors = [e.value for e in app.error]
    assert errors and message in errors[0]
    assert "no trained model" in texts(app)


def test_a_model_of_another_dataset_is_refused(app, tmp_path: Path):
    other = Ratings(
        user_ids=np.array([0, 1, 2, 0]),
        item_ids=np.array([0, 1, 2, 2]),
        ratings=np.array([1.0, 3.0, 5.0, 4.0], dtype=np.float32),
        user_labels=np.array(["a", "b", "c"]),
        item_labels=np.array(["x", "y", "z"]),
        name="other",
    )
    foreign = train(other, None, TrainConfig(epochs=1, n_factors=4, batch_size=8))
    data = foreign.save(tmp_path / "other.safetensors").read_bytes()
    app.switch_page(PAGE).run()
    upload(app, "other.safetensors", data)
    assert not app.exception, app.exception
    (error,) = [e.value for e in app.error]
    assert "does not fit the current dataset" in error and "the model has 3 users" in error
    assert "no trained model" in texts(app)


def test_a_model_without_factors_explains_what_it_cannot_do(app):
    ratings = demo_ratings(seed=0)
    train_set, valid_set = ratings.split(valid_pct=0.2, seed=42)
    bias_only = train(train_set, valid_set, TrainConfig(model="bias", epochs=1, seed=0))
    app.session_state[RESULT] = TrainedModel(bias_only, ratings.fingerprint, SplitParams())
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    assert "Fold-in needs the dot-product model" in texts(app)
    assert "no item factors" in texts(app)
    assert len(recommendation_tables(app)[0]) == 10  # biases alone still rank items
    app.switch_page("app_pages/embeddings.py").run()
    assert not app.exception, app.exception
    assert "no embeddings to project" in texts(app)


def test_an_autoencoder_model_recommends_and_maps_its_item_codes(app):
    ratings = demo_ratings(seed=0)
    train_set, valid_set = ratings.split(valid_pct=0.2, seed=42)
    autorec = train(train_set, valid_set, TrainConfig(model="autorec", n_factors=24, epochs=2, seed=0))
    app.session_state[RESULT] = TrainedModel(autorec, ratings.fingerprint, SplitParams())
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    assert len(recommendation_tables(app)[0]) == 10
    assert "Fold-in needs the dot-product model" in texts(app)
    app.switch_page("app_pages/embeddings.py").run()
    assert not app.exception, app.exception
    assert any("PC1" in str(s["layout"].get("xaxis", {})) for s in charts(app))


def test_a_model_with_the_same_labels_from_another_dataset_is_refused(app, tiny_model, tmp_path: Path):
    import dataclasses

    # same users and items as the demo set, but stamped by the app as trained on other ratings
    stamped = dataclasses.replace(tiny_model, dataset="0" * 64)
    data = stamped.save(tmp_path / "lookalike.safetensors").read_bytes()
    app.switch_page(PAGE).run()
    upload(app, "lookalike.safetensors", data)
    assert not app.exception, app.exception
    (error,) = [e.value for e in app.error]
    assert "trained on another dataset" in error and "even if the labels may match" in error


def test_the_ranking_caption_says_who_wins(with_model):
    """Issue 14: the caption said "a model worth having beats it" while popularity won."""
    app = with_model
    app.radio(key="rec_protocol").set_value("catalogue").run()
    (spec,) = [s for s in charts(app) if any(t.get("name") == "popularity" for t in s["data"])]
    model, popular = spec["data"][0]["y"], spec["data"][1]["y"]
    caption = texts(app)
    assert "a model worth having beats it" not in caption
    if all(m < p for m, p in zip(model, popular, strict=True)):
        assert "popularity ranks better" in caption
    elif all(m > p for m, p in zip(model, popular, strict=True)):
        assert "model ranks better than popularity on every measure" in caption
    else:
        assert "the model wins on" in caption


def test_ranking_verdict_names_each_side():
    from collab.evaluate.ranking import RankingQuality

    both = RankingQuality(
        10, "catalogue", 50, {"precision": 0.2, "ndcg": 0.1}, {"precision": 0.1, "ndcg": 0.3}
    )
    assert recommend_view.ranking_verdict(both) == (
        "Here the model wins on precision@10 (0.200 vs 0.100) and popularity on NDCG@10 (0.100 vs 0.300)."
    )
    lost = RankingQuality(5, "catalogue", 50, {"recall": 0.1}, {"recall": 0.2})
    assert "popularity ranks better" in recommend_view.ranking_verdict(lost)
    # a tester's verdict: "popularity ranks better on every measure: precision@10 (0.458 vs 0.458), ..."
    tied = RankingQuality(
        10,
        "rated",
        5,
        {"precision": 0.4581, "recall": 1.0, "ndcg": 0.7},
        {"precision": 0.4579, "recall": 1.0, "ndcg": 0.8},
    )
    verdict = recommend_view.ranking_verdict(tied)
    assert verdict.startswith("Here **popularity ranks better** on this measure: NDCG@10 (0.700 vs 0.800).")
    assert "Tied on precision@10 (0.458 vs 0.458), recall@10 (1.000 vs 1.000)." in verdict
    same = RankingQuality(10, "rated", 5, {"recall": 1.0}, {"recall": 1.0})
    assert recommend_view.ranking_verdict(same).startswith("Here the model and popularity rank alike")
    nothing = RankingQuality(10, "rated", 5, {"recall": float("nan")}, {"recall": float("nan")})
    assert recommend_view.ranking_verdict(nothing).startswith("No measure could be computed")


@pytest.mark.parametrize(
    ("scale", "threshold"), [((1, 5), 4.0), ((0.5, 5), 3.875), ((1, 10), 7.75), ((-10, 10), 5.0)]
)
def test_relevant_means_the_top_quarter_of_the_datas_scale(scale, threshold):
    import numpy as np

    from collab.evaluate.metrics import relevant_threshold

    assert relevant_threshold(np.array([scale[0], (scale[0] + scale[1]) / 2, scale[1]])) == threshold


def test_recommendation_tables_keep_the_scores_beside_long_titles(with_model):
    table = [el for el in with_model.dataframe if "predicted" in el.value.columns][0]
    config = table.proto.columns
    assert '"title"' in config and "medium" in config


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        (lambda r: r * 2, [2, 3, 4, 5, 6, 7, 8, 9, 10]),  # a 1-10 style scale: every whole step
        (lambda r: (r - 3) * 3.3, [-7, -3, 0, 3, 7]),  # continuous, Jester-like: five steps across it
    ],
    ids=["whole-stars-2-10", "continuous"],
)
def test_a_new_user_rates_on_the_datasets_own_scale(app, scale, expected):
    """Not a fixed 1-5: on a 1-10 scale a 5 is below average; on -10..10 a 1-5 radio cannot say 'disliked'."""
    import dataclasses

    from ui.state import DATASET, DATASET_SOURCE

    demo = demo_ratings(seed=0)
    noise = np.random.default_rng(0).uniform(-0.05, 0.05, demo.n_ratings) if len(expected) == 5 else 0
    scaled = dataclasses.replace(
        demo, ratings=(scale(demo.ratings) + noise).astype(demo.ratings.dtype), truth=None
    )
    train_set, valid_set = scaled.split(0.2, 42)
    result = train(train_set, valid_set, TrainConfig(n_factors=4, epochs=1, batch_size=1024))
    app.session_state[DATASET] = scaled
    app.session_state[DATASET_SOURCE] = "Upload: scaled.csv"
    app.session_state[RESULT] = TrainedModel(result, scaled.fingerprint, SplitParams())
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    radios = [r for r in app.radio if (r.key or "").startswith("rec_new_")]
    assert radios and radios[0].options[1:] == [str(v) for v in expected]
    radios[0].set_value(expected[-1]).run()
    assert not app.exception, app.exception
    assert "Recommended for you" in texts(app)


def test_a_model_files_text_is_inert_in_the_mismatch_error(app, tiny_model, tmp_path: Path):
    """The mismatch error quotes the file's labels and fingerprint: a Markdown image, a link or U+202E in
    them shows as text (an image loaded, a fake link appeared, the message read backwards)."""
    import dataclasses

    hostile = "![x](http://127.0.0.1:9/pixel.png) [Download the fixed model here](http://127.0.0.1:9/)\u202e"
    labels = np.array([hostile, *tiny_model.item_labels[1:]], dtype=object)
    forged = dataclasses.replace(tiny_model, item_labels=labels, dataset="")
    data = forged.save(tmp_path / "forged.safetensors").read_bytes()
    app.switch_page(PAGE).run()
    upload(app, "forged.safetensors", data)
    assert not app.exception, app.exception
    (error,) = [e.value for e in app.error]
    assert "does not fit the current dataset" in error
    import re

    assert not re.search(r"(?<!\\)!(?<!\\)\[|(?<!\\)\]\(", error), "an image or a link stays Markdown"
    assert "\u202e" not in error and "U+202E" in error


def test_a_long_model_file_name_gives_a_message_not_a_traceback(app, model_file):
    app.switch_page(PAGE).run()
    upload(app, "m" * 300 + ".safetensors", model_file)
    assert not app.exception, app.exception
    assert not any("/tmp" in e.value for e in app.error)
    assert "Loaded the model" in texts(app)
