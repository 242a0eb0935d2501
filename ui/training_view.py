"""Train-page pieces that are not widgets: live progress, the results panel, sweep and accumulation lab."""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from collab.data import guards
from collab.evaluate.metrics import OVERFIT_RISE, find_overfit_epoch
from collab.models.implicit import IMPLICIT_MODELS
from collab.plots import training as training_plots
from collab.training.config import MODEL_LABELS, TrainConfig, auto_epochs
from ui import budget, cached, implicit_view, state, text
from ui.messages import say
from ui.pool import Job, LineRefused, TrainingCancelled, TrainingPool

if TYPE_CHECKING:
    from collab.training.result import EpochStats, TrainResult

# from underfit (1) to overfit (0); on the demo set 0.001 had drawn on top of 0.01 and 0
SWEEP_DECAYS = (1.0, 0.3, 0.1, 0.01, 0.0)
_LIVE_KEYS = itertools.count()


class LiveProgress:
    """A progress bar, a Cancel button and a loss chart owned by the page, updated while the training
    waits in the pool's line (`waiting`) and from `on_epoch` while it runs. The chart is redrawn at
    most every `CHART_SECONDS`, so a long training costs one figure per interval, not one per epoch."""

    CHART_SECONDS = 0.5

    def __init__(self, label: str, oracle_rmse: float | None = None, loss_name: str = "MSE") -> None:
        self.label = label
        self.loss_name = loss_name
        self.oracle_rmse = oracle_rmse
        self.bar = st.progress(0.0, text=f"{label}: starting…")
        self.cancel_slot = st.empty()
        self.chart = st.empty()
        self.history: list[EpochStats] = []
        self.started = time.perf_counter()
        self.drawn = 0.0
        self.job: Job | None = None

    def waiting(self, job: Job, pool: TrainingPool) -> None:
        """The job is known: a Cancel button (queued or running); while queued, the place in the line and
        an estimate."""
        if self.job is not job:
            self.job = job
            self.cancel_slot.button(
                "Cancel", key=f"train_cancel_{next(_LIVE_KEYS)}", icon=":material/cancel:",
                on_click=_cancelled, args=(job,),
                help="Stop waiting for this training (it stops if nobody else waits); trainings already done stay cached.",
            )  # fmt: skip
        place, busy = pool.position(job), pool.snapshot()
        others = len(job.sessions - {cached.session_id()})
        shared = (
            f" · shared with {others} other student{'s' if others > 1 else ''} who chose the same settings "
            "(Cancel takes back only your interest)"
            if others
            else ""
        )
        if place:
            self.bar.progress(
                0.0,
                text=(
                    f"{self.label}: waiting, number {place} in line ({busy['running']} training now on "
                    f"{busy['workers']} worker{'s' if busy['workers'] > 1 else ''}) · about "
                    f"{pool.estimate(job):.0f} s until done{shared}"
                ),
            )

    def __call__(self, stats: EpochStats) -> None:
        self.history.append(stats)
        if self.job is not None and self.job.started is not None:  # time in the line is not training time
            elapsed = time.monotonic() - self.job.started
        else:
            elapsed = time.perf_counter() - self.started
        left = elapsed / stats.epoch * (stats.epochs - stats.epoch)
        self.bar.progress(
            stats.epoch / stats.epochs,
            text=(
                f"{self.label}: epoch {stats.epoch}/{stats.epochs} · train loss {stats.train_loss:.4f} · "
                + ("" if math.isnan(stats.valid_loss) else f"valid loss {stats.valid_loss:.4f} · ")
                + f"about {left:.1f} s left"
            ),
        )
        now = time.perf_counter()
        if stats.epoch < stats.epochs and now - self.drawn < self.CHART_SECONDS:
            return
        self.drawn = now
        # a fresh key per update: two runs of one script (a sweep) can draw identical figures
        self.chart.plotly_chart(
            training_plots.loss_figure(self.history, oracle_rmse=self.oracle_rmse, loss_name=self.loss_name),
            key=f"live_loss_{next(_LIVE_KEYS)}",
        )

    def clear(self) -> None:
        self.bar.empty()
        self.cancel_slot.empty()
        self.chart.empty()


CANCELLED_JOBS = "training_cancelled_jobs"  # ids of the jobs this session cancelled: never followed again


