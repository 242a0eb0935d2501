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
import os
import sys
from collections.abc import Sequence

from collab.cli.commands import mean_baseline_warning, run_evaluate, run_recommend, run_train, write_split
from collab.cli.options import (
    SPLIT_DEFAULTS,
    add_columns,
    add_columns_for_recommend,
    add_config_options,
    add_force,
    config_from_args,
    share,
    words,
)
from collab.cli.output import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    BadInput,
    EpochBars,
    ErrorsOnly,
    error_line,
    print_table,
    write_json,
)
from collab.data.ratings import SPLIT_METHODS

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERRUPTED",
    "BadInput",
    "EpochBars",
    "build_parser",
    "config_from_args",
    "main",
    "mean_baseline_warning",
    "print_table",
    "run_evaluate",
    "run_recommend",
    "run_train",
    "words",
    "write_json",
    "write_split",
]


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
    add_columns(train)
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
        type=share,
        default=None,
        metavar="X",
        help=f"share of RATINGS held out for validation (default {SPLIT_DEFAULTS['valid_pct'].default}; "
        "0: train on everything, nothing scored)",
    )
    train.add_argument(
        "--split",
        default=SPLIT_DEFAULTS["method"].default,
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
        default=SPLIT_DEFAULTS["seed"].default,
        metavar="N",
        help="seed of the split",
    )
    add_config_options(train)
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
    add_columns(evaluate)
    evaluate.add_argument(
        "--train",
        metavar="FILE",
        help="the model's training ratings: adds the whole-catalogue ranking metrics (its rated items left "
        "out of each list) beside popularity's, and the training mean as the RMSE baseline; bpr/bce models: "
        "the training interactions, left out of each user's ranking of the catalogue",
    )
    add_force(evaluate)
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
    add_columns_for_recommend(recommend)
    add_force(recommend)
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
        sys.stderr = ErrorsOnly(stderr)
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
        error_line(f"collab {args.command}: error: {message}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"collab {args.command}: interrupted; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except RuntimeError as error:  # several processes: a peer that died, or a collective that failed
        from collab.training.distributed import launched

        if not launched():
            raise
        rank = os.environ.get("RANK", "?")
        error_line(f"collab {args.command}: error on process {rank}: {error}")
        return 1
    finally:
        sys.stderr = stderr
