"""`load_movielens` against a local HTTP server serving zips the tests build (no network needed)."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import tempfile
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from collab.data import movielens
from collab.data.errors import DataError
from collab.data.movielens import load_movielens

U_DATA = (
    "1\t1\t5\t881250949\n1\t2\t3\t881250950\n2\t1\t4\t881250951\n2\t3\t1\t881250952\n3\t2\t2\t881250953\n"
)
U_ITEM = (
    "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
    "2|Misérables, Les (1995)|01-Jan-1995||http://x|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|1|0\n"
    "3|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
)


def build_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


GOOD_ZIP = build_zip(
    {
        "ml-100k/u.data": U_DATA.encode(),
        "ml-100k/u.item": U_ITEM.encode("latin-1"),
        "ml-100k/README": b"x" * 5000,
    }
)
WRONG_ZIP = build_zip({"ml-latest-small/ratings.csv": b"userId,movieId,rating\n1,1,4\n"})
# A valid zip whose u.data is not ratings: it passes the checksum and the CRCs, and fails to parse.
BAD_CONTENT_ZIP = build_zip(
    {"ml-100k/u.data": b"<html>mirror maintenance</html>\n" * 3, "ml-100k/u.item": U_ITEM.encode("latin-1")}
)
# Same size as the good zip, one byte of u.data changed after the CRC was computed.
DAMAGED_ZIP = GOOD_ZIP.replace(b"881250953", b"881250954")


def md5_line(body: bytes) -> bytes:
    """What GroupLens publishes beside each zip (`ml-100k.zip.md5`)."""
    return f"MD5 (ml-100k.zip) = {hashlib.md5(body).hexdigest()}\n".encode()


class Server:
    """A 127.0.0.1 server: /good, /truncated, /wrong, /html, /damaged each serve ml-100k.zip and its
    ml-100k.zip.md5; /corrupted serves the damaged zip with the good zip's checksum, /nosum no
    checksum, /garbledsum a checksum file without one; the rest 404."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        hits = self.hits
        self.mirror = {"/mirror/": BAD_CONTENT_ZIP}  # a mirror the test fixes by replacing its zip
        mirror = self.mirror

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                hits[self.path] += 1
                bodies = {
                    "/good/": GOOD_ZIP,
                    "/wrong/": WRONG_ZIP,
                    "/damaged/": DAMAGED_ZIP,
                    "/truncated/": GOOD_ZIP,
                    "/corrupted/": DAMAGED_ZIP,
                    "/nosum/": GOOD_ZIP,
                    "/garbledsum/": GOOD_ZIP,
                    "/slow/": GOOD_ZIP,
                    "/slowsum/": GOOD_ZIP,
                    **mirror,
                }
                folder = self.path.rsplit("/", 1)[0] + "/"
                sums = {folder: md5_line(body) for folder, body in bodies.items()}
                sums["/corrupted/"] = md5_line(GOOD_ZIP)
                sums["/garbledsum/"] = b"<html>checksums moved</html>"
                del sums["/nosum/"]
                sums["/html/"] = md5_line(b"<html>Sorry, we moved.</html>")
                if self.path.endswith("/ml-100k.zip.md5") and folder in sums:
                    body = sums[folder]
                elif self.path.endswith("/ml-100k.zip") and folder in bodies:
                    body = bodies[folder]
                elif self.path == "/html/ml-100k.zip":
                    body = b"<html>Sorry, we moved.</html>"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                trickle = (folder == "/slow/" and self.path.endswith(".zip")) or folder == "/slowsum/"
                if trickle:  # 1 KiB (the zip) or 1 byte (the checksum) every 0.2 s
                    step = 1 if self.path.endswith(".md5") else 1024
                    for start in range(0, len(body), step):
                        try:
                            self.wfile.write(body[start : start + step])
                            self.wfile.flush()
                        except OSError:
                            return
                        time.sleep(0.2)
                    return
                if folder == "/truncated/" and self.path.endswith(".zip"):
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.close()


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLLAB_DATA_DIR", raising=False)
    monkeypatch.delenv("COLLAB_MOVIELENS_URL", raising=False)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def test_download_verifies_extracts_parses_and_reports_progress(server: Server, tmp_path: Path) -> None:
    progress: list[tuple[int, int | None]] = []
    ratings = load_movielens(
        "100k",
        cache_dir=tmp_path,
        base_url=f"{server.url}/good",
        progress=lambda d, t: progress.append((d, t)),
    )
    assert (ratings.n_users, ratings.n_items, ratings.n_ratings) == (3, 3, 5)
    assert ratings.name == "MovieLens 100K"
    assert ratings.titles.tolist() == ["Toy Story (1995)", "Misérables, Les (1995)", "unknown"]
    assert ratings.genres[1] == ("Drama", "War") and ratings.genres[2] == ("unknown",)
    assert progress[0] == (0, len(GOOD_ZIP)) and progress[-1] == (len(GOOD_ZIP), len(GOOD_ZIP))
    # the zip, the checksum it matched (marks it as downloaded here), the two files parsed
    assert leftovers(tmp_path) == [
        "ml-100k",
        "ml-100k.zip",
        "ml-100k.zip.md5",
        "ml-100k/u.data",
        "ml-100k/u.item",
    ]


