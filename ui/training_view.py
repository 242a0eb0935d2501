"""Train-page pieces that are not widgets: live progress, the results panel, sweep and accumulation lab."""

from __future__ import annotations

import dataclasses
import itertools
import time
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from collab.config import MODEL_LABELS, TrainConfig, auto_epochs
from collab.metrics import find_overfit_epoch
from collab.plots import training as training_plots
from ui import cached, state
from ui.messages import say

if TYPE_CHECKING:
    from collab.training import EpochStats, TrainResult

SWEEP_DECAYS = (0.1, 0.01, 0.001, 0.0)
_LIVE_KEYS = itertools.count()


class LiveProgress:
    """A progress bar and a loss chart owned by the page, updated from `on_epoch` during training."""

    def __init__(self, label: str, oracle_rmse: float | None = None) -> None:
        self.label = label
        self.oracle_rmse = oracle_rmse
        self.bar = st.progress(0.0, text=f"{label}: starting…")
        self.chart = st.empty()
        self.history: list[EpochStats] = []
        self.started = time.perf_counter()

    def __call__(self, stats: EpochStats) -> None:
        self.history.append(stats)
        elapsed = time.perf_counter() - self.started
        left = elapsed / stats.epoch * (stats.epochs - stats.epoch)
        self.bar.progress(
            stats.epoch / stats.epochs,
            text=(
                f"{self.label}: epoch {stats.epoch}/{stats.epochs} · train loss {stats.train_loss:.4f} · "
                f"valid loss {stats.valid_loss:.4f} · about {left:.1f} s left"
            ),
        )
        # a fresh key per update: two runs of one script (a sweep) can draw identical figures
        self.chart.plotly_chart(
            training_plots.loss_figure(self.history, oracle_rmse=self.oracle_rmse),
            key=f"live_loss_{next(_LIVE_KEYS)}",
        )

    def clear(self) -> None:
        self.bar.empty()
        self.chart.empty()


def oracle_rmse() -> float | None:
    """The demo set's best possible RMSE (the true model's error), or None for real data."""
    truth = state.ratings().truth
    return None if truth is None else float(truth.oracle_rmse)


def train_and_record(config: TrainConfig, label: str = "Training") -> tuple[TrainResult, bool]:
    """Train (or fetch from the cache) on the current split, make it the current model, log the run."""
    data = state.ratings()
    params = state.split_params()
    progress = LiveProgress(label, oracle_rmse())
    result, from_cache = cached.train(state.split(), data.fingerprint, params, config, on_epoch=progress)
    progress.clear()
    state.set_result(result, params)
    state.add_run(
        state.RunRecord(
            model=MODEL_LABELS[config.model],
            summary=config.describe(),
            rmse=float(result.metrics["rmse"]),
            mae=float(result.metrics["mae"]),
            seconds=0.0 if from_cache else float(result.seconds),
            cached=from_cache,
            dataset=state.dataset_source(),
            mean_rmse=float(result.metrics.get("global_mean_rmse", float("nan"))),
        )
    )
    return result, from_cache


def results_panel(result: TrainResult) -> None:
    """Loss curves, metrics, the overfitting marker and the run table."""
    overfit = find_overfit_epoch(result.history)
    oracle = oracle_rmse()
    cols = st.columns(4)
    cols[0].metric("Validation RMSE", f"{result.metrics['rmse']:.4f}")
    cols[1].metric("Validation MAE", f"{result.metrics['mae']:.4f}")
    if oracle is not None:
        cols[2].metric(
            "Best possible RMSE",
            f"{oracle:.4f}",
            help="The planted true model's error on these noisy ratings.",
        )
    how = f"on {result.device}" + (f", {result.optimizer}" if result.optimizer else "")
    cols[3].metric("Training time", f"{result.seconds:.2f} s", help=how)
    mean_baseline(result)
    st.plotly_chart(
        epochs_title(
            training_plots.loss_figure(result.history, oracle_rmse=oracle, overfit_epoch=overfit), result
        ),
        key="train_loss_chart",
    )
    if overfit is not None:
        st.warning(
            f"**Overfitting from epoch {overfit}.** Training loss keeps falling but validation loss turns up: "
            "the model is memorising the training ratings instead of learning what generalises. "
            + (
                "Raise the L2 penalty, use fewer hidden units or fewer rounds."
                if result.config.model == "autorec"
                else "Raise the weight decay (try 10x), use fewer factors or fewer epochs."
            ),
            icon=":material/trending_up:",
        )


