"""Compiled CPU training for the dot model: many optimizer steps per call, no per-step Python.

On the CPU a step of the dot model is a few hundred multiply-adds per rating; done as PyTorch
operations it pays several microseconds of dispatch per operation (dozens per step), which is most
of an epoch at small batches. These kernels (numba, compiled once and cached on disk) run a whole
chunk of optimizer steps in one call over one packed table: every row's factors and bias (users,
then items) and its two Adam moments. The arithmetic is the same as the PyTorch paths, so the
numbers match them to float rounding (tests check it):

- `dense_steps`: exact AdamW over the whole table every step (small tables: what
  `torch.optim.AdamW(fused=True)` does, decoupled decay on factors, on biases only when asked);
- `row_steps`: the row-wise ("lazy") AdamW of `PackedRowAdamW`, touching only the batch's rows
  (big tables), or its one-moment-per-row variant;
- `sampled_dot`: the autoencoder's decoder evaluated only at the rated cells, with its backward.

A step's gradient is the exact gradient of the step's mean loss whatever the micro-batch size, so
gradient accumulation needs no special case here. `wanted()` decides per run (big tables, or long
runs); without numba, with `COLLAB_KERNELS=0`, or where numba finds no writable folder for its cache
(`usable()` is False and `failure()` says why), the trainer uses the PyTorch paths.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import tempfile
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

# "auto" compiles only runs that are long on the PyTorch path: importing numba costs about 0.5 s and
# 50-90 MB of memory (measured in the app: 487 -> 604 MB peak), which a 0.6 s run does not repay
MIN_MICRO_BATCHES = 1000


class KernelsUnavailable(RuntimeError):
    """The compiled kernels cannot be loaded here (e.g. no writable folder for numba's cache)."""


_failure: str | None = None  # why loading the kernels failed in this process, once it has


def available() -> bool:
    """True when numba is installed, `COLLAB_KERNELS` is not "0", and loading has not failed here."""
    return _failure is None and _installed()


def _installed() -> bool:
    if os.environ.get("COLLAB_KERNELS", "auto") == "0":
        return False
    return importlib.util.find_spec("numba") is not None


def usable() -> bool:
    """`available()` and the kernels load (from numba's cache, or compiled on first call). Loading
    imports numba (about 0.5 s); a failure is remembered, warned about once, and told by `failure()`."""
    if not available():
        return False
    try:
        _compiled()
    except KernelsUnavailable:
        return False
    return True


def failure() -> str | None:
    """Why the kernels could not be loaded in this process (a sentence), or None."""
    return _failure


def wanted(micro_batches: int, sparse: bool) -> bool:
    """Whether a dot-model run on the CPU should use the kernels.

    `COLLAB_KERNELS`: "0" never, "1" always, "auto" (default) for big tables (row-wise updates) or at
    least `MIN_MICRO_BATCHES` forward passes in the run (small batches, many epochs: the PyTorch path
    pays its per-operation overhead once per micro-batch), where they save seconds.
    """
    if not _installed():  # kernels that failed to load still count: the caller notes the fallback
        return False
    return os.environ.get("COLLAB_KERNELS", "auto") == "1" or sparse or micro_batches >= MIN_MICRO_BATCHES


@functools.cache
def _compiled() -> dict[str, Callable[..., Any]]:
    """The compiled kernels (compiled on first call, or loaded from numba's on-disk cache).

    numba refuses to even define a cached function ("cannot cache function ...: no locator available")
    when none of its cache folders is writable: the package's __pycache__, NUMBA_CACHE_DIR, the user's
    cache dir. A read-only install gets the user cache dir; if that fails too, the temporary folder;
    if that fails too, `KernelsUnavailable` (callers take the PyTorch path).
    """
    global _failure
    here = os.path.dirname(os.path.abspath(__file__))
    if "NUMBA_CACHE_DIR" not in os.environ and not os.access(here, os.W_OK):
        # an installed, read-only package: numba would find no place for its cache and refuse to compile
        import platformdirs

        os.environ["NUMBA_CACHE_DIR"] = os.path.join(platformdirs.user_cache_dir("collab-lab"), "numba")
    try:
        return _import_kernels()
    except (RuntimeError, OSError) as error:
        first = error
    temp = os.path.join(tempfile.gettempdir(), "collab-lab-numba")
    if os.environ.get("NUMBA_CACHE_DIR") != temp:
        os.environ["NUMBA_CACHE_DIR"] = temp
        try:
            return _import_kernels()
        except (RuntimeError, OSError) as error:
            first = error
    _failure = (
        f"The compiled kernels are off: numba found no writable folder for its cache ({first}). "
        "Training takes the PyTorch path (same results, slower on long runs); set NUMBA_CACHE_DIR to a "
        "writable folder to use them."
    )
    warnings.warn(_failure, RuntimeWarning, stacklevel=2)
    raise KernelsUnavailable(_failure) from first


def _content_cache_locator() -> type:
    """A numba cache locator for this folder's kernels that files them by the kernel file's content, in
    NUMBA_CACHE_DIR or the user's cache folder, instead of by the checkout's path: numba's own locators
    file a checkout's kernels under its __pycache__ or a hash of its folder, so every fresh clone, CI run
    or second checkout compiled the Gibbs sampler again (7 s; the whole best blend takes about 20 s)."""
    import hashlib

    import numba.core.caching
    import numba.core.config
    import platformdirs

    here = os.path.dirname(os.path.abspath(__file__))

    class ContentCacheLocator(numba.core.caching.UserProvidedCacheLocator):
        def __init__(self, py_func: Any, py_file: str) -> None:
            super().__init__(py_func, py_file)
            base = numba.core.config.CACHE_DIR or os.path.join(
                platformdirs.user_cache_dir("collab-lab"), "numba"
            )
            with open(py_file, "rb") as source:
                digest = hashlib.sha256(source.read()).hexdigest()[:20]
            stem = os.path.splitext(os.path.basename(py_file))[0]
            self._cache_path = os.path.join(base, f"collab-kernels_{stem}_{digest}")

        @classmethod
        def from_function(cls, py_func: Any, py_file: str) -> Any:
            if os.path.dirname(os.path.abspath(py_file)) != here:
                return None
            return numba.core.caching._SourceFileBackedLocatorMixin.from_function.__func__(
                cls, py_func, py_file
            )

    return ContentCacheLocator


def _use_content_cache() -> None:
    """Put `_content_cache_locator`'s class first in numba's list (once; numba's own come after it, so a
    folder it cannot write falls back to them)."""
    import numba.core.caching

    impl = getattr(numba.core.caching, "CacheImpl", None) or numba.core.caching._CacheImpl
    classes = impl._locator_classes
    if not any(getattr(c, "__name__", "") == "ContentCacheLocator" for c in classes):
        classes.insert(0, _content_cache_locator())


def _import_kernels() -> dict[str, Callable[..., Any]]:
    import numba.core.config

    numba.core.config.reload_config()  # NUMBA_CACHE_DIR may have changed since numba was imported
    with contextlib.suppress(ImportError, AttributeError):  # other numba internals: its own locators work
        _use_content_cache()
    from collab.kernels import bayes_fm_numba as _bayes_kernels
    from collab.kernels import implicit_numba as _implicit_kernels
    from collab.kernels import numba_cpu as _numba_kernels

    for module in (_numba_kernels, _implicit_kernels, _bayes_kernels):
        for value in vars(module).values():
            if hasattr(value, "_cache") and hasattr(value._cache, "save_overload"):
                _tolerate_full_disk(value._cache)
    return {
        "dense_steps": _numba_kernels.dense_steps,
        "row_steps": _numba_kernels.row_steps,
        "sampled_dot": _numba_kernels.sampled_dot,
        "sampled_dot_backward": _numba_kernels.sampled_dot_backward,
        "bpr_epoch": _implicit_kernels.bpr_epoch,
        "bce_epoch": _implicit_kernels.bce_epoch,
        "sample_negatives": _implicit_kernels.sample_negatives,
        "bayes_fm_gibbs": _bayes_kernels.gibbs,
    }


def implicit_kernel(name: str) -> Callable[..., Any]:
    """A compiled implicit-model kernel ("bpr_epoch", "bce_epoch", "sample_negatives") or the Bayesian
    factorization machine's sampler ("bayes_fm_gibbs"); raises
    `KernelsUnavailable` where the kernels cannot be loaded (callers take the PyTorch path)."""
    return _compiled()[name]


def _tolerate_full_disk(cache: Any) -> None:
    """numba writes a newly compiled kernel to its cache without catching errors on Linux, so a full
    (or newly read-only) disk would fail a training at its first step. The compiled code is already in
    memory: a failed write only means compiling again in the next process, so warn and go on."""
    if getattr(cache, "_collab_tolerant", False):
        return
    save = cache.save_overload

    def save_overload(sig: Any, data: Any) -> None:
        try:
            save(sig, data)
        except OSError as error:
            warnings.warn(
                f"numba could not write the compiled kernels to its cache ({error}); they work, and are "
                "compiled again in the next process.",
                RuntimeWarning,
                stacklevel=2,
            )

    cache.save_overload = save_overload
    cache._collab_tolerant = True


def sampled_dot(
    codes: torch.Tensor, weights: torch.Tensor, items: torch.Tensor, users: torch.Tensor
) -> torch.Tensor:
    """(codes[items] * weights[users]).sum(1) without making either gathered matrix, differentiable
    in `codes` and `weights` (float32 CPU tensors; int64 index tensors)."""
    return _SampledDot.apply(codes, weights, items, users)


class _SampledDot(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, codes: torch.Tensor, weights: torch.Tensor, items: torch.Tensor, users: torch.Tensor
    ) -> torch.Tensor:
        codes, weights = codes.detach().contiguous(), weights.detach().contiguous()
        out = torch.empty(len(items), dtype=torch.float32)
        _compiled()["sampled_dot"](codes.numpy(), weights.numpy(), items.numpy(), users.numpy(), out.numpy())
        ctx.save_for_backward(codes, weights, items, users)
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None, None]:
        codes, weights, items, users = ctx.saved_tensors
        grad_codes, grad_weights = torch.zeros_like(codes), torch.zeros_like(weights)
        _compiled()["sampled_dot_backward"](
            codes.numpy(),
            weights.numpy(),
            items.numpy(),
            users.numpy(),
            grad_out.contiguous().numpy(),
            grad_codes.numpy(),
            grad_weights.numpy(),
        )
        return grad_codes, grad_weights, None, None


