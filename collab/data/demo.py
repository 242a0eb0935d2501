"""The demo set: ratings drawn from a planted model, with the model itself (`DemoTruth`) kept for checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collab.data.ratings import Ratings

__all__ = ["DemoTruth", "demo_ratings"]


@dataclass(frozen=True, eq=False)
class DemoTruth:
    """The planted model behind `demo_ratings`: rating = global + biases + user·item + noise."""

    user_factors: np.ndarray  # (n_users, k)
    item_factors: np.ndarray  # (n_items, k)
    user_bias: np.ndarray  # (n_users,)
    item_bias: np.ndarray  # (n_items,)
    global_mean: float
    genre_names: tuple[str, ...]
    item_genre: np.ndarray  # (n_items,) index into genre_names
    user_taste: np.ndarray  # (n_users, n_genres) how much each user likes each genre
    noise_std: float
    oracle_rmse: float  # RMSE of the true (unrounded, unclipped) model on the observed ratings

    def predict(self, user_ids: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
        """The true model's (unrounded, unclipped) ratings for (user, item) index pairs."""
        dot = np.einsum("nk,nk->n", self.user_factors[user_ids], self.item_factors[item_ids])
        return self.global_mean + self.user_bias[user_ids] + self.item_bias[item_ids] + dot


# Words for made-up titles: "The {adjective} {noun} (year)"; one vocabulary per genre.
_DEMO_GENRES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Sci-Fi": (
        ("Last", "Silent", "Distant", "Frozen", "Final", "Hidden", "Broken", "Eternal"),
        ("Orbit", "Nebula", "Signal", "Colony", "Horizon", "Android", "Frontier", "Eclipse"),
    ),
    "Romance": (
        ("Summer", "Paper", "Secret", "Golden", "Second", "Endless", "Sweet", "Little"),
        ("Promise", "Letters", "Kiss", "Garden", "Waltz", "Vows", "Heart", "Affair"),
    ),
    "Comedy": (
        ("Wrong", "Lucky", "Crazy", "Accidental", "Big", "Awkward", "Reluctant", "Noisy"),
        ("Wedding", "Neighbours", "Vacation", "Roommate", "Uncle", "Reunion", "Detour", "Plan"),
    ),
    "Horror": (
        ("Hollow", "Crimson", "Dead", "Whispering", "Black", "Rotten", "Howling", "Pale"),
        ("House", "Woods", "Cellar", "Mirror", "Harvest", "Ritual", "Doll", "Lake"),
    ),
    "Western": (
        ("Dusty", "Lone", "Iron", "Red", "Dry", "Wild", "Long", "High"),
        ("Trail", "Rider", "Canyon", "Gulch", "Saddle", "Sheriff", "Mesa", "Outlaw"),
    ),
    "Documentary": (
        ("Unseen", "Deep", "Forgotten", "Living", "Quiet", "Vanishing", "Ancient", "Restless"),
        ("Ocean", "Planet", "Kingdom", "Machines", "Forests", "Empire", "River", "Cities"),
    ),
    "Animation": (
        ("Brave", "Tiny", "Magic", "Clever", "Flying", "Sleepy", "Jolly", "Clockwork"),
        ("Dragon", "Mouse", "Robot", "Castle", "Balloon", "Penguin", "Teapot", "Fox"),
    ),
    "Thriller": (
        ("Cold", "Seventh", "Double", "Blind", "Midnight", "Burning", "Perfect", "Quiet"),
        ("Witness", "Protocol", "Cipher", "Alibi", "Verdict", "Contract", "Target", "Hostage"),
    ),
}


