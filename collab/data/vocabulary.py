"""The id vocabulary of a ratings table: dense ids in label order, and (user, item) pair codes.

`vocabulary` turns an id column into dense int64 ids and their distinct labels, ordered by
`label_order` (numeric when every label is a plain integer, else by text); `pair_codes`,
`duplicated_pairs` and `count_plays` work on the (user, item) pairs those ids make.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from collab.data.guards import text_array
from collab.data.values import format_number, transform_counts


def vocabulary(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids and str labels holding each id's text; see `label_order` for the order."""
    if isinstance(column.dtype, pd.CategoricalDtype):  # read_ratings' id columns: codes + the distinct texts
        codes = column.cat.codes.to_numpy(dtype=np.int64)
        categories = column.cat.categories
        used = np.zeros(len(categories), dtype=bool)
        used[codes] = True
        if not used.all():  # rows were dropped (not-rated codes): a label left without a rating is no id
            renumber = np.cumsum(used) - 1
            codes, categories = renumber[codes], categories[used]
        return _ordered(codes, _distinct_text(categories.to_series()))
    values = column
    if pd.api.types.is_float_dtype(values.dtype) and np.all(values.to_numpy() == np.round(values.to_numpy())):
        values = values.astype(np.int64)  # a frame's 1.0 is the id 1 (NaN-free here: checked before)
    if pd.api.types.is_integer_dtype(values.dtype) and len(values):
        ids = values.to_numpy(dtype=np.int64)
        low, high = int(ids.min()), int(ids.max())
        if low >= 0 and high < 4 * len(ids) + 1_000_000:
            # Small non-negative ids: a presence table beats hashing and sorting, and numeric order
            # is already the order `label_order` gives their text.
            present = np.zeros(high + 1, dtype=bool)
            present[ids] = True
            dense = np.cumsum(present) - 1
            # as wide as the largest id's digits (astype(str) of int64 makes every label 21 characters)
            return dense[ids], np.flatnonzero(present).astype(f"U{len(str(high))}")
    codes, uniques = pd.factorize(values)
    return _ordered(codes.astype(np.int64), _distinct_text(pd.Series(uniques)))


def _distinct_text(values: pd.Series) -> np.ndarray:
    """Distinct id values as str: text unchanged, numbers (from a frame built in code) as written by str."""
    if pd.api.types.is_float_dtype(values.dtype) and np.all(values.to_numpy() == np.round(values.to_numpy())):
        values = values.astype(np.int64)
    return text_array(values.astype(str).to_numpy(dtype=object))


def label_order(labels: np.ndarray) -> np.ndarray:
    """The vocabulary order of distinct labels: numeric when every label is a plain non-negative integer
    without leading zeros ("9" < "10"), else by text (code points: "007" < "10" < "9" < "B" < "a")."""
    if labels.dtype == object:  # long labels kept as objects (text_array): the same order through pandas
        text = pd.Series(labels, dtype=object)
        lengths = text.str.len().to_numpy(dtype=np.int64)
        plain = bool(text.str.isascii().all() and text.str.isdigit().all()) if labels.size else True
        if plain and not (text.str.startswith("0").to_numpy(dtype=bool) & (lengths > 1)).any():
            return np.lexsort((labels, lengths))
        return np.argsort(labels, kind="stable")
    lengths = np.strings.str_len(labels)
    ascii_only = labels.size == 0 or labels.view(np.uint32).max() < 128  # isdigit alone accepts "²" and "٣"
    if (
        ascii_only
        and np.strings.isdigit(labels).all()
        and not (np.strings.startswith(labels, "0") & (lengths > 1)).any()
    ):
        return np.lexsort((labels, lengths))  # shorter first = smaller, at any length
    return np.argsort(labels, kind="stable")


def _ordered(codes: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes into `labels` (distinct) renumbered to `label_order`; surrounding spaces are dropped."""
    if labels.dtype == object:
        stripped = pd.Series(labels, dtype=object).str.strip().to_numpy(dtype=object)
    else:
        stripped = np.strings.strip(labels)
    if (stripped != labels).any():  # " 7" and "7" are one id: spaces around a field are layout, not text
        labels, merged = np.unique(stripped, return_inverse=True)
        codes = merged[codes]
    order = label_order(labels)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], labels[order]


def count_plays(user_ids: np.ndarray, item_ids: np.ndarray, n_items: int, how: str) -> tuple[np.ndarray, str]:
    """A log's rows counted per (user, item) pair: each row's pair count, transformed (`transform_counts`),
    and the note saying so. (n,) -> (n,) float64."""
    pair = pair_codes(user_ids, item_ids, n_items)
    _, inverse, counts = np.unique(pair, return_inverse=True, return_counts=True)
    plays = counts[inverse].astype(np.float64)
    how_text = "log(1 + plays)" if how == "log1p" else "plays mapped onto 1-5 on a log scale"
    note = (
        f"No rating column: the {len(pair):,} rows (events, such as plays of a log) are counted into "
        f"{len(counts):,} (user, item) pairs, from 1 to {int(counts.max()):,} plays each (median "
        f"{format_number(float(np.median(counts)))}), and trained as {how_text} (implicit feedback)."
    )
    return transform_counts(plays, how), note  # type: ignore[arg-type]


def duplicated_pairs(user_ids: np.ndarray, item_ids: np.ndarray, n_items: int) -> np.ndarray:
    """Mask of rows whose (user, item) pair occurs again later (keep the last of each pair)."""
    ordered = pair_codes(user_ids, item_ids, n_items)
    ordered.sort()  # in place: the codes are rebuilt below in the rare case that some repeat
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    del ordered
    dropped = np.zeros(len(user_ids), dtype=bool)
    if len(repeated) == 0:  # the common case costs one sort
        return dropped
    pair = pair_codes(user_ids, item_ids, n_items)
    in_repeated = pd.Series(pair, copy=False).isin(np.unique(repeated))  # hashing: O(n)
    candidates = np.flatnonzero(in_repeated.to_numpy())
    dropped[candidates[pd.Series(pair[candidates]).duplicated(keep="last").to_numpy()]] = True
    return dropped


def pair_codes(user_ids: np.ndarray, item_ids: np.ndarray, n_items: int) -> np.ndarray:
    """One int64 code per row's (user, item) pair, built in place (one array, no temporary)."""
    pair = user_ids * n_items  # (n_ratings,)
    pair += item_ids
    return pair
