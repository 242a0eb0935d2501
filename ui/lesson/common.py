"""Pieces every Lesson step uses: the lesson's own settings, the intro and 'try this' lines, the step's model."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import streamlit as st

from collab.training.config import TrainConfig
from ui import state, training_view

if TYPE_CHECKING:
    from collab.training.result import TrainResult

# fastbook's settings for the dot model: 50 factors, wd 0.1, lr 5e-3, batch 64, 5 epochs
LESSON_CONFIG = TrainConfig(n_factors=50, weight_decay=0.1, lr=5e-3, batch_size=64, epochs=5)


def lesson_config() -> TrainConfig:
    """The lesson's settings, seeded like the current split (as the Train page seeds its settings)."""
    return dataclasses.replace(LESSON_CONFIG, seed=state.split_params().seed)


def intro(text: str) -> None:
    """The step's two or three sentences."""
    st.markdown(text)


def try_this(text: str) -> None:
    """The step's 'try this' line."""
    st.info(f"**Try this:** {text}", icon=":material/lightbulb:")


def keep_in_url(result: TrainResult) -> None:
    """The Lesson's model becomes the Train settings in the URL, so a reload (or the link) gets it back from
    the model store, on the Lesson and on Embeddings and Recommend (`url_state.restore` serves it)."""
    from ui import url_state

    url_state.set_knobs(url_state.config_knobs(result.config))


def lesson_model(key: str) -> TrainResult | None:
    """The current model; without one, a button that trains the lesson's settings (about a second or two).
    Drawn in one container: what follows it (a step's tabs) keeps its place on the page whichever it shows."""
    with st.container():
        return _lesson_model(key)


def _lesson_model(key: str) -> TrainResult | None:
    result = state.result()
    if result is not None:
        st.caption(f"Using the current model: {result.config.describe()}.")
        return result
    offer = st.empty()  # the offer disappears once the model is trained, in the same run
    with offer.container():
        st.info(
            "This step needs a trained model. Train one with the lesson's settings here, or on the **Train** page."
        )
        clicked = st.button(
            "Train with the lesson's settings", key=key, icon=":material/play_arrow:", type="primary"
        )
    if clicked:
        offer.empty()
        result, _ = training_view.train_and_record(lesson_config(), label="Lesson model")
        keep_in_url(result)
        st.caption(f"Trained: {result.config.describe()}.")
        return result
    return None
