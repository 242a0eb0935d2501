"""Recommend: top-N for a user, more like this, a new user's cold start, ranking quality, model files."""

import streamlit as st

from ui import implicit_view, state, widgets
from ui import recommend_view as view

st.title(":material/recommend: Recommend")
notice = state.pop_flash()
if notice:
    st.success(notice, icon=":material/check_circle:")
result = widgets.model_or_notice(", or load a model saved from this app below")
if result is None:  # no st.stop(): the sidebar status is drawn after the page
    view.upload_section()
elif implicit_view.is_implicit(result):  # a ranking model: scores, popularity beside it, no fold-in
    ratings = state.ratings()

    st.subheader("Recommendations for a user", anchor=False)
    implicit_view.ranked_by(result)
    cols = st.columns([2, 1])
    user = widgets.user_picker("User", ratings, "rec_user", where=cols[0])
    implicit_view.user_section(
        result, ratings, user, int(cols[1].number_input("How many", 1, 50, 10, key="rec_n"))
    )

    st.subheader("More like this", anchor=False)
    view.similar_section(result, ratings)

    st.subheader("Ranking quality on the validation set", anchor=False)
    implicit_view.ranking_section(result)

    st.subheader("Files", anchor=False)
    view.upload_section()
else:
    ratings = state.ratings()

    st.subheader("Recommendations for a user", anchor=False)
    implicit_view.ranked_by(result)
    view.user_recommendations_section(result, ratings)

    st.subheader("More like this", anchor=False)
    view.similar_section(result, ratings)

    st.subheader("New user: rate a few items", anchor=False)
    view.new_user_section(result, ratings)

    st.subheader("Ranking quality on the validation set", anchor=False)
    view.ranking_section(result)

    st.subheader("Files", anchor=False)
    view.downloads_section(result)
    view.upload_section()
