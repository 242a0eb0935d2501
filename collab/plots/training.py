"""Figures for the Train page: loss curves of one run, and a weight-decay sweep's validation curves."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from collab.plots.format import white

BLUE = "#1f5fa8"
ORANGE = "#e07b24"
GREY = "#777777"
SWEEP_COLOURS = ("#1f5fa8", "#e07b24", "#2a9d4b", "#c0392b", "#8e44ad", "#7f8c8d", "#d4a017")
FONT = {"size": 16}


def _layout(fig: go.Figure, title: str, y_title: str) -> go.Figure:
    white(fig).update_layout(
        title=title,
        xaxis_title="epoch",
        yaxis_title=y_title,
        font=FONT,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        height=380,
        legend={"orientation": "h", "y": -0.2},
    )
    # explicit sizes: Streamlit's chart theme otherwise shrinks ticks to ~11 px (unreadable on a phone)
    fig.update_xaxes(tickfont={"size": 14}, title_font={"size": 15})
    fig.update_yaxes(tickfont={"size": 14}, title_font={"size": 15}, automargin=True)
    fig.update_xaxes(dtick=1 if fig.data and len(fig.data[0].x or ()) <= 20 else None)
    return fig


def loss_figure(
    history: Sequence[Any],
    oracle_rmse: float | None = None,
    overfit_epoch: int | None = None,
    loss_name: str = "MSE",
) -> go.Figure:
    """Train and valid loss per epoch; optional noise-floor line (oracle RMSE squared, an MSE: leave it
    out for a cross-entropy) and overfit marker (with the best validation loss as a dotted level)."""
    epochs = [h.epoch for h in history]
    fig = go.Figure()
    fig.add_scatter(
        x=epochs,
        y=[h.train_loss for h in history],
        mode="lines+markers",
        name="train loss",
        line={"color": BLUE},
    )
    valid = [h.valid_loss for h in history]
    if any(not math.isnan(v) for v in valid):
        fig.add_scatter(x=epochs, y=valid, mode="lines+markers", name="valid loss", line={"color": ORANGE})
    if oracle_rmse is not None:
        floor = oracle_rmse**2
        fig.add_hline(
            y=floor,
            line={"dash": "dash", "color": GREY},
            annotation_text=f"noise floor (oracle MSE {floor:.3f})",
            annotation_position="bottom right",
        )
    if overfit_epoch is not None:
        best = history[overfit_epoch - 1].valid_loss
        fig.add_hline(
            y=best,
            line={"dash": "dot", "color": "#c0392b", "width": 1},
            annotation_text=f"best valid loss {best:.4f}",
            annotation_position="bottom left",
        )
        fig.add_vline(
            x=overfit_epoch,
            line={"dash": "dot", "color": "#c0392b"},
            annotation_text=f"valid loss turns up after epoch {overfit_epoch}",
            annotation_position="top",
        )
    return _layout(fig, "Loss per epoch", f"loss ({loss_name})")


def sweep_figure(histories_by_wd: Mapping[float, Sequence[Any]]) -> go.Figure:
    """One validation-loss curve per weight decay, to pick the value where valid loss is lowest."""
    fig = go.Figure()
    for index, (wd, history) in enumerate(sorted(histories_by_wd.items(), reverse=True)):
        fig.add_scatter(
            x=[h.epoch for h in history],
            y=[h.valid_loss for h in history],
            mode="lines+markers",
            name=f"wd {wd:g}",
            line={"color": SWEEP_COLOURS[index % len(SWEEP_COLOURS)]},
        )
    return _layout(fig, "Validation loss by weight decay", "valid loss")
