"""Lesson steps 14-17: four lecture points, each live and short (sigmoid_range, a net's bias, log twice, **kwargs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from collab.lesson import lecture
from collab.lesson.spreadsheet import Spreadsheet
from collab.plots import lesson as lesson_plots
from ui import state
from ui.lesson.common import intro, try_this
from ui.lesson.spreadsheet_view import SHEET_KEY
from ui.show_code import show_code

SHEET_STEPS = 1500  # each sheet stops here if it has not converged (about a quarter second each)
Y_RANGE = (0.0, 5.5)  # fastbook's y_range: a little above 5, since a sigmoid never reaches its top


@st.cache_data(show_spinner=False, max_entries=8)
def _sheets(
    fingerprint: str, n_factors: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """The spreadsheet run to convergence (or SHEET_STEPS) without and with `sigmoid_range` (same start):
    the table, both sheets' predictions and losses, and the steps each took."""
    table = state.ratings().crosstab(15, 15).to_numpy(dtype=float)
    plain = Spreadsheet(table, n_factors=n_factors, seed=seed)
    plain_steps = plain.run_to_convergence(0.3, max_steps=SHEET_STEPS)
    squashed = Spreadsheet(table, n_factors=n_factors, seed=seed, y_range=Y_RANGE)
    squashed_steps = squashed.run_to_convergence(1.0, max_steps=SHEET_STEPS)
    steps = (plain_steps, squashed_steps)
    return table, plain.predictions(), squashed.predictions(), plain.loss(), squashed.loss(), steps


def _ran(steps: int) -> str:
    return (
        f"stopped at the {SHEET_STEPS:,}-step limit"
        if steps >= SHEET_STEPS
        else f"converged in {steps:,} steps"
    )


def range_step() -> None:
    intro(
        "Ratings run from 1 to 5, but a dot product can say anything: after the spreadsheet's gradient descent "
        "some cells, mostly the **blank** ones no rating pins down, come out below 1 or above 5. fastai's answer "
        "is `y_range`: pass the score through `sigmoid_range(x, low, high) = sigmoid(x) · (high − low) + low`, "
        f"so every prediction lies between {Y_RANGE[0]:g} and {Y_RANGE[1]:g} (a little above 5: a sigmoid never "
        "reaches its top)."
    )
    kept = st.session_state.get(SHEET_KEY)
    lead = None
    if kept is not None and kept[0] == state.ratings().fingerprint and kept[1].steps:
        predictions = kept[1].predictions()
        lead = (
            f"Your spreadsheet in step 3 ({kept[1].steps:,} steps): predictions from {predictions.min():.2f} to "
            f"{predictions.max():.2f}, {lecture.out_of_range(predictions, 1, 5)} of {predictions.size} cells outside 1-5."
        )
    table, plain, squashed, plain_loss, squashed_loss, steps = _sheets(state.ratings().fingerprint, 5, 0)
    if lead:
        st.markdown(lead)
    cols = st.columns(2)
    cols[0].metric("Outside 1-5, plain", f"{lecture.out_of_range(plain, 1, 5)} of {plain.size}",
                   help=f"from {plain.min():.2f} to {plain.max():.2f}; MSE over filled cells {plain_loss:.4f}")  # fmt: skip
    cols[1].metric(
        "Outside 0-5.5, sigmoid_range", f"{lecture.out_of_range(squashed, *Y_RANGE)} of {squashed.size}",
        help=f"from {squashed.min():.2f} to {squashed.max():.2f}; MSE over filled cells {squashed_loss:.4f}",
    )  # fmt: skip
    st.plotly_chart(lesson_plots.range_figure(plain, squashed, 1.0, 5.0), key="lesson_range_fig")
    st.caption(
        f"The same 15 × 15 sheet, k = 5, seed 0, from the same start: {_ran(steps[0])} plain, {_ran(steps[1])} "
        f"squashed. Plain from {plain.min():.2f} to "
        f"{plain.max():.2f} (MSE {plain_loss:.4f} on filled cells), squashed from {squashed.min():.2f} to "
        f"{squashed.max():.2f} (MSE {squashed_loss:.4f}). The Train page's models all squash this way "
        "(`TrainConfig.y_range`: the data's min to max + 0.5)."
    )
    try_this(
        "load MovieLens 100K on the Data page and come back: its blank cells go far past 5 without the squash."
    )
    show_code("lesson_range")


