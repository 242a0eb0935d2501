"""Implicit feedback through the app: an interactions file (no rating column) read as "seen it" on Data,
a ranking model trained on Train (ranking metrics beside popularity, no RMSE), and the Recommend page
ranking with it and saying so; a ratings set turned into "seen it"."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.app.conftest import texts


def interactions_csv(seed: int = 0, n_users: int = 80, n_items: int = 48, groups: int = 4) -> bytes:
    """user,item,timestamp rows, no rating column: each user picks items of their group (planted), and
    a few popular items everyone sees."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        mine = np.flatnonzero(np.arange(n_items) % groups == u % groups)
        picked = list(rng.permutation(mine)[:9]) + [n_items - 1 - (u % 3)]
        rows += [(f"user{u}", f"item{i}", 1_600_000_000 + 60 * len(rows) + k) for k, i in enumerate(picked)]
    frame = pd.DataFrame(rows, columns=["user", "item", "timestamp"]).drop_duplicates(["user", "item"])
    return frame.to_csv(index=False).encode()


def _load_interactions(app):
    app.switch_page("app_pages/data.py").run()
    app.radio(key="data_source").set_value("upload").run()
    app.file_uploader(key="data_upload").upload("plays.csv", interactions_csv(), "text/csv").run()
    assert not app.exception, app.exception
    assert app.selectbox(key="data_map_rating").value == "(none)"  # no rating column to map
    app.selectbox(key="data_counts").set_value("binary").run()
    assert "seen it" in texts(app) and "binary cross-entropy" in texts(app)  # the reason, before loading
    app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    assert "Loaded Upload: plays.csv" in texts(app)
    assert "every value is 1, so these are interactions" in texts(app)


def test_interactions_file_data_train_recommend(app):
    _load_interactions(app)

    app.switch_page("app_pages/train.py").run()
    app.selectbox(key="train_model").set_value("bce").run()
    assert not app.exception, app.exception
    assert app.radio(key="train_implicit_loss").value == "bce"
    assert app.slider(key="train_implicit_negatives").value == 2  # the tuned BCE default
    assert app.slider(key="train_implicit_epochs").value == 60
    app.slider(key="train_implicit_epochs").set_value(40).run()
    assert "Examples per epoch" in texts(app)
    app.button(key="train_button").click().run()
    assert not app.exception, app.exception
    shown = texts(app)
    metrics = {m.label: m.value for m in app.metric}
    assert "Validation RMSE" not in metrics
    ndcg, popular = float(metrics["NDCG@10"]), float(metrics["Popularity NDCG@10"])
    assert ndcg > popular  # planted groups: the model ranks a user's group above the popular items
    assert "Ranks better than popularity" in shown and "Whole-catalogue ranking" in shown
    table = next(df.value for df in app.dataframe if "popularity" in df.value.columns)
    assert list(table["metric"]) == ["NDCG@10", "Hit rate@10", "Precision@10", "Recall@10"]
    assert "NDCG@10" in "\n".join(str(c.value) for c in app.sidebar.caption)
    # the runs table takes the ranking model's run (no RMSE) without failing
    assert any("valid RMSE" in df.value.columns for df in app.dataframe)

    app.switch_page("app_pages/recommend.py").run()
    assert not app.exception, app.exception
    shown = texts(app)
    assert "Ranked by the current model, **Binary cross-entropy" in shown
    recs = next(df.value for df in app.dataframe if "score" in df.value.columns)
    assert len(recs) == 10 and recs["score"].is_monotonic_decreasing
    popular_table, seen = (df.value for df in app.dataframe if list(df.value.columns) == ["title", "seen by"])
    assert len(popular_table) == 10 and popular_table["seen by"].is_monotonic_decreasing
    assert len(seen) and not (set(recs["title"]) | set(popular_table["title"])) & set(seen["title"])
    assert "New user" not in shown  # fold-in needs a rating model
    assert "Ranks better than popularity" in shown


def test_switching_the_loss_switches_the_model_and_its_tuned_settings(app):
    _load_interactions(app)
    app.switch_page("app_pages/train.py").run()
    app.selectbox(key="train_model").set_value("bpr").run()
    assert app.slider(key="train_implicit_epochs").value == 120
    app.slider(key="train_implicit_epochs").set_value(7).run()
    assert app.slider(key="train_implicit_epochs").value == 7  # a value given is kept
    app.radio(key="train_implicit_loss").set_value("bce").run()
    assert not app.exception, app.exception
    assert app.selectbox(key="train_model").value == "bce"
    assert app.slider(key="train_implicit_negatives").value == 2
    for tab_text in ("weight-decay sweep is for the rating models", "gradient-accumulation lab is for"):
        assert tab_text in texts(app).lower()


def test_a_ratings_set_becomes_seen_it_with_the_reason(app):
    app.switch_page("app_pages/data.py").run()
    assert "use these ratings as “seen it”" in texts(app)
    app.button(key="data_seen_it").click().run()
    assert not app.exception, app.exception
    shown = texts(app)
    assert "as “seen it”" in shown and "every value is 1" in shown
    assert "Every rating was turned into “seen it”" in shown  # the reason, in the data's notes


def test_the_recommend_page_says_a_rating_model_ranks(app, tiny_model):
    from collab.data.demo import demo_ratings
    from ui.state import RESULT, SplitParams, TrainedModel

    app.session_state[RESULT] = TrainedModel(tiny_model, demo_ratings(seed=0).fingerprint, SplitParams())
    app.switch_page("app_pages/recommend.py").run()
    assert not app.exception, app.exception
    assert "Ranked by the current model, **Dot product + biases**: the predicted rating" in texts(app)


def test_the_playgrounds_bce_trains_a_recommender_past_popularity(app):
    app.switch_page("app_pages/loss_playground.py").run()
    assert not app.exception, app.exception
    examples = next(df.value for df in app.dataframe if "p = sigmoid(logit)" in df.value.columns)
    assert sorted(examples["label"]) == [0, 0, 0, 1, 1, 1]
    assert "Untrained" in texts(app)
    before = float(next(m.value for m in app.metric if m.label.startswith("NDCG@10")))
    app.button(key="loss_bce_rec_five").click().run()
    assert not app.exception, app.exception
    after = float(next(m.value for m in app.metric if m.label.startswith("NDCG@10")))
    assert after > before
    assert "ranks better than popularity" in texts(app)
    examples = next(df.value for df in app.dataframe if "p = sigmoid(logit)" in df.value.columns)
    shown = texts(app)
    mean = examples["loss"].mean()
    assert f"Mean of the losses: {mean:.4f}"[:-1] in shown  # the table's mean is the one the caption checks
