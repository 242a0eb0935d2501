"""Check what requirements.txt installs on a clean Linux box: the CPU build of torch, no CUDA stack.

Streamlit Community Cloud (and any CPU-only Linux machine) installs requirements.txt from PyPI plus
the locations it names. PyPI's Linux torch is the CUDA build (nvidia-* libraries and triton,
gigabytes); PyTorch's CPU index serves the `+cpu` build, and requirements.txt names its torch page
(https://download.pytorch.org/whl/cpu/torch/) as a --find-links location, so pip and uv both prefer
it. The default mode asks pip what it would install there, without installing anything:

    pip install --dry-run --ignore-installed --report <json> --target <unused> -r <requirements minus the
        --find-links line>
        --index-url <public PyPI> --find-links <a local page linking the CPU wheel>
        --only-binary=:all: --platform manylinux_2_28_x86_64 (and older) --python-version 3.11

with this machine's pip configuration left out (PIP_CONFIG_FILE=/dev/null, no PIP_* variables), so
local wheel folders and constraints play no part. The local page stands in for PyTorch's, which
these machines cannot reach: a PEP 503 page made from the CPU wheel(s) found in --wheels.
It fails (exit 1) when requirements.txt does not name PyTorch's torch page, or when the resolution
holds an nvidia-* or triton package, or a torch whose version lacks "+cpu"; it prints what it found.
`--without-cpu-index` resolves against PyPI alone, to show what the check catches (it fails).
Needs public PyPI (a network); not a unit test. Run: python scripts/check_requirements.py

`--uv` runs uv (Community Cloud's installer) and pip side by side against stand-ins served on
127.0.0.1: PyTorch's layout (/whl/cpu/, a torch +cpu wheel and a numpy older than the pin) and a PyPI
(every pin, torch's CUDA build among them), with tiny fake wheels: offline, seconds. It also runs a
control (the CPU index as an --extra-index-url, which uv must fail on) and reports what each installer
does when the CPU host refuses connections. `--uv --real-pypi`: public PyPI and the real CPU wheel.
Needs uv: pip install uv (into any venv), then --uv-bin PATH if it is not on PATH.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
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
    """(the URLs the file's --extra-index-url and --find-links lines name, its other lines)."""
    sources, rest = [], []
    for line in path.read_text().splitlines():
        stripped = line.strip()
        option = re.match(r"(--extra-index-url|--find-links|-f)(?:\s+|=)(\S+)$", stripped)
        if option:
            sources.append(option[2])
        else:
            rest.append(line)
    return sources, rest


def resolve(
    requirements: list[str], torch_page: Path | None, python_version: str, workdir: Path
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
    if torch_page is not None:  # the stand-in for PyTorch's torch page, as requirements.txt names it
        command += ["--find-links", torch_page.as_uri()]
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


# ---------------------------------------------------------------------------------------------------
# --uv: requirements.txt under uv (as Streamlit Community Cloud installs it) and under pip, against
# stand-ins served on 127.0.0.1.
#
# uv's default index strategy ("first-index") takes each package only from the first index that lists
# it, and an --extra-index-url comes before the default one; PyTorch's CPU index lists numpy (and
# others) too, so a pinned numpy it lacks fails the resolution. uv merges --find-links files into every
# index's candidates instead (as pip does), which is why requirements.txt names PyTorch's CPU *torch
# page* as a find-links location and no extra index. The stand-ins: a copy of PyTorch's layout
# (/whl/cpu/ as a PEP 503 index whose torch page links the +cpu wheel by an absolute path, as
# download.pytorch.org does, plus an older numpy than the pin), and a PyPI holding every pin, whose torch
# 2.13.0 is the "CUDA build" (it depends on nvidia-cublas-cu12 and triton). The wheels are tiny fakes
# (metadata only), so the check is offline and takes seconds; --real-pypi resolves against public PyPI
# and the real CPU wheel in --wheels instead.
# ---------------------------------------------------------------------------------------------------
PYTORCH_HOST = "https://download.pytorch.org"
OLD_NUMPY = "2.3.5"  # on the CPU index stand-in: a numpy older than the pin, as the real index lags PyPI
CUDA_DEPS = {"nvidia-cublas-cu12": "12.9.1.4", "triton": "3.6.0"}
TORCH_TAG = "cp311-cp311-manylinux_2_28_x86_64"
UV_PLATFORM = "x86_64-manylinux_2_28"


def fake_wheel(folder: Path, name: str, version: str, tag: str = "py3-none-any", requires=()) -> Path:
    """A minimal valid wheel: metadata and a RECORD, no code."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{dist}-{tag}.whl"
    files = {
        f"{dist}.dist-info/METADATA": "Metadata-Version: 2.1\n"
        + f"Name: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{dist}.dist-info/WHEEL": f"Wheel-Version: 1.0\nGenerator: check_requirements\nRoot-Is-Purelib: true\nTag: {tag}\n",
    }
    record = []
    for member, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{member},sha256={digest},{len(text.encode())}")
    files[f"{dist}.dist-info/RECORD"] = "\n".join([*record, f"{dist}.dist-info/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def project_of(wheel: Path) -> str:
    return re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()


def write_simple(simple: Path, wheels: list[Path], href) -> None:
    """PEP 503 pages under `simple` for `wheels`; href(wheel) gives each link (a sha256 is appended)."""
    by_project: dict[str, list[Path]] = {}
    for wheel in wheels:
        by_project.setdefault(project_of(wheel), []).append(wheel)
    for project, files in by_project.items():
        (simple / project).mkdir(parents=True, exist_ok=True)
        links = "\n".join(f'<a href="{href(f)}#sha256={sha256_of(f)}">{f.name}</a><br>' for f in files)
        (simple / project / "index.html").write_text(
            f"<!DOCTYPE html><html><body>\n{links}\n</body></html>\n"
        )
    (simple / "index.html").write_text(
        "<!DOCTYPE html><html><body>\n"
        + "\n".join(f'<a href="{p}/">{p}</a><br>' for p in sorted(by_project))
        + "\n</body></html>\n"
    )


def pins_in(lines: list[str]) -> dict[str, str]:
    """{name: version} for the `name==version` lines (comments, options and markers left out)."""
    pins = {}
    for line in lines:
        match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)", line)
        if match:
            pins[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return pins


def build_stand_ins(root: Path, requirements: list[str], real_torch: Path | None, real_pypi: bool) -> None:
    """Fill `root` (served as http://127.0.0.1:PORT/) with the CPU index and (unless real_pypi) PyPI."""
    pins = pins_in(requirements)
    torch_version = pins["torch"]
    cpu_dir = root / "whl" / "cpu"
    cpu_torch = real_torch or fake_wheel(cpu_dir, "torch", f"{torch_version}+cpu", TORCH_TAG)
    if real_torch is not None:
        cpu_dir.mkdir(parents=True, exist_ok=True)
        os.symlink(real_torch.resolve(), cpu_dir / real_torch.name)
        cpu_torch = cpu_dir / real_torch.name
    old_numpy = fake_wheel(cpu_dir, "numpy", OLD_NUMPY)
    # download.pytorch.org links its files by absolute path, the '+' escaped: /whl/cpu/torch-2.13.0%2Bcpu-...
    write_simple(cpu_dir, [cpu_torch, old_numpy], lambda f: "/whl/cpu/" + f.name.replace("+", "%2B"))
    if real_pypi:
        return
    files = root / "pypi" / "files"
    wheels = [fake_wheel(files, name, version) for name, version in pins.items() if name != "torch"]
    wheels += [fake_wheel(files, name, version) for name, version in CUDA_DEPS.items()]
    requires = [f"{name}=={version}" for name, version in CUDA_DEPS.items()]
    wheels.append(fake_wheel(files, "torch", torch_version, TORCH_TAG, requires))
    write_simple(root / "pypi" / "simple", wheels, lambda f: f"../../files/{f.name}")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """http://127.0.0.1:PORT serving `root` while the block runs."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """A 127.0.0.1 URL nothing listens on: connections are refused, as for an unreachable host."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def with_host(lines: list[str], host: str) -> list[str]:
    """The requirement lines with PyTorch's host replaced by `host` (the stand-in)."""
    return [line.replace(PYTORCH_HOST, host) for line in lines]


def old_form(lines: list[str]) -> list[str]:
    """The control: PyTorch's CPU index as an --extra-index-url (the line requirements.txt used to have)
    instead of its find-links torch page."""
    kept = [line for line in lines if not re.match(r"\s*(--find-links|-f)\b", line)]
    return [f"--extra-index-url {CPU_INDEX}", *kept]


def clean_env(tmp: Path) -> dict[str, str]:
    """No pip or uv configuration of this machine: no local wheel folders, indexes or constraints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_RETRIES"] = "0"
    env["PIP_TIMEOUT"] = "5"
    env["UV_CACHE_DIR"] = str(tmp / "uv-cache")
    env["UV_NO_CONFIG"] = "1"
    env["UV_HTTP_TIMEOUT"] = "10"
    return env


def uv_dry_run(uv: str, req: Path, index: str, workdir: Path, env: dict) -> tuple[int, dict[str, str], str]:
    """(exit code, {name: version} uv would install, its output) for a clean Linux x86-64 box."""
    command = [
        uv, "pip", "install", "--dry-run", "--no-config", "-r", str(req), "--index-url", index,
        "--target", str(workdir / "uv-target"), "--python", sys.executable,
        "--python-version", "3.11", "--python-platform", UV_PLATFORM,
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    installs = dict(re.findall(r"^\s*\+\s*([A-Za-z0-9._-]+)==(\S+)", output, flags=re.M))
    return done.returncode, {k.lower(): v for k, v in installs.items()}, output


def pip_dry_run(req: Path, index: str, workdir: Path, env: dict) -> tuple[int, dict[str, str], str]:
    """(exit code, {name: version} pip would install, its output) for a clean Linux x86-64 box."""
    report = workdir / "pip-report.json"
    report.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
        "--report", str(report), "-r", str(req), "--target", str(workdir / "pip-target"),
        "--index-url", index, "--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11",
        *(arg for platform in PLATFORMS for arg in ("--platform", platform)),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    installs = {}
    if done.returncode == 0 and report.exists():
        for item in json.loads(report.read_text())["install"]:
            installs[item["metadata"]["name"].lower()] = item["metadata"]["version"]
    return done.returncode, installs, done.stdout + done.stderr


def cpu_build_problems(code: int, installs: dict[str, str]) -> list[str]:
    if code != 0:
        return [f"exit {code}"]
    items = [{"metadata": {"name": name, "version": version}} for name, version in installs.items()]
    return problems_in(items) or ([] if "torch" in installs else ["no torch"])


def first_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    interesting = [line for line in lines if re.search(r"error|because|warning|×|╰─▶", line, re.I)]
    return " | ".join((interesting or lines)[:4])[:400]


def uv_main(args: argparse.Namespace) -> int:
    uv = args.uv_bin or shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(uv).exists() and not shutil.which(uv):
        print("uv not found: pip install uv (into any venv), then pass --uv-bin PATH")
        return 2
    version = subprocess.run([uv, "--version"], capture_output=True, text=True).stdout.strip()
    lines = args.requirements.read_text().splitlines()
    failures = []
    if not any(re.match(rf"\s*(--find-links|-f)[ =]+{re.escape(CPU_INDEX)}/torch/?\s*$", x) for x in lines):
        failures.append(f"{args.requirements.name} does not name {CPU_INDEX}/torch/ as --find-links")
    if any(line.strip().startswith(("--extra-index-url", "--index-url", "-i ")) for line in lines):
        failures.append(f"{args.requirements.name} names an index: uv would take packages only from it")
    real_torch = None
    if args.real_pypi:
        found = sorted(args.wheels.glob(f"torch-*+cpu-{TORCH_TAG}.whl"))
        if not found:
            raise SystemExit(f"no torch CPU wheel (torch-*+cpu-{TORCH_TAG}.whl) in {args.wheels}")
        real_torch = found[-1]
    print(
        f"{version}; pip {subprocess.run([sys.executable, '-m', 'pip', '--version'], capture_output=True, text=True).stdout.split()[1]}"
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        build_stand_ins(tmp / "www", lines, real_torch, args.real_pypi)
        env = clean_env(tmp)
        with serve(tmp / "www") as host:
            index = PYPI if args.real_pypi else f"{host}/pypi/simple"
            print(f"stand-in for {PYTORCH_HOST}: {host} (torch +cpu, numpy {OLD_NUMPY}); PyPI: {index}")
            cases = [
                ("requirements.txt", with_host(lines, host), "pass", "pass"),
                ("control: CPU index as --extra-index-url", with_host(old_form(lines), host), "fail", "pass"),
                ("CPU host unreachable", with_host(lines, closed_port_url()), None, None),
            ]
            for label, req_lines, uv_expect, pip_expect in cases:
                req = tmp / "requirements.txt"
                req.write_text("\n".join(req_lines) + "\n")
                for tool, expect in (("uv", uv_expect), ("pip", pip_expect)):
                    if tool == "uv":
                        code, installs, output = uv_dry_run(uv, req, index, tmp, env)
                    else:
                        code, installs, output = pip_dry_run(req, index, tmp, env)
                    problems = cpu_build_problems(code, installs)
                    got = "fail" if problems else "pass"
                    torch = installs.get("torch", "-")
                    line = f"  {label:42} {tool:3}: exit {code}, torch {torch}, {len(installs)} packages"
                    if problems:
                        line += f": {'; '.join(problems)} ({first_error(output)})"
                    if expect is not None and got != expect:
                        failures.append(f"{label}, {tool}: expected {expect}, got {got}")
                        line += f"  <-- expected {expect}"
                    elif expect is None:
                        line += "  (reported, not judged)"
                    print(line)
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        return 1
    print("OK: uv and pip both install torch's CPU build from requirements.txt; the control shows uv "
          "failing on the extra-index form, so the stand-in reproduces the problem.")  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requirements", type=Path, default=REPO / "requirements.txt")
    parser.add_argument(
        "--wheels", type=Path, default=Path("/opt/wheels"), help="folder holding the torch CPU wheel(s)"
    )
    parser.add_argument("--python-version", default="3.11")
    parser.add_argument("--without-cpu-index", action="store_true", help="resolve against PyPI alone")
    parser.add_argument("--uv", action="store_true", help="uv and pip against local stand-ins (offline)")
    parser.add_argument("--uv-bin", help="the uv executable (default: uv on PATH, or beside this python)")
    parser.add_argument("--real-pypi", action="store_true", help="with --uv: public PyPI, the real CPU wheel")
    args = parser.parse_args(argv)
    if args.uv:
        return uv_main(args)

    sources, requirements = split_requirements(args.requirements)
    failures = []
    if f"{CPU_INDEX}/torch/" not in [s.rstrip("/") + "/" for s in sources]:
        failures.append(f"{args.requirements.name} does not name {CPU_INDEX}/torch/ as --find-links")
    with tempfile.TemporaryDirectory() as tmp:
        extra = None
        if not args.without_cpu_index:
            wheels = sorted(args.wheels.glob("torch-*+cpu-*.whl"))
            if not wheels:
                raise SystemExit(f"no torch CPU wheel (torch-*+cpu-*.whl) in {args.wheels}; pass --wheels")
            extra = local_index(wheels, Path(tmp) / "index") / "torch" / "index.html"
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
