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
            under_way = cached.my_jobs()  # pressed Train, then left the page while it trains
            st.caption(
                f"A training is under way ({len(under_way)} in all): open **Train** to follow it."
                if under_way
                else "None trained yet: open **Train**."
            )
        else:
            score = (
                f"valid RMSE **{result.metrics['rmse']:.4f}**"
                if "rmse" in result.metrics
                else f"NDCG@10 **{result.metrics.get('ndcg@10', float('nan')):.4f}** (popularity "
                f"{result.metrics.get('popularity_ndcg@10', float('nan')):.4f})"
            )
            st.caption(f"{result.config.describe(data.n_users, data.n_items)}  \n{score}")
        st.markdown("**Device**")
        st.caption(cached.device_label_if_ready())
