"""Lesson page: every step renders on the demo set, navigation and ?step= deep links, the live spreadsheet,
the weight-decay step, the three-model comparison, the two-target model and the category embedding."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import charts, tab_places, texts
from ui import text
from ui.lesson.steps import STEPS

PAGE = "app_pages/lesson.py"


def step_title(at: AppTest) -> str:
    return next(s.value for s in at.subheader if s.value.startswith("Step ")).replace("\\*", "*")


def number_of(title_start: str) -> int:
    """A step's number by the start of its title, so inserting a step moves no test."""
    return next(i for i, step in enumerate(STEPS, 1) if step.title.startswith(title_start))


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def go_to(at: AppTest, number: int) -> AppTest:
    at.query_params["step"] = str(number)
    at.run()
    assert not at.exception, at.exception
    return at


def test_opens_on_step_one_and_next_previous_move(lesson: AppTest) -> None:
    assert step_title(lesson).startswith("Step 1.")
    assert lesson.query_params["step"] == "1"
    assert lesson.button(key="lesson_prev_top").disabled
    lesson.button(key="lesson_next_top").click().run()
    assert step_title(lesson).startswith("Step 2.")
    assert lesson.query_params["step"] == "2"
    lesson.button(key="lesson_next_bottom").click().run()
    assert step_title(lesson).startswith("Step 3.")
    lesson.button(key="lesson_prev_top").click().run()
    assert step_title(lesson).startswith("Step 2.")
    lesson.selectbox(key="lesson_step").set_value(len(STEPS)).run()
    assert step_title(lesson).startswith(f"Step {len(STEPS)}.")
    assert lesson.button(key="lesson_next_top").disabled
    assert not lesson.exception


@pytest.mark.parametrize("number", range(1, len(STEPS) + 1), ids=lambda n: f"step{n}")
def test_every_step_renders_from_a_deep_link(lesson: AppTest, number: int) -> None:
    go_to(lesson, number)
    assert step_title(lesson).startswith(f"Step {number}. {STEPS[number - 1].title}")
    assert "Try this:" in texts(lesson)
    assert lesson.expander, "every step has a 'Show the code' expander"
    assert any(code.value.lstrip().startswith(("def ", "class ", "@")) for code in lesson.code)
    assert not lesson.get("warning") or all("link" not in w.value for w in lesson.warning)


@pytest.mark.parametrize("bad", ["0", str(len(STEPS) + 1), "abc", "-3", "2.5"])
def test_a_step_that_does_not_exist_is_ignored_with_a_note(lesson: AppTest, bad: str) -> None:
    go_to(lesson, 3)
    lesson.query_params["step"] = bad
    lesson.run()
    assert not lesson.exception
    assert step_title(lesson).startswith("Step 3.")
    assert any(f"step '{text.md(bad)}'" in w.value and "ignored" in w.value for w in lesson.warning)
    assert lesson.query_params["step"] == "3"
    lesson.button(key="lesson_next_top").click().run()
    assert not any("ignored" in w.value for w in lesson.warning)


def test_markdown_in_the_step_of_a_link_is_shown_as_text(lesson: AppTest) -> None:
    go_to(lesson, number_of("Latent factors by hand"))
    lesson.query_params["step"] = "![img](http://127.0.0.1:9/x.png)"
    lesson.run()
    note = next(w.value for w in lesson.warning if "ignored" in w.value)
    assert "![img]" not in note and r"\!\[img\]" in note


def _mse(at: AppTest) -> float:
    return float(metric(at, "MSE over filled cells"))


