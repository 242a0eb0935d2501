"""Shareable, sticky settings: the Train knobs, the split and the dataset, kept for the session and in the URL.

Two jobs, one table of knobs:

- **Sticky knobs.** Streamlit forgets a widget's value when its page is left. Every knob here is
  seeded from a store in session state before its widget is drawn (`seed`), and its value is saved
  back after (`save`), so the Train form shows the same settings when you come back to it.
- **The URL.** The dataset, the split and the Train settings are written to `st.query_params` on
  every run (`sync`), and a fresh session reads them back once (`restore`). Every value from a URL
  is checked the way the Train page would check it, through `TrainConfig` (the one source of truth)
  and then the widget's own range; what does not pass is ignored with a note naming the knob.

Streamlit drops unbound query params when the user switches pages in the navigation, so `sync`
writes them again from the session on every run. The `step` parameter belongs to the Lesson page and
any other parameter is left as it is.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from collab.models.implicit import IMPLICIT_MODELS
from collab.training.config import MODEL_LABELS, PRESETS, TrainConfig
from ui import state, text

KNOBS = "url_knobs"  # dict[widget key, value]: every sticky knob as last shown
NOTES = "url_notes"  # list[str]: what the opening link asked for that could not be used
RESTORED = "url_restored"  # True once this session has taken everything from its URL (dataset loaded)
# (data, upload fingerprint, notes): the link's dataset still to load, kept while a load is under way, so a
# run stopped during it (the student moved on) takes it up again instead of forgetting the link
LINK_PENDING = "url_link_pending"
WRITTEN = "url_written"  # dict[str, str]: the params this module last wrote

WEIGHT_DECAYS = [0.0, 0.001, 0.01, 0.1, 0.3, 0.7, 1.0, 3.0]
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 5e-3, 1e-2, 2e-2, 3e-2, 5e-2, 1e-1]
AUTOREC_L2 = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02]
SPLIT_METHODS = {
    "random": "Random ratings",
    "by_time": "Latest ratings (by time)",
    "by_user": "A share of each user's ratings",
}
MOVIELENS_NAMES = ("100k", "latest-small", "1m")
QUOTE_LIMIT = 80  # characters of a bad value quoted back from a link
DATA_DEMO, DATA_UPLOAD = "demo", "upload"
DATA_SOURCE_KEY = "data_source"  # the Data page's Source radio; its values are "demo", "movielens", "upload"


@dataclass(frozen=True)
class Knob:
    """One Train-page knob: its URL name, widget key, `TrainConfig` field, and the widget's domain."""

    param: str  # name in the URL
    key: str  # widget key
    field: str  # TrainConfig field
    label: str  # the control's label, for notes
    kind: type  # int, float, bool or str
    low: float | None = None  # slider range (numbers)
    high: float | None = None
    step: float | None = None
    options: Sequence[Any] | None = None  # select boxes and select sliders

    def domain_error(self, value: Any) -> str | None:
        """Why the widget cannot show `value`, or None when it can."""
        if self.options is not None:
            if self.kind is float:
                if not any(math.isclose(value, o, rel_tol=1e-9, abs_tol=1e-12) for o in self.options):
                    return f"{self.label} offers {', '.join(f'{o:g}' for o in self.options)}"
            elif value not in self.options:
                return f"{self.label} offers {', '.join(map(str, self.options))}"
            return None
        if self.low is not None and not self.low <= value <= self.high:
            return f"{self.label} goes from {_bound(self.low)} to {_bound(self.high)}"
        if self.step and self.kind is int and (value - self.low) % self.step:
            if self.step == 8:
                return f"{self.label} must be a multiple of 8 (hardware works in blocks of 8)"
            return f"{self.label} moves in steps of {self.step:g}"
        if (
            self.step
            and self.kind is float
            and not math.isclose(
                round((value - self.low) / self.step) * self.step + self.low, value, abs_tol=1e-9
            )
        ):
            return f"{self.label} moves in steps of {self.step:g}"
        return None

    def snap(self, value: Any) -> Any:
        """A float option as the widget spells it (0.005 for 5e-3 typed as 0.0050)."""
        if self.options is not None and self.kind is float:
            return min(self.options, key=lambda o: abs(o - value))
        return value


