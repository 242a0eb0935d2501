"""'Show the code': the lecture's `??` in the app, the real source of the core functions a screen just ran.

The source comes from `inspect.getsource` at run time, never from a pasted copy, so it cannot drift
from what ran. `TARGETS` names the functions behind each place; a test walks every entry.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import streamlit as st

from collab.analysis import embeddings, feedback, recommend
from collab.data import Ratings
from collab.lesson import entity_embeddings, from_scratch, lecture, losses, multitarget, spreadsheet
from collab.models.base import embedding_size
from collab.models.embedding import DotProductBias, EmbeddingNN, RatingClassifier
from collab.training.accumulation import compare_accumulation
from collab.training.loop import accumulate_group, train
from collab.training.memory import estimate_memory
from collab.training.optim import parameter_groups

# the in-place PyTorch methods the shown code uses, and what the trailing underscore means for them
IN_PLACE = (
    "uniform_",
    "normal_",
    "zero_",
    "zeros_",
    "sub_",
    "clamp_",
    "copy_",
    "requires_grad_",
    "add_",
    "mul_",
)
UNDERSCORE_NOTE = (
    "A trailing underscore (`{names}`) marks PyTorch's **in-place** version of a method: it changes the "
    "tensor it is called on instead of returning a new one."
)

TARGETS: dict[str, tuple[Callable[..., Any] | type, ...]] = {
    "train": (train, accumulate_group, parameter_groups),
    "embeddings": (embeddings.pca, embeddings.nearest_neighbours, embeddings.one_hot_lookup),
    "loss": (
        losses.log_softmax,
        losses.logsumexp,
        losses.cross_entropy,
        losses.cross_entropy_grad,
        losses.binary_cross_entropy_with_logits,
        multitarget.two_head_loss,
    ),  # fmt: skip
    "lesson_data": (Ratings.crosstab,),
    "lesson_spreadsheet": (
        spreadsheet.Spreadsheet.__init__,
        spreadsheet.predict,
        spreadsheet.masked_mse,
        spreadsheet.sgd_step,
    ),  # fmt: skip
    "lesson_lookup": (embeddings.one_hot_lookup,),
    "lesson_train": (DotProductBias, train),
    "lesson_memory": (estimate_memory, compare_accumulation),
    "lesson_interpret": (
        embeddings.pca,
        embeddings.most_rated,
        embeddings.bias_ranking,
        embeddings.nearest_neighbours,
    ),
    "lesson_named": (from_scratch.named_dot,),
    "lesson_scratch": (
        from_scratch.create_params,
        from_scratch.ScratchDotProductBias,
        from_scratch.EmbeddingDotProductBias,
        from_scratch.train_side_by_side,
    ),
    "lesson_bootstrap": (
        feedback.new_user_table,
        recommend.fold_in,
        feedback.popularity_bias,
        feedback.popularity_top_lists,
    ),
    "lesson_nn": (EmbeddingNN, RatingClassifier, embedding_size),
    "lesson_multitarget": (
        multitarget.two_head_loss,
        multitarget.TwoTargetModel,
        multitarget.train_two_target,
    ),
    "lesson_loss": (losses.softmax, losses.log_softmax, losses.cross_entropy, losses.binary_cross_entropy),
    "lesson_beyond": (
        entity_embeddings.embed_tokens,
        entity_embeddings.CategoryModel,
        entity_embeddings.train_category_embedding,
    ),  # fmt: skip
    "lesson_range": (lecture.sigmoid_range, spreadsheet.predict),
    "lesson_bias": (lecture.fit_zero_input,),
    "lesson_log": (lecture.log_twice,),
    "lesson_kwargs": (lecture.embedding_table,),
}


def source(target: Callable[..., Any] | type) -> str:
    """The source text of a function, method or class, dedented."""
    lines = inspect.getsource(target).splitlines()
    indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    return "\n".join(line[indent:] for line in lines)


def in_place_methods(text: str) -> list[str]:
    """The in-place methods (trailing underscore) called in `text`, in order of first use."""
    found = re.findall(r"\.(\w+_)\(", text)
    return [name for name in dict.fromkeys(found) if name in IN_PLACE]


def kwargs_name(target: Callable[..., Any] | type) -> str | None:
    """The name of the **kwargs parameter of `target`, or None when it takes none."""
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return None
    return next((p.name for p in parameters if p.kind is inspect.Parameter.VAR_KEYWORD), None)


def name_of(target: Callable[..., Any] | type) -> str:
    return f"{target.__module__}.{target.__qualname__}"


def show_code(place: str) -> None:
    """An expander with the source of every core function behind `place` (a key of TARGETS)."""
    with st.expander("Show the code", icon=":material/code:"):
        st.caption(
            "The actual source of the library code this screen runs, read with `inspect.getsource` "
            "(Python's answer to the lecture's `??`)."
        )
        for target in TARGETS[place]:
            text = source(target)
            st.markdown(f"`{name_of(target)}`")
            st.code(text, language="python", wrap_lines=True)
            used = in_place_methods(text)
            if used:
                st.caption(UNDERSCORE_NOTE.format(names="`, `".join(used)))
            keyword = kwargs_name(target)
            if keyword is not None:
                st.caption(
                    f"`**{keyword}` collects every keyword argument the signature does not name into a dict "
                    f"(`{keyword}`), keyed by argument name."
                )
