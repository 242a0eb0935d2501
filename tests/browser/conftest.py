"""Browser-test harness: a real Streamlit server on a free port and Playwright driving Debian's Chromium.

Browser tests are skipped, with the reason, when Chromium or Playwright is missing; with
COLLAB_REQUIRE_BROWSER=1 (as in CI) that skip becomes a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.server import CHROMIUM_ARGS, start_app, stop_app

CHROMIUM = os.environ.get("COLLAB_CHROMIUM", "/usr/bin/chromium")


def _browser_missing_reason() -> str | None:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        return f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y --no-install-recommends chromium`"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed: `pip install -r requirements-dev.txt`"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _browser_missing_reason()
    if reason is None:
        return
    if os.environ.get("COLLAB_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"browser tests are required (COLLAB_REQUIRE_BROWSER=1) but {reason}")
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start `streamlit run streamlit_app.py` on a free port and yield its base URL."""
    log_path = tmp_path_factory.mktemp("server") / "streamlit.log"
    server, url = start_app({"COLLAB_DATA_DIR": str(tmp_path_factory.mktemp("data"))}, log_path)
    try:
        yield url
    finally:
        stop_app(server)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the whole session."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # a loaded 2-core machine renders slowly; 5 s is not enough
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[object]:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def browser_page(browser, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh page (its own browser context, so its own Streamlit session) at a projector-like size.

    A failing test leaves a screenshot, test-artifacts/FAILED-<test>.png, to show what the page looked like.
    """
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    if request.node.stash.get(_FAILED, False):
        from tests.browser.helpers import shot

        with contextlib.suppress(Exception):  # the page may be gone; the failure itself is what matters
            shot(page, f"FAILED-{request.node.name}", full=False)
    context.close()
