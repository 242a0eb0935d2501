"""Loss playground: move the numbers at the last layer and watch softmax, cross-entropy and BCE respond."""

import streamlit as st

from ui import bce_recommender_view, loss_view, multitarget_view
from ui.show_code import show_code

st.title(":material/functions: Loss playground")
st.markdown(
    "A model's last layer gives raw numbers, **logits**. The loss turns them into one number to minimise. "
    "Edit the logits, pick the right answer, and see every step from logits to loss, checked against PyTorch."
)

multiclass, binary, multilabel, two_heads = st.tabs(
    [
        ":material/bar_chart: Softmax & cross-entropy",
        ":material/toggle_on: Binary cross-entropy",
        ":material/checklist: Multi-label",
        ":material/call_split: Multi-target (two heads)",
    ],
    key="loss_tabs",  # keyed, so a slider in the second or third tab does not jump back to the first
)
with multiclass:
    loss_view.multiclass_section()
with binary:
    loss_view.binary_section()
    bce_recommender_view.recommender_section()  # the same BCE training a recommender
with multilabel:
    loss_view.multilabel_section()
with two_heads:
    multitarget_view.two_head_section()
show_code("loss")
