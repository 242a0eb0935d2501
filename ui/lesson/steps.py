"""The Lesson's steps, one function each: two or three sentences, one live piece, its numbers, a 'try this'.

Each step reuses the sections of the other pages (`ui/*_view.py`) and ends with
'Show the code' for the core functions it ran.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from collab.evaluate.metrics import OVERFIT_RISE, find_overfit_epoch
from collab.lesson import losses
from collab.plots import data as data_plots
from collab.plots import lesson as lesson_plots
from collab.plots import losses as loss_plots
from collab.training.config import MODEL_LABELS, TrainConfig
from collab.training.memory import MemoryEstimate, estimate_memory
from ui import embeddings_view, multitarget_view, state, text, training_view
from ui.lesson import beyond_view, chapter8_view, lecture_view, spreadsheet_view
from ui.lesson.common import intro, keep_in_url, lesson_config, lesson_model, try_this
from ui.lesson.compare_view import compare_with_current
from ui.show_code import show_code

PLAYGROUND = "app_pages/loss_playground.py"


@dataclass(frozen=True)
class Step:
    title: str
    render: Callable[[], None]


def data_step() -> None:
    ratings = state.ratings()
    table = ratings.crosstab(15, 15)
    filled = int(np.isfinite(table.to_numpy(dtype=float)).sum())
    intro(
        "Collaborative filtering starts from a table: users down, items across, a rating where a user rated an "
        "item. Here are the 15 most active users and the 15 most rated items; the job is to fill the blanks."
    )
    summary = ratings.summary()
    cols = st.columns(2)
    cols[0].metric("Filled here", f"{filled}/{table.size}")
    cols[1].metric(
        "Filled overall", f"{1 - summary.sparsity:.1%}",
        help=f"{summary.n_ratings:,} ratings of {summary.n_users:,} × {summary.n_items:,} possible",
    )  # fmt: skip
    st.caption(f"Dataset: {text.md(state.dataset_source())}")
    st.plotly_chart(data_plots.crosstab_heatmap(table), key="lesson_crosstab")
    elsewhere = (
        "Load MovieLens 100K on the Data page and come back: real data leaves blanks even here."
        if ratings.truth is not None
        else "hover over a blank: that is a rating the model will have to predict."
    )
    try_this(
        f"compare the two numbers above: the busiest corner is far fuller than the whole table. {elsewhere}"
    )
    show_code("lesson_data")


def spreadsheet_step() -> None:
    intro(
        "The lesson's spreadsheet: give every user and every item **k random numbers** (latent factors). A "
        "prediction is the dot product of a user's and an item's factors; the loss is the mean squared error "
        "over the filled cells only. Each button below runs real gradient descent: `loss.backward()`, then "
        "every factor moves a little against its gradient (`sub_`)."
    )
    spreadsheet_view.sheet_section()
    try_this(
        "press **Run to convergence**, then switch on **User/item biases** and run again: the loss drops further, "
        "because a bias can say 'this user rates everything high' without spending a factor on it. The table "
        "at the bottom keeps both numbers, each run from the same random start."
    )
    show_code("lesson_spreadsheet")


def lookup_step() -> None:
    intro(
        "In the spreadsheet, a user's factors were *their row* of a table. A network cannot 'pick a row', but "
        "it can multiply: a one-hot vector times the factor matrix gives exactly that row. An embedding layer "
        "is that product, done as an index look-up."
    )
    result = lesson_model("lesson_lookup_train")
    if result is not None:
        embeddings_view.lookup_section(result, state.ratings(), stacked=True)
    try_this("pick another user: the product and the looked-up row stay identical, to the last digit.")
    show_code("lesson_lookup")


def train_step() -> None:
    intro(
        f"The real model on all ratings, with fastbook's settings ({lesson_config().describe()}). Then the lesson's "
        "question: how much **weight decay**? Too little and the validation loss turns up (overfitting); too much "
        "and the factors cannot say anything."
    )
    if st.button("Train with the lesson's settings", key="lesson_train_button", icon=":material/play_arrow:",
                 type="primary"):  # fmt: skip
        keep_in_url(training_view.train_and_record(lesson_config(), label="Lesson settings")[0])
    result = state.result()
    if result is not None:
        training_view.results_panel(result)
    st.markdown("**The weight-decay sweep** (the lesson's 0.1 and 0.01, none, and more: 0.3 and 1)")
    training_view.sweep_section(lesson_config())
    _name_overfitting()
    try_this("run the sweep and read which curve turns up first: that one decays too little.")
    show_code("lesson_train")


def _name_overfitting() -> None:
    """Under the sweep's chart, in words: which weight decays overfit, from which epoch, and by how much."""
    sweep = state.sweep()
    if not sweep:
        return
    lines = []
    for wd in sorted(sweep):
        history = sweep[wd].history
        epoch = find_overfit_epoch(history, tolerance=OVERFIT_RISE)
        if epoch is not None:
            valid = [h.valid_loss for h in history]
            lines.append(
                f"**wd {wd:g}: overfitting from epoch {epoch}**, validation loss {valid[-1] / valid[epoch - 1] - 1:+.1%} "
                f"above its best ({valid[epoch - 1]:.4f} → {valid[-1]:.4f}) while the training loss kept falling."
            )
    if lines:
        st.markdown("\n".join(f"- {line}" for line in lines))
    else:
        st.markdown(
            f"No curve ends more than {OVERFIT_RISE:.0%} above its best validation loss: none of these decays overfits "
            "in this many epochs."
        )


