"""Data and Train pages on a disk the app cannot write: a message on the page, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.conftest import texts
from tests.readonly import forget_kernels, unwritable_numba_cache


def test_movielens_into_an_unwritable_data_folder_says_which_and_how_to_fix(
    app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("COLLAB_DATA_DIR", str(blocker / "data"))  # mkdir fails (as root, too)
    app.switch_page("app_pages/data.py").run()
    app.radio(key="data_source").set_value("movielens").run()
    app.button(key="data_load_movielens").click().run()
    assert not app.exception, app.exception
    message = str(app.error[0].value)
    assert f"cannot write to the MovieLens data folder {blocker / 'data'}" in message
    assert "COLLAB_DATA_DIR" in message
    assert "Built-in demo set" in "\n".join(str(c.value) for c in app.sidebar.caption)


@pytest.fixture
def no_kernel_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("COLLAB_KERNELS", "1")  # the kernels would be used for this run
    unwritable_numba_cache(monkeypatch)
    yield
    forget_kernels()


@pytest.mark.filterwarnings("ignore:The compiled kernels are off")
def test_training_without_a_writable_kernel_cache_says_so_and_trains(app, no_kernel_cache) -> None:
    app.switch_page("app_pages/train.py").run()
    app.slider(key="train_epochs").set_value(2).run()
    app.button(key="train_button").click().run()
    assert not app.exception, app.exception
    shown = texts(app)
    assert "compiled kernels are off" in shown and "NUMBA_CACHE_DIR" in shown
    assert float({m.label: m.value for m in app.metric}["Validation RMSE"]) < 1.5
