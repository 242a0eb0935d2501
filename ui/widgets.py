"""Reusable forms: widgets in, core objects (TrainConfig, SplitParams, a picked item or user) out; and the
pieces the Embeddings and Recommend pages share (the trained model or a notice, pickers, the neighbours table)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import streamlit as st

from collab.analysis import embeddings as emb
from collab.data.guards import neutralise_formulas
from collab.models.implicit import IMPLICIT_MODELS
from collab.training.config import MODEL_LABELS, TrainConfig, auto_epochs
from ui import cached, state, text, url_state

if TYPE_CHECKING:
    from collab.data import Ratings
    from collab.training.result import TrainResult

WEIGHT_DECAYS = url_state.WEIGHT_DECAYS
LEARNING_RATES = url_state.LEARNING_RATES
SPLIT_METHODS = url_state.SPLIT_METHODS
PRESET_BUTTONS = {"default": "Our tuned default", "fastbook": "fastbook's settings"}
BATCH_HELP = (
    "How many ratings go into one forward pass. It moves in steps of 8 because GPU tensor cores and "
    "CPU vector units work on blocks of numbers (8 or more): a multiple of 8 fills them, while a batch "
    "of 100 leaves a block partly empty and is rarely any faster than 104. For a model this small the "
    "difference is slight; the core accepts only multiples of 8, the habit the lesson teaches."
)
WD_HELP = (
    "Weight decay shrinks every factor a little at each step, so the model prefers small, smooth "
    "factors and overfits less. The lesson's advice: start at 0.1 and divide by 10 until validation "
    "loss stops improving. Our default is larger (0.7) because the decay is applied once per step and "
    "a batch of 512 takes 8x fewer steps per epoch than the lesson's 64."
)
ACCUM_HELP = (
    "Gradient accumulation: run this many micro-batches, add up their gradients, then take one "
    "optimizer step. The update equals one batch of batch size x steps, with the memory of one micro-batch."
)


def _nearest(options: list[float], value: float) -> float:
    return min(options, key=lambda option: abs(option - value))


def split_form() -> state.SplitParams:
    """Validation share, split method and seed; stored in session state (and the URL) and returned."""
    data = state.ratings()
    methods = [m for m in SPLIT_METHODS if m != "by_time" or data.timestamps is not None]
    for key in ("train_valid_pct", "train_split_method", "train_seed"):
        url_state.seed(key)
    if st.session_state.get("train_split_method") not in methods:
        st.session_state["train_split_method"] = methods[0]
    cols = st.columns(3)
    valid_pct = cols[0].slider(
        "Validation share", 0.05, 0.5, step=0.05, key="train_valid_pct",
        help="Ratings held out to measure how well the model predicts ratings it has not seen.",
    )  # fmt: skip
    method = cols[1].selectbox("Split", methods, format_func=SPLIT_METHODS.get, key="train_split_method")
    seed = cols[2].number_input("Seed", 0, 1_000_000, key="train_seed")
    url_state.save("train_valid_pct", "train_split_method", "train_seed")
    params = state.SplitParams(valid_pct=round(float(valid_pct), 2), seed=int(seed), method=method)
    state.set_split_params(params)
    return params


def preset_buttons() -> None:
    """One click to the lesson's own settings or to our tuned default (the knobs move; press Train)."""
    cols = st.columns(len(PRESET_BUTTONS) + 1, vertical_alignment="center")
    for col, (name, label) in zip(cols, PRESET_BUTTONS.items(), strict=False):
        col.button(
            label, key=f"train_preset_{name}", on_click=url_state.apply_preset, args=(name,),
            icon=":material/tune:", width="stretch", help=PRESET_HELP[name],
        )  # fmt: skip
    cols[-1].caption("Sets the knobs below; press **Train** to train them. Both land in **All runs**.")


PRESET_HELP = {
    "default": "64 factors, weight decay 0.7, lr 0.01, batch 512, 5 epochs: tuned on MovieLens 100K.",
    "fastbook": "The lesson's learn.fit_one_cycle(5, 5e-3, wd=0.1) with 50 factors and batch 64.",
}


