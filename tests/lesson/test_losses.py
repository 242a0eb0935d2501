"""The written-out losses in collab.lesson.losses agree with torch.nn.functional, stay finite, and check their input."""

from __future__ import annotations

import math

import numpy as np
import plotly.io
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from collab.lesson import losses
from collab.plots import losses as loss_plots

TOL = {"rtol": 1e-6, "atol": 1e-6}

LOGIT_TABLES = [
    pytest.param([[0.0, 0.0]], [1], id="two-equal"),
    pytest.param([[4.0, 1.0, -1.0, -2.0]], [2], id="confident-wrong"),
    pytest.param([[1000.0, 10.0, -5.0]], [1], id="huge-positive"),
    pytest.param([[-1000.0, -990.0, -1200.0]], [0], id="huge-negative"),
    pytest.param([[1e6, -1e6], [3.0, 3.0], [0.1, -0.2]], [1, 0, 1], id="batch-mixed-scales"),
    pytest.param([[0.5, -0.5, 2.0, 1.0, 0.0, 3.0, -3.0, 0.25, 7.0, -7.0]], [9], id="ten-classes"),
]

# hypothesis: (batch, n_classes) float64 logits, small and huge magnitudes, and targets that fit them
finite_logits = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)


@st.composite
def logits_and_targets(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor]:
    batch = draw(st.integers(1, 5))
    n_classes = draw(st.integers(2, 10))
    scale = draw(st.sampled_from([1.0, 10.0, 1000.0]))
    values = draw(st.lists(finite_logits, min_size=batch * n_classes, max_size=batch * n_classes))
    logits = torch.tensor(values, dtype=torch.float64).reshape(batch, n_classes).clamp(-1e4, 1e4)
    logits = logits / 1e4 * scale * draw(st.floats(0.1, 10.0))  # spread over the chosen magnitude
    targets = torch.tensor(draw(st.lists(st.integers(0, n_classes - 1), min_size=batch, max_size=batch)))
    return logits, targets


@pytest.mark.parametrize(("rows", "targets"), LOGIT_TABLES)
def test_formulas_match_torch(rows: list[list[float]], targets: list[int]) -> None:
    logits = torch.tensor(rows, dtype=torch.float64)
    target_t = torch.tensor(targets)
    torch.testing.assert_close(losses.softmax(logits), F.softmax(logits, dim=-1), **TOL)
    torch.testing.assert_close(losses.log_softmax(logits), F.log_softmax(logits, dim=-1), **TOL)
    torch.testing.assert_close(losses.logsumexp(logits), torch.logsumexp(logits, dim=-1), **TOL)
    torch.testing.assert_close(
        losses.cross_entropy(logits, target_t), F.cross_entropy(logits, target_t), **TOL
    )


@settings(max_examples=60, deadline=None)
@given(logits_and_targets())
def test_cross_entropy_and_gradient_match_torch_on_generated_logits(
    pair: tuple[torch.Tensor, torch.Tensor],
) -> None:
    logits, targets = pair
    torch.testing.assert_close(losses.log_softmax(logits), F.log_softmax(logits, dim=-1), **TOL)
    torch.testing.assert_close(losses.softmax(logits), F.softmax(logits, dim=-1), **TOL)
    leaf = logits.clone().requires_grad_(True)
    reference = F.cross_entropy(leaf, targets)
    reference.backward()
    ours = losses.cross_entropy(logits, targets)
    assert torch.isfinite(ours)
    torch.testing.assert_close(ours, reference.detach(), **TOL)
    torch.testing.assert_close(losses.cross_entropy_grad(logits, targets), leaf.grad, **TOL)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=10),
    st.data(),
)
def test_sigmoid_and_bce_match_torch(values: list[float], data: st.DataObject) -> None:
    logits = torch.tensor(values, dtype=torch.float64)
    targets = torch.tensor(
        data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=len(values), max_size=len(values))),
        dtype=torch.float64,
    )
    torch.testing.assert_close(losses.sigmoid(logits), torch.sigmoid(logits), **TOL)
    torch.testing.assert_close(
        losses.binary_cross_entropy_with_logits(logits, targets),
        F.binary_cross_entropy_with_logits(logits, targets),
        **TOL,
    )
    probs = torch.sigmoid(logits)
    torch.testing.assert_close(
        losses.binary_cross_entropy(probs, targets), F.binary_cross_entropy(probs, targets), **TOL
    )


