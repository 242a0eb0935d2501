"""Load benchmark: N simulated students on one server, each training a different config.

    python -m benchmarks.load [--sessions 1 10 30] [--navigators 2] [--epochs N] [--json out.json]

Starts `streamlit run` on 127.0.0.1 and opens N sessions that speak Streamlit's own websocket
protocol (protobuf BackMsg / ForwardMsg, as the browser does): each opens the Train page, sets
its own number of latent factors and clicks Train at the same moment. Click to result is the time
from the click to the "Trained in" / "Loaded from cache" message. Meanwhile `--navigators`
sessions only move between pages; a navigation is the time from the request to the end of that
page's run (`--epochs` lengthens every training, so that the line stays long while they move).
The server's CPU seconds during the round are counted (steadier than wall time when
other work shares the machine). The server's resident memory is sampled every 0.1 s: idle (after start, warm-up and one visit to each page),
peak during each round, and settled (once every session of the round has closed and the cache
janitor has run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", category=DeprecationWarning, module="benchmarks.load")

ROOT = Path(__file__).resolve().parents[1]
RESULT_TEXT = ("Trained in", "Loaded from cache")
NAV_PAGES = ("home", "data", "embeddings", "loss", "train")
SETTLE_S = 12.0  # the cache janitor looks every 5 s


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds the server has used (less noisy than wall time on a shared machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Sampler(threading.Thread):
    """Samples the server's resident memory; `peak` since the last `reset`."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stopped = pid, 0.0, False

    def run(self) -> None:
        while not self.stopped:
            self.peak = max(self.peak, _rss_mb(self.pid))
            time.sleep(0.1)

    def reset(self) -> None:
        self.peak = _rss_mb(self.pid)


