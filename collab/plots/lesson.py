"""Figures for the Lesson page's new parts: the live spreadsheet, the two-head loss and model, other embeddings.

Sized for a projector (1280 x 720 at 150% zoom, about 850 CSS pixels wide): large fonts, short
labels, no more than a few hundred pixels high each.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from collab.plots.format import literal, white

BLUE = "#1f5fa8"
ORANGE = "#d9822b"
GREY = "#9aa5b1"
FONT = {"size": 15}


def _layout(fig: go.Figure, title: str, height: int = 360, bottom: int = 50, left: int = 60) -> go.Figure:
    white(fig).update_layout(
        title=title,
        font=FONT,
        height=height,
        margin={"l": left, "r": 20, "t": 60, "b": bottom},
    )
    return fig


def short(label: object, width: int = 16) -> str:
    """A label cut to `width` characters with an ellipsis, so axis labels stay readable, and shown as
    written (`format.literal`: never read as plotly's HTML)."""
    text = str(label)
    return literal(text if len(text) <= width else text[: width - 1] + "…")


def factor_heatmap(
    values: np.ndarray, row_labels: Sequence[str], title: str, bias: np.ndarray | None = None
) -> go.Figure:
    """A (rows, k) factor table as a heatmap with its numbers; a bias column on the right when given."""
    table = np.asarray(values, dtype=float)  # (rows, k)
    columns = [f"f{j + 1}" for j in range(table.shape[1])]
    if bias is not None:
        table = np.column_stack([table, bias])
        columns.append("bias")
    fig = go.Figure(
        go.Heatmap(
            z=table,
            x=columns,
            y=[short(label, 14) for label in row_labels],
            text=np.vectorize(lambda v: f"{v:.2f}")(table),
            texttemplate="%{text}",
            textfont={"size": 12},
            colorscale="RdBu",
            zmid=0,
            showscale=False,
            xgap=1,
            ygap=1,
            hovertemplate="%{y} %{x}: %{z:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(side="top")
    return _layout(fig, title, height=460, bottom=20, left=110)


def predictions_heatmap(
    predictions: np.ndarray, table: np.ndarray, users: Sequence[str], items: Sequence[str]
) -> go.Figure:
    """Predicted ratings for every cell; cells that had no rating show their prediction in brackets."""
    predicted = np.asarray(predictions, dtype=float)  # (n_users, n_items)
    known = np.isfinite(np.asarray(table, dtype=float))
    text = np.where(
        known, np.vectorize(lambda v: f"{v:.1f}")(predicted), np.vectorize(lambda v: f"({v:.1f})")(predicted)
    )
    actual = np.where(known, np.vectorize(lambda v: f"{v:g}")(np.nan_to_num(table)), "blank")
    fig = go.Figure(
        go.Heatmap(
            z=predicted,
            x=[short(i, 14) for i in items],
            y=[short(u, 10) for u in users],
            text=text,
            customdata=actual,
            texttemplate="%{text}",
            textfont={"size": 12},
            colorscale="Blues",
            zmin=1,
            zmax=5,
            xgap=1,
            ygap=1,
            colorbar={"title": "pred.", "thickness": 12},
            hovertemplate="%{y}<br>%{x}<br>predicted %{z:.2f}, rated %{customdata}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    # every item named (dtick 1: plotly drops every other slanted label on a phone), steep enough not to overlap
    fig.update_xaxes(tickangle=-60, dtick=1, tickfont={"size": 11})
    fig = _layout(fig, "Predictions = user · item factors", 520, 130, 80)
    # the note on its own line: in one line the title ran past a phone's 390 px
    return fig.update_layout(title_subtitle_text="blank cells in brackets")


def sheet_loss_figure(history: Sequence[float], log_y: bool = False) -> go.Figure:
    """MSE over the filled cells after each gradient step; `log_y` puts the loss on a log axis, where the slow
    fall after the first few steps stays visible. Before any step the random start is one marked point."""
    steps = np.arange(len(history))
    fig = go.Figure(
        go.Scatter(x=steps, y=list(history), mode="lines+markers" if len(history) == 1 else "lines",
                   line={"color": BLUE, "width": 3}, marker={"size": 10})
    )  # fmt: skip
    fig.update_xaxes(title="gradient steps")
    if log_y:
        ticks = log_ticks(history)
        fig.update_yaxes(
            title="MSE (filled cells, log scale)",
            type="log",
            tickvals=ticks,
            ticktext=[f"{t:g}" for t in ticks],
        )
    else:
        fig.update_yaxes(title="MSE (filled cells)", rangemode="tozero")
    if len(history) == 1:
        fig.update_xaxes(range=[-0.5, 10])  # room for the steps to come, the start at the left
        return _layout(fig, f"Loss: {history[-1]:.4f} at the random start (no step yet)", height=300)
    return _layout(fig, f"Loss: {history[-1]:.4f} after {len(history) - 1} steps", height=300)


def log_ticks(values: Sequence[float]) -> list[float]:
    """1-2-5 ticks spanning the finite positive values, every one written out: plotly's own log ticks write
    20 and 50 as "2" and "5", which a class reads as 2 and 5."""
    finite = [v for v in values if np.isfinite(v) and v > 0]
    if not finite:
        return []
    low, high = min(finite), max(finite)
    decades = range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
    ticks = [m * 10.0**e for e in decades for m in (1, 2, 5)]
    return [float(f"{t:.3g}") for t in ticks if low / 2 <= t <= high * 2]


def two_head_figure(labels1: Sequence[str], labels2: Sequence[str], probs1: np.ndarray, probs2: np.ndarray,
                    grad: np.ndarray, target1: int, target2: int) -> go.Figure:  # fmt: skip
    """Each head's softmax probabilities (top) and the gradient of the loss for every logit (bottom)."""
    names = [f"1: {literal(a)}" for a in labels1] + [f"2: {literal(b)}" for b in labels2]
    targets = {target1, len(labels1) + target2}
    colours = [ORANGE if i in targets else (BLUE if i < len(labels1) else GREY) for i in range(len(names))]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=("softmax within each head (orange = its target)",
                                        "gradient of the total loss for each logit"))  # fmt: skip
    probs = np.concatenate([probs1, probs2])
    fig.add_trace(go.Bar(x=names, y=probs, marker_color=colours, text=[f"{p:.2f}" for p in probs],
                         textposition="auto", showlegend=False), row=1, col=1)  # fmt: skip
    fig.add_trace(go.Bar(x=names, y=grad, marker_color=colours, text=[f"{g:+.2f}" for g in grad],
                         textposition="auto", showlegend=False), row=2, col=1)  # fmt: skip
    fig.add_vline(x=len(labels1) - 0.5, line_dash="dash", line_color="#444")
    fig.update_yaxes(range=[0, 1.05], row=1, col=1)
    fig.update_yaxes(range=[-1.05, 1.05], row=2, col=1)
    return _layout(fig, "Two heads on one output layer", height=480)


def probabilities_figure(
    labels: Sequence[str], logits: np.ndarray, probs: np.ndarray, target: int
) -> go.Figure:
    """Softmax probabilities per class (the right class in orange), each bar labelled with its logit."""
    colours = [ORANGE if i == target else BLUE for i in range(len(labels))]
    text = [f"p {p:.3f} (logit {x:g})" for p, x in zip(probs, logits, strict=True)]
    fig = go.Figure(
        go.Bar(y=[short(n, 12) for n in labels], x=list(probs), orientation="h", marker_color=colours, text=text,
               textposition="auto", hovertemplate="%{y}: p = %{x:.4f}<extra></extra>")
    )  # fmt: skip
    fig.update_xaxes(range=[0, 1], title="softmax probability")
    fig.update_yaxes(autorange="reversed")
    return _layout(
        fig, f"Softmax: the right class ({short(labels[target], 12)}) in orange", height=320, left=90
    )


def two_target_history_figure(history: Sequence[object], rating_baseline: float, genre_baseline: float,
                              genre: str) -> go.Figure:  # fmt: skip
    """Validation loss (left) and accuracy (right) per epoch for the rating head and the genre head."""
    epochs = [h.epoch for h in history]
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("validation loss per head", "validation accuracy per head")
    )
    fig.add_trace(go.Scatter(x=epochs, y=[h.rating_loss for h in history], name="rating class",
                             line={"color": BLUE, "width": 3}), row=1, col=1)  # fmt: skip
    fig.add_trace(go.Scatter(x=epochs, y=[h.genre_loss for h in history], name=f"{literal(genre)}?",
                             line={"color": ORANGE, "width": 3}), row=1, col=1)  # fmt: skip
    fig.add_trace(go.Scatter(x=epochs, y=[h.rating_accuracy for h in history], name="rating class",
                             line={"color": BLUE, "width": 3}, showlegend=False), row=1, col=2)  # fmt: skip
    fig.add_trace(go.Scatter(x=epochs, y=[h.genre_accuracy for h in history], name=f"{literal(genre)}?",
                             line={"color": ORANGE, "width": 3}, showlegend=False), row=1, col=2)  # fmt: skip
    for baseline, colour in ((rating_baseline, BLUE), (genre_baseline, ORANGE)):
        fig.add_hline(y=baseline, line_dash="dot", line_color=colour, row=1, col=2)
    fig.update_xaxes(title="epoch", dtick=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(range=[0, 1], tickformat=".0%", row=1, col=2)
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return _layout(fig, "One model, two targets", 380, 90)


def token_matrix_figure(tokens: Sequence[str], token_ids: np.ndarray, matrix: np.ndarray) -> go.Figure:
    """The looked-up matrix: one row per token of the sentence, labelled with the token and its row id."""
    values = np.asarray(matrix, dtype=float)  # (n_tokens, dim)
    labels = [
        f"{i}. '{literal(t)}' → row {r}" for i, (t, r) in enumerate(zip(tokens, token_ids, strict=True))
    ]
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=[f"d{j + 1}" for j in range(values.shape[1])],
            y=labels,
            text=np.vectorize(lambda v: f"{v:.2f}")(values),
            texttemplate="%{text}",
            textfont={"size": 12},
            colorscale="RdBu",
            zmid=0,
            showscale=False,
            xgap=1,
            ygap=1,
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(side="top")
    return _layout(fig, "embedding(token ids): one row per token", height=min(120 + 28 * len(labels), 620),
                   bottom=20, left=170)  # fmt: skip


# where a label may go around its marker, in order of preference
LABEL_POSITIONS = (
    "top center", "bottom center", "middle right", "middle left", "top right", "top left", "bottom right",
    "bottom left",
)  # fmt: skip
# the category map's plot area in pixels (measured in Chromium on the Lesson at 1280 x 720: 760 wide, 440 px less
# title and axis), and a label's size per character and line at the 12-13 px figure font
PLOT_PX = (760.0, 300.0)
CHAR_PX, LINE_PX = 8.0, 18.0


def map_ranges(points: np.ndarray) -> np.ndarray:
    """The category map's axis ranges, (2, 2) [[x_low, x_high], [y_low, y_high]]: the points' extent plus room
    for labels placed beside the outermost points."""
    low, high = points.min(axis=0), points.max(axis=0)
    pad = 0.3 * (high - low) + 0.1
    return np.stack([low - pad, high + pad], axis=1)


def label_boxes(
    points: np.ndarray, labels: Sequence[str], sizes: np.ndarray, positions: Sequence[str], ranges: np.ndarray
) -> np.ndarray:
    """Each label's box in plot pixels (n, 4) [x0, y0, x1, y1], y upwards, for plotly text `positions` around
    markers of diameter `sizes` px at `points` (n, 2) drawn on axis `ranges` (see `map_ranges`)."""
    scale = np.array(PLOT_PX) / (ranges[:, 1] - ranges[:, 0])  # (2,) px per data unit
    pixels = (np.asarray(points, dtype=float) - ranges[:, 0]) * scale  # (n, 2)
    boxes = np.zeros((len(pixels), 4))
    for i, ((x, y), label, size, position) in enumerate(zip(pixels, labels, sizes, positions, strict=True)):
        w, h, r = CHAR_PX * len(label), LINE_PX, size / 2 + 2
        vertical, horizontal = position.split()
        diag = 0.7 if vertical != "middle" and horizontal != "center" else 1.0  # a corner sits nearer
        y0 = {"top": y + r * diag, "bottom": y - r * diag - h, "middle": y - h / 2}[vertical]
        x0 = {"right": x + r * diag, "left": x - r * diag - w, "center": x - w / 2}[horizontal]
        boxes[i] = (x0, y0, x0 + w, y0 + h)
    return boxes


def _overlap(box: np.ndarray, others: np.ndarray) -> float:
    """Total area (px²) `box` [x0, y0, x1, y1] shares with the boxes `others` (m, 4)."""
    if not len(others):
        return 0.0
    w = np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0])
    h = np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1])
    return float(np.sum(np.clip(w, 0, None) * np.clip(h, 0, None)))


