"""Figures for the Data page: rating histogram, long-tail plots and the lesson's crosstab heatmap."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

BLUE = "#1f5fa8"
FONT = {"size": 16}


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    fig.update_layout(
        title=title,
        xaxis_title=x_title,
        yaxis_title=y_title,
        template="plotly_white",
        font=FONT,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        height=360,
    )
    return fig


def rating_histogram(values: Sequence[float], counts: Sequence[int]) -> go.Figure:
    """Bars of how many ratings each rating value has."""
    labels = [f"{value:g}" for value in values]
    fig = go.Figure(
        go.Bar(x=labels, y=list(counts), marker_color=BLUE, text=list(counts), textposition="outside")
    )
    fig.update_xaxes(type="category")
    return _layout(fig, "How often each rating is given", "rating", "number of ratings")


def long_tail(counts: np.ndarray, what: str) -> go.Figure:
    """Ratings per user (or item), sorted from most to fewest: the long tail of activity."""
    ordered = np.sort(np.asarray(counts))[::-1]  # (n,)
    rank = np.arange(1, len(ordered) + 1)
    fig = go.Figure(
        go.Scatter(x=rank, y=ordered, mode="lines", line={"color": BLUE, "width": 3}, fill="tozeroy")
    )
    fig.update_yaxes(type="log")
    return _layout(fig, f"Ratings per {what}, most active first", f"{what} rank", "ratings (log scale)")


def crosstab_heatmap(table: pd.DataFrame) -> go.Figure:
    """The lesson's spreadsheet: most active users x most rated items, empty cells left visibly blank."""
    values = table.to_numpy(dtype=float)  # (n_users, n_items), NaN where not rated
    text = np.where(np.isnan(values), "", np.vectorize(lambda v: f"{v:g}")(np.nan_to_num(values)))
    items = [str(c) if len(str(c)) <= 28 else str(c)[:26] + "…" for c in table.columns]
    users = [f"user {u}" for u in table.index]
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=items,
            y=users,
            text=text,
            texttemplate="%{text}",
            textfont={"size": 14},
            colorscale="Blues",
            zmin=float(np.nanmin(values)) if np.isfinite(values).any() else 0,
            xgap=2,
            ygap=2,
            colorbar={"title": "rating"},
            hovertemplate="%{y}<br>%{x}<br>rating %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        title="Most active users × most rated items (blank = not rated)",
        template="plotly_white",
        font=FONT,
        height=620,
        margin={"l": 90, "r": 20, "t": 60, "b": 180},
        plot_bgcolor="#e9edf2",
    )
    fig.update_xaxes(tickangle=-40, showgrid=False)
    fig.update_yaxes(autorange="reversed", showgrid=False)
    return fig
