"""Numbers as text for figures and tables (no `-0.0000`, non-finite values spelled out), labels from
data as text plotly shows literally, and the figures' shared template."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from collab.data.guards import visible_controls

if TYPE_CHECKING:
    import plotly.graph_objects as go

TEMPLATE = "plotly_white"


def literal(label: object) -> str:
    """A label from data (an id, a title, a category, a class name) as plotly shows it literally.

    plotly reads a subset of HTML in every text it draws: in tick labels, trace text and hover text,
    "<b>x</b>" turns bold, "<a href=...>" becomes a link and an unknown tag disappears. `<`, `>` and
    `&` become entities, which plotly shows as the characters; bidirectional controls are shown as
    their code (`visible_controls`).
    """
    return html.escape(visible_controls(str(label)), quote=False)


def literals(labels: Iterable[object]) -> list[str]:
    """`literal` of each label."""
    return [literal(label) for label in labels]


def white(fig: go.Figure) -> go.Figure:
    """`fig` with the light `plotly_white` template, set the way plotly sets its default template.

    `update_layout(template="plotly_white")` validates the template again, deep-copying it: ~10 ms of
    a figure's ~12 ms to build, paid on every page rerun for every figure (a Loss playground rerun
    draws a dozen). The template is plotly's own, already valid, so validating it proves nothing.
    """
    import plotly.io as pio

    template = pio.templates[TEMPLATE]
    layout = fig.layout
    if not hasattr(layout, "_validate"):  # a plotly without the switch: the slow, validated way
        return fig.update_layout(template=template)
    previous = layout._validate  # noqa: SLF001 - plotly's BaseFigure._initialize_layout_template does the same
    layout._validate = False  # noqa: SLF001
    try:
        layout.template = template
    finally:
        layout._validate = previous  # noqa: SLF001
    return fig


def fixed(value: float, digits: int = 4, sign: bool = False) -> str:
    """`value` with `digits` decimals; a value that rounds to zero never shows a minus sign
    (-0.00001 is "0.0000", not "-0.0000"); NaN and infinities as "nan", "inf", "-inf"."""
    value = float(value)
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    text = f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"
    if float(text) == 0:  # "-0.0000", "+0.0000" or "-0"
        text = f"{0.0:.{digits}f}"
    return text


def general(value: float, significant: int = 3) -> str:
    """`value` to `significant` figures (the `g` format), without a minus sign on a zero."""
    value = float(value)
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    text = f"{value:.{significant}g}"
    return "0" if float(text) == 0 else text
