"""Number formatting for figures and tables (issue 14: no -0.0000 loss, no -0.000 R²), and labels from data
shown as text in figures (never as plotly's HTML)."""

from __future__ import annotations

import html
import json
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from collab.data.guards import BIDI_CONTROLS, visible_controls
from collab.plots import data as data_plots
from collab.plots import embeddings as emb_plots
from collab.plots import lesson as lesson_plots
from collab.plots.format import fixed, general, literal, white


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [(-0.0, 4, "0.0000"), (-1e-7, 4, "0.0000"), (-0.0004, 3, "0.000"), (-0.0006, 3, "-0.001"),
     (1.23456, 2, "1.23"), (math.nan, 3, "nan"), (-math.inf, 3, "-inf")],
)  # fmt: skip
def test_fixed_never_shows_a_negative_zero(value, digits, text):
    assert fixed(value, digits) == text


def test_signed_and_general_forms():
    assert fixed(-1e-9, 3, sign=True) == "0.000"
    assert fixed(0.25, 2, sign=True) == "+0.25"
    assert general(-0.0) == "0" and general(-1e-12, 3) == "-1e-12" and general(0.12345) == "0.123"


def test_long_tail_log_ticks_carry_their_magnitudes():
    import numpy as np

    from collab.plots.data import log_ticks, long_tail

    ticks = log_ticks(np.array([1, 3, 40, 737]))
    assert ticks["tickvals"] == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    assert ticks["ticktext"][-1] == "1,000" and ticks["ticktext"][0] == "1"
    fig = long_tail(np.array([5, 12, 300, 2500]), "user")
    assert fig.layout.yaxis.type == "log" and "2,000" in fig.layout.yaxis.ticktext


def test_crosstab_low_ratings_are_not_near_white():
    import pandas as pd
    from plotly.colors import hex_to_rgb

    from collab.plots.data import BLANK, crosstab_heatmap

    fig = crosstab_heatmap(pd.DataFrame([[1.0, 2.0], [float("nan"), 5.0]], index=[1, 2], columns=["a", "b"]))
    scale = fig.data[0].colorscale
    lowest = hex_to_rgb(scale[0][1])
    two = hex_to_rgb(scale[1][1])  # rating 2 on a 1-5 scale sits at 0.25
    assert sum(lowest) < 3 * 220 and sum(two) < 3 * 200, "a low rating must be clearly coloured"
    assert fig.layout.plot_bgcolor == BLANK and sum(hex_to_rgb(BLANK)) > sum(lowest) + 120


def test_white_sets_the_same_template_as_the_validated_way_and_keeps_validation_on() -> None:
    slow = go.Figure(go.Bar(x=[1, 2], y=[3, 4])).update_layout(template="plotly_white", title="t")
    fast = white(go.Figure(go.Bar(x=[1, 2], y=[3, 4]))).update_layout(title="t")
    assert json.loads(fast.to_json()) == json.loads(slow.to_json())  # (key order differs)
    assert fast.layout.template == pio.templates["plotly_white"]
    with pytest.raises(ValueError, match="heigth"):  # later settings are still checked
        fast.update_layout(heigth=300)
    fast.layout.template.layout.font.size = 99  # the figure's copy, not plotly's registered template
    assert pio.templates["plotly_white"].layout.font.size != 99


# labels from data (ids, titles, categories, class names): plotly reads a subset of HTML in every text
HOSTILE = ["<b>bold</b>", "x<a href='https://x.example'>y</a>", "AT&T", "a\u202etxt.exe", "Love < Money"]


@given(label=st.text())
def test_a_literal_label_holds_no_markup_and_reads_back_as_written(label):
    shown = literal(label)
    assert "<" not in shown and ">" not in shown
    assert not BIDI_CONTROLS.search(shown)
    assert html.unescape(shown) == visible_controls(label)  # plotly shows the entities as the characters


def test_bidirectional_controls_are_shown_as_their_code():
    assert visible_controls("x\u202eexe.txt") == "x[U+202E]exe.txt"
    assert visible_controls("plain title") == "plain title"


def _shown_texts(fig: go.Figure) -> list[str]:
    """Every string plotly draws from the figure's traces (tick categories, text, hover text, legend
    names, customdata) and its title."""
    found: list[str] = [str(fig.layout.title.text or "")]
    for trace in fig.data:
        found.append(str(trace.name or ""))
        for field in ("x", "y", "text", "hovertext", "customdata", "meta"):
            values = getattr(trace, field, None)
            if values is not None:
                found.extend(str(v) for v in np.asarray(values, dtype=object).ravel())
    return found


def test_figures_draw_labels_from_data_as_text_not_html():
    n = len(HOSTILE)
    coords = np.random.default_rng(0).normal(size=(n, 2))
    counts = np.arange(1, n + 1)
    figures = [
        emb_plots.projection_fig(
            coords,
            HOSTILE,
            HOSTILE,
            "<i>genre</i>",
            np.array([0.5, 0.3]),
            categorical=True,
            highlight=np.ones(n, dtype=bool),
            hover_extra=HOSTILE,
        ),  # fmt: skip
        emb_plots.projection_fig(
            coords, HOSTILE, counts, "<i>count</i>", np.array([0.5, 0.3]), categorical=False
        ),
        emb_plots.bias_scatter_fig(coords[:, 0], coords[:, 1], counts, HOSTILE),
        emb_plots.recovery_fig(coords[:, 0], coords[:, 1], HOSTILE, HOSTILE),
        lesson_plots.factor_heatmap(coords, HOSTILE, "User factors"),
        lesson_plots.predictions_heatmap(coords, coords, HOSTILE, ["i1", "i2"]),
        lesson_plots.category_map_figure(coords, HOSTILE, counts, "<i>genre</i>"),
        lesson_plots.probabilities_figure(HOSTILE, coords[:, 0], np.full(n, 1 / n), 0),
        lesson_plots.token_matrix_figure(HOSTILE, np.arange(n), coords),
        data_plots.crosstab_heatmap(pd.DataFrame(coords[:1, :1], columns=[HOSTILE[0]], index=[HOSTILE[1]])),
    ]
    for fig in figures:
        shown = " ".join(_shown_texts(fig))
        assert "<b>bold" not in shown and "<a " not in shown and "<i>" not in shown, shown
        assert "\u202e" not in shown
    categorical = figures[0]
    assert "&lt;b&gt;bold&lt;/b&gt;" in list(categorical.data[0].text) + [t.name for t in categorical.data]
    assert all(
        "%{meta}" in t.hovertemplate for t in categorical.data[:-1]
    )  # the label is never in the template


def test_a_rating_scale_gets_a_bar_per_value_and_continuous_ratings_a_histogram():
    scale = data_plots.rating_histogram([1.0, 2.0, 3.0, 4.0, 5.0], [5, 10, 30, 40, 15])
    assert list(scale.data[0].x) == ["1", "2", "3", "4", "5"] and scale.layout.xaxis.type == "category"
    rng = np.random.default_rng(0)
    values = np.unique(np.round(rng.uniform(-10, 10, 3000), 2))  # Jester: -10 to 10 in steps of 0.01
    counts = rng.integers(1, 5, len(values))
    spread = data_plots.rating_histogram(values, counts)
    (bars,) = spread.data
    assert len(bars.x) == data_plots.RATING_BINS and int(np.sum(bars.y)) == int(counts.sum())
    assert -10 < min(bars.x) < max(bars.x) < 10  # a numeric axis, not one category per value
    assert f"{len(values):,} distinct values" in spread.layout.title.text
