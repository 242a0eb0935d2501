"""Train page: a full train on the demo set, the cache, the batch-size rule, the sweep and the lab."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from collab.training.config import PRESETS
from tests.app.conftest import charts, tab_places, texts


def _runs(app):
    """The session's run table (the dataframe with a 'valid RMSE' column)."""
    tables = [df.value for df in app.dataframe if "valid RMSE" in df.value.columns]
    assert len(tables) == 1
    return tables[0]


def _open_train(app, epochs: int = 3):
    app.switch_page("app_pages/train.py").run()
    assert not app.exception, app.exception
    app.slider(key="train_epochs").set_value(epochs).run()
    return app


def test_full_train_shows_chart_metrics_and_run_table(app):
    _open_train(app)
    app.button(key="train_button").click().run()
    assert not app.exception, app.exception
    metrics = {m.label: m.value for m in app.metric}
    rmse = float(metrics["Validation RMSE"])
    oracle = float(metrics["Best possible RMSE"])
    assert oracle < rmse < 1.2
    loss_charts = [
        s for s in charts(app) if len(s["data"]) >= 2 and "loss" in str(s["layout"].get("title", "")).lower()
    ]
    assert loss_charts, "the train/valid loss chart must be shown"
    assert "Trained in" in texts(app)
    sidebar = "\n".join(str(c.value) for c in app.sidebar.caption)
    assert "valid RMSE" in sidebar
    assert len(_runs(app)) == 1


def test_second_identical_train_hits_the_cache(app):
    _open_train(app)
    app.button(key="train_button").click().run()
    first = {m.label: m.value for m in app.metric}["Validation RMSE"]
    app.button(key="train_button").click().run()
    assert not app.exception, app.exception
    assert "Loaded from cache" in texts(app)
    assert {m.label: m.value for m in app.metric}["Validation RMSE"] == first
    assert len(_runs(app)) == 2


def test_batch_size_moves_in_steps_of_eight(app):
    app.switch_page("app_pages/train.py").run()
    slider = app.slider(key="train_batch_size")
    assert slider.step == 8 and slider.min % 8 == 0 and slider.max % 8 == 0
    slider.set_value(100).run()  # a value the real slider cannot produce
    assert not app.exception, app.exception
    assert "multiple of 8" in texts(app)
    assert "104" in texts(app) or "96" in texts(app)


def test_memory_estimate_grows_with_factors(app):
    app.switch_page("app_pages/train.py").run()
    before = {m.label: m.value for m in app.metric}["Parameters"]
    app.slider(key="train_n_factors").set_value(150).run()
    after = {m.label: m.value for m in app.metric}["Parameters"]
    assert before != after
    assert before.endswith((" KiB", " MiB")) and after.endswith((" KiB", " MiB"))  # binary units, named so


def test_weight_decay_sweep_draws_one_curve_per_value(app):
    _open_train(app, epochs=2)
    app.button(key="train_sweep_button").click().run()
    assert not app.exception, app.exception
    sweep = [s for s in charts(app) if "weight decay" in str(s["layout"].get("title", "")).lower()]
    assert len(sweep) == 1
    assert len([t for t in sweep[0]["data"] if t.get("mode", "lines") != "markers"]) >= 4


def test_accumulation_lab_shows_equal_gradients(app):
    app.switch_page("app_pages/train.py").run()
    app.button(key="train_lab_button").click().run()
    assert not app.exception, app.exception
    diff = float({m.label: m.value for m in app.metric}["Largest gradient difference"])
    assert diff < 1e-5


def test_the_autoencoder_has_its_own_knobs_and_trains(app):
    app.switch_page("app_pages/train.py").run()
    app.selectbox(key="train_model").set_value("autorec").run()
    assert not app.exception, app.exception
    keys = {s.key for s in app.slider} | {s.key for s in app.select_slider}
    assert {"train_autorec_hidden", "train_autorec_l2", "train_autorec_rounds"} <= keys
    assert "train_batch_size" not in keys and "train_lr" not in keys  # full batch, no learning rate
    assert "L-BFGS history" in texts(app)  # the default fits: the memory check passed, the costs show
    hidden = app.slider(key="train_autorec_hidden").value
    assert hidden == 500 or f"**Hidden units** starts at {hidden} on this dataset" in texts(app)
    assert "nothing to accumulate" in texts(app) and "own scale" in texts(app)
    app.slider(key="train_autorec_hidden").set_value(50).run()
    app.slider(key="train_autorec_rounds").set_value(2).run()
    app.button(key="train_button").click().run()
    assert not app.exception, app.exception
    assert "Trained in" in texts(app)
    assert 0 < float({m.label: m.value for m in app.metric}["Validation RMSE"]) < 1.5
    assert "Autoencoder" in _runs(app)["model"].iloc[0]


