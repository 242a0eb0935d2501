"""Lesson step 3: the lesson's spreadsheet, live. Widgets in, `collab.lesson.spreadsheet` steps, tables and figures out."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd
import streamlit as st

from collab.lesson.spreadsheet import Spreadsheet
from collab.plots import lesson as lesson_plots
from ui import state

SHEET_KEY = "lesson_sheet"  # (dataset fingerprint, Spreadsheet): the live sheet of this session
RUNS_KEY = "lesson_sheet_runs"  # dict[str, tuple[float, str]]: lowest loss per setting and how that run ended
LEARNING_RATES = [0.01, 0.03, 0.1, 0.3, 1.0, 2.0]
DECAYS = [0.0001, 0.001, 0.01, 0.1]
_CURVE_KEYS = itertools.count()
MAX_STEPS = 3000  # "run to convergence" stops here; press it again to go on


def _table() -> pd.DataFrame:
    return state.ratings().crosstab(15, 15)


def _sheet(table: pd.DataFrame, n_factors: int, seed: int, reset: bool) -> Spreadsheet:
    """The session's sheet; a new one when asked, or when the data, k or the seed changed."""
    fingerprint = state.ratings().fingerprint
    kept = st.session_state.get(SHEET_KEY)  # (dataset fingerprint, sheet)
    if (
        reset
        or kept is None
        or kept[0] != fingerprint
        or (kept[1].n_factors, kept[1].seed) != (n_factors, seed)
    ):
        kept = (fingerprint, Spreadsheet(table.to_numpy(dtype=float), n_factors=n_factors, seed=seed))
        st.session_state[SHEET_KEY] = kept
    return kept[1]


def _setting(sheet: Spreadsheet) -> str:
    decay = f"wd {sheet.weight_decay:g}" if sheet.weight_decay else "no weight decay"
    return f"k = {sheet.n_factors}, {'with' if sheet.biases else 'without'} biases, {decay}"


