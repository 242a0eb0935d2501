"""Adversarial load: what bystanders feel while a few students push the server, and its peak memory.

    python -m benchmarks.adversarial [--bystanders 30] [--json out.json]
    python -m benchmarks.adversarial --upload-peak 1 3     # the largest upload, loaded and trained, k at once

Starts `streamlit run` on 127.0.0.1 and opens websocket sessions as `benchmarks.load` does. The mix
(`--bystanders B`, or `--sessions N` for B = N - 4): one student clicks Train twenty times in 1.7 s, each
time with other settings (factors 2-21); one uploads the largest file the budget accepts (short
`user,item,rating` lines, the worst case per byte, with `--ids` distinct users and items: 50k x 14k), loads
it and trains the default model; two upload the same ratings with different items files (titles) and
train; B bystanders click Train on the demo set (each its own number of factors) half a second after the
others started. The table: bystanders' click-to-result p50/p95, how many finished, the spammer's and the
uploader's outcomes, whether each twin's page showed its own titles, and the server's peak resident memory.

`--upload-peak K ...`: for each K, K students upload the largest file at the same moment, load it and
train the default model on it; the server's peak resident memory (sampled every 0.1 s) for each K.
Uploads are PUT to Streamlit's upload endpoint as the browser does (XSRF protection off for the client).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import threading
import time
import uuid
import warnings
from pathlib import Path

from benchmarks.load import (
    RESULT_TEXT,
    ROOT,
    SETTLE_S,
    Sampler,
    Session,
    _click_train,
    _percentile,
    _rss_mb,
)

warnings.filterwarnings("ignore", category=DeprecationWarning, module="benchmarks.adversarial")

REFUSED_TEXT = ("not started", "does not fit", "Train is off")
UPLOAD_SOURCE = "Upload a file"  # the Data page's Source radio, as its label (a radio's value in 1.67)


class Tab(Session):
    """A session that also keeps the raw deltas of its last run, to look for text in tables too."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.raw: list[bytes] = []

    def rerun(
        self, page: str, states: list | None = None, until: tuple[str, ...] = ()
    ) -> tuple[float, float]:
        self.raw = []
        return super().rerun(page, states, until)

    def _note(self, reply) -> None:  # noqa: ANN001 - a ForwardMsg
        self.raw.append(reply.SerializeToString())
        super()._note(reply)

    def shown(self, text: str) -> bool:
        """Whether the last run drew `text` anywhere (markdown, alerts, a table's cells)."""
        return any(text.encode() in raw for raw in self.raw)


IDS = (50_000, 14_000)  # users, items of the largest file: about the most whose default training fits


def largest_file(n_bytes: int, seed: int = 0, ids: tuple[int, int] = IDS) -> bytes:
    """Short lines of `user,item,rating` (the most memory per file byte), just under `n_bytes`, with about
    `ids` distinct users and items (more ids cost more tables: past about these the Train page refuses the
    default model on a 7 MB file and offers fewer factors)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = n_bytes // 14 + 1000
    users = rng.integers(100_000, 100_000 + ids[0], n)  # 6 digits
    items = rng.integers(10_000, 10_000 + ids[1], n)  # 5 digits
    ratings = rng.integers(1, 6, n)
    text = "".join(
        f"{u},{i},{r}\n" for u, i, r in zip(users.tolist(), items.tolist(), ratings.tolist(), strict=True)
    )
    body = ("user,item,rating\n" + text).encode()
    return body[: body.rfind(b"\n", 0, n_bytes) + 1]


def small_ratings(seed: int = 1) -> tuple[bytes, bytes, bytes]:
    """A ratings file of 300 users x 120 items, and two items files giving those items other titles."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = {(int(u), int(i)): int(r) for u, i, r in rng.integers([1, 1, 1], [301, 121, 6], (6000, 3))}
    ratings = "userId,movieId,rating\n" + "".join(f"{u},{i},{r}\n" for (u, i), r in rows.items())
    items = [
        "movieId,title,genres\n" + "".join(f"{i},{who} film {i},Drama\n" for i in range(1, 121))
        for who in "AB"
    ]
    return ratings.encode(), items[0].encode(), items[1].encode()


