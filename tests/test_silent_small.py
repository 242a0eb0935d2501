"""No silent wrong results (issue 20), defect 7: the small ones, each with the message it now gives."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from collab import read_ratings, recommend_new_user, train
from collab.cli import main
from collab.data.errors import DataError
from collab.training.config import TrainConfig
from tests.test_cli import FAST, frame

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    frame().to_csv(folder / "r.csv", index=False)
    assert main(["train", str(folder / "r.csv"), *FAST, "--out", str(folder / "m.safetensors")]) == 0
    return folder


def test_fold_in_ratings_must_lie_on_the_models_scale() -> None:
    ratings = read_ratings(frame())
    result = train(ratings, None, TrainConfig(n_factors=4, epochs=1, batch_size=64))
    item = str(ratings.item_labels[0])
    with pytest.raises(ValueError, match="outside 0 to 5.5, the scale this model predicts on"):
        recommend_new_user(result, {item: 99})
    assert len(recommend_new_user(result, {item: 5}, n=3)) == 3


def test_a_folder_is_named_as_a_folder(tmp_path) -> None:
    (tmp_path / "notes.md").write_text("x")
    with pytest.raises(DataError, match="is a folder, not a ratings file"):
        read_ratings(tmp_path)
    assert main(["train", str(tmp_path), *FAST]) == 2  # the command line reads folders as parts


def test_the_cli_folder_of_parts_hint_says_what_the_folder_holds(tmp_path, capsys) -> None:
    (tmp_path / "notes.md").write_text("x")
    assert main(["train", str(tmp_path), *FAST]) == 2
    err = capsys.readouterr().err
    assert "is a folder, read as a folder of part files" in err and "it holds notes.md" in err


def test_train_config_takes_the_command_lines_names_and_points_at_a_near_miss() -> None:
    assert TrainConfig(factors=64, bs=128, wd=0.1, accum=2) == TrainConfig(
        n_factors=64, batch_size=128, weight_decay=0.1, accum_steps=2
    )
    with pytest.raises(TypeError, match="did you mean n_factors="):
        TrainConfig(n_factor=3)
    with pytest.raises(TypeError, match="both factors= and n_factors="):
        TrainConfig(factors=3, n_factors=4)


def test_cli_version_and_quiet_on_every_command(model, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("collab ")
    m, r = str(model / "m.safetensors"), str(model / "r.csv")
    assert main(["evaluate", m, r]) == 0
    assert "scored on the data it was trained on" in capsys.readouterr().err
    assert main(["evaluate", m, r, "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["recommend", m, "--user", "1", "--ratings", r, "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["evaluate", m, str(model / "missing.csv"), "--quiet"]) == 2  # errors still said
    assert "error" in capsys.readouterr().err


def test_recommend_all_users_as_csv_and_json(model, capsys) -> None:
    m, r = str(model / "m.safetensors"), str(model / "r.csv")
    assert main(["recommend", m, "--all", "-n", "3", "--ratings", r, "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(table.columns) == ["user", "rank", "item", "title", "score"]
    assert table.user.nunique() == read_ratings(frame()).n_users and table["rank"].max() == 3
    seen = set(zip(frame().userId, frame().movieId, strict=True))
    assert not seen & set(zip(table.user, table.item, strict=True))  # rated items left out
    assert main(["recommend", m, "--all", "-n", "2", "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 * table.user.nunique() and rows[0]["rank"] == 1 and rows[0]["title"] is None


def test_a_closed_pipe_ends_quietly(model) -> None:
    command = (
        f"{sys.executable} -m collab recommend {model / 'm.safetensors'} --all -n 50 --format csv | head -n 2"
    )
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert done.stdout.splitlines()[0] == "user,rank,item,title,score"
    assert "Traceback" not in done.stderr and "Broken pipe" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
