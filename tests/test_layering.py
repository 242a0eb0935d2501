"""Architecture rules: the core never imports Streamlit, and pages stay thin."""

from __future__ import annotations

import ast
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


# ---- the layout: packages in data-flow order, no import circles, no oversized files ------------------

# every name of `collab.__all__` before the packages (stop 16): each must still import from `collab`
NAMES_BEFORE_PACKAGES = [
    "Ratings",
    "Split",
    "DataError",
    "read_ratings",
    "read_items",
    "sniff_ratings",
    "load_movielens",
    "demo_ratings",
    "DemoTruth",
    "RatingsSummary",
    "MAX_RATINGS",
    "Sniff",
    "MAX_UPLOAD_MB",
    "load_movielens_dir",
    "TrainConfig",
    "build_model",
    "train",
    "TrainResult",
    "EpochStats",
    "load",
    "estimate_memory",
    "MemoryEstimate",
    "MODEL_LABELS",
    "PRESETS",
    "compare_accumulation",
    "AccumulationCheck",
    "UnknownLabelError",
    "ModelFileError",
    "find_overfit_epoch",
    "train_blend",
    "BlendResult",
    "BEST_BLEND",
    "pca",
    "nearest_neighbours",
    "projector_tsv",
    "recommend_for_user",
    "fold_in",
    "fold_in_user",
    "top_n",
    "similar_to",
    "recommend_new_user",
    "kfold",
    "cross_validate",
    "Fold",
]

# packages of `collab`, lowest first: a module may import only from its own package or one listed before it
PACKAGE_ORDER = (
    "kernels",
    "data",
    "models",
    "evaluate",
    "lesson",
    "training",
    "analysis",
    "plots",
    "cli",
    "__main__",
)
MAX_LINES = 800


def _modules() -> dict[str, Path]:
    found = {}
    for top in ("collab", "ui"):
        for path in sorted((ROOT / top).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Modules of collab/ui that `name` imports anywhere (inside functions too), except under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped or not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            assert not node.level, f"{path}: use absolute imports"
            targets = [node.module or ""] + [f"{node.module}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_no_import_circles_in_collab_or_ui():
    graph = _graph()
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycle = path[path.index(target) :] + [target]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, path + [target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_collab_packages_import_only_downwards():
    def package(module: str) -> str:
        return module.split(".")[1] if module.count(".") else module

    wrong = []
    for name, targets in _graph().items():
        if not name.startswith("collab."):
            continue
        assert package(name) in PACKAGE_ORDER, f"{name}: add its package to PACKAGE_ORDER"
        low = PACKAGE_ORDER.index(package(name))
        for target in targets:
            if target.startswith("ui") or target != "collab" and PACKAGE_ORDER.index(package(target)) > low:
                wrong.append(f"{name} -> {target}")
    assert not wrong, "imports that point up the data flow: " + ", ".join(sorted(wrong))


def test_collab_keeps_only_its_front_doors_flat():
    flat = sorted(p.name for p in (ROOT / "collab").glob("*.py"))
    assert flat == ["__init__.py", "__main__.py"]


def test_no_product_file_over_800_lines():
    long = [
        f"{p.relative_to(ROOT)} ({n})"
        for p in _modules().values()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    ]
    assert not long, "split these by job: " + ", ".join(long)


def test_public_names_before_the_packages_still_import():
    code = (
        f"from collab import {', '.join(NAMES_BEFORE_PACKAGES)}\n"
        "import collab.data\n"
        "assert issubclass(collab.data.DataError, ValueError)\n"
        "from collab.data import DataError, Ratings, Split\n"
        "print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert set(NAMES_BEFORE_PACKAGES) <= set(importlib.import_module("collab").__all__)


def test_python_dash_m_collab_still_runs():
    done = subprocess.run(
        [sys.executable, "-m", "collab", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "train" in done.stdout
