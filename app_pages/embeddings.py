"""Embeddings: what the trained model learned, made visible (PCA map, neighbours, biases, lookups, export)."""

import streamlit as st

from ui import analysis_widgets as aw
from ui import state
from ui.show_code import show_code

st.title(":material/scatter_plot: Embeddings")
st.caption(
    "Every user and item is a short vector of learned factors. Similar items end up near each other; "
    "the bias says how an item is rated regardless of taste."
)
result = aw.model_or_notice()
if result is not None:  # no st.stop(): the sidebar status is drawn after the page
    ratings = state.ratings()

    st.subheader("Map of the factors", anchor=False)
    choice = aw.map_controls(result, ratings)
    map_col, side_col = st.columns([1.4, 1], gap="medium")
    with map_col:
        aw.map_chart(result, ratings, choice)
    with side_col:
        aw.neighbours_section(result, ratings)

    st.subheader("Biases", anchor=False)
    aw.bias_section(result, ratings)

    aw.recovery_section(result, ratings)

    st.subheader("An embedding is a lookup", anchor=False)
    aw.lookup_section(result, ratings)

    st.subheader("Export for the Embedding Projector", anchor=False)
    aw.export_section(result, ratings)
show_code("embeddings")
