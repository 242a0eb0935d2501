"""Sections of the Recommend page: widgets in, one call into `collab`, tables and figures out."""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from collab.analysis import embeddings as emb
from collab.analysis import recommend as rec
from collab.data import DataError
from collab.evaluate import ranking
from collab.plots import embeddings as plots
from ui import budget, state, text, uploads, widgets

if TYPE_CHECKING:
    from collab.data import Ratings
    from collab.training.result import TrainResult


# long titles are cut to a medium column (the full title shows on hover) so the scores stay on screen
REC_COLUMNS = {
    "title": st.column_config.TextColumn("title", width="medium"),
    **{
        name: st.column_config.NumberColumn(name, width="small")
        for name in ("predicted", "item bias", "user·item")
    },
}


def _recommendations_frame(recs: rec.Recommendations, ratings: Ratings) -> pd.DataFrame:
    names = emb.item_names(ratings)
    frame = pd.DataFrame({"title": names[recs.item_ids], "predicted": recs.predicted.round(2)})
    if not np.isnan(recs.item_bias).all():
        frame["item bias"] = recs.item_bias.round(3)
    if not np.isnan(recs.dot).all():
        frame["user·item"] = recs.dot.round(3)
    return frame


def user_recommendations_section(result: TrainResult, ratings: Ratings) -> None:
    """Top-N unseen items for a chosen user beside the items that user rated highest."""
    cols = st.columns([2, 1])
    user = widgets.user_picker("User", ratings, "rec_user", where=cols[0])
    n = cols[1].number_input("How many", 1, 50, 10, key="rec_n")
    recs = rec.recommend_for_user(result, ratings, user, n=int(n))
    left, right = st.columns([3, 2])  # the recommendations have four columns, the user's own list two
    left.markdown("**Recommended** (not yet rated)")
    widgets.table(
        left, _recommendations_frame(recs, ratings), "rec_table", "recommendations.csv",
        hide_index=True, column_config=REC_COLUMNS,
    )  # fmt: skip
    mine = ratings.user_ids == user
    items, stars = ratings.item_ids[mine], ratings.ratings[mine]
    order = np.lexsort((items, -stars))[: int(n)]
    right.markdown("**Rated highest** by this user")
    widgets.table(
        right, pd.DataFrame({"title": emb.item_names(ratings)[items[order]], "rating": stars[order]}),
        "rec_user_top", "rated_highest.csv", hide_index=True,
        column_config={"title": REC_COLUMNS["title"], "rating": st.column_config.NumberColumn(width="small")},
    )  # fmt: skip
    if rec.has_dot_product(result):
        st.caption(
            "predicted = squash(user·item + user bias + item bias) into the rating range; the table shows the "
            "item bias and the user·item part separately, so you can see whether taste or reputation ranks an item."
        )


def similar_section(result: TrainResult, ratings: Ratings) -> None:
    """'More like this': the items nearest a chosen item."""
    if result.item_factors().shape[1] == 0:
        st.info("This model has no item factors, so it has no notion of similar items.")
        return
    stats = emb.item_stats_of(ratings)
    item = widgets.item_picker("Item", ratings, "rec_similar_item", stats.counts)
    min_count = widgets.neighbour_min_count(stats, "rec_similar_min_count")
    found = rec.similar_items(result.item_factors(), item, n=10, counts=stats.counts, min_count=min_count)
    if len(found.indices) < 10:
        st.caption(f"Only {len(found.indices)} items have at least {min_count} ratings.")
    widgets.table(
        st, widgets.neighbours_frame(found, ratings, stats), "rec_similar_table", "more_like_this.csv",
        hide_index=True, column_config=widgets.COMPACT,
    )  # fmt: skip


RATING_CHOICES = ["skip", 1, 2, 3, 4, 5]


def rating_choices(ratings: Ratings) -> list:
    """What a new user may give: the data's own levels when there are few (1-5 stars, 1-10, half stars),
    else five steps across its range (Jester's continuous -10..10: -10, -5, 0, 5, 10). Never a fixed 1-5:
    on a 1-10 scale a 5 is below average, on -10..10 it cannot say 'disliked'."""
    levels = np.unique(np.asarray(ratings.ratings, dtype=np.float64))
    if len(levels) == 0:
        return RATING_CHOICES
    low, high = levels[0], levels[-1]
    if np.all(levels == np.round(levels)) and high - low <= 10:
        levels = np.arange(low, high + 1)  # whole stars: every step of the scale, also ones nobody gave
    elif len(levels) > 11:
        levels = np.unique(np.round(np.linspace(low, high, 5), 0 if high - low >= 5 else 1))
    return ["skip", *(int(v) if float(v).is_integer() else float(v) for v in levels)]


