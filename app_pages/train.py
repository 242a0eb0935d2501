"""Train: the lesson's knobs, cached training with live progress, results, a weight-decay sweep."""

import streamlit as st

from ui import blend_view, state, text, training_view, url_state, widgets
from ui.show_code import show_code

st.title(":material/model_training: Train")
data = state.ratings()
st.caption(
    f"On **{text.md(state.dataset_source())}**: {data.n_ratings:,} ratings, {data.n_users:,} users, {data.n_items:,} items."
)

with st.container(border=True):
    st.markdown("**Validation split**")
    widgets.split_form()
    split = state.split()
    if split.n_dropped:
        st.caption(
            f"{split.n_dropped:,} validation ratings were dropped: their user or item never appears in training, "
            "so no model could know them."
        )
    has_validation = training_view.validation_ok()

# The page's parts that come and go (notices, results) sit in fixed containers, so the tabs below keep
# their place among the page's elements on every rerun. A block whose place moves is rebuilt empty in the
# browser, and when the browser draws before its tabs arrive (a loaded server), the open tab falls back
# to the first one: a student who pressed "Train the blend" saw the sweep tab instead of the blend.
notice_slot = st.container()
notice = state.pop_flash()
if notice:
    notice_slot.success(notice, icon=":material/check_circle:")

with st.container(border=True):
    widgets.preset_buttons()
    config = widgets.train_config_form(data)
    trainable = training_view.cost_panel(config) and has_validation
url_state.share_panel(config)  # the URL holds these settings before any training starts
with st.container():  # (see the note above the notice slot)
    followed = None
    if training_view.serve_stored(config) is not None:
        st.info(
            "These settings were trained on this dataset and split before (perhaps before a reload): "
            "the stored model is shown.",
            icon=":material/bolt:",
        )
    elif trainable:
        followed = training_view.follow_pending(config)
    if followed is None:
        training_view.others_under_way(config)

    clicked = st.button(
        "Train", type="primary", key="train_button", icon=":material/play_arrow:", disabled=not trainable
    )
    if clicked and followed is None:  # (a click while following the same training: it has just finished)
        result, from_cache = training_view.train_and_record(config)
        if from_cache:
            st.info(
                "Loaded from cache: this dataset, split and settings were trained before.",
                icon=":material/bolt:",
            )
        else:
            st.success(
                f"Trained in {result.seconds:.2f} s on {result.device}.", icon=":material/check_circle:"
            )

    result = state.result()
    if result is None:
        st.info("Set the knobs and press **Train**. The defaults train a good model in a few seconds.")
    else:
        training_view.results_panel(result, knobs=config)
    show_code("train")

sweep_tab, lab_tab, blend_tab, runs_tab = st.tabs(
    ["Weight-decay sweep", "Gradient-accumulation lab", "Blend models", "All runs"],
    key="train_tabs",
)
with sweep_tab:
    training_view.sweep_section(config)
with lab_tab:
    training_view.accumulation_lab(config)
with blend_tab:
    blend_view.blend_section(config)
with runs_tab:
    training_view.runs_table()
