"""Data-parallel training: 2 gloo processes on 127.0.0.1 make the same updates as 1 process with the
same global batch, on every path the trainer can pick; a folder of parts is read once over the ranks;
a failing rank ends the job with its message.

The 2-process runs are real: `torchrun` (torch.distributed.run) starts this file as a script
(`_worker` below), once for all the training configurations, and the tests compare what rank 0
saved with single-process training in the test process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]

# name -> TrainConfig fields; each distributed run uses batch_size B on 2 processes, the reference
# one process with batch_size B and accum_steps 2: the same global batch of 2B ratings per step
CONFIGS: dict[str, dict] = {
    # dot model, small tables: fused AdamW over DotProductBias.accumulate_gradients' hand-written grads
    "dot-dense": {"model": "dot", "sparse": "dense"},
    # dot model, row-wise: the packed row-wise AdamW, rows all-gathered (the reference: compiled kernels)
    "dot-rows": {"model": "dot", "sparse": "sparse"},
    # the same with a whole-table all-reduce instead of the touched rows
    "dot-rows-dense-comm": {"model": "dot", "sparse": "sparse", "comm": "dense"},
    # one moment per row
    "dot-rowwise-state": {"model": "dot", "sparse": "sparse", "row_state": "rowwise"},
    # autograd paths: the MLP with dense AdamW, and with sparse tables (RowAdamW over sparse grads)
    "nn-dense": {"model": "nn", "sparse": "dense", "dropout": 0.0},
    "nn-rows": {"model": "nn", "sparse": "sparse", "dropout": 0.0},
    "bias": {"model": "bias"},
    "classifier": {"model": "classifier"},
}
# the implicit models (every rating taken as an interaction), PyTorch path with Adam: the negatives of a
# step are drawn for the whole step, so 2 processes see the same ones as 1 process
IMPLICIT_CONFIGS: dict[str, dict] = {"bpr": {"model": "bpr", "negatives": 2}, "bce": {"model": "bce"}}
BASE = {"n_factors": 8, "epochs": 2, "batch_size": 32, "lr": 0.02, "weight_decay": 0.1, "seed": 3}


def ratings():
    from collab.data.ratings import Ratings

    rng = np.random.default_rng(7)
    n_users, n_items, n = 60, 40, 900
    users, items = rng.integers(0, n_users, n), rng.integers(0, n_items, n)
    stars = np.clip(np.round(3 + rng.normal(0, 1.2, n)), 1, 5)
    return Ratings(
        user_ids=users,
        item_ids=items,
        ratings=stars.astype(np.float32),
        user_labels=np.array([f"u{i}" for i in range(n_users)]),
        item_labels=np.array([f"i{i}" for i in range(n_items)]),
    )


def config_for(name: str, **changes):
    from collab.training.config import TrainConfig

    own = CONFIGS[name] if name in CONFIGS else IMPLICIT_CONFIGS[name]
    fields = {**BASE, **{k: v for k, v in own.items() if k != "comm"}, **changes}
    return TrainConfig(**fields)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(args: list[str], nproc: int = 2, timeout: float = 240) -> subprocess.CompletedProcess:
    """`torchrun` with N local processes on 127.0.0.1 (static rendezvous, a free port), run once: gloo's
    teardown no longer aborts a finished process (`distributed.shutdown` + `finish`), so no re-run."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "1",
        "--nproc-per-node",
        str(nproc),
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(free_port()),
        *args,
    ]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _worker(out: str) -> None:
    """Rank r of a torchrun job: train every configuration data-parallel; rank 0 saves the weights."""
    from collab.training import distributed

    world = distributed.init("gloo", "cpu")
    split = ratings().split(0.2, seed=0)
    for name, fields in CONFIGS.items():
        config = config_for(name)
        result = distributed.train_parallel(
            world, split.train, split.valid, config, comm=fields.get("comm", "auto")
        )
        if world.is_main:
            torch.save(
                {
                    "state": result.model.state_dict(),
                    "train_loss": [h.train_loss for h in result.history],
                    "valid_loss": [h.valid_loss for h in result.history],
                    "rmse": result.metrics["rmse"],
                    "optimizer": result.optimizer,
                },
                Path(out) / f"{name}.pt",
            )
    for name in IMPLICIT_CONFIGS:
        result = distributed.train_parallel(world, split.train, split.valid, config_for(name))
        if world.is_main:
            torch.save(
                {
                    "state": result.model.state_dict(),
                    "train_loss": [h.train_loss for h in result.history],
                    "metrics": result.metrics,
                    "optimizer": result.optimizer,
                },
                Path(out) / f"{name}.pt",
            )
    distributed.shutdown()
    distributed.finish(0)


