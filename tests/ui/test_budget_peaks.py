"""The Train page's model of a training's peak memory (`ui.budget.training_peak_bytes`) is at or above every
peak measured for issue 24, and not absurdly above it. The peaks are data here, not timed: each is the
highest of its runs of `benchmarks.train_memory` (a fresh process per case, resident size sampled every 5 ms
above a warmed-up base, the Train page's starting settings; /work/notes/issue24-peaks.md has the commands
and every run). Rerun the benchmark and refit `PEAK_FITS` when a model or the training loop changes.
"""

from __future__ import annotations

import dataclasses

import pytest

from ui import budget
from ui.url_state import model_base

MIB = 2**20
# (data, model, factors (AutoRec: hidden units; Bayesian FM: rank; None: the model has none), compiled
# kernels (the dot model in the app on 1 GB and up), users, items, training ratings, highest peak MiB)
MEASURED = [
    ("ml-100k", "autorec", 50, True, 943, 1682, 80000, 67),
    ("ml-100k", "autorec", 500, True, 943, 1682, 80000, 421),
    ("ml-100k", "autorec", 1000, True, 943, 1682, 80000, 554),
    ("ml-100k", "bce", 64, True, 943, 1682, 80000, 39),
    ("ml-100k", "bfm", 10, True, 943, 1682, 80000, 108),
    ("ml-100k", "bfm", 32, True, 943, 1682, 80000, 120),
    ("ml-100k", "bias", None, True, 943, 1682, 80000, 37),
    ("ml-100k", "bpr", 64, True, 943, 1682, 80000, 39),
    ("ml-100k", "bpr", 200, True, 943, 1682, 80000, 42),
    ("ml-100k", "classifier", 64, True, 943, 1682, 80000, 77),
    ("ml-100k", "classifier", 200, True, 943, 1682, 80000, 173),
    ("ml-100k", "dot", 64, True, 943, 1682, 80000, 54),
    ("ml-100k", "dot", 64, False, 943, 1682, 80000, 51),
    ("ml-100k", "dot", 200, True, 943, 1682, 80000, 122),
    ("ml-100k", "nn", None, True, 943, 1682, 80000, 99),
    ("ml1m-shape", "autorec", 500, True, 6040, 3706, 800167, 1746),
    ("ml1m-shape", "autorec", 1000, True, 6040, 3706, 800167, 2079),
    ("ml1m-shape", "bce", 64, True, 6040, 3706, 800167, 88),
    ("ml1m-shape", "bfm", 10, True, 6040, 3706, 800167, 294),
    ("ml1m-shape", "bias", None, True, 6040, 3706, 800167, 79),
    ("ml1m-shape", "bpr", 64, True, 6040, 3706, 800167, 88),
    ("ml1m-shape", "bpr", 200, True, 6040, 3706, 800167, 104),
    ("ml1m-shape", "classifier", 64, True, 6040, 3706, 800167, 333),
    ("ml1m-shape", "classifier", 200, True, 6040, 3706, 800167, 1223),
    ("ml1m-shape", "dot", 64, True, 6040, 3706, 800167, 118),
    ("ml1m-shape", "dot", 64, False, 6040, 3706, 800167, 156),
    ("ml1m-shape", "dot", 200, True, 6040, 3706, 800167, 254),
    ("ml1m-shape", "nn", None, True, 6040, 3706, 800167, 357),
    ("short 50k x 14k", "bce", 64, True, 49995, 14000, 373215, 91),
    ("short 50k x 14k", "bfm", 10, True, 49995, 14000, 373215, 239),
    ("short 50k x 14k", "bias", None, True, 49995, 14000, 373215, 58),
    ("short 50k x 14k", "bpr", 64, True, 49995, 14000, 373215, 96),
    ("short 50k x 14k", "classifier", 64, True, 49995, 14000, 373215, 260),
    ("short 50k x 14k", "classifier", 200, True, 49995, 14000, 373215, 750),
    ("short 50k x 14k", "dot", 64, True, 49995, 14000, 373215, 154),
    ("short 50k x 14k", "dot", 64, False, 49995, 14000, 373215, 200),
    ("short 50k x 14k", "dot", 200, True, 49995, 14000, 373215, 421),
    ("short 50k x 14k", "nn", None, True, 49995, 14000, 373215, 824),
    ("short 183k x 60k", "bce", 64, True, 168670, 59982, 373328, 166),
    ("short 183k x 60k", "bfm", 10, True, 168670, 59982, 373328, 385),
    ("short 183k x 60k", "bias", None, True, 168670, 59982, 373328, 59),
    ("short 183k x 60k", "bpr", 64, True, 168670, 59982, 373328, 169),
    ("short 183k x 60k", "classifier", 64, True, 168670, 59982, 373328, 432),
    ("short 183k x 60k", "classifier", 200, True, 168670, 59982, 373328, 1118),
    ("short 183k x 60k", "dot", 64, True, 168670, 59982, 373328, 379),
    ("short 183k x 60k", "dot", 200, True, 168670, 59982, 373328, 1029),
    ("short 183k x 60k", "nn", None, True, 168670, 59982, 373328, 2487),
]


