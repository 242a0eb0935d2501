"""`TrainConfig`: every training knob in one frozen, validated, hashable value (the cache key)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from collab.models.implicit import IMPLICIT_MODELS

MODEL_LABELS: dict[str, str] = {
    "dot": "Dot product + biases",
    "nn": "Neural network (EmbeddingNN)",
    "bias": "Biases only (baseline)",
    "classifier": "Rating classifier (cross-entropy)",
    "autorec": "Autoencoder (I-AutoRec)",
    "bpr": "BPR ranking (implicit feedback)",
    "bce": "Binary cross-entropy, sampled negatives (implicit feedback)",
    "bfm": "Bayesian factorization machine (Gibbs sampling)",
}

SCHEDULES = ("one_cycle", "constant")
DEVICES = ("auto", "cpu", "cuda", "mps")
SPARSE_MODES = ("auto", "dense", "sparse")
ROW_STATES = ("adamw", "rowwise")


@dataclass(frozen=True)
class TrainConfig:
    """What to train and how; the defaults are the app's default preset (tuned on MovieLens 100K u1)."""

    model: str = "dot"
    n_factors: int = 64
    # None (the default) for the knobs of MODEL_DEFAULTS: the model's own default, set in __post_init__
    # (never None afterwards); a value given is always kept, whatever it is
    epochs: int = None  # type: ignore[assignment]
    batch_size: int = None  # type: ignore[assignment]
    accum_steps: int = 1
    lr: float = None  # type: ignore[assignment]
    weight_decay: float = 0.7
    decay_biases: bool = False
    # dot model: L2 penalty per rating on the two factor rows (classic MF regularisation); implicit
    # models: per example, on the rows it touches
    l2: float = None  # type: ignore[assignment]
    y_range: tuple[float, float] | None = None  # None: from the data, min to max + 0.5
    schedule: str = "one_cycle"
    seed: int = 42
    device: str = "auto"
    amp: bool = False  # bf16 autocast, only on CUDA
    hidden: tuple[int, ...] = (100,)  # EmbeddingNN hidden layer widths
    dropout: float = 0.1  # EmbeddingNN dropout after each hidden layer
    sparse: str = "auto"  # "sparse": row-wise optimizer touching only batch rows; "auto": by table size
    # optimizer state of the dot model's sparse tables: "adamw" two moments per weight (exact lazy
    # AdamW); "rowwise" one second moment per row, no momentum: a third of the memory traffic
    row_state: str = "adamw"
    negatives: int = None  # type: ignore[assignment]  # implicit models: sampled negatives per positive
    lr_decay: float = None  # type: ignore[assignment]  # implicit models: lr x this after every epoch

    def __post_init__(self) -> None:
        if self.model not in MODEL_LABELS:
            raise ValueError(f"model must be one of {sorted(MODEL_LABELS)}, got {self.model!r}")
        for name, value in model_defaults(self.model).items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        _check_int("n_factors", self.n_factors, 1, 4096)
        _check_int("epochs", self.epochs, 1, 1000)
        _check_int("batch_size", self.batch_size, 1, 1 << 22)
        if self.batch_size % 8:
            low = self.batch_size // 8 * 8
            nearest = " or ".join(str(n) for n in sorted({max(low, 8), low + 8}))
            raise ValueError(
                f"batch_size must be a multiple of 8 (hardware works in blocks of 8: vector units and "
                f"tensor cores waste the remainder), got {self.batch_size}; try {nearest}"
            )
        _check_int("accum_steps", self.accum_steps, 1, 1024)
        if not (_is_number(self.lr) and 0 < self.lr <= 10):
            raise ValueError(f"lr must be a number in (0, 10], got {self.lr!r}")
        if not (_is_number(self.weight_decay) and 0 <= self.weight_decay <= 100):
            raise ValueError(f"weight_decay must be a number in [0, 100], got {self.weight_decay!r}")
        if not (_is_number(self.l2) and 0 <= self.l2 <= 100):
            raise ValueError(f"l2 must be a number in [0, 100], got {self.l2!r}")
        if self.y_range is not None:
            if (
                isinstance(self.y_range, str)
                or len(self.y_range) != 2
                or not all(_is_number(v) for v in self.y_range)
                or not float(self.y_range[0]) < float(self.y_range[1])
            ):
                raise ValueError(f"y_range must be (low, high) with low < high, got {self.y_range!r}")
            object.__setattr__(self, "y_range", (float(self.y_range[0]), float(self.y_range[1])))
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {self.schedule!r}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {list(DEVICES)}, got {self.device!r}")
        if self.sparse not in SPARSE_MODES:
            raise ValueError(f"sparse must be one of {list(SPARSE_MODES)}, got {self.sparse!r}")
        if self.row_state not in ROW_STATES:
            raise ValueError(f"row_state must be one of {list(ROW_STATES)}, got {self.row_state!r}")
        hidden = tuple(self.hidden)
        if not hidden or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
            raise ValueError(f"hidden must be one or more positive layer widths, got {self.hidden!r}")
        object.__setattr__(self, "hidden", hidden)
        if not (_is_number(self.dropout) and 0 <= self.dropout < 1):
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        _check_int("negatives", self.negatives, 1, 100)
        if not (_is_number(self.lr_decay) and 0 < self.lr_decay <= 1):
            raise ValueError(f"lr_decay must be a number in (0, 1], got {self.lr_decay!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        for flag in ("decay_biases", "amp"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"{flag} must be True or False, got {getattr(self, flag)!r}")

    @property
    def effective_batch(self) -> int:
        """Ratings behind one optimizer step: batch_size x accum_steps."""
        return self.batch_size * self.accum_steps

    def size_phrase(self, n_users: int | None = None, n_items: int | None = None) -> str:
        """What the model really sizes its tables by: factors, the NN's own embedding widths, or none."""
        if self.model == "bias":
            return "no factors"
        if self.model == "nn":
            if n_users is None or n_items is None:
                return f"fastai-sized embeddings, hidden {'-'.join(map(str, self.hidden))}, dropout {self.dropout:g}"
            from collab.models.base import embedding_size

            return (
                f"embeddings {embedding_size(n_users)} (users) and {embedding_size(n_items)} (items), "
                f"hidden {'-'.join(map(str, self.hidden))}, dropout {self.dropout:g}"
            )
        return f"{self.n_factors} factors"

    def describe(self, n_users: int | None = None, n_items: int | None = None) -> str:
        """One line for the UI: model, size, schedule and regularisation (with the vocabulary sizes, the
        neural net's real embedding widths)."""
        if self.model in IMPLICIT_MODELS:
            decay = f", lr x {self.lr_decay:g} per epoch" if self.lr_decay != 1 else ""
            return (
                f"{MODEL_LABELS[self.model]}, {self.n_factors} factors, {self.negatives} negative(s) per "
                f"positive, {self.epochs} epochs, lr {self.lr:g}{decay}, L2 {self.l2:g}, seed {self.seed}"
            )
        if self.model == "bfm":
            return (
                f"{MODEL_LABELS[self.model]}, rank {self.n_factors}, 2 chains x {self.epochs} sweeps, "
                f"features: user + items rated, item + users who rated, day; seed {self.seed}"
            )
        if self.model == "autorec":
            return (
                f"{MODEL_LABELS[self.model]}, {self.n_factors} hidden units, {self.epochs} rounds of 10 L-BFGS "
                f"iterations, L2 {self.weight_decay:g}, seed {self.seed}"
            )
        accum = f" x {self.accum_steps} accum = {self.effective_batch}" if self.accum_steps > 1 else ""
        return (
            f"{MODEL_LABELS[self.model]}, {self.size_phrase(n_users, n_items)}, {self.epochs} epochs, "
            f"batch {self.batch_size}{accum}, lr {self.lr:g} ({self.schedule}), wd {self.weight_decay:g}"
            f"{' (biases too)' if self.decay_biases else ''}, seed {self.seed}"
        )

    def without_unused(self) -> TrainConfig:
        """This config with the knobs its model does not read set to their defaults: the number of
        latent factors for the neural net (it sizes its own embeddings) and the biases-only model, the
        hidden layer and dropout for every model but the neural net. Two configs that train the same
        model are then equal, so a cache keyed by them does not train it twice. (AutoRec reads
        `n_factors` as its hidden units and is left as it is.)"""
        if self.model in ("autorec", "bfm"):
            return self
        default = TrainConfig()
        changes: dict[str, Any] = {}
        if self.model in ("nn", "bias"):
            changes["n_factors"] = default.n_factors
        if self.model != "nn":
            changes.update(hidden=default.hidden, dropout=default.dropout)
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> TrainConfig:
        """Rebuild (and re-validate) from `to_dict` output; unknown keys raise ValueError."""
        unknown = set(fields) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown TrainConfig fields: {sorted(unknown)}")
        values = dict(fields)
        if values.get("y_range") is not None:
            values["y_range"] = tuple(values["y_range"])
        if "hidden" in values:
            values["hidden"] = tuple(values["hidden"])
        return cls(**values)


# Knobs whose default depends on the model: TrainConfig's fields default to None and take these in
# __post_init__, so TrainConfig(model="bpr") trains well and TrainConfig(model="bpr", epochs=5) trains
# 5 epochs (a value the user gives is never replaced, even when it equals another model's default).
# Rating models (tuned on MovieLens 100K u1):
MODEL_DEFAULTS: dict[str, Any] = {
    "epochs": 5,
    "batch_size": 512,
    "lr": 0.01,
    "l2": 0.0,
    "negatives": 1,
    "lr_decay": 1.0,
}
# The implicit models (tuned on ML-100K u1 as interactions, compiled SGD path):
IMPLICIT_DEFAULTS: dict[str, dict[str, Any]] = {
    "bpr": {"epochs": 120, "lr": 0.04, "l2": 0.02, "negatives": 1, "lr_decay": 0.98, "batch_size": 1024},
    "bce": {"epochs": 60, "lr": 0.03, "l2": 0.02, "negatives": 2, "lr_decay": 0.97, "batch_size": 1024},
}


def model_defaults(model: str) -> dict[str, Any]:
    """The defaults of the model-dependent knobs (MODEL_DEFAULTS' names) for `model`."""
    return {**MODEL_DEFAULTS, **IMPLICIT_DEFAULTS.get(model, {})}


def default_phrase(name: str) -> str:
    """A field's default in words: "5; bpr 120, bce 60" for the model-dependent knobs."""
    if name not in MODEL_DEFAULTS:
        return str(TrainConfig.__dataclass_fields__[name].default)
    per_model = ", ".join(f"{model} {values[name]}" for model, values in IMPLICIT_DEFAULTS.items())
    return f"{MODEL_DEFAULTS[name]}; {per_model}"


def _is_number(value: object) -> bool:
    """A real number, not a bool (True is an int to Python, but lr=True is a mistake), not NaN."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


# the command line's short flags, accepted as keyword names too: TrainConfig(factors=64) is n_factors=64
ALIASES = {"factors": "n_factors", "bs": "batch_size", "wd": "weight_decay", "accum": "accum_steps"}


def _accept_aliases(cls: type) -> type:
    """Let `cls(...)` take the command line's names (`ALIASES`) and say which field an unknown keyword
    probably meant, instead of Python's bare "unexpected keyword argument"."""
    import difflib
    import functools

    init = cls.__init__
    names = [f for f in cls.__dataclass_fields__]  # type: ignore[attr-defined]

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        for alias, field_name in ALIASES.items():
            if alias in kwargs:
                if field_name in kwargs:
                    raise TypeError(
                        f"TrainConfig got both {alias}= and {field_name}= (the same field); give one"
                    )
                kwargs[field_name] = kwargs.pop(alias)
        unknown = [key for key in kwargs if key not in names]
        if unknown:
            near = difflib.get_close_matches(unknown[0], names, n=1)
            hint = f"; did you mean {near[0]}=?" if near else f"; its fields: {', '.join(names)}"
            raise TypeError(f"TrainConfig has no field {unknown[0]!r}{hint}")
        init(self, *args, **kwargs)

    cls.__init__ = __init__  # type: ignore[method-assign]
    return cls


_accept_aliases(TrainConfig)

PRESETS: dict[str, TrainConfig] = {
    "default": TrainConfig(),
    # smaller batches, more factors, longer: tuned on u1 (dense AdamW, as tuned)
    "best": TrainConfig(n_factors=128, epochs=8, batch_size=128, lr=0.003, weight_decay=0.5, sparse="dense"),
    # fastbook lesson 7's own settings: learn.fit_one_cycle(5, 5e-3, wd=0.1) on 50 factors, batch 64
    "fastbook": TrainConfig(n_factors=50, epochs=5, batch_size=64, lr=5e-3, weight_decay=0.1),
    # I-AutoRec: n_factors = hidden units, epochs = rounds of 10 L-BFGS iterations, weight_decay = L2
    # per rating (the paper's lambda 150 / 80,000 ratings); batch size and lr do not apply (full batch)
    "autorec": TrainConfig(model="autorec", n_factors=500, epochs=15, weight_decay=0.002),
    # Bayesian factorization machine: n_factors = rank, epochs = Gibbs sweeps per chain (two chains);
    # "timeSVD++ flipped" features from the training ratings (collab.training.bayes_fm)
    "bfm": TrainConfig(model="bfm", n_factors=10, epochs=256),
    # implicit feedback (read with implicit="binary"): the tuned defaults of IMPLICIT_DEFAULTS
    "bpr": TrainConfig(model="bpr"),
    "bce": TrainConfig(model="bce"),
}


AUTO_EPOCH_STEPS = 150  # optimizer steps the "auto" epochs setting aims for (at least 5, at most 30 epochs)


def auto_epochs(n_train: int, effective_batch: int = 512) -> int:
    """Epochs for `n_train` training ratings at `effective_batch` ratings per step: enough epochs for
    about `AUTO_EPOCH_STEPS` optimizer steps, between 5 (the default: MovieLens 100K and up take 157+
    steps per epoch) and 30 (3,000 ratings take 5 steps per epoch, so 5 epochs end far from converged)."""
    steps_per_epoch = max(1, math.ceil(max(n_train, 1) / max(effective_batch, 1)))
    return min(30, max(5, math.ceil(AUTO_EPOCH_STEPS / steps_per_epoch)))