def memory_step() -> None:
    intro(
        "Every factor is a parameter, and every parameter also needs a gradient and two AdamW numbers, so more "
        "factors cost more memory. The batch size moves in multiples of 8 (hardware works in blocks of 8); when "
        "a batch does not fit, **gradient accumulation** adds up small batches into exactly the same update."
    )
    cols = st.columns(3)
    n_factors = cols[0].select_slider(
        "Latent factors", [8, 16, 32, 50, 64, 128, 256, 512], 50, key="lesson_mem_k"
    )
    batch = cols[1].select_slider("Batch size", [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096], 64,
                                  key="lesson_mem_batch")  # fmt: skip
    accum = cols[2].select_slider("Accumulation steps", [1, 2, 4, 8, 16], 1, key="lesson_mem_accum")
    config = dataclasses.replace(
        lesson_config(), n_factors=int(n_factors), batch_size=int(batch), accum_steps=int(accum)
    )
    data = state.ratings()
    memory = estimate_memory(config, data.n_users, data.n_items, data.n_ratings)
    doubled = estimate_memory(
        dataclasses.replace(config, n_factors=2 * config.n_factors),
        data.n_users,
        data.n_items,
        data.n_ratings,
    )
    cols = st.columns(2)
    cols[0].metric("Effective batch", f"{config.effective_batch:,}", help="batch size × accumulation steps")
    cols[1].metric(
        "Memory while training", training_view.size_text(memory.total_bytes), help=memory.describe()
    )
    st.dataframe(
        pd.DataFrame(
            {
                "what": ["parameters (factors, biases)", "their gradients", "AdamW state (2 per parameter)",
                         "one micro-batch's activations", "the ratings as tensors"],
                f"{config.n_factors} factors": [training_view.size_text(b) for b in _parts(memory)],
                f"{2 * config.n_factors} factors": [training_view.size_text(b) for b in _parts(doubled)],
            }
        ),
        hide_index=True,
        key="lesson_mem_table",
    )  # fmt: skip
    st.caption(
        f"{memory.n_parameters:,} parameters at {config.n_factors} factors, {doubled.n_parameters:,} at "
        f"{2 * config.n_factors}: every parameter also costs a gradient and two optimizer numbers."
    )
    st.markdown("**Gradient accumulation, proved**")
    training_view.accumulation_lab(config, sliders_above=True)
    try_this("double the factors and compare the two columns; then set **Accumulation steps** to 4 and press "
             "**Compare the gradients**: the largest difference is float rounding, not a different update.")  # fmt: skip
    show_code("lesson_memory")


def _parts(memory: MemoryEstimate) -> list[int]:
    return [memory.parameter_bytes, memory.gradient_bytes, memory.optimizer_bytes, memory.activation_bytes,
            memory.data_bytes]  # fmt: skip


def interpret_step() -> None:
    intro(
        "A trained model can be read. An item's **bias** says how it is rated whatever your taste; the "
        "**factors**, squeezed to 2-D by PCA, put similar items together; **neighbours** are the items with the "
        "closest factors."
    )
    result = lesson_model("lesson_interpret_train")
    if result is not None:
        ratings = state.ratings()
        biases, pca_map, neighbours = st.tabs(
            ["Biases", "PCA map", "Neighbours"], key="lesson_interpret_tabs"
        )
        with biases:
            embeddings_view.bias_section(result, ratings, stacked=True)
        with pca_map:
            choice = embeddings_view.map_controls(result, ratings)
            labels = st.slider(
                "Titles written on the most-rated films", 0, 30, 12, key="lesson_map_labels",
                help="fastbook labels the map with film titles; a title search above replaces these labels.",
            )  # fmt: skip
            embeddings_view.map_chart(result, ratings, choice, label_most_rated=int(labels))
        with neighbours:
            embeddings_view.neighbours_section(result, ratings)
    try_this(
        "on the demo set, colour the map by planted genre: the genres the data was made from reappear, and the "
        "labelled titles sit among their genre. Nobody told the model a genre: these are the named factors of "
        "step 2, found without names."
    )
    show_code("lesson_interpret")


