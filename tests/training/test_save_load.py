"""Save and load: identical predictions back; foreign or tampered files fail clearly, run nothing."""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import collab
from collab.training.io import ModelFileError
from collab.training.loop import train
from tests.training.test_loop import TRAIN, VALID, small

MODELS = ("dot", "nn", "bias", "classifier")


@pytest.fixture(scope="module")
def results() -> dict[str, collab.TrainResult]:
    trained = {model: train(TRAIN, VALID, small(model=model, epochs=1, sparse="dense")) for model in MODELS}
    trained["dot-sparse"] = train(TRAIN, VALID, small(epochs=1, sparse="sparse"))
    return trained


@pytest.mark.parametrize("model", [*MODELS, "dot-sparse"])
def test_round_trip_gives_identical_predictions(results: dict, model: str, tmp_path: Path) -> None:
    result = results[model]
    path = result.save(tmp_path / "model.safetensors")
    loaded = collab.load(path)
    users, items = TRAIN.user_ids[:50], TRAIN.item_ids[:50]
    np.testing.assert_array_equal(loaded.predict_ids(users, items), result.predict_ids(users, items))
    assert loaded.config == result.config and loaded.history == result.history
    assert loaded.metrics == result.metrics and loaded.y_range == result.y_range
    assert list(loaded.user_labels) == list(result.user_labels)
    assert loaded.predict(["u3"], ["i2"]) == pytest.approx(result.predict(["u3"], ["i2"]))
    assert loaded.optimizer == result.optimizer and loaded.dataset == result.dataset


def test_the_dataset_fingerprint_travels_with_the_model(results: dict, tmp_path: Path) -> None:
    import dataclasses

    stamped = dataclasses.replace(results["dot"], dataset="a" * 64)
    assert collab.load(stamped.save(tmp_path / "stamped.safetensors")).dataset == "a" * 64


def _header_and_body(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8 : 8 + size]), raw[8 + size :]


def _write(path: Path, header: dict, body: bytes) -> None:
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + body)


def test_tampered_weights_are_detected(results: dict, tmp_path: Path) -> None:
    path = results["dot"].save(tmp_path / "model.safetensors")
    header, body = _header_and_body(path)
    _write(path, header, body[:-4] + b"\x00\x00\x80\x7f")  # last float becomes inf
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        collab.load(path)


def test_tampered_metadata_is_rejected(results: dict, tmp_path: Path) -> None:
    path = results["dot"].save(tmp_path / "model.safetensors")
    header, body = _header_and_body(path)
    meta = json.loads(header["__metadata__"]["collab_lab"])
    meta["config"]["batch_size"] = 100
    header["__metadata__"]["collab_lab"] = json.dumps(meta)
    _write(path, header, body)
    with pytest.raises(ModelFileError, match="multiple of 8"):
        collab.load(path)
    meta["format_version"] = 99
    header["__metadata__"]["collab_lab"] = json.dumps(meta)
    _write(path, header, body)
    with pytest.raises(ModelFileError, match="format version 99"):
        collab.load(path)


def _edit_metadata(path: Path, change) -> None:
    header, body = _header_and_body(path)
    meta = json.loads(header["__metadata__"]["collab_lab"])
    change(meta)
    header["__metadata__"]["collab_lab"] = json.dumps(meta)
    _write(path, header, body)


@pytest.mark.parametrize(
    ("y_range", "match"),
    [([float("nan"), 5.0], "not a finite number"), ([5.5, 0.5], "below the high end"), ([1, "5"], "finite")],
)
def test_a_nan_or_inverted_y_range_is_refused(results: dict, tmp_path: Path, y_range, match) -> None:
    """The checksum covers the tensors only: the metadata's numbers are checked like them (a NaN range
    loaded, predicted NaN everywhere and still showed its stored RMSE)."""
    path = results["dot"].save(tmp_path / "model.safetensors")
    _edit_metadata(path, lambda meta: meta["model_args"].__setitem__("y_range", y_range))
    with pytest.raises(ModelFileError, match=match):
        collab.load(path)


def test_one_long_label_costs_its_own_length(results: dict, tmp_path: Path) -> None:
    """65,536 labels with one of 1,024 characters were a 256 MB fixed-width array; now the labels are
    stored each at its own size, and a label over the bound is refused naming its place."""
    path = results["dot"].save(tmp_path / "model.safetensors")
    loaded = collab.load(path)
    labels = list(loaded.user_labels)
    labels[-1] = "x" * 1024
    _edit_metadata(path, lambda meta: meta.__setitem__("user_labels", labels))
    wide = collab.load(path)
    assert wide.user_labels[-1] == "x" * 1024  # stored through text_array (tests/data: its sizes)
    labels[0] = "y" * 1025
    _edit_metadata(path, lambda meta: meta.__setitem__("user_labels", labels))
    with pytest.raises(ModelFileError, match=r"user_labels\[0\] is a label of 1,025 characters"):
        collab.load(path)


class _Exploit:
    def __reduce__(self) -> tuple:
        return (Path.touch, (Path(self.marker),))


def test_a_pickle_is_refused_without_running_it(tmp_path: Path) -> None:
    exploit = _Exploit()
    exploit.marker = str(tmp_path / "pwned")
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps(exploit))
    with pytest.raises(ModelFileError, match="not a safetensors model file"):
        collab.load(path)
    assert not (tmp_path / "pwned").exists()


def test_foreign_safetensors_and_garbage_are_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "other.safetensors"
    save_file({"weight": torch.zeros(3)}, str(foreign), metadata={"name": "someone else"})
    with pytest.raises(ModelFileError, match="not a Collab Lab model"):
        collab.load(foreign)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 3)
    with pytest.raises(ValueError, match="not a safetensors model file"):
        collab.load(garbage)
    with pytest.raises(FileNotFoundError):
        collab.load(tmp_path / "missing.safetensors")


def test_a_model_saved_before_the_package_layout_still_loads():
    """tests/fixtures/models/dot_before_layout.safetensors was written by the flat-module code (stop 16):
    4 factors, 2 epochs on demo_ratings(seed=0).split(seed=0); its predictions are recorded here."""
    path = Path(__file__).parents[1] / "fixtures" / "models" / "dot_before_layout.safetensors"
    result = collab.load(path)
    assert result.config.model == "dot" and result.config.n_factors == 4
    assert result.metrics["rmse"] == pytest.approx(0.8180923285165375)
    predicted = result.predict(["1", "2", "3", "4", "5"], ["1", "2", "3", "4", "5"])
    expected = [
        2.9368720054626465,
        3.883469581604004,
        3.4977405071258545,
        2.8685224056243896,
        2.8474950790405273,
    ]
    np.testing.assert_allclose(predicted, expected, rtol=1e-6)
