"""The command line's commands: `train`, `evaluate` and `recommend`, each a function of the parsed arguments returning an exit code."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collab.analysis.model_check import labelled_metrics
from collab.cli.options import SPLIT_DEFAULTS, columns_from_args, config_from_args, words
from collab.cli.output import (
    EXIT_INTERRUPTED,
    BadInput,
    EpochBars,
    atomic_path,
    check_folder,
    print_table,
    stop_on_interrupt,
    write_json,
)
from collab.data.ratings import Ratings
from collab.models.implicit import IMPLICIT_MODELS

if TYPE_CHECKING:
    from collab.training.result import TrainResult


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
        columns = columns_from_args(args)
        sharded = world.world_size > 1 and Path(args.ratings).is_dir()
        if args.valid_file and args.valid_pct is not None:
            raise BadInput("give --valid FILE (a fixed test set) or --valid-pct (a share held out), not both")
        if args.valid_file and sharded:
            raise BadInput("--valid FILE needs RATINGS as one file, not a folder of parts read per process")
        valid_pct = SPLIT_DEFAULTS["valid_pct"].default if args.valid_pct is None else args.valid_pct
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
                check_folder(path)
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
    data = read_any(args.ratings, columns_from_args(args))
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
        train_on_model = check_model_data(result, read_any(args.train, columns_from_args(args))).on_model
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

    columns = {**columns_from_args(args), "implicit": "binary"}
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
        data = read_any(args.ratings, columns_from_args(args))
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
        data = read_any(args.ratings, columns_from_args(args))
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