class Session:
    """One browser tab, as Streamlit's websocket protocol sees it."""

    def __init__(self, port: int) -> None:
        from websockets.sync.client import connect

        self.ws = connect(
            f"ws://127.0.0.1:{port}/_stcore/stream",
            subprotocols=["streamlit"],
            max_size=None,
            open_timeout=60,
        )
        self.widget_ids: dict[str, str] = {}  # user key -> widget id
        self.session_id = ""  # the server's id for this tab (upload URLs name it)
        self.texts: list[str] = []  # alert bodies of the last run (results, refusals)

    def rerun(
        self, page: str, states: list | None = None, until: tuple[str, ...] = ()
    ) -> tuple[float, float]:
        """Run `page` with `states`; (seconds until a delta holding one of `until`, seconds until finished)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = BackMsg()
        message.rerun_script.page_name = page
        message.rerun_script.query_string = ""
        for state in states or []:
            message.rerun_script.widget_states.widgets.append(state)
        started = time.perf_counter()
        seen = float("nan") if until else 0.0
        self.ws.send(message.SerializeToString())
        while True:
            reply = ForwardMsg()
            reply.ParseFromString(self.ws.recv(timeout=600))
            kind = reply.WhichOneof("type")
            if kind == "new_session":
                self.session_id = reply.new_session.initialize.session_id
                self.texts = []
            elif kind == "delta":
                self._note(reply)
                if until and seen != seen and self._holds(reply, until):  # nan: not seen yet
                    seen = time.perf_counter() - started
            elif kind == "script_finished" and reply.script_finished in (0, 1):
                # 0: finished, 1: finished with a compile error; 2 (stopped for a rerun) is not the end
                return seen, time.perf_counter() - started

    def _note(self, reply) -> None:
        element = reply.delta.new_element
        kind = element.WhichOneof("type")
        if kind is None:
            return
        if kind == "alert":
            self.texts.append(element.alert.body)
        widget = getattr(element, kind)
        widget_id = getattr(widget, "id", "")
        if isinstance(widget_id, str) and widget_id.startswith("$$ID-"):
            self.widget_ids[widget_id.rsplit("-", 1)[-1]] = widget_id

    @staticmethod
    def _holds(reply, texts: tuple[str, ...]) -> bool:
        element = reply.delta.new_element
        if element.WhichOneof("type") != "alert":
            return False
        return any(text in element.alert.body for text in texts)

    def close(self) -> None:
        self.ws.close()


def _click_train(session: Session, n_factors: int, epochs: int | None = None) -> float:
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    factors = WidgetState(id=session.widget_ids["train_n_factors"])
    factors.double_array_value.data.append(float(n_factors))
    states = [factors]
    if epochs is not None:  # the slider moved by hand: "auto epochs" goes off, as in the browser
        slider = WidgetState(id=session.widget_ids["train_epochs"])
        slider.double_array_value.data.append(float(epochs))
        states += [slider, WidgetState(id=session.widget_ids["train_epochs_auto"], bool_value=False)]
    button = WidgetState(id=session.widget_ids["train_button"], trigger_value=True)
    seen, _ = session.rerun("train", [*states, button], until=RESULT_TEXT)
    return seen


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else float("nan")


def one_round(
    port: int, n: int, first_factors: int, navigators: int, sampler: Sampler, pid: int, epochs: int | None
) -> dict:
    sessions = [Session(port) for _ in range(n)]
    for session in sessions:  # open the Train page: learn the widget ids
        session.rerun("train")
    sampler.reset()
    cpu_before = _cpu_s(pid)
    results: list[float] = [float("nan")] * n
    barrier = threading.Barrier(n)

    def student(index: int) -> None:
        barrier.wait()
        results[index] = _click_train(sessions[index], first_factors + index, epochs)

    threads = [threading.Thread(target=student, args=(i,)) for i in range(n)]
    navigations: list[float] = []
    stop = threading.Event()

    def navigator() -> None:
        tab = Session(port)
        try:
            for page in NAV_PAGES * 1000:
                if stop.is_set():
                    break
                _, seconds = tab.rerun(page)
                navigations.append(seconds)
                time.sleep(0.3)
        finally:
            tab.close()

    walkers = [threading.Thread(target=navigator) for _ in range(navigators)]
    for thread in walkers + threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    for thread in walkers:
        thread.join()
    peak = sampler.peak
    cpu = _cpu_s(pid) - cpu_before
    for session in sessions:
        session.close()
    time.sleep(SETTLE_S)
    clicks = [value for value in results if value == value]
    return {
        "sessions": n,
        "done": len(clicks),
        "click to result p50 (s)": statistics.median(clicks) if clicks else float("nan"),
        "click to result p95 (s)": _percentile(clicks, 0.95),
        "navigation p95 (s)": _percentile(navigations, 0.95),
        "navigations": len(navigations),
        "server CPU (s)": cpu,
        "peak RSS (MB)": peak,
        "settled RSS (MB)": _rss_mb(pid),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 30])
    parser.add_argument("--navigators", type=int, default=2, help="sessions that only move between pages")
    parser.add_argument(
        "--epochs", type=int, help="every training's epochs (default: the page's auto epochs)"
    )
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()

    import sys
    import tempfile

    sys.path.insert(0, str(ROOT))
    from tests.browser.server import start_app, stop_app

    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_app({"COLLAB_DATA_DIR": tmp}, Path(tmp) / "streamlit.log")
        port = int(url.rsplit(":", 1)[1])
        rows = []
        try:
            first = Session(port)
            for page in NAV_PAGES:  # every page served once: what a server that has been used holds
                first.rerun(page)
            time.sleep(SETTLE_S)  # and the warm-up thread has imported torch and loaded the kernels
            alone = {page: statistics.median(first.rerun(page)[1] for _ in range(3)) for page in NAV_PAGES}
            print("navigation, one session on an idle server (median s):", json.dumps(alone), flush=True)
            first.close()
            time.sleep(SETTLE_S)
            idle = _rss_mb(server.pid)
            sampler = Sampler(server.pid)
            sampler.start()
            offset = 2
            for n in args.sessions:
                rows.append(
                    {
                        **one_round(port, n, offset, args.navigators, sampler, server.pid, args.epochs),
                        "idle RSS (MB)": idle,
                    }
                )
                offset += n  # every session of every round trains a config not trained before
                print(json.dumps(rows[-1]), flush=True)
        finally:
            stop_app(server)

    columns = list(rows[0])
    print(" | ".join(columns))
    print(" | ".join("---" for _ in columns))
    for row in rows:
        print(" | ".join(f"{row[c]:.2f}" if isinstance(row[c], float) else str(row[c]) for c in columns))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