COMPARE_MODELS = ("dot", "nn", "classifier")
SHORT_NAMES = {"dot": "Dot product", "nn": "Neural net", "classifier": "Classifier"}  # fit a projector
COMPARE_KEY = "lesson_compare"  # (fingerprint, split params) -> {model: TrainResult}
COMPARE_PENDING = "lesson_compare_pending"  # the key of a comparison pressed and not yet finished


def nn_step() -> None:
    intro(
        "The dot product is one choice of model. The **neural net** concatenates the user's and item's "
        "embeddings and lets layers find the interaction; the **rating classifier** asks 'what if we used "
        "cross-entropy?': it treats each star as a class. Same split, same data: the validation RMSE decides."
    )
    key = (state.ratings().fingerprint, state.split_params())
    seed = state.split_params().seed
    # the rating classifier needs a few rating levels: on continuous ratings it is left out, with the reason
    skipped = {
        m: p for m in COMPARE_MODELS if (p := training_view.model_problem(TrainConfig(model=m, seed=seed)))
    }
    models = [m for m in COMPARE_MODELS if m not in skipped]
    for problem in skipped.values():
        st.info(problem, icon=":material/info:")
    empty = not state.split().valid.n_ratings
    if empty:
        st.info(
            "The validation set is empty (see the split on the Train page): there is nothing to compare on.",
            icon=":material/info:",
        )
    pressed = st.button(
        f"Train the {'three' if len(models) == 3 else 'two'} models", key="lesson_nn_button",
        icon=":material/play_arrow:", type="primary", disabled=empty,
    )  # fmt: skip
    kept = st.session_state.get(COMPARE_KEY)
    # pressed before, left mid-run (another page, another step): resume, from the store or the line
    resume = st.session_state.get(COMPARE_PENDING) == key and (kept is None or kept[0] != key)
    if resume and not pressed:
        st.caption(
            "Picking up the comparison you started: finished models come from the store, the rest train."
        )
    if (pressed or resume) and not empty:
        st.session_state[COMPARE_PENDING] = key
        found = {  # on the training pool: a class's clicks wait in line, each page shows its place
            model: training_view.train_with_progress(
                TrainConfig(model=model, seed=seed), MODEL_LABELS[model]
            )[0]
            for model in models
        }
        st.session_state[COMPARE_KEY] = (key, found)
        st.session_state.pop(COMPARE_PENDING, None)
    kept = st.session_state.get(COMPARE_KEY)
    if kept is not None and kept[0] == key:
        found = kept[1]
        frame = pd.DataFrame(
            [{"model": SHORT_NAMES[m], "loss": "cross-entropy" if m == "classifier" else "MSE",
              "valid RMSE": r.metrics["rmse"], "valid MAE": r.metrics["mae"], "s": r.seconds}
             for m, r in found.items()]
        )  # fmt: skip
        st.dataframe(
            frame.round(4), hide_index=True, key="lesson_nn_table",
            column_config={"s": st.column_config.NumberColumn("s", help="training seconds", format="%.1f")},
        )  # fmt: skip
        best = min(found, key=lambda m: found[m].metrics["rmse"])
        versus = (
            f" The classifier's RMSE is {found['classifier'].metrics['rmse'] - found['dot'].metrics['rmse']:+.4f} "
            "against the dot model: cross-entropy does not know that 4 stars is closer to 5 than to 1."
            if "classifier" in found
            else ""
        )
        st.markdown(f"Lowest validation RMSE: **{MODEL_LABELS[best]}**.{versus}")
        compare_with_current(found)
    else:
        st.caption(
            "Trains the app's default settings for each model on the current split (a few seconds each)."
        )
    st.markdown(
        "**How wide is each embedding?** The neural net sizes its own tables by fastai's rule of thumb:"
    )
    chapter8_view.size_rule_section()
    try_this("change the split seed on the Train page and train again: does the ranking hold?")
    show_code("lesson_nn")


