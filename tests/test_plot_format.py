"""Number formatting for figures and tables (issue 14: no -0.0000 loss, no -0.000 R²)."""

from __future__ import annotations

import json
import math

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from collab.plots.format import fixed, general, white


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
