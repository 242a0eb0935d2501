"""Hostile input cannot hurt: model files that declare huge sizes, NUL bytes and giant fields anywhere,
over-budget uploads, spreadsheet formulas in exports, and the memory budget that sets the limits."""

from __future__ import annotations

import io
import json
import resource
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import collab
from collab.data import guards
from collab.data.errors import DataError
from collab.data.read import read_ratings
from collab.training.io import ModelFileError
from collab.training.loop import train
from tests.training.test_loop import TRAIN, VALID, small
from ui import budget

ROOT = Path(__file__).resolve().parents[1]


# ---- model files --------------------------------------------------------------------------------


def _rewrite_metadata(path: Path, change: dict) -> None:
    raw = path.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + size])
    meta = json.loads(header["__metadata__"]["collab_lab"])
    meta["model_args"].update(change)
    header["__metadata__"]["collab_lab"] = json.dumps(meta)
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + raw[8 + size :])


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@pytest.fixture(scope="module")
def autorec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = train(TRAIN, VALID, small(model="autorec", n_factors=8, epochs=1, weight_decay=0.01))
    return result.save(tmp_path_factory.mktemp("models") / "autorec.safetensors")


@pytest.mark.parametrize(
    ("n_ratings", "message"),
    [(150_000_000, "n_ratings is 150000000, not a whole number from 0 to 30,000,000"), (29_000_000, "shape")],
    ids=["over the bound", "within the bound but not the tensors' size"],
)
def test_a_small_file_declaring_millions_of_ratings_is_refused_without_allocating(
    autorec_file: Path, tmp_path: Path, n_ratings: int, message: str
) -> None:
    hostile = tmp_path / "hostile.safetensors"
    hostile.write_bytes(autorec_file.read_bytes())
    _rewrite_metadata(hostile, {"n_ratings": n_ratings})
    assert hostile.stat().st_size < 100_000
    peak_before = _peak_rss()
    tracemalloc.start()
    with pytest.raises(ModelFileError, match=message):
        collab.load(hostile)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # 150M ratings as buffers would be 3 GB; the refusal costs what reading an 11 KB file costs
    assert traced_peak < 20 * 2**20
    assert _peak_rss() - peak_before < 50 * 2**20


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n_ratings": 10**12}, "n_ratings is 1000000000000, not a whole number"),
        ({"n_ratings": -1}, "n_ratings is -1"),
        ({"n_ratings": "7"}, "n_ratings is '7'"),
        ({"rating_values": list(range(5000))}, "rating_values must be a list of at most"),
    ],
    ids=["too many ratings", "negative", "text", "too many classes"],
)
def test_declared_sizes_are_bounded(autorec_file: Path, tmp_path: Path, change: dict, message: str) -> None:
    hostile = tmp_path / "hostile.safetensors"
    hostile.write_bytes(autorec_file.read_bytes())
    _rewrite_metadata(hostile, change)
    with pytest.raises(ModelFileError, match=message):
        collab.load(hostile)


def test_declared_table_sizes_must_match_the_tensors(tmp_path: Path) -> None:
    path = train(TRAIN, VALID, small(epochs=1)).save(tmp_path / "dot.safetensors")
    raw = path.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + size])
    meta = json.loads(header["__metadata__"]["collab_lab"])
    meta["model_args"]["n_users"] += 1
    meta["user_labels"].append("extra")
    header["__metadata__"]["collab_lab"] = json.dumps(meta)
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + raw[8 + size :])
    with pytest.raises(ModelFileError, match="has shape"):
        collab.load(path)


def test_one_long_label_cannot_make_the_loader_allocate_gigabytes(tmp_path: Path) -> None:
    """numpy stores labels as wide as the longest: one 400,000-character user label among the rest made
    a 430 KB file cost ~1 GB (found by a tester). Labels are bounded before any array is built."""
    path = train(TRAIN, VALID, small(epochs=1)).save(tmp_path / "dot.safetensors")
    raw = path.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + size])
    meta = json.loads(header["__metadata__"]["collab_lab"])
    meta["user_labels"][0] = "x" * 400_000
    header["__metadata__"]["collab_lab"] = json.dumps(meta)
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + raw[8 + size :])
    tracemalloc.start()
    with pytest.raises(ModelFileError, match="a label of 400,000 characters, more than 1,024"):
        collab.load(path)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert traced_peak < 40 * 2**20  # the file's own text a few times, never labels x longest x 4


