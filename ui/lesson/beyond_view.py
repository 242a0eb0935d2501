"""Lesson step 13: the same embedding layer for a sentence's tokens and for a categorical column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from collab.analysis import embeddings as emb
from collab.data import DataError, Ratings
from collab.lesson import entity_embeddings as ent
from collab.plots import lesson as lesson_plots
from ui import state, text

SENTENCE = "The cat sat on the mat and the dog sat on the cat."
RESULT_KEY = "lesson_category_embedding"  # (key, CategoryEmbedding)


def tokens_section() -> None:
    """A sentence's tokens looked up row by row in an nn.Embedding."""
    sentence = st.text_input("A sentence", SENTENCE, key="lesson_tokens_sentence", max_chars=200)
    try:
        lookup = ent.embed_tokens(sentence, dim=4)
    except ValueError as error:
        st.error(f"Can't embed this sentence: {text.md(error)}.", icon=":material/error:")
        return
    left, right = st.columns([1, 2])
    with left:
        st.dataframe(text.table(pd.DataFrame({"row": range(len(lookup.vocab)), "token": lookup.vocab})), hide_index=True,
                     key="lesson_tokens_vocab", height=min(40 + 35 * (len(lookup.vocab) + 1), 420))  # fmt: skip
    with right:
        st.plotly_chart(lesson_plots.token_matrix_figure(lookup.tokens, lookup.token_ids, lookup.matrix),
                        key="lesson_tokens_fig")  # fmt: skip
    st.markdown(
        f"{len(lookup.tokens)} tokens, {len(lookup.vocab)} distinct: the table has {len(lookup.vocab)} rows of "
        f"{lookup.table.shape[1]} numbers and the sentence becomes a {len(lookup.tokens)} × {lookup.table.shape[1]} "
        f"matrix. Every repeated token gets the **same** row: "
        f"{'checked, each row equals its table row' if lookup.equal else 'MISMATCH'}."
    )


def _ml100k_users(ratings: Ratings) -> pd.DataFrame | None:
    """MovieLens 100K's user file, when that set is loaded and its folder is in the cache."""
    if not state.dataset_source().lower().startswith("movielens 100k"):
        return None
    from collab.data.movielens import movielens_cache_dir

    try:
        users = ent.read_ml100k_users(movielens_cache_dir())
    except DataError:
        return None
    users = users.set_index("user").reindex(ratings.user_labels)
    return None if users["occupation"].isna().any() else users


def _columns(ratings: Ratings) -> dict[str, tuple[str, np.ndarray]]:
    """Categorical columns on offer: name -> (side, one category name per user or item)."""
    users = _ml100k_users(ratings)
    if users is not None:
        return {
            "occupation (users)": ("user", users["occupation"].to_numpy(str)),
            "age band (users)": ("user", users["age band"].to_numpy(str)),
        }
    if ratings.truth is not None or ratings.genres is not None:
        label = "planted genre (items)" if ratings.truth is not None else "first genre (items)"
        return {label: ("item", emb.item_genre_names(ratings))}
    return {}


def category_section() -> None:
    """Learn a 2-D embedding of a categorical column inside a small rating model, and draw it."""
    ratings = state.ratings()
    columns = _columns(ratings)
    if not columns:
        st.info("This dataset has no categorical column to embed: load the demo set or MovieLens 100K.")
        return
    cols = st.columns([2, 1])
    column = cols[0].selectbox("Categorical column", list(columns), key="lesson_cat_column")
    epochs = cols[1].slider("Epochs", 1, 20, 8, key="lesson_cat_epochs")
    side, values = columns[column]
    names, codes = np.unique(values, return_inverse=True)
    key = (ratings.fingerprint, column, int(epochs))
    if st.button("Learn the embedding", key="lesson_cat_train", icon=":material/play_arrow:", type="primary"):
        bar = st.progress(0.0, text="Training…")
        found = ent.train_category_embedding(
            ratings, codes, list(names), side=side, dim=2, epochs=int(epochs),
            on_epoch=lambda e, loss: bar.progress(e / epochs, text=f"epoch {e}/{epochs}: MSE {loss:.4f}"),
        )  # fmt: skip
        bar.empty()
        st.session_state[RESULT_KEY] = (key, found)
    kept = st.session_state.get(RESULT_KEY)
    if kept is None or kept[0] != key:
        st.caption(f"{len(names)} categories, one 2-D vector each; press the button (a second or two).")
        return
    found = kept[1]
    st.plotly_chart(lesson_plots.category_map_figure(found.vectors, found.names, found.counts, column),
                    key="lesson_cat_fig")  # fmt: skip
    st.caption(
        f"rating ≈ mean + biases + {column.split(' (')[0]} vector · {'item' if side == 'user' else 'user'} vector. "
        f"Training MSE went from {found.losses[0]:.3f} (epoch 1) to {found.losses[-1]:.3f} (epoch {len(found.losses)}). "
        "Categories the model treats alike end up close together."
    )
