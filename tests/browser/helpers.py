"""Small helpers shared by the browser tests."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page, expect

ARTIFACTS = Path(
    os.environ.get("COLLAB_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)


def wait_idle(page: Page, timeout_ms: int = 120_000) -> None:
    """Wait until Streamlit has finished running the script (the 'Running' status widget is gone)."""
    page.wait_for_timeout(300)
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=timeout_ms)
    # widgets and charts load lazily and show grey skeletons until their code has arrived
    expect(page.locator('[data-testid="stSkeleton"]')).to_have_count(0, timeout=timeout_ms)


def open_page(page: Page, app_url: str, path: str) -> None:
    """Open one page of the app by its url path ('' for home) and wait until it has rendered."""
    page.goto(f"{app_url}/{path}")
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    # every page starts with a title; before the script has run the main block is empty
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=90_000)
    wait_idle(page)


def assert_no_exception(page: Page) -> None:
    """No Streamlit exception box anywhere on the page."""
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def shot(page: Page, name: str, full: bool = True) -> Path:
    """Save a screenshot to test-artifacts/NAME.png; with full=True, grow the viewport to the page's height."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    viewport = page.viewport_size or {"width": 1400, "height": 1000}
    if full:
        height = page.evaluate(
            "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
            " return m ? m.scrollHeight : document.body.scrollHeight; }"
        )
        page.set_viewport_size(
            {"width": viewport["width"], "height": max(viewport["height"], min(int(height) + 40, 8000))}
        )
        page.wait_for_timeout(500)
    page.screenshot(path=str(path))
    if full:
        page.set_viewport_size(viewport)
    return path
