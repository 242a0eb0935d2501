"""Loss-playground pieces: the input tables and sliders, the number tables, and explanations tied to them.

Each section reads its widgets, calls `collab.lesson.losses`, and draws tables and figures. A bad input in one
section shows an error there and returns; the other sections keep working.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from collab.lesson import losses
from collab.plots import losses as loss_plots
from collab.plots.format import fixed
from ui import text, url_state

ERROR_ICON = ":material/error:"
MULTILABEL_EXAMPLE = pd.DataFrame(
    {
        "label": ["person", "bicycle", "car", "dog", "chair"],
        "logit": [2.5, 1.0, -0.5, -2.0, 0.3],
        "target": [True, True, False, False, False],
    }
)


def _fmt(value: float, digits: int = 4) -> str:
    """A number for a table: fixed decimals, scientific when tiny or huge, and inf/nan spelled out."""
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 10 ** (-digits)):
        return f"{value:.{digits - 1}e}"
    return fixed(value, digits)  # never "-0.0000"


def _agreement(ours: float, theirs: float, agrees: bool, what: str) -> None:
    gap = abs(ours - theirs)
    if agrees:
        st.success(f"Ours and `{what}` agree (difference {gap:.1e}).", icon=":material/check_circle:")
    else:
        st.error(f"Ours and `{what}` differ by {gap:.3g}.", icon=ERROR_ICON)


# --- multi-class ---------------------------------------------------------------------------------


def multiclass_section() -> None:
    """Softmax and cross-entropy for one example: editable logits, every step, temperature, stability, gradient."""
    url_state.seed("loss_preset", next(iter(losses.PRESETS)))  # sticky: kept when you leave the page
    key = st.radio(
        "Start from",
        list(losses.PRESETS),
        format_func=lambda k: losses.PRESETS[k].title,
        horizontal=True,
        key="loss_preset",
    )
    url_state.save("loss_preset")
    preset = losses.PRESETS[key]
    choice = (
        key  # the target and T widgets are per preset (and per fastbook image), so each starts from its own
    )
    if key == "fastbook":
        row = _fastbook_batch()
        preset, choice = losses.fastbook_row(row), f"fastbook_{row}"
    st.caption(f"Preset as loaded: {preset.note}")
    left, right = st.columns([2, 3], gap="large")
    with left:
        table = st.data_editor(
            pd.DataFrame({"class": list(preset.labels), "logit": list(preset.logits)}),
            key="loss_logits",
            num_rows="dynamic",
            hide_index=True,
            column_config={
                "class": st.column_config.TextColumn("class", help="A name for the class"),
                "logit": st.column_config.NumberColumn("logit", help="The model's raw output", format="%.4f"),
            },
        )
        try:
            labels = losses.class_names(table["class"].tolist())
            logits = losses.check_logits(table["logit"].tolist())
        except losses.LossInputError as error:
            st.error(f"Can't compute the loss: {text.md(error)}.", icon=ERROR_ICON)
            return
        target = st.selectbox(
            "Right class (target)",
            range(len(labels)),
            index=min(preset.target, len(labels) - 1),
            format_func=lambda i: labels[i],
            key=f"loss_target_{choice}",
        )
        temperature = st.slider(
            "Temperature T (logits ÷ T)",
            0.1,
            5.0,
            1.0,
            step=0.1,
            key=f"loss_temperature_{choice}",
            format="%.1f",
        )
    b = losses.softmax_breakdown(logits, target, labels, temperature)
    with right:
        loss_col, torch_col = st.columns(2)
        loss_col.metric("Cross-entropy (ours, written out)", _fmt(b.loss))
        torch_col.metric("PyTorch F.cross_entropy", _fmt(b.torch_loss))
        _agreement(b.loss, b.torch_loss, b.agrees, "torch.nn.functional.cross_entropy")
        st.table(steps_table(b))
    st.markdown(f"**From logits to loss**: the right class is **{text.md(b.labels[b.target])}** (orange)")
    # five small figures in columns: side by side on a screen, stacked (and readable) on a phone
    for i, (col, fig) in enumerate(zip(st.columns(5), loss_plots.softmax_step_figures(b), strict=True)):
        col.plotly_chart(fig, key=f"loss_steps_fig_{i}")
    with st.expander("What these numbers mean", icon=":material/lightbulb:"):
        st.markdown(explain_steps(b))
    _temperature_panel(b)
    _stability_panel(b)
    st.subheader("Which way does training push each logit?")
    st.plotly_chart(loss_plots.gradient_figure(b), key="loss_grad_fig")
    with st.expander("Why softmax − one-hot", icon=":material/lightbulb:"):
        st.markdown(explain_gradient(b))


def _fastbook_batch() -> int:
    """The chapter-5 batch, its per-image losses and their mean; returns the image picked for a closer look."""
    acts, targets = losses.fastbook_activations()
    batch = losses.batch_breakdown(acts, targets, losses.FASTBOOK_CLASSES)
    st.markdown("**The whole batch** (`torch.manual_seed(42); acts = torch.randn((6, 2)) * 2`)")
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.table(batch_table(batch))
    with right:
        st.metric("Mean cross-entropy of the batch", f"{fixed(batch.loss)}")
        _agreement(batch.loss, batch.torch_loss, batch.agrees, "F.cross_entropy(acts, targets)")
        st.caption("The book gets the same number from `nn.CrossEntropyLoss()(acts, targ)`.")
    st.plotly_chart(loss_plots.batch_loss_figure(batch), key="loss_batch_fig")
    row = st.selectbox(
        "Inspect one image below",
        range(len(targets)),
        format_func=lambda i: f"image {i} (a {batch.labels[batch.targets[i]]})",
        key="loss_fastbook_row",
    )
    return row or 0


def _temperature_panel(b: losses.SoftmaxBreakdown) -> None:
    st.subheader("Temperature")
    at_one = losses.softmax_breakdown(b.logits.tolist(), b.target, b.labels, 1.0)
    curve = losses.temperature_curve(b.logits.tolist(), b.target)
    bars, line = loss_plots.temperature_figures(
        b.labels, b.target, at_one.probs, b.probs, b.temperature, b.loss, curve
    )
    left, right = st.columns(2)
    left.plotly_chart(bars, key="loss_temperature_bars")
    right.plotly_chart(line, key="loss_temperature_fig")
    with st.expander("What the temperature does", icon=":material/lightbulb:"):
        st.markdown(explain_temperature(b, at_one))


def _stability_panel(b: losses.SoftmaxBreakdown) -> None:
    st.subheader("Numerical stability: naive softmax then log, versus log-softmax")
    st.table(stability_table(b))
    if b.naive_breaks:
        st.warning(
            f"The naive path fails: exp() of a logit above {b.overflow_limit:.1f} is inf in float32, "
            f"inf / inf is nan, and the naive loss is {_fmt(b.naive_loss)}. Log-softmax subtracts the largest "
            f"logit first and gives {_fmt(b.loss)}.",
            icon=":material/warning:",
        )
    else:
        st.info(
            f"Both paths agree here. Pick **Huge logits**, or type a logit above {b.overflow_limit:.1f}, "
            "to watch the naive one break.",
            icon=":material/info:",
        )
    with st.expander("The log-sum-exp trick", icon=":material/lightbulb:"):
        st.markdown(explain_stability(b))


def steps_table(b: losses.SoftmaxBreakdown) -> pd.DataFrame:
    """One row per class, one column per step, and a 'sum' row: the loss is minus the last column's sum."""
    columns: dict[str, list[str]] = {"logit": [_fmt(v) for v in b.logits]}
    if b.temperature != 1.0:
        columns[f"logit ÷ {b.temperature:g}"] = [_fmt(v) for v in b.scaled_logits]
    columns |= {
        "exp": [_fmt(v) for v in b.exps],
        "softmax p": [_fmt(v) for v in b.probs],
        "log p": [_fmt(v) for v in b.log_probs],
        "actual": [f"{v:.0f}" for v in b.actuals],
        "actual × log p": [_fmt(v) for v in b.terms],
    }
    table = pd.DataFrame(columns, index=list(b.labels))
    total = {name: "" for name in columns}
    total |= {"exp": _fmt(float(b.exps.sum())), "softmax p": _fmt(float(b.probs.sum())), "actual": "1"}
    total["actual × log p"] = _fmt(float(b.terms.sum()))
    table.loc["sum"] = pd.Series(total)
    return table


