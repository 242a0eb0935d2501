"""`collab`: train, evaluate and recommend from a terminal or a batch job, on one process or many.

    python -m collab train RATINGS [--valid TEST | --valid-pct 0.2] [--model dot] [--factors 64] [--out model.safetensors]
    python -m collab evaluate MODEL RATINGS [--train TRAIN]
    python -m collab recommend MODEL --user LABEL [-n 10]
    torchrun --standalone --nproc-per-node 2 -m collab train RATINGS ...

Every training option is a `TrainConfig` field: the options, their defaults and their validation
come from the dataclass (one source of truth). RATINGS is any file the app reads (CSV, TSV, '::',
sniffed the same way), a Parquet file, or a folder of Parquet/CSV part files. Bad input prints the
same message the app shows, on stderr, and exits with code 2; Ctrl-C stops after the current step
and writes nothing (files are written to a temporary name and renamed when complete).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import inspect
import json
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collab.analysis.model_check import labelled_metrics
from collab.data.errors import Arg, Message
from collab.data.ratings import SPLIT_METHODS, Ratings
from collab.data.values import IMPLICIT_TRANSFORMS
from collab.models.implicit import IMPLICIT_MODELS
from collab.training import config as config_defaults
from collab.training.config import DEVICES, MODEL_LABELS, ROW_STATES, SCHEDULES, SPARSE_MODES, TrainConfig

if TYPE_CHECKING:
    from collab.training.result import TrainResult

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

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
_SPLIT_DEFAULTS = inspect.signature(Ratings.split).parameters  # valid_pct, seed, method: the app's defaults


class BadInput(ValueError):
    """Input the command refuses (exit code 2)."""


# ---- the parser -------------------------------------------------------------------------------------


def _add_config_options(parser: argparse.ArgumentParser) -> None:
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


def _add_columns(parser: argparse.ArgumentParser) -> None:
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


def _share(text: str) -> float:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="collab",
        description="Collab Lab from the command line: train, evaluate and recommend (also under torchrun).",
        allow_abbrev=False,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train a model on a ratings file or a folder of part files",
        description="Train a model. Under torchrun, trains one model data-parallel on all the processes.",
        allow_abbrev=False,
    )
    train.add_argument(
        "ratings", metavar="RATINGS", help="CSV/TSV/'::' file, Parquet file, or a folder of parts"
    )
    train.add_argument("--items", metavar="FILE", help="item titles (movies.csv, u.item, or id,title)")
    _add_columns(train)
    train.add_argument(
        "--valid",
        "--test",
        dest="valid_file",
        metavar="FILE",
        help="a fixed validation/test file (e.g. u1.test beside u1.base), matched to RATINGS by user and item "
        "label; its ratings of users or items absent from RATINGS are left out and counted",
    )
    train.add_argument(
        "--valid-pct",
        type=_share,
        default=None,
        metavar="X",
        help=f"share of RATINGS held out for validation (default {_SPLIT_DEFAULTS['valid_pct'].default}; "
        "0: train on everything, nothing scored)",
    )
    train.add_argument(
        "--split",
        default=_SPLIT_DEFAULTS["method"].default,
        metavar="METHOD",
        help=f"how to hold them out: {', '.join(SPLIT_METHODS)} (default %(default)s; leave_one_out: each "
        "user's latest rating, leave_last_n: each user's --n-last latest)",
    )
    train.add_argument("--n-last", type=int, default=1, metavar="N", help="ratings per user for leave_last_n")
    train.add_argument(
        "--write-split",
        metavar="DIR",
        help="write the pairs trained on and scored to DIR/train.csv and DIR/valid.csv (user, item, rating"
        "[, timestamp]), so another tool can score the same split",
    )
    train.add_argument(
        "--split-seed",
        type=int,
        default=_SPLIT_DEFAULTS["seed"].default,
        metavar="N",
        help="seed of the split",
    )
    _add_config_options(train)
    train.add_argument(
        "--out", metavar="PATH", help="save the model here (safetensors; the app and collab.load read it)"
    )
    train.add_argument("--metrics-json", metavar="PATH", help="write metrics, history and config as JSON")
    train.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")
    train.add_argument(
        "--backend",
        default="auto",
        metavar="NAME",
        help="torch.distributed backend: auto (NCCL on CUDA, else gloo), gloo, nccl",
    )
    train.add_argument(
        "--comm",
        default="auto",
        metavar="MODE",
        help="row-wise tables on several processes: rows (all-gather only the touched rows; auto) or dense "
        "(all-reduce the whole table)",
    )
    train.set_defaults(run=run_train)

    evaluate = commands.add_parser(
        "evaluate", help="score a saved model on ratings (RMSE, MAE, ranking)", allow_abbrev=False
    )
    evaluate.add_argument("model", metavar="MODEL", help="a model file saved by collab train or the app")
    evaluate.add_argument(
        "ratings", metavar="RATINGS", help="CSV/TSV/'::' file, Parquet file, or a folder of parts"
    )
    _add_columns(evaluate)
    evaluate.add_argument(
        "--train",
        metavar="FILE",
        help="the model's training ratings: adds the whole-catalogue ranking metrics (its rated items left "
        "out of each list) beside popularity's, and the training mean as the RMSE baseline; bpr/bce models: "
        "the training interactions, left out of each user's ranking of the catalogue",
    )
    _add_force(evaluate)
    evaluate.add_argument("--metrics-json", metavar="PATH", help="write the metrics as JSON")
    evaluate.set_defaults(run=run_evaluate)

    recommend = commands.add_parser(
        "recommend", help="top-N items for one user (or every user) of a saved model", allow_abbrev=False
    )
    recommend.add_argument("model", metavar="MODEL", help="a model file saved by collab train or the app")
    who = recommend.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", metavar="LABEL", help="the user's id as in the ratings")
    who.add_argument("--all", action="store_true", help="every user the model knows (collab.top_n)")
    recommend.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="table (one user), csv or json rows user, rank, item, title, score (default %(default)s)",
    )
    recommend.add_argument("-n", type=int, default=10, metavar="N", help="how many items (default 10)")
    recommend.add_argument("--ratings", metavar="RATINGS", help="leave out the items the user rated here")
    recommend.add_argument(
        "--items",
        metavar="FILE",
        help="item titles to print beside the ids (movies.csv, u.item, or id,title)",
    )
    _add_columns_for_recommend(recommend)
    _add_force(recommend)
    recommend.set_defaults(run=run_recommend)
    for command in (evaluate, recommend):
        command.add_argument(
            "--quiet", action="store_true", help="no notes or warnings on stderr, only errors"
        )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("collab-lab")
    except PackageNotFoundError:  # run from a checkout, not installed
        return "0.1.0 (checkout)"


def _add_force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="use the model even on ratings most of whose users or items it does not know (another dataset)",
    )


def _add_columns_for_recommend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user-col", dest="user_col", metavar="COL", help="user id column of --ratings")
    parser.add_argument("--item-col", dest="item_col", metavar="COL", help="item id column of --ratings")
    parser.add_argument("--rating-col", dest="rating_col", metavar="COL", help="rating column of --ratings")
    _add_reading(parser)


def _columns(args: argparse.Namespace) -> dict[str, Any]:
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


# ---- output ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside `path`, renamed onto it only when the block completes; an error or
    Ctrl-C inside the block leaves `path` as it was (never half-written)."""
    target = _check_folder(path)
    temporary = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _check_folder(path: str | os.PathLike) -> Path:
    target = Path(path)
    if not target.parent.is_dir():
        raise BadInput(f"cannot write {str(target)!r}: the folder {str(target.parent)!r} does not exist")
    if target.is_dir():
        raise BadInput(f"cannot write {str(target)!r}: it is a folder")
    return target