def _cancelled(job: Job) -> None:
    cached.cancel(job)
    st.session_state.setdefault(CANCELLED_JOBS, set()).add(job.id)
    st.toast("Training cancelled: you left the line.", icon=":material/cancel:")


def oracle_rmse() -> float | None:
    """The demo set's best possible RMSE (the true model's error), or None for real data."""
    truth = state.ratings().truth
    return None if truth is None else float(truth.oracle_rmse)


def loss_name(config: TrainConfig) -> str:
    """What the loss chart of this model plots."""
    return "cross-entropy" if config.model == "classifier" else "MSE"


def floor_for(config: TrainConfig) -> float | None:
    """The noise floor to draw on this model's loss chart: an MSE, so not on the classifier's cross-entropy."""
    return None if config.model == "classifier" else oracle_rmse()


def train_and_record(
    config: TrainConfig, label: str = "Training", make_current: bool = True, source: str = "Train"
) -> tuple[TrainResult, bool]:
    """Train (or fetch from the cache) on the current split, log the run, and (unless `make_current`
    is False, as in the sweep) make it the current model."""
    result, from_cache = train_with_progress(config, label, exclusive=make_current and source == "Train")
    if make_current:
        state.set_result(result, state.split_params())
    record(result, from_cache, source)
    return result, from_cache


def train_with_progress(
    config: TrainConfig, label: str = "Training", exclusive: bool = False
) -> tuple[TrainResult, bool]:
    """Train (or fetch from the cache) on the current split through the pool, with the live progress,
    place in line and Cancel button; a Cancel says so and stops the page's run. `exclusive` (the Train
    button): this session's other queued training is replaced, and a click while its own runs is refused."""
    progress = LiveProgress(label, floor_for(config), loss_name(config))
    try:
        result, from_cache = cached.train(
            state.split(), state.ratings().fingerprint, state.split_params(), config,
            on_epoch=progress, on_wait=progress.waiting, exclusive=exclusive,
        )  # fmt: skip
    except LineRefused as refused:
        progress.clear()
        st.warning(f"**{label}: not started.** {str(refused).capitalize()}.", icon=":material/hourglass_top:")
        st.stop()
    except TrainingCancelled:
        progress.clear()
        st.info(f"{label}: cancelled; trainings already done stay cached.", icon=":material/cancel:")
        st.stop()
    progress.clear()
    return result, from_cache


def record(result: TrainResult, from_cache: bool, source: str = "Train") -> None:
    """Add a run to the session's run table."""
    config = result.config
    data = state.ratings()
    state.add_run(
        state.RunRecord(
            model=MODEL_LABELS[config.model],
            summary=config.describe(data.n_users, data.n_items),
            rmse=float(result.metrics.get("rmse", math.nan)),  # none for the ranking models
            mae=float(result.metrics.get("mae", math.nan)),
            seconds=0.0 if from_cache else float(result.seconds),
            cached=from_cache,
            dataset=state.dataset_source(),
            mean_rmse=float(result.metrics.get("global_mean_rmse", float("nan"))),
            config=config,
            source=source,
            size=short_size(config, data.n_users, data.n_items),
        )
    )


def short_size(config: TrainConfig, n_users: int, n_items: int) -> str:
    """A short column value for what the model is sized by."""
    if config.model == "nn":
        from collab.models.base import embedding_size

        return f"emb {embedding_size(n_users)}/{embedding_size(n_items)}, hidden {config.hidden[0]}"
    if config.model == "autorec":
        return f"{config.n_factors} hidden"
    return config.size_phrase()


def serve_stored(config: TrainConfig) -> TrainResult | None:
    """After a reload: when there is no current model and this exact setup is in the model store (it
    finished in the background, or another session trained it), make it current and return it."""
    if state.result() is not None:
        return None
    data = state.ratings()
    params = state.split_params()
    found = cached.stored(data.fingerprint, params, config)
    if found is not None:
        state.set_result(found, params)
    return found


