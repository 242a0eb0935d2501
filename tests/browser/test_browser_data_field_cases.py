"""Real browser: real-world ratings files on the Data page (a not-rated code; a user x item matrix melted)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import assert_no_exception, open_page, shot, wait_idle

pytestmark = pytest.mark.browser

FIELD = Path(__file__).resolve().parents[1] / "fixtures" / "field_cases"


def _upload(page, name: str) -> None:
    """Upload `name` as the ratings file; a file already there is removed first (its x), as a user
    would, so the preview awaited below is the new file's and not the old one's."""
    wait_idle(page)
    uploader = page.locator('[data-testid="stFileUploader"]').first
    delete = uploader.locator('[data-testid="stFileChipDeleteBtn"]')
    if delete.count():
        delete.first.click()
        expect(page.get_by_text("Detected separator")).to_have_count(0, timeout=60_000)
        wait_idle(page)
    uploader.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(FIELD / name))
    expect(uploader.locator('[data-testid="stFileChipName"]')).to_contain_text(name, timeout=60_000)
    expect(page.get_by_text("Detected separator")).to_be_visible(timeout=60_000)
    wait_idle(page)


def _choose(page, label: str, option: str) -> None:
    page.locator('[data-testid="stSelectbox"]').filter(has_text=label).locator("input").click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")
    wait_idle(page)


def test_data_page_reports_a_not_rated_code_and_melts_a_matrix(browser_page, app_url):
    page = browser_page
    open_page(page, app_url, "data")
    page.get_by_text("Upload a file").click()
    wait_idle(page)

    _upload(page, "anime.csv")
    expect(page.get_by_text("outside the scale of the other ratings")).to_be_visible()
    page.get_by_role("button", name="Load this file").click()
    expect(page.get_by_text("holds -1 in 4 of 10 rows (40.0%)")).to_be_visible(timeout=60_000)
    assert_no_exception(page)
    shot(page, "data-field-anime")

    _upload(page, "jester_wide.csv")
    expect(page.get_by_text("Recognised as a user × item matrix")).to_be_visible()
    page.get_by_text("Reading options: layout").click()
    _choose(page, "Layout", "User x item matrix")
    page.locator('[data-testid="stMultiSelect"]').filter(has_text="Not-rated values to drop").locator(
        "input"
    ).click()
    page.keyboard.type("99")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    wait_idle(page)
    page.get_by_role("button", name="Load this file").click()
    expect(page.get_by_text("Dropped 13 rows (32.5%)")).to_be_visible(timeout=60_000)
    wait_idle(page)
    assert_no_exception(page)
    shot(page, "data-field-jester-matrix")

    # the melted matrix trains; the result stands beside the predict-the-mean baseline
    page.get_by_role("link", name="Train").click()  # in this session: a new URL would be a new session
    wait_idle(page)
    expect(page.get_by_text("On Upload: jester_wide.csv")).to_be_visible()
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text("Predict-the-mean RMSE").first).to_be_visible(timeout=120_000)
    wait_idle(page)
    assert_no_exception(page)
    shot(page, "train-field-jester-matrix")
