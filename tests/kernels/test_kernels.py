"""The compiled (numba) training kernels give the PyTorch paths' numbers, faster."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from collab import kernels
from collab.models.embedding import DotProductBias
from collab.training.loop import train
from collab.training.optim import PackedRowAdamW, parameter_groups
from tests.training.test_loop import TRAIN, VALID, params, planted_ratings, small

USERS = np.array([0, 1, 2, 3, 0, 5, 1, 1, 4, 2, 3, 5, 0], dtype=np.int64)
ITEMS = np.array([0, 4, 4, 1, 2, 3, 0, 4, 1, 1, 2, 0, 3], dtype=np.int64)
RATINGS = np.array([1, 5, 3, 4, 2, 5, 3, 1, 4, 4, 2, 5, 3], dtype=np.float32)
BOUNDS = np.array([0, 5, 10, 13])  # three steps, the last one partial
LRS, BETA1S = np.array([0.05, 0.1, 0.02]), np.array([0.95, 0.9, 0.85])


@pytest.fixture(autouse=True)
def always_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    """These runs are short; "auto" would leave them on the PyTorch path."""
    monkeypatch.setenv("COLLAB_KERNELS", "1")


def twin_models(l2: float, sparse: bool = False) -> tuple[DotProductBias, DotProductBias]:
    torch.manual_seed(0)
    reference, compiled = (DotProductBias(6, 5, 3, (0.0, 5.5), sparse=sparse, l2=l2) for _ in range(2))
    with torch.no_grad():
        for param in reference.parameters():
            param.normal_(0, 0.5)
    compiled.load_state_dict(reference.state_dict())
    return reference, compiled


@pytest.mark.parametrize("decay_biases", [False, True])
@pytest.mark.parametrize("l2", [0.0, 0.2])
def test_dense_kernel_matches_torch_adamw(l2: float, decay_biases: bool) -> None:
    reference, compiled = twin_models(l2)
    groups = [g for g in parameter_groups(reference, 0.3, decay_biases) if g["params"]]
    adamw = torch.optim.AdamW(groups, lr=0.1, betas=(0.9, 0.99), eps=1e-5, fused=True)
    trainer = kernels.KernelTrainer(compiled, 0.3, decay_biases, dense=True, max_group=5)
    expected = []
    users, items, ratings = (torch.from_numpy(a) for a in (USERS, ITEMS, RATINGS))
    for step, (start, stop) in enumerate(zip(BOUNDS[:-1], BOUNDS[1:], strict=True)):
        for group in adamw.param_groups:
            group["lr"], group["betas"] = LRS[step], (BETA1S[step], 0.99)
        rows = slice(start, stop)
        expected.append(reference.accumulate_gradients(users[rows], items[rows], ratings[rows], stop - start))
        adamw.step()
        adamw.zero_grad()
    losses = trainer.train_steps(USERS, ITEMS, RATINGS, BOUNDS, LRS, BETA1S)
    torch.testing.assert_close(torch.from_numpy(losses).float(), torch.stack(expected))
    trainer.release()
    torch.testing.assert_close(compiled.state_dict(), reference.state_dict())
    assert compiled.user_factors.weight.is_contiguous()


@pytest.mark.parametrize("state", ["adamw", "rowwise"])
@pytest.mark.parametrize("l2", [0.0, 0.2])
def test_row_kernel_matches_packed_row_adamw(l2: float, state: str) -> None:
    reference, compiled = twin_models(l2, sparse=True)
    packed = PackedRowAdamW(reference, 0.3, False, lr=0.1, betas=(0.9, 0.99), eps=1e-5, state=state)
    trainer = kernels.KernelTrainer(
        compiled, 0.3, False, dense=False, max_group=5, one_moment=state == "rowwise"
    )
    expected = []
    users, items, ratings = (torch.from_numpy(a) for a in (USERS, ITEMS, RATINGS))
    for step, (start, stop) in enumerate(zip(BOUNDS[:-1], BOUNDS[1:], strict=True)):
        packed.param_groups[0]["lr"], packed.param_groups[0]["betas"] = LRS[step], (BETA1S[step], 0.99)
        rows = slice(start, stop)
        expected.append(packed.train_group(users[rows], items[rows], ratings[rows], batch_size=2))
    losses = trainer.train_steps(USERS, ITEMS, RATINGS, BOUNDS, LRS, BETA1S)
    torch.testing.assert_close(torch.from_numpy(losses).float(), torch.stack(expected))
    packed.release()
    trainer.release()
    torch.testing.assert_close(compiled.state_dict(), reference.state_dict())


@pytest.mark.parametrize("sparse", ["dense", "sparse"])
def test_train_gives_the_torch_paths_numbers(sparse: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = small(sparse=sparse, batch_size=16, epochs=3, l2=0.01)
    compiled = train(TRAIN, VALID, config)
    monkeypatch.setenv("COLLAB_KERNELS", "0")
    reference = train(TRAIN, VALID, config)
    assert compiled.optimizer.endswith("(compiled)") and not reference.optimizer.endswith("(compiled)")
    torch.testing.assert_close(params(compiled.model), params(reference.model), rtol=1e-4, atol=1e-5)
    for got, want in zip(compiled.history, reference.history, strict=True):
        assert got.train_loss == pytest.approx(want.train_loss, rel=1e-4)
        assert got.valid_rmse == pytest.approx(want.valid_rmse, rel=1e-4)


def test_compiled_path_is_deterministic_and_exact_under_accumulation() -> None:
    first, second = train(TRAIN, VALID, small(batch_size=32)), train(TRAIN, VALID, small(batch_size=32))
    torch.testing.assert_close(params(first.model), params(second.model), rtol=0, atol=0)
    accumulated = train(TRAIN, VALID, small(batch_size=8, accum_steps=4))  # 340 = 10 x 32 + 20
    torch.testing.assert_close(params(accumulated.model), params(first.model), rtol=1e-5, atol=1e-6)


def test_big_tables_take_the_row_wise_kernel_and_learn() -> None:
    data = planted_ratings(n_users=30_000, n_items=40, n_ratings=6_000, seed=1)
    result = train(data, None, small(batch_size=64, epochs=2, lr=0.05))
    assert result.sparse and result.optimizer == "row-wise AdamW (compiled)"
    assert result.history[-1].train_loss < result.history[0].train_loss


def test_stop_event_is_seen_between_runs_of_steps() -> None:
    event = threading.Event()
    steps: list[int] = []

    def on_batch(step: int, total: int) -> None:
        steps.append(step)
        event.set()

    result = train(TRAIN, VALID, small(batch_size=8, epochs=2), on_batch=on_batch, stop_event=event)
    assert result.stopped_early and result.history == () and steps == [1]


def test_auto_compiles_long_runs_and_big_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    assert kernels.available()  # numba is a requirement: the fast path is what users get
    monkeypatch.setenv("COLLAB_KERNELS", "auto")
    assert not kernels.wanted(kernels.MIN_MICRO_BATCHES - 1, sparse=False)
    assert kernels.wanted(kernels.MIN_MICRO_BATCHES, sparse=False) and kernels.wanted(1, sparse=True)
    assert train(TRAIN, None, small(batch_size=8, epochs=1)).optimizer == "fused AdamW"  # 43 micro-batches
    assert train(TRAIN, None, small(batch_size=8, epochs=24)).optimizer == "AdamW (compiled)"  # 1032
    accumulated = small(batch_size=8, accum_steps=4, epochs=24)  # 264 steps, but 1032 micro-batches
    assert train(TRAIN, None, accumulated).optimizer == "AdamW (compiled)"
    monkeypatch.setenv("COLLAB_KERNELS", "0")
    assert not kernels.available() and not kernels.wanted(10**6, sparse=True)


def test_a_read_only_install_caches_compiled_code_in_the_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", "")  # recorded, so the value the code sets is undone afterwards
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    monkeypatch.setattr(kernels.os, "access", lambda path, mode: False)
    compiled = kernels._compiled.__wrapped__()
    assert set(compiled) >= {"dense_steps", "row_steps"}
    assert kernels.os.environ["NUMBA_CACHE_DIR"].endswith("numba")
    assert "collab-lab" in kernels.os.environ["NUMBA_CACHE_DIR"]


def test_the_kernels_cache_is_filed_by_content_not_by_checkout(tmp_path) -> None:
    """A fresh clone (another folder, same files) finds the kernels another checkout compiled."""
    if not kernels.usable():
        pytest.skip("numba is not usable here")
    locator_class = kernels._content_cache_locator()

    def probe() -> None:
        return None

    first, second, changed = tmp_path / "a" / "k.py", tmp_path / "b" / "k.py", tmp_path / "c" / "k.py"
    for path, text in ((first, "x = 1\n"), (second, "x = 1\n"), (changed, "x = 2\n")):
        path.parent.mkdir()
        path.write_text(text)
    paths = [locator_class(probe, str(p)).get_cache_path() for p in (first, second, changed)]
    assert paths[0] == paths[1] != paths[2]
    assert locator_class.from_function(probe, str(first)) is None  # only this package's kernels
    gibbs = kernels.implicit_kernel("bayes_fm_gibbs")
    assert type(gibbs._cache._impl._locator).__name__ == "ContentCacheLocator"
