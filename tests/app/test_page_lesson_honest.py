"""Lesson displays that tell the truth: the spreadsheet's runs compared from one start, its loss on a log axis
and its random start shown at 0 steps; step 5's lab on the sliders above it; two RMSEs on one screen named."""

from __future__ import annotations

import base64
from collections.abc import Callable

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import charts, texts
from ui.lesson import steps
from ui.lesson.steps import STEPS

PAGE = "app_pages/lesson.py"


def go_to(at: AppTest, render: Callable[[], None]) -> AppTest:
    """The step drawn by `render`, found by function, not by number (steps may be added before it)."""
    at.query_params["step"] = str(next(i for i, s in enumerate(STEPS, 1) if s.render is render))
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str):
    return next(m for m in at.metric if m.label == label)


def loss_chart(at: AppTest) -> dict:
    return next(c for c in charts(at) if str(c["layout"]["title"]["text"]).startswith("Loss:"))


def curve(at: AppTest) -> np.ndarray:
    """The loss chart's y values (plotly 7 sends numbers as base64)."""
    y = loss_chart(at)["data"][0]["y"]
    return np.asarray(y) if isinstance(y, list) else np.frombuffer(base64.b64decode(y["bdata"]), y["dtype"])


def runs_table(at: AppTest):
    return next((df.value for df in at.dataframe if "biases" in df.value.columns), None)


def test_at_zero_steps_the_sheet_shows_its_start_and_no_change(lesson: AppTest) -> None:
    go_to(lesson, steps.spreadsheet_step)
    mse = metric(lesson, "MSE over filled cells")
    assert not mse.delta  # was a red "↑ +0.0000 since start": no previous value, no change to show
    chart = loss_chart(lesson)
    assert "at the random start (no step yet)" in chart["layout"]["title"]["text"]
    assert "markers" in chart["data"][0]["mode"]  # one point, drawn: not an empty chart
    assert chart["layout"]["yaxis"]["type"] == "log"  # the slow fall after step 10 stays visible
    lesson.button(key="lesson_sheet_ten").click().run()
    assert metric(lesson, "MSE over filled cells").delta.endswith("since start")
    assert loss_chart(lesson)["layout"]["title"]["text"].endswith("after 10 steps")
    lesson.toggle(key="lesson_sheet_log").set_value(False).run()
    assert loss_chart(lesson)["layout"]["yaxis"].get("type", "linear") == "linear"


def test_runs_to_convergence_all_start_from_the_seeds_random_factors(lesson: AppTest) -> None:
    go_to(lesson, steps.spreadsheet_step)
    start = float(metric(lesson, "MSE over filled cells").value)
    lesson.button(key="lesson_sheet_ten").click().run()  # stepped first: the run must not start from here
    lesson.button(key="lesson_sheet_converge").click().run()
    without = runs_table(lesson).iloc[0]
    assert int(metric(lesson, "Gradient steps").value.replace(",", "")) == without["steps"]
    lesson.toggle(key="lesson_sheet_biases").set_value(True).run()
    lesson.button(key="lesson_sheet_converge").click().run()
    table = runs_table(lesson)
    assert list(table["biases"]) == ["without", "with"]
    with_biases = table.iloc[1]
    # counted from the random start, not on top of the first run's steps
    assert int(metric(lesson, "Gradient steps").value.replace(",", "")) == with_biases["steps"]
    assert with_biases["MSE"] < without["MSE"]
    # how each ended, in the row: a run cut off by the step limit is not called converged
    assert [("at the limit" if r["steps"] >= 3000 else "converged") for _, r in table.iterrows()] == list(
        table["ended"]
    )
    # the curve begins at the random start's loss, whichever run drew it
    assert curve(lesson)[0] == pytest.approx(start, abs=1e-4)
    # the same settings from the same start: the same run, the same number
    lesson.button(key="lesson_sheet_reset").click().run()
    assert float(metric(lesson, "MSE over filled cells").value) == pytest.approx(start, rel=1e-5)
    lesson.button(key="lesson_sheet_step").click().run()
    lesson.button(key="lesson_sheet_converge").click().run()
    again = runs_table(lesson)
    assert len(again) == 2 and again.iloc[1]["MSE"] == with_biases["MSE"]
    assert "every run from the same random start** (seed 0, k = 5)" in texts(lesson)
    # another seed is another start: its runs are not put beside these
    lesson.number_input(key="lesson_sheet_seed").set_value(1).run()
    assert runs_table(lesson) is None


def test_the_accumulation_lab_uses_the_memory_steps_sliders(lesson: AppTest) -> None:
    go_to(lesson, steps.memory_step)
    keys = {s.key for s in lesson.select_slider}
    assert {"lesson_mem_batch", "lesson_mem_accum"} <= keys
    assert not keys & {"train_lab_micro", "train_lab_steps"}  # one set of controls for one idea
    assert lesson.button(key="train_lab_button").disabled  # 1 accumulation step: nothing to add up
    assert "set **Accumulation steps** above to 2 or more" in texts(lesson)
    lesson.select_slider(key="lesson_mem_batch").set_value(32).run()
    lesson.select_slider(key="lesson_mem_accum").set_value(4).run()
    assert metric(lesson, "Effective batch").value == "128"
    assert "**4 micro-batches of 32**" in texts(lesson) and "**one batch of 128**" in texts(lesson)
    lesson.button(key="train_lab_button").click().run()
    assert not lesson.exception, lesson.exception
    assert float(metric(lesson, "Largest gradient difference").value) < 1e-5
    labels = {m.label for m in lesson.metric}
    assert {"Gradient norm, 4 x 32", "Gradient norm, 1 x 128"} <= labels
    way = next(df.value for df in lesson.dataframe if "way" in df.value.columns)["way"]
    assert list(way) == ["4 micro-batches of 32", "one batch of 128"]


def sidebar_rmse(at: AppTest) -> str:
    sidebar = "\n".join(str(c.value) for c in at.sidebar.caption)
    return sidebar.split("valid RMSE **")[1].split("**")[0]


def test_the_comparison_says_which_model_the_sidebars_rmse_is(lesson: AppTest) -> None:
    go_to(lesson, steps.train_step)
    lesson.button(key="lesson_train_button").click().run()  # the current model: the lesson's settings
    assert not lesson.exception, lesson.exception
    go_to(lesson, steps.nn_step)
    lesson.button(key="lesson_nn_button").click().run()
    assert not lesson.exception, lesson.exception
    table = next(df.value for df in lesson.dataframe if "valid RMSE" in df.value.columns)
    dot = table.set_index("model").loc["Dot product", "valid RMSE"]
    mine = sidebar_rmse(lesson)
    assert f"{dot:.4f}" != mine  # two numbers on one screen...
    shown = texts(lesson)
    # ... each named: the sidebar's is the current model with its settings, the row's the app's defaults
    assert f"The sidebar's **valid RMSE {mine}** is that model: Dot product + biases, 50 factors" in shown
    assert "Each row here trains the app's default settings for its model (dot product: " in shown
    assert "current model is unchanged" in shown and sidebar_rmse(lesson) == mine
