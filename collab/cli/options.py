"""The command line's options: every `TrainConfig` field as a flag, the reading and column flags, and their parsing."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
from typing import TYPE_CHECKING, Any

from collab.cli.output import BadInput
from collab.data.errors import Arg, Message
from collab.data.ratings import Ratings
from collab.data.values import IMPLICIT_TRANSFORMS
from collab.training import config as config_defaults
from collab.training.config import DEVICES, MODEL_LABELS, ROW_STATES, SCHEDULES, SPARSE_MODES, TrainConfig

if TYPE_CHECKING:
    pass


# short flags for the fields a command line types most; every field also has its own --field-name
SHORT_FLAGS = {
    "n_factors": "--factors",
    "weight_decay": "--wd",
    "batch_size": "--bs",
    "accum_steps": "--accum",
}


FIELD_HELP = {
    "model": "what to train: " + ", ".join(f"{k} ({v})" for k, v in MODEL_LABELS.items()),
    "n_factors": "latent factors per user and item (autorec: hidden units)",
    "epochs": "passes over the training ratings (autorec: rounds of 10 L-BFGS iterations)",
    "batch_size": "ratings per micro-batch (a multiple of 8), on each process",
    "accum_steps": "micro-batches per optimizer step (gradient accumulation); effective batch = "
    "batch size x accum x processes",
    "lr": "peak learning rate",
    "weight_decay": "decoupled weight decay (autorec: L2 per rating)",
    "decay_biases": "decay the biases too",
    "l2": "dot model: L2 penalty per rating on the two factor rows",
    "y_range": "prediction range LOW HIGH (default: from the data, 0 to the highest rating + 0.5)",
    "schedule": "learning-rate schedule: " + ", ".join(SCHEDULES),
    "seed": "seed of the model's initialisation and the shuffles",
    "device": "where to train: " + ", ".join(DEVICES),
    "amp": "bf16 autocast (CUDA only)",
    "hidden": "EmbeddingNN hidden layer widths",
    "dropout": "EmbeddingNN dropout after each hidden layer",
    "sparse": "row-wise updates of big tables: " + ", ".join(SPARSE_MODES),
    "row_state": "optimizer state of row-wise tables: " + ", ".join(ROW_STATES),
    "negatives": "bpr/bce: sampled negatives per positive interaction",
    "lr_decay": "bpr/bce: learning rate multiplied by this after every epoch",
}


SPLIT_DEFAULTS = inspect.signature(Ratings.split).parameters  # valid_pct, seed, method: the app's defaults


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field; defaults from the dataclass, validation left to it."""
    group = parser.add_argument_group("training (TrainConfig fields)")
    for field in dataclasses.fields(TrainConfig):
        long = "--" + field.name.replace("_", "-")
        names = [SHORT_FLAGS[field.name], long] if field.name in SHORT_FLAGS else [long]
        default = field.default
        common: dict[str, Any] = {"dest": f"config_{field.name}", "help": FIELD_HELP.get(field.name, "")}
        if isinstance(default, bool):
            group.add_argument(*names, action=argparse.BooleanOptionalAction, default=default, **common)
        elif field.name == "y_range":
            group.add_argument(*names, nargs=2, type=float, metavar=("LOW", "HIGH"), default=None, **common)
        elif isinstance(default, tuple):
            group.add_argument(*names, nargs="+", type=int, metavar="N", default=list(default), **common)
        else:
            kind = type(config_defaults.MODEL_DEFAULTS.get(field.name, default))  # None: per model
            metavar = "N" if kind is int else "X" if kind is float else field.name.upper()
            common["help"] += f" (default {config_defaults.default_phrase(field.name)})"
            group.add_argument(*names, type=kind, metavar=metavar, default=default, **common)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig the options describe; its ValueError (bad value) becomes BadInput."""
    values = {}
    for field in dataclasses.fields(TrainConfig):
        value = getattr(args, f"config_{field.name}")
        values[field.name] = tuple(value) if isinstance(value, list) else value
    try:
        return TrainConfig(**values)
    except ValueError as error:
        flag = next((SHORT_FLAGS.get(f.name, "--" + f.name.replace("_", "-")) for f in dataclasses.fields(
            TrainConfig) if str(error).startswith(f.name + " ")), None)  # fmt: skip
        raise BadInput(f"{flag}: {error}" if flag else str(error)) from None


def add_columns(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user", dest="user_col", metavar="COL", help="user id column (name or 0-based position)"
    )
    parser.add_argument(
        "--item", dest="item_col", metavar="COL", help="item id column (name or 0-based position)"
    )
    parser.add_argument(
        "--rating", dest="rating_col", metavar="COL", help="rating column (name or 0-based position)"
    )
    _add_reading(parser)


def _add_reading(parser: argparse.ArgumentParser) -> None:
    """The reader's options (`read_ratings`'s arguments; the Data page's Reading options)."""
    parser.add_argument(
        "--layout",
        choices=("auto", "rows", "wide"),
        default="auto",
        help="rows (one rating per row) or wide (a user x item matrix, melted); default auto",
    )
    parser.add_argument(
        "--not-rated",
        dest="not_rated",
        type=float,
        nargs="+",
        metavar="X",
        help="values that mean 'not rated' (Anime -1, Jester 99): rows holding them are dropped and counted",
    )
    parser.add_argument(
        "--implicit",
        choices=IMPLICIT_TRANSFORMS,
        help="implicit feedback: counts as log(1 + count) or scaled to 1-5; binary: every row is an "
        "interaction (no rating column needed; for --model bpr or bce)",
    )
    parser.add_argument(
        "--sep",
        metavar="SEP",
        help="field separator: one character, '::', tab, comma, ... (default: detected)",
    )
    parser.add_argument(
        "--decimal", choices=(".", ","), help="decimal mark of the ratings (default: detected)"
    )
    parser.add_argument(
        "--day-first",
        dest="day_first",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="dates such as 05.06.2020 are day first (default: detected)",
    )