def factors_note(model: str, data: Ratings, hidden: int, dropout: float) -> str | None:
    """What a model really uses instead of the factors slider, or None when it uses the slider."""
    if model == "bias":
        return "Biases only: one number per user and per item, no factors (the slider does not apply)."
    if model == "nn":
        from collab.models.base import embedding_size

        return (
            f"The neural net sizes its own embeddings by fastai's rule min(600, round(1.6 n^0.56)): "
            f"**{embedding_size(data.n_users)}** per user and **{embedding_size(data.n_items)}** per item "
            f"here, then {hidden} hidden units with dropout {dropout:g} (the slider does not apply)."
        )
    return None


TRAIN_KEYS = (
    "train_model", "train_n_factors", "train_wd", "train_batch_size", "train_accum", "train_lr",
    "train_epochs", "train_schedule", "train_decay_biases", "train_device", "train_amp", "train_hidden",
    "train_dropout",
)  # fmt: skip


def train_config_form(data: Ratings) -> TrainConfig:
    """Every training knob of the lesson; returns a validated TrainConfig (seeded like the split).

    The knobs are sticky: they keep their values when you leave the page and come back, and they
    are written to the URL, so a link (or a reload) opens the same settings."""
    url_state.seed("train_model")
    models = list(MODEL_LABELS)
    model = st.selectbox("Model", models, format_func=MODEL_LABELS.get, key="train_model")
    if model == "autorec":
        config = autorec_form()
        url_state.save(*TRAIN_KEYS, *AUTOREC_KEYS)
        return config
    if model in IMPLICIT_MODELS:  # the ranking models' own knobs (ui/implicit_view.py)
        from ui import implicit_view

        url_state.save("train_model")
        return implicit_view.implicit_form(model, data)
    if model == "bfm":
        return bfm_form(state.split().train.n_ratings)
    # Seeded in the run that draws them, never in one that does not: a knob given its value while its
    # widget is away (the autoencoder's knobs shown instead) comes back drawn at its minimum in the browser
    # (1 factor, batch 8, lr 0.0001) while the server reads the seeded value, and the next rerun sends
    # the minimum back: Train then trained 1 factor at lr 0.0001.
    for key in TRAIN_KEYS:
        url_state.seed(key)
    devices = ["auto", "cpu"] + [d for d in ("cuda", "mps") if d in cached.device_label().lower()]
    if st.session_state.get("train_device") not in devices:
        st.session_state["train_device"] = "auto"
    cols = st.columns(3)
    with cols[0]:
        n_factors = st.slider(
            "Latent factors", 1, 200, key="train_n_factors", disabled=model in ("bias", "nn"),
            help="The length of each user and item vector. More factors can capture more, need more data, "
            "and cost more memory.",
        )  # fmt: skip
        weight_decay = st.select_slider(
            "Weight decay", WEIGHT_DECAYS, format_func=lambda v: f"{v:g}", key="train_wd", help=WD_HELP,
        )  # fmt: skip
    with cols[1]:
        batch_size = st.slider("Batch size", 8, 4096, step=8, key="train_batch_size", help=BATCH_HELP)
        if batch_size % 8:  # the slider moves in 8s; a value typed around it is snapped, with the reason
            low = max(8, int(batch_size) // 8 * 8)
            st.warning(
                f"Batch size must be a multiple of 8: {batch_size} is not, so {low} is used (or pick {low + 8})."
            )
            batch_size = low
        accum_steps = st.slider("Gradient-accumulation steps", 1, 16, key="train_accum", help=ACCUM_HELP)
    with cols[2]:
        lr = st.select_slider(
            "Learning rate (log scale)", LEARNING_RATES, format_func=lambda v: f"{v:g}", key="train_lr",
            help="Peak learning rate of the one-cycle schedule: it warms up to this value, then anneals.",
        )  # fmt: skip
        epochs = epochs_control(state.split().train.n_ratings, int(batch_size) * int(accum_steps))
    with st.expander("More settings", icon=":material/tune:"):
        more = st.columns(3)
        schedule = more[0].radio(
            "Schedule", ["one_cycle", "constant"], key="train_schedule",
            format_func={"one_cycle": "One cycle", "constant": "Constant"}.get,
        )  # fmt: skip
        decay_biases = more[0].checkbox("Decay the biases too", key="train_decay_biases")
        device = more[1].selectbox(
            "Device", devices, key="train_device", help=f"auto = {cached.device_label()}"
        )
        amp = more[1].checkbox(
            "Mixed precision (bf16, CUDA only)",
            key="train_amp",
            disabled="CUDA" not in cached.device_label(),
        )
        hidden = more[2].slider("Hidden units (neural net)", 8, 512, step=8, key="train_hidden")
        dropout = more[2].slider("Dropout (neural net)", 0.0, 0.8, step=0.05, key="train_dropout")
    note = factors_note(model, data, int(hidden), float(dropout))
    if note:
        st.caption(note)
    url_state.save(*TRAIN_KEYS)
    return TrainConfig(
        model=model,
        n_factors=int(n_factors),
        epochs=int(epochs),
        batch_size=int(batch_size),
        accum_steps=int(accum_steps),
        lr=float(lr),
        weight_decay=float(weight_decay),
        decay_biases=bool(decay_biases),
        schedule=schedule,
        seed=state.split_params().seed,
        device=device,
        amp=bool(amp),
        hidden=(int(hidden),),
        dropout=float(dropout),
    ).without_unused()  # a knob this model ignores does not make it train again


def _epochs_moved() -> None:
    st.session_state["train_epochs_auto"] = False  # a hand on the slider turns "auto" off


def epochs_control(n_train: int, effective_batch: int) -> int:
    """The Epochs slider and its "auto" box: auto sizes the epochs to the data (`auto_epochs`: 5 for
    MovieLens-sized sets, up to 30 for a few thousand ratings); moving the slider turns auto off."""
    auto = auto_epochs(n_train, effective_batch)
    url_state.seed("train_epochs_auto", True)  # sticky like the other knobs; a preset or a link turns it off
    if st.session_state["train_epochs_auto"]:
        st.session_state["train_epochs"] = auto
    else:
        st.session_state.setdefault("train_epochs", auto)
    epochs = st.slider(
        "Epochs", 1, 50, key="train_epochs", on_change=_epochs_moved,
        help="Passes over the training ratings. Small datasets need more: each epoch is only a few steps.",
    )  # fmt: skip
    st.checkbox(
        f"Auto epochs ({auto})", key="train_epochs_auto",
        help=f"{auto} epochs for {n_train:,} training ratings: enough for about 150 optimizer steps (5 on "
        "MovieLens 100K and larger, up to 30 on a few thousand ratings). Moving the slider turns this off.",
    )  # fmt: skip
    url_state.save("train_epochs_auto")
    return int(epochs)


AUTOREC_L2 = url_state.AUTOREC_L2
AUTOREC_KEYS = ("train_autorec_hidden", "train_autorec_l2", "train_autorec_rounds")


AUTOREC_FITTED = "train_autorec_fitted_for"  # the dataset whose default Hidden units was checked


def fits_hidden(hidden: int) -> bool:
    """Whether the autoencoder with `hidden` units fits one training's share of this server's memory on
    the current data (True for a table too big for AutoRec at any size: its own check says why)."""
    from ui import budget

    data = state.ratings()
    config = TrainConfig(model="autorec", n_factors=hidden)
    try:
        return budget.current().training_fits(
            config, data.n_users, data.n_items, state.split().train.n_ratings
        )
    except ValueError:
        return True


def largest_fitting_hidden(start: int) -> int | None:
    """The largest multiple of 50 below `start` whose autoencoder fits (`fits_hidden`), or None."""
    return next((size for size in range(start - 50, 0, -50) if fits_hidden(size)), None)


def _fit_autorec_hidden() -> str | None:
    """Once per dataset: when Hidden units is still at its default (the paper's 500) and that does not fit
    this server's memory share for one training, start it at the largest multiple of 50 that does, and
    say so. A value the user (or a link) chose is left alone: the memory check then explains it."""
    from ui import budget

    key = "train_autorec_hidden"
    data = state.ratings()
    if st.session_state.get(AUTOREC_FITTED) == data.fingerprint:
        fitted = st.session_state.get(AUTOREC_FITTED + "_note")
        return fitted[1] if fitted and st.session_state.get(key) == fitted[0] else None
    st.session_state[AUTOREC_FITTED] = data.fingerprint
    st.session_state[AUTOREC_FITTED + "_note"] = None
    default = url_state.knob_defaults()[key]
    if st.session_state.get(key) != default:
        return None
    if fits_hidden(default):
        return None
    smaller = largest_fitting_hidden(default)
    if smaller is None:
        return None  # nothing fits: the memory check says what to do instead
    st.session_state[key] = smaller
    note = (
        f"**Hidden units** starts at {smaller} on this dataset: the AutoRec paper's {default} does not fit "
        f"this server's memory for one training ({budget.current().training_bytes / 2**20:,.0f} MiB)."
    )
    st.session_state[AUTOREC_FITTED + "_note"] = (smaller, note)
    return note


def autorec_form() -> TrainConfig:
    """The autoencoder's own knobs: it trains full batch with L-BFGS, so batch, accumulation, learning
    rate and schedule do not apply."""
    for key in AUTOREC_KEYS:
        url_state.seed(key)
    fitted = _fit_autorec_hidden()
    st.caption(
        "Each item is its column of ratings from every user; the network squeezes it into a short code and "
        "rebuilds the column, blanks included: the rebuilt blanks are the predictions. It trains on all "
        "ratings at once with L-BFGS (no batches, no learning rate): about 1 s per round on MovieLens 100K."
    )
    cols = st.columns(3)
    hidden = cols[0].slider(
        "Hidden units (code length)", 50, 1000, step=50, key="train_autorec_hidden",
        help="The length of each item's code, and of each user's decoder vector.",
    )  # fmt: skip
    l2 = cols[1].select_slider(
        "L2 penalty per rating", AUTOREC_L2, format_func=lambda v: f"{v:g}",
        key="train_autorec_l2", help="Weight decay on both layers; too little and it memorises the ratings.",
    )  # fmt: skip
    rounds = cols[2].slider("Rounds (10 L-BFGS iterations each)", 1, 30, key="train_autorec_rounds")
    if fitted:
        st.caption(fitted)
    return TrainConfig(
        model="autorec",
        n_factors=int(hidden),
        epochs=int(rounds),
        weight_decay=float(l2),
        seed=state.split_params().seed,
    )


SECONDS_PER_RATING_SWEEP = 5e-7  # one chain, one core, rank 10, with the reports: ML-100K u1, 2 x 128 sweeps in 4.4-5.6 s (2 cores, idle)


def bfm_form(n_train: int) -> TrainConfig:
    """The Bayesian factorization machine's knobs (rank, sweeps) and its time estimate; Gibbs sampling
    has no batches, learning rate or weight decay (the priors are sampled too)."""
    st.caption(
        "Each rating is described by its user plus every item that user rated, its item plus every user "
        "who rated it, and its day (training ratings only). Gibbs sampling draws two chains of models and "
        "averages their predictions: no learning rate, no weight decay to tune."
    )
    for knob in url_state.BFM_KNOBS:
        url_state.seed(knob.key)
    cols = st.columns(2)
    rank = cols[0].slider("Rank (factors)", 2, 32, key="train_bfm_rank")
    sweeps = cols[1].slider("Sweeps per chain", 16, 512, step=16, key="train_bfm_sweeps")
    url_state.save(*(knob.key for knob in url_state.BFM_KNOBS))
    st.caption(
        f"About {sweeps * n_train * SECONDS_PER_RATING_SWEEP * rank / 10:,.0f} s for {n_train:,} ratings "
        "(two chains on two cores; longer on a busy machine)."
    )
    return TrainConfig(model="bfm", n_factors=int(rank), epochs=int(sweeps), seed=state.split_params().seed)


# --- What the Embeddings and Recommend pages share: the trained model, item and user pickers, neighbours ---

TRAIN_PAGE = "app_pages/train.py"

# long titles are cut (the full title shows on hover) so the numbers beside them stay visible
COMPACT = {
    "title": st.column_config.TextColumn("title", width="medium"),
    **{
        name: st.column_config.NumberColumn(name, width="small")
        for name in ("cosine", "distance", "bias", "ratings", "mean")
    },
}


def model_or_notice(extra: str = "") -> TrainResult | None:
    """The current model; without one, say what to do and link to the Train page."""
    result = state.result()
    if result is None:
        st.info(
            "There is no trained model for this dataset yet. Train one on the **Train** page "
            f"(the defaults take a few seconds){extra}.",
            icon=":material/info:",
        )
        st.page_link(TRAIN_PAGE, label="Go to Train", icon=":material/model_training:")
    return result


def item_picker(
    label: str, ratings: Ratings, key: str, counts: np.ndarray, default: int | None = None, where: Any = st
) -> int:
    """A select box over items, most rated first, labelled by title and rating count."""
    names = emb.item_names(ratings)
    options = emb.most_rated(counts, len(counts)).tolist()
    if key not in st.session_state and default is not None:
        st.session_state[key] = int(default)
    return int(
        where.selectbox(label, options, format_func=lambda i: f"{names[i]} ({counts[i]:,} ratings)", key=key)
    )


def user_picker(label: str, ratings: Ratings, key: str, where: Any = st) -> int:
    """A select box over users, most active first, labelled by original id and rating count."""
    counts = np.bincount(ratings.user_ids, minlength=ratings.n_users)
    options = emb.most_rated(counts, ratings.n_users).tolist()
    labels = ratings.user_labels
    return int(
        where.selectbox(
            label, options, format_func=lambda u: f"user {labels[u]} ({counts[u]:,} ratings)", key=key
        )
    )


def neighbour_min_count(stats: emb.ItemStats, key: str) -> int:
    """The 'Only neighbours with at least this many ratings' slider (default 20, or fewer on a small set)."""
    return int(
        st.slider(
            "Only neighbours with at least this many ratings", 1, 100, min(20, int(stats.counts.max())),
            key=key,
            help="An item rated once or twice has noisy factors that can sit next to anything: on real data "
            "they crowd the top of the list.",
        )
    )  # fmt: skip


def neighbours_frame(found: emb.Neighbours, ratings: Ratings, stats: emb.ItemStats) -> pd.DataFrame:
    """A table of neighbours: title, cosine similarity or distance, rating count, mean rating."""
    names = emb.item_names(ratings)
    frame = pd.DataFrame({"title": names[found.indices]})
    if found.metric == "cosine":
        frame["cosine"] = found.similarity.round(3)
    else:
        frame["distance"] = found.distance.round(3)
    frame["ratings"] = stats.counts[found.indices]
    frame["mean"] = stats.mean_rating[found.indices].round(2)
    return frame


# Streamlit's own "Download as CSV" in a table's toolbar exports cells as they are (=HYPERLINK(...), +cmd|...,
# @SUM...) and cannot be told to escape: it is hidden (streamlit_app.py, `hide_toolbar_downloads`) and the
# tables a student may want to keep get this formula-safe download instead.
TOOLBAR_CSS = '<style>button[aria-label="Download as CSV"]{display:none !important}</style>'


def hide_toolbar_downloads() -> None:
    """Hide the tables' own CSV download button on this page (see `TOOLBAR_CSS`)."""
    st.html(TOOLBAR_CSS)


def table(where: Any, frame: pd.DataFrame, key: str, file_name: str, **options: Any) -> None:
    """`frame` as a table in `where` (bidirectional controls shown, `text.table`) with a formula-safe CSV
    download under it (`neutralise_formulas`: a cell starting =, +, -, @ gets a leading apostrophe)."""
    where.dataframe(text.table(frame), key=key, **options)
    where.download_button(
        "CSV", lambda: neutralise_formulas(frame).to_csv(index=False), file_name=file_name, mime="text/csv",
        key=f"{key}_csv", icon=":material/download:", type="tertiary",
        help="This table as a CSV file; text that a spreadsheet would run as a formula starts with ' instead.",
    )  # fmt: skip
