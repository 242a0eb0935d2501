"""Lesson steps from fastbook chapter 8: factors with names, the model from scratch with `nn.Parameter`,
fastai's embedding-size rule (a section of the neural-net step), titles on the PCA map, and bootstrapping a
new user with the feedback-loop warning."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from collab.analysis import embeddings as emb
from collab.analysis import feedback
from collab.analysis import recommend as rec
from collab.evaluate.ranking import RankingQuality, popularity_scores
from collab.lesson import from_scratch
from collab.models.base import embedding_size
from collab.plots import chapter8 as plots
from ui import state, text
from ui.lesson.common import intro, lesson_model, try_this
from ui.recommend_view import rating_choices
from ui.show_code import show_code

if TYPE_CHECKING:
    from collab.training.result import TrainResult

TASTE_KEYS = ("lesson_named_scifi", "lesson_named_action", "lesson_named_old")
SCRATCH_KEY = "lesson_scratch_shown"  # (fingerprint, split params) of the side-by-side run pressed
SCRATCH_FACTORS = 20
MOVIELENS_100K = {"users": 943, "items": 1682}


def named_step() -> None:
    intro(
        "Before any random numbers, fastbook's picture of a **latent factor**: suppose each film had three "
        "numbers from -1 to 1, how much it is **science-fiction**, **action** and **old**, and each user had "
        "three numbers for how much they like each. Multiply them factor by factor and add: the **dot "
        "product** is the match. `user1 = np.array([0.9, 0.8, -0.6])` likes science fiction and action, not old "
        "films."
    )
    cols = st.columns(3)
    taste = tuple(
        float(col.slider(f"user1 likes {name}", -1.0, 1.0, default, 0.1, key=key))
        for col, name, default, key in zip(
            cols, from_scratch.FACTOR_NAMES, from_scratch.USER1, TASTE_KEYS, strict=True
        )
    )
    found = from_scratch.named_dot(taste)
    metrics = st.columns(len(found))
    for col, match in zip(metrics, found, strict=True):
        col.metric(f"user1 · {match.movie}", f"{match.match:+.3f}")
    st.plotly_chart(
        plots.named_factors_figure(from_scratch.FACTOR_NAMES, {m.movie: m.products for m in found}),
        key="lesson_named_fig",
    )
    table = {"factor": list(from_scratch.FACTOR_NAMES), "user1": list(taste)}
    for name, traits in from_scratch.MOVIES.items():
        table[name] = list(traits)
    st.dataframe(pd.DataFrame(table), hide_index=True, key="lesson_named_table")
    st.markdown(
        "**Nobody gives a model these names.** Training starts every user and every film with *random* "
        "numbers and lets gradient descent find whatever factors predict the ratings best (next step). They "
        "often end up meaning something like 'science fiction' or 'old', but we only find that out afterwards, "
        "by reading the trained factors (the PCA map in *Interpreting the model*)."
    )
    try_this(
        "make user1 love old films (move 'old' to +1): Casablanca's match climbs and Last Skywalker's falls."
    )
    show_code("lesson_named")


@st.cache_data(show_spinner=False, max_entries=4)
def _side_by_side(fingerprint: str, split_key: tuple[object, ...]) -> from_scratch.SideBySide:
    """Both dot models trained on the current split (keyed by the dataset and split it was made from)."""
    train, valid = state.split()
    return from_scratch.train_side_by_side(
        train.user_ids, train.item_ids, train.ratings, (valid.user_ids, valid.item_ids, valid.ratings),
        train.n_users, train.n_items, n_factors=SCRATCH_FACTORS, seed=state.split_params().seed,
    )  # fmt: skip


def scratch_step() -> None:
    intro(
        "An embedding layer is not magic: it is a table of numbers the optimizer may change, read by index. "
        "fastbook builds the dot model **from scratch**: `create_params` makes each table with "
        "`nn.Parameter(torch.zeros(*size).normal_(0, 0.01))`, and `forward` indexes it (`self.user_factors[users]`). "
        "The `nn.Parameter` wrapper is what makes PyTorch *register* the table, so `model.parameters()`, the "
        "optimizer and weight decay see it."
    )
    ratings = state.ratings()
    n_users, n_items, k = ratings.n_users, ratings.n_items, SCRATCH_FACTORS
    scratch = from_scratch.parameter_shapes(from_scratch.ScratchDotProductBias(n_users, n_items, k))
    embedding = from_scratch.parameter_shapes(from_scratch.EmbeddingDotProductBias(n_users, n_items, k))
    plain = from_scratch.parameter_shapes(from_scratch.PlainTensorModel(n_users, k))
    st.dataframe(
        pd.DataFrame(
            {
                "nn.Parameter (from scratch)": [name for name, _ in scratch],
                "shape": [str(shape) for _, shape in scratch],
                "nn.Embedding": [name for name, _ in embedding],
                "shape ": [str(shape) for _, shape in embedding],
            }
        ),
        hide_index=True, key="lesson_scratch_params",
    )  # fmt: skip
    st.caption(
        f"`list(model.parameters())` of each, for this data's {n_users:,} users and {n_items:,} items at k = {k}: "
        "the same tables (the embedding keeps a bias as a one-column table). A model that keeps its table as a "
        f"plain tensor attribute instead registers **{len(plain)} parameters**: the optimizer would never update it."
    )
    key = (ratings.fingerprint, dataclasses.astuple(state.split_params()))
    pressed = st.button("Train both, from the same start", key="lesson_scratch_train", icon=":material/play_arrow:",
                        type="primary")  # fmt: skip
    if pressed:
        st.session_state[SCRATCH_KEY] = key
    if st.session_state.get(SCRATCH_KEY) == key:
        with st.spinner("Training both models on the same batches..."):
            run = _side_by_side(*key)
        cols = st.columns(3)
        cols[0].metric("Valid MSE, nn.Parameter", f"{run.scratch_valid[-1]:.4f}")
        cols[1].metric("Valid MSE, nn.Embedding", f"{run.embedding_valid[-1]:.4f}")
        cols[2].metric("Largest weight difference", f"{run.max_weight_gap:.2g}")
        st.plotly_chart(
            plots.side_by_side_figure(
                run.scratch_valid, run.embedding_valid, run.scratch_train, run.embedding_train
            ),
            key="lesson_scratch_fig",
        )
        st.caption(
            f"{run.epochs} epochs of AdamW (lr 0.01, wd 0.1, batch 512, k = {k}) on the current split; the "
            "embedding model starts from a copy of the scratch model's random numbers and sees the same batches, "
            "so the curves lie on top of each other: indexing a parameter is exactly what `nn.Embedding` does."
        )
    else:
        st.caption("Trains both for a few epochs on the current split (a few seconds).")
    try_this("open the code: `forward` of the two models differs only in `[...]` versus `(...)`.")
    show_code("lesson_scratch")


def size_rule_section() -> None:
    """fastai's `emb_sz_rule` for the current data's users and items and for MovieLens 100K, as a table and a curve."""
    ratings = state.ratings()
    marked = {
        f"{ratings.name} users": ratings.n_users,
        f"{ratings.name} items": ratings.n_items,
        "MovieLens 100K users": MOVIELENS_100K[
            "users"
        ],  # fastbook's data: marked orange beside the current data
        "MovieLens 100K items": MOVIELENS_100K["items"],
    }
    st.dataframe(
        pd.DataFrame(
            {"table": list(marked), "rows n": list(marked.values()),
             "width": [embedding_size(n) for n in marked.values()]}
        ),
        hide_index=True, key="lesson_size_table",
    )  # fmt: skip
    st.plotly_chart(plots.size_rule_figure(marked), key="lesson_size_fig")
    st.caption(
        "fastai's `get_emb_sz` applies this rule to each table, counting one extra row for unknown values "
        f"(`#na#`): 944 users → {embedding_size(944)}, 1,665 titles → {embedding_size(1665)} in fastbook. The "
        "dot model needs one width for both tables, so it takes a number of factors you choose instead. On the curve: "
        "blue the current data, orange MovieLens 100K."
    )


def popular_share_section(result: TrainResult) -> None:
    """Where every user's top 10 goes: the 10% most-rated items' share, for the model and for popularity."""
    train, valid = state.split()
    bias = feedback.popularity_bias_of(result, train, k=10)
    shares = {
        "of the items": bias.n_popular / bias.n_items,
        "of the ratings": bias.rating_share,
        "model's top 10s": bias.model_share,
        "popularity's top 10s": bias.popularity_share,
    }
    st.plotly_chart(
        plots.popularity_share_figure(shares, bias.n_popular, bias.n_items), key="lesson_boot_fig"
    )
    cols = st.columns(2)
    cols[0].metric(
        "Items in any top 10: model", f"{bias.model_coverage} of {bias.n_items}",
        help=f"popularity's lists use {bias.popularity_coverage}",
    )  # fmt: skip
    if valid.n_ratings:
        quality = rec.ranking_quality_of(result, train, valid, k=10)
        cols[1].metric(
            "NDCG@10: model vs popularity", f"{quality.model['ndcg']:.3f} vs {quality.popularity['ndcg']:.3f}",
            help=f"on {quality.n_users:,} validation users, every unrated item ranked (the Recommend page's protocol)",
        )  # fmt: skip
    st.caption(
        f"Every one of {bias.n_users:,} users' top 10 among the items they have not rated. The "
        f"{bias.n_popular} most-rated items are {bias.n_popular / bias.n_items:.0%} of the catalogue and get "
        f"{bias.rating_share:.0%} of the ratings; they fill {bias.model_share:.0%} of the model's lists and "
        f"{bias.popularity_share:.0%} of popularity's. The model's lists use {bias.model_coverage} distinct "
        f"items, popularity's {bias.popularity_coverage}.{_verdict(quality) if valid.n_ratings else ''}"
    )


def _verdict(quality: RankingQuality) -> str:
    """Which ranks the held-out favourites better, in words: popularity is a strong baseline."""
    model, popularity = quality.model["ndcg"], quality.popularity["ndcg"]
    if popularity >= model:
        return (
            f" Here popularity ranks the held-out favourites better (NDCG@10 {popularity:.3f} against the model's "
            f"{model:.3f}): a strong baseline, and a model pushed to beat it by chasing the same hits tightens the loop."
        )
    return f" The model ranks the held-out favourites better than popularity (NDCG@10 {model:.3f} against {popularity:.3f})."


def _new_user_section(result: TrainResult) -> None:
    """Six popular, varied films to rate (already answered, for a clear taste); the folded-in user's top 10."""
    train, _ = state.split()
    counts = popularity_scores(train.item_ids, train.n_items)
    names = emb.item_names(train)
    asked = rec.suggest_items_to_rate(result.item_factors(), counts, n=6).tolist()
    choices = rating_choices(train)
    numbers = [c for c in choices if c != "skip"]
    # a clear taste to start from: the first two loved, the next two not
    defaults = [numbers[-1], numbers[-1], numbers[0], numbers[0], "skip", "skip"]
    cols = st.columns(2)
    rated: dict[str, float] = {}
    for position, item in enumerate(asked):
        genre = f" ({', '.join(train.genres[item])})" if train.genres is not None else ""
        choice = cols[position % 2].radio(
            text.md(f"{names[item]}{genre}"), choices, index=choices.index(defaults[position % len(defaults)]),
            horizontal=True, key=f"lesson_boot_{train.item_labels[item]}",
        )  # fmt: skip
        if choice != "skip":
            rated[str(train.item_labels[item])] = float(choice)
    if rated:
        table = feedback.new_user_table(result, rated, train, n=10)
        st.dataframe(
            table, hide_index=True, key="lesson_boot_table",
            column_config={  # narrow numbers: on a phone the last column stays in view
                "title": st.column_config.TextColumn(width="medium"),
                "predicted": st.column_config.NumberColumn(format="%.2f", width="small"),
                "ratings": st.column_config.NumberColumn(width="small"),
                "top 10%": st.column_config.CheckboxColumn(width="small"),
            },
        )  # fmt: skip
        st.caption(f"The new user's top 10 after fold-in from {len(rated)} answers; {int(table['top 10%'].sum())} "
                   "of them are among the 10% most-rated items.")  # fmt: skip
    else:
        st.info("Rate at least one of the films above to fit the new user's row.")