def follow_pending(config: TrainConfig) -> TrainResult | None:
    """A training of these settings that is queued or running already (this page was reloaded, or left
    and opened again while it waited): follow it here, with its progress and Cancel, instead of
    showing nothing until Train is pressed again. Only when this session has no model yet, or it is
    one of the job's own sessions (a session with another model shown is not pulled into it)."""
    data, params = state.ratings(), state.split_params()
    job = cached.pending(data.fingerprint, params, config)
    if job is None or (state.result() is not None and cached.session_id() not in job.sessions):
        return None
    if job.id in st.session_state.get(CANCELLED_JOBS, ()):  # cancelled here: following it would rejoin it
        return None
    notice = st.empty()  # replaced by the outcome once the training has finished
    notice.info(
        "A training of these settings is under way (started before a reload, in another tab, before you "
        "left this page, or by another student with the same settings): following it.",
        icon=":material/sync:",
    )
    result, from_cache = train_and_record(config)
    # the outcome a click on Train shows: a student whose click joined a training already under way (a
    # classmate's with the same settings) otherwise saw the results appear with no word of where from
    if from_cache:
        notice.info("Loaded from cache: these settings were trained before.", icon=":material/bolt:")
    else:
        notice.success(
            f"Trained in {result.seconds:.2f} s on {result.device} (the training of these settings that was "
            "under way).",
            icon=":material/check_circle:",
        )
    return result


def others_under_way(config: TrainConfig) -> None:
    """Trainings this page started for other settings (a knob moved while one ran) go on in the
    background: say so, with a Cancel for them, instead of hiding them until the knobs move back."""
    data, params = state.ratings(), state.split_params()
    mine = (data.fingerprint, params, config)
    others = [job for job in cached.my_jobs() if job.key != mine]
    if not others:
        return
    described = [
        job.key[2].describe(data.n_users, data.n_items)
        for job in others
        if isinstance(job.key, tuple) and len(job.key) == 3 and isinstance(job.key[2], TrainConfig)
    ]
    what = "; ".join(described[:3]) + (f"; and {len(described) - 3} more" if len(described) > 3 else "")
    many = len(others) > 1
    st.info(
        f"{len(others)} training{'s' if many else ''} this page started for other settings "
        f"{'are' if many else 'is'} still under way: {text.md(what) or 'a blend or a sweep'}. Move the knobs "
        f"back to follow {'them' if many else 'it'}, or cancel {'them' if many else 'it'} to free the trainer "
        "for the settings above.",
        icon=":material/pending:",
    )
    if st.button("Cancel those trainings", key="train_cancel_others", icon=":material/cancel:"):
        for job in others:
            _cancelled(job)
        st.rerun()


def results_panel(result: TrainResult, knobs: TrainConfig | None = None) -> None:
    """Which model this is, its loss curves, metrics and the overfitting marker. When the knobs (`knobs`)
    show other settings than the current model's, say so: the panel always describes the model it shows."""
    if result.config.model in IMPLICIT_MODELS:  # ranking metrics beside popularity, no RMSE
        implicit_view.results_panel(result)
        return
    data = state.ratings()
    st.markdown(f"**Current model:** {result.config.describe(data.n_users, data.n_items)}")
    if knobs is not None and dataclasses.replace(knobs, device=result.config.device) != dataclasses.replace(
        result.config, amp=knobs.amp
    ):
        st.caption(
            "The knobs above show other settings than this model's: press **Train** to train what they show."
        )
    overfit = find_overfit_epoch(result.history, tolerance=OVERFIT_RISE)
    oracle = floor_for(result.config)
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
    for note in result.notes:  # e.g. the compiled kernels were off (no writable disk for their cache)
        st.info(note, icon=":material/info:")
    st.plotly_chart(
        epochs_title(
            training_plots.loss_figure(
                result.history, oracle_rmse=oracle, overfit_epoch=overfit, loss_name=loss_name(result.config)
            ),
            result,
        ),
        key="train_loss_chart",
    )
    if overfit is not None:
        valid = [h.valid_loss for h in result.history]
        rise = valid[-1] / valid[overfit - 1] - 1
        st.warning(
            f"**Overfitting from epoch {overfit}.** Validation loss ends {rise:.1%} above its best (the marker "
            f"needs a rise of {OVERFIT_RISE:.0%}) while training loss keeps falling: "
            "the model is memorising the training ratings instead of learning what generalises. "
            + (
                "Raise the L2 penalty, use fewer hidden units or fewer rounds."
                if result.config.model == "autorec"
                else "Raise the weight decay (try 10x), use fewer factors or fewer epochs."
            ),
            icon=":material/trending_up:",
        )


PRESET_NAMES = {
    "default": "our default",
    "fastbook": "fastbook's settings",
    "best": "best",
    "autorec": "default",
}