def bias_step() -> None:
    intro(
        "Why does every layer of a neural net have a **bias**? A layer computes `x @ w + b`. Feed it an input of "
        "all zeros and `x @ w` is 0 whatever the weights are, and so is every weight's gradient (it is the input "
        "times the error). A net **without a bias** is stuck at 0 on that input; with one, `b` alone can move."
    )
    target = st.slider("Target output for the input (0, 0, 0)", -5.0, 5.0, 3.0, 0.5, key="lesson_bias_target")
    with_bias = lecture.fit_zero_input(True, target=float(target))
    without = lecture.fit_zero_input(False, target=float(target))
    cols = st.columns(2)
    cols[0].metric("With a bias, after 50 steps", f"{with_bias.outputs[-1]:.4f}")
    cols[1].metric("Without a bias, after 50 steps", f"{without.outputs[-1]:.4f}")
    st.plotly_chart(
        lesson_plots.bias_figure(with_bias.outputs, without.outputs, float(target)), key="lesson_bias_fig"
    )
    st.caption(
        "`nn.Linear(3, 1)` trained by SGD on one example, input (0, 0, 0). In the rating models the user and item "
        "biases play this part: 'this film is rated high by everyone' needs no factor."
    )
    try_this("move the target: the net without a bias stays at 0.0000 every time.")
    show_code("lesson_bias")


LOGITS = [2.0, 0.5, -1.0]
CLASSES = ["5 stars", "4 stars", "3 stars"]


def log_step() -> None:
    intro(
        "PyTorch's `F.cross_entropy` is two steps: `F.log_softmax` (log-probabilities) then `F.nll_loss` (minus the "
        "right class's log-probability; despite its name it takes no log). So **take the log only if you did not "
        "use log_softmax**: after log_softmax the numbers are already logs."
    )
    cols = st.columns([2, 1])
    target = cols[0].radio("The right class", CLASSES, horizontal=True, key="lesson_log_target")
    table = lecture.log_twice(LOGITS, CLASSES.index(target))
    st.dataframe(
        pd.DataFrame(
            {
                "F. (PyTorch)": ["cross_entropy(x, y)", "nll_loss(log_softmax(x), y)",
                                 "nll_loss(log(log_softmax(x)), y)", "nll_loss(softmax(x), y)"],
                "loss": [table.cross_entropy, table.nll_of_log_softmax, table.nll_of_log_twice, table.nll_of_softmax],
                "": ["the loss", "the same", "log twice: NaN", "no log: -p"],
            }
        ),
        hide_index=True, key="lesson_log_table",
        column_config={"loss": st.column_config.NumberColumn(format="%.4f")},
    )  # fmt: skip
    st.caption(
        f"Logits {LOGITS} for {', '.join(CLASSES)}; log_softmax gives "
        f"{', '.join(f'{v:.4f}' for v in table.log_probs)}: all negative, so a second log is undefined (NaN); "
        "`nll_loss` on plain probabilities returns minus the probability, not minus its log."
    )
    try_this("pick another right class: the first two rows stay equal, the third stays NaN.")
    show_code("lesson_log")


def kwargs_step() -> None:
    intro(
        "fastai passes options down through layers with `**kwargs`: a function gathers the keyword arguments it "
        "does not name into a dict and hands them on with `**kwargs` again. This project's "
        "`collab.lesson.lecture.embedding_table` does exactly that for `nn.Embedding`."
    )
    cols = st.columns(3)
    padding = cols[0].toggle("padding_idx=0", key="lesson_kwargs_padding")
    norm = cols[1].toggle("max_norm=1.0", key="lesson_kwargs_norm")
    sparse = cols[2].toggle("sparse=True", key="lesson_kwargs_sparse")
    options = {"padding_idx": 0} if padding else {}
    options |= {"max_norm": 1.0} if norm else {}
    options |= {"sparse": True} if sparse else {}
    table, received = lecture.embedding_table(5, 3, **options)
    st.markdown(
        f"`embedding_table(5, 3{''.join(f', {k}={v!r}' for k, v in options.items())})` received `kwargs = {received!r}`"
    )
    st.dataframe(
        pd.DataFrame(
            {"nn.Embedding attribute": ["padding_idx", "max_norm", "sparse"],
             "value": [repr(table.padding_idx), repr(table.max_norm), repr(table.sparse)]}
        ),
        hide_index=True, key="lesson_kwargs_table",
    )  # fmt: skip
    st.caption(
        "Every switch you turn on arrives in the dict and lands on the embedding, untouched by the function."
    )
    try_this(
        "turn on padding_idx=0: row 0 of the table becomes zeros and gets no gradient. Open the code below."
    )
    show_code("lesson_kwargs")
