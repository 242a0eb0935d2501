"""Session-state keys and typed getters: the one place that knows what lives in `st.session_state`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from ui import cached

if TYPE_CHECKING:
    from collab.data import Ratings, Split
    from collab.training.blend import BlendResult
    from collab.training.config import TrainConfig
    from collab.training.result import TrainResult

DATASET = "dataset"  # Ratings: the current dataset
DATASET_SOURCE = "dataset_source"  # str: where it came from, for the sidebar
SPLIT_PARAMS = "split_params"  # SplitParams
RESULT = "result"  # TrainedModel: the current model
RUNS = "runs"  # list[RunRecord]: every run of this session, for the comparison table
SWEEP = "sweep"  # dict[float, TrainResult]: the last weight-decay sweep
BLEND = "blend"  # TrainedBlend: the last blend
MESSAGE = "flash_message"  # str: a one-shot notice shown on the next run of a page


@dataclass(frozen=True)
class SplitParams:
    """How the current dataset is split into training and validation sets (part of the training cache key)."""

    valid_pct: float = 0.2
    seed: int = 42
    method: str = "random"


@dataclass(frozen=True)
class TrainedModel:
    """A trained result together with the dataset and split it was trained on."""

    result: TrainResult
    fingerprint: str
    split_params: SplitParams


@dataclass(frozen=True)
class RunRecord:
    """One row of the session's run table."""

    model: str
    summary: str
    rmse: float
    mae: float
    seconds: float
    cached: bool
    dataset: str
    config: TrainConfig | None = None  # the settings, for the table's columns (None for a blend)
    source: str = "Train"  # what trained it: Train, the sweep, a preset, the blend
    size: str = ""  # what the model really sized its tables by (factors, the NN's embedding widths, none)
    mean_rmse: float = float("nan")  # predict-the-mean RMSE on the same validation set


def ratings() -> Ratings:
    """The current dataset; the built-in demo set until the user loads another."""
    if DATASET not in st.session_state:
        st.session_state[DATASET] = cached.demo()
        st.session_state[DATASET_SOURCE] = "Built-in demo set"
    return st.session_state[DATASET]


def dataset_source() -> str:
    """A short description of where the current dataset came from."""
    ratings()
    return st.session_state[DATASET_SOURCE]


def set_ratings(new: Ratings, source: str) -> None:
    """Make `new` the current dataset; a model trained on other data is put aside."""
    old = st.session_state.get(DATASET)
    st.session_state[DATASET] = new
    st.session_state[DATASET_SOURCE] = source
    if old is None or old.fingerprint != new.fingerprint:
        st.session_state.pop(SWEEP, None)
        st.session_state.pop(BLEND, None)


def split_params() -> SplitParams:
    """The current validation split settings."""
    return st.session_state.get(SPLIT_PARAMS, SplitParams())


def set_split_params(params: SplitParams) -> None:
    st.session_state[SPLIT_PARAMS] = params


def split() -> Split:
    """The current dataset split by the current settings (cached per dataset and settings)."""
    data = ratings()
    return cached.split(data, data.fingerprint, split_params())


def trained() -> TrainedModel | None:
    """The current model with its provenance, if it was trained on the current dataset."""
    model = st.session_state.get(RESULT)
    if model is None or model.fingerprint != ratings().fingerprint:
        return None
    return model


def result() -> TrainResult | None:
    """The current trained model, or None when there is none for the current dataset."""
    model = trained()
    return None if model is None else model.result


def set_result(new: TrainResult, params: SplitParams | None = None) -> None:
    """Make `new` the current model (trained on the current dataset and split)."""
    st.session_state[RESULT] = TrainedModel(new, ratings().fingerprint, params or split_params())


def runs() -> list[RunRecord]:
    """Every run of this session, oldest first."""
    return st.session_state.setdefault(RUNS, [])


def add_run(record: RunRecord) -> None:
    runs().append(record)


def sweep() -> dict[float, TrainResult] | None:
    """The last weight-decay sweep on the current dataset, by weight decay."""
    return st.session_state.get(SWEEP)


def set_sweep(results: dict[float, TrainResult]) -> None:
    st.session_state[SWEEP] = results


@dataclass(frozen=True)
class TrainedBlend:
    """A blend together with the dataset and split it was trained on."""

    blend: BlendResult
    fingerprint: str
    split_params: SplitParams


def blend() -> BlendResult | None:
    """The last blend, if it was trained on the current dataset and split."""
    record = st.session_state.get(BLEND)
    if record is None or record.fingerprint != ratings().fingerprint or record.split_params != split_params():
        return None
    return record.blend


def set_blend(new: BlendResult) -> None:
    st.session_state[BLEND] = TrainedBlend(new, ratings().fingerprint, split_params())


def flash(message: str) -> None:
    """Keep a notice for the next run (survives st.rerun)."""
    st.session_state[MESSAGE] = message


def pop_flash() -> str | None:
    return st.session_state.pop(MESSAGE, None)