_DEFAULT = TrainConfig()
_AUTOREC = PRESETS["autorec"]
MODEL_KNOB = Knob("model", "train_model", "model", "Model", str, options=tuple(MODEL_LABELS))
# the knobs of the models trained in batches (dot, nn, bias, classifier)
BATCH_KNOBS: tuple[Knob, ...] = (
    Knob("factors", "train_n_factors", "n_factors", "Latent factors", int, 1, 200, 1),
    Knob("epochs", "train_epochs", "epochs", "Epochs", int, 1, 50, 1),
    Knob("bs", "train_batch_size", "batch_size", "Batch size", int, 8, 4096, 8),
    Knob("accum", "train_accum", "accum_steps", "Gradient-accumulation steps", int, 1, 16, 1),
    Knob("lr", "train_lr", "lr", "Learning rate", float, options=LEARNING_RATES),
    Knob("wd", "train_wd", "weight_decay", "Weight decay", float, options=WEIGHT_DECAYS),
    Knob("schedule", "train_schedule", "schedule", "Schedule", str, options=("one_cycle", "constant")),
    Knob("decay_biases", "train_decay_biases", "decay_biases", "Decay the biases too", bool),
    Knob("hidden", "train_hidden", "hidden", "Hidden units (neural net)", int, 8, 512, 8),
    Knob("dropout", "train_dropout", "dropout", "Dropout (neural net)", float, 0.0, 0.8, 0.05),
)
# the autoencoder's own knobs share URL names with the batch models' (factors, epochs, wd)
AUTOREC_KNOBS: tuple[Knob, ...] = (
    Knob("factors", "train_autorec_hidden", "n_factors", "Hidden units (code length)", int, 50, 1000, 50),
    Knob("epochs", "train_autorec_rounds", "epochs", "Rounds", int, 1, 30, 1),
    Knob("wd", "train_autorec_l2", "weight_decay", "L2 penalty per rating", float, options=AUTOREC_L2),
)
# the ranking models' knobs (BPR, BCE): their defaults are each model's tuned ones
IMPLICIT_LRS = (0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.1)
IMPLICIT_L2S = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1)
IMPLICIT_LR_DECAYS = (0.9, 0.95, 0.97, 0.98, 0.99, 1.0)
IMPLICIT_KNOBS: tuple[Knob, ...] = (
    Knob("factors", "train_implicit_factors", "n_factors", "Latent factors", int, 1, 200, 1),
    Knob("epochs", "train_implicit_epochs", "epochs", "Epochs", int, 1, 300, 1),
    Knob("lr", "train_implicit_lr", "lr", "Learning rate", float, options=IMPLICIT_LRS),
    Knob("l2", "train_implicit_l2", "l2", "L2 per example", float, options=IMPLICIT_L2S),
    Knob("neg", "train_implicit_negatives", "negatives", "Negatives per positive", int, 1, 20, 1),
    Knob("lr_decay", "train_implicit_lr_decay", "lr_decay", "Learning rate x per epoch", float,
         options=IMPLICIT_LR_DECAYS),
)  # fmt: skip
# the Bayesian factorization machine's: rank and Gibbs sweeps per chain
BFM_KNOBS: tuple[Knob, ...] = (
    Knob("factors", "train_bfm_rank", "n_factors", "Rank (factors)", int, 2, 32, 1),
    Knob("epochs", "train_bfm_sweeps", "epochs", "Sweeps per chain", int, 16, 512, 16),
)
_BFM = TrainConfig(model="bfm", n_factors=10, epochs=128)  # the Train page's starting point (fast enough)


IMPLICIT_SHOWN_FOR = "train_implicit_for"  # the ranking model whose settings the knobs show


def model_knobs(model: str) -> tuple[Knob, ...]:
    """The Train page's knobs for `model` (each model family has its own form)."""
    if model == "autorec":
        return AUTOREC_KNOBS
    if model == "bfm":
        return BFM_KNOBS
    return IMPLICIT_KNOBS if model in IMPLICIT_MODELS else BATCH_KNOBS


