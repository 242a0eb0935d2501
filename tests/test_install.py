"""`pip install .` and `pip install -e .` put the `collab` library (only) into a fresh venv.

Fast and offline: the venv is made without pip, and a .pth file lends it this environment's
site-packages (pip, setuptools, torch...) *behind* its own, so the install needs no download and no
build isolation (`--no-deps --no-build-isolation`), and what `import collab` finds is the installed
copy. `python -m venv --system-site-packages` would not do: this environment is itself a venv, and that
flag lends the base interpreter's packages, not these. A real dependency resolution would download or
unpack torch (minutes); the declared dependencies are checked from the installed metadata instead.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

CHECK = """
import importlib.metadata as md, importlib.util, json, sys
import collab
collab.Ratings, collab.read_ratings, collab.TrainConfig  # resolve a few lazy names
import collab.training.loop
print(json.dumps({
    "collab": collab.__file__,
    "streamlit": "streamlit" in sys.modules,
    "ui": importlib.util.find_spec("ui") is not None,
    "app_pages": importlib.util.find_spec("app_pages") is not None,
    "requires": md.requires("collab-lab"),
    "files": [str(f) for f in md.files("collab-lab")],
    "scripts": sorted(e.name for e in md.distribution("collab-lab").entry_points if e.group == "console_scripts"),
}))
"""


def fresh_venv(root: Path) -> tuple[Path, Path]:
    """A venv without pip whose site-packages is searched before this environment's; (python, site)."""
    venv.EnvBuilder(with_pip=False).create(root)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    site = Path(purelib)
    (site / "_borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python, site


def source_copy(root: Path) -> Path:
    """The files a build reads, copied, so the build leaves nothing in the checkout."""
    src = root / "src"
    shutil.copytree(REPO / "collab", src / "collab", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("ui", "app_pages"):  # present, so the test shows they are left out
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    return src


def install_and_check(tmp_path: Path, editable: bool) -> dict:
    python, site = fresh_venv(tmp_path / "venv")
    src = source_copy(tmp_path)
    target = ["-e", str(src)] if editable else [str(src)]
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q", *target],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    elsewhere = tmp_path / "elsewhere"  # not the source folder, so only the install can be imported
    elsewhere.mkdir()
    checked = subprocess.run(
        [python, "-c", CHECK], capture_output=True, text=True, cwd=elsewhere, env={"PATH": "/usr/bin:/bin"}
    )
    assert checked.returncode == 0, checked.stderr
    found = json.loads(checked.stdout)
    found["site"] = str(site)
    found["src"] = str(src)
    return found


def assert_declares_dependencies(requires: list[str]) -> None:
    names = {r.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip() for r in requires}
    assert {"torch", "numpy", "pandas", "pyarrow", "safetensors", "platformdirs", "tqdm"} <= names
    assert any("streamlit" in r and 'extra == "app"' in r for r in requires)
    assert any("pytest" in r and 'extra == "tests"' in r for r in requires)
    assert not any("streamlit" in r and "extra" not in r for r in requires)


@pytest.mark.skipif(sys.platform == "win32", reason="venv layout")
def test_pip_install_puts_only_the_library_in_a_fresh_venv(tmp_path: Path) -> None:
    found = install_and_check(tmp_path, editable=False)
    assert found["collab"].startswith(found["site"])
    assert not found["streamlit"], "import collab pulled in streamlit"
    assert not found["ui"] and not found["app_pages"]
    files = found["files"]
    assert (
        "collab/py.typed" in files and "collab/training/loop.py" in files and "collab/data/read.py" in files
    )
    assert not any(f.startswith(("ui/", "app_pages/", "tests/", "benchmarks/")) for f in files)
    assert_declares_dependencies(found["requires"])
    assert found["scripts"] == ["collab"]


@pytest.mark.skipif(sys.platform == "win32", reason="venv layout")
def test_editable_install_imports_the_checkout_and_only_the_library(tmp_path: Path) -> None:
    found = install_and_check(tmp_path, editable=True)
    assert found["collab"].startswith(found["src"])
    assert not found["streamlit"]
    assert not found["ui"] and not found["app_pages"]
    assert_declares_dependencies(found["requires"])
