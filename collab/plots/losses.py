"""Figures for the loss playground: softmax steps, gradient, temperature, fastbook batch, BCE and multi-label."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from collab.losses import (
    BatchBreakdown,
    BceCurves,
    BinaryBreakdown,
    MultiLabelBreakdown,
    SoftmaxBreakdown,
    TemperatureCurve,
)

BLUE = "#1f5fa8"
ORANGE = "#d9822b"  # the target class, in every figure
GREEN = "#2e8b57"
RED = "#c0392b"
GREY = "#8a94a3"
FONT = {"size": 16}


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        template="plotly_white",
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
    """Bar heights (non-finite shown as missing bars) and their text, which spells out inf and nan."""
    heights = [float(v) if np.isfinite(v) else float("nan") for v in values]
    text = [f"{v:.3g}" if np.isfinite(v) else str(v) for v in values]
    return heights, text


def softmax_steps_figure(breakdown: SoftmaxBreakdown) -> go.Figure:
    """Five panels, one per step: exp(logit), softmax p, log p, the one-hot actuals, actual × log p; target orange."""
    labels = list(breakdown.labels)
    colours = _colours(breakdown.n_classes, breakdown.target)
    panels = [
        ("exp(logit)", breakdown.exps),
        ("softmax p (sums to 1)", breakdown.probs),
        ("log-softmax: log p", breakdown.log_probs),
        ("actual (one-hot)", breakdown.actuals),
        ("actual × log p", breakdown.terms),
    ]
    fig = make_subplots(
        rows=1, cols=5, subplot_titles=[title for title, _ in panels], horizontal_spacing=0.06
    )
    for col, (_, values) in enumerate(panels, start=1):
        heights, text = _finite_or_nan(values)
        fig.add_trace(
            go.Bar(
                x=labels,
                y=heights,
                text=text,
                textposition="outside",
                textangle=0,
                marker_color=colours,
                cliponaxis=False,
            ),
            row=1,
            col=col,
        )
        broken = [i for i, v in enumerate(values) if not np.isfinite(v)]
        if broken:  # a missing bar must not look like a zero: say what happened in its place
            fig.add_trace(
                go.Scatter(
                    x=[labels[i] for i in broken],
                    y=[0.0] * len(broken),
                    mode="text",
                    text=[f"<b>{text[i]}</b>" for i in broken],
                    textposition="top center",
                    textfont={"size": 17, "color": RED},
                ),
                row=1,
                col=col,
            )
    fig.update_yaxes(range=[0, 1.15], row=1, col=2)
    fig.update_yaxes(range=[0, 1.15], row=1, col=4)
    fig.update_xaxes(type="category", tickfont={"size": 15})
    title = f"From logits to loss: the right class is <b>{breakdown.labels[breakdown.target]}</b> (orange)"
    _layout(fig, title, height=420)
    fig.update_layout(uniformtext={"minsize": 13, "mode": "show"})  # plotly shrinks labels on narrow bars
    return fig


def gradient_figure(breakdown: SoftmaxBreakdown) -> go.Figure:
    """Bars of d loss / d logit = softmax − one-hot: negative for the target, positive for the rest."""
    labels = list(breakdown.labels)
    grad = breakdown.grad
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=grad,
            text=[f"{g:+.3f}" for g in grad],
            textposition="outside",
            marker_color=_colours(len(labels), breakdown.target),
            cliponaxis=False,
        )
    )
    fig.add_hline(y=0, line_color="#333", line_width=1)
    fig.update_yaxes(range=[-1.25, 1.25], title="d loss / d logit")
    fig.update_xaxes(type="category")
    return _layout(fig, "Gradient of the loss with respect to each logit (softmax − one-hot)")


def temperature_figure(
    labels: Sequence[str],
    target: int,
    probs_at_one: np.ndarray,
    probs_at_t: np.ndarray,
    temperature: float,
    loss: float,
    curve: TemperatureCurve,
) -> go.Figure:
    """Left: the distribution at T = 1 and at the chosen T. Right: the loss across T, the chosen T marked."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=["softmax p at T = 1 and at the chosen T", "loss across temperatures"],
        horizontal_spacing=0.12,
    )
    names = list(labels)
    fig.add_trace(go.Bar(x=names, y=probs_at_one, name="p at T = 1", marker_color=GREY), row=1, col=1)
    fig.add_trace(
        go.Bar(
            x=names,
            y=probs_at_t,
            name=f"p at your T = {temperature:g} (target orange)",
            marker_color=_colours(len(names), target),
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=curve.temperatures, y=curve.losses, mode="lines", line={"color": BLUE, "width": 3}, name="loss"
        ),
        row=1,
        col=2,
    )
    fig.add_trace(
        go.Scatter(
            x=[temperature],
            y=[loss],
            mode="markers",
            marker={"color": ORANGE, "size": 15, "line": {"color": "#333", "width": 1}},
            name=f"loss at your T: {loss:.4f}",
        ),
        row=1,
        col=2,
    )
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1.05], title="probability", row=1, col=1)
    fig.update_xaxes(type="category", row=1, col=1)
    fig.update_xaxes(type="log", title="temperature T (log scale)", row=1, col=2)
    fig.update_yaxes(title="cross-entropy", rangemode="tozero", row=1, col=2)
    _layout(fig, "Temperature: divide the logits by T before the softmax", height=420)
    fig.update_layout(
        showlegend=True, legend={"orientation": "h", "y": -0.25, "x": 0, "font": {"size": 15}}, margin_b=110
    )
    return fig


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
    fig.update_yaxes(title="binary cross-entropy", range=[0, 5.5])
    _layout(fig, f"Binary cross-entropy for label y = {point.label}", height=420)
    fig.update_layout(
        showlegend=True, legend={"orientation": "h", "y": -0.25, "x": 0, "font": {"size": 15}}, margin_b=110
    )
    return fig


def multilabel_figure(breakdown: MultiLabelBreakdown) -> go.Figure:
    """Per label: independent sigmoid probabilities beside one softmax over the same logits; threshold dashed."""
    names = [f"{name} (y={t})" for name, t in zip(breakdown.labels, breakdown.targets, strict=True)]
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