def demo_ratings(seed: int = 0) -> Ratings:
    """A planted-structure set (2,000 users, 400 items, ~76k ratings in 8 named genres) with its ground truth.

    rating = clip(round(global + user_bias + item_bias + user·item + noise), 1, 5), where items
    sit near their genre's axis and users have genre tastes; who rates what follows item
    popularity (a long tail), user activity, and taste (people watch what they like).

    Sized so the lesson's weight-decay sweep shows overfitting offline, as MovieLens 100K does: many
    users with few ratings (5 at least, 38 on average) and noise of 0.8 stars leave 50 factors without
    weight decay enough room to learn the noise (validation loss about 7% above its best after 5 epochs
    with fastbook's settings, where 0.1 stays within 1%); a good model still ends near 0.9 RMSE against
    the mean's 1.08, close to MovieLens 100K's 0.91 against 1.12.
    """
    rng = np.random.default_rng(seed)
    n_users, n_items, target_ratings, noise_std = 2000, 400, 80_000, 0.8
    genre_names = tuple(_DEMO_GENRES)
    n_genres = len(genre_names)

    item_genre = rng.permutation(np.repeat(np.arange(n_genres), n_items // n_genres))  # (n_items,)
    item_factors = np.eye(n_genres)[item_genre] + rng.normal(0.0, 0.2, (n_items, n_genres))  # (n_items, k)
    user_taste = rng.normal(0.0, 0.45, (n_users, n_genres))  # (n_users, n_genres)
    user_taste[np.arange(n_users), rng.integers(0, n_genres, n_users)] += 0.9  # a favourite genre each
    user_factors = user_taste.copy()  # (n_users, k): the genre axes are the latent factors
    popularity = 1.0 / (rng.permutation(n_items) + 8.0)  # (n_items,) Zipf-like long tail
    log_popularity = np.log(popularity)
    user_bias = rng.normal(0.0, 0.3, n_users)
    popularity_z = (log_popularity - log_popularity.mean()) / log_popularity.std()
    item_bias = 0.25 * popularity_z + rng.normal(0.0, 0.3, n_items)  # popular items rate a bit higher
    global_mean = 3.0
    interaction = user_factors @ item_factors.T  # (n_users, n_items)
    true_scores = global_mean + user_bias[:, None] + item_bias[None, :] + interaction  # (n_users, n_items)

    # Who rates what: each user rates their top-n items under Gumbel-perturbed log weights
    # (sampling without replacement, vectorised), weights = popularity x taste.
    activity = rng.lognormal(0.0, 1.0, n_users)
    n_rated = np.clip(np.round(activity * target_ratings / activity.sum()), 5, n_items // 2).astype(np.int64)
    keys = log_popularity[None, :] + 0.8 * interaction + rng.gumbel(size=(n_users, n_items))
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)  # (n_users, n_items) 0 = first choice
    user_ids, item_ids = np.nonzero(rank < n_rated[:, None])

    truth_values = true_scores[user_ids, item_ids]
    observed = np.clip(np.round(truth_values + rng.normal(0.0, noise_std, len(user_ids))), 1, 5)
    oracle_rmse = float(np.sqrt(np.mean((truth_values - observed) ** 2)))
    timestamps = 1_420_070_400 + rng.integers(0, 3 * 365 * 86_400, len(user_ids))  # 2015-2017
    order = np.argsort(timestamps, kind="stable")

    titles = np.empty(n_items, dtype=object)
    for genre, (adjectives, nouns) in enumerate(_DEMO_GENRES.values()):
        members = np.flatnonzero(item_genre == genre)
        combos = rng.permutation(len(adjectives) * len(nouns))[: len(members)]
        years = rng.integers(1950, 2024, len(members))
        for item, combo, year in zip(members, combos, years, strict=True):
            titles[item] = f"The {adjectives[combo // len(nouns)]} {nouns[combo % len(nouns)]} ({year})"

    truth = DemoTruth(
        user_factors=user_factors,
        item_factors=item_factors,
        user_bias=user_bias,
        item_bias=item_bias,
        global_mean=global_mean,
        genre_names=genre_names,
        item_genre=item_genre,
        user_taste=user_taste,
        noise_std=noise_std,
        oracle_rmse=oracle_rmse,
    )
    return Ratings(
        user_ids=user_ids[order],
        item_ids=item_ids[order],
        ratings=observed[order],
        user_labels=np.arange(1, n_users + 1).astype(str),
        item_labels=np.arange(1, n_items + 1).astype(str),
        timestamps=timestamps[order],
        titles=titles.astype(str),
        genres=tuple((genre_names[g],) for g in item_genre),
        name=f"Demo (planted, seed {seed})",
        truth=truth,
    )
