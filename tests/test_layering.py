"""Architecture rules: the core never imports Streamlit, and pages stay thin."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_collab_imports_without_streamlit():
    """Every collab module imports with streamlit made unimportable."""
    modules = ["collab"] + [
        f"collab.{m.name}" for m in pkgutil.walk_packages([str(ROOT / "collab")]) if "." not in m.name
    ]
    modules += [f"collab.plots.{m.name}" for m in pkgutil.iter_modules([str(ROOT / "collab" / "plots")])]
    code = (
        "import sys, importlib; sys.modules['streamlit'] = None\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "assert sys.modules['streamlit'] is None\n"
        "print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout


def test_importing_collab_data_does_not_import_torch():
    code = "import sys; from collab import read_ratings, Ratings; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("page", sorted((ROOT / "app_pages").glob("*.py")), ids=lambda p: p.name)
def test_pages_are_thin(page: Path):
    lines = [line for line in page.read_text().splitlines() if line.strip()]
    assert len(lines) <= 110, f"{page.name} has {len(lines)} non-blank lines; move logic into ui/ or collab/"
    source = page.read_text()
    assert "import torch" not in source


def test_public_names_resolve():
    collab = importlib.import_module("collab")
    for name in collab.__all__:
        assert getattr(collab, name) is not None, name
