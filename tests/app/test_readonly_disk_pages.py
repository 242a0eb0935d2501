"""Data and Train pages on a disk the app cannot write: a message on the page, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from collab.data import movielens
from tests.app.conftest import texts
from tests.data.test_movielens import Server
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
    assert f"Cannot write to the MovieLens data folder {blocker / 'data'}" in message
    assert "COLLAB_DATA_DIR" in message
    assert "Built-in demo set" in "\n".join(str(c.value) for c in app.sidebar.caption)


def test_movielens_with_an_unwritable_default_cache_loads_from_the_temp_folder_with_a_note(
    app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    server = Server()
    try:
        monkeypatch.delenv("COLLAB_DATA_DIR")  # the default folder, which cannot be written
        monkeypatch.setenv("COLLAB_MOVIELENS_URL", f"{server.url}/good/")
        monkeypatch.setattr(movielens, "movielens_cache_dir", lambda cache_dir=None: blocker / "cache")
        monkeypatch.setattr(movielens.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
        app.switch_page("app_pages/data.py").run()
        app.radio(key="data_source").set_value("movielens").run()
        with pytest.warns(RuntimeWarning, match="not writable"):
            app.button(key="data_load_movielens").click().run()
    finally:
        server.close()
    assert not app.exception, app.exception
    assert not app.error
    shown = texts(app)
    assert "is not writable" in shown and str(tmp_path / "tmp" / "collab-lab") in shown
    assert "MovieLens" in "\n".join(str(c.value) for c in app.sidebar.caption)


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
