"""The `collab` command line: train/evaluate/recommend on every input the app reads plus Parquet and
folders of parts, exit code 2 with the app's message for bad input, Ctrl-C that writes nothing, a
saved model that `collab.load` and the Recommend page open, and `torchrun` with 2 processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from collab.cli import main
from collab.training.config import TrainConfig
from collab.training.result import load
from tests.training.test_distributed import torchrun

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--epochs", "2", "--factors", "8", "--bs", "64", "--quiet"]


def frame(n_users: int = 50, n_items: int = 30, n: int = 800, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pairs = np.unique(rng.integers(0, n_users * n_items, n))
    users, items = pairs // n_items, pairs % n_items
    stars = np.clip(np.round(3 + rng.normal(0, 1.1, len(pairs))), 1, 5)
    return pd.DataFrame(
        {
            "userId": users + 1,
            "movieId": items + 100,
            "rating": stars,
            "timestamp": 1_000_000 + rng.integers(0, 10**6, len(pairs)),
        }
    )


def write(kind: str, folder: Path) -> Path:
    """The same ratings as a CSV, a '::' file, a Parquet file, or a folder of 4 Parquet parts."""
    df = frame()
    if kind == "csv":
        df.to_csv(folder / "ratings.csv", index=False)
        return folder / "ratings.csv"
    if kind == "colons":
        lines = [f"{u}::{i}::{int(r)}::{t}" for u, i, r, t in df.itertuples(index=False)]
        (folder / "ratings.dat").write_text("\n".join(lines) + "\n")
        return folder / "ratings.dat"
    if kind == "parquet":
        df.to_parquet(folder / "ratings.parquet", index=False)
        return folder / "ratings.parquet"
    parts = folder / "parts"
    parts.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(df)), 4)):
        df.iloc[rows].to_parquet(parts / f"part-{i:05d}-abc.snappy.parquet", index=False)
    (parts / "_SUCCESS").write_text("")
    (parts / ".part-00000-abc.snappy.parquet.crc").write_bytes(b"\x00")
    return parts


@pytest.mark.parametrize("kind", ["csv", "colons", "parquet", "folder"])
def test_train_evaluate_recommend_on_every_input(kind, tmp_path, capsys):
    ratings = write(kind, tmp_path)
    out, report = tmp_path / "model.safetensors", tmp_path / "metrics.json"
    assert main(["train", str(ratings), *FAST, "--out", str(out), "--metrics-json", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "rmse" in printed and "processes" in printed
    metrics = json.loads(report.read_text())
    assert 0.3 < metrics["metrics"]["rmse"] < 2.0
    assert TrainConfig.from_dict(metrics["config"]) == TrainConfig(epochs=2, n_factors=8, batch_size=64)
    model = load(out)
    assert model.config.n_factors == 8 and len(model.user_labels) == 50 and len(model.item_labels) == 30
    assert sorted(model.user_labels, key=int)[:2] == ["1", "2"]  # ids keep their text

    assert main(["evaluate", str(out), str(ratings)]) == 0
    assert "rmse" in capsys.readouterr().out
    assert main(["recommend", str(out), "--user", "1", "-n", "5", "--ratings", str(ratings)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 6  # header and 5 items
    rated = set(frame().query("userId == 1")["movieId"].astype(str))
    assert not rated & {line.split()[1] for line in table[1:]}, "recommendations leave out rated items"


def test_a_folder_reads_every_part_and_equals_its_rows_in_one_file(tmp_path):
    from collab.training.distributed import read_any

    folder = read_any(write("folder", tmp_path))
    whole = read_any(write("csv", tmp_path))
    assert folder.n_ratings == whole.n_ratings == len(frame())
    np.testing.assert_array_equal(folder.user_labels, whole.user_labels)
    np.testing.assert_array_equal(folder.item_labels, whole.item_labels)
    assert folder.fingerprint == whole.fingerprint  # same rows, same order, same vocabulary


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("user,item,rating\n1,2,x\n3,4,5\n", [], "non-numeric ratings"),
        ("user,item,rating\n1,2,4\n1,3,5\n", [], "single user"),
        ("user,item,rating\n1,2,4\n2,3,5\n", ["--bs", "100"], "--bs: batch_size must be a multiple of 8"),
        ("user,item,rating\n1,2,4\n2,3,5\n", ["--model", "svd"], "--model: model must be one of"),
        ("user,item,rating\n1,2,4\n2,3,5\n", ["--split", "by_time"], "no timestamps"),
        ("user,item,rating\n1,2,4\n2,3,5\n", ["--user", "who"], "user column 'who' not found"),
        ("PAR1 but not parquet", [], "could not read the Parquet file"),
    ],
    ids=[
        "text-rating",
        "one-user",
        "odd-batch",
        "unknown-model",
        "no-timestamps",
        "no-column",
        "bad-parquet",
    ],
)
def test_bad_input_exits_2_with_the_message(tmp_path, capsys, content, args, message):
    name = "ratings.parquet" if "PAR1" in content else "ratings.csv"
    (tmp_path / name).write_text(content)
    out = tmp_path / "model.safetensors"
    assert main(["train", str(tmp_path / name), "--quiet", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_other_bad_inputs_exit_2(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["train", str(empty)]) == 2
    assert "no part files" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "missing.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    ratings = write("csv", tmp_path)
    assert main(["train", str(ratings), "--out", str(tmp_path / "no" / "m.safetensors")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "junk.safetensors").write_bytes(b"not a model")
    assert main(["evaluate", str(tmp_path / "junk.safetensors"), str(ratings)]) == 2
    assert "not a safetensors model file" in capsys.readouterr().err
    out = tmp_path / "m.safetensors"
    assert main(["train", str(ratings), *FAST, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["recommend", str(out), "--user", "nobody"]) == 2
    assert "not seen in training" in capsys.readouterr().err


def test_python_m_collab_gives_exit_2_and_no_traceback(tmp_path):
    (tmp_path / "r.csv").write_text("user,item,rating\n1,2,x\n")
    done = subprocess.run(
        [sys.executable, "-m", "collab", "train", str(tmp_path / "r.csv")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "non-numeric ratings" in done.stderr and "Traceback" not in done.stderr


def test_ctrl_c_stops_after_the_current_step_and_writes_nothing(tmp_path):
    ratings = write("csv", tmp_path)
    out = tmp_path / "model.safetensors"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "collab",
            "train",
            str(ratings),
            "--epochs",
            "1000",
            "--bs",
            "8",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLLAB_KERNELS": "0"},
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    while line and not line.startswith("epoch 1/1000"):  # notes about the data may come first
        line = process.stderr.readline()
    assert line.startswith("epoch 1/1000"), "training is under way"
    process.send_signal(signal.SIGINT)
    rest = process.communicate(timeout=60)[1]
    assert process.returncode == 130
    assert "stopping after the current step" in rest and "nothing written" in rest
    assert "Traceback" not in rest
    assert not out.exists() and not list(tmp_path.glob(".*partial*"))


def test_a_model_from_the_command_line_opens_in_the_recommend_page(tmp_path):
    """Trained by the CLI on the app's demo set written as a CSV: the Recommend page's upload takes it
    (same dataset fingerprint, same vocabulary) and shows recommendations."""
    from streamlit.testing.v1 import AppTest

    from collab.data.demo import demo_ratings
    from tests.app.conftest import ENTRY, texts

    demo = demo_ratings(seed=0)
    demo.frame()[["user", "item", "rating", "timestamp"]].to_csv(tmp_path / "demo.csv", index=False)
    out = tmp_path / "demo.safetensors"
    assert main(["train", str(tmp_path / "demo.csv"), "--epochs", "1", "--quiet", "--out", str(out)]) == 0
    assert load(out).dataset == demo.fingerprint

    app = AppTest.from_file(ENTRY, default_timeout=120)
    app.run()
    app.switch_page("app_pages/recommend.py").run()
    app.file_uploader(key="rec_upload").set_value(
        (out.name, out.read_bytes(), "application/octet-stream")
    ).run()
    assert not app.exception, app.exception
    assert "Loaded the model from demo.safetensors" in texts(app)
    assert any("predicted" in table.value.columns for table in app.dataframe)


def test_torchrun_two_processes_on_a_folder_read_each_part_once(tmp_path):
    parts = write("folder", tmp_path)
    out, report = tmp_path / "model.safetensors", tmp_path / "metrics.json"
    done = torchrun(
        ["-m", "collab", "train", str(parts), *FAST, "--out", str(out), "--metrics-json", str(report)]
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert [line.split()[0] for line in done.stdout.splitlines()].count("rmse") == 1, "only rank 0 prints"
    read = json.loads(report.read_text())["parts"]
    assert len(read) == 2 and all(len(names) == 2 for names in read)
    names = sorted(n for rank in read for n in rank)
    assert names == sorted(p.name for p in parts.glob("part-*.parquet"))  # each part exactly once
    model = load(out)
    assert "2 processes (gloo)" in model.optimizer
    from collab.training.distributed import read_any

    whole = read_any(parts)  # the vocabulary the processes agreed on is one process's
    np.testing.assert_array_equal(model.user_labels, whole.user_labels)
    np.testing.assert_array_equal(model.item_labels, whole.item_labels)


def test_torchrun_two_processes_on_a_file_equal_one_process(tmp_path):
    ratings = write("csv", tmp_path)
    two, one = tmp_path / "two.safetensors", tmp_path / "one.safetensors"
    done = torchrun(["-m", "collab", "train", str(ratings), *FAST, "--bs", "32", "--out", str(two)])
    assert done.returncode == 0, done.stderr[-3000:]
    assert main(["train", str(ratings), *FAST, "--bs", "32", "--accum", "2", "--out", str(one)]) == 0
    a, b = load(two).model.state_dict(), load(one).model.state_dict()
    for key in b:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=2e-5)
    assert load(two).dataset == load(one).dataset
    # the model file records the step's ratings over both processes: 2 x 32, as the one-process 32 x 2
    assert (load(two).processes, load(two).effective_batch) == (2, 64) and load(one).effective_batch == 64


def test_a_failing_rank_ends_the_job_with_its_message(tmp_path):
    parts = write("folder", tmp_path)
    (parts / "part-00003-abc.snappy.parquet").write_bytes(b"PAR1 damaged")
    started = time.monotonic()
    done = torchrun(["-m", "collab", "train", str(parts), *FAST], timeout=120)
    assert done.returncode != 0
    assert "part-00003-abc.snappy.parquet: could not read the Parquet file" in done.stderr
    assert time.monotonic() - started < 100, "no hang"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("sparse", ["dense", "sparse"])
def test_torchrun_two_processes_on_cuda_equal_one_process(tmp_path, sparse):
    """NCCL with two GPUs, else gloo over one GPU's tensors (NCCL refuses two ranks on one device)."""
    backend = "nccl" if torch.cuda.device_count() >= 2 else "gloo"
    ratings = write("csv", tmp_path)
    two, one = tmp_path / "two.safetensors", tmp_path / "one.safetensors"
    options = [*FAST, "--bs", "32", "--device", "cuda", "--sparse", sparse]
    done = torchrun(
        ["-m", "collab", "train", str(ratings), *options, "--backend", backend, "--out", str(two)]
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert main(["train", str(ratings), *options, "--accum", "2", "--out", str(one)]) == 0
    a, b = load(two).model.state_dict(), load(one).model.state_dict()
    for key in b:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=2e-5)


