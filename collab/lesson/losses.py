"""The loss at the last layer written out step by step: softmax, log-softmax, cross-entropy, sigmoid, BCE.

Each function is the textbook formula in a few tensor operations, so the playground page can show
every intermediate number and a test can hold it against `torch.nn.functional`. The `*_breakdown`
functions bundle those numbers into frozen results for display; they work in float32, the type a
network trains in, so the overflow the page demonstrates is the one a student would meet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

MIN_CLASSES = 2
MAX_CLASSES = 10
MAX_LABELS = 10
FASTBOOK_SEED = 42
FASTBOOK_TARGETS = (0, 1, 0, 1, 1, 0)
FASTBOOK_CLASSES = ("3", "7")  # chapter 5's two columns: "is a 3" and "is a 7"


class LossInputError(ValueError):
    """Bad playground input (empty table, a blank or non-numeric cell, one class): the message says the fix."""


# --- the formulas --------------------------------------------------------------------------------


def naive_softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """exp(x) / sum(exp(x)) exactly as written: overflows to inf/nan once a logit passes ~88.7 in float32."""
    exps = logits.exp()
    return exps / exps.sum(dim=dim, keepdim=True)


def logsumexp(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m the largest logit, so nothing overflows."""
    largest = logits.amax(dim=dim, keepdim=True)
    # an all -inf row would give -inf - -inf = nan; shifting by 0 there keeps it -inf as in torch
    largest = torch.where(torch.isfinite(largest), largest, torch.zeros_like(largest))
    return (largest + (logits - largest).exp().sum(dim=dim, keepdim=True).log()).squeeze(dim)


def log_softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """x - logsumexp(x): the log of the softmax without ever forming exp(x) of a large number."""
    return logits - logsumexp(logits, dim=dim).unsqueeze(dim)


def softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """exp(x - max) / sum(exp(x - max)): the same probabilities as the naive form, without overflow."""
    exps = (logits - logits.amax(dim=dim, keepdim=True)).exp()
    return exps / exps.sum(dim=dim, keepdim=True)


