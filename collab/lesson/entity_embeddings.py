"""Embeddings beyond users and items: the same `nn.Embedding` for a sentence's tokens and a table's categories.

An embedding is a table with one learned row per distinct value, read by index. Users and items are
one use; the words of a sentence (NLP) and the values of a categorical column (occupation, age band,
genre: "entity embeddings" of tabular data) are the same layer. `embed_tokens` looks a sentence up
row by row; `train_category_embedding` learns one vector per category inside a small rating model.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from collab.data.errors import DataError
from collab.data.ratings import Ratings

__all__ = [
    "AGE_BANDS",
    "CategoryEmbedding",
    "CategoryModel",
    "TokenLookup",
    "age_band",
    "embed_tokens",
    "read_ml100k_users",
    "tokenize",
    "train_category_embedding",
]

MAX_TOKENS = 40
MAX_USER_FILE_BYTES = 1 << 20  # u.user is about 22 KB
# MovieLens 1M's age bands, applied to 100K's exact ages
AGE_BANDS = (
    (0, "under 18"),
    (18, "18-24"),
    (25, "25-34"),
    (35, "35-44"),
    (45, "45-49"),
    (50, "50-55"),
    (56, "56+"),
)


def tokenize(sentence: str) -> list[str]:
    """Lower-case words and punctuation marks, in order: a tiny tokenizer for the demonstration."""
    return re.findall(r"[a-z0-9']+|[^\sa-z0-9']", sentence.lower())


@dataclass(frozen=True)
class TokenLookup:
    """A sentence as token ids, the embedding table, and the looked-up matrix (one row per token)."""

    tokens: tuple[str, ...]  # (n_tokens,) in sentence order
    vocab: tuple[str, ...]  # distinct tokens in order of first appearance: row i of the table
    token_ids: np.ndarray  # (n_tokens,) row of each token in the table
    table: np.ndarray  # (n_vocab, dim) the embedding's weight
    matrix: np.ndarray  # (n_tokens, dim) embedding(token_ids)

    @property
    def equal(self) -> bool:
        """Each row of the matrix is exactly the table row of its token."""
        return bool(np.array_equal(self.matrix, self.table[self.token_ids]))


def embed_tokens(sentence: str, dim: int = 4, seed: int = 0) -> TokenLookup:
    """Look a sentence's tokens up in a fresh `nn.Embedding(len(vocab), dim)`; raises ValueError on an
    empty sentence or more than MAX_TOKENS tokens."""
    tokens = tokenize(sentence)
    if not tokens:
        raise ValueError("the sentence has no words: type a few")
    if len(tokens) > MAX_TOKENS:
        raise ValueError(f"the sentence has {len(tokens)} tokens; keep it to {MAX_TOKENS}")
    vocab = list(dict.fromkeys(tokens))
    position = {token: i for i, token in enumerate(vocab)}
    torch.manual_seed(seed)
    embedding = nn.Embedding(len(vocab), dim)
    ids = torch.tensor([position[t] for t in tokens])  # (n_tokens,)
    with torch.no_grad():
        matrix = embedding(ids)  # (n_tokens, dim): row i is table[ids[i]]
    return TokenLookup(
        tokens=tuple(tokens),
        vocab=tuple(vocab),
        token_ids=ids.numpy(),
        table=embedding.weight.detach().numpy().copy(),
        matrix=matrix.numpy(),
    )


def read_ml100k_users(source: str | Path) -> pd.DataFrame:
    """MovieLens 100K's u.user (user|age|gender|occupation|zip) as a frame with an `age band` column.

    `source` is the extracted ml-100k folder, or the cache folder that holds it and ml-100k.zip (the
    app's MovieLens loader extracts only the ratings and items, so u.user is read from the zip then).
    Raises DataError when neither has the file or it is not in that format.
    """
    root = Path(source)
    for folder in (root, root / "ml-100k"):
        if (folder / "u.user").is_file():
            return _parse_users(io.BytesIO((folder / "u.user").read_bytes()), str(folder / "u.user"))
    for archive in (root / "ml-100k.zip", root.parent / "ml-100k.zip"):
        if archive.is_file():
            try:
                with zipfile.ZipFile(archive) as opened:
                    info = opened.getinfo("ml-100k/u.user")
                    if info.file_size > MAX_USER_FILE_BYTES:
                        raise DataError(
                            f"{archive}: u.user is {info.file_size:,} bytes, more than MovieLens 100K's"
                        )
                    return _parse_users(io.BytesIO(opened.read(info)), f"{archive}:ml-100k/u.user")
            except (KeyError, zipfile.BadZipFile) as error:
                raise DataError(f"{archive} has no readable ml-100k/u.user ({error})") from None
    raise DataError(
        f"u.user not found in {root}: MovieLens 100K's user file sits beside u.data, or in ml-100k.zip"
    )


def _parse_users(data: io.BytesIO, where: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            data, sep="|", header=None, names=["user", "age", "gender", "occupation", "zip"], dtype={"user": str},
            encoding="latin-1",
        )  # fmt: skip
    except (ValueError, pd.errors.ParserError) as error:
        raise DataError(f"{where} is not MovieLens 100K's u.user: {error}") from None
    if frame["age"].dtype.kind not in "iu":
        raise DataError(f"{where}: the age column is not numeric; is this MovieLens 100K's u.user?")
    frame["age band"] = age_band(frame["age"].to_numpy())
    return frame


def age_band(ages: np.ndarray) -> np.ndarray:
    """The MovieLens 1M age band of each age (e.g. 30 -> '25-34')."""
    starts = np.array([start for start, _ in AGE_BANDS])
    names = np.array([name for _, name in AGE_BANDS])
    return names[np.searchsorted(starts, np.asarray(ages), side="right") - 1]


class CategoryModel(nn.Module):
    """rating = mean + user bias + item bias + category_vector(category of the row) . other side's vector.

    With `side="user"` each user is replaced by its category (an occupation, an age band) in the dot
    product; with `side="item"` each item by its category (a genre). The category table is the
    embedding being learned.
    """

    def __init__(
        self, n_categories: int, n_other: int, n_users: int, n_items: int, dim: int, mean: float
    ) -> None:
        super().__init__()
        self.category = nn.Embedding(n_categories, dim)
        self.other = nn.Embedding(n_other, dim)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)
        for table in (self.category, self.other):
            nn.init.normal_(table.weight, std=0.1)  # normal_ fills in place
        for table in (self.user_bias, self.item_bias):
            nn.init.zeros_(table.weight)
        self.mean = mean

    def forward(
        self, categories: torch.Tensor, others: torch.Tensor, users: torch.Tensor, items: torch.Tensor
    ) -> torch.Tensor:
        dot = (self.category(categories) * self.other(others)).sum(1)  # (batch,)
        return self.mean + dot + self.user_bias(users)[:, 0] + self.item_bias(items)[:, 0]


@dataclass(frozen=True)
class CategoryEmbedding:
    """The learned category vectors and how training went."""

    names: tuple[str, ...]  # (n_categories,)
    vectors: np.ndarray  # (n_categories, dim)
    counts: np.ndarray  # (n_categories,) ratings per category
    side: str  # "user" or "item"
    losses: tuple[float, ...]  # training MSE per epoch


def train_category_embedding(
    ratings: Ratings,
    codes: np.ndarray,
    names: tuple[str, ...] | list[str],
    side: str = "item",
    dim: int = 2,
    epochs: int = 8,
    batch_size: int = 2048,
    lr: float = 0.02,
    seed: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
) -> CategoryEmbedding:
    """Learn one `dim`-vector per category of `codes` ((n_users,) or (n_items,) ints into `names`).

    Minibatches are slices of a randperm over tensors; Adam with a little weight decay on the
    vectors. Raises ValueError for a side other than "user"/"item", codes of the wrong length or
    out of range, or no ratings.
    """
    if side not in ("user", "item"):
        raise ValueError(f"side must be 'user' or 'item', got {side!r}")
    n_rows = ratings.n_users if side == "user" else ratings.n_items
    codes = np.asarray(codes, dtype=np.int64)
    if codes.shape != (n_rows,):
        raise ValueError(f"codes has shape {codes.shape}; expected ({n_rows},), one per {side}")
    if len(codes) and (codes.min() < 0 or codes.max() >= len(names)):
        raise ValueError(f"codes must lie in 0..{len(names) - 1} (one per name)")
    if ratings.n_ratings == 0:
        raise ValueError("there are no ratings to learn from")
    torch.manual_seed(seed)
    users = torch.from_numpy(ratings.user_ids)
    items = torch.from_numpy(ratings.item_ids)
    target = torch.from_numpy(ratings.ratings)
    mine, others = (users, items) if side == "user" else (items, users)
    categories = torch.from_numpy(codes)[mine]  # (n_ratings,) each rating's category
    n_other = ratings.n_items if side == "user" else ratings.n_users
    model = CategoryModel(len(names), n_other, ratings.n_users, ratings.n_items, dim, float(target.mean()))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    history: list[float] = []
    for epoch in range(1, epochs + 1):
        order = torch.randperm(ratings.n_ratings)
        total = 0.0
        for start in range(0, ratings.n_ratings, batch_size):
            rows = order[start : start + batch_size]
            predicted = model(categories[rows], others[rows], users[rows], items[rows])
            loss = ((predicted - target[rows]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        history.append(total / ratings.n_ratings)
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    return CategoryEmbedding(
        names=tuple(str(n) for n in names),
        vectors=model.category.weight.detach().numpy().copy(),
        counts=np.bincount(categories.numpy(), minlength=len(names)),
        side=side,
        losses=tuple(history),
    )
