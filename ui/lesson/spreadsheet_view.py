"""Lesson step 3: the lesson's spreadsheet, live. Widgets in, `collab.lesson.spreadsheet` steps, tables and figures out."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from collab.lesson.spreadsheet import Spreadsheet
from collab.plots import lesson as lesson_plots
from ui import state

SHEET_KEY = "lesson_sheet"  # (dataset fingerprint, Spreadsheet): the live sheet of this session
RUNS_KEY = "lesson_sheet_runs"  # (start, {row: Run}): the table of runs to convergence, all from one start
LEARNING_RATES = [0.01, 0.03, 0.1, 0.3, 1.0, 2.0]
DECAYS = [0.0001, 0.001, 0.01, 0.1]
_CURVE_KEYS = itertools.count()
MAX_STEPS = 3000  # "run to convergence" stops here
WIDTHS = {
    "biases": 64,
    "wd": 50,
    "lr": 40,
    "MSE": 64,
    "ended": 96,
    "steps": 56,
}  # px: 370 in all, a phone's width


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


@dataclass(frozen=True)
class Run:
    """One press of 'Run to convergence', from the seed's random start: its settings and how it ended."""

    biases: bool
    weight_decay: float
    lr: float
    loss: float
    steps: int
    converged: bool


def _start(sheet: Spreadsheet) -> tuple[str, int, int]:
    """Where a run to convergence begins: the data, k and the seed fix the random factors."""
    return state.ratings().fingerprint, sheet.n_factors, sheet.seed


def _record(sheet: Spreadsheet, lr: float, taken: int) -> None:
    """The run's row in the table; a new start (data, k or seed) begins a new table."""
    start, rows = st.session_state.get(RUNS_KEY, (None, {}))
    if start != _start(sheet):
        start, rows = _start(sheet), {}
    run = Run(sheet.biases, sheet.weight_decay, float(lr), sheet.history[-1], sheet.steps, taken < MAX_STEPS)
    rows[(run.biases, run.weight_decay, run.lr)] = run  # the same settings from the same start: the same run
    st.session_state[RUNS_KEY] = (start, rows)


def _runs_table(sheet: Spreadsheet) -> None:
    """The runs to convergence side by side, every one from the same random factors, and how each ended."""
    start, rows = st.session_state.get(RUNS_KEY, (None, {}))
    if not rows or start != _start(sheet):
        return
    st.markdown(
        f"**Run to convergence, every run from the same random start** (seed {sheet.seed}, k = {sheet.n_factors}):"
    )
    st.dataframe(  # narrow columns: on a phone how each run ended stays on screen
        pd.DataFrame(
            {
                "biases": ["with" if r.biases else "without" for r in rows.values()],
                "wd": [f"{r.weight_decay:g}" if r.weight_decay else "none" for r in rows.values()],
                "lr": [f"{r.lr:g}" for r in rows.values()],
                "MSE": [round(r.loss, 4) for r in rows.values()],
                "ended": ["converged" if r.converged else "at the limit" for r in rows.values()],
                "steps": [r.steps for r in rows.values()],
            }
        ),
        hide_index=True,
        key="lesson_sheet_runs_table",
        column_config={name: st.column_config.Column(width=px) for name, px in WIDTHS.items()},
    )
    st.caption(
        "Each press starts again from the seed's random factors, so the rows differ only by their settings. "
        f"A new k or seed starts a new table. A run that ended at the {MAX_STEPS:,}-step limit has not converged: "
        "it could still go lower."
    )


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
    toggles = st.columns(3)
    biases = toggles[0].toggle("User/item biases", False, key="lesson_sheet_biases")
    decay_on = toggles[1].toggle("Weight decay", False, key="lesson_sheet_wd_on")
    log_axis = toggles[2].toggle(
        "Log loss axis", True, key="lesson_sheet_log",
        help="On a linear axis the first few steps fill the chart and the slow fall after them looks flat.",
    )  # fmt: skip
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
        "Run to convergence", key="lesson_sheet_converge", icon=":material/play_arrow:", width="stretch",
        help="Starts again from the seed's random factors and steps until the loss stops falling: every run in "
        "the table below starts from the same place.",
    )  # fmt: skip
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
        # from the seed's random start, not from wherever the sheet is: runs compared in the table all begin
        # at the same factors (a with-biases run after a converged one would otherwise start half-way there)
        sheet = sheet.restarted()
        st.session_state[SHEET_KEY] = (state.ratings().fingerprint, sheet)
        last_draw = [started]

        def redraw(current: Spreadsheet) -> None:  # the live curve, at most about three times a second
            if time.perf_counter() - last_draw[0] >= 0.3:
                curve_slot.plotly_chart(
                    lesson_plots.sheet_loss_figure(current.history, log_y=log_axis),
                    key=f"lesson_sheet_live_{next(_CURVE_KEYS)}",
                )
                last_draw[0] = time.perf_counter()

        taken = sheet.run_to_convergence(lr, max_steps=MAX_STEPS, every=50, on_progress=redraw)
    seconds = time.perf_counter() - started
    snap = sheet.snapshot()
    if converge:
        _record(sheet, lr, taken)

    with numbers.container():
        top, bottom = st.columns(2), st.columns(2)
        top[0].metric(
            "MSE over filled cells", f"{snap.loss:.4f}", delta_color="inverse",
            # a change only once there is something to change from: at 0 steps no red "+0.0000"
            delta=f"{snap.loss - snap.history[0]:+.4f} since start" if snap.steps else None,
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
                    f"From the seed's random start: stopped at the {MAX_STEPS:,}-step limit"
                    if taken >= MAX_STEPS
                    else "From the seed's random start: ran to convergence"
                )
            st.caption(f"{what} in {1000 * seconds:.0f} ms ({_setting(sheet)}).")
        if not np.isfinite(snap.loss):
            st.error(
                "The loss blew up: the learning rate is too large for this sheet. Pick a smaller one and reset.",
                icon=":material/error:",
            )
    curve_slot.plotly_chart(
        lesson_plots.sheet_loss_figure(snap.history, log_y=log_axis), key="lesson_sheet_loss"
    )

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
    _runs_table(sheet)
