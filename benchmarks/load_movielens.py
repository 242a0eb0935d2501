"""How long loading a MovieLens folder takes, through `load_movielens_dir` (ratings + items).

python -m benchmarks.load_movielens [--data ../shared/data/ml-100k] [--repeat 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from collab.data.movielens import load_movielens_dir


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path("../shared/data/ml-100k"), help="an extracted MovieLens folder"
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="loads to time (the best and the median are shown)"
    )
    parser.add_argument("--json", type=Path, help="also write the result to this JSON file")
    args = parser.parse_args()

    seconds = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        ratings = load_movielens_dir(args.data)
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    with_titles = int((ratings.titles != "").sum()) if ratings.titles is not None else 0
    result = {
        "dataset": ratings.name,
        "folder": str(args.data),
        "n_ratings": ratings.n_ratings,
        "n_users": ratings.n_users,
        "n_items": ratings.n_items,
        "items_with_titles": with_titles,
        "best_s": seconds[0],
        "median_s": seconds[len(seconds) // 2],
        "fingerprint": ratings.fingerprint,
    }
    print(
        f"| {'dataset':<16} | {'ratings':>9} | {'users':>6} | {'items':>6} | {'titled':>6} | {'best s':>7} | {'median s':>8} |"
    )
    print(f"|{'-' * 18}|{'-' * 11}|{'-' * 8}|{'-' * 8}|{'-' * 8}|{'-' * 9}|{'-' * 10}|")
    print(
        f"| {result['dataset']:<16} | {result['n_ratings']:>9,} | {result['n_users']:>6,} | {result['n_items']:>6,} "
        f"| {with_titles:>6,} | {result['best_s']:>7.3f} | {result['median_s']:>8.3f} |"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
