"""Implicit feedback on the Data, Train and Recommend pages: "seen it" data, the ranking models (BPR and
the lecture's binary cross-entropy with sampled negatives), their ranking metrics beside popularity, and
recommendations ranked by them. Kept apart from the rating models' views: the pages call in here when
the data or the current model is implicit."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from collab.analysis import embeddings as emb
from collab.analysis import recommend as rec
from collab.models.implicit import IMPLICIT_MODELS
from collab.plots import training as training_plots
from collab.training.config import MODEL_LABELS, TrainConfig
from ui import state, text, url_state

if TYPE_CHECKING:
    from collab.data import Ratings
    from collab.training.result import TrainResult

SEEN_IT_REASON = (
    "**Read as “seen it” (implicit feedback).** Every row says only that this user watched, bought, played or "
    "clicked this item; its value, if any, is not used. Most real data is like that (play counts, purchases, "
    "clicks), and the question it asks is not *how many stars?* but *will this user pick this item?*: a yes/no "
    "question, the lecture's **binary cross-entropy**. The rating models cannot learn from it (every value is "
    "1); on **Train**, pick a ranking model (BPR, or binary cross-entropy with sampled negatives). They are "
    "scored by how well they rank each user's held-out items among every item the user has not seen, beside "
    "recommending the most popular items."
)


def is_implicit(result: TrainResult | None) -> bool:
    """Whether `result` is one of the ranking models trained on interactions."""
    return result is not None and result.config.model in IMPLICIT_MODELS


def is_interactions(ratings: Ratings) -> bool:
    """Whether every value is 1: interactions ("seen it"), nothing a rating model can learn from."""
    return ratings.n_ratings > 0 and bool(np.all(ratings.ratings == 1.0))


# ---- Data page --------------------------------------------------------------------------------------


def binary_reason() -> None:
    """Why the upload is read as interactions (the "seen it" choice under Counts)."""
    st.info(SEEN_IT_REASON, icon=":material/visibility:")


def as_interactions(ratings: Ratings) -> Ratings:
    """The same (user, item) pairs with every value 1.0 (`read_ratings(..., implicit="binary")` on the
    loaded set): ids, labels, titles, genres and timestamps kept; a planted set's truth (a rating
    model's) dropped; the reason added to the notes. A new fingerprint, so no rating model is reused."""
    note = (
        "Every rating was turned into “seen it” (implicit feedback): 1.0 for each (user, item) pair, "
        'whatever its stars, as read_ratings(..., implicit="binary") reads it.'
    )
    return dataclasses.replace(
        ratings,
        ratings=np.ones(ratings.n_ratings, dtype=np.float32),
        truth=None,
        name=f"{ratings.name} (seen it)",
        fingerprint="",
        notes=(*ratings.notes, note),
        warnings=(),
    )


def seen_it_panel(ratings: Ratings) -> Ratings | None:
    """On the Data page, under the loaded set: it is already interactions, or a button turns it into them
    (the interactions returned when pressed, for the page to load)."""
    with st.container(border=True):
        if is_interactions(ratings):
            st.markdown(
                "**Implicit feedback:** every value is 1, so these are interactions (“seen it”). Train a "
                "ranking model on **Train** (BPR or binary cross-entropy)."
            )
            return None
        st.markdown("**Implicit feedback:** use these ratings as “seen it” instead")
        st.caption(
            "Drops the stars and keeps who rated what: each rating becomes one interaction, the data most "
            "recommenders in production learn from. Then the ranking models (BPR, binary cross-entropy with "
            "sampled negatives) apply, scored against popularity."
        )
        pressed = st.button(
            "Use as “seen it” (implicit feedback)", key="data_seen_it", icon=":material/visibility:"
        )
    return as_interactions(ratings) if pressed else None


# ---- Train page -------------------------------------------------------------------------------------

LOSSES = {"bce": "Binary cross-entropy (the lecture's)", "bpr": "BPR (a positive above a negative)"}
LEARNING_RATES = list(url_state.IMPLICIT_LRS)
L2S = list(url_state.IMPLICIT_L2S)
LR_DECAYS = list(url_state.IMPLICIT_LR_DECAYS)
# widget key -> TrainConfig field (the same knobs travel in a link: url_state.IMPLICIT_KNOBS)
KNOBS = {knob.key: knob.field for knob in url_state.IMPLICIT_KNOBS}
SHOWN_FOR = url_state.IMPLICIT_SHOWN_FOR  # the model whose tuned defaults the knobs were set to


def _loss_moved() -> None:
    st.session_state["train_model"] = st.session_state["train_implicit_loss"]