def test_the_cache_is_used_the_second_time(server: Server, tmp_path: Path) -> None:
    url = f"{server.url}/good"
    first = load_movielens("100k", cache_dir=tmp_path, base_url=url)
    hits = server.hits["/good/ml-100k.zip"]
    second = load_movielens("100k", cache_dir=tmp_path, base_url=url)
    assert server.hits["/good/ml-100k.zip"] == hits
    assert second.fingerprint == first.fingerprint


def test_environment_variables_choose_the_folder_and_the_server(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLLAB_MOVIELENS_URL", f"{server.url}/good/")
    assert load_movielens("100k").n_ratings == 5
    assert (tmp_path / "data" / "ml-100k.zip").is_file()


BROKEN = [
    ("truncated", "/truncated", ["cut short", "of 5", "bytes", "put the zip at"]),
    (
        "wrong archive",
        "/wrong",
        ["not the MovieLens 100K archive", "lacks u.data, u.item", "ml-latest-small/ratings.csv"],
    ),
    ("not a zip", "/html", ["not a valid zip archive"]),
    ("damaged", "/damaged", ["damaged", "u.data fails its CRC check"]),
    ("not found", "/nowhere", ["answered HTTP 404", "put the zip at"]),
    (
        "checksum mismatch",
        "/corrupted",
        ["does not match the checksum GroupLens publishes", f"expected {hashlib.md5(GOOD_ZIP).hexdigest()}"],
    ),
    ("no checksum", "/nosum", ["checksum of MovieLens 100K", "ml-100k.zip.md5 answered HTTP 404"]),
    ("no checksum inside", "/garbledsum", ["holds no MD5 checksum", "put the zip at"]),
]


@pytest.mark.parametrize(("path", "expected"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_a_bad_download_raises_and_leaves_nothing_behind(
    server: Server, tmp_path: Path, path: str, expected: list[str]
) -> None:
    with pytest.raises(DataError) as caught:
        load_movielens("100k", cache_dir=tmp_path, base_url=server.url + path)
    for text in expected:
        assert text in str(caught.value)
    assert leftovers(tmp_path) == []  # no partial zip, no half-extracted folder


def test_offline_says_where_to_put_the_zip_by_hand(tmp_path: Path) -> None:
    url = closed_port_url()
    with pytest.raises(DataError) as caught:
        load_movielens("100k", cache_dir=tmp_path, base_url=url)
    message = str(caught.value)
    assert "are you offline?" in message and f"{url}/ml-100k.zip" in message
    assert f"put the zip at {tmp_path / 'ml-100k.zip'}" in message and "COLLAB_DATA_DIR" in message
    assert leftovers(tmp_path) == []


def test_a_zip_placed_by_hand_is_used_without_the_network(tmp_path: Path) -> None:
    (tmp_path / "ml-100k.zip").write_bytes(GOOD_ZIP)
    ratings = load_movielens("100k", cache_dir=tmp_path, base_url=closed_port_url())
    assert ratings.n_ratings == 5


def test_a_damaged_zip_placed_by_hand_is_reported_and_kept(tmp_path: Path) -> None:
    (tmp_path / "ml-100k.zip").write_bytes(DAMAGED_ZIP)
    with pytest.raises(DataError, match="archive at .* is damaged.*download ml-100k.zip again"):
        load_movielens("100k", cache_dir=tmp_path, base_url=closed_port_url())
    assert leftovers(tmp_path) == ["ml-100k.zip"]  # the user's file stays; nothing half-written


def test_unknown_dataset_names_the_choices(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown MovieLens set '25m'.*100k, latest-small, 1m"):
        load_movielens("25m", cache_dir=tmp_path)


def test_the_download_fetches_the_published_checksum_beside_the_zip(server: Server, tmp_path: Path) -> None:
    load_movielens("100k", cache_dir=tmp_path, base_url=f"{server.url}/good/")
    assert server.hits["/good/ml-100k.zip.md5"] >= 1


def failing_mkstemp(*args: object, **kwargs: object) -> tuple[int, str]:
    raise OSError(30, "Read-only file system")


def test_a_chosen_read_only_cache_dir_is_a_data_error_naming_it(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(movielens.tempfile, "mkstemp", failing_mkstemp)
    with pytest.raises(DataError) as caught:
        load_movielens("100k", cache_dir=tmp_path, base_url=f"{server.url}/good")
    message = str(caught.value)
    assert f"cannot write to the MovieLens data folder {tmp_path}" in message
    assert "Read-only file system" in message and "COLLAB_DATA_DIR" in message
    assert leftovers(tmp_path) == []


def test_a_full_disk_while_downloading_is_a_data_error_not_offline(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, handle: object) -> None:
            self.handle = handle

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()  # type: ignore[attr-defined]

        def write(self, data: bytes) -> int:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(movielens.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    with pytest.raises(DataError) as caught:
        load_movielens("100k", cache_dir=tmp_path, base_url=f"{server.url}/good")
    message = str(caught.value)
    assert "No space left on device" in message and str(tmp_path) in message
    assert "offline" not in message
    assert leftovers(tmp_path) == []


def test_the_default_cache_dir_read_only_falls_back_to_the_temp_folder_with_a_warning(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = tmp_path / "read-only"
    temp = tmp_path / "tmp"
    temp.mkdir()
    default.mkdir()
    monkeypatch.setattr(movielens, "movielens_cache_dir", lambda cache_dir=None: default)
    monkeypatch.setattr(movielens.tempfile, "gettempdir", lambda: str(temp))
    real_mkstemp = tempfile.mkstemp

    def mkstemp_outside_default(*args: object, dir: str, **kwargs: object) -> tuple[int, str]:  # noqa: A002
        if Path(dir).is_relative_to(default):
            raise OSError(30, "Read-only file system")
        return real_mkstemp(*args, dir=dir, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(movielens.tempfile, "mkstemp", mkstemp_outside_default)
    with pytest.warns(
        RuntimeWarning, match=f"cache folder {default} is not writable.*using {temp / 'collab-lab'}"
    ):
        ratings = load_movielens("100k", base_url=f"{server.url}/good")
    assert ratings.n_ratings == 5
    assert any("not writable" in note for note in ratings.notes)  # the Data page shows notes
    assert (temp / "collab-lab" / "ml-100k" / "u.data").is_file()
    assert leftovers(default) == []
    hits = server.hits["/good/ml-100k.zip"]
    again = load_movielens("100k", base_url=f"{server.url}/good")  # the temp copy, no new download
    assert again.n_ratings == 5 and server.hits["/good/ml-100k.zip"] == hits
    assert any(str(temp / "collab-lab") in note for note in again.notes)


def test_a_zip_in_a_read_only_default_cache_is_extracted_to_the_temp_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = tmp_path / "read-only"
    default.mkdir()
    (default / "ml-100k.zip").write_bytes(GOOD_ZIP)
    monkeypatch.setattr(movielens, "movielens_cache_dir", lambda cache_dir=None: default)
    monkeypatch.setattr(movielens.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    real_mkdir = Path.mkdir

    def mkdir_outside_default(self: Path, *args: object, **kwargs: object) -> None:
        if self.is_relative_to(default):
            raise PermissionError(13, "Permission denied")
        real_mkdir(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", mkdir_outside_default)
    with pytest.warns(RuntimeWarning, match="not writable"):
        ratings = load_movielens("100k", base_url=closed_port_url())
    assert ratings.n_ratings == 5
    assert leftovers(default) == ["ml-100k.zip"]


def test_no_writable_folder_anywhere_is_a_data_error_naming_both(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = tmp_path / "read-only"
    monkeypatch.setattr(movielens, "movielens_cache_dir", lambda cache_dir=None: default)
    monkeypatch.setattr(movielens.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    monkeypatch.setattr(movielens.tempfile, "mkstemp", failing_mkstemp)
    with pytest.warns(RuntimeWarning, match="not writable"), pytest.raises(DataError) as caught:
        load_movielens("100k", base_url=f"{server.url}/good")
    message = str(caught.value)
    assert f"cannot write MovieLens to {default} nor to the temporary folder {tmp_path / 'tmp'}" in message
    assert "Read-only file system" in message and "COLLAB_DATA_DIR" in message


def test_a_zip_that_unpacks_too_large_is_refused_before_extraction(tmp_path: Path) -> None:
    """A zip that matches a tampered mirror's checksum can still unpack to 200 MB (peak 1,687 MiB): the
    members' declared sizes are checked first, and nothing is extracted."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ml-100k/u.data", b"0" * (65 * 10**6))
        archive.writestr("ml-100k/u.item", b"1|Toy Story (1995)|||" + b"|0" * 19 + b"\n")
    (tmp_path / "ml-100k.zip").write_bytes(buffer.getvalue())
    with pytest.raises(DataError, match=r"its u\.data unpacks to 65,000,000 bytes"):
        load_movielens("100k", cache_dir=tmp_path, base_url=closed_port_url())
    assert not (tmp_path / "ml-100k" / "u.data").exists()


def test_a_trickling_download_stops_at_its_deadline(server: Server, tmp_path: Path, monkeypatch) -> None:
    """1 KiB at a time never trips the 30 s idle timeout; the whole download has a deadline too."""
    from collab.data import movielens

    monkeypatch.setattr(movielens, "DOWNLOAD_DEADLINE_S", 0.5)
    started = time.monotonic()
    with pytest.raises(DataError, match=r"is too slow: .* bytes after 0 s"):
        load_movielens("100k", cache_dir=tmp_path, base_url=server.url + "/slow")
    assert time.monotonic() - started < 5
    assert leftovers(tmp_path) == []


def test_a_trickling_checksum_stops_at_its_deadline(server: Server, tmp_path: Path, monkeypatch) -> None:
    """A checksum file sent a byte at a time is bounded too (it was read until 4,096 bytes had come)."""
    monkeypatch.setattr(movielens, "CHECKSUM_DEADLINE_S", 0.5)
    started = time.monotonic()
    with pytest.raises(DataError, match=r"checksum of MovieLens 100K .* is too slow"):
        load_movielens("100k", cache_dir=tmp_path, base_url=server.url + "/slowsum")
    assert time.monotonic() - started < 5
    assert leftovers(tmp_path) == []


def test_a_bad_cached_download_is_dropped_so_a_fixed_mirror_works_next_time(
    server: Server, tmp_path: Path
) -> None:
    """Issue 24: a download that passed its checksum but fails to parse stayed in the cache, and every later
    try failed on it even after the mirror was fixed."""
    url = f"{server.url}/mirror"
    with pytest.raises(DataError, match="The cached download of MovieLens 100K was deleted") as caught:
        load_movielens("100k", cache_dir=tmp_path, base_url=url)
    assert f"the MovieLens 100K files in {tmp_path / 'ml-100k'} are not MovieLens as expected" in str(
        caught.value
    )
    assert leftovers(tmp_path) == []
    server.mirror["/mirror/"] = GOOD_ZIP  # the mirror is fixed (its checksum follows its zip)
    assert load_movielens("100k", cache_dir=tmp_path, base_url=url).n_ratings == 5
    assert server.hits["/mirror/ml-100k.zip"] == 2


def test_a_bad_extracted_cache_is_dropped_but_a_zip_placed_by_hand_is_kept(tmp_path: Path) -> None:
    (tmp_path / "ml-100k.zip").write_bytes(BAD_CONTENT_ZIP)
    with pytest.raises(DataError) as caught:
        load_movielens("100k", cache_dir=tmp_path, base_url=closed_port_url())
    assert "deleted" not in str(caught.value)
    assert leftovers(tmp_path) == ["ml-100k.zip"]  # the user's zip stays; nothing extracted from it does
    (tmp_path / "ml-100k.zip").write_bytes(GOOD_ZIP)  # the user replaces it
    assert load_movielens("100k", cache_dir=tmp_path, base_url=closed_port_url()).n_ratings == 5