def matching_preset(config: TrainConfig) -> str | None:
    """The preset `config` is (the seed, device and precision aside), if any."""
    from collab.training.config import PRESETS

    for name, preset in PRESETS.items():
        if dataclasses.replace(config, seed=preset.seed, device=preset.device, amp=preset.amp) == preset:
            return name
    return None


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
    from collab.models.base import MAX_CLASSES

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
    st.error(say(empty_validation_error(split.n_dropped, split.method)), icon=":material/error:")
    return False


def run_rows(runs: list[state.RunRecord]) -> pd.DataFrame:
    """The run table, newest first: the settings in their own short columns, so none is cut off."""
    rows = []
    for run in reversed(runs):
        config = run.config
        row = {"model": run.model, "valid RMSE": run.rmse, "from": run.source}
        if config is None:
            row |= {"size": run.size or run.summary}
        else:
            preset = matching_preset(config)
            if preset:
                row["from"] = f"{run.source} ({PRESET_NAMES.get(preset, preset)})"
            batch_like = config.model != "autorec"
            row |= {
                "size": run.size or config.size_phrase(),
                "epochs": config.epochs,
                "batch": f"{config.batch_size}"
                + (f" x {config.accum_steps}" if config.accum_steps > 1 else "")
                if batch_like
                else "all",
                "lr": f"{config.lr:g}" if batch_like else "L-BFGS",
                "wd": f"{config.weight_decay:g}",
                "seed": config.seed,
            }
        row |= {
            "mean RMSE": run.mean_rmse,
            "valid MAE": run.mae,
            "seconds": run.seconds,
            "cached": run.cached,
            "dataset": run.dataset,
            "settings": run.summary,
        }
        rows.append(row)
    return pd.DataFrame(rows)


def _safe_dataset(frame: pd.DataFrame) -> pd.DataFrame:
    """The table's CSV download (Streamlit's toolbar) must not run a formula from data: the dataset
    column holds an uploaded file's name. The other columns are the app's own text, shown as written
    (an apostrophe before a blend's "-0.449" would show in the table)."""
    frame["dataset"] = frame["dataset"].map(guards.safe_cell)
    return frame


def runs_table() -> None:
    """Every run of this session, newest first."""
    runs = state.runs()
    if not runs:
        return
    st.subheader("Runs in this session")
    st.dataframe(
        text.table(_safe_dataset(run_rows(runs))),
        hide_index=True,
        width="stretch",
        column_config={
            "model": st.column_config.TextColumn("model", width="medium", pinned=True),
            "size": st.column_config.TextColumn("size", width="small"),
            "valid RMSE": st.column_config.NumberColumn(format="%.4f", width="small"),
            "mean RMSE": st.column_config.NumberColumn(
                format="%.4f",
                width="small",
                help="Predict-the-mean RMSE on the same validation set: a model must beat it",
            ),
            "valid MAE": st.column_config.NumberColumn(format="%.4f", width="small"),
            "seconds": st.column_config.NumberColumn(format="%.2f", width="small"),
            "settings": st.column_config.TextColumn("full settings", width="large"),
        },
        key="train_runs_table",
    )


def size_text(n_bytes: float) -> str:
    """Bytes in binary units, labelled as such (KiB = 1,024 bytes, MiB = 1,024 KiB), to three significant
    digits: 1,000 KiB and up read as MiB (0.98 MiB), so a metric's value ("609 KiB", "1.19 MiB") fits one
    of the Train page's five columns at 1280 px and is never cut off ("609.4 …")."""
    value, unit = (n_bytes / 2**20, "MiB") if n_bytes >= 1000 * 2**10 else (n_bytes / 2**10, "KiB")
    digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:,.{digits}f} {unit}"


