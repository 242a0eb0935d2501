"""Data-parallel training on the 4.5M-rating synthetic set: where the time goes with 1 and 2 processes.

python -m benchmarks.distributed [--steps 120] [--size 4.5M] [--json out.json]

Rows: one process on the compiled kernels (what a single process really runs), one process on the
PyTorch path (what every process of a distributed run runs), and two gloo processes on 127.0.0.1
combining the row-wise gradients as touched rows (all-gather) or as the whole table (all-reduce).
Every row has the same global batch (4096 ratings per step: 2048 per process on two), the dot
model with 50 factors and the packed row-wise AdamW, like benchmarks/scale.py. Each run times a
fixed number of steps after a warm-up (not a whole epoch, to keep the run short) and reports
s/epoch as s/step x steps per epoch. "MB/step" is what one process hands to collectives per step
(all-reduce traffic on a ring is about 2 (N-1)/N times that per process, all-gather (N-1) times);
"comm s/step" the time a process spends inside them (waiting for the slower one included), "bare
collective s" the same collective timed alone after training (both processes released together by a
barrier: the transport without the wait), "compute s/step" the rest of a step.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

from benchmarks.common import machine, print_table, write_json  # noqa: E402
from benchmarks.scale import SIZES, peak_rss_mib, synthetic  # noqa: E402

GLOBAL_BATCH = 4096
WARMUP_REPORTS = 1  # progress reports (every steps/50) before the clock starts


def worker(args: argparse.Namespace) -> None:
    """One process of a run: train until `--steps` timed steps are done, write this rank's numbers."""
    import torch

    from collab.training import distributed
    from collab.training.config import TrainConfig

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.kernels == "0":
        os.environ["COLLAB_KERNELS"] = "0"
    world = distributed.init("gloo", "cpu")
    n_ratings, n_users, n_items = SIZES[args.size]
    data = synthetic(n_ratings, n_users, n_items)
    per_process = GLOBAL_BATCH // world.world_size
    config = TrainConfig(
        n_factors=50,
        batch_size=per_process,
        accum_steps=1,
        epochs=1,
        lr=0.01,
        weight_decay=0.1,
        sparse="sparse",
        device="cpu",
    )
    marks: list[tuple[float, int]] = []
    stop = threading.Event()

    def on_batch(step: int, total: int) -> None:
        marks.append((time.perf_counter(), step))
        if step - marks[0][1] >= args.steps and len(marks) > WARMUP_REPORTS:
            stop.set()

    report: dict = {}
    result = distributed.train_parallel(
        world, data, None, config, comm=args.comm, on_batch=on_batch, stop_event=stop, report=report
    )
    (t0, s0), (t1, s1) = marks[WARMUP_REPORTS - 1], marks[-1]
    steps_per_epoch = -(-n_ratings // GLOBAL_BATCH)
    seconds_per_step = (t1 - t0) / max(s1 - s0, 1)
    synced = max(report.get("steps", 0), 1)
    row = {
        "rank": world.rank,
        "processes": world.world_size,
        "comm": args.comm if world.world_size > 1 else "-",
        "optimizer": result.optimizer,
        "s/step": seconds_per_step,
        "s/epoch": seconds_per_step * steps_per_epoch,
        "MB/step": report.get("bytes_sent", 0) / synced / 1e6,
        "comm s/step": report.get("comm_seconds", 0.0) / synced,
        "peak RSS MiB": round(peak_rss_mib()),
        "timed steps": s1 - s0,
    }
    row["compute s/step"] = row["s/step"] - row["comm s/step"]
    row["bare collective s"] = bare_collective(world, row["MB/step"]) if world.world_size > 1 else 0.0
    Path(args.out).with_suffix(f".rank{world.rank}.json").write_text(json.dumps(row))
    distributed.shutdown()
    distributed.finish(0)


def bare_collective(world, megabytes: float, repeats: int = 20) -> float:
    """Seconds of the step's collective alone (same bytes, both processes waiting at a barrier first):
    the transport's cost without the wait for the slower process."""
    import torch
    import torch.distributed as dist

    buffer = torch.zeros(max(1, int(megabytes * 1e6 / 4)), dtype=torch.float32)
    out = [torch.empty_like(buffer) for _ in range(world.world_size)]
    times = []
    for _ in range(repeats):
        dist.barrier()
        start = time.perf_counter()
        if megabytes > 10:  # the whole table: an all-reduce
            dist.all_reduce(buffer)
        else:
            dist.all_gather(out, buffer)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(args: argparse.Namespace, processes: int, comm: str, kernels: str, folder: Path) -> list[dict]:
    out = folder / f"{processes}-{comm}-{kernels}.json"
    common = ["-m", "benchmarks.distributed", "--worker", "--size", args.size, "--steps", str(args.steps)]
    common += ["--comm", comm, "--kernels", kernels, "--out", str(out), "--threads", str(args.threads)]
    if processes == 1:
        command = [sys.executable, *common]
    else:
        launcher = ["-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", str(processes)]
        launcher += ["--master-addr", "127.0.0.1", "--master-port", str(args.port or free_port())]
        command = [sys.executable, *launcher, *common]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads or 1)}
    subprocess.run(command, check=True, env=env)
    return [json.loads(out.with_suffix(f".rank{r}.json").read_text()) for r in range(processes)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="4.5M", choices=list(SIZES))
    parser.add_argument("--steps", type=int, default=120, help="timed optimizer steps per run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--port", type=int, default=0, help="rendezvous port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--json", default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--comm", default="rows", help=argparse.SUPPRESS)
    parser.add_argument("--kernels", default="auto", help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for processes, comm, kernels in [
            (1, "-", "auto"),
            (1, "-", "0"),
            (2, "rows", "auto"),
            (2, "dense", "auto"),
        ]:
            ranks = run(args, processes, comm, kernels, Path(folder))
            slowest = max(ranks, key=lambda r: r["s/step"])
            row = {**slowest, "peak RSS MiB": "/".join(str(r["peak RSS MiB"]) for r in ranks)}
            rows.append(row)
            print(f"  {processes} process(es), {comm}: {row['s/epoch']:.2f} s/epoch", flush=True)
    n_ratings, n_users, n_items = SIZES[args.size]
    print(
        f"# distributed: {args.size} ratings ({n_users // 1000}k users x {n_items // 1000}k items), dot model, "
        f"50 factors, global batch {GLOBAL_BATCH}, {args.steps} timed steps, {args.threads} thread(s) "
        f"per process; {machine()}"
    )
    columns = [
        "processes",
        "comm",
        "optimizer",
        "s/epoch",
        "s/step",
        "compute s/step",
        "comm s/step",
        "bare collective s",
        "MB/step",
        "peak RSS MiB",
    ]
    print_table(rows, columns)
    write_json(args.json, {"machine": machine(), "rows": rows})


if __name__ == "__main__":
    main()
