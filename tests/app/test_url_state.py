"""Shareable state (issue 14): the Train settings, split and dataset in the URL, both ways; sticky knobs."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import ENTRY, open_with_params, texts
from ui import text


def _qp(at: AppTest) -> dict[str, str]:
    """The app's query params as plain strings (the last value of a repeated one)."""
    return {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()}


def _open(params: dict[str, str], page: str | None = "app_pages/train.py") -> AppTest:
    return open_with_params(params, page)


def test_a_link_sets_the_knobs_and_the_split():
    at = _open(
        {"model": "dot", "factors": "50", "epochs": "7", "bs": "64", "lr": "0.005", "wd": "0.1",
         "valid": "0.3", "split": "by_user", "seed": "7"}
    )  # fmt: skip
    assert at.selectbox(key="train_model").value == "dot"
    assert at.slider(key="train_n_factors").value == 50
    assert at.slider(key="train_epochs").value == 7
    assert at.slider(key="train_batch_size").value == 64
    assert at.select_slider(key="train_lr").value == pytest.approx(0.005)
    assert at.select_slider(key="train_wd").value == pytest.approx(0.1)
    assert at.slider(key="train_valid_pct").value == pytest.approx(0.3)
    assert at.selectbox(key="train_split_method").value == "by_user"
    assert at.number_input(key="train_seed").value == 7
    assert "ignored" not in texts(at)


def test_changing_a_knob_updates_the_url():
    at = _open({})
    at.slider(key="train_n_factors").set_value(32).run()
    at.select_slider(key="train_wd").set_value(0.01).run()
    assert not at.exception, at.exception
    assert _qp(at)["factors"] == "32"
    assert _qp(at)["wd"] == "0.01"
    assert _qp(at)["model"] == "dot"
    assert _qp(at)["data"] == "demo"
    link = [c.value for c in at.code if "factors=32" in c.value]
    assert link, "the copy-link box shows the URL with the new settings"


def test_the_url_round_trips_into_a_fresh_session():
    first = _open({})
    first.selectbox(key="train_model").set_value("nn").run()
    first.slider(key="train_epochs").set_value(9).run()
    first.slider(key="train_hidden").set_value(64).run()
    params = _qp(first)
    second = _open(params)
    assert second.selectbox(key="train_model").value == "nn"
    assert second.slider(key="train_epochs").value == 9
    assert second.slider(key="train_hidden").value == 64
    assert _qp(second) == params


def test_the_autoencoders_knobs_travel_under_the_same_names():
    at = _open({"model": "autorec", "factors": "300", "epochs": "4", "wd": "0.005"})
    assert at.slider(key="train_autorec_hidden").value == 300
    assert at.slider(key="train_autorec_rounds").value == 4
    assert at.select_slider(key="train_autorec_l2").value == pytest.approx(0.005)


def test_the_ranking_models_knobs_travel_and_a_change_reaches_the_url():
    at = _open({"model": "bpr", "factors": "32", "epochs": "40", "neg": "3", "lr": "0.02", "l2": "0.01"})
    assert "ignored" not in texts(at)
    assert at.slider(key="train_implicit_factors").value == 32  # the link's, not BPR's tuned 64
    assert at.slider(key="train_implicit_epochs").value == 40
    assert at.slider(key="train_implicit_negatives").value == 3
    assert at.select_slider(key="train_implicit_lr").value == pytest.approx(0.02)
    assert at.select_slider(key="train_implicit_l2").value == pytest.approx(0.01)
    at.slider(key="train_implicit_negatives").set_value(5).run()
    assert not at.exception, at.exception
    assert _qp(at)["neg"] == "5" and _qp(at)["model"] == "bpr" and _qp(at)["factors"] == "32"
    fresh = _open(_qp(at))  # the address bar's link, in a new session
    assert fresh.slider(key="train_implicit_negatives").value == 5
    assert fresh.slider(key="train_implicit_factors").value == 32


def test_a_bad_ranking_knob_in_a_link_is_ignored_with_a_note():
    at = _open({"model": "bce", "neg": "50"}, page=None)
    assert "Negatives per positive goes from 1 to 20" in texts(at)
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
    assert at.slider(key="train_implicit_negatives").value == 2  # BCE's tuned default


def test_the_bayesian_fms_knobs_travel():
    at = _open({"model": "bfm", "factors": "8", "epochs": "64"})
    assert "ignored" not in texts(at)
    assert at.slider(key="train_bfm_rank").value == 8
    assert at.slider(key="train_bfm_sweeps").value == 64
    at.slider(key="train_bfm_sweeps").set_value(96).run()
    assert _qp(at)["epochs"] == "96" and _qp(at)["model"] == "bfm"