def put_file(port: int, session: Session, name: str, body: bytes) -> object:
    """PUT `body` to the session's upload endpoint; the uploader's widget value that names it."""
    import urllib.request

    from streamlit.proto.Common_pb2 import FileUploaderState

    file_id = str(uuid.uuid4())
    url = f"http://127.0.0.1:{port}/_stcore/upload_file/{session.session_id}/{file_id}"
    boundary = uuid.uuid4().hex
    form = io.BytesIO()
    form.write(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'.encode())
    form.write(b"Content-Type: text/csv\r\n\r\n" + body + f"\r\n--{boundary}--\r\n".encode())
    request = urllib.request.Request(
        url,
        data=form.getvalue(),
        method="PUT",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.status == 204, response.status
    state = FileUploaderState()
    info = state.uploaded_file_info.add()
    info.name, info.size, info.file_id = name, len(body), file_id
    info.file_urls.file_id, info.file_urls.upload_url, info.file_urls.delete_url = file_id, url, url
    return state


def upload_and_train(port: int, session: Session, files: dict[str, tuple[str, bytes]]) -> dict:
    """On the Data page: Source = upload, PUT each file into its uploader (`data_upload`, and optionally
    `data_items_upload`), Load this file; then Train with the default settings. What each step took."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    session.rerun("data")
    source = WidgetState(id=session.widget_ids["data_source"], string_value=UPLOAD_SOURCE)
    session.rerun("data", [source])
    states = [source]
    started = time.perf_counter()
    for key, (name, body) in files.items():
        states.append(
            WidgetState(
                id=session.widget_ids[key], file_uploader_state_value=put_file(port, session, name, body)
            )
        )
    session.rerun("data", states)
    load = WidgetState(id=session.widget_ids["data_load_upload"], trigger_value=True)
    session.rerun("data", [*states, load])
    loaded = time.perf_counter() - started
    session.rerun("train")
    button = WidgetState(id=session.widget_ids["train_button"], trigger_value=True)
    seen, _ = session.rerun("train", [button], until=(*RESULT_TEXT, *REFUSED_TEXT))
    said = next((t for t in session.texts if any(x in t for x in (*RESULT_TEXT, *REFUSED_TEXT))), "")
    return {"load s": loaded, "train s": seen, "result": said[:90]}


def spam_train(session: Session, clicks: int = 20, within_s: float = 1.7) -> str:
    """Twenty Train clicks with different factors as fast as a student can click; what the page said in the
    first run that finished (the clicks before it stopped their runs, as a browser's do)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    for index in range(clicks):
        message = BackMsg()
        message.rerun_script.page_name = "train"
        factors = WidgetState(id=session.widget_ids["train_n_factors"])
        factors.double_array_value.data.append(float(2 + index))
        button = WidgetState(id=session.widget_ids["train_button"], trigger_value=True)
        message.rerun_script.widget_states.widgets.extend([factors, button])
        session.ws.send(message.SerializeToString())
        time.sleep(within_s / clicks)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # until the last click's run ends
        reply = ForwardMsg()
        reply.ParseFromString(session.ws.recv(timeout=600))
        kind = reply.WhichOneof("type")
        if kind == "new_session":
            session.texts = []
        elif kind == "delta":
            session._note(reply)  # noqa: SLF001 - the same bookkeeping as a rerun
        elif kind == "script_finished" and reply.script_finished in (0, 1):
            break
    return next((t for t in session.texts if any(x in t for x in (*RESULT_TEXT, *REFUSED_TEXT))), "")[:90]


def twin_titles(session: Tab, letter: str) -> bool:
    """Whether the twin's Recommend page shows its own titles and none of the other twin's."""
    session.rerun("recommend")
    other = "B" if letter == "A" else "A"
    return session.shown(f"{letter} film") and not session.shown(f"{other} film")


def mix(port: int, n: int, sampler: Sampler, limit_bytes: int) -> dict:
    sessions = [Tab(port) for _ in range(n)]
    spammer, uploader, twin_a, twin_b, *bystanders = sessions
    for session in [spammer, *bystanders]:
        session.rerun("train")
    big = largest_file(limit_bytes)
    ratings, items_a, items_b = small_ratings()
    sampler.reset()
    results: dict[str, object] = {}
    clicks: list[float] = [float("nan")] * len(bystanders)
    go = threading.Barrier(len(sessions))

    def run(name: str, action) -> None:  # noqa: ANN001 - a callable
        go.wait()
        try:
            results[name] = action()
        except Exception as error:  # noqa: BLE001 - a benchmark reports what broke and goes on
            results[name] = f"error: {error!r}"[:90]

    def bystander(index: int) -> None:
        go.wait()
        time.sleep(0.5)  # the others have started
        clicks[index] = _click_train(bystanders[index], 30 + index)

    threads = [
        threading.Thread(target=run, args=("spammer", lambda: spam_train(spammer))),
        threading.Thread(
            target=run,
            args=("uploader", lambda: upload_and_train(port, uploader, {"data_upload": ("big.csv", big)})),
        ),
        *(
            threading.Thread(
                target=run,
                args=(
                    f"twin {letter}",
                    lambda s=session, b=body: upload_and_train(
                        port,
                        s,
                        {"data_upload": ("ratings.csv", ratings), "data_items_upload": ("movies.csv", b)},
                    ),
                ),
            )
            for letter, session, body in (("A", twin_a, items_a), ("B", twin_b, items_b))
        ),
        *(threading.Thread(target=bystander, args=(i,)) for i in range(len(bystanders))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    peak = sampler.peak
    titles = {letter: twin_titles(session, letter) for letter, session in (("A", twin_a), ("B", twin_b))}
    for session in sessions:
        session.close()
    done = [c for c in clicks if c == c]
    return {
        "sessions": n,
        "bystanders done": f"{len(done)} of {len(bystanders)}",
        "bystander click to result p50 (s)": statistics.median(done) if done else float("nan"),
        "bystander click to result p95 (s)": _percentile(done, 0.95),
        "spammer": results.get("spammer"),
        "uploader": results.get("uploader"),
        "twins": {k: results.get(f"twin {k}") for k in "AB"},
        "twins see their own titles": titles,
        "peak RSS (MiB)": peak,
    }


def upload_peak(port: int, k: int, sampler: Sampler, limit_bytes: int, ids: tuple[int, int]) -> dict:
    sessions = [Tab(port) for _ in range(k)]
    # seeds new to this server in every round: a file an earlier round trained would come from the cache
    files = [largest_file(limit_bytes, seed=100 * k + i, ids=ids) for i in range(k)]
    sampler.reset()
    outcomes: list[object] = [None] * k
    go = threading.Barrier(k)

    def student(i: int) -> None:
        go.wait()
        outcomes[i] = upload_and_train(port, sessions[i], {"data_upload": (f"big{i}.csv", files[i])})

    threads = [threading.Thread(target=student, args=(i,)) for i in range(k)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    peak = sampler.peak
    for session in sessions:
        session.close()
    time.sleep(SETTLE_S)
    return {
        "students": k,
        "file MB": limit_bytes / 1e6,
        "peak RSS (MiB)": peak,
        "settled RSS (MiB)": _rss_mb(sampler.pid),
        "outcomes": outcomes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10, help="sessions in the mix (at least 5)")
    parser.add_argument(
        "--bystanders", type=int, help="bystanders in the mix (instead of --sessions: the issue's mix is 30)"
    )
    parser.add_argument(
        "--upload-peak", type=int, nargs="+", help="instead: K students with the largest upload"
    )
    parser.add_argument(
        "--ids", type=int, nargs=2, default=IDS, help="distinct users and items of the largest file"
    )
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()

    import sys

    sys.path.insert(0, str(ROOT))
    from tests.browser.server import start_app, stop_app
    from ui import budget

    limit = budget.current().upload_bytes
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {"COLLAB_DATA_DIR": tmp, "STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION": "false"}
        server, url = start_app(env, Path(tmp) / "streamlit.log")
        port = int(url.rsplit(":", 1)[1])
        try:
            first = Session(port)
            for page in ("home", "data", "train", "embeddings", "recommend"):
                first.rerun(page)
            first.close()
            time.sleep(SETTLE_S)  # the warm-up thread has imported torch and loaded the kernels
            sampler = Sampler(server.pid)
            sampler.start()
            idle = _rss_mb(server.pid)
            print(f"idle RSS {idle:.0f} MiB; largest upload {limit / 1e6:.1f} MB", flush=True)
            for k in args.upload_peak or []:
                rows.append({**upload_peak(port, k, sampler, limit, tuple(args.ids)), "idle RSS (MiB)": idle})
                print(json.dumps(rows[-1], default=str), flush=True)
            if not args.upload_peak:
                n = 4 + args.bystanders if args.bystanders else args.sessions
                rows.append({**mix(port, max(5, n), sampler, limit), "idle RSS (MiB)": idle})
                print(json.dumps(rows[-1], default=str), flush=True)
        finally:
            stop_app(server)
            print(Path(tmp, "streamlit.log").read_text()[-3000:], file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str))


if __name__ == "__main__":
    main()