def new_user_section(result: TrainResult, ratings: Ratings) -> None:
    """Cold start: the visitor rates a few items; fold-in fits their vector; recommendations follow."""
    st.markdown(
        "The model has one learned row per user it saw in training, and none for you. Fold-in fits a new row "
        "(your vector and bias) to a few ratings while every item's factors stay frozen: a tiny least-squares "
        "problem, solved in milliseconds instead of retraining."
    )
    if not rec.has_dot_product(result):
        st.warning(
            "Fold-in needs the dot-product model with biases: train one with the model **Dot product + biases**."
        )
        return
    stats = emb.item_stats_of(ratings)
    names = emb.item_names(ratings)
    suggested = rec.suggest_items_to_rate(result.item_factors(), stats.counts, n=8).tolist()
    extra = st.multiselect(
        "Add items to rate", emb.most_rated(stats.counts, ratings.n_items).tolist(),
        format_func=lambda i: names[i], key="rec_new_search", placeholder="Search titles",
    )  # fmt: skip
    chosen = suggested + [i for i in extra if i not in suggested]
    given: dict[int, float] = {}
    choices = rating_choices(ratings)
    cols = st.columns(2)
    for position, item in enumerate(chosen):
        choice = cols[position % 2].radio(
            text.md(names[item]), choices, horizontal=True, key=f"rec_new_{ratings.item_labels[item]}"
        )
        if choice != "skip":
            given[item] = float(choice)
    if not given:
        st.info("Rate at least one item (popular and varied ones are suggested) to get recommendations.")
        return
    rated = np.array(list(given), dtype=np.int64)
    started = time.perf_counter()
    fit = rec.fold_in_user(result, rated, np.array(list(given.values())))
    recs = rec.recommend_for_new_user(result, fit, rated, n=10)
    seconds = time.perf_counter() - started
    st.markdown(
        f"**Recommended for you** from {len(given)} rating{'s' if len(given) != 1 else ''} "
        f"(fold-in and ranking took {1000 * seconds:.1f} ms)"
    )
    widgets.table(
        st, _recommendations_frame(recs, ratings), "rec_new_table", "new_user_recommendations.csv",
        hide_index=True, column_config=REC_COLUMNS,
    )  # fmt: skip
    st.caption(
        f"Your fitted bias {fit.user_bias:+.3f}; the model now predicts "
        + ", ".join(f"{text.md(names[i])}: {p:.1f}" for i, p in zip(rated, fit.fitted, strict=True))
        + " for what you rated."
    )


def ranking_section(result: TrainResult) -> None:
    """Ranking at k on the validation set beside the popularity baseline: the whole catalogue by default
    (as `result.metrics`' plain `ndcg@10`), each user's held-out items only when asked."""
    train, valid = state.split()
    if valid.n_ratings == 0:
        st.info("There is no validation set to measure ranking quality on.")
        return
    cols = st.columns([1, 2])
    k = cols[0].slider("k", 1, 50, 10, key="rec_k")
    protocol = cols[1].radio(
        "Rank",
        list(ranking.PROTOCOLS),
        format_func=ranking.PROTOCOLS.get,
        key="rec_protocol",
        horizontal=False,
    )
    quality = rec.ranking_quality_of(result, train, valid, k=int(k), protocol=protocol)
    st.plotly_chart(plots.ranking_fig(quality.model, quality.popularity, quality.k), key="rec_ranking_fig")
    if quality.protocol == "catalogue":
        scored = (
            f"Each of {quality.n_users:,} validation users gets a top {quality.k} from every item they did not "
            "rate in training (the protocol of published results), scored against their held-out items"
        )
    else:
        scored = (
            f"Only each of {quality.n_users:,} validation users' own held-out items are re-ranked (rated_*): "
            "numbers several times higher than the whole catalogue's, not comparable with published ones; "
            "scored against those items"
        )
    st.caption(
        f"{scored} rated {quality.threshold:g} or more (the top quarter of this data's rating scale). "
        "Popularity ranks by how many ratings an item has in training. " + ranking_verdict(quality)
    )