def memory_fits(config: TrainConfig, n_users: int, n_items: int, n_train: int) -> bool:
    """Whether the measured model of this training's peak fits the server's share for one training; if not,
    an error with the numbers and the largest setting that fits (a smaller model or dataset else)."""
    limits = budget.current()
    peak = budget.training_peak_bytes(config, n_users, n_items, n_train)
    if peak <= limits.training_bytes:
        return True
    # the knob that sizes the model, as the page labels it, and its step (nn and bias: none; see below)
    knob, step, low = {"autorec": ("Hidden units", 50, 50), "bfm": ("Rank (factors)", 1, 2)}.get(
        config.model, ("Latent factors", 8, 1)
    )
    smaller = next(
        (
            size
            for size in range(config.n_factors - step, low - 1, -step)
            if config.model not in ("nn", "bias")  # their size does not come from the factors
            and limits.training_fits(dataclasses.replace(config, n_factors=size), n_users, n_items, n_train)
        ),
        None,
    )
    dot_fits = config.model not in ("dot", "bias") and limits.training_fits(
        TrainConfig(seed=config.seed), n_users, n_items, n_train
    )
    advice = (
        f"Set **{knob}** to {smaller} or less"
        if smaller
        else f"Choose the **{MODEL_LABELS['dot']}** model (its default fits)"
        if dot_fits
        else "Use a smaller dataset (a sample of the file)"
    )
    st.error(
        f"**Train is off: this setting does not fit this server's memory.** Training it here peaks at about "
        f"{peak / 2**20:,.0f} MB (measured on this model and data size), and one training may use "
        f"{limits.training_bytes / 2**20:,.0f} MB of the {limits.memory_mb:,} MB budget. {advice}; or run it "
        "with the collab library on a machine with more memory.",
        icon=":material/block:",
    )
    return False


def cost_panel(config: TrainConfig) -> bool:
    """Effective batch and memory estimate for the chosen settings (updates as the sliders move);
    False (with the reason shown) when this model cannot train on this dataset."""
    from collab.training.memory import estimate_memory

    data = state.ratings()
    problem = model_problem(config)
    if problem:
        st.error(problem, icon=":material/block:")
        return False
    if config.model in IMPLICIT_MODELS:  # checked against the budget like the others, then its own panel
        n_train = state.split().train.n_ratings
        return memory_fits(config, data.n_users, data.n_items, n_train) and implicit_view.cost_panel(config)
    try:
        memory = estimate_memory(config, data.n_users, data.n_items)
    except ValueError as error:  # e.g. the autoencoder on a table too big for its dense output
        st.error(text.md(error), icon=":material/block:")
        return False
    n_train = state.split().train.n_ratings
    if not memory_fits(config, data.n_users, data.n_items, n_train):
        return False
    # keyed: under 1000 px (150% zoom) the app's CSS wraps these metrics 3 + 2, so no value is cut
    memory_row = st.container(key="train_memory")
    if config.model == "autorec":
        cols = memory_row.columns(4)
        cols[0].metric(
            "Parameters", size_text(memory.parameter_bytes), help=f"{memory.n_parameters:,} numbers"
        )
        cols[1].metric("Gradients", size_text(memory.gradient_bytes))
        cols[2].metric(
            "L-BFGS history", size_text(memory.optimizer_bytes), help="10 past steps and gradient changes"
        )
        cols[3].metric(
            "Full batch",
            size_text(memory.activation_bytes),
            help="every item's code (without the compiled kernel also its rebuilt column)",
        )
        st.caption(f"About **{size_text(memory.total_bytes)}** in all while training.")
        return True
    steps = math.ceil(n_train / config.effective_batch) if n_train else 0
    cols = memory_row.columns(5)
    cols[0].metric(
        "Effective batch",
        f"{config.effective_batch:,}",
        delta=f"{steps:,} step{'s' if steps != 1 else ''} per epoch",
        delta_color="off",
        delta_arrow="off",
        help=f"batch size x accumulation steps: ratings per optimizer update. {n_train:,} training ratings "
        f"/ {config.effective_batch:,} = {steps:,} optimizer steps per epoch.",
    )
    cols[1].metric(
        "Parameters", size_text(memory.parameter_bytes), help=f"{memory.n_parameters:,} numbers in float32"
    )
    cols[2].metric("Gradients", size_text(memory.gradient_bytes))
    cols[3].metric(
        "Optimizer state",
        size_text(memory.optimizer_bytes),
        help="AdamW keeps two moving averages per parameter",
    )
    cols[4].metric(
        "One micro-batch",
        size_text(memory.activation_bytes),
        help="activations of one forward and backward pass",
    )
    st.caption(
        f"About **{size_text(memory.total_bytes)}** in all while training. More factors mean more parameters, and "
        "every parameter also needs a gradient and two optimizer numbers: more memory, on a GPU too."
    )
    if n_train and config.effective_batch > n_train:
        st.warning(
            f"**The effective batch ({config.effective_batch:,} = batch size {config.batch_size:,} x "
            f"{config.accum_steps} accumulation steps) is larger than the training set ({n_train:,} ratings)**: "
            f"one optimizer step per epoch, {config.epochs} in all, so the loss will barely move. Lower the "
            "batch size or the accumulation steps.",
            icon=":material/warning:",
        )
    return True