@pytest.mark.parametrize(
    ("param", "value", "words"),
    [
        ("model", "transformer", "Model offers"),
        ("bs", "100", "multiple of 8"),
        ("factors", "500", "Latent factors goes from 1 to 200"),
        ("factors", "0", "Latent factors goes from 1 to 200"),
        ("epochs", "many", "not a whole number"),
        ("lr", "0.07", "Learning rate offers"),
        ("wd", "nan", "not a finite number"),
        ("valid", "0.9", "Validation share goes from"),
        ("seed", "12345678901234567890123", "Seed goes from 0 to 1,000,000"),
        ("split", "by_magic", "Split offers"),
        ("decay_biases", "maybe", "not 1 or 0"),
        ("data", "netflix", "dataset must be one of"),
    ],
)
def test_a_bad_value_in_a_link_is_ignored_with_a_note(param, value, words):
    at = _open({param: value, "epochs": "3"} if param != "epochs" else {param: value}, page=None)
    shown = texts(at)
    assert f"`{param}` = '{text.md(value)}' was ignored" in shown
    assert words in shown
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="train_model").value == "dot"
    assert at.slider(key="train_batch_size").value == 512
    assert at.slider(key="train_n_factors").value == 64
    if param != "epochs":
        assert at.slider(key="train_epochs").value == 3  # the good values of the same link still apply


def test_an_uploaded_dataset_cannot_travel_and_the_page_says_so():
    at = _open({"data": "upload", "factors": "20"}, page=None)
    assert "uploaded file cannot travel" in texts(at)
    at.switch_page("app_pages/train.py").run()
    assert at.slider(key="train_n_factors").value == 20


def test_a_movielens_link_offline_falls_back_to_the_demo_set_with_a_note():
    at = _open({"data": "movielens-100k"}, page=None)
    assert "could not be loaded" in texts(at)
    assert "Built-in demo set" in "\n".join(str(c.value) for c in at.sidebar.caption)


def test_a_movielens_link_whose_wait_is_interrupted_loads_it_on_the_next_run(monkeypatch):
    """The session was marked restored before the link's MovieLens set had loaded: a student who opened
    another page while another session downloaded it (the waiting note says they may) went on with the
    demo set under the link's knobs, with no word. The wait is taken up again on the next run."""
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    from collab.data.demo import demo_ratings
    from ui import cached

    calls = []

    def movielens(name, progress=None, on_wait=None):  # noqa: ANN001, ANN202 - cached.movielens' signature
        calls.append(name)
        if len(calls) == 1:
            raise StopException()  # what Streamlit raises in the waiting note when the student moves on
        return demo_ratings(seed=5)

    monkeypatch.setattr(cached, "movielens", movielens)
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.query_params["data"], at.query_params["factors"] = "movielens-100k", "20"
    at.run()
    assert calls == ["100k"]
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
    assert calls == ["100k", "100k"]
    assert "MovieLens 100k" in "\n".join(str(c.value) for c in at.sidebar.caption)
    assert at.slider(key="train_n_factors").value == 20
    assert _qp(at)["data"] == "movielens-100k"
    at.run()
    assert calls == ["100k", "100k"]  # restored once it has loaded


def test_the_lessons_step_param_is_left_alone():
    at = _open({"step": "4", "factors": "20"})
    at.slider(key="train_n_factors").set_value(30).run()
    assert _qp(at)["step"] == "4"
    assert _qp(at)["factors"] == "30"


def test_knobs_survive_a_page_switch_and_train_what_they_show():
    at = _open({})
    at.slider(key="train_n_factors").set_value(12).run()
    at.slider(key="train_epochs").set_value(2).run()
    at.select_slider(key="train_wd").set_value(0.1).run()
    at.switch_page("app_pages/home.py").run()
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
    assert at.slider(key="train_n_factors").value == 12
    assert at.slider(key="train_epochs").value == 2
    assert at.select_slider(key="train_wd").value == pytest.approx(0.1)
    at.button(key="train_button").click().run()
    assert not at.exception, at.exception
    sidebar = "\n".join(str(c.value) for c in at.sidebar.caption)
    assert "12 factors, 2 epochs" in sidebar and "wd 0.1," in sidebar
    assert _qp(at)["factors"] == "12", "the URL keeps the settings after the page switch"


def test_the_loss_playground_preset_survives_a_page_switch():
    at = _open({}, page="app_pages/loss_playground.py")
    options = at.radio(key="loss_preset").options
    at.radio(key="loss_preset").set_value(at.radio(key="loss_preset").options[2]).run()
    chosen = at.radio(key="loss_preset").value
    assert chosen != options[0]
    at.switch_page("app_pages/home.py").run()
    at.switch_page("app_pages/loss_playground.py").run()
    assert not at.exception, at.exception
    assert at.radio(key="loss_preset").value == chosen


