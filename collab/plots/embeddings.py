"""Figures for the embedding explorer and the Recommend page: projections, biases, recovery, ranking quality."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from collab.plots.format import literal, literals, white

PALETTE = (
    "#1f5fa8", "#d1495b", "#2a9d8f", "#e9a03b", "#6a4c93", "#8ab17d",
    "#577590", "#f28482", "#43aa8b", "#b5838d", "#f9c74f", "#4d908e",
)  # fmt: skip
MUTED = "#9aa5b1"
HIGHLIGHT = "#111111"
MAX_LABELS = 12  # titles written on the map; further matches get a ring and a hover label only
COUNT_TICKS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


def projection_fig(
    coords: np.ndarray,
    names: Sequence[str],
    color: np.ndarray | Sequence[str],
    color_label: str,
    explained: np.ndarray,
    *,
    categorical: bool,
    ids: np.ndarray | None = None,
    highlight: np.ndarray | None = None,
    selected: int | None = None,
    hover_extra: Sequence[str] | None = None,
    title: str = "",
    max_labels: int = MAX_LABELS,
) -> go.Figure:
    """A 2-D or 3-D scatter of projected factors: hover shows the name, colour by a category or a value.

    `ids` (row indices in the full table) travel as customdata, so a selection event names the row.
    `highlight` marks rows (search hits) with a ring, and the first `max_labels` of them (and the
    picked row, `selected`) with their name.
    """
    xyz = np.asarray(coords, dtype=np.float64)
    dims = xyz.shape[1]
    if dims not in (2, 3):
        raise ValueError(f"coords must have 2 or 3 columns, got {dims}")
    names = np.asarray(literals(names), dtype=object)  # data: shown as written, never as plotly's HTML
    ids = np.arange(len(xyz)) if ids is None else np.asarray(ids)
    extra = np.full(len(xyz), "") if hover_extra is None else np.asarray(literals(hover_extra), dtype=object)
    shown_label = literal(color_label)  # in hover text through `meta`: a "%{" in it is never a template
    scatter = go.Scatter3d if dims == 3 else go.Scatter
    size = 4 if dims == 3 else 8
    fig = go.Figure()

    def axes(rows: np.ndarray) -> dict[str, np.ndarray]:
        found = {"x": xyz[rows, 0], "y": xyz[rows, 1]}
        if dims == 3:
            found["z"] = xyz[rows, 2]
        return found

    if categorical:
        labels = np.asarray(color, dtype=object)
        for i, category in enumerate(sorted(set(labels.tolist()))):
            rows = np.flatnonzero(labels == category)
            fig.add_trace(
                scatter(
                    **axes(rows),
                    mode="markers",
                    name=literal(category),
                    meta=shown_label,
                    text=names[rows],
                    customdata=np.stack([ids[rows], extra[rows]], axis=1),
                    hovertemplate="<b>%{text}</b><br>%{meta}: %{fullData.name}<br>%{customdata[1]}<extra></extra>",
                    marker={"size": size, "opacity": 0.85, "color": PALETTE[i % len(PALETTE)]},
                )
            )
    else:
        values = np.asarray(color, dtype=np.float64)
        fig.add_trace(
            scatter(
                **axes(np.arange(len(xyz))),
                mode="markers",
                name=shown_label,
                meta=shown_label,
                text=names,
                customdata=np.stack([ids, extra], axis=1),
                hovertemplate="<b>%{text}</b><br>%{meta}: %{marker.color:.3g}<br>%{customdata[1]}<extra></extra>",
                marker={
                    "size": size,
                    "opacity": 0.85,
                    "color": values,
                    "colorscale": "Viridis",
                    "showscale": True,
                    "colorbar": {"title": {"text": shown_label}},
                },
                showlegend=False,
            )
        )
    marked = np.zeros(len(xyz), dtype=bool) if highlight is None else np.asarray(highlight, dtype=bool).copy()
    if selected is not None:
        marked |= ids == selected
    if marked.any():
        rows = np.flatnonzero(marked)
        # rings on every match, titles on the first `max_labels` only (rows come most rated first):
        # a search for "The" must not bury the map in labels
        labelled = rows[:max_labels]
        if selected is not None and np.any(ids[rows] == selected):
            labelled = np.union1d(labelled, rows[ids[rows] == selected])
        shown = np.where(np.isin(rows, labelled), names[rows], "")
        fig.add_trace(
            scatter(
                **axes(rows),
                mode="markers+text",
                name="highlighted",
                text=shown,
                hovertext=names[rows],
                textposition="top center",
                customdata=np.stack([ids[rows], extra[rows]], axis=1),
                hovertemplate="<b>%{hovertext}</b><extra></extra>",
                marker={"size": size + 6, "color": "rgba(0,0,0,0)", "line": {"color": HIGHLIGHT, "width": 2}},
                showlegend=False,
            )
        )
    share = [f"{100 * e:.1f}%" for e in np.asarray(explained)[:dims]]
    axis_titles = {
        f"{axis}axis": {"title": {"text": f"PC{i + 1} ({share[i]} of variance)"}}
        for i, axis in enumerate("xyz"[:dims])
    }
    layout: dict[str, object] = {
        "title": {"text": literal(title)} if title else None,
        "height": 620,
        "margin": {"l": 10, "r": 10, "t": 50 if title else 20, "b": 10 if dims == 3 else 40},
        # the legend below the map, not beside it: beside it, it takes half a phone's width
        "legend": {
            "title": {"text": shown_label},
            "itemsizing": "constant",
            "orientation": "h",
            "yanchor": "top",
            "y": -0.08,
            "x": 0,
        },
    }
    if dims == 3:
        layout["scene"] = axis_titles
    else:
        layout.update(axis_titles)
    white(fig).update_layout(**layout)
    return fig


def bias_scatter_fig(
    bias: np.ndarray, mean_rating: np.ndarray, counts: np.ndarray, names: Sequence[str]
) -> go.Figure:
    """Learned item bias against mean rating, coloured by the number of ratings."""
    counts = np.asarray(counts)
    fig = go.Figure(
        go.Scatter(
            x=np.asarray(mean_rating, dtype=np.float64),
            y=np.asarray(bias, dtype=np.float64).reshape(-1),
            mode="markers",
            text=literals(names),
            customdata=counts,
            hovertemplate="<b>%{text}</b><br>mean rating %{x:.2f} · bias %{y:.3f} · %{customdata} ratings<extra></extra>",
            marker={
                "size": 7,
                "opacity": 0.7,
                "color": np.log10(np.maximum(counts, 1)),
                "colorscale": "Viridis",
                "showscale": True,
                "colorbar": {
                    "title": {"text": "ratings"},
                    "tickvals": np.log10(COUNT_TICKS).tolist(),
                    "ticktext": [f"{t:,}" for t in COUNT_TICKS],
                },
            },
        )
    )
    white(fig).update_layout(
        xaxis_title="mean rating",
        yaxis_title="learned item bias",
        height=420,
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
    )
    return fig


def recovery_fig(
    true_bias: np.ndarray, learned_bias: np.ndarray, genre: Sequence[str], names: Sequence[str]
) -> go.Figure:
    """Learned against planted item bias on the demo set, one colour per planted genre."""
    genre = np.asarray(genre, dtype=str)
    names = np.asarray(literals(names), dtype=object)  # object: one long title costs its own length
    fig = go.Figure()
    for i, category in enumerate(sorted(set(genre.tolist()))):
        rows = np.flatnonzero(genre == category)
        fig.add_trace(
            go.Scatter(
                x=np.asarray(true_bias)[rows],
                y=np.asarray(learned_bias).reshape(-1)[rows],
                mode="markers",
                name=literal(category),
                text=names[rows],
                hovertemplate="<b>%{text}</b><br>planted %{x:.3f} · learned %{y:.3f}<extra></extra>",
                marker={"size": 7, "opacity": 0.75, "color": PALETTE[i % len(PALETTE)]},
            )
        )
    white(fig).update_layout(
        xaxis_title="planted item bias",
        yaxis_title="learned item bias",
        height=420,
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
        legend={"title": {"text": "planted genre"}},
    )
    return fig


def ranking_fig(model: Mapping[str, float], popularity: Mapping[str, float], k: int) -> go.Figure:
    """Precision, recall and NDCG at k: the model beside the popularity baseline."""
    metrics = list(model)
    labels = [f"{name}@{k}" for name in metrics]
    fig = go.Figure(
        [
            go.Bar(name="model", x=labels, y=[model[m] for m in metrics], marker_color=PALETTE[0],
                   texttemplate="%{y:.3f}", textposition="outside"),
            go.Bar(name="popularity", x=labels, y=[popularity[m] for m in metrics], marker_color=MUTED,
                   texttemplate="%{y:.3f}", textposition="outside"),
        ]
    )  # fmt: skip
    top = max([*model.values(), *popularity.values(), 0.01])
    white(fig).update_layout(
        barmode="group",
        yaxis={"range": [0, top * 1.2], "title": {"text": "score"}},
        height=360,
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
    )
    return fig
