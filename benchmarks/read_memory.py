"""Peak memory of `read_ratings` on big ratings files: from a path, and from bytes as the Data page uploads them.

    python -m benchmarks.read_memory [--rows 1000000 5000000] [--layouts csv tsv]
        [--sources path path-c path-arrow upload] [--baseline REV] [--json PATH]

Writes synthetic files into a temporary folder (removed afterwards): `csv` is
"userId,movieId,rating,timestamp" with a header, `tsv` is "user<TAB>item<TAB>rating" without
one (200k users, 50k items, half-star ratings). Each read runs in a fresh Python process: after
the imports (and, for `upload`, after the file's bytes are in memory, as the app holds them) the
process' peak resident memory is reset (Linux: /proc/self/clear_refs), `read_ratings` runs, and
the peak over that base is reported. Sources:

- `path`: `read_ratings(path)` as a notebook calls it (the reader picks pyarrow or the C parser);
- `path-c`: the same with the pyarrow reader switched off (pandas' C parser, the careful path);
- `path-arrow`: the same with `max_rows` raised so that pyarrow is tried whatever the file's size;
- `upload`: `read_ratings(io.BytesIO(raw), sep=..., has_header=..., ...)` as `ui/data_view.py` calls it,
  with pyarrow allocating through malloc as the app's server sets it (the others keep pyarrow's own pool).

`--baseline REV` also runs every case on the `collab` package of git revision REV (extracted with
`git archive`), in the same run, so the table compares the two; `same` says whether both gave the
same `Ratings.fingerprint`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.read_speed import write_synthetic

ROOT = Path(__file__).resolve().parents[1]
LAYOUTS = {  # name -> (separator, header, timestamp, file name)
    "csv": (",", True, True, "ratings.csv"),
    "tsv": ("\t", False, False, "u.data"),
}
SOURCES = ("path", "path-c", "path-arrow", "upload")


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(path: Path, source: str, sep: str, header: bool) -> dict:
    """One read in this (fresh) process: seconds, base and peak RSS, the reader that ran, the fingerprint."""
    import gc
    import io

    import pyarrow.compute  # noqa: F401
    import pyarrow.csv  # noqa: F401  (imported before the base is taken, as a warm server has it)

    import collab.data.read as sources

    engines: list[str] = []
    parse_clean = sources._parse_clean

    def traced(*args, **kwargs):
        frame = parse_clean(*args, **kwargs)
        engines.append("arrow" if frame is not None else "c")
        return frame

    sources._parse_clean = (lambda *args, **kwargs: engines.append("c")) if source == "path-c" else traced
    raw = None
    if source == "upload":  # the server's setting (ui.cached.server_start): pyarrow allocates with malloc
        from ui import budget

        budget.use_system_allocator_for_arrow()
        raw = path.read_bytes()
    gc.collect()
    base_kb = _status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    start = time.perf_counter()
    if source == "upload":  # as ui/data_view.py: the upload's bytes, the sniffed options passed back
        ratings = sources.read_ratings(
            io.BytesIO(raw), sep=sep, has_header=header, decimal=".", layout="rows", name=path.name
        )
    else:
        limit = {"max_rows": 10**9} if source == "path-arrow" else {}  # else the default, MAX_RATINGS
        ratings = sources.read_ratings(path, **limit)
    seconds = time.perf_counter() - start
    peak_kb = _status_kb("VmHWM")
    return {
        "seconds": seconds,
        "base_mb": base_kb / 1024,
        "peak_over_base_mb": (peak_kb - base_kb) / 1024,
        "engine": engines[-1] if engines else "-",
        "n_ratings": ratings.n_ratings,
        "fingerprint": ratings.fingerprint,
    }


def run_case(code_root: Path, path: Path, source: str, sep: str, header: bool) -> dict:
    """`child` in a fresh interpreter importing `collab` from `code_root`."""
    env = {**os.environ, "PYTHONPATH": str(code_root), "COLLAB_MEMORY_MB": "65536"}  # uploads not refused
    command = [sys.executable, __file__, "--child", str(path), source, sep, str(int(header))]
    done = subprocess.run(command, env=env, cwd=code_root, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def extract(revision: str, folder: Path) -> Path:
    """The `collab` package of a git revision, extracted into `folder`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "collab"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--layouts", nargs="+", default=list(LAYOUTS), choices=list(LAYOUTS))
    parser.add_argument("--sources", nargs="+", default=list(SOURCES), choices=SOURCES)
    parser.add_argument("--baseline", help="a git revision whose collab package is measured too (e.g. main)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args()

    results = []
    with tempfile.TemporaryDirectory(prefix="collab-read-memory-") as folder:
        codes = [("worktree", ROOT)]
        if args.baseline:
            baseline = Path(folder) / "baseline"
            baseline.mkdir()
            codes.insert(0, (args.baseline, extract(args.baseline, baseline)))
        for n_rows in args.rows:
            for layout in args.layouts:
                sep, header, timestamp, file_name = LAYOUTS[layout]
                path = Path(folder) / file_name
                write_synthetic(path, n_rows, sep, header, timestamp=timestamp)
                for source in args.sources:
                    for code, code_root in codes:
                        result = run_case(code_root, path, source, sep, header)
                        results.append(
                            {
                                "code": code,
                                "rows": n_rows,
                                "layout": layout,
                                "file_mb": path.stat().st_size / 2**20,
                                "source": source,
                                **result,
                            }
                        )
                        print(".", end="", file=sys.stderr, flush=True)
                path.unlink()
    print(file=sys.stderr)

    first = {}  # (rows, layout, source) -> the first code's fingerprint
    print(
        f"{'code':<10}{'rows':>11}{'layout':>8}{'file MB':>9}{'source':>12}{'engine':>8}{'seconds':>9}"
        f"{'peak MB':>9}{'B/row':>7}{'same':>6}"
    )
    for r in results:
        key = (r["rows"], r["layout"], r["source"])
        same = first.setdefault(key, r["fingerprint"]) == r["fingerprint"]
        print(
            f"{r['code']:<10}{r['rows']:>11,}{r['layout']:>8}{r['file_mb']:>9.0f}{r['source']:>12}"
            f"{r['engine']:>8}{r['seconds']:>9.2f}{r['peak_over_base_mb']:>9.0f}"
            f"{r['peak_over_base_mb'] * 2**20 / r['rows']:>7.0f}{'yes' if same else 'NO':>6}"
        )
    print(
        "peak MB = peak resident memory of the reading process over its resident memory just before the read "
        "(MiB); B/row = that peak per row. Final arrays: 20 B/row (28 with timestamps)."
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, file, source, sep, header = sys.argv
        print(json.dumps(child(Path(file), source, sep, header == "1")))
    else:
        main()
