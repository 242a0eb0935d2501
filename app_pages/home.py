"""Home: what Collab Lab teaches, where to start, and how far this session has come."""

import streamlit as st

from ui import state, text

st.title(":material/hub: Collab Lab")
st.markdown(
    "Collaborative filtering learns what people like from what people like. Every user and every "
    "item gets a short vector of **latent factors**; a rating is predicted from their dot product "
    "plus a **bias** for each. Training finds the vectors by gradient descent on the ratings we know. "
    "This lab walks through fast.ai's lesson 7 with live models: look at the data, train with the "
    "knobs the lesson teaches (factors, weight decay, batch size, gradient accumulation), then open "
    "the model up and use it."
)

data = state.ratings()
result = state.result()
LESSON = "app_pages/lesson.py"

with st.container(border=True):
    st.subheader(":material/school: Follow the lesson")
    st.markdown(
        "Lecture 7 as one path, one live step per screen: the data, latent factors by hand, embeddings, "
        "weight decay, memory, interpretation, the neural net, a multi-target model, the loss, and embeddings "
        "beyond users and items. Each step's link can be shared."
    )
    st.page_link(
        LESSON, label="Start the lesson", icon=":material/arrow_forward:", query_params={"step": "1"}
    )

col_data, col_train, col_use = st.columns(3)
with col_data, st.container(border=True):
    st.subheader(":material/table_chart: 1. Data")
    st.markdown(
        f"Loaded: **{text.md(state.dataset_source())}**, {data.n_ratings:,} ratings from {data.n_users:,} users "
        f"on {data.n_items:,} items."
    )
    st.caption("Start with the demo set, or load MovieLens or your own ratings file.")
    st.page_link("app_pages/data.py", label="Explore the data", icon=":material/arrow_forward:")
    st.page_link(
        LESSON, label="Lesson: the spreadsheet, live", icon=":material/school:", query_params={"step": "2"}
    )
with col_train, st.container(border=True):
    st.subheader(":material/model_training: 2. Train")
    if result is None:
        st.markdown("No model yet. A dot-product model on the demo set trains in about a second.")
    else:
        st.markdown(
            f"Trained: **{result.config.describe()}**, validation RMSE **{result.metrics['rmse']:.4f}**."
        )
    st.page_link("app_pages/train.py", label="Train a model", icon=":material/arrow_forward:")
    st.page_link(LESSON, label="Lesson: weight decay", icon=":material/school:", query_params={"step": "4"})
with col_use, st.container(border=True):
    st.subheader(":material/scatter_plot: 3. Look inside")
    st.markdown("See what the factors learned, and recommend items to a user or to a brand-new one.")
    st.page_link("app_pages/embeddings.py", label="Embeddings", icon=":material/arrow_forward:")
    st.page_link("app_pages/recommend.py", label="Recommend", icon=":material/arrow_forward:")
    st.page_link(LESSON, label="Lesson: interpreting", icon=":material/school:", query_params={"step": "6"})

with st.container(border=True):
    st.subheader(":material/functions: Beside the lesson: the loss")
    st.markdown(
        "Why does the last layer use softmax and cross-entropy? Move the numbers and watch the loss respond."
    )
    st.page_link("app_pages/loss_playground.py", label="Loss playground", icon=":material/arrow_forward:")
    st.page_link(
        LESSON, label="Lesson: a multi-target model", icon=":material/school:", query_params={"step": "8"}
    )