def _plain(value: Any) -> Any:
    """JSON-ready: NaN as null, numpy scalars as numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str, payload: dict[str, Any]) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(_plain(payload), indent=2) + "\n")


def print_table(rows: Sequence[tuple[str, Any]], file: Any = None) -> None:
    """Two aligned columns, numbers to 4 decimals."""
    file = file or sys.stdout
    cells = [(name, f"{v:.4f}" if isinstance(v, float) else str(v)) for name, v in rows]
    width = max(len(name) for name, _ in cells)
    for name, value in cells:
        print(f"{name:<{width}}  {value}", file=file)


class EpochBars:
    """A tqdm bar per epoch on stderr (only on a terminal, never with --quiet), and one line per
    epoch (unless quiet); only the main process shows anything."""

    def __init__(self, show_bar: bool, show_lines: bool, epochs: int) -> None:
        self.show_bar, self.show_lines, self.epochs = show_bar, show_lines, epochs
        self.bar: Any = None
        self.done = 0  # steps of the finished epochs

    def on_batch(self, step: int, total: int) -> None:
        if not self.show_bar:
            return
        from tqdm import tqdm

        per_epoch = max(1, total // self.epochs)
        if self.bar is None:
            epoch = self.done // per_epoch + 1
            self.bar = tqdm(
                total=per_epoch,
                desc=f"epoch {epoch}/{self.epochs}",
                unit="step",
                file=sys.stderr,
                leave=False,
            )
        self.bar.update(max(0, min(step - self.done, per_epoch) - self.bar.n))

    def on_epoch(self, stats: Any) -> None:
        if self.bar is not None:
            self.done += self.bar.total
            self.bar.close()
            self.bar = None
        if self.show_lines:
            print(
                f"epoch {stats.epoch}/{stats.epochs}  train loss {stats.train_loss:.4f}  "
                f"valid loss {stats.valid_loss:.4f}  valid RMSE {stats.valid_rmse:.4f}  {stats.seconds:.1f} s",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextlib.contextmanager
def stop_on_interrupt(stop: threading.Event, say: Callable[[str], None]) -> Iterator[None]:
    """Ctrl-C sets `stop` (training ends after the current step); a second Ctrl-C aborts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        say("interrupted: stopping after the current step (Ctrl-C again to abort)")

    def terminate(signum: int, frame: Any) -> None:  # torchrun ending the workers: clean up, then go
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    previous_term = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)