def test_single_example_gradient_is_softmax_minus_one_hot() -> None:
    logits = torch.tensor([4.0, 1.0, -1.0, -2.0], requires_grad=True)
    F.cross_entropy(logits.unsqueeze(0), torch.tensor([2])).backward()
    grad = losses.cross_entropy_grad(logits.detach(), torch.tensor(2))
    torch.testing.assert_close(grad, logits.grad)
    assert grad.sum().abs() < 1e-6  # softmax and one-hot both sum to 1


def test_fastbook_example_mean_loss() -> None:
    acts, targets = losses.fastbook_activations()
    torch.manual_seed(42)
    book_acts = torch.randn((6, 2)) * 2  # the book's exact expression, on the global RNG
    torch.testing.assert_close(acts, book_acts)
    batch = losses.batch_breakdown(acts, targets, losses.FASTBOOK_CLASSES)
    assert batch.loss == pytest.approx(1.8045, abs=5e-5)
    assert batch.agrees
    assert batch.probs.sum(axis=1) == pytest.approx(np.ones(6), abs=1e-6)
    assert batch.losses.mean() == pytest.approx(batch.loss, abs=1e-6)
    assert tuple(batch.targets) == losses.FASTBOOK_TARGETS


def test_fastbook_row_preset_feeds_the_breakdown() -> None:
    acts, targets = losses.fastbook_activations()
    preset = losses.fastbook_row(3)
    breakdown = losses.softmax_breakdown(preset.logits, preset.target, preset.labels)
    expected = F.cross_entropy(acts[3:4], targets[3:4])
    assert breakdown.loss == pytest.approx(float(expected), rel=1e-5)
    with pytest.raises(losses.LossInputError, match="rows 0..5"):
        losses.fastbook_row(6)


@pytest.mark.parametrize("key", [k for k in losses.PRESETS if k != "fastbook"])
def test_presets_break_down_consistently(key: str) -> None:
    preset = losses.PRESETS[key]
    b = losses.softmax_breakdown(preset.logits, preset.target, preset.labels)
    assert b.agrees, (b.loss, b.torch_loss)
    assert b.probs.sum() == pytest.approx(1.0, abs=1e-6)
    assert b.actuals.tolist() == [1.0 if i == preset.target else 0.0 for i in range(b.n_classes)]
    assert b.loss == pytest.approx(-b.terms.sum(), abs=1e-6)
    assert b.loss == pytest.approx(-b.log_probs[preset.target], abs=1e-6)
    np.testing.assert_allclose(b.grad, b.probs - b.actuals, atol=1e-6)
    assert math.isfinite(b.loss) and np.isfinite(b.log_probs).all()


def test_confident_wrong_gets_the_biggest_push_and_loss() -> None:
    right = losses.softmax_breakdown(losses.PRESETS["confident_right"].logits, 0)
    wrong = losses.softmax_breakdown(losses.PRESETS["confident_wrong"].logits, 2)
    assert wrong.loss > 50 * right.loss
    assert np.abs(wrong.grad).max() > 0.9 > np.abs(right.grad).max()
    assert wrong.grad[2] < -0.9  # the right class is pushed up hard
    assert wrong.grad[0] > 0.9  # the confidently wrong class is pushed down hard


def test_huge_logits_break_the_naive_path_only() -> None:
    preset = losses.PRESETS["huge"]
    b = losses.softmax_breakdown(preset.logits, preset.target, preset.labels)
    assert b.naive_breaks
    assert np.isinf(b.exps[0])
    assert math.isnan(b.naive_loss)
    assert np.isfinite(b.log_probs).all() and b.agrees
    assert b.loss == pytest.approx(20.0, abs=1e-3)
    assert b.overflow_limit == pytest.approx(88.72, abs=0.01)
    small = losses.softmax_breakdown([4.0, 1.0], 0)
    assert not small.naive_breaks and small.naive_loss == pytest.approx(small.loss, rel=1e-6)


