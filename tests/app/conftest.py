"""AppTest fixtures: the app from its entry script, with caches cleared and no network."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ENTRY = str(
    Path(__file__).resolve().parents[2] / "streamlit_app.py"
)  # from_file resolves relative paths oddly


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    """Process-wide Streamlit caches are cleared around each test; downloads point at a dead address."""
    monkeypatch.setenv("COLLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLLAB_MOVIELENS_URL", "http://127.0.0.1:9/")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def app() -> AppTest:
    """The app, run once from the entry script (it opens on Home with the demo set)."""
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def charts(at: AppTest) -> list[dict[str, Any]]:
    """Every plotly chart on the page as its JSON spec."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def texts(at: AppTest) -> str:
    """All markdown, caption, metric and alert text on the page, joined."""
    parts: list[str] = []
    for kind in (
        "markdown",
        "caption",
        "success",
        "info",
        "warning",
        "error",
        "title",
        "header",
        "subheader",
    ):
        parts.extend(str(el.value) for el in getattr(at, kind))
    parts.extend(f"{m.label} {m.value}" for m in at.metric)
    return "\n".join(parts)


@pytest.fixture(scope="session")
def tiny_model():
    """A small, fast dot-product model on the demo set's default split (what the app would train)."""
    from collab.data.demo import demo_ratings
    from collab.training.config import TrainConfig
    from collab.training.loop import train
    from ui.state import SplitParams

    params = SplitParams()
    train_set, valid_set = demo_ratings(seed=0).split(
        valid_pct=params.valid_pct, seed=params.seed, method=params.method
    )
    return train(train_set, valid_set, TrainConfig(epochs=4, n_factors=8, lr=0.03, weight_decay=0.1, seed=0))


def tab_places(at: AppTest) -> list[tuple[int, ...]]:
    """Where each set of tabs sits on the page: its path of child indexes from the main area. A set of
    tabs whose path changes between reruns is rebuilt empty in the browser, and its open tab can fall
    back to the first one."""
    places: list[tuple[int, ...]] = []

    def walk(node: Any, path: tuple[int, ...]) -> None:
        if getattr(node, "type", None) == "tab_container":
            places.append(path)
        for index, child in getattr(node, "children", {}).items():
            walk(child, (*path, index))

    walk(at.main, ())
    return places


# --- the Lesson page (shared by the test_page_lesson*.py modules) ---

LESSON_PAGE = "app_pages/lesson.py"


@pytest.fixture
def lesson(app: AppTest) -> AppTest:
    """The app on the Lesson page (step 1)."""
    app.switch_page(LESSON_PAGE).run()
    assert not app.exception, app.exception
    return app


def number_of(title_start: str) -> int:
    """The Lesson step whose title starts so (steps move when new ones are inserted)."""
    from ui.lesson.steps import STEPS

    return next(i for i, step in enumerate(STEPS, 1) if step.title.startswith(title_start))


def go_to(at: AppTest, number: int) -> AppTest:
    """Open Lesson step `number` through its deep link."""
    at.query_params["step"] = str(number)
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    """The value of the metric labelled `label`."""
    return next(m.value for m in at.metric if m.label == label)


def open_with_params(params: dict[str, str], page: str | None = None) -> AppTest:
    """A fresh session opened on a URL with these query params (a reload or a shared link), then `page`."""
    at = AppTest.from_file(ENTRY, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at
