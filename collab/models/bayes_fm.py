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
KEPT_PER_CHAIN = 32  # factor samples kept per chain for the interaction average (biases use all)
CHAINS = 2  # independent Gibbs chains, run side by side on two threads
# Floats of one gathered factor block per prediction chunk (4 MiB): a row is CHAINS x kept x rank wide
# (640 at rank 10, 2,048 at rank 32), so 2^19 pairs gathered at once were 1.3-4 GiB per temporary (the
# catalogue ranking on MovieLens 100K peaked at 3.9 GiB).
PREDICT_FLOATS = 1 << 20


def sample_plan(sweeps: int) -> tuple[int, int, int]:
    """(burn-in sweeps, thinning, samples kept) of one chain of `sweeps` Gibbs sweeps: burn in an eighth,
    keep every `thin`-th later sample's factors, at most `KEPT_PER_CHAIN` of them."""
    burn = sweeps // 8
    thin = max(1, (sweeps - burn) // KEPT_PER_CHAIN)
    kept = min(KEPT_PER_CHAIN, -(-(sweeps - burn) // thin))
    return burn, thin, kept


class BayesFM(CollabModel):
    """Posterior means of a Gibbs-sampled factorization machine, as biases and stacked factor samples.

    All tables are buffers (nothing here is trained by gradients). Shapes: user_factors (n_users,
    width), item_factors (n_items, width), day_factors (DAY_SLOTS, width), width = CHAINS x kept x rank."""

    def __init__(
        self, n_users: int, n_items: int, rank: int, sweeps: int, y_range: tuple[float, float]
    ) -> None:
        super().__init__()
        width = CHAINS * sample_plan(sweeps)[2] * rank
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

    def chunk_rows(self) -> int:
        """Pairs predicted at once: a gathered (pairs, width) block stays within `PREDICT_FLOATS`."""
        return max(1, PREDICT_FLOATS // max(1, self.user_factors.shape[1]))

    def forward(self, user_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor:
        """Predicted ratings (batch,) with the day terms averaged over the training days, clipped to y_range."""
        step = self.chunk_rows()
        if len(user_ids) > step:  # in chunks, filled in place (see PREDICT_FLOATS)
            out = torch.empty(len(user_ids), dtype=self.user_bias.dtype)
            for start in range(0, len(user_ids), step):
                part = slice(start, start + step)
                out[part] = self.forward(user_ids[part], item_ids[part])
            return out
        p_u, p_i = self.user_factors[user_ids], self.item_factors[item_ids]
        out = self.global_bias + self.user_bias[user_ids] + self.item_bias[item_ids] + self.mean_day_bias
        out = out + (p_u * p_i).sum(1) + (p_u + p_i) @ self.mean_day_factors
        return out.clamp(*self.y_range)

    @torch.no_grad()
    def predict_at(
        self, user_ids: torch.Tensor, item_ids: torch.Tensor, timestamps: np.ndarray
    ) -> torch.Tensor:
        """Predicted ratings (batch,) on the days of `timestamps` (seconds since 1970, (batch,) int)."""
        step = self.chunk_rows()
        if len(user_ids) > step:  # in chunks, filled in place (see PREDICT_FLOATS)
            out = torch.empty(len(user_ids), dtype=self.user_bias.dtype)
            for start in range(0, len(user_ids), step):
                part = slice(start, start + step)
                out[part] = self.predict_at(user_ids[part], item_ids[part], timestamps[part])
            return out
        slot = torch.from_numpy(self.day_slots(timestamps))
        known = slot >= 0
        index = slot.clamp(min=0)
        p_u, p_i = self.user_factors[user_ids], self.item_factors[item_ids]
        day_bias = torch.where(known, self.day_bias[index], self.mean_day_bias)
        p_d = torch.where(known[:, None], self.day_factors[index], self.mean_day_factors[None, :])
        out = self.global_bias + self.user_bias[user_ids] + self.item_bias[item_ids] + day_bias
        out = out + (p_u * p_i).sum(1) + ((p_u + p_i) * p_d).sum(1)
        return out.clamp(*self.y_range)

    def tables(self) -> dict[str, torch.Tensor]:
        """user_factors, item_factors (stacked posterior samples) and the posterior-mean biases, (rows, width)."""
        return {
            "user_factors": self.user_factors,
            "item_factors": self.item_factors,
            "user_bias": self.user_bias[:, None],
            "item_bias": self.item_bias[:, None],
        }