# ---- commands ---------------------------------------------------------------------------------------


def run_train(args: argparse.Namespace) -> int:
    from collab.data.items import read_items
    from collab.training import distributed

    config = config_from_args(args)
    world = distributed.init(args.backend, config.device)
    main_process = world.is_main

    def say(message: str) -> None:
        if main_process:
            print(f"collab: {message}", file=sys.stderr, flush=True)

    stop = threading.Event()
    guard = contextlib.ExitStack()
    try:
        guard.enter_context(stop_on_interrupt(stop, say))  # until the files are written
        columns = _columns(args)
        sharded = world.world_size > 1 and Path(args.ratings).is_dir()
        if args.valid_file and args.valid_pct is not None:
            raise BadInput("give --valid FILE (a fixed test set) or --valid-pct (a share held out), not both")
        if args.valid_file and sharded:
            raise BadInput("--valid FILE needs RATINGS as one file, not a folder of parts read per process")
        valid_pct = _SPLIT_DEFAULTS["valid_pct"].default if args.valid_pct is None else args.valid_pct
        parts = None
        if sharded:
            shard = distributed.read_shard(world, args.ratings, columns)
            data, parts = shard.ratings, shard.all_parts
        else:
            data = distributed.read_any(args.ratings, columns)
        if args.items:
            data = data.with_items(read_items(args.items))
        for note in (*data.notes, *getattr(data, "warnings", ())):
            say(words(note))
        split_notes: tuple[str, ...] = ()
        if args.valid_file:  # the fixed protocol: u1.base --valid u1.test
            from collab.training.loop import on_train_vocabulary

            held = distributed.read_any(args.valid_file, columns)
            for note in (*held.notes, *held.warnings):
                say(f"{args.valid_file}: {words(note)}")
            valid_set, split_notes = on_train_vocabulary(data, held)
            train_set: Ratings = data
        elif valid_pct == 0:  # train on everything
            train_set, valid_set = data, None
        else:
            if sharded:
                split = distributed.split_shard(world, data, valid_pct, args.split_seed, args.split)
            else:
                split = data.split(valid_pct, args.split_seed, args.split, n_last=args.n_last)
            train_set, valid_set, split_notes = split.train, split.valid, split.notes
        for note in split_notes:
            say(words(note))
        if args.write_split:
            if sharded:
                raise BadInput(
                    "--write-split needs RATINGS as one file, not a folder of parts read per process"
                )
            if main_process:
                say(f"wrote the split to {', '.join(write_split(args.write_split, train_set, valid_set))}")
        for path in (args.out, args.metrics_json):  # refuse a bad output path before training, not after
            if path:
                _check_folder(path)
        bars = EpochBars(
            main_process and not args.quiet and sys.stdout.isatty() and sys.stderr.isatty(),
            main_process and not args.quiet,
            config.epochs,
        )
        try:
            result = distributed.train_parallel(
                world,
                train_set,
                valid_set,
                config,
                sharded=sharded,
                comm=args.comm,
                on_epoch=bars.on_epoch,
                on_batch=bars.on_batch,
                stop_event=stop,
            )
        finally:
            bars.close()
        for note in result.notes:
            say(note)
        if stop.is_set():
            say(f"stopped after {len(result.history)} of {config.epochs} epochs; nothing written")
            return EXIT_INTERRUPTED
        if not sharded:
            result = dataclasses.replace(result, dataset=data.fingerprint)  # the app checks it on upload
        n_valid = _count(valid_set, world, sharded) if valid_set is not None else 0
        counts = (_count(train_set, world, sharded), n_valid)
        if not main_process:
            return 0
        scores = dict(result.metrics)
        if valid_set is not None and valid_set.n_ratings and not sharded:
            from collab.training.scoring import ranking_metrics

            scores.update(ranking_metrics(result, train_set, valid_set))
        rows = labelled_metrics(scores, counts[1])
        rows += [
            ("train ratings", f"{counts[0]:,}"),
            ("valid ratings", f"{counts[1]:,}" if valid_set is not None else "none (--valid-pct 0)"),
            ("processes", f"{world.world_size}" + (f" ({world.backend})" if world.backend else "")),
            ("optimizer", result.optimizer),
            ("seconds", f"{result.seconds:.1f}"),
        ]
        print_table(rows)
        warnings = [line for line in (mean_baseline_warning(result.metrics),) if line]
        for line in warnings:
            say(line)
        if args.out:
            with atomic_path(args.out) as temporary:
                result.save(temporary)
            say(f"saved the model to {args.out}")
        if args.metrics_json:
            write_json(
                args.metrics_json,
                {
                    "metrics": scores,
                    "n_train": counts[0],
                    "n_valid": counts[1],
                    "warnings": warnings,
                    "history": [dataclasses.asdict(h) for h in result.history],
                    "config": config.to_dict(),
                    "optimizer": result.optimizer,
                    "seconds": result.seconds,
                    "processes": world.world_size,
                    "backend": world.backend,
                    "parts": parts,
                    "ratings": args.ratings,
                },
            )
        return 0
    finally:
        guard.close()
        distributed.shutdown()


