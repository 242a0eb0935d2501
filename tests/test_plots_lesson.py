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


def test_category_map_sizes_by_count_and_keeps_every_name() -> None:
    fig = plots.category_map_figure(
        np.array([[0, 0], [1, 1.0]]), ["a very long category name", "b"], np.array([10, 40]), "x"
    )
    assert fig.data[0].marker.size[1] > fig.data[0].marker.size[0]
    assert list(fig.data[0].text) == ["a very long c…", "b"]