def test_blend_members_fit_the_servers_memory_or_the_button_says_why(app):
    from ui import budget

    app.switch_page("app_pages/train.py").run()
    assert app.multiselect(key="train_blend_models").value == ["autorec", "dot"]
    if not budget.current().training_fits(
        PRESETS["autorec"], 2000, 400, 61_000
    ):  # the demo set: the autoencoder member starts at the most hidden units that fit, not the paper's 500
        assert not any("500 hidden units" in c.value for c in app.caption)
        assert any("Autoencoder" in c.value and "hidden units" in c.value for c in app.caption)
    assert not app.button(key="train_blend_button").disabled
    app.selectbox(key="train_model").set_value("autorec").run()
    app.slider(key="train_autorec_hidden").set_value(1000).run()  # chosen: the blend uses it as shown
    assert not app.exception, app.exception
    if not budget.current().training_fits(
        dataclasses.replace(PRESETS["autorec"], n_factors=1000), 2000, 400, 61_000
    ):
        assert "over one training's share of this server's memory" in texts(app)
        assert app.button(key="train_blend_button").disabled


def test_blend_tab_trains_two_models_and_shows_the_weights(app):
    app.switch_page("app_pages/train.py").run()
    picker = app.multiselect(key="train_blend_models")
    assert picker.value == ["autorec", "dot"]  # the recipe that measured best on MovieLens
    picker.set_value(["dot"]).run()
    assert "at least two models" in texts(app)
    assert app.button(key="train_blend_button").disabled
    app.multiselect(key="train_blend_models").set_value(["dot", "bias"]).run()
    app.button(key="train_blend_button").click().run()
    assert not app.exception, app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert {"Blend RMSE", "Dot product + biases alone", "Biases only (baseline) alone"} <= set(metrics)
    blend_rmse = float(metrics["Blend RMSE"])
    assert 0 < blend_rmse < 1.5
    (weights,) = [df.value for df in app.dataframe if "weight" in df.value.columns]
    assert list(weights["model"]) == ["Dot product + biases", "Biases only (baseline)"]
    assert "Blend: Dot product + biases + Biases only (baseline)" in list(_runs(app)["model"])
    row = _runs(app).iloc[0]  # the blend's own row: its source, size and baseline, nothing escaped
    assert row["from"] == "Blend" and row["size"] == "2 models" and row["mean RMSE"] > 0
    assert row["settings"].startswith("intercept ")
    app.button(key="train_button").click().run()  # the blend's dot model went through the model cache
    assert "Loaded from cache" in texts(app)
    from ui import cached

    # its 90% trainings too (on the training pool, kept under their own key), not on the page's thread
    holdout_keys = [
        key
        for key in cached.model_store()._items
        if isinstance(key[1], tuple) and key[1][0] == "blend holdout"
    ]
    assert {key[2].model for key in holdout_keys} == {"dot", "bias"}


def test_the_autoencoder_refuses_a_table_too_big_with_the_reason(app):
    import numpy as np

    from collab.data.ratings import Ratings
    from ui.state import DATASET, DATASET_SOURCE

    n_users, n_items = 10_000, 5_000  # 50M cells: more than the autoencoder's dense limit
    ids = np.arange(n_users)
    app.session_state[DATASET] = Ratings(
        user_ids=ids,
        item_ids=ids % n_items,
        ratings=(ids % 5 + 1).astype(np.float32),
        user_labels=ids.astype(str),
        item_labels=np.arange(n_items).astype(str),
        name="wide",
    )
    app.session_state[DATASET_SOURCE] = "wide test set"
    app.switch_page("app_pages/train.py").run()
    app.selectbox(key="train_model").set_value("autorec").run()
    assert not app.exception, app.exception
    assert "dense items x users matrix" in texts(app) and "Use the dot-product model" in texts(app)
    assert app.button(key="train_button").disabled
    assert app.button(key="train_blend_button").disabled  # the blend's default members include it


