"""Real browser: Home, Data (upload through the real file input) and Train (train, see the chart)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import assert_no_exception, open_page, shot, wait_idle

pytestmark = pytest.mark.browser

CSV = "userId,movieId,rating\n" + "".join(
    f"{u},{i},{(u * 7 + i * 3) % 5 + 1}\n" for u in range(1, 31) for i in range(1, 21) if (u * i) % 4
)


def test_home_opens_on_demo_data(browser_page, app_url):
    page = browser_page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    open_page(page, app_url, "")
    expect(page.get_by_role("heading", name="Collab Lab")).to_be_visible()
    expect(page.get_by_text("Built-in demo set").first).to_be_visible()
    assert_no_exception(page)
    # a classroom without internet: the page, its icons and its favicon all come from the app itself
    icon = page.locator('link[rel="shortcut icon"], link[rel="icon"]').first.get_attribute("href") or ""
    assert icon.startswith((app_url, "/")), icon  # served by the app, not fetched from fonts.gstatic.com
    outside = {urlparse(url).netloc for url in requested if url.startswith("http")} - {
        urlparse(app_url).netloc
    }
    assert not outside, outside
    shot(page, "home")


def test_data_page_uploads_a_csv(browser_page, app_url, tmp_path):
    page = browser_page
    open_page(page, app_url, "data")
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(4, timeout=60_000)
    shot(page, "data-demo")
    page.get_by_text("Upload a file").click()
    wait_idle(page)
    csv_path = tmp_path / "class_ratings.csv"
    csv_path.write_text(CSV)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(csv_path))
    expect(page.get_by_text("Detected separator")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Load this file").click()
    expect(page.get_by_text("Loaded Upload: class_ratings.csv")).to_be_visible(timeout=60_000)
    wait_idle(page)
    n_users = len({line.split(",")[0] for line in CSV.splitlines()[1:]})
    expect(page.get_by_text(f"{n_users} users").first).to_be_visible()
    assert_no_exception(page)
    shot(page, "data-upload")


def test_train_page_trains_and_draws_the_loss_chart(browser_page, app_url):
    page = browser_page
    open_page(page, app_url, "train")
    assert_no_exception(page)
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text("Validation RMSE").first).to_be_visible(timeout=120_000)
    wait_idle(page)
    expect(page.locator('[data-testid="stPlotlyChart"]').first).to_be_visible()
    assert_no_exception(page)
    shot(page, "train")

    # the sweep redraws the live chart once per run: a duplicate element id crashed it once
    page.get_by_role("button", name="Run the sweep").click()
    expect(page.get_by_text("Lowest validation RMSE").first).to_be_visible(timeout=180_000)
    wait_idle(page)
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(2)
    assert_no_exception(page)
    shot(page, "train-sweep")

    page.get_by_role("tab", name="Gradient-accumulation lab").click()
    page.get_by_role("button", name="Compare the gradients").click()
    expect(page.get_by_text("Largest gradient difference").first).to_be_visible(timeout=60_000)
    wait_idle(page)
    assert_no_exception(page)
    shot(page, "train-lab")

    # the autoencoder swaps the batch knobs for its own and trains full batch
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Model").click()
    page.get_by_role("option", name="Autoencoder (I-AutoRec)").click()
    expect(page.get_by_text("Hidden units (code length)")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text("Trained in").first).to_be_visible(timeout=120_000)
    wait_idle(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.get_by_text("Autoencoder (I-AutoRec)", exact=False)).to_be_visible()
    assert_no_exception(page)
    shot(page, "train-autorec")

    page.get_by_role("tab", name="Blend models").click()
    page.get_by_role("button", name="Train the blend").click()
    expect(page.get_by_text("Blend RMSE")).to_be_visible(timeout=180_000)
    wait_idle(page)
    assert_no_exception(page)
    shot(page, "train-blend")
    for path in ("embeddings", "recommend", "loss"):
        open_page(page, app_url, path)
        assert_no_exception(page)
