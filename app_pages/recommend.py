"""Recommend: top-N for a user, more like this, a new user's cold start, ranking quality, model files."""

import streamlit as st

from ui import analysis_widgets as aw
from ui import state

st.title(":material/recommend: Recommend")
notice = state.pop_flash()
if notice:
    st.success(notice, icon=":material/check_circle:")
result = aw.model_or_notice(", or load a model saved from this app below")
if result is None:  # no st.stop(): the sidebar status is drawn after the page
    aw.upload_section()
else:
    ratings = state.ratings()

    st.subheader("Recommendations for a user", anchor=False)
    aw.user_recommendations_section(result, ratings)

    st.subheader("More like this", anchor=False)
    aw.similar_section(result, ratings)

    st.subheader("New user: rate a few items", anchor=False)
    aw.new_user_section(result, ratings)

    st.subheader("Ranking quality on the validation set", anchor=False)
    aw.ranking_section(result)

    st.subheader("Files", anchor=False)
    aw.downloads_section(result)
    aw.upload_section()