def implicit_form(model: str, data: Ratings) -> TrainConfig:
    """The ranking models' knobs: the loss (BCE or BPR), negatives per positive, factors, epochs, learning
    rate and its decay per epoch, L2. Switching model sets the knobs to its tuned defaults."""
    if st.session_state.get(SHOWN_FOR) != model:  # before the widgets are drawn
        tuned = TrainConfig(model=model)
        url_state.set_knobs({key: getattr(tuned, field) for key, field in KNOBS.items()})
        st.session_state[SHOWN_FOR] = model
    for key in KNOBS:
        url_state.seed(key)
    st.session_state["train_implicit_loss"] = model
    st.radio(
        "Loss", list(LOSSES), format_func=LOSSES.get, key="train_implicit_loss", horizontal=True,
        on_change=_loss_moved,
        help="BCE: label 1 for each interaction, 0 for each sampled item the user never touched, "
        "F.binary_cross_entropy_with_logits on the scores. BPR (Rendle et al. 2009): -log sigmoid(score of "
        "the positive - score of the negative). Switching loss loads its tuned settings.",
    )  # fmt: skip
    if not is_interactions(data):
        st.caption(
            "These are ratings: a ranking model takes **every** rating as an interaction, a 1-star one too "
            "(the Data page's **Use as “seen it”** says so explicitly)."
        )
    cols = st.columns(3)
    factors = cols[0].slider("Latent factors", 1, 200, key="train_implicit_factors")
    negatives = cols[0].slider(
        "Negatives per positive", 1, 20, key="train_implicit_negatives",
        help="Items sampled per interaction among those the user never touched (training or validation): "
        "the 'no' examples. Cost per epoch grows with interactions x negatives.",
    )  # fmt: skip
    epochs = cols[1].slider("Epochs", 1, 300, key="train_implicit_epochs")
    lr = cols[1].select_slider(
        "Learning rate", LEARNING_RATES, format_func=lambda v: f"{v:g}", key="train_implicit_lr"
    )
    l2 = cols[2].select_slider(
        "L2 per example", L2S, format_func=lambda v: f"{v:g}", key="train_implicit_l2",
        help="Penalty on the user and item rows each example touches.",
    )  # fmt: skip
    decay = cols[2].select_slider(
        "Learning rate x per epoch", LR_DECAYS, format_func=lambda v: f"{v:g}", key="train_implicit_lr_decay"
    )
    url_state.save(*KNOBS)
    return TrainConfig(
        model=model,
        n_factors=int(factors),
        epochs=int(epochs),
        lr=float(lr),
        l2=float(l2),
        negatives=int(negatives),
        lr_decay=float(decay),
        seed=state.split_params().seed,
    ).without_unused()


def cost_panel(config: TrainConfig) -> bool:
    """What one epoch costs: interactions x negatives examples, tables of (users + items) x factors."""
    data = state.ratings()
    n_train = state.split().train.n_ratings
    per_positive = config.negatives if config.model == "bpr" else 1 + config.negatives
    n_params = (data.n_users + data.n_items) * config.n_factors + data.n_items
    cols = st.columns(3)
    cols[0].metric(
        "Examples per epoch",
        f"{n_train * per_positive:,}",
        help=f"{n_train:,} interactions x {per_positive} "
        + (
            "(positive, negative) pairs"
            if config.model == "bpr"
            else "labelled examples (1 positive + negatives)"
        ),
    )
    cols[1].metric("Parameters", f"{n_params:,}", help="user and item factors, one bias per item")
    size = n_params * 4
    shown = f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 1024:.0f} KiB"
    cols[2].metric("Memory", shown, help="float32 tables; plain SGD keeps no state")
    st.caption(
        "Trained one example at a time by plain SGD in compiled code on the CPU (Adam in batches on a GPU): the "
        "cost grows with interactions x negatives, never with users x items."
    )
    return True


METRICS = {"ndcg": "NDCG@10", "hit_rate": "Hit rate@10", "precision": "Precision@10", "recall": "Recall@10"}
PROTOCOL = (
    "Whole-catalogue ranking: for each validation user, every item they did not interact with in training is "
    "ranked; their held-out interactions are the relevant items (binary gain). Popularity ranks the same "
    "items by how many training users interacted with each."
)


def metrics_frame(result: TrainResult) -> pd.DataFrame:
    """The model's ranking metrics at 10 beside popularity's, one row per metric."""
    rows = []
    for name, label in METRICS.items():
        ours = float(result.metrics.get(f"{name}@10", math.nan))
        popular = float(result.metrics.get(f"popularity_{name}@10", math.nan))
        rows.append({"metric": label, "this model": round(ours, 4), "popularity": round(popular, 4)})
    return pd.DataFrame(rows)