def model_base(model: str) -> TrainConfig:
    """The settings `model`'s knobs start from: its preset, or its tuned defaults."""
    if model == "autorec":
        return _AUTOREC
    if model == "bfm":
        return _BFM
    return (
        TrainConfig(model=model) if model in IMPLICIT_MODELS else dataclasses.replace(_DEFAULT, model=model)
    )


# the more-settings knobs go into a link only when they differ from the default
OPTIONAL_PARAMS = ("schedule", "decay_biases", "hidden", "dropout")
SPLIT_KNOBS: tuple[Knob, ...] = (
    Knob("valid", "train_valid_pct", "valid_pct", "Validation share", float, 0.05, 0.5, 0.05),
    Knob("split", "train_split_method", "method", "Split", str, options=tuple(SPLIT_METHODS)),
    Knob("seed", "train_seed", "seed", "Seed", int, 0, 1_000_000, 1),
)
UPLOAD_PARAM = "upload"  # an uploaded dataset's fingerprint: the server holds it for a reload or a link
OWNED_PARAMS = (
    "data", UPLOAD_PARAM, "model", *{k.param for k in (*BATCH_KNOBS, *IMPLICIT_KNOBS, *SPLIT_KNOBS)}
)  # fmt: skip


def _config_value(knob: Knob, config: TrainConfig) -> Any:
    value = getattr(config, knob.field)
    return value[0] if knob.field == "hidden" else value


def knob_defaults() -> dict[str, Any]:
    """Every sticky Train knob's default widget value."""
    values: dict[str, Any] = {MODEL_KNOB.key: _DEFAULT.model}
    values |= {k.key: _config_value(k, _DEFAULT) for k in BATCH_KNOBS}
    values |= {k.key: _config_value(k, _AUTOREC) for k in AUTOREC_KNOBS}
    values |= {k.key: _config_value(k, _BFM) for k in BFM_KNOBS}
    split = state.SplitParams()
    values |= {k.key: getattr(split, k.field) for k in SPLIT_KNOBS}
    values |= {"train_device": "auto", "train_amp": False}
    return values


def knobs() -> dict[str, Any]:
    """The session's sticky knob values (widget key -> value), created with the defaults."""
    return st.session_state.setdefault(KNOBS, knob_defaults())


def seed(key: str, default: Any = None) -> None:
    """Before a widget is drawn: give it the sticky value when Streamlit has forgotten it."""
    if key not in st.session_state:
        store = knobs()
        st.session_state[key] = store.get(key, default)


def save(*keys: str) -> None:
    """After widgets are drawn: keep their values for the next time their page is shown."""
    store = knobs()
    for key in keys:
        if key in st.session_state:
            store[key] = st.session_state[key]


def set_knobs(values: dict[str, Any]) -> None:
    """Set knobs from code (a preset, a link): the store and the live widget values both."""
    if "train_epochs" in values:  # epochs set from code are meant: not the "auto" epochs
        values = {**values, "train_epochs_auto": False}
    model = values.get(MODEL_KNOB.key)
    if model in IMPLICIT_MODELS:  # the ranking knobs show this model's tuned settings where not set
        tuned = model_base(model)
        values = {k.key: k.snap(_config_value(k, tuned)) for k in IMPLICIT_KNOBS} | values
    knobs().update(values)
    for key, value in values.items():
        st.session_state[key] = value
    if model in IMPLICIT_MODELS:  # ... and the form must not reset them to the tuned ones again
        st.session_state[IMPLICIT_SHOWN_FOR] = model


def config_knobs(config: TrainConfig) -> dict[str, Any]:
    """The widget values that show `config` on the Train page."""
    values: dict[str, Any] = {MODEL_KNOB.key: config.model}
    for knob in model_knobs(config.model):
        values[knob.key] = knob.snap(_config_value(knob, config))
    return values


def apply_preset(name: str) -> None:
    """Callback of a preset button: the knobs show PRESETS[name] (the split seed is kept)."""
    set_knobs(config_knobs(PRESETS[name]))


# --- the URL ---------------------------------------------------------------------------------------


