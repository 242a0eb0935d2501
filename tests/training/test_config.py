"""TrainConfig: defaults, validation messages, hashing, round trip."""

from __future__ import annotations

import pytest

from collab.training.config import MODEL_LABELS, TrainConfig


def test_defaults_are_valid_and_hashable() -> None:
    config = TrainConfig()
    assert config.batch_size % 8 == 0
    assert hash(config) == hash(TrainConfig())
    assert {config: 1}[TrainConfig()] == 1
    assert config != TrainConfig(seed=config.seed + 1)


def test_effective_batch_and_describe() -> None:
    config = TrainConfig(batch_size=64, accum_steps=4)
    assert config.effective_batch == 256
    assert "64 x 4 accum = 256" in config.describe()
    assert MODEL_LABELS["dot"] in config.describe()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"batch_size": 100}, "multiple of 8.*try 96 or 104"),
        ({"batch_size": 5}, "multiple of 8.*try 8"),
        ({"batch_size": 63}, "hardware.*try 56 or 64"),
        ({"batch_size": 0}, "batch_size must be an integer"),
        ({"model": "svd"}, "model must be one of"),
        ({"n_factors": 0}, "n_factors must be an integer"),
        ({"epochs": 2.5}, "epochs must be an integer"),
        ({"accum_steps": 0}, "accum_steps must be an integer"),
        ({"lr": 0}, r"lr must be a number in \(0, 10\]"),
        ({"weight_decay": -0.1}, "weight_decay must be a number"),
        ({"y_range": (5, 1)}, "low < high"),
        ({"schedule": "linear"}, "schedule must be one of"),
        ({"device": "tpu"}, "device must be one of"),
        ({"sparse": "maybe"}, "sparse must be one of"),
        ({"row_state": "sgd"}, "row_state must be one of"),
        ({"l2": -1}, r"l2 must be a number in \[0, 100\]"),
        ({"hidden": ()}, "hidden must be one or more"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ],
    ids=lambda value: str(value) if isinstance(value, dict) else "",
)
def test_invalid_values_say_why(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**fields)


def test_dict_round_trip_revalidates() -> None:
    config = TrainConfig(model="nn", hidden=[64, 32], y_range=[0, 5.5])  # lists normalised to tuples
    assert config.hidden == (64, 32) and config.y_range == (0.0, 5.5)
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown TrainConfig fields"):
        TrainConfig.from_dict({"n_factors": 8, "exec": "print(1)"})


def test_auto_epochs_keeps_five_for_movielens_sizes_and_grows_for_small_sets() -> None:
    from collab.training.config import auto_epochs

    assert TrainConfig().epochs == 5  # the default itself is unchanged
    assert auto_epochs(80_000) == 5 and auto_epochs(20_000_000) == 5  # MovieLens 100K's u1 and up
    assert auto_epochs(2_400) == 30 and auto_epochs(800) == 30  # 5 or 2 steps per epoch: far from converged
    assert 5 < auto_epochs(8_000) < 30
    assert auto_epochs(2_400, effective_batch=64) == 5  # 38 steps per epoch at batch 64


def test_knobs_a_model_ignores_do_not_make_a_different_config() -> None:
    """A tester's neural nets with 11 and 13 factors trained twice, identically: the net sizes its own
    embeddings. Knobs a model does not read are set to their defaults, so the cache sees one config."""
    assert (
        TrainConfig(model="nn", n_factors=11).without_unused()
        == TrainConfig(model="nn", n_factors=13).without_unused()
    )
    assert (
        TrainConfig(model="bias", n_factors=3, hidden=(8,)).without_unused()
        == TrainConfig(model="bias").without_unused()
    )
    assert TrainConfig(model="dot", hidden=(8,), dropout=0.5).without_unused() == TrainConfig(model="dot")
    # what the model reads stays
    assert TrainConfig(model="dot", n_factors=11).without_unused() != TrainConfig(model="dot", n_factors=13)
    assert TrainConfig(model="nn", hidden=(8,)).without_unused().hidden == (8,)
    assert TrainConfig(model="autorec", n_factors=300).without_unused().n_factors == 300


def test_a_value_given_is_kept_even_when_it_equals_another_models_default() -> None:
    """TrainConfig(model="bpr", epochs=5) trained 120 epochs: 5 was the dot model's default, and the
    implicit model replaced every knob still equal to it. The model-dependent knobs now default to
    None and take the model's default only when left out."""
    from collab.training.config import IMPLICIT_DEFAULTS, MODEL_DEFAULTS

    for model, defaults in IMPLICIT_DEFAULTS.items():
        assert TrainConfig(model=model).epochs == defaults["epochs"] != MODEL_DEFAULTS["epochs"]
        given = TrainConfig(model=model, **MODEL_DEFAULTS)  # every knob at the dot model's default
        assert {name: getattr(given, name) for name in MODEL_DEFAULTS} == MODEL_DEFAULTS
        assert TrainConfig.from_dict(given.to_dict()) == given
        assert TrainConfig(model=model) == TrainConfig(model=model, **defaults)  # one cache key
    assert {name: getattr(TrainConfig(), name) for name in MODEL_DEFAULTS} == MODEL_DEFAULTS
    assert TrainConfig(model="bpr", epochs=5).epochs == 5 and TrainConfig(model="bce", lr=0.01).lr == 0.01


def test_cli_options_keep_the_models_defaults_and_the_users_values() -> None:
    from collab.cli import build_parser, config_from_args

    parser = build_parser()
    bpr = config_from_args(parser.parse_args(["train", "x.csv", "--model", "bpr"]))
    assert bpr == TrainConfig(model="bpr")
    five = config_from_args(parser.parse_args(["train", "x.csv", "--model", "bpr", "--epochs", "5"]))
    assert five.epochs == 5 and five.lr == TrainConfig(model="bpr").lr
    assert config_from_args(parser.parse_args(["train", "x.csv"])) == TrainConfig()