def stability_table(b: losses.SoftmaxBreakdown) -> pd.DataFrame:
    """The naive path (exp, divide, log) beside the stable log-softmax, per class."""
    return pd.DataFrame(
        {
            "logit" if b.temperature == 1.0 else f"logit ÷ {b.temperature:g}": [
                _fmt(v) for v in b.scaled_logits
            ],
            "naive exp": [_fmt(v) for v in b.exps],
            "naive p = exp / sum": [_fmt(v) for v in b.naive_probs],
            "naive log p": [_fmt(v) for v in b.naive_log_probs],
            "log-softmax (stable)": [_fmt(v) for v in b.log_probs],
        },
        index=list(b.labels),
    )


def batch_table(batch: losses.BatchBreakdown) -> pd.DataFrame:
    """The fastbook batch: activations, target, probabilities and each image's loss."""
    first, second = batch.labels
    return pd.DataFrame(
        {
            f"act '{first}'": [f"{v:.4f}" for v in batch.logits[:, 0]],
            f"act '{second}'": [f"{v:.4f}" for v in batch.logits[:, 1]],
            "target": [batch.labels[t] for t in batch.targets],
            f"p '{first}'": [f"{v:.4f}" for v in batch.probs[:, 0]],
            "p(target)": [f"{v:.4f}" for v in batch.target_probs],
            "loss": [fixed(v) for v in batch.losses],
        },
        index=[f"image {i}" for i in range(len(batch.losses))],
    )


