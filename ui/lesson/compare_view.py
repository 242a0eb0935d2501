"""The Lesson's model comparison beside the sidebar's current model: which model each RMSE on the screen is."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from ui import state

if TYPE_CHECKING:
    from collab.training.result import TrainResult


def compare_with_current(found: dict[str, TrainResult]) -> None:
    """Under a table of models trained with the app's defaults: which model the sidebar's RMSE is, so two
    RMSEs on one screen are never left unexplained (the same settings give the same number)."""
    current = state.result()
    dot = found.get("dot")
    if current is None or "rmse" not in current.metrics:
        st.caption("The current model is unchanged: these models are not made current.")
        return
    mine = current.metrics["rmse"]
    data = state.ratings()
    if dot is not None and (current.config == dot.config or f"{mine:.4f}" == f"{dot.metrics['rmse']:.4f}"):
        st.caption(
            f"The current model is unchanged, and it is the dot product row: the same settings, the same valid "
            f"RMSE {mine:.4f} as in the sidebar."
        )
        return
    rows = f" (dot product: {dot.config.describe()})" if dot is not None else ""
    st.caption(
        f"The current model is unchanged. The sidebar's **valid RMSE {mine:.4f}** is that model: "
        f"{current.config.describe(data.n_users, data.n_items)}, trained on the Train page or a Lesson step. Each row here trains the app's "
        f"default settings for its model{rows}: other settings, so another number, on the same split."
    )
