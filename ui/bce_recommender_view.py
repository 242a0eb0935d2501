"""The Loss playground's BCE tab continued: the same binary cross-entropy training a recommender.

A few of one user's positives, a few sampled negatives, the loss of each; then epochs of training and
the ranking (whole-catalogue NDCG@10) getting better than popularity. The model lives in the session
(`collab.lesson.bce_recommender.BceRecommender`), so each button press trains on from where it was."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
import torch.nn.functional as F

from collab.lesson.bce_recommender import BceRecommender, interactions
from ui import cached, text

KEY = "loss_bce_recommender"
LIKED = 4.0  # the demo set's ratings of 4 or 5 stars are the "picked it" interactions


def _recommender() -> BceRecommender:
    if KEY not in st.session_state:
        data = interactions(cached.demo(), min_rating=LIKED)
        train, valid = data.split(valid_pct=0.2, seed=42)
        st.session_state[KEY] = BceRecommender(train, valid, n_factors=32, negatives=2, lr=0.02)
    return st.session_state[KEY]


def recommender_section() -> None:
    """Train a tiny recommender with the BCE above, an epoch at a time, and watch the ranking."""
    st.subheader("The same BCE, training a recommender", anchor=False)
    st.markdown(
        "*Did this user pick this item?* is a yes/no question. On the demo set, each film a user rated 4 or 5 "
        "is a **1** (picked); for every one, 2 films the user never touched are sampled as **0**s. The model's "
        "score for a (user, film) pair, user·film + film bias, is the logit x above, and the loss is the same "
        "`F.binary_cross_entropy_with_logits`."
    )
    rec = _recommender()
    cols = st.columns(3)
    if cols[0].button("Train 1 epoch", key="loss_bce_rec_one", icon=":material/play_arrow:"):
        rec.train_epoch()
    if cols[1].button("Train 5 epochs", key="loss_bce_rec_five", icon=":material/fast_forward:"):
        for _ in range(5):
            rec.train_epoch()
    if cols[2].button("Start over", key="loss_bce_rec_reset", icon=":material/restart_alt:"):
        del st.session_state[KEY]
        rec = _recommender()
    # the most active user: three of their picks are there to show
    user = int(np.bincount(rec.train.user_ids).argmax())
    table = rec.examples(user)
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.markdown(
            f"**User {text.md(rec.train.user_labels[user])} after {rec.epoch} epoch{'s' if rec.epoch != 1 else ''}:** "
            "three films they picked (label 1), three sampled they never touched (label 0)"
        )
        st.dataframe(text.table(table.round(4)), hide_index=True, key="loss_bce_rec_examples")
        logits = torch.tensor(table["logit"].to_numpy())
        labels = torch.tensor(table["label"].to_numpy(), dtype=logits.dtype)
        torch_loss = float(F.binary_cross_entropy_with_logits(logits, labels))
        st.caption(
            f"Mean of the losses: {table['loss'].mean():.4f} = F.binary_cross_entropy_with_logits(logits, labels) "
            f"= {torch_loss:.4f}. Training pushes the 1s' logits up and the 0s' down."
        )
    with right:
        last = rec.history[-1]
        st.metric(
            "NDCG@10 (whole catalogue)",
            f"{last.ndcg:.4f}",
            delta=f"{last.ndcg - last.popularity_ndcg:+.4f} vs popularity",
            help="For each validation user, every film they did not pick in training is ranked; the films "
            "held out are the relevant ones. Popularity ranks them by how many users picked each.",
        )
        if not math.isnan(last.loss):
            st.metric("Mean BCE this epoch", f"{last.loss:.4f}")
    st.plotly_chart(ranking_figure(rec), key="loss_bce_rec_fig")
    last = rec.history[-1]
    if rec.epoch == 0:
        st.caption("Untrained, the random factors rank worse than popularity. Press **Train 1 epoch**.")
    elif last.ndcg > last.popularity_ndcg:
        st.success(
            f"After {rec.epoch} epochs the BCE recommender ranks better than popularity: NDCG@10 {last.ndcg:.4f} "
            f"against {last.popularity_ndcg:.4f}.",
            icon=":material/check_circle:",
        )
    else:
        st.caption(
            f"Not yet better than popularity ({last.ndcg:.4f} against {last.popularity_ndcg:.4f}): train on."
        )


def ranking_figure(rec: BceRecommender) -> go.Figure:
    """NDCG@10 per epoch, with popularity's as a level line."""
    epochs = [p.epoch for p in rec.history]
    fig = go.Figure()
    fig.add_scatter(x=epochs, y=[p.ndcg for p in rec.history], mode="lines+markers", name="BCE recommender")
    fig.add_hline(
        y=rec.history[0].popularity_ndcg,
        line={"dash": "dash", "color": "grey"},
        annotation_text="popularity",
    )
    fig.update_layout(
        title={"text": "Ranking quality as it trains"},
        xaxis_title="epoch",
        yaxis_title="NDCG@10",
        height=320,
        margin={"l": 40, "r": 20, "t": 50, "b": 40},
    )
    return fig
