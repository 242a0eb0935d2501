"""The Bayesian factorization machine's posterior-mean predictor (trained by `collab.training.bayes_fm`).

Features per rating (Rendle, Zhang and Koren, "On the Difficulty of Evaluating Baselines", 2019, the
"timeSVD++ flipped" set): the user, plus the items that user rated in the training set (each weighted
1 / sqrt(count)); the item, plus the users who rated it in the training set; and the day of the rating.
The sampler averages the prediction over its posterior samples. A sample's prediction is
`w0 + b_u + b_i + b_d + p_u.p_i + p_u.p_d + p_i.p_d`, where the p are per-row sums of factor vectors
(user row, item row, day row) and the b hold the linear weights and each row's own pairwise terms, so the
average over K kept samples is a dot product of the K samples' p stacked side by side (divided by
sqrt(K) each): that is what `user_factors` and `item_factors` hold (width K x rank). Biases are averaged
over every sample after burn-in.

Days: up to `DAY_SLOTS` slots, one per training day (or equal-count bins of days when there are more);
a rating is put in the slot of the latest slot start on or before its day (a day before the first
training day has no slot: the model's average over the training days is used, as it is whenever no
date is given, e.g. `forward(users, items)` for recommendations).
"""

from __future__ import annotations

import numpy as np
import torch

from collab.models.base import CollabModel

DAY_SLOTS = 512
SECONDS_PER_DAY = 86_400
CHAINS = 2  # independent Gibbs chains, run side by side on two threads
# The interaction average is over the kept factor samples (biases average every sample after burn-in):
# the stacked tables (users + items + day slots) x (chains x kept x rank) hold at most this many floats
# (32 MiB). On MovieLens 100K u1 (3,137 rows, rank 10, 2 x 128 sweeps) that keeps every sample after
# burn-in: RMSE 0.8857, against 0.8873 with 32 kept per chain (Monte Carlo noise of the average).
SAMPLE_CELLS = 1 << 23