def _config(model: str, size: int | None):
    config = model_base(model)
    if size is not None:
        config = dataclasses.replace(config, n_factors=size)
    return config.without_unused()


@pytest.mark.parametrize(
    ("data", "model", "size", "compiled", "n_users", "n_items", "n_train", "peak_mib"),
    MEASURED,
    ids=[f"{m[0]}-{m[1]}-{m[2]}{'' if m[3] else '-no-kernels'}" for m in MEASURED],
)
def test_the_model_is_at_or_above_each_measured_peak(
    data: str,
    model: str,
    size: int | None,
    compiled: bool,
    n_users: int,
    n_items: int,
    n_train: int,
    peak_mib: int,
) -> None:
    modelled = (
        budget.training_peak_bytes(_config(model, size), n_users, n_items, n_train, compiled=compiled) / MIB
    )
    assert modelled >= peak_mib, f"{data} {model} {size}: models {modelled:.0f} MiB, measured {peak_mib}"
    # and not absurd: within 3x of every peak (the few over 1.7x are AutoRec's largest, refused either way)
    assert modelled <= 3 * peak_mib


def test_the_default_preset_fits_a_1_gb_server_on_the_demo_set_movielens_100k_and_the_largest_upload() -> (
    None
):
    """What a class does first: the default preset on the built-in demo set and MovieLens 100K fits one
    training's share of the default 1 GB budget with or without the compiled kernels, and so does the default
    on the largest upload's worst case (7 MB of short lines, 50k x 14k ids) with the kernels the app loads."""
    share = budget.Budget().training_bytes
    dot = _config("dot", None)
    for n_users, n_items, n_train in ((2_000, 400, 61_161), (943, 1_682, 80_000)):
        for compiled in (True, False):
            assert budget.training_peak_bytes(dot, n_users, n_items, n_train, compiled=compiled) <= share
    assert budget.training_peak_bytes(dot, 49_995, 14_000, 373_215, compiled=True) <= share
    assert budget.training_peak_bytes(dot, 168_670, 59_982, 373_328, compiled=True) > share  # refused
    # the Bayesian FM at the Train page's starting point fits MovieLens 100K too
    assert budget.training_peak_bytes(_config("bfm", None), 943, 1_682, 80_000) <= share


def test_the_kernels_choice_follows_the_apps_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    dot = _config("dot", None)
    sizes = (49_995, 14_000, 373_215)
    monkeypatch.setenv(budget.KERNELS_ENV, "1")
    assert budget.training_peak_bytes(dot, *sizes) == budget.training_peak_bytes(dot, *sizes, compiled=True)
    monkeypatch.setenv(budget.KERNELS_ENV, "auto")
    assert budget.training_peak_bytes(dot, *sizes) == budget.training_peak_bytes(dot, *sizes, compiled=False)