def ranking_verdict(quality: ranking.RankingQuality) -> str:
    """What the bars show: where the model beats popularity, where popularity wins, and by how much."""
    names = {
        "precision": "precision",
        "recall": "recall",
        "ndcg": "NDCG",
        "hit_rate": "hit rate",
        "map": "MAP",
        "mrr": "MRR",
    }
    wins, losses, ties = [], [], []
    for metric, model_score in quality.model.items():
        popular = quality.popularity[metric]
        if np.isnan(model_score) or np.isnan(popular):
            continue
        phrase = f"{names.get(metric, metric)}@{quality.k} ({model_score:.3f} vs {popular:.3f})"
        if round(model_score, 3) == round(popular, 3):  # as shown: a tie is nobody's win
            ties.append(phrase)
            continue
        (wins if model_score > popular else losses).append(phrase)
    if not (wins or losses or ties):  # no measure could be computed (no relevant validation rating)
        return (
            "No measure could be computed: no validation user rated an item high enough to count as relevant."
        )
    tied = f" Tied on {', '.join(ties)}." if ties else ""
    if not wins and not losses:
        return "Here the model and popularity rank alike on every measure: " + ", ".join(ties) + "."
    if not losses:
        return (
            "Here the model ranks better than popularity on "
            + _every(wins, ties)
            + ", ".join(wins)
            + "."
            + tied
        )
    if not wins:
        return (
            "Here **popularity ranks better** on "
            + _every(losses, ties)
            + ", ".join(losses)
            + "."
            + tied
            + " A model trained to predict ratings (RMSE) is not trained to rank, and on data where most "
            "people like the same popular items, recommending those is hard to beat."
        )
    return (
        "Here the model wins on " + ", ".join(wins) + " and popularity on " + ", ".join(losses) + "." + tied
    )


def _every(phrases: list[str], ties: list[str]) -> str:
    return "every measure: " if not ties else ("this measure: " if len(phrases) == 1 else "these measures: ")


def downloads_section(result: TrainResult) -> None:
    """Download the model and the validation predictions."""
    _, valid = state.split()
    cols = st.columns(2)
    cols[0].download_button(
        "Trained model (.safetensors)", lambda: model_bytes(result), file_name="collab_model.safetensors",
        mime="application/octet-stream", key="rec_download_model", icon=":material/download:",
    )  # fmt: skip
    cols[1].download_button(
        "Validation predictions (CSV)", lambda: rec.predictions_csv(result, valid), file_name="predictions.csv",
        mime="text/csv", key="rec_download_predictions", icon=":material/download:",
    )  # fmt: skip


def model_bytes(result: TrainResult) -> bytes:
    """The model in the core's safe format, as bytes."""
    with tempfile.TemporaryDirectory() as folder:
        path = result.save(Path(folder) / "model.safetensors")
        return Path(path).read_bytes()


def upload_section() -> None:
    """Load a saved model; it must match the current dataset, and anything else gives a clear error."""
    limit = uploads.limit_mb(budget.current().upload_mb)  # as the Data page's uploaders (ui/uploads.py)
    uploaded = st.file_uploader(
        "Load a saved model", type=["safetensors"], key="rec_upload", max_upload_size=limit,
        help=f"A file saved from this app (Download → Trained model), for the same dataset; up to {limit:,} MB "
        "on this server (bigger ones load with the collab library: collab.load(path)).",
    )  # fmt: skip
    uploads.hold("rec_upload", uploaded)  # any other file this session PUT is released (ui/uploads.py)
    if uploaded is None:
        return
    token = (uploaded.name, uploaded.size, getattr(uploaded, "file_id", ""))
    if st.session_state.get("rec_upload_done") == token:
        return  # already loaded; do not reload on every rerun
    error = load_uploaded(uploaded.name, uploaded.getvalue())
    if error:
        st.error(error, icon=":material/error:")
        return
    st.session_state["rec_upload_done"] = token
    state.flash(f"Loaded the model from {text.md(uploaded.name)}.")
    st.rerun()


def load_uploaded(name: str, data: bytes) -> str | None:
    """Load model bytes and make them the current model; the error message, or None on success."""
    from collab.training.result import load

    try:  # before anything is written or parsed: the same limit as every upload on this server
        limits = budget.current()
        limits.check_upload(
            len(data), text.md(name, limit=80), uploads.limit_mb(limits.upload_mb), model=True
        )
    except DataError as error:
        return str(error)
    with tempfile.TemporaryDirectory() as folder:
        # the name only labels the temporary copy: short and plain (a 300-character name is no file name)
        safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name).lstrip(".")[-100:] or "model.safetensors"
        path = Path(folder) / safe_name
        try:
            path.write_bytes(data)
            loaded = load(path)
        except OSError:  # its text would name the server's temporary folder
            return f"Could not load the model {text.md(name, limit=80)}: the server could not read it. Try again."
        except (ValueError, KeyError, RuntimeError, MemoryError) as err:
            return f"Could not load the model: {text.md(err, limit=600)}"
    mismatch = rec.model_mismatch(loaded, state.ratings())
    if mismatch:  # it quotes the file's labels, fingerprint and dataset name: shown as text, never Markdown
        return (
            f"{text.md(name, limit=80)} does not fit the current dataset: {text.md(mismatch, limit=600)}. "
            "Load that dataset first, or train here."
        )
    state.set_result(loaded)
    return None
