"""What a configuration costs in memory: parameters, gradients, optimizer state, one micro-batch.

Parameters are counted exactly (the model is built on PyTorch's "meta" device, which allocates
nothing); activations are a per-rating estimate of what autograd keeps for one micro-batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from collab import kernels
from collab.models.base import DEFAULT_RATING_VALUES
from collab.models.registry import build_model
from collab.training.config import TrainConfig

FLOAT_BYTES = 4
INDEX_BYTES = 8
LBFGS_HISTORY = 10  # AutoRec's L-BFGS keeps this many (step, gradient change) pairs


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes needed to train one configuration (approximate activations, exact parameters)."""

    n_parameters: int
    parameter_bytes: int
    gradient_bytes: int
    optimizer_bytes: int  # AdamW: two moments per parameter (L-BFGS: its history)
    activation_bytes: int  # one micro-batch, forward and backward
    data_bytes: int  # the ratings as tensors on the device
    sparse: bool  # row-wise updates: gradients hold only the rows of a batch

    @property
    def total_bytes(self) -> int:
        """Everything above added up."""
        return (
            self.parameter_bytes
            + self.gradient_bytes
            + self.optimizer_bytes
            + self.activation_bytes
            + self.data_bytes
        )

    def describe(self) -> str:
        """One line in MiB for the UI."""
        mib = 1 << 20
        return (
            f"{self.n_parameters:,} parameters: {self.total_bytes / mib:.1f} MiB in all "
            f"(weights {self.parameter_bytes / mib:.1f}, gradients {self.gradient_bytes / mib:.1f}, "
            f"AdamW state {self.optimizer_bytes / mib:.1f}, activations {self.activation_bytes / mib:.1f}, "
            f"data {self.data_bytes / mib:.1f})"
        )


def _activation_floats_per_rating(config: TrainConfig, model: torch.nn.Module) -> int:
    """Floats autograd keeps per rating in the forward pass (backward roughly doubles it)."""
    if config.model == "bias":
        return 4
    user_dim = model.user_factors.embedding_dim
    item_dim = model.item_factors.embedding_dim
    if config.model == "dot":
        return 2 * user_dim + user_dim + 4  # gathered rows, their product, biases and sigmoid
    if config.model == "classifier":
        n_classes = model.head.out_features
        return 3 * user_dim + 4 * n_classes
    # nn: gathered rows, concatenation, and per hidden layer the linear output, ReLU output, dropout mask
    return 2 * (user_dim + item_dim) + 3 * sum(config.hidden) + 2


def estimate_memory(config: TrainConfig, n_users: int, n_items: int, n_ratings: int = 0) -> MemoryEstimate:
    """Memory to train `config` on tables of n_users x n_items (and n_ratings ratings on the device)."""
    from collab.training.device import use_sparse

    sparse = use_sparse(config, n_users, n_items)
    with torch.device("meta"):
        model = build_model(config, n_users, n_items, rating_values=DEFAULT_RATING_VALUES, sparse=sparse)
    n_parameters = sum(p.numel() for p in model.parameters())
    if config.model == "bfm":  # Gibbs sampling: no gradients; per chain its kept samples and its state
        from collab.models.bayes_fm import CHAINS, DAY_SLOTS, sample_plan

        n_buffers = sum(b.numel() for b in model.buffers())
        rows, features = n_users + n_items + DAY_SLOTS, 2 * (n_users + n_items) + DAY_SLOTS
        kept = sample_plan(config.epochs, n_users + n_items, config.n_factors)[2]
        per_chain = kept * rows * config.n_factors * FLOAT_BYTES
        per_chain += features * (config.n_factors + 1) * 8 + 8 * n_ratings  # w, v, residuals (float64)
        return MemoryEstimate(
            n_parameters=n_buffers,
            parameter_bytes=n_buffers * FLOAT_BYTES,
            gradient_bytes=0,
            optimizer_bytes=CHAINS * per_chain,
            activation_bytes=0,
            data_bytes=n_ratings * 2 * 2 * (2 * INDEX_BYTES + 8) + n_ratings * 3 * INDEX_BYTES,  # CSR + CSC
            sparse=False,
        )
    if config.model == "autorec":  # full batch: every item's code, and their gradients
        decoded = 0 if kernels.available() else n_users  # without the compiled kernel: dense decoded columns
        return MemoryEstimate(
            n_parameters=n_parameters,
            parameter_bytes=n_parameters * FLOAT_BYTES,
            gradient_bytes=n_parameters * FLOAT_BYTES,
            optimizer_bytes=2 * LBFGS_HISTORY * n_parameters * FLOAT_BYTES,
            activation_bytes=2 * n_items * (config.n_factors + decoded) * FLOAT_BYTES,
            data_bytes=n_ratings * (2 * INDEX_BYTES + FLOAT_BYTES) * 2,  # the model keeps a copy
            sparse=False,
        )
    table_parameters = sum(
        module.weight.numel() for module in model.modules() if isinstance(module, torch.nn.Embedding)
    )
    dense_parameters = n_parameters - table_parameters
    if sparse:
        # each embedding lookup leaves (indices, row) pairs in the sparse gradient until the step
        row_bytes = sum(
            INDEX_BYTES + module.embedding_dim * FLOAT_BYTES
            for module in model.modules()
            if isinstance(module, torch.nn.Embedding)
        )
        gradient_bytes = dense_parameters * FLOAT_BYTES + config.effective_batch * row_bytes
    else:
        gradient_bytes = n_parameters * FLOAT_BYTES
    optimizer_bytes = 2 * n_parameters * FLOAT_BYTES  # AdamW: two moments per parameter
    if sparse and config.model == "dot" and config.row_state == "rowwise":
        optimizer_bytes = (n_users + n_items) * FLOAT_BYTES  # one second moment per table row
    activation_float_bytes = 2 if config.amp else FLOAT_BYTES
    activation_bytes = (
        config.batch_size * 2 * _activation_floats_per_rating(config, model) * activation_float_bytes
        + config.batch_size * 2 * INDEX_BYTES
    )
    return MemoryEstimate(
        n_parameters=n_parameters,
        parameter_bytes=n_parameters * FLOAT_BYTES,
        gradient_bytes=gradient_bytes,
        optimizer_bytes=optimizer_bytes,
        activation_bytes=activation_bytes,
        data_bytes=n_ratings * (2 * INDEX_BYTES + FLOAT_BYTES),
        sparse=sparse,
    )
