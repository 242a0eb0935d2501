"""Start and stop a real `streamlit run streamlit_app.py` on a free port (shared by the browser tests and
benchmarks/app.py); no Playwright import, so it loads where the browser is missing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(env: dict[str, str], log_path: Path, timeout_s: float = 60) -> tuple[subprocess.Popen, str]:
    """Start the app with `env` added to this environment; return the process and its URL once healthy."""
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return server, url
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            stop_app(server)
            raise RuntimeError(f"streamlit did not start; log:\n{log_path.read_text()}")
        time.sleep(0.1)


def stop_app(server: subprocess.Popen) -> None:
    """Terminate the server, killing it if it does not stop within 10 s."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
