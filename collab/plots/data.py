"""Figures for the Data page: rating histogram, long-tail plots and the lesson's crosstab heatmap."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from collab.plots.format import literals, white

BLUE = "#1f5fa8"
FONT = {"size": 16}
BLANK = "#f4f4f4"  # an unrated cell of the crosstab: near-white grey, unlike any rating's colour
# light to dark blue, starting well away from white (Blues starts at #f7fbff, close to a blank cell)
RATING_SCALE = [[0.0, "#9ecae1"], [0.25, "#6baed6"], [0.5, "#4292c6"], [0.75, "#2171b5"], [1.0, "#08306b"]]


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    white(fig).update_layout(
        title=title,
        xaxis_title=x_title,
        yaxis_title=y_title,
        font=FONT,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        height=360,
    )
    return fig


MAX_RATING_BARS = 20  # one bar per rating value up to this many values (a 1-5 or 0.5-10 scale)
RATING_BINS = 30  # beyond it (continuous ratings, e.g. Jester's -10 to 10): a histogram of this many bins


def rating_histogram(values: Sequence[float], counts: Sequence[int]) -> go.Figure:
    """How many ratings each rating value has: one bar per value for a scale of up to `MAX_RATING_BARS`
    values, else (continuous ratings) a histogram of `RATING_BINS` equal bins, titled with the number of
    distinct values. `values` are the distinct ratings, `counts` how many ratings have each."""
    if len(values) <= MAX_RATING_BARS:
        labels = [f"{value:g}" for value in values]
        fig = go.Figure(
            go.Bar(x=labels, y=list(counts), marker_color=BLUE, text=list(counts), textposition="outside")
        )
        fig.update_xaxes(type="category")
        return _layout(fig, "How often each rating is given", "rating", "number of ratings")
    heights, edges = np.histogram(
        np.asarray(values, dtype=np.float64), bins=RATING_BINS, weights=np.asarray(counts, dtype=np.float64)
    )
    fig = go.Figure(
        go.Bar(
            x=(edges[:-1] + edges[1:]) / 2,
            y=heights.astype(np.int64),
            width=float(edges[1] - edges[0]) * 0.95,
            marker_color=BLUE,
            customdata=np.column_stack([edges[:-1], edges[1:]]),
            hovertemplate="%{customdata[0]:.3g} to %{customdata[1]:.3g}: %{y:,} ratings<extra></extra>",
        )
    )
    return _layout(
        fig, f"How ratings are spread: {len(values):,} distinct values, in {RATING_BINS} bins", "rating",
        "number of ratings",
    )  # fmt: skip


def long_tail(counts: np.ndarray, what: str) -> go.Figure:
    """Ratings per user (or item), sorted from most to fewest: the long tail of activity."""
    ordered = np.sort(np.asarray(counts))[::-1]  # (n,)
    rank = np.arange(1, len(ordered) + 1)
    fig = go.Figure(
        go.Scatter(x=rank, y=ordered, mode="lines", line={"color": BLUE, "width": 3}, fill="tozeroy")
    )
    fig.update_yaxes(type="log", **log_ticks(ordered))
    return _layout(fig, f"Ratings per {what}, most active first", f"{what} rank", "ratings (log scale)")


def log_ticks(values: np.ndarray) -> dict[str, list]:
    """Tick positions 1, 2, 5, 10, 20, 50, ... covering `values`, each labelled with its full magnitude
    ("1,000", not plotly's bare "2" and "5" between powers of ten)."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite) & (finite > 0)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (1.0, 10.0)
    ticks = [
        mantissa * 10**power
        for power in range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
        for mantissa in (1, 2, 5)
    ]
    kept = [t for t in ticks if low / 2 <= t <= high * 2] or [low]
    return {"tickvals": kept, "ticktext": [f"{t:,.0f}" if t >= 1 else f"{t:g}" for t in kept]}


def crosstab_heatmap(table: pd.DataFrame) -> go.Figure:
    """The lesson's spreadsheet: most active users x most rated items, empty cells left visibly blank."""
    values = table.to_numpy(dtype=float)  # (n_users, n_items), NaN where not rated
    text = np.where(np.isnan(values), "", np.vectorize(lambda v: f"{v:g}")(np.nan_to_num(values)))
    items = literals(str(c) if len(str(c)) <= 28 else str(c)[:26] + "…" for c in table.columns)
    users = literals(f"user {u}" for u in table.index)
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=items,
            y=users,
            text=text,
            texttemplate="%{text}",
            textfont={"size": 14},
            # the lowest rating is a clear blue, never near-white: a blank (unrated) cell is the grey
            # background, and a 1 or a 2 must not be mistaken for one
            colorscale=RATING_SCALE,
            zmin=float(np.nanmin(values)) if np.isfinite(values).any() else 0,
            xgap=2,
            ygap=2,
            colorbar={"title": "rating"},
            hovertemplate="%{y}<br>%{x}<br>rating %{text}<extra></extra>",
        )
    )
    white(fig).update_layout(
        title="Most active users × most rated items (blank = not rated)",
        font=FONT,
        height=620,
        margin={"l": 90, "r": 20, "t": 60, "b": 180},
        plot_bgcolor=BLANK,
    )
    fig.update_xaxes(tickangle=-40, showgrid=False)
    fig.update_yaxes(autorange="reversed", showgrid=False)
    return fig