def explain_steps(b: losses.SoftmaxBreakdown) -> str:
    right = b.labels[b.target]
    top = int(b.probs.argmax())
    return (
        f"1. **exp** makes every logit positive and stretches the gaps: the largest logit, "
        f"{_fmt(float(b.scaled_logits[top]), 2)} for *{b.labels[top]}*, becomes {_fmt(float(b.exps[top]), 2)}.\n"
        f"2. **softmax** divides each exp by their sum ({_fmt(float(b.exps.sum()), 2)}), so the probabilities "
        f"add up to {b.probs.sum():.4f}. *{b.labels[top]}* gets {b.probs[top]:.1%}.\n"
        f"3. **log p** is the log of each probability; it is 0 for a certain class and very negative for an "
        f"unlikely one.\n"
        f"4. **actual** is 1 only for the right class, *{right}*, so **actual × log p** keeps only "
        f"log p({right}) = {fixed(b.log_probs[b.target])} and zeroes the rest.\n"
        f"5. The **cross-entropy** is minus that sum: {fixed(b.loss)}. It is 0 only when p({right}) is 1, and it grows "
        f"without limit as p({right}) goes to 0: here p({right}) = {b.probs[b.target]:.4f}."
    )


def explain_temperature(b: losses.SoftmaxBreakdown, at_one: losses.SoftmaxBreakdown) -> str:
    top = int(at_one.probs.argmax())
    if b.temperature == 1.0:
        now = "Move the slider to see the grey bars (T = 1) and the coloured ones (your T) part ways."
    else:
        now = (
            f"At T = 1 the top class *{b.labels[top]}* gets {at_one.probs[top]:.1%}; at T = {b.temperature:g} it "
            f"gets {b.probs[top]:.1%}, and the loss goes from {fixed(at_one.loss)} to {fixed(b.loss)}."
        )
    return (
        f"Dividing the logits by T before the softmax changes how sharp the distribution is, not the order of "
        f"the classes. {now} Below 1 the gaps between logits grow and the softmax heads for all-or-nothing; above "
        f"1 they shrink and it heads for the uniform 1/{b.n_classes} = {1 / b.n_classes:.1%} (loss "
        f"log {b.n_classes} = {math.log(b.n_classes):.4f}). When the model is right, sharper means a lower loss; "
        f"when it is wrong, sharper punishes it harder."
    )