def one_hot(targets: torch.Tensor, n_classes: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The "actuals": 1 in the target's column, 0 elsewhere."""
    return F.one_hot(targets.long(), n_classes).to(dtype)


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of -sum(one_hot * log_softmax): the negative log-probability of the right class."""
    if logits.dim() == 1:  # one example
        logits, targets = logits.unsqueeze(0), targets.reshape(1)
    actuals = one_hot(targets, logits.shape[-1], logits.dtype)  # (batch, n_classes)
    per_example = -(actuals * log_softmax(logits)).sum(dim=-1)  # (batch,)
    return per_example.mean()


def cross_entropy_grad(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """d(mean cross-entropy)/d(logits) = (softmax - one_hot) / batch size; for one example, softmax - one_hot."""
    if logits.dim() == 1:
        return softmax(logits) - one_hot(targets.reshape(()), logits.shape[-1], logits.dtype)
    return (softmax(logits) - one_hot(targets, logits.shape[-1], logits.dtype)) / logits.shape[0]


def sigmoid(logits: torch.Tensor) -> torch.Tensor:
    """1 / (1 + exp(-x)), written so that neither branch overflows."""
    positive = logits >= 0
    exp_neg_abs = (-logits.abs()).exp()  # in (0, 1]
    return torch.where(positive, 1 / (1 + exp_neg_abs), exp_neg_abs / (1 + exp_neg_abs))


def binary_cross_entropy(probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean of -[y·log(p) + (1-y)·log(1-p)], with each log clamped at -100 as PyTorch does."""
    log_p = probs.log().clamp(min=-100)
    log_not_p = (1 - probs).log().clamp(min=-100)
    return -(targets * log_p + (1 - targets) * log_not_p).mean()


def binary_cross_entropy_with_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean BCE straight from logits: max(x, 0) - x·y + log(1 + exp(-|x|)), finite for any x."""
    return (logits.clamp(min=0) - logits * targets + (-logits.abs()).exp().log1p()).mean()


# --- results for display -------------------------------------------------------------------------


@dataclass(frozen=True)
class SoftmaxBreakdown:
    """Every step from logits to one example's cross-entropy, per class, plus the reference and the gradient."""

    labels: tuple[str, ...]
    logits: np.ndarray  # (n_classes,) as typed
    temperature: float
    scaled_logits: np.ndarray  # (n_classes,) logits / temperature: what the softmax sees
    target: int
    exps: np.ndarray  # (n_classes,) exp(scaled logit), naive: may hold inf
    probs: np.ndarray  # (n_classes,) stable softmax, sums to 1
    log_probs: np.ndarray  # (n_classes,) log-softmax via log-sum-exp
    actuals: np.ndarray  # (n_classes,) one-hot of the target
    terms: np.ndarray  # (n_classes,) actual × log(p)
    loss: float  # -sum(terms)
    torch_loss: float  # torch.nn.functional.cross_entropy on the same logits
    grad: np.ndarray  # (n_classes,) d loss / d scaled logit = probs - actuals
    naive_probs: np.ndarray  # (n_classes,) exp / sum(exp) as written: nan once exp overflows
    naive_log_probs: np.ndarray  # (n_classes,) log of the naive probabilities
    naive_loss: float  # -log(naive p[target]): nan or inf when the naive path breaks

    @property
    def n_classes(self) -> int:
        return len(self.labels)

    @property
    def agrees(self) -> bool:
        """Our written-out loss matches PyTorch's to float32 precision."""
        return math.isclose(self.loss, self.torch_loss, rel_tol=1e-5, abs_tol=1e-5)

    @property
    def naive_breaks(self) -> bool:
        """The naive softmax-then-log path produced nan or inf somewhere."""
        return not (np.isfinite(self.naive_log_probs).all() and math.isfinite(self.naive_loss))

    @property
    def overflow_limit(self) -> float:
        """Largest x with a finite exp(x) in float32 (about 88.72)."""
        return math.log(torch.finfo(torch.float32).max)


def softmax_breakdown(
    logits: Sequence[float], target: int, labels: Sequence[str] | None = None, temperature: float = 1.0
) -> SoftmaxBreakdown:
    """Run one example through softmax and cross-entropy, keeping every intermediate for display."""
    values = check_logits(logits)
    names = tuple(labels) if labels is not None else tuple(f"class {i}" for i in range(len(values)))
    if len(names) != len(values):
        raise LossInputError(f"{len(names)} class names for {len(values)} logits")
    if not 0 <= target < len(values):
        raise LossInputError(f"target {target} is not one of the classes 0..{len(values) - 1}")
    if not (math.isfinite(temperature) and temperature > 0):
        raise LossInputError(f"temperature must be a positive number, not {temperature}")
    raw = torch.tensor(values, dtype=torch.float32)  # (n_classes,)
    scaled = raw / temperature  # (n_classes,)
    target_t = torch.tensor(target)
    exps = scaled.exp()  # torch gives inf on overflow, without a warning
    naive_probs = naive_softmax(scaled)
    naive_log_probs = naive_probs.log()
    log_probs = log_softmax(scaled)
    actuals = one_hot(target_t, len(values))
    terms = actuals * log_probs + 0.0  # + 0.0 turns 0 × (negative) = -0.0 into a plain 0
    return SoftmaxBreakdown(
        labels=names,
        logits=raw.numpy(),
        temperature=float(temperature),
        scaled_logits=scaled.numpy(),
        target=target,
        exps=exps.numpy(),
        probs=softmax(scaled).numpy(),
        log_probs=log_probs.numpy(),
        actuals=actuals.numpy(),
        terms=terms.numpy(),
        loss=float(-terms.sum()),
        torch_loss=float(F.cross_entropy(scaled.unsqueeze(0), target_t.reshape(1))),
        grad=cross_entropy_grad(scaled, target_t).numpy(),
        naive_probs=naive_probs.numpy(),
        naive_log_probs=naive_log_probs.numpy(),
        naive_loss=float(-naive_log_probs[target]),
    )


@dataclass(frozen=True)
class TemperatureCurve:
    """Loss and the target's probability across a range of temperatures, for one set of logits."""

    temperatures: np.ndarray  # (n,)
    losses: np.ndarray  # (n,)
    target_probs: np.ndarray  # (n,)


def temperature_curve(
    logits: Sequence[float], target: int, low: float = 0.1, high: float = 5.0, n: int = 120
) -> TemperatureCurve:
    """Cross-entropy and p(target) at n temperatures spaced evenly on a log scale from low to high."""
    values = torch.tensor(check_logits(logits), dtype=torch.float32)  # (n_classes,)
    temperatures = torch.logspace(math.log10(low), math.log10(high), n)  # (n,)
    scaled = values.unsqueeze(0) / temperatures.unsqueeze(1)  # (n, n_classes)
    log_probs = log_softmax(scaled)[:, target]  # (n,)
    return TemperatureCurve(temperatures.numpy(), (0.0 - log_probs).numpy(), log_probs.exp().numpy())


@dataclass(frozen=True)
class BatchBreakdown:
    """Cross-entropy over a batch: per-example probabilities and losses, their mean, and PyTorch's value."""

    labels: tuple[str, ...]
    logits: np.ndarray  # (batch, n_classes)
    targets: np.ndarray  # (batch,) int
    probs: np.ndarray  # (batch, n_classes)
    target_probs: np.ndarray  # (batch,) p of the right class
    losses: np.ndarray  # (batch,) -log p of the right class
    loss: float  # mean of losses
    torch_loss: float  # torch.nn.functional.cross_entropy(logits, targets)

    @property
    def agrees(self) -> bool:
        return math.isclose(self.loss, self.torch_loss, rel_tol=1e-5, abs_tol=1e-5)


def fastbook_activations(seed: int = FASTBOOK_SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """Chapter 5's example: `torch.manual_seed(42); acts = torch.randn((6, 2)) * 2` and targets [0,1,0,1,1,0]."""
    generator = torch.Generator().manual_seed(seed)  # same numbers as manual_seed, global RNG untouched
    acts = torch.randn((6, 2), generator=generator) * 2  # (6, 2)
    return acts, torch.tensor(FASTBOOK_TARGETS)


def batch_breakdown(
    logits: torch.Tensor, targets: torch.Tensor, labels: Sequence[str] | None = None
) -> BatchBreakdown:
    """Per-example softmax and cross-entropy for a (batch, n_classes) tensor of logits."""
    assert logits.dim() == 2 and targets.shape == logits.shape[:1], (
        "logits (batch, n_classes), targets (batch,)"
    )
    log_probs = log_softmax(logits)  # (batch, n_classes)
    losses = -log_probs.gather(1, targets.long().unsqueeze(1)).squeeze(1)  # (batch,)
    names = tuple(labels) if labels is not None else tuple(f"class {i}" for i in range(logits.shape[1]))
    return BatchBreakdown(
        labels=names,
        logits=logits.numpy(),
        targets=targets.numpy(),
        probs=log_probs.exp().numpy(),
        target_probs=(-losses).exp().numpy(),
        losses=losses.numpy(),
        loss=float(cross_entropy(logits, targets)),
        torch_loss=float(F.cross_entropy(logits, targets)),
    )


@dataclass(frozen=True)
class BinaryBreakdown:
    """One binary prediction: the probability, the label, both halves of the BCE formula and PyTorch's values."""

    logit: float  # log(p / (1 - p)); ±inf when p is 0 or 1
    prob: float
    label: int  # 0 or 1
    positive_term: float  # y · log(p)
    negative_term: float  # (1 - y) · log(1 - p)
    loss: float  # -(positive_term + negative_term)
    torch_loss: float  # binary_cross_entropy(p, y)
    torch_logits_loss: float  # binary_cross_entropy_with_logits(logit, y)

    @property
    def agrees(self) -> bool:
        tol = {"rel_tol": 1e-4, "abs_tol": 1e-5}
        return math.isclose(self.loss, self.torch_loss, **tol) and math.isclose(
            self.loss, self.torch_logits_loss, **tol
        )


def binary_breakdown(label: int, prob: float | None = None, logit: float | None = None) -> BinaryBreakdown:
    """BCE for one prediction given either a probability in (0, 1) or a logit (put through a sigmoid)."""
    if label not in (0, 1):
        raise LossInputError(f"the label must be 0 or 1, not {label!r}")
    if (prob is None) == (logit is None):
        raise LossInputError("give either a probability or a logit, not both")
    if logit is not None:
        if not math.isfinite(logit):
            raise LossInputError(f"the logit must be a finite number, not {logit}")
        x = torch.tensor(logit, dtype=torch.float64)
        p = sigmoid(x)
    else:
        if prob is None or not (0 < prob < 1):
            raise LossInputError(f"the probability must lie strictly between 0 and 1, not {prob}")
        p = torch.tensor(prob, dtype=torch.float64)
        x = (p / (1 - p)).log()
    y = torch.tensor(float(label), dtype=torch.float64)
    positive = y * p.log() + 0.0  # + 0.0: no "-0.0" on screen
    negative = (1 - y) * (1 - p).log() + 0.0
    return BinaryBreakdown(
        logit=float(x),
        prob=float(p),
        label=label,
        positive_term=float(positive),
        negative_term=float(negative),
        loss=float(-(positive + negative)),
        torch_loss=float(F.binary_cross_entropy(p, y)),
        torch_logits_loss=float(F.binary_cross_entropy_with_logits(x, y)),
    )


@dataclass(frozen=True)
class BceCurves:
    """The two halves of BCE across p: -log(p) when y = 1 and -log(1 - p) when y = 0."""

    probs: np.ndarray  # (n,)
    loss_if_one: np.ndarray  # (n,)
    loss_if_zero: np.ndarray  # (n,)


def bce_curves(n: int = 199) -> BceCurves:
    """Both BCE curves on an even grid of p strictly inside (0, 1)."""
    probs = np.linspace(0.005, 0.995, n)
    return BceCurves(probs, -np.log(probs), -np.log1p(-probs))


@dataclass(frozen=True)
class MultiLabelBreakdown:
    """Independent sigmoids and BCE per label, thresholded predictions, and the softmax over the same logits."""

    labels: tuple[str, ...]
    logits: np.ndarray  # (n_labels,)
    targets: np.ndarray  # (n_labels,) 0/1
    probs: np.ndarray  # (n_labels,) sigmoid, each in (0, 1), need not sum to 1
    losses: np.ndarray  # (n_labels,) BCE per label
    loss: float  # mean BCE
    torch_loss: float  # binary_cross_entropy_with_logits(logits, targets)
    threshold: float
    predictions: np.ndarray  # (n_labels,) 1 where prob > threshold
    accuracy: float  # share of labels where prediction == target
    softmax_probs: np.ndarray  # (n_labels,) one distribution over the same logits, sums to 1

    @property
    def agrees(self) -> bool:
        return math.isclose(self.loss, self.torch_loss, rel_tol=1e-5, abs_tol=1e-5)


def multilabel_breakdown(
    logits: Sequence[float],
    targets: Sequence[int],
    labels: Sequence[str] | None = None,
    threshold: float = 0.5,
) -> MultiLabelBreakdown:
    """Per-label sigmoid + BCE, mean loss, and accuracy at a threshold, as in fastbook chapter 6."""
    values = check_logits(logits, min_count=1, max_count=MAX_LABELS, what="label")
    if len(targets) != len(values) or any(t not in (0, 1) for t in targets):
        raise LossInputError(f"each of the {len(values)} labels needs a target of 0 or 1")
    if not 0 < threshold < 1:
        raise LossInputError(f"the threshold must lie strictly between 0 and 1, not {threshold}")
    names = tuple(labels) if labels is not None else tuple(f"label {i}" for i in range(len(values)))
    x = torch.tensor(values, dtype=torch.float32)  # (n_labels,)
    y = torch.tensor([float(t) for t in targets])  # (n_labels,)
    probs = sigmoid(x)
    losses = x.clamp(min=0) - x * y + (-x.abs()).exp().log1p()  # (n_labels,)
    predictions = (probs > threshold).to(torch.int64)
    return MultiLabelBreakdown(
        labels=names,
        logits=x.numpy(),
        targets=y.to(torch.int64).numpy(),
        probs=probs.numpy(),
        losses=losses.numpy(),
        loss=float(binary_cross_entropy_with_logits(x, y)),
        torch_loss=float(F.binary_cross_entropy_with_logits(x, y)),
        threshold=float(threshold),
        predictions=predictions.numpy(),
        accuracy=float((predictions == y.to(torch.int64)).float().mean()),
        softmax_probs=softmax(x).numpy(),
    )


# --- input checking ------------------------------------------------------------------------------


def check_logits(
    values: Sequence[object], min_count: int = MIN_CLASSES, max_count: int = MAX_CLASSES, what: str = "class"
) -> list[float]:
    """Turn table cells into finite floats, or raise LossInputError naming the row and the fix."""
    plural = "es" if what == "class" else "s"
    if len(values) == 0:
        raise LossInputError(f"the table is empty: add at least {min_count} {what}{plural}")
    numbers = [_cell_to_float(value, row) for row, value in enumerate(values, start=1)]
    if len(numbers) < min_count:
        raise LossInputError(
            f"only {len(numbers)} {what}: a softmax over one class always gives it probability 1 and loss 0; "
            f"add at least {min_count} {what}{plural}"
        )
    if len(numbers) > max_count:
        raise LossInputError(
            f"{len(numbers)} {what}{plural} is too many for the playground: keep at most {max_count}"
        )
    return numbers


def _cell_to_float(value: object, row: int) -> float:
    empty = f"row {row} has no logit (empty or not a number): type a number there or delete the row"
    if value is None or (isinstance(value, str) and not value.strip()):
        raise LossInputError(empty)
    if isinstance(value, bool):
        raise LossInputError(f"row {row}: the logit must be a number, not {value!r}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise LossInputError(
            f"row {row}: the logit {value!r} is not a number; type one like 2.5 or -1"
        ) from None
    if math.isnan(number):  # a cleared cell in the table arrives as NaN
        raise LossInputError(empty)
    if math.isinf(number):
        raise LossInputError(f"row {row}: the logit is infinite; use a finite number (even 1e6 works)")
    if abs(number) > 1e30:
        raise LossInputError(f"row {row}: the logit {number:g} is beyond float32; keep |logit| under 1e30")
    return number


def class_names(names: Sequence[object]) -> tuple[str, ...]:
    """Class names from table cells: blanks become 'class N'; duplicates raise LossInputError."""
    cleaned = []
    for row, name in enumerate(names, start=1):
        text = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name).strip()
        cleaned.append(text or f"class {row}")
    seen: set[str] = set()
    for name in cleaned:
        if name in seen:
            raise LossInputError(f"two rows are both named {name!r}: give every class its own name")
        seen.add(name)
    return tuple(cleaned)


# --- presets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """A ready-made example for the playground: class names, logits and the right class."""

    title: str
    labels: tuple[str, ...]
    logits: tuple[float, ...]
    target: int
    note: str


PRESETS: dict[str, Preset] = {
    "confident_right": Preset(
        "Confident and right",
        ("cat", "dog", "bird", "fish"),
        (4.0, 1.0, -1.0, -2.0),
        0,
        "The model puts most of its probability on the right class: a small loss.",
    ),
    "confident_wrong": Preset(
        "Confident and wrong",
        ("cat", "dog", "bird", "fish"),
        (4.0, 1.0, -1.0, -2.0),
        2,
        "Same logits, but the right answer is 'bird': a large loss and a strong push on the logits.",
    ),
    "unsure": Preset(
        "Unsure",
        ("cat", "dog", "bird", "fish"),
        (0.3, 0.2, 0.1, 0.0),
        0,
        "Logits close together: the probabilities are nearly uniform and the loss is about log(4).",
    ),
    "huge": Preset(
        "Huge logits",
        ("cat", "dog", "bird", "fish"),
        (120.0, 100.0, 90.0, 80.0),
        1,
        "Logits past 88.7 overflow exp() in float32: watch the naive path fail while log-softmax copes.",
    ),
    "fastbook": Preset(
        "fastbook chapter 5 (3s and 7s)",
        FASTBOOK_CLASSES,
        (0.0, 0.0),  # filled from fastbook_activations() for the chosen row
        0,
        "Six images, two columns of activations from torch.randn with seed 42, targets [0, 1, 0, 1, 1, 0].",
    ),
}


def fastbook_row(row: int) -> Preset:
    """The fastbook preset for one row (image) of the chapter-5 batch."""
    acts, targets = fastbook_activations()
    if not 0 <= row < len(targets):
        raise LossInputError(f"the fastbook batch has rows 0..{len(targets) - 1}, not {row}")
    base = PRESETS["fastbook"]
    logits = tuple(float(v) for v in acts[row])
    return Preset(base.title, base.labels, logits, int(targets[row]), base.note)