def sweep_section(config: TrainConfig) -> None:
    """Train the same settings at several weight decays and overlay their validation curves."""
    if implicit_view.not_for_ranking("The weight-decay sweep"):
        return
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
    st.caption(
        "The sweep does not change the current model; pick a member below to make it current (the knobs follow)."
    )
    if st.button("Run the sweep", key="train_sweep_button", icon=":material/stacked_line_chart:"):
        results = {}
        for wd in decays:
            variant = dataclasses.replace(config, weight_decay=wd)
            results[wd], _ = train_and_record(
                variant, label=f"weight decay {wd:g}", make_current=False, source="sweep"
            )
        state.set_sweep(results)
    sweep = state.sweep()
    if sweep:
        st.plotly_chart(
            training_plots.sweep_figure({wd: result.history for wd, result in sweep.items()}),
            key="train_sweep_chart",
        )
        best = min(sweep, key=lambda wd: sweep[wd].metrics["rmse"])
        st.success(f"Lowest validation RMSE: weight decay {best:g} ({sweep[best].metrics['rmse']:.4f}).")
        cols = st.columns([2, 1], vertical_alignment="bottom")
        choices = sorted(sweep, reverse=True)
        pick = cols[0].selectbox(
            "Sweep member", choices, index=choices.index(best), key="train_sweep_pick",
            format_func=lambda wd: f"weight decay {wd:g}: valid RMSE {sweep[wd].metrics['rmse']:.4f}",
        )  # fmt: skip
        cols[1].button(
            "Make it the current model", key="train_sweep_use", on_click=use_sweep_member, args=(pick,),
            icon=":material/check:",
        )  # fmt: skip


def use_sweep_member(wd: float) -> None:
    """Callback: a sweep member becomes the current model, and the knobs show its settings."""
    from ui import url_state

    member = (state.sweep() or {}).get(wd)
    if member is None:
        return
    state.set_result(member)
    url_state.set_knobs(url_state.config_knobs(member.config))
    state.flash(
        f"The sweep's weight decay {wd:g} model is now the current model; the knobs show its settings."
    )


def accumulation_lab(config: TrainConfig, sliders_above: bool = False) -> None:
    """k micro-batches of b versus one batch of k*b: same gradient, different memory and time.

    `sliders_above` (the Lesson's memory step): b and k are the config's batch size and accumulation steps,
    set by the sliders above the lab, instead of the lab's own two sliders."""
    from collab.training.accumulation import compare_accumulation

    if implicit_view.not_for_ranking("The gradient-accumulation lab"):
        return
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
        "Scaled correctly, it computes **exactly** the gradient of one big batch, with the memory of a small one. "
        "Data parallelism is gradient accumulation across processes: under `torchrun`, `collab train` gives each "
        "process a share of every step and adds their gradients before one update, the same update as one process "
        "with the whole batch."
    )
    if sliders_above:
        micro, steps = config.batch_size, config.accum_steps
        st.caption(
            f"From the sliders above (batch size {micro}, {steps} accumulation step{'s' if steps > 1 else ''}): "
            f"**{steps} micro-batch{'es' if steps > 1 else ''} of {micro}** against **one batch of "
            f"{steps * micro:,}**, the effective batch."
        )
        if steps == 1:
            st.info(
                "One accumulation step adds nothing up: set **Accumulation steps** above to 2 or more to compare.",
                icon=":material/info:",
            )
    else:
        cols = st.columns(2)
        micro = cols[0].select_slider(
            "Micro-batch b", [8, 16, 32, 64, 128, 256, 512, 1024], 64, key="train_lab_micro"
        )
        steps = cols[1].select_slider("Micro-batches k", [1, 2, 4, 8, 16, 32], 8, key="train_lab_steps")
    if st.button(
        "Compare the gradients", key="train_lab_button", icon=":material/compare_arrows:",
        disabled=sliders_above and steps == 1,
    ):  # fmt: skip
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
                    "peak memory": [size_text(check.peak_bytes_accum), size_text(check.peak_bytes_big)],
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
        if (n_train := state.split().train.n_ratings) < steps * micro:
            st.caption(
                f"The training set has only {n_train:,} ratings: the big batch is all of them, and the last "
                "micro-batch is short."
            )