def write_split(folder: str, train_set: Ratings, valid_set: Ratings | None) -> list[str]:
    """`train.csv` (and `valid.csv`, the pairs scored, when there is a validation set) in `folder`, by
    label: user, item, rating[, timestamp]; returns the paths written."""
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise BadInput(f"--write-split {folder}: that is a file; give a folder")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, part in (("train", train_set), ("valid", valid_set)):
        if part is not None:
            path = out / f"{name}.csv"
            part.frame().drop(columns=["title"], errors="ignore").to_csv(path, index=False)
            written.append(str(path))
    return written


def mean_baseline_warning(metrics: dict[str, float]) -> str | None:
    """The Train page's warning in the terminal's words: a line when the validation RMSE is not below
    predict-the-mean's (`global_mean_rmse`, every validation rating guessed as the training mean); None
    when it is, or when either is missing or nan."""
    rmse, baseline = metrics.get("rmse", math.nan), metrics.get("global_mean_rmse", math.nan)
    if not (math.isfinite(rmse) and math.isfinite(baseline)) or rmse < baseline:
        return None
    return (
        f"warning: valid RMSE {rmse:.4f} is {rmse - baseline:.4f} worse than predicting the mean "
        f"({baseline:.4f}, every validation rating guessed as the training mean): the model has learnt nothing "
        "useful. Check the data (not-rated codes: --not-rated; counts: --implicit), then try more --epochs, "
        "fewer --factors or more --wd."
    )


def _count(ratings: Ratings, world: Any, sharded: bool) -> int:
    """Ratings over all processes (each holds its own share when sharded)."""
    from collab.training.distributed import total

    return total(world, ratings.n_ratings) if sharded else ratings.n_ratings


