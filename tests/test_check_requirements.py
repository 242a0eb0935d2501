"""scripts/check_requirements.py's uv mode: requirements.txt under uv (as Streamlit Community Cloud
installs it) and under pip, against stand-ins of PyTorch's CPU index and of PyPI on 127.0.0.1.

The stand-in builders are tested always (fast, offline); the full check runs where uv is found (on PATH,
or named by COLLAB_UV) and is skipped otherwise: uv is not one of this project's dependencies.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "check_requirements.py"


def load_script():
    spec = importlib.util.spec_from_file_location("check_requirements", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cr = load_script()


def test_requirements_name_the_torch_page_as_find_links_and_no_index():
    lines = (REPO / "requirements.txt").read_text().splitlines()
    options = [line.strip() for line in lines if line.strip().startswith("-")]
    assert options == [f"--find-links {cr.CPU_INDEX}/torch/"]
    assert cr.pins_in(lines)["torch"] == "2.13.0"


def test_fake_wheel_is_a_valid_wheel(tmp_path):
    wheel = cr.fake_wheel(tmp_path, "torch", "2.13.0", cr.TORCH_TAG, ["triton==3.6.0"])
    assert wheel.name == f"torch-2.13.0-{cr.TORCH_TAG}.whl"
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read("torch-2.13.0.dist-info/METADATA").decode()
        record = archive.read("torch-2.13.0.dist-info/RECORD").decode()
    assert "Name: torch\nVersion: 2.13.0\nRequires-Dist: triton==3.6.0\n" in metadata
    assert "torch-2.13.0.dist-info/METADATA,sha256=" in record


def test_stand_ins_serve_pep503_pages_with_pytorchs_link_style(tmp_path):
    lines = ["--find-links https://download.pytorch.org/whl/cpu/torch/", "torch==2.13.0", "numpy==2.4.6"]
    cr.build_stand_ins(tmp_path, lines, real_torch=None, real_pypi=False)
    with cr.serve(tmp_path) as host:
        torch_page = urllib.request.urlopen(f"{host}/whl/cpu/torch/").read().decode()
        numpy_page = urllib.request.urlopen(f"{host}/whl/cpu/numpy/").read().decode()
        pypi_torch = urllib.request.urlopen(f"{host}/pypi/simple/torch/").read().decode()
        # the absolute-path link resolves on the stand-in, as on download.pytorch.org
        href = torch_page.split('href="')[1].split("#")[0]
        assert href == f"/whl/cpu/torch-2.13.0%2Bcpu-{cr.TORCH_TAG}.whl"
        assert urllib.request.urlopen(host + href).status == 200
    assert f"numpy-{cr.OLD_NUMPY}-py3-none-any.whl" in numpy_page  # older than the pin
    assert f"torch-2.13.0-{cr.TORCH_TAG}.whl" in pypi_torch and "#sha256=" in pypi_torch
    assert (tmp_path / "pypi" / "simple" / "nvidia-cublas-cu12" / "index.html").exists()


def test_rewrites_point_at_the_stand_in_and_rebuild_the_old_form():
    lines = ["--find-links https://download.pytorch.org/whl/cpu/torch/", "torch==2.13.0"]
    assert cr.with_host(lines, "http://127.0.0.1:1")[0] == "--find-links http://127.0.0.1:1/whl/cpu/torch/"
    assert cr.old_form(lines) == ["--extra-index-url https://download.pytorch.org/whl/cpu", "torch==2.13.0"]


def find_uv() -> str | None:
    named = os.environ.get("COLLAB_UV")
    if named:
        return named if Path(named).exists() else None
    return shutil.which("uv") or (
        str(Path(sys.executable).with_name("uv")) if Path(sys.executable).with_name("uv").exists() else None
    )


@pytest.mark.slow
def test_uv_and_pip_install_the_cpu_build_and_the_control_fails_under_uv():
    uv = find_uv()
    if uv is None:
        pytest.skip("uv not found (pip install uv into any venv; COLLAB_UV=/path/to/uv)")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--uv", "--uv-bin", uv], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("  ")]
    assert any("requirements.txt" in r and "uv :" in r and "exit 0, torch 2.13.0+cpu" in r for r in rows)
    assert any("requirements.txt" in r and "pip:" in r and "exit 0, torch 2.13.0+cpu" in r for r in rows)
    assert any("control" in r and "uv :" in r and "exit 1" in r and "numpy==2.4.6" in r for r in rows)
