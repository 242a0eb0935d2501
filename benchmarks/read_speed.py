"""How fast `read_ratings` parses big ratings files, beside bare `pandas.read_csv` on the same file.

    python -m benchmarks.read_speed --rows 25000000 [--formats csv,tsv,dat] [--json PATH]

Writes a synthetic file per format into a temporary folder (removed afterwards), then times
`read_ratings` (parse + validation + vocabulary + fingerprint) and the bare parse alone.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from collab.data.read import read_ratings

FORMATS = {  # name -> (separator, header, file name)
    "csv": (",", True, "ratings.csv"),
    "tsv": ("\t", False, "u.data"),
    "dat": ("::", False, "ratings.dat"),
}
CHUNK_ROWS = 1_000_000


def write_synthetic(
    path: Path, n_rows: int, sep: str, header: bool, seed: int = 0, timestamp: bool = True
) -> None:
    """A MovieLens-like file: 200k users, 50k items, half-star ratings[, Unix timestamps]."""
    rng = np.random.default_rng(seed)
    names = ["userId", "movieId", "rating"] + (["timestamp"] if timestamp else [])
    with open(path, "w", encoding="utf-8") as out:
        if header:
            out.write(sep.join(names) + "\n")
        for start in range(0, n_rows, CHUNK_ROWS):
            n = min(CHUNK_ROWS, n_rows - start)
            columns = {
                "user": rng.integers(1, 200_001, n),
                "item": rng.integers(1, 50_001, n),
                "rating": rng.integers(1, 11, n) / 2,
            }
            if timestamp:
                columns["timestamp"] = rng.integers(789_652_009, 1_700_000_000, n)
            text = pd.DataFrame(columns).to_csv(sep="\x1f", header=False, index=False, lineterminator="\n")
            out.write(text.replace("\x1f", sep))


def bare_parse(path: Path, sep: str, header: bool) -> float:
    """Seconds for pandas' C parser alone (for '::', on the same bytes with '::' made one byte)."""
    start = time.perf_counter()
    if sep == "::":
        import io

        pd.read_csv(
            io.BytesIO(path.read_bytes().replace(b"::", b"\x1f")), sep="\x1f", header=None, engine="c"
        )
    else:
        pd.read_csv(path, sep=sep, header=0 if header else None, engine="c")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows per synthetic file (default 1,000,000)"
    )
    parser.add_argument(
        "--formats", default="csv", help=f"comma-separated, from {', '.join(FORMATS)} (default csv)"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args()

    results = []
    with tempfile.TemporaryDirectory(prefix="collab-read-speed-") as folder:
        for name in args.formats.split(","):
            sep, header, file_name = FORMATS[name]
            path = Path(folder) / file_name
            start = time.perf_counter()
            write_synthetic(path, args.rows, sep, header)
            write_s = time.perf_counter() - start
            start = time.perf_counter()
            ratings = read_ratings(path, sep=sep, has_header=header, max_rows=max(args.rows, 30_000_000))
            read_s = time.perf_counter() - start
            parse_s = bare_parse(path, sep, header)
            results.append(
                {
                    "format": name,
                    "rows": args.rows,
                    "ratings_kept": ratings.n_ratings,
                    "file_mb": path.stat().st_size / 2**20,
                    "write_s": write_s,
                    "read_ratings_s": read_s,
                    "rows_per_s": args.rows / read_s,
                    "bare_read_csv_s": parse_s,
                    "overhead_x": read_s / parse_s,
                }
            )
            del ratings
            path.unlink()

    print(
        f"{'format':<7}{'rows':>12}{'MB':>9}{'read_ratings s':>16}{'rows/s':>14}{'bare read_csv s':>17}{'ratio':>7}"
    )
    for r in results:
        print(
            f"{r['format']:<7}{r['rows']:>12,}{r['file_mb']:>9.0f}{r['read_ratings_s']:>16.2f}"
            f"{r['rows_per_s']:>14,.0f}{r['bare_read_csv_s']:>17.2f}{r['overhead_x']:>7.2f}"
        )
    print("ratio = read_ratings time / bare pandas.read_csv time on the same file (same run).")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