def test_epoch_bars_draw_a_bar_per_epoch_and_a_line_per_epoch(capsys):
    from collab.cli import EpochBars
    from collab.training.result import EpochStats

    bars = EpochBars(show_bar=True, show_lines=True, epochs=2)
    for step in (1, 2, 3, 4):
        bars.on_batch(step, 8)
    assert bars.bar.n == 4 and bars.bar.total == 4
    bars.on_epoch(EpochStats(1, 2, 1.5, 1.2, 1.1, 0.5, 100.0))
    bars.on_batch(6, 8)
    assert bars.bar is not None and bars.bar.n == 2 and bars.bar.desc.startswith("epoch 2/2")
    bars.close()
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "valid RMSE 1.1000" in err
    quiet = EpochBars(show_bar=False, show_lines=False, epochs=2)
    quiet.on_batch(1, 8)
    quiet.on_epoch(EpochStats(1, 2, 1.5, 1.2, 1.1, 0.5, 100.0))
    assert capsys.readouterr().err == ""


def test_a_missing_model_file_is_named(tmp_path, capsys):
    ratings = write("csv", tmp_path)
    missing = tmp_path / "missing.safetensors"
    assert main(["evaluate", str(missing), str(ratings)]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "None" not in err
    assert main(["recommend", str(missing), "--user", "1"]) == 2
    assert str(missing) in capsys.readouterr().err


def test_reading_options_drop_a_not_rated_code_and_melt_a_matrix(tmp_path, capsys):
    """The reader's options are flags, and the reader's advice names those flags, not read_ratings'."""
    rows = frame(n=400)
    coded = rows.assign(rating=rows["rating"].where(rows.index % 5 != 0, -1))  # a fifth: 'not rated'
    path = tmp_path / "anime.csv"
    coded.to_csv(path, index=False)
    assert main(["train", str(path), *FAST]) == 0
    err = capsys.readouterr().err
    assert "--not-rated -1" in err and "not_rated=" not in err
    assert main(["train", str(path), *FAST, "--not-rated", "-1"]) == 0
    assert f"Dropped {int((coded['rating'] == -1).sum())} rows" in capsys.readouterr().err

    wide = tmp_path / "wide.csv"
    rng = np.random.default_rng(0)
    matrix = rng.uniform(-10, 10, size=(40, 12)).round(2)
    matrix[rng.random(matrix.shape) < 0.3] = 99
    pd.DataFrame(matrix).to_csv(wide, index=False, header=False)
    assert main(["train", str(wide), *FAST]) == 2
    err = capsys.readouterr().err
    assert "--layout wide" in err and "--not-rated 99" in err and 'layout="wide"' not in err
    out = tmp_path / "wide.safetensors"
    assert main(["train", str(wide), *FAST, "--layout", "wide", "--not-rated", "99", "--out", str(out)]) == 0
    assert len(load(out).item_labels) == 12


def test_sep_takes_a_name_and_refuses_a_word(tmp_path, capsys):
    path = tmp_path / "ratings.tsv"
    frame().to_csv(path, index=False, sep="\t")
    assert main(["train", str(path), *FAST, "--sep", "tab"]) == 0
    capsys.readouterr()
    assert main(["train", str(path), *FAST, "--sep", "ab"]) == 2
    err = capsys.readouterr().err
    assert "--sep: give one character" in err and "Traceback" not in err


def test_evaluate_reports_what_the_reader_found_and_a_scale_the_model_does_not_predict(tmp_path, capsys):
    ratings = write("csv", tmp_path)
    model = tmp_path / "m.safetensors"
    assert main(["train", str(ratings), *FAST, "--out", str(model)]) == 0
    capsys.readouterr()
    other = frame().assign(rating=lambda f: f["rating"] * 2)  # the same users and items, on a 2-10 scale
    other.loc[other.index[:40], "rating"] = -1
    path = tmp_path / "other.csv"
    other.to_csv(path, index=False)
    assert main(["evaluate", str(model), str(path)]) == 2  # same ids, other ratings: refused (issue 20)
    assert "ids coincide" in capsys.readouterr().err
    assert main(["evaluate", str(model), str(path), "--force"]) == 0
    err = capsys.readouterr().err
    assert "--not-rated -1" in err and "the range the model predicts" in err
    assert main(["evaluate", str(model), str(path), "--not-rated", "-1", "--force"]) == 0
    assert "Dropped 40 rows" in capsys.readouterr().err


def test_a_validation_share_outside_0_to_1_exits_2(tmp_path, capsys):
    ratings = write("csv", tmp_path)
    for share in ("1", "1.5", "-0.1", "x"):
        with pytest.raises(SystemExit) as stop:
            main(["train", str(ratings), "--valid-pct", share])
        assert stop.value.code == 2
        assert "argument --valid-pct" in capsys.readouterr().err


def test_recommend_prints_titles_from_an_items_file(tmp_path, capsys):
    ratings = write("csv", tmp_path)
    out = tmp_path / "m.safetensors"
    assert main(["train", str(ratings), *FAST, "--out", str(out)]) == 0
    items = tmp_path / "movies.csv"
    pd.DataFrame({"movieId": range(100, 130), "title": [f"Film {i}" for i in range(100, 130)]}).to_csv(
        items, index=False
    )
    capsys.readouterr()
    assert main(["recommend", str(out), "--user", "1", "-n", "3", "--items", str(items)]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["rank", "item", "predicted", "title"] and len(rows) == 3
    for row in rows:
        rank, item, predicted, *title = row.split()
        assert title == ["Film", item]


def test_train_warns_when_the_model_is_no_better_than_predicting_the_mean(tmp_path, capsys):
    from collab.cli import mean_baseline_warning

    assert mean_baseline_warning({"rmse": 0.9, "global_mean_rmse": 1.1}) is None
    assert mean_baseline_warning({}) is None and mean_baseline_warning({"rmse": float("nan")}) is None
    line = mean_baseline_warning({"rmse": 1.2, "global_mean_rmse": 1.1})
    assert line is not None and "worse than predicting the mean (1.1000" in line and "--epochs" in line
    # pure noise, a big learning rate and many factors: the model memorises noise and loses to the mean
    path = tmp_path / "noise.csv"
    frame(seed=3).to_csv(path, index=False)
    report = tmp_path / "metrics.json"
    args = ["train", str(path), "--epochs", "6", "--factors", "32", "--lr", "0.1", "--wd", "0", "--bs", "32"]
    assert main([*args, "--quiet", "--metrics-json", str(report)]) == 0
    saved = json.loads(report.read_text())
    assert saved["metrics"]["rmse"] >= saved["metrics"]["global_mean_rmse"]
    err = capsys.readouterr().err
    assert "worse than predicting the mean" in err and saved["warnings"] == [
        line for line in (mean_baseline_warning(saved["metrics"]),) if line
    ]
