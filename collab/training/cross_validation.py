"""K-fold cross-validation: `cross_validate` trains one model per fold of `collab.evaluate.folds.kfold`.

It lives in `training/` because it trains: `evaluate/` sits below the loop, which scores every epoch with it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from collab.data.ratings import Ratings
from collab.evaluate.folds import kfold

if TYPE_CHECKING:
    import pandas as pd

    from collab.training.config import TrainConfig


def cross_validate(
    config: TrainConfig | None,
    ratings: Ratings | pd.DataFrame,
    k: int = 5,
    seed: int = 42,
    progress: bool = False,
) -> pd.DataFrame:
    """Train `config` (None: `TrainConfig()`) on each of `kfold(ratings, k, seed)` and score its fold.

    Returns one row per fold: fold, rmse, mae, global_mean_rmse (the baseline that predicts the
    training mean), the ranking metrics of `train` under both protocols beside popularity's
    (`ndcg@10`, `precision@10`, `recall@10`, `hit_rate@10`, `map@10`, `mrr@10`: top 10 of every item the
    user has not rated in the fold's training part, `popularity_ndcg@10`, ..., `ranked_users`;
    `rated_ndcg@10`, ...: each user's held-out items re-ranked, `rated_users`; see
    `collab.evaluate.ranking`), n_train, n_valid (the pairs RMSE scored), n_dropped, seconds. Take
    `.mean()` / `.std()` of a column for the summary. `progress=True` shows each fold's progress bar.
    """
    import pandas as pd

    from collab.training.config import TrainConfig
    from collab.training.loop import train

    config = TrainConfig() if config is None else config
    rows = []
    for fold in kfold(ratings, k, seed):
        started = time.perf_counter()
        result = train(fold.train, fold.valid, config, progress=progress)
        rows.append(
            {
                "fold": fold.index,
                **{name: value for name, value in result.metrics.items() if name != "valid_loss"},
                "n_train": fold.train.n_ratings,
                "n_valid": fold.valid.n_ratings,
                "n_dropped": fold.n_dropped,
                "seconds": time.perf_counter() - started,
            }
        )
    return pd.DataFrame(rows)