def explain_stability(b: losses.SoftmaxBreakdown) -> str:
    largest = float(b.scaled_logits.max())
    return (
        f"Softmax does not change if we subtract the same number from every logit, because the factor "
        f"exp(−m) cancels between top and bottom. Log-softmax takes m = the largest logit ({_fmt(largest, 2)} "
        f"here): then the biggest exp is exp(0) = 1, nothing can overflow, and "
        f"log p = x − m − log(Σ exp(x − m)). The naive path forms exp(x) first; float32 holds numbers up to "
        f"about 3.4 × 10³⁸, so exp of any logit above {b.overflow_limit:.1f} is inf, and inf / inf is nan."
    )


def explain_gradient(b: losses.SoftmaxBreakdown) -> str:
    right = b.labels[b.target]
    worst = max((i for i in range(b.n_classes) if i != b.target), key=lambda i: b.grad[i])
    return (
        f"The derivative of cross-entropy with respect to each logit is p − actual. For the right class "
        f"*{right}* it is {b.probs[b.target]:.4f} − 1 = {fixed(b.grad[b.target], sign=True)}: gradient descent subtracts the "
        f"gradient, so this logit goes **up**. Every other class gets +p and goes **down**; the strongest push "
        f"is on *{b.labels[worst]}* ({fixed(b.grad[worst], sign=True)}), the class that takes the most probability away from "
        f"*{right}*. A confident wrong answer makes both bars close to ±1; a confident right one makes them all "
        f"close to 0. The bars always sum to 0 (here {abs(float(b.grad.sum())):.4f}), because both p and the one-hot "
        f"vector sum to 1."
    )


# --- binary --------------------------------------------------------------------------------------


def binary_section() -> None:
    """BCE for one prediction: a probability (or a logit through a sigmoid), a label, the formula filled in."""
    left, right = st.columns([2, 3], gap="large")
    with left:
        mode = st.radio("Prediction given as", ["probability", "logit"], horizontal=True, key="loss_bce_mode")
        if mode == "probability":
            value = st.slider(
                "Predicted probability p of class 1", 0.01, 0.99, 0.7, 0.01, key="loss_bce_prob"
            )
        else:
            value = st.slider("Logit x (p = sigmoid(x))", -8.0, 8.0, 1.0, 0.1, key="loss_bce_logit")
        label = st.radio("True label y", [1, 0], horizontal=True, key="loss_bce_label")
    b = (
        losses.binary_breakdown(label, prob=value)
        if mode == "probability"
        else losses.binary_breakdown(label, logit=value)
    )
    with right:
        ours, prob_col, logit_col = st.columns(3)
        ours.metric("BCE (ours)", f"{fixed(b.loss)}")
        prob_col.metric("PyTorch, from p", f"{fixed(b.torch_loss)}", help="F.binary_cross_entropy(p, y)")
        logit_col.metric(
            "PyTorch, from x",
            f"{fixed(b.torch_logits_loss)}",
            help="F.binary_cross_entropy_with_logits(x, y)",
        )
        _agreement(b.loss, b.torch_logits_loss, b.agrees, "binary_cross_entropy_with_logits")
    st.latex(
        rf"-\left[y \log p + (1-y)\log(1-p)\right] = -\left[{b.label}\cdot\log {b.prob:.4f} + "
        rf"{1 - b.label}\cdot\log {1 - b.prob:.4f}\right] = {fixed(b.loss)}"
    )
    st.plotly_chart(loss_plots.bce_figure(losses.bce_curves(), b), key="loss_bce_fig")
    with st.expander("Reading the formula", icon=":material/lightbulb:"):
        kept = "log p" if b.label == 1 else "log(1 − p)"
        st.markdown(
            f"With y = {b.label} one of the two terms is multiplied by 0, so the loss is just −{kept} = "
            f"{fixed(b.loss)}. The logit behind p = {b.prob:.4f} is x = log(p / (1 − p)) = {b.logit:.4f}. "
            f"Being confidently wrong is what hurts: p = 0.01 with y = 1 costs {-math.log(0.01):.2f}, "
            f"while p = 0.99 costs only {-math.log(0.99):.3f}. "
            f"`binary_cross_entropy_with_logits` takes x rather than p and never forms log(0)."
        )


