"""Embeddings: what the trained model learned, made visible (PCA map, neighbours, biases, lookups, export)."""

import streamlit as st

from ui import embeddings_view as view
from ui import state, widgets
from ui.show_code import show_code

st.title(":material/scatter_plot: Embeddings")
st.caption(
    "Every user and item is a short vector of learned factors. Similar items end up near each other; "
    "the bias says how an item is rated regardless of taste."
)
result = widgets.model_or_notice()
if result is not None:  # no st.stop(): the sidebar status is drawn after the page
    ratings = state.ratings()

    st.subheader("Map of the factors", anchor=False)
    choice = view.map_controls(result, ratings)
    map_col, side_col = st.columns([1.4, 1], gap="medium")
    with map_col:
        view.map_chart(result, ratings, choice)
    with side_col:
        view.neighbours_section(result, ratings)

    st.subheader("Biases", anchor=False)
    view.bias_section(result, ratings)

    view.recovery_section(result, ratings)

    st.subheader("An embedding is a lookup", anchor=False)
    view.lookup_section(result, ratings)

    st.subheader("Export for the Embedding Projector", anchor=False)
    view.export_section(result, ratings)
show_code("embeddings")
