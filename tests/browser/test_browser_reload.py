"""Real browser, issue 19: state that survives the room. An uploaded file is still loaded after F5 (the URL
names it by fingerprint, the server holds it), and a model trained on a Lesson step is still the current
model after a reload, seen by the Embeddings page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import assert_no_exception, open_page, shot, wait_idle

pytestmark = pytest.mark.browser

CSV = "user,item,rating\n" + "\n".join(
    f"u{u},i{i},{1 + (u * 7 + i * 3) % 5}" for u in range(30) for i in range(12) if (u + i) % 4
)


def sidebar_text(page) -> str:
    return page.get_by_test_id("stSidebar").inner_text()


def test_an_upload_survives_a_reload(browser_page, app_url, tmp_path):
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 720})
    open_page(page, app_url, "data")
    page.get_by_text("Upload a file").click()
    wait_idle(page)
    path = tmp_path / "room_ratings.csv"
    path.write_text(CSV)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    expect(page.get_by_text("Detected separator")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Load this file").click()
    expect(page.get_by_text("Loaded Upload: room_ratings.csv")).to_be_visible(timeout=60_000)
    wait_idle(page)
    page.wait_for_function("() => new URLSearchParams(location.search).get('upload')", timeout=60_000)
    query = parse_qs(urlparse(page.url).query)
    assert query["data"] == ["upload"] and "room_ratings" not in page.url
    n_ratings = CSV.count("\n")

    page.reload()  # F5
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=90_000)
    wait_idle(page)
    expect(page.get_by_test_id("stSidebar").get_by_text("room_ratings.csv")).to_be_visible(timeout=60_000)
    assert f"{n_ratings:,} ratings" in sidebar_text(page) or f"{n_ratings:,}" in page.inner_text("body")
    assert "no longer holds" not in page.inner_text("body")
    # the Source radio says what is loaded: the upload, not the demo set
    expect(page.get_by_role("radio", name="Upload a file")).to_be_checked()
    assert_no_exception(page)
    shot(page, "reload-upload-1280x720", full=False)


def test_a_lesson_model_survives_a_reload(browser_page, app_url):
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 720})
    open_page(page, app_url, "lesson?step=4")
    page.get_by_role("button", name="Train with the lesson's settings").click()
    expect(page.get_by_text("identical").first).to_be_visible(timeout=120_000)
    wait_idle(page)
    page.wait_for_function(
        "() => new URLSearchParams(location.search).get('factors') === '50'", timeout=60_000
    )
    page.reload()
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=90_000)
    wait_idle(page)
    expect(page.get_by_text("Using the current model").first).to_be_visible(timeout=60_000)
    nav = page.get_by_test_id("stSidebarNavItems")
    nav.get_by_role("link", name="Embeddings", exact=True).click()
    wait_idle(page)
    assert "no trained model" not in page.inner_text("body").lower()
    assert_no_exception(page)
    shot(page, "reload-lesson-model-embeddings", full=False)