def test_temperature_scales_logits_and_flattens_the_distribution() -> None:
    logits = [4.0, 1.0, -1.0, -2.0]
    cold = losses.softmax_breakdown(logits, 0, temperature=0.5)
    warm = losses.softmax_breakdown(logits, 0, temperature=4.0)
    np.testing.assert_allclose(warm.scaled_logits, np.array(logits) / 4.0)
    assert cold.probs.max() > warm.probs.max()
    assert cold.loss < warm.loss  # right answer: sharper is better
    curve = losses.temperature_curve(logits, 0, low=0.1, high=5.0, n=50)
    assert curve.temperatures[0] == pytest.approx(0.1) and curve.temperatures[-1] == pytest.approx(5.0)
    assert (
        np.all(np.diff(curve.losses) >= 0) and curve.losses[-1] > curve.losses[0]
    )  # right answer: grows with T
    assert curve.losses[-1] < math.log(4)  # and tends to log(n_classes) from below


def test_binary_breakdown_fills_in_the_formula() -> None:
    b = losses.binary_breakdown(1, prob=0.8)
    assert b.loss == pytest.approx(-math.log(0.8))
    assert b.negative_term == 0.0 and math.copysign(1, b.negative_term) == 1  # no "-0.0"
    assert b.agrees
    c = losses.binary_breakdown(0, logit=3.0)
    assert c.prob == pytest.approx(1 / (1 + math.exp(-3)))
    assert c.loss == pytest.approx(-math.log(1 - c.prob))
    assert c.agrees
    curves = losses.bce_curves(99)
    assert curves.loss_if_one[0] > 5 and curves.loss_if_zero[-1] > 5
    assert np.all(np.diff(curves.loss_if_one) < 0) and np.all(np.diff(curves.loss_if_zero) > 0)


def test_multilabel_breakdown_thresholds_and_contrasts_with_softmax() -> None:
    m = losses.multilabel_breakdown([2.0, -1.0, 0.5], [1, 0, 0], ["a", "b", "c"], threshold=0.5)
    assert m.agrees
    assert m.predictions.tolist() == [1, 0, 1]
    assert m.accuracy == pytest.approx(2 / 3)
    assert m.softmax_probs.sum() == pytest.approx(1.0, abs=1e-6)
    assert m.probs.sum() != pytest.approx(1.0, abs=1e-3)
    strict = losses.multilabel_breakdown([2.0, -1.0, 0.5], [1, 0, 0], threshold=0.7)
    assert strict.predictions.tolist() == [1, 0, 0] and strict.accuracy == 1.0
    np.testing.assert_allclose(m.losses.mean(), m.loss, atol=1e-6)


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        pytest.param([], "the table is empty", id="empty"),
        pytest.param([3.0], "only 1 class", id="one-class"),
        pytest.param([1.0, None], "row 2 has no logit", id="blank"),
        pytest.param([1.0, float("nan")], "row 2 has no logit \\(empty or not a number\\)", id="nan"),
        pytest.param(["2", "abc"], "row 2: the logit 'abc' is not a number", id="text"),
        pytest.param([1.0, float("inf")], "infinite", id="inf"),
        pytest.param([1.0, True], "must be a number", id="bool"),
        pytest.param([0.0] * 11, "at most 10", id="too-many"),
    ],
)
def test_bad_cells_are_rejected_with_a_message(cells: list[object], message: str) -> None:
    with pytest.raises(losses.LossInputError, match=message):
        losses.check_logits(cells)


def test_good_cells_become_floats_and_names_get_filled() -> None:
    assert losses.check_logits(["2.5", 1, -3.0]) == [2.5, 1.0, -3.0]
    assert losses.class_names(["cat", None, " ", float("nan")]) == ("cat", "class 2", "class 3", "class 4")
    with pytest.raises(losses.LossInputError, match="both named 'cat'"):
        losses.class_names(["cat", "dog", "cat"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"logits": [1.0, 2.0], "target": 2}, "target 2 is not one of", id="target"),
        pytest.param({"logits": [1.0, 2.0], "target": 0, "temperature": 0.0}, "positive", id="temperature"),
        pytest.param(
            {"logits": [1.0, 2.0], "target": 0, "labels": ["a"]}, "1 class names for 2", id="labels"
        ),
    ],
)
def test_softmax_breakdown_checks_its_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(losses.LossInputError, match=message):
        losses.softmax_breakdown(**kwargs)


