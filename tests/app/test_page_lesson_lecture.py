"""Issue 19: the four lecture points on their own Lesson steps (sigmoid_range, a net's bias, log twice,
**kwargs), each live, and the weight-decay step naming the demo set's overfitting in words."""

from __future__ import annotations

import math

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import LESSON_PAGE, charts, go_to, metric, number_of, open_with_params, texts
from ui.state import RESULT

PAGE = LESSON_PAGE


def test_range_step_counts_out_of_range_cells_and_squashes_them(lesson: AppTest) -> None:
    go_to(lesson, number_of("Predictions out of range"))
    shown = texts(lesson)
    assert "sigmoid_range" in shown and "y_range" in shown
    squashed = metric(lesson, "Outside 0-5.5, sigmoid_range")
    assert squashed.startswith("0 of 225")  # the squash keeps every cell inside its range
    assert metric(lesson, "Outside 1-5, plain").endswith("of 225")
    (figure,) = [c for c in charts(lesson) if "sorted" in str(c["layout"].get("title", ""))]
    assert len(figure["data"]) == 2


def test_range_step_leads_in_from_the_learners_own_spreadsheet(lesson: AppTest) -> None:
    go_to(lesson, number_of("Latent factors by hand"))
    lesson.button(key="lesson_sheet_ten").click().run()
    go_to(lesson, number_of("Predictions out of range"))
    assert "Your spreadsheet in step 3 (10 steps)" in texts(lesson)


def test_bias_step_without_a_bias_stays_at_zero_and_with_one_reaches_the_target(lesson: AppTest) -> None:
    go_to(lesson, number_of("Why a neural net needs a bias"))
    assert "without a bias" in texts(lesson).lower()
    lesson.slider(key="lesson_bias_target").set_value(-2.0).run()
    assert float(metric(lesson, "Without a bias, after 50 steps")) == 0.0
    assert float(metric(lesson, "With a bias, after 50 steps")) == pytest.approx(-2.0, abs=0.01)


def test_log_step_shows_nll_equals_cross_entropy_and_log_twice_is_nan(lesson: AppTest) -> None:
    go_to(lesson, number_of("log_softmax + nll_loss"))
    assert "nll_loss" in texts(lesson)
    lesson.radio(key="lesson_log_target").set_value("3 stars").run()
    frame = lesson.dataframe[0].value
    losses = frame["loss"].tolist()
    assert losses[0] == pytest.approx(losses[1]) and losses[0] > 3  # the unlikely class costs a lot
    assert math.isnan(losses[2])
    assert -1 < losses[3] < 0  # minus a probability, not a log


def test_kwargs_step_forwards_the_options_and_show_the_code_names_kwargs(lesson: AppTest) -> None:
    go_to(lesson, number_of("**kwargs"))
    lesson.toggle(key="lesson_kwargs_padding").set_value(True).run()
    lesson.toggle(key="lesson_kwargs_norm").set_value(True).run()
    shown = texts(lesson)
    assert "kwargs = {'padding_idx': 0, 'max_norm': 1.0}" in shown
    frame = lesson.dataframe[0].value
    values = dict(zip(frame["nn.Embedding attribute"], frame["value"], strict=True))
    assert values == {"padding_idx": "0", "max_norm": "1.0", "sparse": "False"}
    captions = "\n".join(c.value for c in lesson.caption)
    assert "`**kwargs` collects every keyword argument" in captions  # ui/show_code.py's note, at last shown


def test_weight_decay_sweep_names_the_demo_sets_overfitting_in_words(lesson: AppTest) -> None:
    """Issue 19's central moment, offline: wd 0 turns up clearly (more than 5%) and the step says so."""
    go_to(lesson, number_of("Train the real model"))
    lesson.button(key="train_sweep_button").click().run(timeout=120)
    assert not lesson.exception, lesson.exception
    named = [m.value for m in lesson.markdown if "overfitting from epoch" in m.value]
    assert named, texts(lesson)
    lines = named[0].split("\n")
    zero = next(line for line in lines if line.startswith("- **wd 0: overfitting from epoch"))
    rise = float(zero.split("validation loss +")[1].split("%")[0])
    assert rise > 5.0
    assert not any(line.startswith("- **wd 0.1:") for line in lines)  # the lesson's decay does not overfit


def reopen(at: AppTest, page: str | None = None) -> AppTest:
    """A reload: a new session from the URL the old one left (the model store is the server's, kept)."""
    return open_with_params({key: at.query_params[key] for key in at.query_params}, page)


def test_a_model_trained_on_a_lesson_step_survives_a_reload_and_reaches_embeddings(lesson: AppTest) -> None:
    go_to(lesson, number_of("An embedding is a lookup"))
    lesson.button(key="lesson_lookup_train").click().run()
    assert not lesson.exception, lesson.exception
    assert lesson.query_params["factors"] == "50" and lesson.query_params["wd"] == "0.1"
    after = reopen(lesson, "app_pages/embeddings.py")
    assert "no trained model" not in texts(after).lower()
    assert after.session_state[RESULT].result.config.n_factors == 50
    after.switch_page(PAGE).run()
    go_to(after, number_of("An embedding is a lookup"))
    assert "Using the current model" in texts(after)


def nn_table(at: AppTest):
    return next(df.value for df in at.dataframe if "valid RMSE" in df.value.columns)


def test_the_three_model_table_resumes_after_leaving_mid_run(lesson: AppTest) -> None:
    """Pressed, then the learner left before it finished (another page or step): coming back shows the table."""
    from collab.data.demo import demo_ratings
    from ui.state import SplitParams

    lesson.session_state["lesson_compare_pending"] = (demo_ratings(seed=0).fingerprint, SplitParams())
    lesson.query_params["step"] = str(number_of("The neural net"))
    lesson.run(timeout=400)  # three trainings (about 30 s alone, minutes on a shared machine)
    assert not lesson.exception, lesson.exception
    assert "Picking up the comparison you started" in texts(lesson)
    frame = nn_table(lesson)
    assert list(frame["model"]) == ["Dot product", "Neural net", "Classifier"]
    go_to(lesson, 1)
    go_to(lesson, number_of("The neural net"))
    assert "Picking up" not in texts(lesson) and nn_table(lesson).shape[0] == 3
