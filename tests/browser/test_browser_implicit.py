"""Real browser: an interactions file read as "seen it", a BCE ranking model trained, the Recommend page
ranking with it; the playground's BCE recommender. Screenshots at the projector and phone sizes."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.app.test_page_implicit import interactions_csv
from tests.browser.helpers import ARTIFACTS, assert_no_exception, open_page, wait_idle

pytestmark = pytest.mark.browser

SIZES = {"1280x720": (1280, 720, 1), "853x480@1.5": (853, 480, 1.5), "390x844": (390, 844, 1)}


def go_to(page: Page, title: str) -> None:
    """Move within the same session (a fresh URL would start a new session without the data)."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()
    wait_idle(page)


def _choose(page: Page, label: str, option: str) -> None:
    page.locator('[data-testid="stSelectbox"]').filter(has_text=label).locator("input").click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")
    wait_idle(page)


def shots(page: Page, name: str) -> None:
    """The page as it is now at each size: full-page PNGs test-artifacts/implicit-NAME-SIZE.png. (A device
    scale of 1.5 needs a new browser context, i.e. a new session; the layout in CSS pixels is the same,
    so 853x480 is shot at scale 1.)"""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    viewport = page.viewport_size
    for size, (width, height, _scale) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(700)
        tall = page.evaluate(  # Streamlit scrolls inside its main block: grow the viewport to show it all
            "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
            " return m ? m.scrollHeight : document.body.scrollHeight; }"
        )
        page.set_viewport_size({"width": width, "height": max(height, min(int(tall) + 40, 8000))})
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / f"implicit-{name}-{size}.png"))
    page.set_viewport_size(viewport)


def test_interactions_data_train_recommend(browser_page: Page, app_url: str, tmp_path) -> None:
    page = browser_page
    open_page(page, app_url, "data")
    page.get_by_text("Upload a file").click()
    wait_idle(page)
    path = tmp_path / "plays.csv"
    path.write_bytes(interactions_csv())
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    expect(page.get_by_text("Detected separator")).to_be_visible(timeout=60_000)
    wait_idle(page)
    _choose(page, "Counts (implicit feedback)", "seen it")
    expect(page.get_by_text("Read as “seen it” (implicit feedback).")).to_be_visible()
    page.get_by_role("button", name="Load this file").click()
    expect(page.get_by_text("Loaded Upload: plays.csv")).to_be_visible(timeout=60_000)
    wait_idle(page)
    assert_no_exception(page)
    shots(page, "data")

    go_to(page, "Train")
    _choose(page, "Model", "Binary cross-entropy")
    expect(page.get_by_text("Negatives per positive")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text("Popularity NDCG@10").first).to_be_visible(timeout=120_000)
    wait_idle(page)
    expect(page.get_by_text("Validation RMSE")).to_have_count(0)
    assert_no_exception(page)
    shots(page, "train")

    go_to(page, "Recommend")
    expect(page.get_by_text("Ranked by the current model").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Most popular not yet seen")).to_be_visible()
    assert_no_exception(page)
    shots(page, "recommend")


def test_playground_bce_recommender_trains(browser_page: Page, app_url: str) -> None:
    page = browser_page
    open_page(page, app_url, "loss")
    page.get_by_role("tab", name="Binary cross-entropy").click()
    wait_idle(page)
    page.get_by_role("button", name="Train 5 epochs").click()
    expect(page.get_by_text("ranks better than popularity")).to_be_visible(timeout=120_000)
    wait_idle(page)
    page.get_by_text("The same BCE, training a recommender").scroll_into_view_if_needed()
    assert_no_exception(page)
    shots(page, "playground")