def multitarget_step() -> None:
    intro(
        "Nothing forces a network to predict one thing. Make the **last layer** wider (n1 + n2 outputs instead "
        "of n1), read it in two slices, give each slice its own softmax and cross-entropy, and add the losses: "
        "that is the lecture's **multi-target model**. The **first layer** (the embeddings) does not change; it "
        "is now shared, and learns from both targets."
    )
    multitarget_view.two_target_section()
    if st.button(
        "Open the two-head tab in the Loss playground", key="lesson_mt_open", icon=":material/functions:"
    ):
        st.switch_page(PLAYGROUND)
    try_this(
        "pick another genre and compare the rating head's accuracy: a second target on the same embeddings barely "
        "moves it. The genre head learns each item's genre through the shared item embedding (every validation "
        "item was seen in training, so this is recall, not discovery)."
    )
    show_code("lesson_multitarget")


LINKS = {
    "confident_wrong": "Softmax & cross-entropy: a confident wrong answer costs the most",
    "huge": "Huge logits: the naive softmax overflows, log-softmax does not",
}


def _open_preset(preset: str) -> None:
    st.session_state["loss_preset"] = preset


def loss_step() -> None:
    intro(
        "The classifier's last layer ends in softmax (probabilities that add up to 1) and cross-entropy "
        "(minus the log-probability of the right class). For a yes/no target, a sigmoid and **binary** "
        "cross-entropy do the same job with one output."
    )
    preset = losses.PRESETS["confident_wrong"]
    b = losses.softmax_breakdown(list(preset.logits), preset.target, list(preset.labels))
    cols = st.columns(3)
    cols[0].metric("Cross-entropy", f"{b.loss:.4f}")
    cols[1].metric(f"p(right class '{b.labels[b.target]}')", f"{b.probs[b.target]:.4f}")
    cols[2].metric("PyTorch agrees", "yes" if b.agrees else "no")
    st.plotly_chart(
        lesson_plots.probabilities_figure(b.labels, b.logits, b.probs, b.target), key="lesson_loss_probs"
    )
    binary = losses.binary_breakdown(1, prob=0.1)
    st.plotly_chart(loss_plots.bce_figure(losses.bce_curves(), binary), key="lesson_loss_bce")
    st.markdown("**Open the playground with the preset that proves each point:**")
    for key, label in LINKS.items():
        if st.button(label, key=f"lesson_loss_open_{key}", icon=":material/open_in_new:", on_click=_open_preset,
                     args=(key,)):  # fmt: skip
            st.switch_page(PLAYGROUND)
    try_this("in the playground, push the right class's logit up: the loss falls towards 0 but never below.")
    show_code("lesson_loss")


def beyond_step() -> None:
    intro(
        "An embedding is a table with one learned row per distinct value, read by index. Users and items were "
        "one use; a sentence's **tokens** (NLP) and a table's **categories** (occupation, age band, genre) are "
        "the same `nn.Embedding`."
    )
    st.markdown("**Tokens: a sentence looked up row by row**")
    beyond_view.tokens_section()
    st.markdown("**A categorical column, learned inside a small rating model**")
    beyond_view.category_section()
    try_this("repeat a word in the sentence: it gets the same row again. Then learn the embedding and find the "
             "categories that sit close together.")  # fmt: skip
    show_code("lesson_beyond")


STEPS: tuple[Step, ...] = (
    Step("The data: a crosstab with blanks", data_step),
    Step("Latent factors with names: a tiny dot product", chapter8_view.named_step),
    Step("Latent factors by hand: the spreadsheet, live", spreadsheet_step),
    Step("An embedding is a lookup", lookup_step),
    Step("Train the real model; weight decay", train_step),
    Step("From scratch: nn.Parameter beside nn.Embedding", chapter8_view.scratch_step),
    Step("Batch size and memory", memory_step),
    Step("Interpreting the model", interpret_step),
    Step("A new user, and feedback loops", chapter8_view.bootstrap_step),
    Step("The neural net, and what if we used cross-entropy?", nn_step),
    Step("A multi-target model", multitarget_step),
    Step("Softmax, cross-entropy, binary cross-entropy", loss_step),
    Step("Embeddings beyond users and items", beyond_step),
    Step("Predictions out of range: y_range and sigmoid_range", lecture_view.range_step),
    Step("Why a neural net needs a bias", lecture_view.bias_step),
    Step("log_softmax + nll_loss = cross_entropy: don't take the log twice", lecture_view.log_step),
    Step("**kwargs: passing keyword arguments on", lecture_view.kwargs_step),
)
