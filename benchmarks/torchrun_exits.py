"""N consecutive 2-process `torchrun -m collab train` runs on a small CSV: how many exit non-zero.

Proves `collab.training.distributed.shutdown` + `finish` (no gloo teardown after every process confirmed
its work). CPU heavy: run it by hand, not in the test suite.

    python benchmarks/torchrun_exits.py [N=50]
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_cli import frame  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(n: int = 50) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    failures = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "r.csv"
        frame().to_csv(data, index=False)
        for run in range(1, n + 1):
            command = [
                sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
                "--master-addr", "127.0.0.1", "--master-port", str(free_port()),
                "-m", "collab", "train", str(data), "--epochs", "2", "--factors", "8", "--bs", "64",
                "--quiet", "--out", str(Path(folder) / "m.safetensors"),
            ]  # fmt: skip
            done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                failures.append((run, done.returncode, done.stderr[-600:]))
            print(f"run {run}: exit {done.returncode}", flush=True)
    print(f"{n} runs of 2 processes, {len(failures)} non-zero exits, {time.perf_counter() - started:.0f} s")
    for run, code, tail in failures:
        print(f"--- run {run} exit {code}\n{tail}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