def test_spreadsheet_buttons_change_the_loss(lesson: AppTest) -> None:
    go_to(lesson, number_of("Latent factors by hand"))
    start = _mse(lesson)
    assert metric(lesson, "Gradient steps") == "0"
    lesson.button(key="lesson_sheet_step").click().run()
    one = _mse(lesson)
    assert one < start and metric(lesson, "Gradient steps") == "1"
    lesson.button(key="lesson_sheet_ten").click().run()
    ten = _mse(lesson)
    assert ten < one and metric(lesson, "Gradient steps") == "11"
    lesson.button(key="lesson_sheet_converge").click().run()
    assert not lesson.exception
    without = _mse(lesson)
    assert without < ten < start
    lesson.toggle(key="lesson_sheet_biases").set_value(True).run()
    assert _mse(lesson) == pytest.approx(without, abs=1e-4)  # zero biases: same predictions
    lesson.button(key="lesson_sheet_converge").click().run()
    assert _mse(lesson) < without  # biases fit what factors alone could not
    runs = next(df.value for df in lesson.dataframe if "biases" in df.value.columns)
    assert len(runs) == 2 and list(runs["biases"]) == ["without", "with"]
    # each row says how its run ended: converged, or cut off at the step limit (then it is no lowest loss)
    assert all(re.fullmatch(r"converged|at the limit", r) for r in runs["ended"])
    lesson.button(key="lesson_sheet_reset").click().run()
    assert metric(lesson, "Gradient steps") == "0"
    assert _mse(lesson) == pytest.approx(start, rel=1e-5)  # same seed, same random start
    lesson.slider(key="lesson_sheet_k").set_value(3).run()
    assert _mse(lesson) != pytest.approx(start, rel=1e-3)
    titles = [str(c["layout"]["title"]["text"]) for c in charts(lesson)]
    assert any(t.startswith("Loss:") for t in titles) and any("Predictions" in t for t in titles)


def test_lookup_step_trains_the_lesson_model_on_request(lesson: AppTest) -> None:
    go_to(lesson, number_of("An embedding is a lookup"))
    lesson.button(key="lesson_lookup_train").click().run()
    assert not lesson.exception
    assert "identical" in texts(lesson)


def test_three_models_compared_without_changing_the_current_model(lesson: AppTest) -> None:
    go_to(lesson, number_of("The neural net"))
    lesson.button(key="lesson_nn_button").click().run()
    assert not lesson.exception, lesson.exception
    table = next(df.value for df in lesson.dataframe if "valid RMSE" in df.value.columns)
    assert len(table) == 3 and table["valid RMSE"].between(0.5, 1.5).all()
    assert "current model is unchanged" in texts(lesson)
    sidebar = "\n".join(str(c.value) for c in lesson.sidebar.caption)
    assert "None trained yet" in sidebar


def test_two_target_model_trains_and_shows_each_head(lesson: AppTest) -> None:
    go_to(lesson, number_of("A multi-target model"))
    lesson.slider(key="lesson_mt_epochs").set_value(2).run()
    lesson.button(key="lesson_mt_train").click().run()
    assert not lesson.exception, lesson.exception
    history = next(df.value for df in lesson.dataframe if "rating acc" in df.value.columns)
    assert list(history["epoch"]) == [1, 2]
    genre = lesson.selectbox(key="lesson_mt_genre").value
    accuracy = float(metric(lesson, f"{genre}? accuracy").rstrip("%")) / 100
    assert accuracy > 0.8
    # the gain over the baseline is a difference of two percentages: percentage points, not a relative "%"
    deltas = [m.delta for m in lesson.metric if m.label.endswith("accuracy")]
    assert len(deltas) == 2 and all(" points vs " in d and "%" not in d for d in deltas)
    assert "last layer" in texts(lesson) and "first layer" in texts(lesson)


def test_category_embedding_is_learned_and_drawn(lesson: AppTest) -> None:
    go_to(lesson, number_of("Embeddings beyond"))
    assert "same row" in texts(lesson)
    lesson.slider(key="lesson_cat_epochs").set_value(2).run()
    lesson.button(key="lesson_cat_train").click().run()
    assert not lesson.exception, lesson.exception
    scatter = [c for c in charts(lesson) if "embedding (2-D)" in str(c["layout"]["title"]["text"])]
    assert len(scatter) == 1 and len(scatter[0]["data"][0]["text"]) == 8  # the demo set's 8 planted genres
    lesson.text_input(key="lesson_tokens_sentence").set_value("   ").run()
    assert any("no words" in e.value for e in lesson.error)