def test_binary_and_multilabel_check_their_arguments() -> None:
    with pytest.raises(losses.LossInputError, match="strictly between 0 and 1"):
        losses.binary_breakdown(1, prob=1.0)
    with pytest.raises(losses.LossInputError, match="0 or 1"):
        losses.binary_breakdown(2, prob=0.5)
    with pytest.raises(losses.LossInputError, match="either a probability or a logit"):
        losses.binary_breakdown(1, prob=0.5, logit=0.0)
    with pytest.raises(losses.LossInputError, match="needs a target of 0 or 1"):
        losses.multilabel_breakdown([1.0, 2.0], [1, 2])
    with pytest.raises(losses.LossInputError, match="threshold"):
        losses.multilabel_breakdown([1.0], [1], threshold=1.0)


def test_figures_carry_the_numbers() -> None:
    huge = losses.PRESETS["huge"]
    b = losses.softmax_breakdown(huge.logits, huge.target, huge.labels)
    panels = loss_plots.softmax_step_figures(b)
    assert len(panels) == 5
    assert [[trace.type for trace in fig.data] for fig in panels] == [["bar", "scatter"]] + [["bar"]] * 4
    # horizontal bars, one row per class: the value is x (so labels never overlap)
    assert math.isnan(panels[0].data[0].x[0])  # exp(120) has no bar...
    assert (
        list(panels[0].data[1].text) == ["<b>inf</b>"] * 3
    )  # ...but the overflow is spelled out in its place
    assert list(panels[1].data[0].x) == pytest.approx(b.probs.tolist())
    assert list(panels[3].data[0].x) == [0.0, 1.0, 0.0, 0.0]  # the one-hot actuals
    assert all(label != "-0" for fig in panels for label in fig.data[0].text)
    assert len(loss_plots.softmax_step_figures(losses.softmax_breakdown([1.0, 2.0], 0))) == 5
    grad = loss_plots.gradient_figure(b)
    assert list(grad.data[0].y) == pytest.approx(b.grad.tolist())
    assert grad.data[0].marker.color[1] == loss_plots.ORANGE  # the target
    curve = losses.temperature_curve([4.0, 1.0], 0)
    bars, line = loss_plots.temperature_figures(
        ("a", "b"),
        0,
        losses.softmax(torch.tensor([4.0, 1.0])).numpy(),
        np.array([0.6, 0.4]),
        2.0,
        0.51,
        curve,
    )
    assert len(bars.data) == 2 and bars.data[0].name != bars.data[1].name
    assert len(line.data) == 2 and line.data[1].x[0] == 2.0
    assert line.data[1].y[0] == 0.51  # the exact loss, not a point read off the curve
    acts, targets = losses.fastbook_activations()
    batch = loss_plots.batch_loss_figure(losses.batch_breakdown(acts, targets))
    assert len(batch.data[0].y) == 6
    point = losses.binary_breakdown(1, prob=0.3)
    bce = loss_plots.bce_figure(losses.bce_curves(), point)
    assert bce.data[2].y[0] == pytest.approx(point.loss)
    far = losses.binary_breakdown(1, logit=-8.0)  # loss about 8: the dot must stay on the axis
    assert loss_plots.bce_figure(losses.bce_curves(), far).layout.yaxis.range[1] > far.loss
    m = losses.multilabel_breakdown([2.0, -1.0], [1, 0], ["x", "y"])
    multi = loss_plots.multilabel_figure(m)
    assert [trace.name.split()[0] for trace in multi.data] == ["sigmoid", "softmax"]
    white = plotly.io.templates["plotly_white"]
    for fig in [*panels, grad, bars, line, batch, bce, multi]:  # the light theme, set without re-validating
        assert fig.layout.template == white