def verdict(result: TrainResult) -> str:
    """One sentence: does the model rank better than popularity (NDCG@10)?"""
    ours = result.metrics.get("ndcg@10", math.nan)
    popular = result.metrics.get("popularity_ndcg@10", math.nan)
    if math.isnan(ours) or math.isnan(popular):
        return "No ranking measure: the split left no validation user to rank for."
    if ours > popular:
        return (
            f"Ranks better than popularity: NDCG@10 {ours:.4f} against {popular:.4f} (+{ours - popular:.4f})."
        )
    return (
        f"**Not better than popularity** (NDCG@10 {ours:.4f} against {popular:.4f}): train longer, or with more "
        "negatives per positive."
    )


def results_panel(result: TrainResult) -> None:
    """The current ranking model: ranking metrics beside popularity (no RMSE: it predicts no rating),
    its training loss per epoch, and the time."""
    data = state.ratings()
    st.markdown(f"**Current model:** {result.config.describe(data.n_users, data.n_items)}")
    cols = st.columns(3)
    ndcg = result.metrics.get("ndcg@10", math.nan)
    popular = result.metrics.get("popularity_ndcg@10", math.nan)
    cols[0].metric(
        "NDCG@10",
        f"{ndcg:.4f}",
        delta=f"{ndcg - popular:+.4f} vs popularity",
        delta_color="normal",
        help=PROTOCOL,
    )
    cols[1].metric("Popularity NDCG@10", f"{popular:.4f}", help=PROTOCOL)
    how = f"on {result.device}" + (f", {result.optimizer}" if result.optimizer else "")
    cols[2].metric("Training time", f"{result.seconds:.2f} s", help=how)
    st.markdown(verdict(result))
    st.dataframe(metrics_frame(result), hide_index=True, key="train_implicit_metrics")
    st.caption(f"{PROTOCOL} {int(result.metrics.get('ranked_users', 0)):,} users ranked.")
    for note in result.notes:
        st.info(note, icon=":material/info:")
    loss = "BPR loss" if result.config.model == "bpr" else "binary cross-entropy"
    st.plotly_chart(training_plots.loss_figure(result.history, loss_name=loss), key="train_loss_chart")


def not_for_ranking(what: str) -> bool:
    """True (with the reason shown) when the current knobs are a ranking model, which `what` does not take."""
    if st.session_state.get("train_model") not in IMPLICIT_MODELS:
        return False
    st.info(
        f"{what} is for the rating models; the ranking models (BPR, BCE) are scored by ranking, not RMSE."
    )
    return True


# ---- Recommend page ---------------------------------------------------------------------------------


def ranked_by(result: TrainResult) -> None:
    """Which model ranks the Recommend page, and what its score is."""
    label = MODEL_LABELS[result.config.model]
    if is_implicit(result):
        st.caption(
            f"Ranked by the current model, **{label}**: score = user·item + item bias, a logit (higher = more "
            "likely to pick it), over every item the user has not interacted with."
        )
    else:
        st.caption(
            f"Ranked by the current model, **{label}**: the predicted rating. A model trained for ranking "
            "(BPR or BCE on “seen it” data, on Train) ranks by what users pick instead."
        )


def user_section(result: TrainResult, ratings: Ratings, user: int, n: int) -> None:
    """Top-`n` unseen items for `user` (an index) by the ranking model, beside what popularity would
    recommend the same user, and what the user has seen."""
    names = emb.item_names(ratings)
    counts = np.bincount(ratings.item_ids, minlength=ratings.n_items)
    recs = rec.recommend_for_user(result, ratings, user, n=n)
    seen = rec.seen_items(ratings, user)
    popular = rec.top_n_unseen(counts.astype(np.float64), seen, n)
    left, right = st.columns(2)
    left.markdown(f"**Recommended** by {result.config.model.upper()} (not yet seen)")
    left.dataframe(
        text.table(
            pd.DataFrame(
                {
                    "title": names[recs.item_ids],
                    "score": recs.predicted.round(3),
                    "seen by": counts[recs.item_ids],
                }
            )
        ),
        hide_index=True,
        key="rec_table",
    )
    right.markdown("**Most popular** not yet seen (the baseline)")
    right.dataframe(
        text.table(pd.DataFrame({"title": names[popular], "seen by": counts[popular]})),
        hide_index=True,
        key="rec_popular_table",
    )
    with st.expander(f"Seen by this user ({len(seen):,} items)"):
        st.dataframe(
            text.table(pd.DataFrame({"title": names[seen], "seen by": counts[seen]}).sort_values("seen by")),
            hide_index=True,
            key="rec_user_seen",
        )


def ranking_section(result: TrainResult) -> None:
    """The validation metrics of the ranking model beside popularity, with the protocol."""
    st.markdown(verdict(result))
    st.dataframe(metrics_frame(result), hide_index=True, key="rec_implicit_metrics")
    st.caption(PROTOCOL)
