"""The implicit-feedback model: a ranking score for (user, item) pairs, trained with BPR or BCE.

score(u, i) = user_factors[u] . item_factors[i] + item_bias[i]. There is no user bias: it cancels
in every ranking of one user's items. The losses compare a user's positives with sampled items the
user never interacted with:

- BPR (Rendle et al. 2009): -log sigmoid(score(u, i) - score(u, j)) for a positive i and a sampled j;
- BCE with sampled negatives (the lesson's binary cross-entropy): label 1 for (u, i), 0 for each
  sampled (u, j), i.e. `F.binary_cross_entropy_with_logits` on the scores.

The L2 penalty is per example, on the rows the example touches, so a micro-batch's summed loss adds
up to the batch's (gradient accumulation is exact) and matches the compiled SGD steps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from collab.models.base import CollabModel

IMPLICIT_MODELS = ("bpr", "bce")
IMPLICIT_INIT_STD = 0.1  # tuned on ML-100K u1: 0.01 (the rating models' init) ranks slightly worse


class ImplicitMF(CollabModel):
    """Matrix factorisation for implicit feedback: `forward` gives ranking scores (logits), not ratings."""

    def __init__(self, n_users: int, n_items: int, n_factors: int, loss: str = "bpr") -> None:
        super().__init__()
        if loss not in IMPLICIT_MODELS:
            raise ValueError(f"loss must be one of {list(IMPLICIT_MODELS)}, got {loss!r}")
        self.loss = loss
        self.y_range = (0.0, 1.0)  # not a rating scale: scores are logits; kept for the shared interface
        self.user_factors = nn.Embedding(n_users, n_factors)
        self.item_factors = nn.Embedding(n_items, n_factors)
        self.item_bias = nn.Embedding(n_items, 1)
        nn.init.normal_(self.user_factors.weight, 0.0, IMPLICIT_INIT_STD)
        nn.init.normal_(self.item_factors.weight, 0.0, IMPLICIT_INIT_STD)
        nn.init.zeros_(self.item_bias.weight)

    def forward(self, user_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor:
        """Scores: user_ids (b,) and item_ids (b,) -> (b,); user_ids (b, 1) and item_ids (b, n) -> (b, n)."""
        users = self.user_factors(user_ids)  # (..., k)
        return (users * self.item_factors(item_ids)).sum(-1) + self.item_bias(item_ids).squeeze(-1)

    def pair_loss_sum(
        self,
        user_ids: torch.Tensor,
        positives: torch.Tensor,
        negatives: torch.Tensor,
        l2: float,
        bias_l2: float,
    ) -> torch.Tensor:
        """Summed loss plus per-example L2/2 of users (b,), positives (b,), negatives (b, n_neg)."""
        pos_scores = self(user_ids, positives)  # (b,)
        neg_scores = self(user_ids[:, None], negatives)  # (b, n_neg)
        loss = (bpr_loss if self.loss == "bpr" else bce_loss)(pos_scores, neg_scores, reduction="sum")
        return loss + self._penalty(user_ids, positives, negatives, l2, bias_l2)

    def _penalty(
        self,
        user_ids: torch.Tensor,
        positives: torch.Tensor,
        negatives: torch.Tensor,
        l2: float,
        bias_l2: float,
    ) -> torch.Tensor:
        # BPR: each (u, i, j) triple decays u, v_i, v_j once; BCE: each labelled example (u, x) decays u
        # and v_x, so u is touched 1 + n_neg times and v_i once per positive (as the SGD kernels do)
        n_neg = negatives.shape[1]
        users, pos, neg = (
            self.user_factors(user_ids),
            self.item_factors(positives),
            self.item_factors(negatives),
        )
        pos_bias, neg_bias = self.item_bias(positives), self.item_bias(negatives)
        user_times, pos_times = (n_neg, n_neg) if self.loss == "bpr" else (1 + n_neg, 1)
        factors = user_times * users.square().sum() + pos_times * pos.square().sum() + neg.square().sum()
        biases = pos_times * pos_bias.square().sum() + neg_bias.square().sum()
        return 0.5 * l2 * factors + 0.5 * bias_l2 * biases


def bpr_loss(pos_scores: torch.Tensor, neg_scores: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """BPR: -log sigmoid(s_ui - s_uj); pos_scores (b,), neg_scores (b, n_neg); mean or sum over b x n_neg."""
    loss = -F.logsigmoid(pos_scores[:, None] - neg_scores)  # (b, n_neg)
    return loss.sum() if reduction == "sum" else loss.mean()


def bce_loss(pos_scores: torch.Tensor, neg_scores: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Binary cross-entropy with logits: label 1 for pos_scores (b,), 0 for neg_scores (b, n_neg).

    Written as -log sigmoid(s) and -log sigmoid(-s), the terms the compiled kernel differentiates; equal
    to F.binary_cross_entropy_with_logits over the b x (1 + n_neg) logits."""
    total = -F.logsigmoid(pos_scores).sum() - F.logsigmoid(-neg_scores).sum()
    return total if reduction == "sum" else total / (pos_scores.numel() + neg_scores.numel())