def run_evaluate(args: argparse.Namespace) -> int:
    from collab.analysis.model_check import check_model_data, score
    from collab.training.distributed import read_any
    from collab.training.result import load

    result = load(args.model)
    if result.config.model in IMPLICIT_MODELS:
        return _evaluate_ranking(args, result)
    data = read_any(args.ratings, _columns(args))
    for note in (*data.notes, *data.warnings):  # a not-rated code scored as a rating, a dropped column, ...
        print(f"collab: {words(note)}", file=sys.stderr, flush=True)
    check = _checked(result, data, args)
    known = check.on_model
    if not known.n_ratings:
        raise BadInput(
            f"none of the {data.n_ratings:,} ratings in {args.ratings} has a user and an item the model knows; "
            "was it trained on this dataset?"
        )
    train_on_model = None
    if args.train:
        train_on_model = check_model_data(result, read_any(args.train, _columns(args))).on_model
    truth = known.ratings
    low, high = (float(v) for v in result.y_range)
    if truth.min() < low or truth.max() > high:
        outside = int(((truth < low) | (truth > high)).sum())
        print(
            f"collab: {outside:,} of these ratings lie outside {low:g} to {high:g}, the range the model predicts "
            f"in (these run from {truth.min():g} to {truth.max():g}): was it trained on ratings of this scale?",
            file=sys.stderr,
            flush=True,
        )
    scores = score(result, known, train_on_model)
    rows = labelled_metrics(scores, known.n_ratings)
    rows += [
        ("scored ratings", f"{known.n_ratings:,}"),
        ("unknown user or item", f"{check.n_unknown:,}"),
    ]
    print_table(rows)
    if train_on_model is None:
        print(
            "collab: ranking over the whole catalogue (and its popularity baseline) needs the training "
            "ratings: add --train FILE; the rmse baseline predicts these ratings' own mean",
            file=sys.stderr,
            flush=True,
        )
    worse = mean_baseline_warning(scores)
    if worse:
        print(f"collab: {worse}", file=sys.stderr, flush=True)
    warnings = [*check.warnings, *([worse] if worse else [])]
    if args.metrics_json:
        write_json(
            args.metrics_json,
            {
                "metrics": scores,
                "scored": known.n_ratings,
                "unknown": check.n_unknown,
                "warnings": warnings,
                "trained_on_this_file": check.trained_on_it,
                "model": args.model,
            },
        )
    return 0


def _checked(result: Any, data: Ratings, args: argparse.Namespace) -> Any:
    """`check_model_data`: another dataset is refused (BadInput) unless --force; warnings on stderr."""
    from collab.analysis.model_check import check_model_data

    check = check_model_data(result, data)
    if check.refusal and not args.force:
        raise BadInput(
            f"{args.model} does not fit {data.name}: {check.refusal}. Pass --force to use it anyway."
        )
    for line in (*check.warnings, *([f"warning: {check.refusal} (--force)"] if check.refusal else [])):
        print(f"collab: {line}", file=sys.stderr, flush=True)
    return check


def _evaluate_ranking(args: argparse.Namespace, result: TrainResult) -> int:
    """An implicit model: rank the whole catalogue for each user of RATINGS (held-out interactions),
    leaving out the user's training interactions (--train), beside popularity on the same protocol."""
    import numpy as np

    from collab.training.distributed import read_any
    from collab.training.implicit import ranking_metrics

    columns = {**_columns(args), "implicit": "binary"}
    held_out, unknown = _on_vocabulary(read_any(args.ratings, columns), result, args.ratings)
    if args.train is None:
        print(
            "collab: no --train file, so no training interaction is left out of the rankings and popularity has "
            "nothing to count; give the training interactions with --train FILE for the usual protocol",
            file=sys.stderr,
            flush=True,
        )
        seen = held_out.subset(np.zeros(held_out.n_ratings, dtype=bool))
    else:
        seen, _ = _on_vocabulary(read_any(args.train, columns), result, args.train)
    scores = ranking_metrics(result.model, seen, held_out)
    print_table([*scores.items(), ("unknown user or item", f"{unknown:,}")])
    if args.metrics_json:
        write_json(args.metrics_json, {"metrics": scores, "model": args.model})
    return 0


def _on_vocabulary(data: Ratings, result: TrainResult, path: str) -> tuple[Ratings, int]:
    """`data` on the model's users and items by label, and how many rows the model does not know (dropped)."""
    from collab.training.scoring import on_model_vocabulary

    mapped, unknown = on_model_vocabulary(result, data)
    if not mapped.n_ratings:
        raise BadInput(
            f"none of the {data.n_ratings:,} rows in {path} has a user and an item the model knows"
        )
    return mapped, unknown