def test_an_honest_autoencoder_file_still_loads(autorec_file: Path) -> None:
    assert collab.load(autorec_file).config.model == "autorec"


# ---- text guards ----------------------------------------------------------------------------------

CLEAN = b"user,item,rating\n" + b"1,2,3\n2,3,4\n3,1,5\n" * 30_000  # ~ 180 KB, past the sniffed 64 KiB


def test_a_nul_byte_past_the_first_64_kib_is_refused_with_its_line() -> None:
    data = CLEAN + b"4,\x005,1\n"
    assert data.index(b"\x00") > 64 * 1024
    with pytest.raises(DataError, match="NUL byte on line 90,002"):
        read_ratings(io.BytesIO(data))


def test_a_nul_byte_is_refused_in_a_file_on_disk_too(tmp_path: Path) -> None:
    path = tmp_path / "ratings.csv"
    path.write_bytes(CLEAN + b"4,5,1\x00\n")
    with pytest.raises(DataError, match="NUL byte"):
        read_ratings(path)


def test_a_field_longer_than_1_kib_is_refused() -> None:
    data = CLEAN + b"4," + b"x" * 5000 + b",1\n"
    with pytest.raises(DataError, match="line 90,002 is 5,000 bytes long, more than 1,024"):
        read_ratings(io.BytesIO(data))


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 4096])
def test_the_field_scan_does_not_depend_on_chunk_boundaries(chunk: int) -> None:
    ok = b"a,bb,ccc\n" + b"x" * 20 + b",1\n"
    guards.check_text(guards.chunks_of(ok, chunk), ",", max_field=20)
    with pytest.raises(DataError, match="line 3 is 21 bytes"):
        guards.check_text(guards.chunks_of(ok + b"y" * 21 + b"\n", chunk), ",", max_field=20)
    with pytest.raises(DataError, match="line 2 is 21 bytes"):
        guards.check_text(guards.chunks_of(b"a,b\n" + b"y" * 21, chunk), ",", max_field=20)


# ---- the budget -----------------------------------------------------------------------------------


def test_an_over_budget_upload_is_refused_with_numbers_and_advice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(budget.ENV_VAR, "1024")
    limit = budget.current().upload_bytes

    with pytest.raises(DataError) as caught:  # the Data page asks this before it parses an upload
        budget.current().check_upload(limit + 1)
    message = str(caught.value)
    for text in (
        f"up to {limit // 10**6:,} MB",
        "memory budget (1,024 MB",
        "read_ratings(path)",
        "COLLAB_MEMORY_MB",
    ):
        assert text in message


def test_the_budget_comes_from_the_env_var_then_the_config_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(budget.ENV_VAR, raising=False)
    monkeypatch.setenv(budget.CONFIG_ENV_VAR, str(tmp_path / "none.toml"))
    assert budget.current() == budget.Budget()
    config = tmp_path / "collab.toml"
    config.write_text("memory_mb = 4096\n")
    monkeypatch.setenv(budget.CONFIG_ENV_VAR, str(config))
    assert budget.current().memory_mb == 4096
    monkeypatch.setenv(budget.ENV_VAR, "2048")
    assert budget.current().memory_mb == 2048
    monkeypatch.setenv(budget.ENV_VAR, "lots")
    with pytest.raises(ValueError, match="COLLAB_MEMORY_MB: memory_mb must be a number"):
        budget.current()


def test_a_bigger_budget_raises_every_limit() -> None:
    small_host, big_host = budget.Budget(1024), budget.Budget(8192)
    assert big_host.cache_bytes > small_host.cache_bytes and big_host.upload_mb > small_host.upload_mb
    # the largest accepted upload, read and trained at the measured peak per byte, fits beside the caches
    for host in (small_host, big_host):
        assert host.upload_bytes * budget.PEAK_PER_FILE_BYTE + host.cache_bytes <= host.working_bytes


def test_the_browser_upload_limit_is_the_default_budgets() -> None:
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == budget.Budget().upload_mb == collab.MAX_UPLOAD_MB


# ---- exports --------------------------------------------------------------------------------------

