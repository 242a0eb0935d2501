"""Nothing shared that belongs to one student: caches key by everything that changes what they hand out.

Two students upload the same ratings with different items files: the ratings' fingerprint is the same
(a model trained on one is valid for the other), but the split the server caches carries titles and
genres into pages and downloads (Validation predictions), so it must be each student's own.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from collab.analysis.recommend import predictions_csv
from collab.data.items import read_items
from collab.data.read import read_ratings
from collab.training.config import TrainConfig
from collab.training.loop import train
from ui import cached
from ui.state import SplitParams


def _ratings():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "user": rng.integers(0, 40, 600),
            "item": rng.integers(1, 31, 600),
            "rating": rng.integers(1, 6, 600),
        }
    )
    return read_ratings(frame)


def _with_titles(ratings, prefix: str, genre: str):
    items = "movieId,title,genres\n" + "".join(f"{i},{prefix} film {i},{genre}\n" for i in range(1, 31))
    return ratings.with_items(read_items(io.StringIO(items), item_labels=ratings.item_labels))


def test_same_ratings_different_items_files_get_their_own_split_and_download() -> None:
    base = _ratings()
    a, b = _with_titles(base, "Alpha", "Drama"), _with_titles(base, "Beta", "Horror")
    assert a.fingerprint == b.fingerprint and cached.content_key(a) != cached.content_key(b)
    params = SplitParams()
    split_a = cached.split(a, a.fingerprint, params)
    split_b = cached.split(b, b.fingerprint, params)
    assert split_a is not split_b
    assert all(t.startswith("Beta") for t in split_b.valid.titles)
    assert all(g == ("Horror",) for g in split_b.train.genres)
    model = train(split_a.train, split_a.valid, TrainConfig(epochs=1, n_factors=4, batch_size=64))
    shown = predictions_csv(model, split_b.valid)  # the Recommend page's "Validation predictions (CSV)" for B
    assert "Beta film" in shown and "Alpha" not in shown
    assert cached.split(a, a.fingerprint, params) is split_a  # still cached for A
