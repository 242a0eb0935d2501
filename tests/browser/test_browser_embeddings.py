"""Real browser: train on the demo set, explore the embeddings (click a point, see neighbours), get recommendations."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_exception, open_page, shot, wait_idle

pytestmark = pytest.mark.browser


def keyed(page: Page, key: str):
    """The element container Streamlit marks with a widget's key."""
    return page.locator(f".st-key-{key}")


def go_to(page: Page, title: str) -> None:
    """Move within the same session (a fresh URL would start a new session without the model)."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()
    wait_idle(page)


def picked_item(page: Page) -> str:
    return keyed(page, "emb_item").locator("input").first.input_value()


def click_point(page: Page, point) -> None:
    """Click a plotly point like a person: hover first (plotly picks the hovered point), then press and release."""
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 4, y - 4)
    page.wait_for_timeout(200)
    page.mouse.move(x, y)
    page.wait_for_timeout(400)
    page.mouse.down()
    page.wait_for_timeout(80)
    page.mouse.up()
    page.wait_for_timeout(800)
    wait_idle(page)


def test_train_explore_and_recommend(browser_page: Page, app_url: str) -> None:
    page = browser_page
    # start at the entry page, so the navigation and the wide layout are the app's own
    open_page(page, app_url, "")
    go_to(page, "Train")
    keyed(page, "train_button").locator("button").click()
    trained = page.get_by_text("Trained in").or_(page.get_by_text("Loaded from cache"))
    expect(trained).to_be_visible(timeout=180_000)
    wait_idle(page)

    go_to(page, "Embeddings")
    expect(page.get_by_role("heading", name="Embeddings")).to_be_visible()
    chart = keyed(page, "emb_map_items_2d")
    expect(chart.locator(".scatterlayer .point").first).to_be_visible(timeout=60_000)
    assert_no_exception(page)
    shot(page, "embeddings_map")

    before = picked_item(page)
    points = chart.locator(".scatterlayer .point")
    page.wait_for_timeout(1000)  # let plotly finish laying out before the first hover
    for index in (7, 23, 41):  # one of these is not the default (most rated) item
        click_point(page, points.nth(index))
        if picked_item(page) != before:
            break
    assert picked_item(page) != before, "clicking a point picks its item"
    neighbours = page.locator('[data-testid="stDataFrame"]').first
    expect(neighbours).to_be_visible()
    assert_no_exception(page)
    shot(page, "embeddings_clicked")

    go_to(page, "Recommend")
    expect(page.get_by_text("Recommended (not yet rated)")).to_be_visible()
    expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible()
    first_rating = page.locator('[class*="st-key-rec_new_"] [role="radiogroup"]').first
    first_rating.get_by_text("5", exact=True).click()
    wait_idle(page)
    expect(page.get_by_text("Recommended for you")).to_be_visible()
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(1, timeout=60_000)
    assert_no_exception(page)
    shot(page, "recommend")