# --- multi-label ---------------------------------------------------------------------------------


def multilabel_section() -> None:
    """Several labels, each its own sigmoid and BCE; threshold, accuracy, and the contrast with softmax."""
    left, right = st.columns([2, 3], gap="large")
    with left:
        table = st.data_editor(
            MULTILABEL_EXAMPLE,
            key="loss_ml_table",
            num_rows="dynamic",
            hide_index=True,
            column_config={
                "label": st.column_config.TextColumn("label"),
                "logit": st.column_config.NumberColumn("logit", format="%.2f"),
                "target": st.column_config.CheckboxColumn("target (present?)"),
            },
        )
        threshold = st.slider("Threshold", 0.05, 0.95, 0.5, 0.05, key="loss_threshold")
        try:
            labels = losses.class_names(table["label"].tolist())
            logits = losses.check_logits(
                table["logit"].tolist(), min_count=1, max_count=losses.MAX_LABELS, what="label"
            )
            targets = [int(bool(t)) if t is not None and t == t else 0 for t in table["target"].tolist()]
        except losses.LossInputError as error:
            st.error(f"Can't compute the loss: {text.md(error)}.", icon=ERROR_ICON)
            return
    m = losses.multilabel_breakdown(logits, targets, labels, threshold)
    with right:
        bce_col, torch_col, acc_col = st.columns(3)
        bce_col.metric("Mean BCE (ours)", f"{fixed(m.loss)}")
        torch_col.metric(
            "PyTorch", f"{fixed(m.torch_loss)}", help="F.binary_cross_entropy_with_logits(logits, targets)"
        )
        acc_col.metric(f"Accuracy at {threshold:g}", f"{m.accuracy:.0%}")
        _agreement(m.loss, m.torch_loss, m.agrees, "binary_cross_entropy_with_logits")
        st.table(multilabel_table(m))
    st.plotly_chart(loss_plots.multilabel_figure(m), key="loss_ml_fig")
    with st.expander("Sigmoid per label versus one softmax", icon=":material/lightbulb:"):
        st.markdown(
            f"Each label gets its own sigmoid, so the probabilities are independent: here they add up to "
            f"{m.probs.sum():.2f}, and {int(m.predictions.sum())} of {len(m.labels)} labels clear the threshold "
            f"{threshold:g}. A softmax over the same logits shares one unit of probability: they add up to "
            f"{m.softmax_probs.sum():.2f}, so two present labels must compete. The loss is the mean of one BCE per "
            f"label ({fixed(m.loss)}). Moving the threshold changes the predictions and the accuracy "
            f"({m.accuracy:.0%}), never the loss."
        )


def multilabel_table(m: losses.MultiLabelBreakdown) -> pd.DataFrame:
    """Per label: logit, sigmoid, target, BCE, prediction at the threshold, and whether it is right."""
    return pd.DataFrame(
        {
            "logit": [f"{v:.2f}" for v in m.logits],
            "sigmoid p": [f"{v:.4f}" for v in m.probs],
            "target": [str(t) for t in m.targets],
            "BCE": [fixed(v) for v in m.losses],
            f"p > {m.threshold:g}": [str(p) for p in m.predictions],
            "right?": ["yes" if p == t else "no" for p, t in zip(m.predictions, m.targets, strict=True)],
        },
        index=list(m.labels),
    )