def label_positions(
    points: np.ndarray,
    labels: Sequence[str] | None = None,
    sizes: np.ndarray | None = None,
    ranges: np.ndarray | None = None,
) -> list[str]:
    """A plotly text position per point (one of `LABEL_POSITIONS`) so that labels cover neither each other nor
    the markers, judged on each label's box in pixels (its text length, the marker sizes, the axis ranges).

    Greedy, then passes that move each label given all the others (until none moves, at most 7); where no place is free the label
    takes the one it overlaps least. `labels` default to 8 characters, `sizes` to 10 px, `ranges` to
    `map_ranges(points)`."""
    points = np.asarray(points, dtype=float)  # (n, 2)
    n = len(points)
    labels = ["x" * 8] * n if labels is None else list(labels)
    sizes = np.full(n, 10.0) if sizes is None else np.asarray(sizes, dtype=float)
    ranges = map_ranges(points) if ranges is None else np.asarray(ranges, dtype=float)
    every = {p: label_boxes(points, labels, sizes, [p] * n, ranges) for p in LABEL_POSITIONS}  # (n, 4) each
    scale = np.array(PLOT_PX) / (ranges[:, 1] - ranges[:, 0])
    centres = (points - ranges[:, 0]) * scale
    half = (sizes / 2)[:, None]
    markers = np.hstack([centres - half, centres + half])  # (n, 4) each marker's square
    chosen = ["top center"] * n
    placed = np.full(n, False)

    def cost(i: int, position: str) -> float:
        box = every[position][i]
        others = [every[chosen[j]][j] for j in range(n) if j != i and placed[j]]
        inside = _overlap(np.array([0.0, 0.0, *PLOT_PX]), box[None])  # the part within the plot area
        return (  # text on text is worst; text on a marker still leaves the text readable
            4 * _overlap(box, np.array(others).reshape(-1, 4))
            + _overlap(box, np.delete(markers, i, axis=0))
            + 4 * (box_area(box) - inside)
        )

    for _ in range(8):  # the first sweep sees only the labels before; the next ones see them all
        before = list(chosen)
        for i in range(n):
            placed[i] = False
            chosen[i] = min(LABEL_POSITIONS, key=lambda p: cost(i, p))  # ties keep the preferred order
            placed[i] = True
        if chosen == before:
            break
    return chosen


