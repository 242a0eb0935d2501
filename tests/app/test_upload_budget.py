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


def test_the_items_and_model_uploaders_have_the_ratings_files_limit(app, small_host):
    """Only the ratings uploader passed the budget's limit: the items file and a saved model fell back to
    `server.maxUploadSize` (the default budget's 7 MB), and a model over it met a 200 MB check that nothing
    could reach."""
    app.switch_page("app_pages/data.py").run()
    app.radio(key="data_source").set_value("upload").run()
    assert app.file_uploader(key="data_items_upload").proto.max_upload_size_mb == small_host.upload_mb
    app.switch_page("app_pages/recommend.py").run()
    assert not app.exception, app.exception
    assert app.file_uploader(key="rec_upload").proto.max_upload_size_mb == small_host.upload_mb


def test_a_model_file_over_the_limit_is_refused_before_it_is_read(small_host):
    from ui import recommend_view

    error = recommend_view.load_uploaded("big.safetensors", b"\0" * (small_host.upload_bytes + 1))
    assert error is not None
    assert f"accepts files up to {small_host.upload_mb:,} MB" in error and "collab.load(path)" in error


def test_streamlits_endpoint_counts_mib_and_the_budget_mb_so_what_lies_between_is_refused():
    """Streamlit's upload endpoint accepts `server.maxUploadSize` MiB; the browser and the budget count MB of
    10**6 bytes: a file the endpoint takes above the budget's limit is refused with the numbers."""
    host = budget.Budget()
    host.check_upload(host.upload_bytes)  # at the limit: accepted
    with pytest.raises(budget.DataError, match=f"accepts uploads up to {host.upload_mb:,} MB"):
        host.check_upload(host.upload_mb * 2**20)  # what Streamlit's endpoint still accepts


def test_the_uploaders_limit_follows_the_budget_within_streamlits_setting():
    from streamlit import config

    from ui import uploads

    before = config.get_option(uploads.SERVER_OPTION)
    try:
        config.set_option(uploads.SERVER_OPTION, 7)
        assert uploads.limit_mb(50) == 7  # a bigger host before its setting follows: never over the endpoint
        uploads.follow_budget(50)  # what the server does when it starts
        assert config.get_option(uploads.SERVER_OPTION) == 50 and uploads.limit_mb(50) == 50
        uploads.follow_budget(3)  # a smaller host: the endpoint takes no more than the budget counts
        assert config.get_option(uploads.SERVER_OPTION) == 3 and uploads.limit_mb(7) == 3
    finally:
        config.set_option(uploads.SERVER_OPTION, before)