def mean_baseline(result: TrainResult) -> None:
    """Predict-the-mean RMSE beside the model's, and a warning when the model does no better."""
    baseline = float(result.metrics.get("global_mean_rmse", float("nan")))
    rmse = float(result.metrics["rmse"])
    if baseline != baseline:  # nan: no validation set
        return
    text = (
        f"**Predict-the-mean RMSE: {baseline:.4f}** (every validation rating guessed as the training mean). "
        f"This model: {rmse:.4f}, "
    )
    if rmse < baseline:
        st.caption(text + f"{baseline - rmse:.4f} better.")
    else:
        st.warning(
            text + f"{rmse - baseline:.4f} **worse than predicting the mean**: it has learnt nothing useful. "
            "Check the data on the Data page (not-rated codes, counts), then try more epochs, fewer factors "
            "or more weight decay.",
            icon=":material/trending_down:",
        )


def epochs_title(fig: go.Figure, result: TrainResult) -> go.Figure:
    """Title the loss chart with the epochs trained and what the "auto" setting picks for this data."""
    config = result.config
    if config.model == "autorec":
        return fig
    n_train = state.split().train.n_ratings
    auto = auto_epochs(n_train, config.effective_batch)
    how = (
        f"auto for {n_train:,} training ratings"
        if config.epochs == auto
        else f"auto would pick {auto} for {n_train:,} training ratings"
    )
    title = fig.layout.title.text or "Loss"
    return fig.update_layout(
        title={"text": f"{title} · {len(result.history)} of {config.epochs} epochs ({how})"}
    )


def model_problem(config: TrainConfig) -> str | None:
    """Why this model cannot train on the current data, or None: the rating classifier needs a small set
    of rating levels (one class each)."""
    if config.model != "classifier":
        return None
    from collab.models import MAX_CLASSES

    levels = state.ratings().rating_values
    if len(levels) <= MAX_CLASSES:
        return None
    return (
        f"**The rating classifier is not available for these ratings**: it predicts one class per rating level "
        f"and these ratings have {len(levels):,} distinct values (from {levels[0]:g} to {levels[-1]:g}), more "
        f"than the {MAX_CLASSES} it can take: they are continuous. Pick a regression model (dot product, "
        "neural network, biases only or the autoencoder)."
    )


def validation_ok() -> bool:
    """False (with the reason shown) when the current split leaves no validation rating to score."""
    from collab.data import empty_validation_error

    split = state.split()
    if split.valid.n_ratings:
        return True
    st.error(say(empty_validation_error(split.n_dropped)), icon=":material/error:")
    return False


def runs_table() -> None:
    """Every run of this session, newest first."""
    runs = state.runs()
    if not runs:
        return
    st.subheader("Runs in this session")
    frame = pd.DataFrame(
        [
            {
                "model": run.model,
                "settings": run.summary,
                "valid RMSE": run.rmse,
                "mean RMSE": run.mean_rmse,
                "valid MAE": run.mae,
                "seconds": run.seconds,
                "from cache": run.cached,
                "dataset": run.dataset,
            }
            for run in reversed(runs)
        ]
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "valid RMSE": st.column_config.NumberColumn(format="%.4f"),
            "mean RMSE": st.column_config.NumberColumn(
                format="%.4f", help="Predict-the-mean RMSE on the same validation set: a model must beat it"
            ),
            "valid MAE": st.column_config.NumberColumn(format="%.4f"),
            "seconds": st.column_config.NumberColumn(format="%.2f"),
        },
        key="train_runs_table",
    )


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.2f} MB" if n_bytes >= 2**20 else f"{n_bytes / 2**10:,.1f} KB"


def cost_panel(config: TrainConfig) -> bool:
    """Effective batch and memory estimate for the chosen settings (updates as the sliders move);
    False (with the reason shown) when this model cannot train on this dataset."""
    from collab.memory import estimate_memory

    data = state.ratings()
    problem = model_problem(config)
    if problem:
        st.error(problem, icon=":material/block:")
        return False
    try:
        memory = estimate_memory(config, data.n_users, data.n_items)
    except ValueError as error:  # e.g. the autoencoder on a table too big for its dense output
        st.error(str(error), icon=":material/block:")
        return False
    if config.model == "autorec":
        cols = st.columns(4)
        cols[0].metric("Parameters", _mb(memory.parameter_bytes), help=f"{memory.n_parameters:,} numbers")
        cols[1].metric("Gradients", _mb(memory.gradient_bytes))
        cols[2].metric(
            "L-BFGS history", _mb(memory.optimizer_bytes), help="10 past steps and gradient changes"
        )
        cols[3].metric(
            "Full batch",
            _mb(memory.activation_bytes),
            help="every item's code (without the compiled kernel also its rebuilt column)",
        )
        st.caption(f"About **{_mb(memory.total_bytes)}** in all while training.")
        return True
    cols = st.columns(5)
    cols[0].metric(
        "Effective batch",
        f"{config.effective_batch:,}",
        help="batch size x accumulation steps: ratings per update",
    )
    cols[1].metric(
        "Parameters", _mb(memory.parameter_bytes), help=f"{memory.n_parameters:,} numbers in float32"
    )
    cols[2].metric("Gradients", _mb(memory.gradient_bytes))
    cols[3].metric(
        "Optimizer state", _mb(memory.optimizer_bytes), help="AdamW keeps two moving averages per parameter"
    )
    cols[4].metric(
        "One micro-batch", _mb(memory.activation_bytes), help="activations of one forward and backward pass"
    )
    st.caption(
        f"About **{_mb(memory.total_bytes)}** in all while training. More factors mean more parameters, and "
        "every parameter also needs a gradient and two optimizer numbers: more memory, on a GPU too."
    )
    return True