def run_recommend(args: argparse.Namespace) -> int:
    import numpy as np

    from collab.analysis.recommend import predict_all, top_n_unseen
    from collab.training.distributed import read_any
    from collab.training.result import load

    if args.n < 1:
        raise BadInput(f"-n must be at least 1, got {args.n}")
    result = load(args.model)
    if args.all or args.format != "table":
        return _recommend_rows(args, result)
    user = int(result._index("user", [args.user])[0])  # UnknownLabelError names the count of users
    scores = predict_all(result, np.array([user]), len(result.item_labels))[0]
    seen = np.zeros(0, dtype=np.int64)
    if args.ratings:
        data = read_any(args.ratings, _columns(args))
        _checked(result, data, args)
        rated = data.item_labels[data.item_ids[data.user_labels[data.user_ids] == args.user]]
        lookup = {str(label): i for i, label in enumerate(result.item_labels)}
        seen = np.array([lookup[str(label)] for label in rated if str(label) in lookup], dtype=np.int64)
    best = top_n_unseen(scores, seen, args.n)
    titles: dict[str, str] = {}
    if args.items:
        from collab.data.items import read_items

        labels = [str(label) for label in result.item_labels]
        titles = read_items(args.items, item_labels=labels)["title"].astype(str).to_dict()
    width = max([len("item")] + [len(str(result.item_labels[i])) for i in best])
    print(f"{'rank':>4}  {'item':<{width}}  predicted" + ("  title" if titles else ""))
    for rank, item in enumerate(best, start=1):
        label = str(result.item_labels[item])
        title = f"  {titles.get(label, '')}" if titles else ""
        print(f"{rank:>4}  {label:<{width}}  {scores[item]:>9.3f}{title}".rstrip())
    return 0


def _recommend_rows(args: argparse.Namespace, result: TrainResult) -> int:
    """`collab.top_n` for --user or --all, as CSV or JSON rows on stdout (user, rank, item, title, score)."""
    from collab.analysis.recommend import top_n
    from collab.training.distributed import read_any

    data = None
    if args.ratings:
        data = read_any(args.ratings, _columns(args))
        _checked(result, data, args)
    if args.items:
        from collab.data.items import read_items

        data = (data if data is not None else _items_only(result)).with_items(read_items(args.items))
    rows = top_n(
        result, None if args.all else args.user, args.n, ratings=data, exclude_rated=data is not None
    )
    if args.format == "json":
        sys.stdout.write(rows.to_json(orient="records", lines=True))
    else:
        rows.to_csv(sys.stdout, index=False, lineterminator="\n")
    sys.stdout.flush()
    return 0


def _items_only(result: TrainResult) -> Ratings:
    """A Ratings with the model's vocabulary and no ratings: somewhere to hang --items' titles."""
    import numpy as np

    empty = np.zeros(0, dtype=np.int64)
    return Ratings(empty, empty, np.zeros(0), np.asarray(result.user_labels), np.asarray(result.item_labels))


# ---- entry point -------------------------------------------------------------------------------------


def _error_line(line: str) -> None:
    """One write per line: under torchrun every process may report the same error at once, and print's
    separate write of the newline let two processes' lines run together."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code: 0 done, 2 bad input (message on stderr), 130 interrupted.
    Under torchrun, a process whose peers all confirmed the work ends here without gloo's teardown
    (`collab.training.distributed.finish`)."""
    code = _main(argv)
    distributed = sys.modules.get("collab.training.distributed")
    return distributed.finish(code) if distributed is not None else code


def _main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    stderr = sys.stderr
    if getattr(args, "quiet", False) and args.command != "train":  # train's --quiet drops its epoch lines
        sys.stderr = _ErrorsOnly(stderr)
    try:
        return int(args.run(args))
    except BrokenPipeError:  # `collab ... | head`: the reader has what it wanted; no traceback, no message
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, OSError) as error:  # DataError, ModelFileError, UnknownLabelError, TrainConfig's
        message = words(error)
        if isinstance(error, FileNotFoundError) and error.filename is not None:
            message = f"no such file: {error.filename}"
        _error_line(f"collab {args.command}: error: {message}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"collab {args.command}: interrupted; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except RuntimeError as error:  # several processes: a peer that died, or a collective that failed
        from collab.training.distributed import launched

        if not launched():
            raise
        rank = os.environ.get("RANK", "?")
        _error_line(f"collab {args.command}: error on process {rank}: {error}")
        return 1
    finally:
        sys.stderr = stderr


class _ErrorsOnly:
    """stderr under --quiet: error lines ("collab COMMAND: error: ...") pass, notes and warnings do not."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        if ": error" in text or "error:" in text:
            return self.stream.write(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()