def dataset_id() -> str:
    """What the current dataset is called in a link: demo, movielens-<name>, or upload."""
    source = state.dataset_source()
    if source.startswith("MovieLens "):
        return "movielens-" + source.removeprefix("MovieLens ")
    return DATA_DEMO if source == "Built-in demo set" else DATA_UPLOAD


def _bound(value: float) -> str:
    """A range's end as people write it: 1,000,000 (not 1e+06), 0.05."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# epochs=auto: the Epochs slider's "Auto epochs" box, sized to the data on the page that opens it
AUTO = "auto"


def params_for(
    config: TrainConfig, split: state.SplitParams, data: str, auto_epochs: bool = False
) -> dict[str, str]:
    """The query params that reproduce this dataset, split and config on the Train page (`epochs=auto`
    when the epochs are the automatic ones, for the models trained in batches)."""
    params = {"data": data}
    params |= {k.param: _fmt(getattr(split, k.field)) for k in SPLIT_KNOBS}
    params["model"] = config.model
    for knob in model_knobs(config.model):
        value = _config_value(knob, config)
        if knob.param in OPTIONAL_PARAMS and value == _config_value(knob, _DEFAULT):
            continue
        params[knob.param] = AUTO if auto_epochs and knob.key == "train_epochs" else _fmt(value)
    return params


def _parse(knob: Knob, raw: str) -> Any:
    if knob.kind is bool:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError("is not 1 or 0")
    if knob.kind is int:
        try:
            return int(raw.strip())
        except ValueError:
            raise ValueError("is not a whole number") from None
    if knob.kind is float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError("is not a number") from None
        if not math.isfinite(value):
            raise ValueError("is not a finite number")
        return value
    return raw.strip()


def read_params(
    params: dict[str, str], fields: Callable[[dict[str, Any]], Any] = lambda f: TrainConfig(**f)
) -> tuple[dict[str, Any], state.SplitParams, str | None, list[str]]:
    """Parse and check query params: (knob values, split, dataset id or None, notes on what was ignored).

    Train values are checked by building a `TrainConfig` with each one (its error is the note), then
    against the widget's range, so a link can only set what the Train page itself could.
    """
    notes: list[str] = []
    values: dict[str, Any] = {}

    def ignore(param: str, raw: str, why: str, kept: str) -> None:
        # the value and the reason (which may quote it) come from the link: shown as text, never as
        # Markdown (a link's `![x](http://host/x.png)` would load an image) and never in a code span,
        # which a backtick in the value would close
        notes.append(f"`{param}` = '{text.md(raw, QUOTE_LIMIT)}' was ignored: {text.md(why)}. {kept}")

    model = _DEFAULT.model
    if "model" in params:
        raw = params["model"]
        problem = MODEL_KNOB.domain_error(raw.strip())
        try:
            fields({"model": raw.strip()})
        except ValueError as error:
            problem = problem or str(error)
        if problem:
            ignore("model", raw, problem, f"The model stays {MODEL_LABELS[_DEFAULT.model]}.")
        else:
            model = raw.strip()
            values[MODEL_KNOB.key] = model
    base = model_base(model)
    base_fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    for knob in model_knobs(model):
        if knob.param not in params:
            continue
        raw = params[knob.param]
        if knob.key == "train_epochs" and raw.strip().lower() == AUTO:
            values["train_epochs_auto"] = True  # the page sizes them to its data
            continue
        kept = f"{knob.label} stays at {_fmt(_config_value(knob, base))}."  # noqa: B023 - used at once
        try:
            value = _parse(knob, raw)
        except ValueError as error:
            ignore(knob.param, raw, str(error), kept)
            continue
        # the control's own range first (its words), then TrainConfig, the one source of truth
        problem = knob.domain_error(value)
        if problem is None:
            try:
                fields(base_fields | {knob.field: (value,) if knob.field == "hidden" else value})
            except (ValueError, TypeError) as error:
                problem = str(error)
        if problem:
            ignore(knob.param, raw, problem, kept)
            continue
        values[knob.key] = knob.snap(value)
    split_fields: dict[str, Any] = {}
    for knob in SPLIT_KNOBS:
        if knob.param not in params:
            continue
        raw = params[knob.param]
        kept = f"{knob.label} stays at {_fmt(getattr(state.SplitParams(), knob.field))}."
        try:
            value = _parse(knob, raw)
        except ValueError as error:
            ignore(knob.param, raw, str(error), kept)
            continue
        problem = knob.domain_error(value)
        if problem:
            ignore(knob.param, raw, problem, kept)
            continue
        split_fields[knob.field] = round(value, 2) if knob.field == "valid_pct" else value
        values[knob.key] = split_fields[knob.field]
    data = None
    if "data" in params:
        raw = params["data"].strip()
        name = raw.removeprefix("movielens-")
        if raw == DATA_DEMO or (raw.startswith("movielens-") and name in MOVIELENS_NAMES):
            data = raw
        elif raw == DATA_UPLOAD and params.get(UPLOAD_PARAM):
            data = raw  # `restore` looks the fingerprint up in the server's store
        elif raw == DATA_UPLOAD:
            notes.append(
                "The link was made on an uploaded file, and an uploaded file cannot travel in a link: "
                "this is the demo set. Upload the file on the **Data** page to use it."
            )
        else:
            choices = ", ".join([DATA_DEMO, *(f"movielens-{n}" for n in MOVIELENS_NAMES)])
            ignore("data", raw, f"the dataset must be one of {choices}", "This is the demo set.")
    return values, state.SplitParams(**split_fields), data, notes


def restore() -> None:
    """Once per session, before the first page runs: take the dataset, split and knobs from the URL.

    The session counts as restored only once the link's dataset has loaded (or could not be, with a
    note). A run stopped while it waits for a MovieLens set another session downloads (the student opened
    another page, as the note says they may) leaves the dataset pending, and the next run takes up the
    wait: marked restored first, the session had gone on with the demo set under the link's settings,
    with no word, and its URL was rewritten to the demo set."""
    if st.session_state.get(RESTORED):
        return
    pending = st.session_state.get(LINK_PENDING)
    if pending is None:
        params = {key: st.query_params[key] for key in st.query_params if key in OWNED_PARAMS}
        if not params:
            st.session_state[RESTORED] = True
            return
        values, split, data, notes = read_params(params)
        set_knobs(values)
        state.set_split_params(split)
        pending = (data, params.get(UPLOAD_PARAM, ""), tuple(notes))
        st.session_state[LINK_PENDING] = pending
    data, upload, link_notes = pending
    notes = list(link_notes)
    if data is not None and data.startswith("movielens-"):
        from collab.data import DataError
        from ui import cached

        name = data.removeprefix("movielens-")
        note = st.empty()
        limit = cached.movielens_wait_limit()

        def waiting(waited: float, download: tuple[int, int | None] | None) -> None:
            # redrawn twice a second: where Streamlit stops this wait when the student leaves or clicks
            # (the dataset stays pending: the next run, on whatever page, takes up the wait)
            note.info(
                f"Another student is loading MovieLens {text.md(name, QUOTE_LIMIT)} for the link: waiting "
                f"{waited:.0f} s of at most {limit:.0f} s. You can open another page meanwhile: the link's "
                "dataset loads there.",
                icon=":material/hourglass_top:",
            )

        try:
            with st.spinner(f"Loading MovieLens {name} for the shared link…"):
                state.set_ratings(cached.movielens(name, on_wait=waiting), f"MovieLens {name}")
        except DataError as error:
            notes.append(
                f"The link asks for MovieLens {text.md(name, QUOTE_LIMIT)}, which could not be loaded "
                f"({text.md(error)}): this is the demo set."
            )
        finally:
            note.empty()
    if data == DATA_UPLOAD:
        _restore_upload(upload, notes)
    st.session_state[NOTES] = notes
    st.session_state[RESTORED] = True
    st.session_state.pop(LINK_PENDING, None)
    serve_stored()


def _restore_upload(fingerprint: str, notes: list[str]) -> None:
    """The uploaded dataset the link names, while the server still holds it; a note when it does not."""
    from ui import cached

    found = cached.kept_upload(fingerprint.strip()) if fingerprint.strip().isalnum() else None
    if found is None:
        notes.append(
            "The link names an uploaded file this server no longer holds (it restarted, or needed the memory): "
            "this is the demo set. Upload the file again on the **Data** page."
        )
        return
    state.set_ratings(*found)
    # the Data page's Source radio (app_pages/data.py) shows what is loaded, not its default, the demo set
    st.session_state[DATA_SOURCE_KEY] = DATA_UPLOAD


def serve_stored() -> None:
    """A reload (or a link) whose settings were already trained on this server, by this session before
    the reload or in the background, gets that model back as the current one on whatever page it opens."""
    from ui import cached

    data = state.ratings()
    found = cached.stored(data.fingerprint, state.split_params(), current_config())
    if found is not None and state.result() is None:
        state.set_result(found)


def show_notes() -> None:
    """Say what the opening link asked for that could not be used (on the session's first page)."""
    notes = st.session_state.pop(NOTES, None)
    if notes:
        st.warning(
            "**Some settings in this link could not be used**, so those knobs keep their defaults:\n"
            + "\n".join(f"- {note}" for note in notes),
            icon=":material/link_off:",
        )


def current_config() -> TrainConfig:
    """The Train settings the sticky knobs show (the defaults where a knob was never set)."""
    store = knob_defaults() | knobs()
    model = store[MODEL_KNOB.key]
    base = model_base(model)
    fields = {k.field: store.get(k.key, _config_value(k, base)) for k in model_knobs(model)}
    if "hidden" in fields:
        fields["hidden"] = (int(fields["hidden"]),)
    if "batch_size" in fields:
        fields["batch_size"] = max(8, int(fields["batch_size"]) // 8 * 8)
    try:
        return TrainConfig(model=model, seed=state.split_params().seed, **fields).without_unused()
    except ValueError:
        return dataclasses.replace(_DEFAULT, seed=state.split_params().seed)


def sync(config: TrainConfig | None = None) -> dict[str, str]:
    """Write the current dataset, split and Train settings into the URL (only when they changed)."""
    auto = bool(knobs().get("train_epochs_auto", True))  # the box starts on (widgets.epochs_control)
    wanted = params_for(config or current_config(), state.split_params(), dataset_id(), auto_epochs=auto)
    if wanted["data"] == DATA_UPLOAD:  # the server holds uploads by fingerprint (`cached.keep_upload`)
        wanted = {"data": DATA_UPLOAD, UPLOAD_PARAM: state.ratings().fingerprint} | wanted
    current = {key: st.query_params[key] for key in st.query_params}
    if all(current.get(k) == v for k, v in wanted.items()) and not (
        set(current) & set(OWNED_PARAMS) - set(wanted)
    ):
        return wanted
    merged = {k: v for k, v in current.items() if k not in OWNED_PARAMS} | wanted
    st.query_params.from_dict(merged)
    st.session_state[WRITTEN] = wanted
    return wanted


def share_link(params: dict[str, str]) -> str:
    """The app's URL with these params (the page path left out: a link opens on Home)."""
    base = ""
    try:
        base = str(st.context.url or "").split("?")[0]
    except Exception:  # noqa: BLE001 - no browser context (AppTest): a relative link
        base = ""
    return f"{base}?{urlencode(params)}"


def share_panel(config: TrainConfig) -> None:
    """'Copy link to this setup': the URL that reproduces the dataset, split and these settings."""
    params = sync(config)
    with st.expander("Copy link to this setup", icon=":material/link:"):
        st.caption(
            "Anyone who opens this link gets this dataset, split and these Train settings "
            "(the copy button is at the right of the box). The address bar holds the same link."
        )
        st.code(share_link(params), language=None, wrap_lines=True)
        if params["data"] == DATA_UPLOAD:
            st.warning(
                "The uploaded file travels by its fingerprint, not its contents: the link opens it on this "
                "server while the server holds it (a restart, or memory needed for other data, drops it; then "
                "the link opens the demo set with a note, and the file must be uploaded again).",
                icon=":material/cloud_off:",
            )