def box_area(box: np.ndarray) -> float:
    """Area (px²) of a box [x0, y0, x1, y1]."""
    return float((box[2] - box[0]) * (box[3] - box[1]))


def category_map_figure(coords: np.ndarray, names: Sequence[str], counts: np.ndarray, what: str) -> go.Figure:
    """Learned category vectors in 2-D, labelled, sized by how many ratings each category has. Labels are placed
    by `label_positions`; where two still overlap, the one with fewer ratings is left to the hover text."""
    points = np.asarray(coords, dtype=float)  # (n_categories, 2)
    counts = np.asarray(counts)
    sizes = 10 + 30 * np.sqrt(counts.astype(float) / max(float(np.max(counts)), 1.0))
    labels = [short(n, 14) for n in names]
    ranges = map_ranges(points)
    positions = label_positions(points, labels, sizes, ranges)
    boxes = label_boxes(points, labels, sizes, positions, ranges)
    shown = list(labels)
    for i in np.argsort(counts, kind="stable"):  # the least rated give way first
        if shown[i] and any(
            shown[j] and j != i and _overlap(boxes[i], boxes[j][None]) > 0 for j in range(len(shown))
        ):
            shown[i] = ""
    fig = go.Figure(
        go.Scatter(
            x=points[:, 0],
            y=points[:, 1],
            mode="markers+text",
            text=shown,
            textposition=positions,
            marker={"size": sizes, "color": BLUE, "opacity": 0.7},
            customdata=[[literal(name), f"{int(c):,}"] for name, c in zip(names, counts, strict=True)],
            hovertemplate="%{customdata[0]}: %{customdata[1]} ratings<extra></extra>",
        )
    )
    fig.update_xaxes(title="dimension 1", zeroline=True, range=list(ranges[0]))
    fig.update_yaxes(title="dimension 2", zeroline=True, range=list(ranges[1]))
    return _layout(fig, f"The learned {literal(what)} embedding (2-D)", height=440)