def test_weight_decay_step_trains_and_sweeps(lesson: AppTest) -> None:
    go_to(lesson, number_of("Train the real model"))
    lesson.button(key="lesson_train_button").click().run()
    assert not lesson.exception, lesson.exception
    assert float(metric(lesson, "Validation RMSE")) < 1.2
    lesson.button(key="train_sweep_button").click().run()
    assert not lesson.exception, lesson.exception
    assert "Lowest validation RMSE: weight decay" in texts(lesson)


def test_home_links_into_the_lesson(app: AppTest) -> None:
    links = [link for link in app.get("page_link") if "lesson" in link.proto.page]
    assert len(links) >= 4


def test_loss_step_opens_the_playground_on_the_preset_that_proves_the_point(lesson: AppTest) -> None:
    go_to(lesson, number_of("Softmax, cross-entropy"))
    lesson.button(key="lesson_loss_open_huge").click().run()
    assert not lesson.exception, lesson.exception
    assert lesson.title[0].value.endswith("Loss playground")
    assert lesson.radio(key="loss_preset").value == "huge"
    assert any("naive path fails" in w.value for w in lesson.warning)


def test_show_code_shows_the_source_that_ran_with_the_underscore_note(lesson: AppTest) -> None:
    import inspect

    from collab.lesson.spreadsheet import sgd_step

    go_to(lesson, number_of("Latent factors by hand"))
    assert any(code.value == inspect.getsource(sgd_step).rstrip("\n") for code in lesson.code)
    assert "trailing underscore" in "\n".join(c.value for c in lesson.caption)


def test_a_steps_tabs_keep_their_place_when_a_model_or_weight_decay_appears(lesson: AppTest) -> None:
    number = next(i for i, step in enumerate(STEPS, 1) if step.title == "Interpreting the model")
    go_to(lesson, number)
    lesson.button(key="lesson_interpret_train").click().run()
    assert not lesson.exception, lesson.exception
    trained = tab_places(lesson)
    lesson.run()
    assert tab_places(lesson) == trained and len(trained) == 1
    go_to(lesson, number_of("Latent factors by hand"))
    off = tab_places(lesson)
    lesson.toggle(key="lesson_sheet_wd_on").set_value(True).run()
    assert tab_places(lesson) == off and len(off) == 1


def test_the_comparison_leaves_the_classifier_out_of_continuous_ratings_with_the_reason(
    lesson: AppTest,
) -> None:
    from collab.data.read import read_ratings
    from ui import state

    rows = "".join(
        f"u{u},i{i},{((u * 7 + i * 13) % 41 - 20) / 2}\n" for u in range(30) for i in range(20) if (u + i) % 3
    )
    continuous = read_ratings(("user,joke,rating\n" + rows).encode())  # -10 to 10 in halves: 41 values
    lesson.session_state[state.DATASET] = continuous
    lesson.session_state[state.DATASET_SOURCE] = "Upload: jester.csv"
    go_to(lesson, number_of("The neural net"))
    assert "not available for these ratings" in texts(lesson)
    button = lesson.button(key="lesson_nn_button")
    assert button.label == "Train the two models"
    button.click().run()
    assert not lesson.exception, lesson.exception  # was: ValueError from the classifier, with its traceback
    table = next(df.value for df in lesson.dataframe if "valid RMSE" in df.value.columns)
    assert list(table["model"]) == ["Dot product", "Neural net"]
    assert "Lowest validation RMSE" in texts(lesson) and "classifier's RMSE" not in texts(lesson)
