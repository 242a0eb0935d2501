"""Memory by the bytes that arrive: one long id or title costs its own length, not the table's width.

Fixed-width numpy text stored every label as wide as the longest: a 1.2 MB ratings file with one
1,000-character user id took ~400 MB of labels, a 60,000-character title in an items file ~400 MB of
titles. These tests build such files and check the arrays' bytes, and that nothing else changed.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from collab.analysis import embeddings as emb
from collab.data.guards import as_text, text_array
from collab.data.items import read_items
from collab.data.read import read_ratings


def _held_bytes(array: np.ndarray) -> int:
    """Bytes an array of text holds: the array, plus each str's own size for an object array."""
    if array.dtype == object:
        return array.nbytes + sum(len(text) for text in array)  # ASCII: one byte a character (+ headers)
    return array.nbytes


def _ratings_csv(n_users: int, long_user: str | None = None) -> bytes:
    rng = np.random.default_rng(0)
    users = rng.integers(0, n_users, 3 * n_users)
    lines = [
        "user,item,rating",
        *(f"u{u},{i},{r}" for u, i, r in zip(users, users % 97, users % 5 + 1, strict=True)),
    ]
    if long_user is not None:
        lines.append(f"{long_user},3,4")
    return ("\n".join(lines) + "\n").encode()


def test_one_long_user_id_costs_its_own_length() -> None:
    long_id = "U" * 1000
    ratings = read_ratings(io.BytesIO(_ratings_csv(40_000, long_id)), sep=",")
    assert long_id in set(ratings.user_labels.tolist())
    assert _held_bytes(ratings.user_labels) < 200 * ratings.n_users  # fixed width: 4,000 bytes each
    short = read_ratings(io.BytesIO(_ratings_csv(40_000)), sep=",")
    assert short.user_labels.dtype.kind == "U"  # the usual file keeps numpy's fast fixed-width text
    # the same vocabulary order (by text, as fixed-width labels sort) and lookups
    assert ratings.user_labels.tolist() == sorted(ratings.user_labels.tolist())
    assert ratings.user_index(long_id)[0] == sorted(ratings.user_labels.tolist()).index(long_id)


def test_one_long_title_costs_its_own_length() -> None:
    items = "movieId,title\n" + "".join(f"{i},Movie {i}\n" for i in range(1, 20_001))
    items = items.replace("\n7,Movie 7\n", "\n7," + "T" * 60_000 + "\n")
    rows = pd.DataFrame(
        {"user": np.arange(40_000) % 500, "item": np.arange(40_000) % 20_000 + 1, "rating": 4.0}
    )
    rows.loc[::3, "rating"] = 2.0
    ratings = read_ratings(rows)
    titled = ratings.with_items(read_items(io.StringIO(items), item_labels=ratings.item_labels))
    assert titled.titles[titled.item_index("7")[0]] == "T" * 60_000
    assert _held_bytes(titled.titles) < 100 * titled.n_items + 60_000  # fixed width: 240,000 bytes each
    names = emb.item_names(titled)  # what the Embeddings page draws
    assert _held_bytes(names) < 100 * titled.n_items + 60_000
    assert _held_bytes(titled.item_display_names()) < 100 * titled.n_items + 60_000


def test_text_array_keeps_narrow_text_fixed_width_and_converts_anything() -> None:
    assert text_array(["a", "bb"]).dtype.kind == "U"
    assert text_array([1, 2.5]).tolist() == ["1", "2.5"]
    wide = text_array(["x"] * 100_000 + ["y" * 1000])
    assert wide.dtype == object and wide[-1] == "y" * 1000
    assert as_text(wide) is wide
    assert as_text(np.array([1, 2], dtype=object)).tolist() == ["1", "2"]  # objects that are not text
