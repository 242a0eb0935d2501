"""Data: pick a source (demo, MovieLens, upload), then see what the ratings look like."""

import streamlit as st

from ui import data_view, implicit_view, state, text, url_state

SOURCES = {"demo": "Built-in demo set", "movielens": "MovieLens", "upload": "Upload a file"}

st.title(":material/table_chart: Data")
notice = state.pop_flash()
if notice:
    st.success(notice, icon=":material/check_circle:")

with st.container(border=True):
    source = st.radio(
        "Source", list(SOURCES), format_func=SOURCES.get, horizontal=True, key=url_state.DATA_SOURCE_KEY
    )
    if source == "demo":
        data_view.demo_source()
    elif source == "movielens":
        data_view.movielens_source()
    else:
        data_view.upload_source()

st.header(f"Loaded: {text.md(state.dataset_source())}")
seen_it = implicit_view.seen_it_panel(state.ratings())
if seen_it is not None:
    data_view.use(seen_it, f"{state.dataset_source()} as “seen it”")
data_view.summary_panel(state.ratings())
