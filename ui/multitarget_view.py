"""The multi-target model: the Loss playground's two-head tab and Lesson step 11's live two-target training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from collab.lesson import losses, multitarget
from collab.plots import lesson as lesson_plots
from ui import cached, state, text

HEAD1 = pd.DataFrame({"class": ["1 star", "2", "3", "4", "5 stars"], "logit": [-1.0, 0.0, 1.5, 2.0, 0.5]})
HEAD2 = pd.DataFrame({"class": ["not comedy", "comedy"], "logit": [0.3, 1.2]})
RESULT_KEY = "lesson_two_target"  # (key, TwoTargetResult): the last two-target model of this session


def _head_editor(frame: pd.DataFrame, key: str, title: str) -> tuple[tuple[str, ...], list[float]] | None:
    st.markdown(title)
    table = st.data_editor(
        frame, key=key, num_rows="dynamic", hide_index=True,
        column_config={"logit": st.column_config.NumberColumn("logit", format="%.2f")},
    )  # fmt: skip
    try:
        return losses.class_names(table["class"].tolist()), losses.check_logits(table["logit"].tolist())
    except losses.LossInputError as error:
        st.error(f"{title.strip('*')}: can't compute the loss: {text.md(error)}.", icon=":material/error:")
        return None


def two_head_section(prefix: str = "loss_mt") -> None:
    """An output layer of n1 + n2 activations read as two heads: softmax + cross-entropy each, loss = sum."""
    st.markdown(
        "One output layer, **two targets**: its first n1 activations are head 1's logits (here: which rating), the "
        "next n2 are head 2's (here: is it a comedy). Each head gets its own softmax and cross-entropy; the "
        "model's loss is their **sum**, so one backward pass trains the shared layers for both."
    )
    left, right = st.columns(2)
    with left:
        head1 = _head_editor(HEAD1, f"{prefix}_head1", "**Head 1** (first n1 activations)")
    with right:
        head2 = _head_editor(HEAD2, f"{prefix}_head2", "**Head 2** (the next n2)")
    if head1 is None or head2 is None:
        return
    (labels1, logits1), (labels2, logits2) = head1, head2
    pick = st.columns(2)
    target1 = pick[0].selectbox("Head 1's right class", range(len(labels1)), index=min(3, len(labels1) - 1),
                                format_func=lambda i: labels1[i], key=f"{prefix}_target1")  # fmt: skip
    target2 = pick[1].selectbox("Head 2's right class", range(len(labels2)), index=min(1, len(labels2) - 1),
                                format_func=lambda i: labels2[i], key=f"{prefix}_target2")  # fmt: skip
    try:
        b = multitarget.two_head_breakdown(logits1 + logits2, len(logits1), int(target1), int(target2),
                                           labels1, labels2)  # fmt: skip
    except losses.LossInputError as error:
        st.error(f"Can't compute the loss: {text.md(error)}.", icon=":material/error:")
        return
    cols = st.columns(4)
    cols[0].metric("Head 1 loss", f"{b.loss1:.4f}", help="cross-entropy of head 1's softmax")
    cols[1].metric("Head 2 loss", f"{b.loss2:.4f}", help="cross-entropy of head 2's softmax")
    cols[2].metric("Loss = sum", f"{b.loss:.4f}")
    cols[3].metric(
        "PyTorch's sum", f"{b.torch_loss:.4f}", help="F.cross_entropy(head 1) + F.cross_entropy(head 2)"
    )
    if b.agrees:
        st.success(
            f"Loss and gradient agree with PyTorch (F.cross_entropy per head; gradient from loss.backward(), "
            f"largest difference {np.abs(b.grad - b.autograd_grad).max():.1e}).",
            icon=":material/check_circle:",
        )
    else:
        st.error("Ours and PyTorch's differ.", icon=":material/error:")
    st.plotly_chart(
        lesson_plots.two_head_figure(labels1, labels2, b.probs1, b.probs2, b.grad, b.target1, b.target2),
        key=f"{prefix}_fig",
    )
    st.caption(
        f"The gradient of each head's logits is that head's softmax − one-hot: head 1's bars sum to 0, and so do "
        f"head 2's. Changing a head-2 logit moves only head 2's probabilities: the two softmaxes never share "
        f"probability, which is what makes them two targets and not one {len(labels1) + len(labels2)}-way choice."
    )


def _genres(ratings) -> list[str]:
    if ratings.genres is None:
        return []
    counts: dict[str, int] = {}
    for item_genres in ratings.genres:
        for genre in item_genres:
            counts[genre] = counts.get(genre, 0) + 1
    return sorted(counts, key=lambda g: -counts[g])


def two_target_section() -> None:
    """Train one model for two targets (rating class and 'is the item of genre G') with live progress."""
    ratings = state.ratings()
    genres = [g for g in _genres(ratings) if g not in ("(no genres listed)", "unknown")]
    if not genres:
        st.info("This dataset has no genres, so there is no second target: use the demo set or MovieLens.")
        return
    cols = st.columns([2, 1])
    genre = cols[0].selectbox("Second target: is the item of genre…", genres, key="lesson_mt_genre")
    epochs = cols[1].slider("Epochs", 1, 10, 4, key="lesson_mt_epochs")
    flags = np.array([genre in item_genres for item_genres in ratings.genres])
    shown = text.md(genre)  # a genre name comes from a data file: shown as text, never as Markdown
    key = (ratings.fingerprint, cached.content_key(ratings), state.split_params(), genre, int(epochs))
    if st.button(
        "Train the two-target model", key="lesson_mt_train", icon=":material/play_arrow:", type="primary"
    ):
        bar = st.progress(0.0, text="Training…")
        train_set, valid_set = state.split()
        result = multitarget.train_two_target(
            train_set, valid_set, flags, genre=genre, epochs=int(epochs),
            on_epoch=lambda s: bar.progress(s.epoch / epochs, text=f"epoch {s.epoch}/{epochs}: "
                                            f"rating accuracy {s.rating_accuracy:.1%}, {shown}? {s.genre_accuracy:.1%}"),
        )  # fmt: skip
        bar.empty()
        st.session_state[RESULT_KEY] = (key, result)
    kept = st.session_state.get(RESULT_KEY)
    if kept is None or kept[0] != key:
        st.caption("Press the button: a few seconds on the demo set.")
        return
    result = kept[1]
    last = result.history[-1]
    cols = st.columns(2) + st.columns(2)
    cols[0].metric("Rating head accuracy", f"{last.rating_accuracy:.1%}",
                   delta=f"{100 * (last.rating_accuracy - result.rating_baseline):+.1f} points vs commonest rating")  # fmt: skip
    cols[1].metric("Rating head loss", f"{last.rating_loss:.3f}")
    cols[2].metric(f"{shown}? accuracy", f"{last.genre_accuracy:.1%}",
                   delta=f"{100 * (last.genre_accuracy - result.genre_baseline):+.1f} points vs always '{'no' if result.genre_baseline > 0.5 else 'yes'}'")  # fmt: skip
    cols[3].metric(f"{shown}? loss", f"{last.genre_loss:.3f}")
    st.plotly_chart(
        lesson_plots.two_target_history_figure(
            result.history, result.rating_baseline, result.genre_baseline, genre
        ),
        key="lesson_mt_history",
    )
    frame = pd.DataFrame(
        [{"epoch": h.epoch, "sum": h.train_loss, "rating": h.rating_loss, "rating acc": h.rating_accuracy,
          "genre": h.genre_loss, "genre acc": h.genre_accuracy} for h in result.history]
    ).round(3)  # fmt: skip
    st.dataframe(
        frame, hide_index=True, key="lesson_mt_table",
        column_config={
            "sum": st.column_config.NumberColumn("train loss (sum)", help="rating loss + genre loss, training set"),
            "rating": st.column_config.NumberColumn("rating loss", help="validation cross-entropy, rating head"),
            "genre": st.column_config.NumberColumn("genre loss", help=f"validation cross-entropy, '{shown}?' head"),
            "rating acc": st.column_config.NumberColumn(format="percent"),
            "genre acc": st.column_config.NumberColumn(format="percent"),
        },
    )  # fmt: skip
    st.caption(
        "Dotted lines: always guessing the commonest answer. "
        f"{len(result.classes)} rating classes + 2 genre answers = {len(result.classes) + 2} output activations; "
        f"trained in {result.seconds:.1f} s on the current split's training ratings, scored on its validation ratings."
    )
