"""Check what requirements.txt installs on a clean Linux box: the CPU build of torch, no CUDA stack.

Streamlit Community Cloud (and any CPU-only Linux machine) installs requirements.txt from PyPI plus
the extra indexes it names. PyPI's Linux torch is the CUDA build (nvidia-* libraries and triton,
gigabytes); PyTorch's CPU wheel index, named in requirements.txt as an extra index, serves the
`+cpu` build, which pip then prefers. This script asks pip what it would install there, without
installing anything:

    pip install --dry-run --ignore-installed --report <json> --target <unused> -r <requirements minus the
        extra index line>
        --index-url <public PyPI> --extra-index-url <a local index holding the CPU wheel>
        --only-binary=:all: --platform manylinux_2_28_x86_64 (and older) --python-version 3.11

with this machine's pip configuration left out (PIP_CONFIG_FILE=/dev/null, no PIP_* variables), so
local wheel folders and constraints play no part. The local index stands in for PyTorch's, which
these machines cannot reach: it is a PEP 503 folder made from the CPU wheel(s) found in --wheels.
It fails (exit 1) when requirements.txt does not name PyTorch's CPU index, or when the resolution
holds an nvidia-* or triton package, or a torch whose version lacks "+cpu"; it prints what it found.
`--without-cpu-index` resolves against PyPI alone, to show what the check catches (it fails).

Needs public PyPI (a network); not a unit test. Run: python scripts/check_requirements.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PYPI = "https://pypi.org/simple"
# a glibc 2.28 x86-64 box (Debian 10 or later): pip 23 does not widen one manylinux tag to the older
# ones a wheel may carry, so every one is named
PLATFORMS = [
    *(f"manylinux_2_{minor}_x86_64" for minor in range(28, 4, -1)),
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
]


def local_index(wheels: list[Path], root: Path) -> Path:
    """A PEP 503 'simple' folder listing `wheels` (file: links), as a package index does."""
    by_project: dict[str, list[Path]] = {}
    for wheel in wheels:
        project = wheel.name.split("-")[0].lower().replace("_", "-")
        by_project.setdefault(project, []).append(wheel)
    simple = root / "simple"
    for project, files in by_project.items():
        (simple / project).mkdir(parents=True)
        links = "\n".join(f'<a href="{f.resolve().as_uri()}">{f.name}</a><br>' for f in files)
        (simple / project / "index.html").write_text(
            f"<!DOCTYPE html><html><body>\n{links}\n</body></html>\n"
        )
    (simple / "index.html").write_text(
        "<!DOCTYPE html><html><body>\n"
        + "\n".join(f'<a href="{p}/">{p}</a><br>' for p in sorted(by_project))
        + "\n</body></html>\n"
    )
    return simple


def split_requirements(path: Path) -> tuple[list[str], list[str]]:
    """(the extra index URLs the file names, its other lines)."""
    indexes, rest = [], []
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("--extra-index-url"):
            indexes.append(
                stripped.split(None, 1)[1].strip() if " " in stripped else stripped.split("=", 1)[1]
            )
        else:
            rest.append(line)
    return indexes, rest


def resolve(
    requirements: list[str], extra_index: Path | None, python_version: str, workdir: Path
) -> list[dict]:
    """What pip would install for `requirements` on a clean Linux x86-64 box: the report's install list."""
    req_file = workdir / "requirements.txt"
    req_file.write_text("\n".join(requirements) + "\n")
    report = workdir / "report.json"
    command = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
        "--report", str(report), "-r", str(req_file), "--target", str(workdir / "target"),
        "--index-url", PYPI,
        "--only-binary=:all:", "--implementation", "cp", "--python-version", python_version,
        *(arg for platform in PLATFORMS for arg in ("--platform", platform)),
    ]  # fmt: skip
    if extra_index is not None:
        command += ["--extra-index-url", extra_index.as_uri()]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # no global/user/site config: no local wheels, no constraints
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"pip could not resolve the requirements:\n{done.stdout}{done.stderr}")
    return json.loads(report.read_text())["install"]


def problems_in(installs: list[dict]) -> list[str]:
    problems = []
    for item in installs:
        name, version = item["metadata"]["name"].lower(), item["metadata"]["version"]
        if name.startswith("nvidia-") or name == "triton":
            problems.append(f"{name} {version} (part of the CUDA build)")
        if name == "torch" and "+cpu" not in version:
            problems.append(f"torch {version} is not the CPU build (+cpu)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requirements", type=Path, default=REPO / "requirements.txt")
    parser.add_argument(
        "--wheels", type=Path, default=Path("/opt/wheels"), help="folder holding the torch CPU wheel(s)"
    )
    parser.add_argument("--python-version", default="3.11")
    parser.add_argument("--without-cpu-index", action="store_true", help="resolve against PyPI alone")
    args = parser.parse_args(argv)

    indexes, requirements = split_requirements(args.requirements)
    failures = []
    if CPU_INDEX not in [i.rstrip("/") for i in indexes]:
        failures.append(f"{args.requirements.name} does not name {CPU_INDEX} as an extra index")
    with tempfile.TemporaryDirectory() as tmp:
        extra = None
        if not args.without_cpu_index:
            wheels = sorted(args.wheels.glob("torch-*+cpu-*.whl"))
            if not wheels:
                raise SystemExit(f"no torch CPU wheel (torch-*+cpu-*.whl) in {args.wheels}; pass --wheels")
            extra = local_index(wheels, Path(tmp) / "index")
            print(f"local index standing in for {CPU_INDEX}: {', '.join(w.name for w in wheels)}")
        installs = resolve(requirements, extra, args.python_version, Path(tmp))
    failures += problems_in(installs)
    names = sorted(f"{i['metadata']['name']}=={i['metadata']['version']}" for i in installs)
    print(f"Python {args.python_version}, Linux x86-64: {len(installs)} packages would be installed")
    print("  " + "\n  ".join(names))
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        return 1
    print("OK: torch is the CPU build; no nvidia-* or triton package.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
