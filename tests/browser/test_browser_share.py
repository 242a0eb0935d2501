"""Real browser: the Train settings travel in the URL. A teacher sets the knobs, the address bar (and the
copy-link box) holds them, a page switch keeps them, and a shared link opened in a fresh browser context
(a student's phone) shows the same settings; a stale link gets a note, never a traceback."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_exception, open_page, shot, wait_idle

pytestmark = pytest.mark.browser

FASTBOOK = {"factors": "50", "bs": "64", "lr": "0.005", "wd": "0.1", "epochs": "5", "model": "dot"}


def query(page: Page) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(urlparse(page.url).query).items()}


def slider_value(page: Page, label: str) -> str:
    """The value a slider shows (the thumb's label), found by the slider's own label."""
    slider = page.locator('[data-testid="stSlider"]').filter(has_text=label).first
    return slider.locator('[data-testid="stSliderThumbValue"]').inner_text().strip()


def wait_for_query(page: Page, expected: dict[str, str]) -> None:
    page.wait_for_function(
        "(want) => { const q = new URLSearchParams(location.search);"
        " return Object.entries(want).every(([k, v]) => q.get(k) === v); }",
        arg=expected,
        timeout=60_000,
    )


def test_a_shared_link_opens_the_same_settings_in_a_fresh_browser(browser, browser_page, app_url):
    teacher = browser_page
    teacher.set_viewport_size({"width": 1280, "height": 720})
    open_page(teacher, app_url, "train")
    teacher.get_by_role("button", name="fastbook's settings").click()
    wait_idle(teacher)
    wait_for_query(teacher, FASTBOOK)  # a knob moved: the address bar follows
    assert query(teacher)["data"] == "demo"
    teacher.get_by_text("Copy link to this setup").click()
    wait_idle(teacher)
    link_box = teacher.locator('[data-testid="stCode"]').filter(has_text="factors=50").first
    expect(link_box).to_be_visible()
    assert_no_exception(teacher)
    shot(teacher, "share-teacher-1280x720", full=False)

    # a page switch in the navigation keeps the setup in the URL and on the knobs
    nav = teacher.get_by_test_id("stSidebarNavItems")
    nav.get_by_role("link", name="Home", exact=True).click()
    wait_idle(teacher)
    wait_for_query(teacher, FASTBOOK)
    nav.get_by_role("link", name="Train", exact=True).click()
    wait_idle(teacher)
    assert slider_value(teacher, "Latent factors") == "50"
    shared = teacher.url

    # a student opens the link on a phone: a fresh context is a fresh Streamlit session
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        student = context.new_page()
        student.set_default_timeout(60_000)
        student.goto(shared)
        student.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=90_000)
        wait_idle(student)
        assert_no_exception(student)
        assert slider_value(student, "Latent factors") == "50"
        assert slider_value(student, "Batch size") == "64"
        assert slider_value(student, "Learning rate") == "0.005"
        assert slider_value(student, "Weight decay") == "0.1"
        assert slider_value(student, "Epochs") == "5"
        assert {k: query(student)[k] for k in FASTBOOK} == FASTBOOK
        shot(student, "share-student-390x844", full=False)
    finally:
        context.close()


def test_a_stale_link_is_opened_with_a_note(browser_page, app_url):
    page = browser_page
    open_page(page, app_url, "train?model=transformer&bs=100&factors=20")
    expect(page.get_by_text("Some settings in this link could not be used")).to_be_visible()
    expect(page.get_by_text("must be a multiple of 8").first).to_be_visible()
    assert_no_exception(page)
    assert slider_value(page, "Latent factors") == "20"  # the good value of the same link applies
    assert slider_value(page, "Batch size") == "512"
    shot(page, "share-stale-link", full=False)


def test_markdown_in_a_link_neither_loads_an_image_nor_makes_a_link(browser_page, app_url):
    """Anyone can send a link: a value that closes a code span and holds an image, a link, a URL and an
    e-mail address is shown as the text it is; nothing is fetched from, or links to, that host."""
    page = browser_page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    hostile = {  # (each value is quoted back cut at 80 characters)
        "wd": ":material/home: :red[red] x` ![img](http://127.0.0.1:9/x.png) [click](http://127.0.0.1:9/) `",
        "split": "see www.evil.example or write to a@evil.example",
    }
    open_page(page, app_url, "train?" + urlencode(hostile))
    note = page.locator('[data-testid="stAlert"]').filter(has_text="could not be used")
    expect(note).to_be_visible()
    assert "![img](http://127.0.0.1:9/x.png)" in note.inner_text().replace("\u2060", "")  # read as typed
    hrefs = note.locator("a").evaluate_all("links => links.map(a => a.href)")
    assert hrefs == [], hrefs
    assert note.locator("img").count() == 0
    assert note.locator('[role="img"]').count() <= 1  # at most the note's own link_off icon
    assert ":material/home: :red[red]" in note.inner_text().replace("\u2060", "")
    assert "www.evil.example or write to a@evil.example" in note.inner_text().replace("\u2060", "")
    hosts = {urlparse(url).netloc for url in requested}
    assert not [host for host in hosts if host == "127.0.0.1:9" or host.endswith("evil.example")], hosts
    assert_no_exception(page)
    shot(page, "share-hostile-link", full=False)
