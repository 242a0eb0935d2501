"""I-AutoRec: the maths against a dense reference, learning, clipping, save/load, size limits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from collab.models.autorec import MAX_CELLS, AutoRec, check_size
from collab.training.config import PRESETS, TrainConfig
from collab.training.device import to_tensors
from collab.training.loop import train
from collab.training.memory import estimate_memory
from collab.training.result import load
from tests.training.test_loop import TRAIN, VALID, params


def tiny(**fields: object) -> TrainConfig:
    return TrainConfig(**{"model": "autorec", "n_factors": 16, "epochs": 3, "weight_decay": 0.01, **fields})


def fitted_model() -> AutoRec:
    torch.manual_seed(0)
    model = AutoRec(TRAIN.n_users, TRAIN.n_items, 6, (0.0, 5.5))
    model.set_ratings(*to_tensors(TRAIN, torch.device("cpu")))
    return model


def test_codes_predictions_and_objective_match_a_dense_reference() -> None:
    model = fitted_model()
    sums, counts = torch.zeros(TRAIN.n_items, TRAIN.n_users), torch.zeros(TRAIN.n_items, TRAIN.n_users)
    cells = (torch.tensor(TRAIN.item_ids), torch.tensor(TRAIN.user_ids))
    sums.index_put_(cells, torch.tensor(TRAIN.ratings), accumulate=True)
    counts.index_put_(cells, torch.ones(TRAIN.n_ratings), accumulate=True)
    assert counts.max() > 1  # the planted set repeats some pairs: they enter with their mean
    dense = sums / counts.clamp(min=1)  # items x users, blanks = 0
    codes = torch.sigmoid(dense @ model.encoder.weight.T + model.encoder.bias)  # (n_items, hidden)
    output = codes @ model.decoder.weight.T + model.decoder.bias  # (n_items, n_users)
    model.eval()
    torch.testing.assert_close(model.item_codes(), codes)
    users, items = torch.tensor(VALID.user_ids), torch.tensor(VALID.item_ids)
    low, high = float(TRAIN.ratings.min()), float(TRAIN.ratings.max())
    torch.testing.assert_close(model(users, items), output[items, users].clamp(low, high))
    observed = output[torch.tensor(TRAIN.item_ids), torch.tensor(TRAIN.user_ids)]
    mse = (observed - torch.tensor(TRAIN.ratings)).pow(2).mean()
    penalty = model.encoder.weight.pow(2).sum() + model.decoder.weight.pow(2).sum()
    loss, squared = model.objective(0.3)
    torch.testing.assert_close(loss, 0.5 * mse + 0.15 * penalty)
    torch.testing.assert_close(squared, mse * TRAIN.n_ratings)


def test_compiled_rated_cells_give_the_dense_objective_and_gradients(monkeypatch: pytest.MonkeyPatch) -> None:
    model = fitted_model()
    grads = {}
    for setting in ("1", "0"):  # the numba kernel at the rated cells, then the dense product
        monkeypatch.setenv("COLLAB_KERNELS", setting)
        model.zero_grad()
        loss, squared = model.objective(0.05)
        loss.backward()
        grads[setting] = (loss.detach(), squared, *(p.grad.clone() for p in model.parameters()))
    for compiled, dense in zip(grads["1"], grads["0"], strict=True):
        torch.testing.assert_close(compiled, dense)


def test_learns_and_reports_rounds_as_epochs() -> None:
    result = train(TRAIN, VALID, tiny(epochs=4))
    assert result.optimizer == "L-BFGS, full batch" and len(result.history) == 4
    assert result.history[-1].train_loss < result.history[0].train_loss
    assert result.metrics["rmse"] < result.metrics["global_mean_rmse"]
    predicted = result.predict_ids(VALID.user_ids, VALID.item_ids)
    assert predicted.min() >= TRAIN.ratings.min() and predicted.max() <= TRAIN.ratings.max()
    assert result.user_factors().shape == (TRAIN.n_users, 16)
    assert result.item_factors().shape == (TRAIN.n_items, 16)
    assert result.user_bias().shape == (TRAIN.n_users,) and result.item_bias() is None


def test_same_seed_same_numbers() -> None:
    first, second = train(TRAIN, VALID, tiny()), train(TRAIN, VALID, tiny())
    torch.testing.assert_close(params(first.model), params(second.model), rtol=0, atol=0)


def test_save_and_load_give_identical_predictions(tmp_path) -> None:
    result = train(TRAIN, VALID, tiny(epochs=2))
    loaded = load(result.save(tmp_path / "autorec.safetensors"))
    np.testing.assert_array_equal(
        loaded.predict_ids(VALID.user_ids, VALID.item_ids), result.predict_ids(VALID.user_ids, VALID.item_ids)
    )
    assert loaded.optimizer == "L-BFGS, full batch"


def test_stop_early_keeps_the_best_round() -> None:
    result = train(TRAIN, VALID, tiny(epochs=5), on_epoch=lambda stats: stats.epoch < 2)
    assert result.stopped_early and len(result.history) == 2


def test_tables_too_big_for_a_dense_output_are_refused_with_the_reason() -> None:
    check_size(1000, 1000)
    with pytest.raises(ValueError, match="dense items x users matrix.*dot-product model"):
        check_size(MAX_CELLS // 1000 + 1, 1000)
    with pytest.raises(ValueError, match="AutoRec"):
        estimate_memory(PRESETS["autorec"], 200_000, 50_000)


def test_memory_estimate_counts_the_full_batch() -> None:
    small, large = (estimate_memory(tiny(n_factors=h), 943, 1682, 80_000) for h in (50, 500))
    assert large.parameter_bytes > 9 * small.parameter_bytes
    assert large.optimizer_bytes == 20 * large.parameter_bytes  # L-BFGS: 10 pairs of parameter-sized vectors
    assert small.activation_bytes >= 2 * 1682 * 50 * 4  # every item's code and its gradient
