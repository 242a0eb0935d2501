"""The Train page's blend tab: several models at once, weights fitted on held-out training ratings."""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from collab.data import Split
from collab.models.autorec import check_size
from collab.models.implicit import IMPLICIT_MODELS
from collab.training.config import MODEL_LABELS, PRESETS, TrainConfig
from ui import cached, state, text

if TYPE_CHECKING:
    from collab.data import Ratings
    from collab.training.blend import BlendResult
    from collab.training.result import TrainResult
    from ui.pool import Job, TrainingPool

BLEND_HOLDOUT = (0.1, 0)  # share of the training ratings the weights are fitted on, and its seed

BLEND_INTRO = (
    "Different models make different mistakes: the autoencoder reads an item from *who* rated it *how*, the "
    "dot product learns a free vector per item. A weighted sum of their predictions usually beats each of them. The "
    "weights must not be fitted on the ratings we score, so each model is first trained on 90% of the "
    "training ratings, the weights are fitted (least squares) on the other 10%, and then every model is "
    "trained again on all of them."
)


def member_config(model: str, current: TrainConfig) -> TrainConfig:
    """The settings above for the model they describe; the default preset (the autoencoder: its own
    preset) for the others."""
    if current.model == model:
        return current
    preset = (
        PRESETS["autorec"] if model == "autorec" else dataclasses.replace(PRESETS["default"], model=model)
    )
    if model == "autorec":  # the paper's 500 hidden units, or the most that fit this server's memory
        from ui.widgets import fits_hidden, largest_fitting_hidden

        if not fits_hidden(preset.n_factors):
            preset = dataclasses.replace(preset, n_factors=largest_fitting_hidden(preset.n_factors) or 50)
    return dataclasses.replace(preset, seed=current.seed)


def memory_problem(configs: list[TrainConfig]) -> str | None:
    """Why a member cannot train here: its measured peak is over one training's share of the server's
    memory (each member trains on its own, twice), with the setting to change."""
    from ui import budget

    limits, data, n_train = budget.current(), state.ratings(), state.split().train.n_ratings
    for config in configs:
        try:
            peak = budget.training_peak_bytes(config, data.n_users, data.n_items, n_train)
        except ValueError:  # too big for the model at any size: data_problem or check_size says why
            continue
        if peak > limits.training_bytes:
            knob = "Hidden units" if config.model == "autorec" else "Latent factors"
            return (
                f"**{MODEL_LABELS[config.model]}** as set here peaks at about {peak / 2**20:,.0f} MiB, over one "
                f"training's share of this server's memory ({limits.training_bytes / 2**20:,.0f} MiB). Choose it "
                f"as the **Model** on the form above with a smaller **{knob}** (the blend uses the settings "
                "shown there), or leave it out of the blend."
            )
    return None


def data_problem(configs: list[TrainConfig]) -> str | None:
    """Why these members cannot be blended on the current data: no validation rating, or a member (the
    rating classifier) that does not fit these ratings."""
    from ui.training_view import model_problem

    if not state.split().valid.n_ratings:
        return "The validation set is empty (see the split above): there is nothing to score a blend on."
    from collab.training.blend import min_train_ratings

    n_train, needed = state.split().train.n_ratings, min_train_ratings(len(configs), BLEND_HOLDOUT[0])
    if len(configs) >= 2 and n_train < needed:
        return (
            f"Too few training ratings to blend {len(configs)} models: the weights are fitted on "
            f"{BLEND_HOLDOUT[0]:.0%} of the {n_train:,} training ratings, and need about {needed:,} training "
            "ratings in all. Use the best model alone (the runs table compares them)."
        )
    return next((problem for config in configs if (problem := model_problem(config))), None)