def bias_figure(with_bias: Sequence[float], without_bias: Sequence[float], target: float) -> go.Figure:
    """The output of a linear layer on an input of zeros, step by step, with and without a bias."""
    steps = list(range(len(with_bias)))
    fig = go.Figure()
    fig.add_scatter(x=steps, y=list(with_bias), mode="lines", name="with a bias")
    fig.add_scatter(x=steps, y=list(without_bias), mode="lines", name="without a bias", line={"dash": "dash"})
    fig.add_hline(y=target, line={"dash": "dot", "color": "grey"}, annotation_text=f"target {target:g}")
    fig.update_xaxes(title="gradient step")
    fig.update_yaxes(title="output on (0, 0, 0)")
    return _layout(fig, "A zero input: only a bias can move the output", height=300)


def range_figure(raw: np.ndarray, squashed: np.ndarray, low: float, high: float) -> go.Figure:
    """Every cell's prediction without and with sigmoid_range, sorted, against the rating scale."""
    fig = go.Figure()
    fig.add_scatter(y=np.sort(np.ravel(raw)), mode="markers", name="plain dot product", marker={"size": 5})
    fig.add_scatter(y=np.sort(np.ravel(squashed)), mode="markers", name="sigmoid_range", marker={"size": 5})
    for bound in (low, high):
        fig.add_hline(y=bound, line={"dash": "dot", "color": "grey"})
    fig.update_xaxes(title="cell (sorted by prediction)")
    fig.update_yaxes(title="predicted rating")
    return _layout(fig, "Every cell's prediction, sorted", height=320)