class KernelTrainer:
    """Trains a `DotProductBias` with the compiled kernels, through one packed table.

    `dense=True` is exact AdamW over every row (small tables); `dense=False` the row-wise AdamW
    (`one_moment=True`: its one-second-moment-per-row variant). `max_group`: the most ratings one
    optimizer step will see (sizes the row-wise gradient buffer). The model's parameters become views
    of the table, so it predicts with the current weights at any time; `release()` gives them back
    their own storage.
    """

    def __init__(
        self,
        model: Any,
        weight_decay: float,
        decay_biases: bool,
        dense: bool,
        max_group: int,
        one_moment: bool = False,
        betas: tuple[float, float] = (0.9, 0.99),
        eps: float = 1e-5,
    ) -> None:
        self.kernels = _compiled()
        self.model = model
        self.dense, self.one_moment = dense, one_moment and not dense
        self.n_users = model.user_factors.num_embeddings
        n_items = model.item_factors.num_embeddings
        k = self.k = model.user_factors.embedding_dim
        width = k + 1
        n_rows = self.n_users + n_items
        blocks, row_floats = (1, width + 1) if self.one_moment else (3, width)
        # blocks: weights, then the Adam moments ("one_moment": one per row, after the bias). Row-wise
        # updates want a row's blocks side by side, (rows, blocks, width); the dense update one flat
        # pass per block, (blocks, rows, width)
        shape = (blocks, n_rows, row_floats) if dense else (n_rows, blocks, row_floats)
        self.table_t = torch.zeros(shape, dtype=torch.float32)
        weights = self.table_t[0] if dense else self.table_t[:, 0]  # (rows, row width)
        users, items = weights[: self.n_users], weights[self.n_users :]
        for module, view in (
            (model.user_factors, users[:, :k]),
            (model.user_bias, users[:, k:width]),
            (model.item_factors, items[:, :k]),
            (model.item_bias, items[:, k:width]),
        ):
            view.copy_(module.weight.detach())
            module.weight.data = view  # the model reads and writes through the table
        self.table = self.table_t.numpy()  # shares memory with the tensor
        self.decay_factors = float(weight_decay)
        self.decay_bias = float(weight_decay) if decay_biases else 0.0
        if dense:  # a gradient row per table row, and the decay rate of every weight
            self.grads = np.zeros((n_rows, width), dtype=np.float32)
            self.slots = np.arange(n_rows, dtype=np.int64)
            decays = np.full((n_rows, width), self.decay_factors, dtype=np.float32)
            decays[:, k] = self.decay_bias
            self.decays = decays.reshape(-1)
        else:  # a step touches at most two rows per rating: gradient rows for those only
            touched_max = min(n_rows, 2 * max_group)
            self.grads = np.zeros((touched_max, width), dtype=np.float32)
            self.slots = np.full(n_rows, -1, dtype=np.int64)
            self.touched = np.zeros(touched_max, dtype=np.int64)
        self.max_group = max_group
        self.beta2, self.eps = betas[1], eps
        self.low, self.high = (float(v) for v in model.y_range)
        self.l2 = float(model.l2)
        self.steps = 0

    def train_steps(
        self,
        user_ids: np.ndarray,
        item_ids: np.ndarray,
        ratings: np.ndarray,
        bounds: np.ndarray,
        lrs: np.ndarray,
        beta1s: np.ndarray,
    ) -> np.ndarray:
        """len(lrs) optimizer steps; step s trains on rows bounds[s]:bounds[s+1] of the (shuffled)
        arrays with lrs[s] and beta1s[s]; returns each step's summed loss, (steps,) float64."""
        if int(np.diff(bounds).max(initial=0)) > self.max_group:
            raise ValueError(f"a step of more than {self.max_group} ratings (max_group)")
        losses = np.zeros(len(lrs), dtype=np.float64)
        common = (user_ids, item_ids, ratings, bounds, lrs, beta1s, self.steps, self.n_users, self.k)
        loss_terms = (self.low, self.high, self.l2)
        if self.dense:
            self.kernels["dense_steps"](
                self.table,
                self.grads,
                self.slots,
                self.decays,
                *common,
                *loss_terms,
                self.beta2,
                self.eps,
                losses,
            )
        else:
            decays = (self.decay_factors, self.decay_bias)
            self.kernels["row_steps"](
                self.table, self.grads, self.slots, self.touched, *common, *loss_terms, *decays, self.beta2,
                self.eps, self.one_moment, losses,
            )  # fmt: skip
        self.steps += len(lrs)
        return losses

    def release(self) -> None:
        """Give the model its own parameter tensors again, so the packed table can be freed."""
        self.model.own_tables()
