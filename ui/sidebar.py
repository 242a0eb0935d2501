"""The sidebar status shown on every page: dataset, model, device."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from ui import cached, state, text


def status(container: DeltaGenerator) -> None:
    """Draw the dataset, model and device status into `container` (a slot in the sidebar)."""
    with container:
        data = state.ratings()
        st.markdown("**Dataset**")
        st.caption(
            f"{text.md(state.dataset_source())}  \n{data.n_ratings:,} ratings · {data.n_users:,} users · {data.n_items:,} items"
        )
        st.markdown("**Model**")
        result = state.result()
        if result is None:
            st.caption("None trained yet: open **Train**.")
        else:
            st.caption(
                f"{result.config.describe(data.n_users, data.n_items)}  \nvalid RMSE **{result.metrics['rmse']:.4f}**"
            )
        st.markdown("**Device**")
        st.caption(cached.device_label_if_ready())