def share(text: str) -> float:
    """`--valid-pct`: a share from 0 (train on everything) to below 1 (argparse turns the error into exit code 2)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a number: {text!r} (a file to score is --valid FILE)"
        ) from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(
            f"give a share from 0 (train on everything) to below 1, such as 0.2; got {text}"
        )
    return value


def add_force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="use the model even on ratings most of whose users or items it does not know (another dataset)",
    )


def add_columns_for_recommend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user-col", dest="user_col", metavar="COL", help="user id column of --ratings")
    parser.add_argument("--item-col", dest="item_col", metavar="COL", help="item id column of --ratings")
    parser.add_argument("--rating-col", dest="rating_col", metavar="COL", help="rating column of --ratings")
    _add_reading(parser)


def columns_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Column choices: names, or 0-based positions written as digits."""

    def pick(value: str | None) -> str | int | None:
        return int(value) if value is not None and value.isdigit() else value

    reading = {name: getattr(args, name, None) for name in ("layout", "not_rated", "implicit", "decimal")}
    reading["sep"] = _sep(getattr(args, "sep", None))
    reading["day_first"] = getattr(args, "day_first", None)
    return {
        "user": pick(args.user_col),
        "item": pick(args.item_col),
        "rating": pick(args.rating_col),
        **{name: value for name, value in reading.items() if value is not None},
    }


SEPARATORS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}


def _sep(value: str | None) -> str | None:
    """`--sep`: one character, '::', or a name (tab, comma, semicolon, pipe, space)."""
    if value is None:
        return None
    sep = SEPARATORS.get(value.lower(), value)
    if len(sep) != 1 and sep != "::":
        raise BadInput(f"--sep: give one character, '::' or one of {', '.join(SEPARATORS)}; got {value!r}")
    return sep


# a library argument named in a message -> this command's option (see `collab.data.Message`)
FLAGS: dict[str, str] = {
    "user_col": "--user",
    "item_col": "--item",
    "rating_col": "--rating",
    "sep": "--sep",
    "decimal": "--decimal",
    "layout": "--layout",
    "not_rated": "--not-rated",
    "implicit": "--implicit",
    "valid_pct": "--valid-pct",
    "method": "--split",
}


def _flag(arg: Arg) -> str:
    """`Arg("not_rated", "[-1, 99]")` -> `--not-rated -1 99`; an argument with no option keeps its name."""
    if arg.name == "day_first" and arg.value in ("True", "False"):
        return "--day-first" if arg.value == "True" else "--no-day-first"
    flag = FLAGS.get(arg.name)
    if flag is None:
        return arg.library
    value = arg.value.strip("[]").replace(",", " ").split() if arg.name == "not_rated" else [arg.value]
    value = [v.strip("\"'") if v not in ("','", "'.'") else v for v in value]
    return " ".join([flag, *(v for v in value if v not in ("...", ""))])


def words(message: object) -> str:
    """A library message in this command's words: each argument it names becomes the option to use."""
    if isinstance(message, ValueError) and message.args and isinstance(message.args[0], Message):
        message = message.args[0]
    if isinstance(message, Message):
        return "".join(part if isinstance(part, str) else _flag(part) for part in message.parts)
    return str(message)