def blend_section(current: TrainConfig) -> None:
    """Pick models, train the blend with progress, show its RMSE beside each member's and the weights."""
    from collab.training.blend import train_blend

    st.markdown(BLEND_INTRO)
    models = st.multiselect(
        "Models to blend", [m for m in MODEL_LABELS if m not in IMPLICIT_MODELS], default=["autorec", "dot"], format_func=MODEL_LABELS.get,
        key="train_blend_models", max_selections=4,
    )  # fmt: skip
    configs = [member_config(model, current) for model in models]
    for config in configs:
        st.caption(f"- {config.describe()}")
    problem = "Pick at least two models: a blend of one is that model." if len(configs) < 2 else None
    if "autorec" in models:
        data = state.ratings()
        try:
            check_size(data.n_users, data.n_items)
        except ValueError as error:
            problem = str(error)
    problem = problem or data_problem(configs) or memory_problem(configs)
    if problem:
        st.info(problem, icon=":material/info:")
    if st.button(
        "Train the blend",
        key="train_blend_button",
        icon=":material/join_inner:",
        disabled=problem is not None,
    ):
        split = state.split()
        bar = st.progress(0.0, text="Training on 90% of the training ratings")
        done: list[int] = []

        def on_member(stage: str, index: int, result: object) -> None:
            done.append(index)
            what = "all training ratings" if stage == "full" else "90% of the training ratings"
            bar.progress(
                len(done) / (2 * len(configs)), text=f"{MODEL_LABELS[models[index]]}: trained on {what}"
            )

        fingerprint, params = state.ratings().fingerprint, state.split_params()

        def waiting(job: Job, pool: TrainingPool) -> None:
            place = pool.position(job)
            if place:
                bar.progress(
                    len(done) / (2 * len(configs)),
                    text=f"Blend: waiting, number {place} in line for a trainer · about {pool.estimate(job):.0f} s",
                )

        waited = [0.0]  # seconds spent in the line, not training: left out of the blend's time

        def pooled(data_split: Split, key: object, config: TrainConfig) -> TrainResult:
            started = time.perf_counter()
            result, from_store = cached.train(data_split, fingerprint, key, config, on_wait=waiting)
            own = 0.0 if from_store else result.seconds
            waited[0] += max(time.perf_counter() - started - own, 0.0)
            return result

        def train_full(config: TrainConfig) -> TrainResult:  # through the model cache: reused, and kept
            return pooled(split, params, config)

        def train_holdout(fit_part: Ratings, config: TrainConfig) -> TrainResult:
            # on the training pool like every training (a class's blends wait their turn), and kept in
            # the model cache under its own key: a second click reuses the 90% models too
            part = Split(train=fit_part, valid=None, n_dropped=0)  # type: ignore[arg-type] - no scoring
            return pooled(part, ("blend holdout", params, BLEND_HOLDOUT), config)

        try:
            blend = train_blend(
                split.train, split.valid, configs, holdout_pct=BLEND_HOLDOUT[0], seed=BLEND_HOLDOUT[1],
                on_member=on_member, train_full=train_full, train_holdout=train_holdout,
            )  # fmt: skip
        except ValueError as error:  # a holdout thinned by unseen users and items: said, not raised
            bar.empty()
            st.error(text.md(str(error)), icon=":material/error:")
            return
        bar.empty()
        blend = dataclasses.replace(blend, seconds=max(blend.seconds - waited[0], 0.0))
        state.set_blend(blend)
        state.add_run(
            state.RunRecord(
                model="Blend: " + " + ".join(MODEL_LABELS[m.config.model] for m in blend.members),
                summary=blend.describe(),
                rmse=float(blend.metrics["rmse"]),
                mae=float(blend.metrics["mae"]),
                seconds=float(blend.seconds),
                cached=False,
                dataset=state.dataset_source(),
                source="Blend",
                size=f"{len(blend.members)} models",
                mean_rmse=float(blend.members[0].metrics.get("global_mean_rmse", float("nan"))),  # same split
            )
        )
    blend = state.blend()
    if blend is not None:
        _blend_results(blend)


def _blend_results(blend: BlendResult) -> None:
    best_member = min(m.metrics["rmse"] for m in blend.members)
    cols = st.columns(len(blend.members) + 1)
    cols[0].metric(
        "Blend RMSE",
        f"{blend.metrics['rmse']:.4f}",
        delta=f"{blend.metrics['rmse'] - best_member:+.4f} vs the best model alone",
        delta_color="inverse",
    )
    for col, member in zip(cols[1:], blend.members, strict=True):
        col.metric(f"{MODEL_LABELS[member.config.model]} alone", f"{member.metrics['rmse']:.4f}")
    st.dataframe(
        pd.DataFrame(
            {
                "model": [MODEL_LABELS[m.config.model] for m in blend.members],
                "weight": blend.weights,
                "valid RMSE alone": [m.metrics["rmse"] for m in blend.members],
            }
        ),
        hide_index=True,
        key="train_blend_table",
    )
    st.caption(
        f"prediction = {blend.intercept:+.3f} + the weighted predictions, clipped to the training ratings' "
        f"range ({blend.rating_range[0]:g} to {blend.rating_range[1]:g}). RMSE on the 10% the weights were "
        f"fitted on: {blend.holdout_rmse:.4f}. Trained in {blend.seconds:.1f} s."
    )
    if blend.metrics["rmse"] > best_member:
        st.warning(
            f"The blend is worse than its best model alone ({blend.metrics['rmse']:.4f} against "
            f"{best_member:.4f}): the weights fitted on the held-out 10% do not carry over to the validation "
            "ratings. Use the best model alone.",
            icon=":material/warning:",
        )
