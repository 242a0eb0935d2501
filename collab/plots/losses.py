"""Figures for the loss playground: softmax steps, gradient, temperature, fastbook batch, BCE and multi-label."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from collab.lesson.losses import (
    BatchBreakdown,
    BceCurves,
    BinaryBreakdown,
    MultiLabelBreakdown,
    SoftmaxBreakdown,
    TemperatureCurve,
)
from collab.plots.format import fixed, general, literal, literals, white

BLUE = "#1f5fa8"
ORANGE = "#d9822b"  # the target class, in every figure
GREEN = "#2e8b57"
RED = "#c0392b"
GREY = "#8a94a3"
FONT = {"size": 16}


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    white(fig).update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        font=FONT,
        margin={"l": 60, "r": 20, "t": 70, "b": 50},
        height=height,
        showlegend=False,
        legend={"font": {"size": 15}},
    )
    # explicit sizes: the Streamlit chart theme otherwise shrinks ticks to ~12 px, too small on a projector
    fig.update_xaxes(tickfont={"size": 15}, title_font={"size": 16})
    fig.update_yaxes(tickfont={"size": 15}, title_font={"size": 16})
    fig.update_annotations(font={"size": 16})  # subplot titles
    return fig


def _colours(n: int, target: int) -> list[str]:
    return [ORANGE if i == target else BLUE for i in range(n)]


def _finite_or_nan(values: np.ndarray) -> tuple[list[float], list[str]]:
    """Bar lengths (non-finite shown as missing bars) and their text, which spells out inf and nan."""
    heights = [float(v) if np.isfinite(v) else float("nan") for v in values]
    text = [general(v) if np.isfinite(v) else str(v) for v in values]
    return heights, text


STEP_PANELS = (
    ("exp(logit)", "exps"),
    ("softmax p (sums to 1)", "probs"),
    ("log-softmax: log p", "log_probs"),
    ("actual (one-hot)", "actuals"),
    ("actual × log p", "terms"),
)


def _step_range(values: np.ndarray, attr: str) -> list[float]:
    """An x range with room for the value labels outside the bars (probabilities: 0 to 1)."""
    if attr in ("probs", "actuals"):
        return [0.0, 1.6]
    finite = np.asarray(values, dtype=np.float64)[np.isfinite(values)]
    low = min(0.0, float(finite.min())) if finite.size else 0.0
    high = max(0.0, float(finite.max())) if finite.size else 1.0
    span = (high - low) or 1.0
    # a side without bars still gets a little room, for the "0" labels of zero-length bars
    return [low - (0.75 if low < 0 else 0.0) * span, high + (0.6 if high > 0 else 0.12) * span]


def _step_traces(breakdown: SoftmaxBreakdown, attr: str) -> list[go.BaseTraceType]:
    """One panel's horizontal bars (one row per class, so value labels never collide) and, in place of
    a bar that overflowed, its inf or nan spelled out in red."""
    labels = literals(breakdown.labels)  # class names are typed by users: shown as written
    values = getattr(breakdown, attr)
    heights, text = _finite_or_nan(values)
    traces: list[go.BaseTraceType] = [
        go.Bar(
            x=heights,
            y=labels,
            orientation="h",
            text=text,
            textposition="auto",  # inside a long bar, outside a short one
            textangle=0,
            marker_color=_colours(breakdown.n_classes, breakdown.target),
            cliponaxis=False,
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    ]
    broken = [i for i, v in enumerate(values) if not np.isfinite(v)]
    if broken:  # a missing bar must not look like a zero: say what happened in its place
        traces.append(
            go.Scatter(
                x=[0.0] * len(broken),
                y=[labels[i] for i in broken],
                mode="text",
                text=[f"<b>{text[i]}</b>" for i in broken],
                textposition="middle right",
                textfont={"size": 17, "color": RED},
            )
        )
    return traces


def softmax_step_figures(breakdown: SoftmaxBreakdown) -> list[go.Figure]:
    """The five steps as five small figures, for side-by-side columns that stack on a phone."""
    figures = []
    for title, attr in STEP_PANELS:
        fig = go.Figure(_step_traces(breakdown, attr))
        fig.update_xaxes(range=_step_range(getattr(breakdown, attr), attr), tickfont={"size": 13}, nticks=4)
        fig.update_yaxes(type="category", autorange="reversed")
        _layout(fig, title, height=max(220, 110 + 36 * breakdown.n_classes))
        fig.update_layout(margin={"l": 10, "r": 10, "t": 46, "b": 30}, title_font={"size": 15})
        fig.update_yaxes(automargin=True)
        figures.append(fig)
    return figures


def gradient_figure(breakdown: SoftmaxBreakdown) -> go.Figure:
    """Bars of d loss / d logit = softmax − one-hot: negative for the target, positive for the rest."""
    labels = literals(breakdown.labels)  # class names are typed by users: shown as written
    grad = breakdown.grad
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=grad,
            text=[fixed(g, 3, sign=True) for g in grad],
            textposition="outside",
            marker_color=_colours(len(labels), breakdown.target),
            cliponaxis=False,
        )
    )
    fig.add_hline(y=0, line_color="#333", line_width=1)
    fig.update_yaxes(range=[-1.25, 1.25], title="d loss / d logit")
    fig.update_xaxes(type="category")
    return _layout(fig, "Gradient of the loss with respect to each logit (softmax − one-hot)")


def temperature_figures(
    labels: Sequence[str],
    target: int,
    probs_at_one: np.ndarray,
    probs_at_t: np.ndarray,
    temperature: float,
    loss: float,
    curve: TemperatureCurve,
) -> tuple[go.Figure, go.Figure]:
    """The temperature panels as two figures, for columns that stack on a phone: the softmax at T = 1 and at
    the chosen T (bars), and the loss across T with the chosen T marked (line)."""
    names = literals(labels)
    bars = go.Figure(
        [
            go.Bar(x=names, y=probs_at_one, name="p at T = 1", marker_color=GREY),
            go.Bar(
                x=names, y=probs_at_t, name=f"p at your T = {temperature:g} (target orange)",
                marker_color=_colours(len(names), target),
            ),
        ]
    )  # fmt: skip
    bars.update_layout(barmode="group")
    bars.update_yaxes(range=[0, 1.05], title="probability")
    bars.update_xaxes(type="category")
    _layout(bars, "softmax p at T = 1 (grey) and at your T", height=360)
    line = go.Figure(
        [
            go.Scatter(
                x=curve.temperatures, y=curve.losses, mode="lines", line={"color": BLUE, "width": 3}, name="loss"
            ),
            go.Scatter(
                x=[temperature], y=[loss], mode="markers", name=f"loss at your T: {fixed(loss)}",
                marker={"color": ORANGE, "size": 15, "line": {"color": "#333", "width": 1}},
            ),
        ]
    )  # fmt: skip
    line.update_xaxes(type="log", title="temperature T (log scale)")
    line.update_yaxes(title="cross-entropy", rangemode="tozero")
    _layout(line, f"Loss across temperatures (yours: {fixed(loss)})", height=360)
    return bars, line


def batch_loss_figure(batch: BatchBreakdown) -> go.Figure:
    """One bar per example: its loss −log p(target), with the batch mean as a dashed line."""
    rows = [f"image {i}" for i in range(len(batch.losses))]
    text = [f"p={p:.2f}" for p in batch.target_probs]
    fig = go.Figure(
        go.Bar(x=rows, y=batch.losses, text=text, textposition="outside", marker_color=BLUE, cliponaxis=False)
    )
    fig.add_hline(
        y=batch.loss,
        line_dash="dash",
        line_color=ORANGE,
        annotation_text=f"mean = {batch.loss:.4f}",
        annotation_position="right",
        annotation_font={"size": 16, "color": ORANGE},
    )
    fig.update_yaxes(title="−log p(target)", rangemode="tozero")
    fig.update_xaxes(type="category")
    _layout(fig, "Loss of each image (text: p of its right class); the batch loss is their mean", height=340)
    fig.update_layout(margin={"l": 60, "r": 130, "t": 70, "b": 50})
    return fig


def bce_figure(curves: BceCurves, point: BinaryBreakdown) -> go.Figure:
    """The loss for y = 1 (−log p) and y = 0 (−log(1 − p)) across p, the current prediction marked."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=curves.probs,
            y=curves.loss_if_one,
            mode="lines",
            name="y = 1: −log p",
            line={"color": GREEN, "width": 3},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=curves.probs,
            y=curves.loss_if_zero,
            mode="lines",
            name="y = 0: −log(1 − p)",
            line={"color": RED, "width": 3},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[point.prob],
            y=[point.loss],
            mode="markers",
            marker={"color": ORANGE, "size": 16, "line": {"color": "#333", "width": 1}},
            name=f"your prediction: p = {point.prob:.3f}, loss = {point.loss:.3f}",
        )
    )
    fig.update_xaxes(title="predicted probability p of class 1", range=[0, 1])
    # room for the prediction however wrong it is (a logit of -8 costs 8): the dot never leaves the axis
    top = max(5.5, float(point.loss) * 1.12) if np.isfinite(point.loss) else 5.5
    fig.update_yaxes(title="binary cross-entropy", range=[0, top])
    _layout(fig, f"Binary cross-entropy for label y = {point.label}", height=420)
    fig.update_layout(
        showlegend=True, legend={"orientation": "h", "y": -0.25, "x": 0, "font": {"size": 15}}, margin_b=110
    )
    return fig