FORMULAS = ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_cells_are_neutralised_and_numbers_kept(text: str) -> None:
    assert guards.safe_cell(text) == "'" + text
    for number in ("-1.5", "+3", "-7", 2.5, -3):
        assert guards.safe_cell(number) == number
    frame = guards.neutralise_formulas(pd.DataFrame({"t": [text, "ok"], "n": [-1.0, 2.0]}))
    assert frame["t"].tolist() == ["'" + text, "ok"] and frame["n"].tolist() == [-1.0, 2.0]


def _hostile_ratings() -> collab.Ratings:
    data = b"user,item,rating\n" + b"".join(
        f"{u},{i},{(a + b) % 5 + 1}\n".encode()
        for a, u in enumerate(("=HYPERLINK(1)", "u2", "@u3", "u4"))
        for b, i in enumerate(("-i1", "+i2", "i3", "=i4"))
    )
    return read_ratings(io.BytesIO(data))


def test_every_export_neutralises_formula_cells() -> None:
    from collab.analysis import embeddings, recommend

    ratings = _hostile_ratings()
    result = train(ratings, ratings, small(epochs=1))
    csv_text = recommend.predictions_csv(result, ratings)
    cells = [cell for line in csv_text.splitlines()[1:] for cell in line.split(",")]
    assert not [cell for cell in cells if cell[:1] in "=+@" or (cell[:1] == "-" and not _number(cell))]
    assert "'=HYPERLINK(1)" in csv_text
    for metadata in ({"user": ratings.user_labels}, {"user": ratings.user_labels, "n": np.arange(4)}):
        _, metadata_tsv = embeddings.projector_tsv(np.zeros((4, 2)), metadata)
        cells = [cell for line in metadata_tsv.splitlines() for cell in line.split("\t")]
        assert "'=HYPERLINK(1)" in cells and "'@u3" in cells and "=HYPERLINK(1)" not in cells


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ---- the data folder ------------------------------------------------------------------------------


def test_orphaned_partial_downloads_are_swept_and_fresh_ones_kept(tmp_path: Path) -> None:
    import os
    import time

    from collab.data.movielens import sweep_partial_downloads

    (tmp_path / "ml-100k").mkdir()
    old = [tmp_path / ".ml-100k-abc.part", tmp_path / "ml-100k" / ".u.data-xyz.part"]
    fresh = tmp_path / ".ml-1m-new.part"
    keep = tmp_path / "ml-100k.zip"
    for path in [*old, fresh, keep]:
        path.write_bytes(b"partial")
    an_hour_ago = time.time() - 3600
    for path in [*old, keep]:
        os.utime(path, (an_hour_ago, an_hour_ago))
    assert sweep_partial_downloads(tmp_path) == 2
    assert not any(path.exists() for path in old) and fresh.exists() and keep.exists()
    assert sweep_partial_downloads(tmp_path / "missing") == 0


def test_the_run_table_neutralises_an_uploaded_files_name() -> None:
    from collab.data.guards import neutralise_formulas
    from ui import state
    from ui.training_view import run_rows

    record = state.RunRecord(
        model="Dot product + biases", summary="dot, 64 factors", rmse=0.9, mae=0.7, seconds=1.0,
        cached=False, dataset="Upload: =cmd|'/c calc'!A1.csv",
    )  # fmt: skip
    frame = neutralise_formulas(run_rows([record]))
    assert frame["dataset"].tolist() == ["Upload: =cmd|'/c calc'!A1.csv"]  # starts with "U": harmless
    record = state.RunRecord(**{**record.__dict__, "dataset": "=cmd|'/c calc'!A1"})
    assert neutralise_formulas(run_rows([record]))["dataset"].tolist() == ["'=cmd|'/c calc'!A1"]
    assert neutralise_formulas(run_rows([record]))["valid RMSE"].tolist() == [0.9]


def test_an_items_file_with_a_nul_byte_past_the_head_is_refused() -> None:
    from collab.data.items import read_items

    body = b"movieId,title\n" + b"".join(f"{i},Film {i}\n".encode() for i in range(10_000)) + b"1,\x00\n"
    assert body.index(b"\x00") > 64 * 1024
    with pytest.raises(DataError, match="NUL byte on line 10,002"):
        read_items(io.BytesIO(body))