def sample_plan(sweeps: int, n_rows: int = 0, rank: int = 1) -> tuple[int, int, int]:
    """(burn-in sweeps, thinning, samples kept) of one chain of `sweeps` Gibbs sweeps over a design of
    `n_rows` users + items (+ `DAY_SLOTS` day rows, added here) at rank `rank`: burn in an eighth, then
    keep every `thin`-th sample's factors, as many as `SAMPLE_CELLS` allows (at least one)."""
    burn = sweeps // 8
    cap = max(1, SAMPLE_CELLS // (CHAINS * (n_rows + DAY_SLOTS) * max(rank, 1)))
    after = max(sweeps - burn, 1)
    thin = max(1, -(-after // cap))
    kept = -(-after // thin)
    return burn, thin, kept


class BayesFM(CollabModel):
    """Posterior means of a Gibbs-sampled factorization machine, as biases and stacked factor samples.

    All tables are buffers (nothing here is trained by gradients). Shapes: user_factors (n_users,
    width), item_factors (n_items, width), day_factors (DAY_SLOTS, width), width = CHAINS x kept x rank."""

    def __init__(
        self, n_users: int, n_items: int, rank: int, sweeps: int, y_range: tuple[float, float]
    ) -> None:
        super().__init__()
        width = CHAINS * sample_plan(sweeps, n_users + n_items, rank)[2] * rank
        self.y_range = (float(y_range[0]), float(y_range[1]))
        self.register_buffer("global_bias", torch.zeros(1))
        self.register_buffer("user_bias", torch.zeros(n_users))
        self.register_buffer("item_bias", torch.zeros(n_items))
        self.register_buffer("user_factors", torch.zeros(n_users, width))
        self.register_buffer("item_factors", torch.zeros(n_items, width))
        # day slots: the first day (days since 1970-01-01, UTC) of each slot; unused slots hold a huge day
        self.register_buffer(
            "day_starts", torch.full((DAY_SLOTS,), np.iinfo(np.int64).max, dtype=torch.int64)
        )
        self.register_buffer("day_bias", torch.zeros(DAY_SLOTS))
        self.register_buffer("day_factors", torch.zeros(DAY_SLOTS, width))
        self.register_buffer("mean_day_bias", torch.zeros(1))  # the day terms averaged over training ratings
        self.register_buffer("mean_day_factors", torch.zeros(width))

    def day_slots(self, timestamps: np.ndarray) -> np.ndarray:
        """Slot of each timestamp (seconds), (n,) int64; -1 where the model has no day for it."""
        starts = self.day_starts.numpy()
        days = np.asarray(timestamps, dtype=np.int64) // SECONDS_PER_DAY
        slot = np.searchsorted(starts, days, side="right") - 1
        return np.where(slot >= 0, slot, -1).astype(np.int64)

    def forward(self, user_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor:
        """Predicted ratings (batch,) with the day terms averaged over the training days, clipped to y_range."""
        user_ids, item_ids = torch.as_tensor(user_ids), torch.as_tensor(item_ids)
        out = self.global_bias + self.mean_day_bias + self._user_part(user_ids) + self._item_part(item_ids)
        out = out + _pair_dots(self.user_factors, user_ids, self.item_factors, item_ids)
        return out.clamp(*self.y_range)

    def _user_part(self, user_ids: torch.Tensor) -> torch.Tensor:
        """b_u + p_u . (average day factors), (batch,)."""
        return (self.user_bias + self.user_factors @ self.mean_day_factors)[user_ids]

    def _item_part(self, item_ids: torch.Tensor) -> torch.Tensor:
        return (self.item_bias + self.item_factors @ self.mean_day_factors)[item_ids]

    @torch.no_grad()
    def score_users(self, user_ids: torch.Tensor) -> torch.Tensor:
        """Every item's predicted rating for each user (day-averaged, as `forward`), (len(user_ids),
        n_items): one matrix product instead of len(user_ids) x n_items gathered rows."""
        user_ids = torch.as_tensor(user_ids)
        items = torch.arange(self.item_factors.shape[0])
        out = self.user_factors[user_ids] @ self.item_factors.T
        out += (self.global_bias + self.mean_day_bias + self._user_part(user_ids))[:, None]
        out += self._item_part(items)[None, :]
        return out.clamp_(*self.y_range)

    @torch.no_grad()
    def predict_at(
        self, user_ids: torch.Tensor, item_ids: torch.Tensor, timestamps: np.ndarray
    ) -> torch.Tensor:
        """Predicted ratings (batch,) on the days of `timestamps` (seconds since 1970, (batch,) int)."""
        user_ids, item_ids = torch.as_tensor(user_ids), torch.as_tensor(item_ids)
        slot = torch.from_numpy(self.day_slots(timestamps))
        known = slot >= 0
        index = slot.clamp(min=0)
        day_bias = torch.where(known, self.day_bias[index], self.mean_day_bias)
        # the day's factors dotted with the user's and the item's: per (user, slot) and (item, slot) tables
        # where they are smaller than the batch, else row by row
        day_user = _pair_dots(self.user_factors, user_ids, self.day_factors, index)
        day_item = _pair_dots(self.item_factors, item_ids, self.day_factors, index)
        mean_terms = (self.user_factors @ self.mean_day_factors)[user_ids] + (
            self.item_factors @ self.mean_day_factors
        )[item_ids]
        day_terms = torch.where(known, day_user + day_item, mean_terms)
        out = self.global_bias + self.user_bias[user_ids] + self.item_bias[item_ids] + day_bias + day_terms
        out = out + _pair_dots(self.user_factors, user_ids, self.item_factors, item_ids)
        return out.clamp(*self.y_range)

    def tables(self) -> dict[str, torch.Tensor]:
        """user_factors, item_factors (stacked posterior samples) and the posterior-mean biases, (rows, width)."""
        return {
            "user_factors": self.user_factors,
            "item_factors": self.item_factors,
            "user_bias": self.user_bias[:, None],
            "item_bias": self.item_bias[:, None],
        }


# Floats of one gathered factor block per prediction chunk (4 MiB): a row is CHAINS x kept x rank wide
# (2,240 at rank 10 on MovieLens 100K), so the catalogue ranking's 2^19 pairs gathered at once would be
# gigabytes per temporary.
PREDICT_FLOATS = 1 << 20
TABLE_CELLS = 1 << 22  # 16 MiB of float32
TABLE_PER_ROW = 128


def _row_dots(a: torch.Tensor, a_ids: torch.Tensor, b: torch.Tensor, b_ids: torch.Tensor) -> torch.Tensor:
    """a[a_ids[n]] . b[b_ids[n]] for each n, (batch,), gathered in chunks of at most `PREDICT_FLOATS`."""
    out = torch.empty(len(a_ids), dtype=a.dtype)
    step = max(1, PREDICT_FLOATS // max(1, a.shape[1]))
    for start in range(0, len(a_ids), step):
        end = start + step
        out[start:end] = (a[a_ids[start:end]] * b[b_ids[start:end]]).sum(1)
    return out


def _pair_dots(a: torch.Tensor, a_ids: torch.Tensor, b: torch.Tensor, b_ids: torch.Tensor) -> torch.Tensor:
    """a[a_ids[n]] . b[b_ids[n]], (batch,): from the whole table a @ b.T where it is small (at most
    `TABLE_CELLS`) and at most `TABLE_PER_ROW` cells per row asked for (one matrix product is ~10x faster
    per multiply than gathering rows: MovieLens 100K's users x items for its 80,000 training ratings),
    else row by row."""
    cells = a.shape[0] * b.shape[0]
    if cells <= TABLE_CELLS and cells <= TABLE_PER_ROW * len(a_ids):
        return (a @ b.T)[a_ids, b_ids]
    return _row_dots(a, a_ids, b, b_ids)