def multilabel_figure(breakdown: MultiLabelBreakdown) -> go.Figure:
    """Per label: independent sigmoid probabilities beside one softmax over the same logits; threshold dashed."""
    names = [f"{literal(name)} (y={t})" for name, t in zip(breakdown.labels, breakdown.targets, strict=True)]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=names,
            y=breakdown.probs,
            name=f"sigmoid (sum {breakdown.probs.sum():.2f})",
            marker_color=[ORANGE if t else BLUE for t in breakdown.targets],
            text=[f"{p:.2f}" for p in breakdown.probs],
            textposition="outside",
            cliponaxis=False,
        )
    )
    fig.add_trace(
        go.Bar(
            x=names,
            y=breakdown.softmax_probs,
            name=f"softmax (sum {breakdown.softmax_probs.sum():.2f})",
            marker_color=GREY,
            text=[f"{p:.2f}" for p in breakdown.softmax_probs],
            textposition="outside",
            cliponaxis=False,
        )
    )
    fig.add_hline(
        y=breakdown.threshold,
        line_dash="dash",
        line_color=RED,
        annotation_text=f"threshold {breakdown.threshold:g}",
        annotation_position="right",
        annotation_font={"size": 15, "color": RED},
    )
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1.12], title="probability")
    fig.update_xaxes(type="category")
    _layout(fig, "Sigmoid per label (orange: target 1) versus one softmax over all labels", height=420)
    fig.update_layout(
        showlegend=True, legend={"orientation": "h", "y": -0.25, "x": 0, "font": {"size": 15}}, margin_b=110
    )
    fig.update_layout(margin_r=140)
    return fig
