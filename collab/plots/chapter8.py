"""Figures for the Lesson's fastbook chapter 8 steps: named factors, the from-scratch model beside
`nn.Embedding`, fastai's embedding-size rule, and where the top-10 lists go (popularity bias)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from collab.plots.lesson import BLUE, GREY, ORANGE, _layout, short


def named_factors_figure(factor_names: Sequence[str], products: dict[str, Sequence[float]]) -> go.Figure:
    """One group of bars per named factor: the user's taste times each film's trait (the dot product's terms)."""
    fig = go.Figure()
    for (movie, values), colour in zip(products.items(), (BLUE, ORANGE, GREY), strict=False):
        total = float(np.sum(values))
        fig.add_bar(
            x=list(factor_names), y=list(values), name=f"{short(movie, 20)}: sum {total:+.3f}",
            marker_color=colour, text=[f"{v:+.2f}" for v in values], textposition="outside",
        )  # fmt: skip
    fig.add_hline(y=0, line={"color": "grey", "width": 1})
    fig.update_yaxes(title="user × film", range=[-1.2, 1.2])
    fig.update_layout(legend={"orientation": "h", "y": -0.18, "x": 0}, barmode="group")
    return _layout(fig, "The match, factor by factor", height=330, bottom=70)


def side_by_side_figure(
    scratch: Sequence[float],
    embedding: Sequence[float],
    scratch_train: Sequence[float],
    embedding_train: Sequence[float],
) -> go.Figure:
    """Validation and training MSE per epoch of the nn.Parameter model and the nn.Embedding model."""
    epochs = list(range(1, len(scratch) + 1))
    fig = go.Figure()
    fig.add_scatter(x=epochs, y=list(scratch_train), name="nn.Parameter, train", mode="lines+markers",
                    line={"color": BLUE, "width": 6})  # fmt: skip
    fig.add_scatter(x=epochs, y=list(embedding_train), name="nn.Embedding, train", mode="lines+markers",
                    line={"color": ORANGE, "dash": "dash", "width": 2})  # fmt: skip
    fig.add_scatter(x=epochs, y=list(scratch), name="nn.Parameter, valid", mode="lines+markers",
                    line={"color": BLUE, "width": 6}, opacity=0.45)  # fmt: skip
    fig.add_scatter(x=epochs, y=list(embedding), name="nn.Embedding, valid", mode="lines+markers",
                    line={"color": ORANGE, "dash": "dash", "width": 2}, opacity=0.8)  # fmt: skip
    fig.update_xaxes(title="epoch", dtick=1)
    fig.update_yaxes(title="MSE")
    fig.update_layout(legend={"orientation": "h", "y": -0.25, "x": 0})
    return _layout(fig, "Two implementations, one curve", height=340, bottom=90)


def size_rule_figure(marked: dict[str, int]) -> go.Figure:
    """fastai's min(600, round(1.6 n^0.56)) against n (log axis), with the tables of `marked` {name: n} on it."""
    n = np.unique(np.round(np.logspace(0, 6, 200)).astype(int))
    width = np.minimum(600, np.round(1.6 * n**0.56))
    fig = go.Figure()
    fig.add_scatter(x=n, y=width, mode="lines", name="the rule", line={"color": GREY}, showlegend=False)
    # blue: the current data, orange: MovieLens 100K; labels placed apart (102 and 113 sit close on the curve)
    places = ("bottom right", "top left", "top left", "top left")
    for (name, count), colour, place in zip(
        marked.items(), (BLUE, BLUE, ORANGE, ORANGE), places, strict=False
    ):
        size = min(600, round(1.6 * count**0.56))
        fig.add_scatter(
            x=[count], y=[size], mode="markers+text", name=short(name, 24), text=[f"{size}"],
            textposition=place, marker={"size": 11, "color": colour}, showlegend=False,
            hovertemplate=f"{short(name, 40)}: %{{x:,}} rows → width %{{y}}<extra></extra>",
        )  # fmt: skip
    fig.update_xaxes(title="rows in the table (log)", type="log")
    fig.update_yaxes(title="embedding width")
    return _layout(fig, "min(600, round(1.6 · n^0.56))", height=300)


def popularity_share_figure(shares: dict[str, float], n_popular: int, n_items: int) -> go.Figure:
    """Horizontal bars: the share going to the 10% most-rated items, of the catalogue, the ratings and each list."""
    names = list(shares)
    values = [100 * shares[name] for name in names]
    fig = go.Figure(
        go.Bar(
            x=values, y=names, orientation="h", text=[f"{v:.1f}%" for v in values], textposition="auto",
            marker_color=[GREY, GREY, BLUE, ORANGE][: len(names)],
        )
    )  # fmt: skip
    fig.update_xaxes(
        title=f"% to the {n_popular} most rated", range=[0, 105]
    )  # short: a phone shows ~25 characters
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Who gets the top-10 slots", height=300, left=150)
