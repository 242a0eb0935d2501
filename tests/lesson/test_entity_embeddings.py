"""Embeddings beyond users and items: tokens looked up row by row, and a learned category embedding."""

from __future__ import annotations

import numpy as np
import pytest

from collab.analysis import embeddings as emb
from collab.data.demo import demo_ratings
from collab.data.errors import DataError
from collab.lesson.entity_embeddings import (
    age_band,
    embed_tokens,
    read_ml100k_users,
    train_category_embedding,
)


def test_tokens_are_looked_up_row_by_row() -> None:
    lookup = embed_tokens("The cat sat on the mat.", dim=3)
    assert lookup.tokens == ("the", "cat", "sat", "on", "the", "mat", ".")
    assert lookup.vocab == ("the", "cat", "sat", "on", "mat", ".")
    assert lookup.token_ids.tolist() == [0, 1, 2, 3, 0, 4, 5]
    assert lookup.matrix.shape == (7, 3) and lookup.equal
    np.testing.assert_array_equal(lookup.matrix[0], lookup.matrix[4])  # "the" twice, one row
    with pytest.raises(ValueError, match="no words"):
        embed_tokens("   ")


def test_category_embedding_learns_and_separates_planted_genres() -> None:
    data = demo_ratings(seed=0)
    genres = emb.item_genre_names(data)
    names, codes = np.unique(genres, return_inverse=True)
    found = train_category_embedding(data, codes, list(names), side="item", dim=2, epochs=4)
    assert found.vectors.shape == (8, 2) and found.counts.sum() == data.n_ratings
    assert found.losses[-1] < found.losses[0]
    # genres are different tastes: their learned vectors do not collapse onto one point
    distances = np.linalg.norm(found.vectors[:, None] - found.vectors[None], axis=-1)
    assert distances[np.triu_indices(8, 1)].min() > 0.05
    with pytest.raises(ValueError, match="side"):
        train_category_embedding(data, codes, list(names), side="genre")
    with pytest.raises(ValueError, match="one per item"):
        train_category_embedding(data, codes[:5], list(names))


def test_ml100k_user_file_and_age_bands(tmp_path) -> None:
    (tmp_path / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n3|17|M|student|32067\n")
    users = read_ml100k_users(tmp_path)
    assert users["user"].tolist() == ["1", "2", "3"]
    assert users["age band"].tolist() == ["18-24", "50-55", "under 18"]
    assert age_band(np.array([25, 56, 80])).tolist() == ["25-34", "56+", "56+"]
    with pytest.raises(DataError, match="u.user"):
        read_ml100k_users(tmp_path / "missing")


def test_ml100k_user_file_is_read_from_the_cached_zip(tmp_path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / "ml-100k.zip", "w") as archive:
        archive.writestr("ml-100k/u.user", "7|57|M|administrator|91344\n")
    (tmp_path / "ml-100k").mkdir()  # what the app's loader extracts: u.data and u.item only
    users = read_ml100k_users(tmp_path)
    assert users["occupation"].tolist() == ["administrator"] and users["age band"].tolist() == ["56+"]
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "u.user").write_text("a|b|c|d|e\n")
    with pytest.raises(DataError, match="age column"):
        read_ml100k_users(tmp_path / "bad")