def _sidebar_model(app) -> str:
    return "\n".join(str(c.value) for c in app.sidebar.caption)


def test_the_sweep_keeps_the_current_model_until_a_member_is_picked(app):
    _open_train(app, epochs=2)
    app.button(key="train_button").click().run()
    before = {m.label: m.value for m in app.metric}["Validation RMSE"]
    app.button(key="train_sweep_button").click().run()
    assert not app.exception, app.exception
    # the current model (wd 0.7) stays: results, sidebar and knobs agree
    assert {m.label: m.value for m in app.metric}["Validation RMSE"] == before
    assert "wd 0.7," in _sidebar_model(app)
    assert "Current model:" in texts(app) and "wd 0.7," in texts(app)
    from ui.training_view import SWEEP_DECAYS

    assert len(_runs(app)) == 1 + len({*SWEEP_DECAYS, 0.7})  # the current wd and the sweep's own values
    assert set(_runs(app)["from"]) == {"Train", "sweep"}
    app.selectbox(key="train_sweep_pick").set_value(0.0).run()
    app.button(key="train_sweep_use").click().run()
    assert not app.exception, app.exception
    assert "wd 0," in _sidebar_model(app)
    assert app.select_slider(key="train_wd").value == 0.0, "the knobs follow the picked member"
    assert "knobs above show other settings" not in texts(app)
    assert "is now the current model" in texts(app)


def test_steps_per_epoch_and_a_batch_larger_than_the_training_set(app):
    app.switch_page("app_pages/train.py").run()
    effective = [m for m in app.metric if m.label == "Effective batch"][0]
    assert "steps per epoch" in str(effective.proto.delta)
    app.slider(key="train_batch_size").set_value(4096).run()
    app.slider(key="train_accum").set_value(16).run()
    assert not app.exception, app.exception
    assert "larger than the training set" in texts(app)
    assert "1 step per epoch" in str([m for m in app.metric if m.label == "Effective batch"][0].proto.delta)


def test_models_that_do_not_use_the_factors_slider_say_what_they_use(app):
    app.switch_page("app_pages/train.py").run()
    assert not app.slider(key="train_n_factors").disabled
    app.selectbox(key="train_model").set_value("nn").run()
    assert app.slider(key="train_n_factors").disabled
    assert "sizes its own embeddings" in texts(app)
    app.slider(key="train_epochs").set_value(1).run()
    app.button(key="train_button").click().run()
    assert not app.exception, app.exception
    assert "64 factors" not in _sidebar_model(app) and "embeddings" in _sidebar_model(app)
    assert "64" not in str(_runs(app)["size"].iloc[0])
    app.selectbox(key="train_model").set_value("bias").run()
    assert app.slider(key="train_n_factors").disabled
    app.button(key="train_button").click().run()
    assert "no factors" in _sidebar_model(app)
    assert _runs(app)["size"].iloc[0] == "no factors"


def test_the_classifiers_cross_entropy_chart_has_no_mse_noise_floor(app):
    _open_train(app, epochs=2)
    app.button(key="train_button").click().run()
    (chart,) = [s for s in charts(app) if "Loss per epoch" in str(s["layout"].get("title", ""))]
    assert "noise floor" in str(chart["layout"].get("annotations", ""))
    app.selectbox(key="train_model").set_value("classifier").run()
    app.button(key="train_button").click().run()
    assert not app.exception, app.exception
    (chart,) = [s for s in charts(app) if "Loss per epoch" in str(s["layout"].get("title", ""))]
    assert "noise floor" not in str(chart["layout"].get("annotations", ""))
    assert "cross-entropy" in str(chart["layout"]["yaxis"]["title"])