@st.fragment  # a click reruns only the sheet, not the whole page: the figure comes back sooner
def sheet_section() -> None:
    """k random factors per user and item, one step / ten steps / to convergence, biases and weight decay."""
    table = _table()
    controls = st.columns([1, 1.2, 0.8])
    n_factors = controls[0].slider("Factors k", 1, 10, 5, key="lesson_sheet_k")
    lr = controls[1].select_slider(
        "Learning rate", LEARNING_RATES, value=0.3, key="lesson_sheet_lr", format_func=lambda v: f"{v:g}"
    )
    seed = controls[2].number_input("Seed", 0, 9999, 0, key="lesson_sheet_seed")
    toggles = st.columns(2)
    biases = toggles[0].toggle("User/item biases", False, key="lesson_sheet_biases")
    decay_on = toggles[1].toggle("Weight decay", False, key="lesson_sheet_wd_on")
    decay = 0.0
    decay_slot = st.container()  # shown or not, the tabs below keep their place on the page
    if decay_on:
        decay = decay_slot.select_slider(
            "Weight decay wd (loss + wd · sum of squared factors)", DECAYS, value=0.001, key="lesson_sheet_wd",
            format_func=lambda v: f"{v:g}",
        )  # fmt: skip
    first, second = st.columns(2), st.columns(2)
    one = first[0].button("One step", key="lesson_sheet_step", icon=":material/skip_next:", width="stretch")
    ten = first[1].button(
        "Ten steps", key="lesson_sheet_ten", icon=":material/fast_forward:", width="stretch"
    )
    converge = second[0].button(
        "Run to convergence", key="lesson_sheet_converge", icon=":material/play_arrow:", width="stretch"
    )
    reset = second[1].button(
        "Reset", key="lesson_sheet_reset", icon=":material/refresh:", width="stretch",
        help="New random factors from the seed (the same seed gives the same start).",
    )  # fmt: skip

    sheet = _sheet(table, int(n_factors), int(seed), reset)
    if biases != sheet.biases:
        if biases:  # start the biases from zero: the same predictions, then gradient descent uses them
            sheet.user_bias.data.zero_()
            sheet.item_bias.data.zero_()
        sheet.biases = bool(biases)
    sheet.weight_decay = float(decay)

    # the chart right under the buttons, the numbers below it: at 150% zoom (853 x 480 CSS px) the teacher's
    # button and the curve it moves are on one screen
    curve_slot = st.empty()
    numbers = st.empty()
    started = time.perf_counter()
    taken = 0
    if one:
        sheet.run(1, lr)
    elif ten:
        sheet.run(10, lr)
    elif converge:
        last_draw = [started]

        def redraw(current: Spreadsheet) -> None:  # the live curve, at most about three times a second
            if time.perf_counter() - last_draw[0] >= 0.3:
                curve_slot.plotly_chart(
                    lesson_plots.sheet_loss_figure(current.history),
                    key=f"lesson_sheet_live_{next(_CURVE_KEYS)}",
                )
                last_draw[0] = time.perf_counter()

        taken = sheet.run_to_convergence(lr, max_steps=MAX_STEPS, every=50, on_progress=redraw)
    seconds = time.perf_counter() - started
    snap = sheet.snapshot()
    if converge:
        runs = st.session_state.setdefault(RUNS_KEY, {})
        best = runs.get(_setting(sheet), (np.inf, ""))[0]
        if snap.loss < best:  # a lower loss (or the first run) replaces the row, with how it ended
            ended = (
                f"stopped at the {MAX_STEPS:,}-step limit, not converged"
                if taken >= MAX_STEPS
                else "converged"
            )
            runs[_setting(sheet)] = (snap.loss, f"{ended} ({snap.steps:,} steps in all)")

    with numbers.container():
        top, bottom = st.columns(2), st.columns(2)
        top[0].metric(
            "MSE over filled cells", f"{snap.loss:.4f}", delta=f"{snap.loss - snap.history[0]:+.4f} since start",
            delta_color="inverse",
        )  # fmt: skip
        top[1].metric("RMSE", f"{np.sqrt(snap.loss):.3f}", help="in stars: the typical miss on a filled cell")
        bottom[0].metric("Gradient steps", f"{snap.steps:,}")
        bottom[1].metric(
            "Filled cells", f"{sheet.n_filled}/{table.size}", help="only these count in the loss"
        )
        if one or ten or converge:
            what = "Stepped"
            if converge:
                what = (
                    f"Stopped at the {MAX_STEPS:,}-step limit" if taken >= MAX_STEPS else "Ran to convergence"
                )
            st.caption(f"{what} in {1000 * seconds:.0f} ms ({_setting(sheet)}).")
        if not np.isfinite(snap.loss):
            st.error(
                "The loss blew up: the learning rate is too large for this sheet. Pick a smaller one and reset.",
                icon=":material/error:",
            )
    curve_slot.plotly_chart(lesson_plots.sheet_loss_figure(snap.history), key="lesson_sheet_loss")

    users = [f"user {u}" for u in table.index]
    items = [str(i) for i in table.columns]
    predictions, user_tab, item_tab = st.tabs(
        ["Predictions", "User factors", "Item factors"], key="lesson_sheet_tabs"
    )
    predictions.plotly_chart(
        lesson_plots.predictions_heatmap(snap.predictions, table.to_numpy(dtype=float), users, items),
        key="lesson_sheet_predictions",
    )
    user_tab.plotly_chart(
        lesson_plots.factor_heatmap(snap.user_factors, users, "User factors", snap.user_bias),
        key="lesson_sheet_users",
    )
    item_tab.plotly_chart(
        lesson_plots.factor_heatmap(snap.item_factors, items, "Item factors", snap.item_bias),
        key="lesson_sheet_items",
    )
    runs = st.session_state.get(RUNS_KEY)
    if runs:
        st.markdown("**Lowest loss reached by 'Run to convergence'**, per setting:")
        st.dataframe(
            pd.DataFrame(
                {
                    "setting": list(runs),
                    "MSE": [round(loss, 4) for loss, _ in runs.values()],
                    "run": [ended for _, ended in runs.values()],
                }
            ),
            hide_index=True,
            key="lesson_sheet_runs_table",
        )
