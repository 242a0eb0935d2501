"""The Lesson's figures are values: traces and labels checked without a browser."""

from __future__ import annotations

import numpy as np

from collab.plots import lesson as plots


def test_close_points_get_labels_on_different_sides() -> None:
    points = np.array([[-0.8, 0.1], [-0.65, 0.1], [1.0, -1.0]])
    positions = plots.label_positions(points)
    assert positions[0] != positions[1]
    assert positions[2] == "top center"  # a point on its own keeps the default


def test_predictions_heatmap_brackets_blank_cells_and_loss_title_counts_steps() -> None:
    table = np.array([[5.0, np.nan], [3.0, 1.0]])
    fig = plots.predictions_heatmap(np.array([[4.5, 2.25], [3.0, 1.5]]), table, ["u1", "u2"], ["a", "b"])
    assert fig.data[0].text.tolist() == [["4.5", "(2.2)"], ["3.0", "1.5"]]
    assert plots.sheet_loss_figure([4.0, 2.0, 1.0]).layout.title.text == "Loss: 1.0000 after 2 steps"


def test_sheet_loss_at_the_start_is_one_drawn_point_and_log_axis_on_request() -> None:
    start = plots.sheet_loss_figure([7.6])
    assert start.data[0].mode == "lines+markers"  # a lone point on "lines" draws nothing
    assert start.layout.title.text == "Loss: 7.6000 at the random start (no step yet)"
    log = plots.sheet_loss_figure([7.6, 0.16], log_y=True).layout.yaxis
    assert log.type == "log"
    # every tick written out: plotly's own log ticks label 20 and 50 as "2" and "5"
    assert list(log.ticktext) == ["0.1", "0.2", "0.5", "1", "2", "5", "10"]
    assert plots.sheet_loss_figure([4.0, 2.0]).layout.yaxis.type is None  # linear, from zero


def test_category_map_sizes_by_count_and_keeps_every_name() -> None:
    fig = plots.category_map_figure(
        np.array([[0, 0], [1, 1.0]]), ["a very long category name", "b"], np.array([10, 40]), "x"
    )
    assert fig.data[0].marker.size[1] > fig.data[0].marker.size[0]
    assert list(fig.data[0].text) == ["a very long c…", "b"]


# MovieLens 100K's 21 occupations as one 8-epoch run of the Lesson's step 10 placed them (2-D vectors, ratings)
OCCUPATIONS = {
    "administrator": (0.109, 0.947, 7479), "artist": (-0.946, -0.142, 2308), "doctor": (0.006, 0.225, 540),
    "educator": (-0.345, 0.37, 9442), "engineer": (-0.49, 0.325, 8175), "entertainment": (-1.074, 0.016, 2095),
    "executive": (0.537, 0.622, 3403), "healthcare": (-0.173, -0.577, 2804), "homemaker": (0.551, 0.639, 299),
    "lawyer": (-0.28, 0.24, 1345), "librarian": (-0.818, -0.331, 5273), "marketing": (-0.219, 0.652, 1950),
    "none": (0.609, 0.484, 901), "other": (0.132, 0.39, 10663), "programmer": (-0.291, 0.284, 7801),
    "retired": (-0.163, 0.018, 1609), "salesman": (-0.18, 0.994, 856), "scientist": (-0.671, -0.061, 2058),
    "student": (-0.393, 0.292, 21957), "technician": (-0.357, 0.406, 3506), "writer": (-0.68, -0.096, 5536),
}  # fmt: skip


def test_crowded_category_labels_do_not_overlap() -> None:
    # QA saw "salesman" on "administrator" and "lawyer" on "doctor": labels were placed by point distance,
    # blind to their length; now their pixel boxes are kept apart, and a label with no free place is left
    # to the hover text
    names = list(OCCUPATIONS)
    table = np.array(list(OCCUPATIONS.values()))
    fig = plots.category_map_figure(table[:, :2], names, table[:, 2], "occupation")
    trace = fig.data[0]
    shown = [i for i, text in enumerate(trace.text) if text]
    assert len(shown) >= len(names) - 2 and {"salesman", "administrator", "lawyer", "doctor"} <= set(
        trace.text
    )
    assert [row[0] for row in trace.customdata] == names  # every name is still in the hover text
    ranges = np.array([fig.layout.xaxis.range, fig.layout.yaxis.range])
    boxes = plots.label_boxes(
        table[:, :2], names, np.array(trace.marker.size), list(trace.textposition), ranges
    )
    for i in shown:
        for j in shown:
            a, b = boxes[i], boxes[j]
            apart = i == j or a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
            assert apart, (names[i], trace.textposition[i], names[j], trace.textposition[j])
    assert len(set(trace.textposition)) > 2  # crowded points use more than top/bottom
