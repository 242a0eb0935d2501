"""App benchmark: cold start to first render, MovieLens 100K load and train, cached re-train, server peak RSS.

    python -m benchmarks.app [--data ../shared/data/ml-100k] [--json out.json]

Serves a zip built from the local MovieLens 100K folder on 127.0.0.1 (the app's real download
path, no internet), starts `streamlit run` on a free port, and drives it with headless Chromium.
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import json
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ml-100k"


def _zip_ml100k(folder: Path, dest: Path) -> None:
    """The zip, and beside it its MD5 in GroupLens' format (the download checks both)."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"ml-100k/{path.name}")
    digest = hashlib.md5(dest.read_bytes(), usedforsecurity=False).hexdigest()
    dest.with_name(dest.name + ".md5").write_text(f"MD5 ({dest.name}) = {digest}\n")  # as GroupLens publishes


def _serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(directory), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def _peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of the server process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=str(DEFAULT_DATA), help="a MovieLens 100K folder (u.data, u.item, ...)"
    )
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()

    from playwright.sync_api import expect, sync_playwright

    sys.path.insert(0, str(ROOT))
    from tests.browser.helpers import wait_idle
    from tests.browser.server import CHROMIUM_ARGS, start_app, stop_app

    def settled(page) -> None:
        """The run that showed the awaited text has ended and its charts are drawn. (No fixed pause, as
        `wait_idle` has before it looks: the text proves the run started, so "no status widget" now
        means it ended.)"""
        expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0)
        expect(page.locator('[data-testid="stSkeleton"]')).to_have_count(0)
        expect(page.locator('[data-testid="stPlotlyChart"]').first).to_be_visible()

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "www").mkdir()
        _zip_ml100k(Path(args.data), tmp_path / "www" / "ml-100k.zip")
        file_server, base_url = _serve(tmp_path / "www")
        env = {"COLLAB_DATA_DIR": str(tmp_path / "cache"), "COLLAB_MOVIELENS_URL": base_url}
        numbers: dict[str, float] = {}
        with sync_playwright() as playwright:
            # the browser is up before the server starts: "first page" times the app, not Chromium
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(300_000)
            started = time.perf_counter()
            server, url = start_app(env, tmp_path / "streamlit.log")
            try:
                numbers["server up (s)"] = time.perf_counter() - started
                clock = time.perf_counter()
                page.goto(url)
                page.wait_for_selector('[data-testid="stMainBlockContainer"] h1')
                expect(page.get_by_text("Built-in demo set").first).to_be_visible()
                numbers["first page after server up (s)"] = time.perf_counter() - clock
                numbers["server start to first page (s)"] = time.perf_counter() - started

                page.goto(f"{url}/data")
                page.wait_for_selector('[data-testid="stMainBlockContainer"] h1')
                wait_idle(page)
                page.get_by_text("MovieLens", exact=True).click()
                wait_idle(page)
                clock = time.perf_counter()
                page.get_by_role("button", name="Load MovieLens").click()
                expect(page.get_by_text("Loaded MovieLens 100k").first).to_be_visible()
                wait_idle(page)
                numbers["MovieLens 100K download + parse + Data page (s)"] = time.perf_counter() - clock

                page.get_by_role("link", name="Train").first.click()
                page.wait_for_selector('button:has-text("Train")')
                wait_idle(page)
                clock = time.perf_counter()
                page.get_by_role("button", name="Train", exact=True).click()
                trained = page.get_by_text("Trained in").first
                expect(trained).to_be_visible()
                numbers["  click to 'Trained in' shown (s)"] = time.perf_counter() - clock
                settled(page)
                numbers["train default preset on ML-100K, click to chart (s)"] = time.perf_counter() - clock
                # the training's own seconds, as the page reports them ("Trained in 0.31 s on CPU.")
                numbers["  training itself, as the page reports it (s)"] = float(
                    trained.inner_text().split()[2]
                )
                clock = time.perf_counter()
                page.get_by_role("button", name="Train", exact=True).click()
                expect(page.get_by_text("Loaded from cache").first).to_be_visible()
                settled(page)
                numbers["cached re-train, click to chart (s)"] = time.perf_counter() - clock
                numbers["server peak RSS (MB)"] = _peak_rss_mb(server.pid)
            finally:
                stop_app(server)
                file_server.shutdown()
                browser.close()

    width = max(map(len, numbers))
    print(f"{'measure':<{width}}  value")
    for name, value in numbers.items():
        print(f"{name:<{width}}  {value:8.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