def test_a_reloaded_page_follows_the_training_its_settings_started(app, monkeypatch):
    """A tester reloaded a page while its training ran: the page showed nothing, and the sidebar said
    "None trained yet", until Train was pressed again. Now the page finds the job and follows it."""
    import threading

    from collab.data.demo import demo_ratings
    from collab.training.loop import train
    from ui import cached

    app.switch_page("app_pages/train.py").run()
    asked = []
    real_pending = cached.pending
    monkeypatch.setattr(cached, "pending", lambda *key: asked.append(key) or real_pending(*key))
    app.run()
    fingerprint, params, config = asked[-1]  # what this page's settings are keyed by
    split = demo_ratings(seed=0).split(valid_pct=params.valid_pct, seed=params.seed, method=params.method)
    trained = train(split.train, split.valid, config)
    gate = threading.Event()

    def run(job):  # the old tab's training, still running
        gate.wait(10)
        return trained, False

    job = cached.training_pool().submit((fingerprint, params, config), run, "the-tab-before-the-reload")
    threading.Timer(1.0, gate.set).start()
    app.run()
    assert not app.exception, app.exception
    assert job.finished
    assert "following it" not in texts(app)  # the notice gives way to the outcome
    assert f"Trained in {trained.seconds:.2f} s" in texts(app)
    assert "Set the knobs and press" not in texts(app)
    assert float({m.label: m.value for m in app.metric}["Validation RMSE"]) == pytest.approx(
        trained.metrics["rmse"], abs=1e-3
    )


def test_a_click_that_joins_a_classmates_training_of_the_same_settings_says_it_trained(app, monkeypatch):
    """Two students with the same ratings (different titles) share one training: the second one's click
    joined the first one's job, and the page showed the results with no result text at all (the
    adversarial benchmark's "twin A"). It says what a click says, and the run is in the table once."""
    import threading

    from collab.data.demo import demo_ratings
    from collab.training.loop import train
    from ui import cached

    app.switch_page("app_pages/train.py").run()
    asked = []
    real_pending = cached.pending
    monkeypatch.setattr(cached, "pending", lambda *key: asked.append(key) or real_pending(*key))
    app.run()
    fingerprint, params, config = asked[-1]
    split = demo_ratings(seed=0).split(valid_pct=params.valid_pct, seed=params.seed, method=params.method)
    trained = train(split.train, split.valid, config)
    gate = threading.Event()

    def run(job):  # the classmate's training of the same data, split and settings, still running
        gate.wait(10)
        return trained, False

    job = cached.training_pool().submit((fingerprint, params, config), run, "a-classmates-session")
    threading.Timer(1.0, gate.set).start()
    app.button(key="train_button").click().run()
    assert not app.exception, app.exception
    assert job.finished
    assert f"Trained in {trained.seconds:.2f} s" in texts(app) and "under way" in texts(app)
    assert len(_runs(app)) == 1


def test_the_blends_time_leaves_out_its_wait_in_line(app):
    """A tester's blend said "Trained in 46.0 s" after ~40 s in the line: the wait is not training time."""
    import threading

    from ui import cached, state

    app.switch_page("app_pages/train.py").run()
    gate = threading.Event()
    pool = cached.training_pool()
    for worker in range(pool.workers):  # every worker busy with someone else's training
        pool.submit(("someone else's training", worker), lambda job: gate.wait(10), f"another-tab-{worker}")
    threading.Timer(5.0, gate.set).start()  # 5 s in the line: the bug reported at least that
    app.multiselect(key="train_blend_models").set_value(["dot", "bias"]).run()
    app.button(key="train_blend_button").click().run()
    assert not app.exception, app.exception
    assert gate.is_set()  # it did wait behind the other training
    assert app.session_state[state.BLEND].blend.seconds < 5.0  # its four trainings alone: ~1 s


def test_a_knob_the_model_ignores_does_not_train_it_again(app):
    app.switch_page("app_pages/train.py").run()
    app.slider(key="train_n_factors").set_value(11).run()
    app.selectbox(key="train_model").set_value("bias").run()  # (the factors slider is now disabled)
    app.button(key="train_button").click().run()
    assert "Trained in" in texts(app)
    app.selectbox(key="train_model").set_value("dot").run()
    app.slider(key="train_n_factors").set_value(13).run()
    app.slider(key="train_hidden").set_value(64).run()
    app.selectbox(key="train_model").set_value("bias").run()
    app.button(key="train_button").click().run()
    assert not app.exception, app.exception
    assert "Loaded from cache" in texts(app)


def test_the_tabs_keep_their_place_whatever_the_page_shows_above_them(app):
    # "Trained in", the cache note and the flash come and go above the tabs; the tabs must not move, or
    # the browser rebuilds them and a student in "Blend models" is thrown back to the first tab
    _open_train(app, epochs=2)
    before = tab_places(app)
    app.button(key="train_button").click().run()
    assert "Trained in" in texts(app)
    after_training = tab_places(app)
    app.multiselect(key="train_blend_models").set_value(["dot", "bias"]).run()
    assert "Trained in" not in texts(app)
    assert before == after_training == tab_places(app) and len(before) == 1


