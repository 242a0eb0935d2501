"""The lesson's spreadsheet: real gradient steps, checked by hand, monotone for a small lr, better with biases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from collab.data.demo import demo_ratings
from collab.lesson.spreadsheet import Spreadsheet, masked_mse, sgd_step

NAN = np.nan


@pytest.fixture(scope="module")
def crosstab() -> np.ndarray:
    return demo_ratings(seed=0).crosstab(15, 15).to_numpy(dtype=float)


def test_first_step_on_a_2x2_sheet_matches_the_hand_computation() -> None:
    # one factor each; the empty cell (user 0, item 1) must not count
    table = np.array([[5.0, NAN], [3.0, 1.0]])
    u, v = np.array([[1.0], [0.5]]), np.array([[2.0], [1.0]])
    sheet = Spreadsheet.from_factors(table, u, v)
    # predictions u_i * v_j: [[2, 2], [1, 0.5]]; errors on filled cells: 2-5 = -3, 1-3 = -2, 0.5-1 = -0.5
    assert sheet.loss() == pytest.approx((9 + 4 + 0.25) / 3)
    # dL/du0 = 2/3 * (-3 * 2) = -4; dL/du1 = 2/3 * (-2 * 2 + -0.5 * 1) = -3
    # dL/dv0 = 2/3 * (-3 * 1 + -2 * 0.5) = -8/3; dL/dv1 = 2/3 * (-0.5 * 0.5) = -1/6
    lr = 0.1
    sgd_step(sheet, lr)
    np.testing.assert_allclose(sheet.user_factors.detach().numpy(), [[1.0 + 0.4], [0.5 + 0.3]], rtol=1e-6)
    np.testing.assert_allclose(
        sheet.item_factors.detach().numpy(), [[2.0 + 0.8 / 3], [1.0 + 0.1 / 6]], rtol=1e-6
    )
    assert sheet.steps == 1 and len(sheet.history) == 2
    for param in sheet.parameters():
        assert param.grad is not None and not param.grad.any()  # zeroed for the next step


def test_weight_decay_adds_its_gradient() -> None:
    table = np.array([[5.0, NAN], [3.0, 1.0]])
    u, v = np.array([[1.0], [0.5]]), np.array([[2.0], [1.0]])
    sheet = Spreadsheet.from_factors(table, u, v, weight_decay=0.5)
    sgd_step(sheet, 0.1)
    # the penalty 0.5 * sum(p^2) adds 0.5 * 2p = p to each gradient
    np.testing.assert_allclose(sheet.user_factors.detach().numpy(), [[1.4 - 0.1], [0.8 - 0.05]], rtol=1e-6)


def test_small_learning_rate_decreases_the_loss_every_step(crosstab: np.ndarray) -> None:
    sheet = Spreadsheet(crosstab, n_factors=5, seed=3)
    sheet.run(200, lr=0.05)
    history = np.array(sheet.history)
    assert (np.diff(history) < 0).all()
    assert history[-1] < 0.5 * history[0]


def test_same_seed_same_start_and_steps(crosstab: np.ndarray) -> None:
    a, b = Spreadsheet(crosstab, 4, seed=7), Spreadsheet(crosstab, 4, seed=7)
    a.run(5, 0.3)
    b.run(5, 0.3)
    assert a.history == b.history
    assert Spreadsheet(crosstab, 4, seed=8).history[0] != a.history[0]


def test_biases_reach_a_lower_loss(crosstab: np.ndarray) -> None:
    plain = Spreadsheet(crosstab, n_factors=2, seed=0)
    plain.run_to_convergence(lr=0.3, max_steps=3000)
    biased = Spreadsheet(crosstab, n_factors=2, seed=0, biases=True)
    biased.run_to_convergence(lr=0.3, max_steps=3000)
    assert biased.history[-1] < plain.history[-1] - 0.01


def test_masked_mse_ignores_empty_cells() -> None:
    ratings = torch.tensor([[4.0, 0.0]])
    mask = torch.tensor([[True, False]])
    assert float(masked_mse(torch.tensor([[3.0, 100.0]]), ratings, mask)) == 1.0


def test_convergence_reports_progress_and_stops(crosstab: np.ndarray) -> None:
    sheet = Spreadsheet(crosstab, 5, seed=0)
    seen: list[int] = []
    taken = sheet.run_to_convergence(
        lr=1.0, max_steps=5000, every=100, on_progress=lambda s: seen.append(s.steps)
    )
    assert taken < 5000 and seen[-1] == taken == sheet.steps
    assert seen[:2] == [100, 200]


def test_diverging_run_stops_and_bad_input_is_refused(crosstab: np.ndarray) -> None:
    sheet = Spreadsheet(crosstab, 5, seed=0)
    assert sheet.run_to_convergence(lr=50.0, max_steps=1000) < 1000
    assert not np.isfinite(sheet.history[-1])
    with pytest.raises(ValueError, match="lr must be a positive"):
        sgd_step(Spreadsheet(crosstab, 2), 0.0)
    with pytest.raises(ValueError, match="n_factors"):
        Spreadsheet(crosstab, 0)
    with pytest.raises(ValueError, match="no filled cells"):
        Spreadsheet(np.full((2, 2), NAN))


def test_restarted_is_the_same_random_start_with_the_same_settings(crosstab: np.ndarray) -> None:
    sheet = Spreadsheet(crosstab, n_factors=4, seed=3, weight_decay=0.01)
    start = sheet.snapshot()
    sheet.run(20, lr=0.3)
    sheet.biases = True
    fresh = sheet.restarted()
    assert fresh.steps == 0 and fresh.history == [pytest.approx(start.loss)]
    np.testing.assert_array_equal(fresh.user_factors.detach().numpy(), start.user_factors)
    np.testing.assert_array_equal(fresh.item_factors.detach().numpy(), start.item_factors)
    assert fresh.biases and fresh.weight_decay == 0.01 and not fresh.user_bias.detach().any()
    torch.testing.assert_close(fresh.mask, sheet.mask)