def bootstrap_step() -> None:
    intro(
        "A **new user** has no row in the user table, so the model cannot score anything for them: the "
        "**bootstrapping** problem. fastbook's answers: give them the *average* user's factors, or ask a few "
        "questions and fit a row from the answers. The app does the second (**fold-in**: the item factors stay "
        "frozen and one user's vector and bias are fitted to their ratings)."
    )
    result = lesson_model("lesson_boot_train")
    if result is not None and not rec.has_dot_product(result):
        st.warning("Fold-in needs the dot-product model with biases: train one on the Train page (Dot product + "
                   "biases) or with the lesson's settings in step 5.")  # fmt: skip
    elif result is not None:
        _new_user_section(result)
        st.markdown("**Feedback loops: who gets recommended**")
        popular_share_section(result)
    st.warning(
        "**The lecture's warning.** A recommender learns from the ratings it sees, and people rate what they were "
        "shown. If the lists lean towards what is already popular, or towards what a small, very keen group "
        "likes, those items collect more ratings, the next model leans further, and the system drifts towards "
        "a narrower catalogue and audience than the one it serves: a **feedback loop**. fastbook's advice: "
        "expect it, keep a human in the loop, roll out gradually, and watch the data (the numbers above) for "
        "drift.",
        icon=":material/loop:",
    )
    try_this("rate the films the other way round (1s and 5s swapped): the new user's list changes, but count "
             "how many of its titles are still among the most rated.")  # fmt: skip
    show_code("lesson_bootstrap")
