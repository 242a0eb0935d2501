"""Data page under a memory budget: the uploader's limit is the budget's, and an over-budget file is
refused before it is parsed, with the numbers and the advice, while the loaded dataset stays."""

from __future__ import annotations

import pytest

from tests.app.conftest import texts
from ui import budget


@pytest.fixture
def small_host(monkeypatch: pytest.MonkeyPatch) -> budget.Budget:
    monkeypatch.setenv(budget.ENV_VAR, str(budget.MIN_MEMORY_MB))
    return budget.current()


def test_an_over_budget_upload_is_refused_with_its_numbers_and_the_demo_set_stays(app, small_host):
    app.switch_page("app_pages/data.py").run()
    app.radio(key="data_source").set_value("upload").run()
    uploader = app.file_uploader(key="data_upload")
    assert uploader.proto.max_upload_size_mb == small_host.upload_mb  # the browser's limit is the core's
    line = b"1,2,3,1000000000\n"
    body = b"userId,movieId,rating,timestamp\n" + line * (small_host.upload_bytes // len(line) + 1)
    assert small_host.upload_bytes < len(body) < small_host.upload_bytes + 100
    uploader.set_value(("big.csv", body, "text/csv")).run()
    assert not app.exception, app.exception
    shown = texts(app)
    assert f"accepts uploads up to {small_host.upload_mb:,} MB" in shown
    assert f"memory budget ({small_host.memory_mb:,} MB" in shown and "read_ratings(path)" in shown
    assert "Loaded: Built-in demo set" in shown