def test_the_batch_knobs_come_back_with_their_values_after_the_autoencoder(app):
    # the browser draws a widget from what the server sends: a knob seeded while the autoencoder's knobs
    # were shown instead came back drawn at its minimum (1 factor, lr 0.0001) and the next rerun sent that
    app.switch_page("app_pages/train.py").run()
    app.selectbox(key="train_model").set_value("autorec").run()
    app.run()  # a second run without the batch knobs (moving an autoencoder knob does the same)
    app.selectbox(key="train_model").set_value("dot").run()
    assert not app.exception, app.exception
    for key, value in (("train_n_factors", 64), ("train_batch_size", 512)):
        sent = app.slider(key=key).proto
        assert sent.set_value and list(sent.value) == [value], (key, sent)
    lr = app.select_slider(key="train_lr").proto
    assert lr.set_value, lr


def test_a_training_left_behind_by_a_moved_knob_is_shown_with_a_cancel(app, monkeypatch):
    """A tester moved a knob while a training ran: the progress and Cancel vanished, the page said
    "Set the knobs and press Train", and the training held the only trainer unseen."""
    import dataclasses
    import time

    from ui import cached
    from ui.pool import CANCELLED

    app.switch_page("app_pages/train.py").run()
    asked, sessions = [], []
    real_pending, real_mine = cached.pending, cached.my_jobs
    monkeypatch.setattr(cached, "pending", lambda *key: asked.append(key) or real_pending(*key))
    monkeypatch.setattr(cached, "my_jobs", lambda: sessions.append(cached.session_id()) or real_mine())
    app.run()
    fingerprint, params, config = asked[-1]  # what this page's settings are keyed by, and whose page it is
    before = dataclasses.replace(config, n_factors=12)  # the knob was at 12 when Train was pressed

    def run(job):  # the training the knob left behind: runs until cancelled
        for epoch in range(500):
            job.record(epoch)
            time.sleep(0.01)
        return None

    job = cached.training_pool().submit((fingerprint, params, before), run, sessions[-1])
    app.run()
    assert not app.exception, app.exception
    assert "1 training this page started for other settings is still under way" in texts(app)
    assert "12 factors" in texts(app)
    app.button(key="train_cancel_others").click().run()
    assert job.wait(5) and job.state == CANCELLED
    assert "still under way" not in texts(app)


def test_the_blend_is_refused_with_the_reason_on_too_few_ratings(app):
    from collab.data.read import read_ratings
    from ui import state

    rows = "".join(
        f"{u},{i},{(u * 3 + i * 7) % 5 + 1}\n" for u in range(12) for i in range(10) if (u + i) % 4
    )
    app.session_state[state.DATASET] = read_ratings(("user,item,rating\n" + rows).encode())
    app.session_state[state.DATASET_SOURCE] = "Upload: tiny.csv"
    app.switch_page("app_pages/train.py").run()
    assert not app.exception, app.exception
    assert "Too few training ratings to blend 2 models" in texts(app)
    assert app.button(key="train_blend_button").disabled


def test_a_setting_over_the_memory_budget_turns_train_off_with_a_smaller_one(app, monkeypatch):
    """Train is off, with the measured peak, the budget and the largest hidden size that fits, when the
    measured model of a training's peak is over one training's share (AutoRec on ML-1M: 1,288 MiB)."""
    from ui import budget

    share = budget.current().training_bytes
    # a peak proportional to the hidden units: 500 is 1.4x the share, 350 the largest multiple of 50 under it
    monkeypatch.setattr(
        budget, "training_peak_bytes", lambda config, *sizes: int(share * config.n_factors / 360)
    )
    app.switch_page("app_pages/train.py").run()
    app.selectbox(key="train_model").set_value("autorec").run()
    app.slider(key="train_autorec_hidden").set_value(500).run()
    assert not app.exception, app.exception
    errors = " ".join(e.value for e in app.error)
    assert "Train is off" in errors and "Hidden units** to 350 or less" in errors
    assert app.button(key="train_button").disabled
    app.slider(key="train_autorec_hidden").set_value(350).run()
    assert "Train is off" not in " ".join(e.value for e in app.error)
    assert not app.button(key="train_button").disabled