def test_presets_set_the_knobs_and_both_land_in_the_runs_table():
    at = _open({})
    at.button(key="train_preset_fastbook").click().run()
    assert at.slider(key="train_n_factors").value == 50
    assert at.slider(key="train_batch_size").value == 64
    assert at.select_slider(key="train_lr").value == pytest.approx(5e-3)
    assert at.select_slider(key="train_wd").value == pytest.approx(0.1)
    assert at.slider(key="train_epochs").value == 5
    at.slider(key="train_epochs").set_value(1).run()  # fast: one epoch of each
    at.button(key="train_button").click().run()
    at.button(key="train_preset_default").click().run()
    assert at.slider(key="train_n_factors").value == 64 and at.slider(key="train_batch_size").value == 512
    at.slider(key="train_epochs").set_value(1).run()
    at.button(key="train_button").click().run()
    assert not at.exception, at.exception
    runs = [df.value for df in at.dataframe if "valid RMSE" in df.value.columns][0]
    assert list(runs["wd"]) == ["0.7", "0.1"] and list(runs["batch"]) == ["512", "64"]
    assert list(runs["lr"]) == ["0.01", "0.005"]


def test_a_run_of_a_preset_is_named_in_the_runs_table():
    import dataclasses

    from collab.training.config import PRESETS
    from ui.training_view import matching_preset

    assert matching_preset(dataclasses.replace(PRESETS["fastbook"], seed=7, device="cpu")) == "fastbook"
    assert matching_preset(PRESETS["default"]) == "default"
    assert matching_preset(dataclasses.replace(PRESETS["fastbook"], epochs=6)) is None


def test_a_reload_gets_the_model_its_settings_trained_back_on_any_page():
    first = _open({})
    first.slider(key="train_epochs").set_value(2).run()
    first.button(key="train_button").click().run()
    assert not first.exception, first.exception
    rmse = {m.label: m.value for m in first.metric}["Validation RMSE"]
    # the reload: a fresh session from the same URL (the store is the server's, shared by sessions)
    second = _open(_qp(first), page="app_pages/embeddings.py")
    assert "There is no trained model" not in texts(second)
    assert f"valid RMSE **{rmse}**" in "\n".join(str(c.value) for c in second.sidebar.caption)


def test_a_closed_session_stays_alive_for_the_reload_grace(monkeypatch):
    """A reload opens a new session: the old one's training and models must outlive it a little."""
    from streamlit import runtime

    from ui import cached

    class FakeRuntime:
        active = True

        def is_active_session(self, session: str) -> bool:
            return self.active

    fake = FakeRuntime()
    with monkeypatch.context() as patch:  # undone before the fixture clears Streamlit's caches
        patch.setattr(cached, "real_server", lambda: True)
        patch.setattr(runtime.Runtime, "instance", staticmethod(lambda: fake))
        clock = [1000.0]
        patch.setattr(cached.time, "monotonic", lambda: clock[0])
        assert cached.session_alive("s1")
        fake.active = False
        clock[0] += cached.RELOAD_GRACE_SECONDS / 2
        assert cached.session_alive("s1"), "just closed (a reload): still counted"
        clock[0] += cached.RELOAD_GRACE_SECONDS
        assert not cached.session_alive("s1")
        assert not cached.session_alive("s1"), "and it stays closed"


@pytest.mark.parametrize("param", ["factors", "model", "data", "wd", "split"])
def test_markdown_in_a_link_is_quoted_back_as_text(param):
    """A shared link is anybody's text: a value that closes a code span and adds an image must not
    make every browser that opens the link fetch that image."""
    hostile = "x` ![img](http://127.0.0.1:9/x.png) [click](http://127.0.0.1:9/) `" + "y" * 500
    at = _open({param: hostile}, page=None)
    note = next(w.value for w in at.warning if "could not be used" in w.value)
    assert "![img]" not in note and "[click]" not in note
    assert rf"\!\[img\](http{text.WORD_JOINER}\://127.0.0.1:9/x.png)" in note  # shown as it was in the link
    assert "y" * 100 not in note and "…" in note  # long values are cut


def test_auto_epochs_travel_in_the_link_as_epochs_auto():
    # a tester: a reload (or a shared link) turned "Auto epochs" off, since the URL said epochs=5
    first = _open({})
    assert first.checkbox(key="train_epochs_auto").value is True
    assert _qp(first)["epochs"] == "auto"
    reloaded = _open(_qp(first))
    assert reloaded.checkbox(key="train_epochs_auto").value is True and _qp(reloaded)["epochs"] == "auto"
    reloaded.slider(key="train_epochs").set_value(
        7
    ).run()  # a hand on the slider: auto off, the number travels
    assert reloaded.checkbox(key="train_epochs_auto").value is False and _qp(reloaded)["epochs"] == "7"
    fixed = _open(_qp(reloaded))
    assert (
        fixed.checkbox(key="train_epochs_auto").value is False and fixed.slider(key="train_epochs").value == 7
    )