@pytest.fixture(scope="module")
def two_process_runs(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = torchrun([__file__, str(out)])
    assert done.returncode == 0, done.stderr[-4000:]
    return out


@pytest.mark.parametrize("name", list(CONFIGS))
def test_two_processes_equal_one_process_with_the_same_global_batch(two_process_runs, name):
    from collab.models.registry import build_model
    from collab.training.device import use_sparse
    from collab.training.loop import data_y_range, train

    saved = torch.load(two_process_runs / f"{name}.pt", weights_only=False)
    split = ratings().split(0.2, seed=0)
    config = config_for(name)
    one = train(split.train, split.valid, replace(config, accum_steps=2))  # the same 64-rating steps
    assert "2 processes (gloo" in saved["optimizer"]
    for key, value in one.model.state_dict().items():
        torch.testing.assert_close(saved["state"][key], value, rtol=1e-4, atol=2e-5, msg=f"{name}: {key}")
    np.testing.assert_allclose(saved["train_loss"], [h.train_loss for h in one.history], rtol=1e-4)
    np.testing.assert_allclose(saved["valid_loss"], [h.valid_loss for h in one.history], rtol=1e-4)
    assert saved["rmse"] == pytest.approx(one.metrics["rmse"], rel=1e-4)
    if config.sparse == "sparse":  # row-wise: the same rows moved away from their initial values
        n_users, n_items = split.train.n_users, split.train.n_items
        assert use_sparse(config, n_users, n_items, world_size=2)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            start = build_model(config, n_users, n_items, data_y_range(split.train.ratings), None, True)
        for key, value in start.state_dict().items():
            if "factors" in key:
                moved_one = (one.model.state_dict()[key] != value).any(1)
                moved_two = (saved["state"][key] != value).any(1)
                assert torch.equal(moved_one, moved_two), key
                assert 0 < int(moved_two.sum()) <= len(value)


@pytest.mark.parametrize("name", list(IMPLICIT_CONFIGS))
def test_two_processes_train_the_implicit_losses_as_one_process_with_the_same_global_batch(
    two_process_runs, name, monkeypatch
):
    """BPR and BCE with sampled negatives: 2 gloo processes of batch B equal 1 process of batch B with
    2 accumulation steps (the PyTorch path: the compiled SGD kernels have no place to sync)."""
    from collab.training.loop import train

    monkeypatch.setenv("COLLAB_KERNELS", "0")
    saved = torch.load(two_process_runs / f"{name}.pt", weights_only=False)
    split = ratings().split(0.2, seed=0)
    one = train(split.train, split.valid, replace(config_for(name), accum_steps=2))
    assert one.optimizer == "Adam" and saved["optimizer"] == "Adam, 2 processes (gloo)"
    for key, value in one.model.state_dict().items():
        torch.testing.assert_close(saved["state"][key], value, rtol=1e-4, atol=2e-5, msg=f"{name}: {key}")
    np.testing.assert_allclose(saved["train_loss"], [h.train_loss for h in one.history], rtol=1e-4)
    assert saved["metrics"]["ndcg@10"] == pytest.approx(one.metrics["ndcg@10"], rel=1e-4)
    half = split.train.subset(np.arange(0, split.train.n_ratings, 2))  # a rank's share, no sync
    alone = train(half, split.valid, config_for(name))
    assert not torch.allclose(
        saved["state"]["user_factors.weight"], alone.model.user_factors.weight, atol=1e-4
    )


@pytest.mark.parametrize("name", ["dot-dense", "dot-rows"])
def test_the_compiled_kernels_path_is_matched_by_the_distributed_fallback(
    two_process_runs, name, monkeypatch
):
    """One process with the compiled kernels (what "auto" picks on long runs and big tables) against
    2 processes, which train through the PyTorch path with gradient sync instead."""
    from collab import kernels
    from collab.training.loop import train

    if not kernels.available():
        pytest.skip("numba is not installed")
    monkeypatch.setenv("COLLAB_KERNELS", "1")
    saved = torch.load(two_process_runs / f"{name}.pt", weights_only=False)
    split = ratings().split(0.2, seed=0)
    one = train(split.train, split.valid, replace(config_for(name), accum_steps=2))
    assert "compiled" in one.optimizer and "compiled" not in saved["optimizer"]
    for key, value in one.model.state_dict().items():
        torch.testing.assert_close(saved["state"][key], value, rtol=1e-4, atol=2e-5, msg=f"{name}: {key}")


def test_without_gradient_sync_the_processes_would_differ(two_process_runs):
    """The trap the sync closes: each rank's share alone gives a different model (so the test above
    can fail)."""
    from collab.training.loop import train

    saved = torch.load(two_process_runs / "dot-dense.pt", weights_only=False)
    split = ratings().split(0.2, seed=0)
    half = split.train.subset(np.arange(0, split.train.n_ratings, 2))
    alone = train(half, split.valid, config_for("dot-dense"))
    assert not torch.allclose(
        saved["state"]["user_factors.weight"], alone.model.user_factors.weight, atol=1e-4
    )


def test_epoch_plan_splits_every_step_between_the_ranks():
    """Replicated data: rank r takes slice r of each step of one shared shuffle; the last step too."""
    from collab.training.distributed import GradSync

    plans = []
    for rank in (0, 1):
        sync = GradSync.__new__(GradSync)
        sync.rank, sync.world_size, sync.sharded = rank, 2, False
        order, bounds, divisors = sync.epoch_plan(23, torch.Generator().manual_seed(0), 4)
        plans.append((order, bounds, divisors))
    full = torch.randperm(23, generator=torch.Generator().manual_seed(0))
    assert sorted(torch.cat([plans[0][0], plans[1][0]]).tolist()) == list(range(23))
    np.testing.assert_array_equal(plans[0][2], [8, 8, 7])
    for step, start in enumerate(range(0, 23, 8)):
        together = torch.cat([p[0][p[1][step] : p[1][step + 1]] for p in plans])
        assert together.tolist() == full[start : start + 8].tolist()


def test_sharded_plan_agrees_on_steps_and_divisors():
    from collab.training.distributed import GradSync

    sync = GradSync.__new__(GradSync)
    sync.rank, sync.world_size, sync.sharded = 1, 2, True
    sync.counts = np.array([10, 3])
    order, bounds, divisors = sync.epoch_plan(3, torch.Generator().manual_seed(0), 4)
    assert sync.steps_per_epoch(8) == 3
    np.testing.assert_array_equal(bounds, [0, 3, 3, 3])  # rank 1 runs out after one step, still steps
    np.testing.assert_array_equal(divisors, [7, 4, 2])


if __name__ == "__main__":
    _worker(sys.argv[1])


@pytest.mark.parametrize("method", ["random", "by_time", "by_user"])
def test_split_of_a_share_follows_the_split_rules(method):
    """One process's share (here the only one): the rules of Ratings.split, valid rows known to train."""
    from collab.training.distributed import World, split_shard

    data = ratings()
    stamped = replace(data, timestamps=np.arange(data.n_ratings)[::-1].copy(), fingerprint="")
    split = split_shard(World(), stamped, 0.2, seed=5, method=method)
    assert split.train.n_ratings + split.valid.n_ratings + split.n_dropped == data.n_ratings
    assert (
        abs(split.valid.n_ratings + split.n_dropped - 0.2 * data.n_ratings) <= 1 + (method == "by_user") * 60
    )
    assert set(split.valid.user_ids) <= set(split.train.user_ids)
    assert set(split.valid.item_ids) <= set(split.train.item_ids)
    if method == "by_time":
        assert split.valid.timestamps.min() > split.train.timestamps.max()


def test_vocabulary_of_parts_is_the_union_in_one_reads_order():
    from collab.data.ratings import Ratings
    from collab.training.distributed import combine, reindex, union_labels

    def part(users, items):
        return Ratings.from_frame(
            pd.DataFrame({"user": users, "item": items, "rating": [1.0, 2.0, 3.0][: len(users)]})
        )

    a, b = part(["10", "9", "9"], ["x", "y", "x"]), part(["100", "2"], ["z", "x"])
    users = union_labels([a.user_labels, b.user_labels])
    assert users.tolist() == ["2", "9", "10", "100"]  # numeric order, as one read of both gives
    merged = combine([a, b])
    whole = part(["10", "9", "9"], ["x", "y", "x"])
    assert merged.user_labels[merged.user_ids].tolist() == ["10", "9", "9", "100", "2"]
    assert merged.item_labels[merged.item_ids].tolist() == ["x", "y", "x", "z", "x"]
    moved = reindex(whole, users, merged.item_labels)
    assert moved.user_labels[moved.user_ids].tolist() == ["10", "9", "9"]