def test_the_ranking_models_are_checked_against_the_memory_budget_too(app, monkeypatch):
    """BPR and BCE skipped the memory check (their panel always let Train on): a setting over one training's
    share turns Train off, naming the page's own knob (Latent factors) and the largest value that fits."""
    from ui import budget

    share = budget.current().training_bytes
    monkeypatch.setattr(
        budget, "training_peak_bytes", lambda config, *sizes: int(share * config.n_factors / 40.5)
    )
    app.switch_page("app_pages/train.py").run()
    app.selectbox(key="train_model").set_value("bpr").run()
    app.slider(key="train_implicit_factors").set_value(64).run()
    assert not app.exception, app.exception
    errors = " ".join(e.value for e in app.error)
    assert "Train is off" in errors and "Latent factors** to 40 or less" in errors
    assert app.button(key="train_button").disabled


def test_a_model_whose_size_is_not_its_factors_is_pointed_to_the_dot_model(app, monkeypatch):
    """The neural net sizes its own embeddings: no factor setting helps it, so the advice is the dot
    model (named as the Model box names it) when that fits."""
    from ui import budget

    share = budget.current().training_bytes
    monkeypatch.setattr(
        budget,
        "training_peak_bytes",
        lambda config, *sizes: 2 * share if config.model == "nn" else share // 2,
    )
    app.switch_page("app_pages/train.py").run()
    app.selectbox(key="train_model").set_value("nn").run()
    errors = " ".join(e.value for e in app.error)
    assert (
        "Train is off" in errors and "Choose the **Dot product + biases** model (its default fits)" in errors
    )
    assert app.button(key="train_button").disabled


def test_the_bayesian_fm_has_its_own_knobs_an_estimate_and_trains(app):
    app.switch_page("app_pages/train.py").run()
    app.selectbox(key="train_model").set_value("bfm").run()
    assert not app.exception, app.exception
    keys = {s.key for s in app.slider}
    assert {"train_bfm_rank", "train_bfm_sweeps"} <= keys and "train_lr" not in keys
    assert "two chains on two cores" in texts(app)
    app.slider(key="train_bfm_sweeps").set_value(16).run()
    app.button(key="train_button").click().run()
    assert not app.exception, app.exception
    assert 0 < float({m.label: m.value for m in app.metric}["Validation RMSE"]) < 1.5


def test_with_the_measured_model_a_small_server_turns_train_off_and_the_setting_it_names_fits(
    app, monkeypatch
):
    """No stand-in numbers: on a 512 MB server (one training may use ~115 MiB) the rating classifier at 200
    factors on the demo set is over its share; Train is off, and the factors the message names do fit."""
    import re

    from ui import budget

    monkeypatch.setenv(budget.ENV_VAR, str(budget.MIN_MEMORY_MB))
    app.switch_page("app_pages/train.py").run()
    app.selectbox(key="train_model").set_value("classifier").run()
    app.slider(key="train_n_factors").set_value(200).run()
    assert not app.exception, app.exception
    errors = " ".join(e.value for e in app.error)
    assert "Train is off" in errors and app.button(key="train_button").disabled
    (named,) = re.findall(r"Latent factors\*\* to (\d+) or less", errors)
    app.slider(key="train_n_factors").set_value(int(named)).run()
    assert "Train is off" not in " ".join(e.value for e in app.error)
    assert not app.button(key="train_button").disabled


ML_100K = Path("/work/shared/data/ml-100k/u.data")


@pytest.mark.skipif(not ML_100K.exists(), reason="MovieLens 100K is not on this machine (/work/shared/data)")
def test_the_default_preset_on_movielens_100k_fits_the_memory_budget_and_trains(app):
    from collab.data.read import read_ratings
    from ui import state

    app.session_state[state.DATASET] = read_ratings(ML_100K)
    app.session_state[state.DATASET_SOURCE] = "MovieLens 100k"
    app.switch_page("app_pages/train.py").run()
    assert not app.exception, app.exception
    assert "Train is off" not in " ".join(e.value for e in app.error)
    app.button(key="train_button").click().run()
    assert not app.exception, app.exception
    assert 0.8 < float({m.label: m.value for m in app.metric}["Validation RMSE"]) < 1.1
