"""Save and load a `TrainResult` as one safetensors file: raw tensors plus JSON metadata, never pickle.

The header's metadata holds the config, vocabulary, history, metrics, a format version and a
checksum of the tensor bytes; loading validates all of it and rebuilds the model from the config,
so a foreign, tampered or truncated file raises `ModelFileError` (a ValueError) and runs no code.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from collab.data.guards import text_array
from collab.data.ratings import MAX_RATINGS
from collab.models.registry import build_model
from collab.training.config import TrainConfig

if TYPE_CHECKING:
    from collab.training.result import TrainResult

# Bounds on what a file's metadata may declare, checked before a model is built at that size.
MAX_TABLE_ROWS = 50_000_000  # users or items
MAX_RATING_VALUES = 1_000  # classes of the rating classifier
MAX_HISTORY = 100_000  # epochs
MAX_LABEL_CHARS = 1024  # a user or item label (the reader's bound on one field, collab.data.guards)
FORMAT = "collab-lab-model"
FORMAT_VERSION = 1
METADATA_KEY = "collab_lab"


class ModelFileError(ValueError):
    """A file that is not a valid Collab Lab model (foreign, tampered, truncated or too new)."""


def _checksum(tensors: dict[str, torch.Tensor]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(str(tuple(tensors[name].shape)).encode())
        digest.update(tensors[name].contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _model_args(result: TrainResult) -> dict[str, Any]:
    values = getattr(result.model, "rating_values", None)
    return {
        "n_users": len(result.user_labels),
        "n_items": len(result.item_labels),
        "y_range": list(result.y_range),
        "rating_values": None if values is None else [float(v) for v in values],
        "sparse": bool(result.sparse),
        "n_ratings": int(getattr(result.model, "rated_values", torch.zeros(0)).numel()),
    }


def save_result(result: TrainResult, path: str | Path) -> Path:
    """Write `result` to `path` (conventionally *.safetensors) and return the path."""
    path = Path(path)
    # clone: parameters may be views into one optimizer buffer, and safetensors refuses shared storage
    tensors = {name: t.detach().cpu().clone() for name, t in result.model.state_dict().items()}
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": result.config.to_dict(),
        "model_args": _model_args(result),
        "user_labels": [str(label) for label in result.user_labels],
        "item_labels": [str(label) for label in result.item_labels],
        "history": [asdict(stats) for stats in result.history],
        "metrics": {k: float(v) for k, v in result.metrics.items()},
        "seconds": float(result.seconds),
        "device": result.device,
        "best_epoch": int(result.best_epoch),
        "stopped_early": bool(result.stopped_early),
        "optimizer": result.optimizer,
        "dataset": result.dataset,
        # one optimizer step's ratings over every process: processes x batch_size x accum_steps
        "processes": int(getattr(result, "processes", 1)),
        "effective_batch": int(getattr(result, "processes", 1)) * result.config.effective_batch,
        "checksum": _checksum(tensors),
    }
    save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(metadata)})
    return path


def _read(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            header = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ModelFileError(f"{path.name} is not a safetensors model file: {error}") from None
    if METADATA_KEY not in header:
        raise ModelFileError(
            f"{path.name} is a safetensors file but not a Collab Lab model (no {METADATA_KEY!r} metadata)"
        )
    try:
        metadata = json.loads(header[METADATA_KEY])
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path.name}: the model metadata is not valid JSON ({error})") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path.name}: metadata does not describe a {FORMAT!r} file")
    return metadata, tensors


def _declared_sizes(args: dict[str, Any], metadata: dict[str, Any]) -> tuple[int, int, int]:
    """(n_users, n_items, n_ratings) as declared, each checked to be a whole number within its bound."""
    bounds = {"n_users": MAX_TABLE_ROWS, "n_items": MAX_TABLE_ROWS, "n_ratings": MAX_RATINGS}
    sizes = []
    for name, bound in bounds.items():
        value = args.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= bound:
            raise ValueError(f"{name} is {value!r}, not a whole number from 0 to {bound:,}")
        sizes.append(value)
    values = args.get("rating_values")
    if values is not None and (not isinstance(values, list) or len(values) > MAX_RATING_VALUES):
        raise ValueError(f"rating_values must be a list of at most {MAX_RATING_VALUES} numbers")
    if not isinstance(metadata.get("history"), list) or len(metadata["history"]) > MAX_HISTORY:
        raise ValueError(f"history must be a list of at most {MAX_HISTORY:,} epochs")
    return sizes[0], sizes[1], sizes[2]


def _labels(values: object, name: str) -> np.ndarray:
    """A label list from the metadata as numpy text, each label checked (text, at most `MAX_LABEL_CHARS`)
    before any array exists, and stored by `text_array`: one long label costs its own length, never
    count x longest (65,536 labels with one of 1,024 characters were 256 MB as a fixed-width array)."""
    if not isinstance(values, list):
        raise ValueError(f"{name} must be a list")
    for index, value in enumerate(values):
        if not isinstance(value, str | int):
            raise ValueError(f"{name}[{index}] is {type(value).__name__}, not a text label")
        if isinstance(value, str) and len(value) > MAX_LABEL_CHARS:
            raise ValueError(
                f"{name}[{index}] is a label of {len(value):,} characters, more than {MAX_LABEL_CHARS:,}"
            )
    return text_array(np.asarray([str(x) for x in values], dtype=object))


def _finite_range(values: object) -> tuple[float, float]:
    """`y_range` from the metadata: two finite numbers, low below high (a NaN range predicts NaN everywhere
    and an inverted one maps every score onto the wrong end), checked like the tensors are."""
    if not isinstance(values, list) or len(values) != 2:
        raise ValueError(f"y_range must be a list of two numbers, not {values!r:.80}")
    low, high = (_number(v, "y_range") for v in values)
    if not low < high:
        raise ValueError(f"y_range is ({low:g}, {high:g}): the low end must be below the high end")
    return low, high


def _number(value: object, name: str) -> float:
    """A finite float from the metadata (bools and text refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        raise ValueError(f"{name} holds {value!r:.40}, not a finite number")
    return float(value)


def _check_shapes(name: str, build: tuple, tensors: dict[str, torch.Tensor]) -> None:
    """Build the model on the meta device (no memory) and compare every tensor's shape with the file's."""
    with torch.device("meta"):
        skeleton = build_model(*build)
    expected = {key: tuple(value.shape) for key, value in skeleton.state_dict().items()}
    found = {key: tuple(value.shape) for key, value in tensors.items()}
    if expected.keys() != found.keys():
        missing, extra = sorted(expected.keys() - found.keys()), sorted(found.keys() - expected.keys())
        raise ModelFileError(
            f"{name}: the tensors do not match the model its metadata describes "
            f"(missing: {missing[:5]}, unexpected: {extra[:5]})"
        )
    for key, shape in expected.items():
        if found[key] != shape:
            raise ModelFileError(
                f"{name}: tensor {key!r} has shape {list(found[key])}, but the metadata describes "
                f"{list(shape)}; the file was modified"
            )


def read_result_fields(path: str | Path) -> dict[str, Any]:
    """Read and validate a file written by `save_result`: the fields of its `TrainResult`, with the
    history as plain dicts (`collab.training.result.load` builds the result). Raises ModelFileError."""
    path = Path(path)
    metadata, tensors = _read(path)
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path.name} has format version {version!r}; this Collab Lab reads version {FORMAT_VERSION}"
        )
    if metadata.get("checksum") != _checksum(tensors):
        raise ModelFileError(f"{path.name}: tensor checksum mismatch, the file was modified or truncated")
    try:
        config = TrainConfig.from_dict(metadata["config"])
        args = metadata["model_args"]
        user_labels = _labels(metadata["user_labels"], "user_labels")
        item_labels = _labels(metadata["item_labels"], "item_labels")
        if len(user_labels) != args["n_users"] or len(item_labels) != args["n_items"]:
            raise ValueError("label counts do not match the model's table sizes")
        y_range = _finite_range(args["y_range"])
        sizes = _declared_sizes(args, metadata)
        values = args["rating_values"]
        if values is not None:
            args["rating_values"] = [_number(v, "rating_values") for v in values]
        build = (config, *sizes[:2], y_range, args["rating_values"], bool(args["sparse"]), sizes[2])
        _check_shapes(path.name, build, tensors)  # before anything is allocated at the declared sizes
        model = build_model(*build)
        model.load_state_dict(tensors, strict=True)
        history = [dict(stats) for stats in metadata["history"]]
        metrics = {
            str(k)[:100]: float(v) for k, v in metadata["metrics"].items()
        }  # nan: a metric not computed
        seconds = _number(metadata["seconds"], "seconds")
        if seconds < 0:
            raise ValueError(f"seconds is {seconds:g}, not a duration")
        fields = dict(
            model=model.eval(),
            config=config,
            user_labels=user_labels,
            item_labels=item_labels,
            y_range=y_range,
            history=history,
            metrics=metrics,
            seconds=seconds,
            device=str(metadata["device"]),
            best_epoch=int(metadata["best_epoch"]),
            stopped_early=bool(metadata["stopped_early"]),
            sparse=bool(args["sparse"]),
            optimizer=str(metadata.get("optimizer", "")),
            dataset=str(metadata.get("dataset", "")),
            processes=_processes(metadata.get("processes", 1)),
        )
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as error:
        raise ModelFileError(
            f"{path.name}: invalid model metadata or tensors ({type(error).__name__}: {error})"
        ) from None
    except MemoryError:
        raise ModelFileError(f"{path.name}: the model is too large to load in this memory") from None
    if not all(math.isfinite(float(t.float().abs().max())) for t in tensors.values() if t.numel()):
        raise ModelFileError(f"{path.name}: the model has non-finite weights")
    return fields


def _processes(value: object) -> int:
    """The saved process count (1 for files written before it was recorded)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1_000_000:
        raise ModelFileError(f"invalid model metadata: processes must be a positive integer, got {value!r}")
    return value