def sweep_section(config: TrainConfig) -> None:
    """Train the same settings at several weight decays and overlay their validation curves."""
    if config.model == "autorec":
        st.info(
            "The sweep compares weight decays of the models trained in batches; the autoencoder's L2 penalty "
            "is on its own scale. Change it above and train again to compare in **All runs**.",
            icon=":material/info:",
        )
        return
    if model_problem(config) or not state.split().valid.n_ratings:
        st.info(
            "Pick a model and a split that fit these ratings above to run the sweep.", icon=":material/info:"
        )
        return
    decays = sorted({*SWEEP_DECAYS, config.weight_decay}, reverse=True)
    st.markdown(
        "Train the settings above at weight decay "
        + ", ".join(f"{wd:g}" for wd in decays)
        + " and compare the validation curves: too little decay overfits, too much underfits."
    )
    if st.button("Run the sweep", key="train_sweep_button", icon=":material/stacked_line_chart:"):
        results = {}
        for wd in decays:
            variant = dataclasses.replace(config, weight_decay=wd)
            results[wd], _ = train_and_record(variant, label=f"weight decay {wd:g}")
        state.set_sweep(results)
    sweep = state.sweep()
    if sweep:
        st.plotly_chart(
            training_plots.sweep_figure({wd: result.history for wd, result in sweep.items()}),
            key="train_sweep_chart",
        )
        best = min(sweep, key=lambda wd: sweep[wd].metrics["rmse"])
        st.success(f"Lowest validation RMSE: weight decay {best:g} ({sweep[best].metrics['rmse']:.4f}).")


def accumulation_lab(config: TrainConfig) -> None:
    """k micro-batches of b versus one batch of k*b: same gradient, different memory and time."""
    from collab.training import compare_accumulation

    if config.model == "autorec":
        st.info(
            "The autoencoder trains on every rating at once (full batch), so there is nothing to accumulate. "
            "Pick another model to compare micro-batches with one big batch.",
            icon=":material/info:",
        )
        return
    if model_problem(config):
        st.info("Pick a model that fits these ratings above to compare gradients.", icon=":material/info:")
        return
    st.markdown(
        "Gradient accumulation adds up the gradients of several small batches before one optimizer step. "
        "Scaled correctly, it computes **exactly** the gradient of one big batch, with the memory of a small one."
    )
    cols = st.columns(2)
    micro = cols[0].select_slider(
        "Micro-batch b", [8, 16, 32, 64, 128, 256, 512, 1024], 64, key="train_lab_micro"
    )
    steps = cols[1].select_slider("Micro-batches k", [1, 2, 4, 8, 16, 32], 8, key="train_lab_steps")
    if st.button("Compare the gradients", key="train_lab_button", icon=":material/compare_arrows:"):
        data = state.ratings()
        check = compare_accumulation(state.split().train, config, data.n_users, data.n_items, micro, steps)
        cols = st.columns(3)
        cols[0].metric("Largest gradient difference", f"{check.max_abs_diff:.2e}")
        cols[1].metric(f"Gradient norm, {steps} x {micro}", f"{check.grad_norm_accum:.6f}")
        cols[2].metric(f"Gradient norm, 1 x {steps * micro}", f"{check.grad_norm_big:.6f}")
        source = (
            "measured peak allocation" if check.memory_measured else "estimate (CPU: no allocator counter)"
        )
        st.dataframe(
            pd.DataFrame(
                {
                    "way": [f"{steps} micro-batches of {micro}", f"one batch of {steps * micro}"],
                    "peak memory": [_mb(check.peak_bytes_accum), _mb(check.peak_bytes_big)],
                    "time per step (ms)": [
                        check.seconds_per_step_accum * 1e3,
                        check.seconds_per_step_big * 1e3,
                    ],
                }
            ),
            hide_index=True,
            key="train_lab_table",
        )
        st.caption(f"Peak memory: {source}, on {check.device}. Differences around 1e-7 are float32 rounding.")
