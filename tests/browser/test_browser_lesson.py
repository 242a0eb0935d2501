"""Real browser on a projector: walk the whole Lesson with Next at 1280 x 720 and 150% zoom, screenshot each step,
no horizontal scrolling, and time the live spreadsheet from click to redrawn figure."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import ARTIFACTS, assert_no_exception, open_page, shot, wait_idle
from ui.lesson.steps import STEPS

pytestmark = pytest.mark.browser

# 1280 x 720 device pixels at 150% zoom: the page lays out in 853 x 480 CSS pixels
PROJECTOR = {"viewport": {"width": 853, "height": 480}, "device_scale_factor": 1.5}
# buttons that make a step show its live result (a model, a trained embedding) before the screenshot
PRESS = {
    4: "Train with the lesson's settings",
    5: "Run the sweep",
    6: "Train both, from the same start",
    7: "Compare the gradients",
    10: "Train the three models",
    11: "Train the two-target model",
    13: "Learn the embedding",
}


def horizontal_overflow(page: Page) -> list[str]:
    """Elements of the main area wider than their box: the page itself, and every table's scroller."""
    return page.evaluate(
        """() => {
        const out = [];
        const main = document.querySelector('[data-testid="stMain"]');
        if (main && main.scrollWidth > main.clientWidth + 1) out.push('page ' + main.scrollWidth + '>' + main.clientWidth);
        document.querySelectorAll('[data-testid="stDataFrame"] .dvn-scroller').forEach((el, i) => {
            if (el.scrollWidth > el.clientWidth + 1) out.push('table ' + i + ' ' + el.scrollWidth + '>' + el.clientWidth);
        });
        document.querySelectorAll('[data-testid="stTable"]').forEach((el, i) => {
            if (el.scrollWidth > el.clientWidth + 1) out.push('st.table ' + i);
        });
        return out;
    }"""
    )


def cut_text(page: Page) -> list[str]:
    """Metric values, headings and buttons whose text is wider than their box (cut off or ellipsised)."""
    return page.evaluate(
        """() => {
        const out = [];
        const sel = '[data-testid="stMain"] [data-testid="stMetricValue"], [data-testid="stMain"] h1, '
            + '[data-testid="stMain"] h3, [data-testid="stMain"] button p';
        document.querySelectorAll(sel).forEach((el) => {
            if (el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1) out.push(el.innerText.slice(0, 40));
        });
        return out;
    }"""
    )


def settle(page: Page, timeout_ms: int = 240_000) -> None:
    """The script has finished and nothing from the previous run is left (Streamlit marks leftovers stale)."""
    wait_idle(page, timeout_ms=timeout_ms)
    expect(page.locator('[data-stale="true"]')).to_have_count(0, timeout=timeout_ms)
    wait_idle(page, timeout_ms=timeout_ms)


def step_heading(page: Page, number: int) -> None:
    expect(page.locator("h3").filter(has_text=f"Step {number}. {STEPS[number - 1].title}")).to_have_count(1)


def metric_value(page: Page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def chart_title(page: Page, starts: str):
    return page.locator(".js-plotly-plot .gtitle").filter(has_text=starts)


def test_walk_the_lesson_on_a_projector(browser, app_url: str) -> None:
    context = browser.new_context(**PROJECTOR)
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        open_page(page, app_url, "lesson?step=1")
        # a narrow window starts with the sidebar collapsed: the step gets (nearly) the whole width
        expect(page.locator('section[data-testid="stSidebar"]')).to_have_attribute("data-collapsed", "true")
        width = page.evaluate(
            "() => document.querySelector('[data-testid=\"stMainBlockContainer\"]').getBoundingClientRect().width"
        )
        assert width >= 0.85 * PROJECTOR["viewport"]["width"], f"the step is {width:.0f} px of 853"
        timings: dict[str, float] = {}
        for number in range(1, len(STEPS) + 1):
            step_heading(page, number)
            assert f"step={number}" in page.url
            if STEPS[number - 1].title == "Batch size and memory":  # the lab compares the sliders above it
                accumulation = page.locator('[data-testid="stSlider"]', has_text="Accumulation steps")
                for _ in range(2):  # 1 -> 2 -> 4
                    accumulation.get_by_role("slider").press("ArrowRight")
                    settle(page)
                expect(page.get_by_text("4 micro-batches of 64")).to_be_visible()
            if number in PRESS:
                page.get_by_role("button", name=PRESS[number]).first.click()
                page.wait_for_timeout(1_000)
                settle(page)
            if STEPS[number - 1].title.startswith("Latent factors by hand"):
                timings |= time_spreadsheet(page)
            live = page.locator(
                '[data-testid="stMain"] .js-plotly-plot, [data-testid="stMain"] [data-testid="stDataFrame"]'
            )
            expect(live.first).to_be_visible()  # every step shows a live figure or table
            assert_no_exception(page)
            assert horizontal_overflow(page) == [], f"step {number} scrolls sideways"
            assert cut_text(page) == [], f"step {number} cuts text"
            shot(page, f"lesson-step-{number:02d}")
            if number < len(STEPS):
                page.get_by_role("button", name="Next").first.click()
                page.wait_for_timeout(500)
                settle(page)
        expect(page.get_by_role("button", name="Next").first).to_be_disabled()
        (ARTIFACTS / "lesson-timings.txt").write_text(
            "".join(f"{name}: {seconds:.2f} s\n" for name, seconds in timings.items())
        )
        # reload lands on the same step; a step that does not exist leaves a note, not a traceback
        page.reload()
        page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=90_000)
        wait_idle(page)
        step_heading(page, len(STEPS))
        open_page(page, app_url, "lesson?step=99")
        expect(page.get_by_text("The link asks for step '99'")).to_be_visible()
        assert_no_exception(page)
    finally:
        context.close()


def time_spreadsheet(page: Page) -> dict[str, float]:
    """Seconds from a click to the loss figure redrawn with the new step count, as a student sees it."""
    one = page.get_by_role("button", name="One step")
    started = time.perf_counter()
    one.click()
    expect(chart_title(page, "after 1 steps")).to_have_count(1, timeout=60_000)
    one_step = time.perf_counter() - started
    wait_idle(page)
    started = time.perf_counter()
    page.get_by_role("button", name="Run to convergence").click()
    # the live curve redraws every 100 steps; the run is over when the steps metric shows the final count
    # and the figure's title carries the same number
    # (each run starts again from the seed's random factors, and says so)
    finished = page.get_by_text(
        re.compile(r"^From the seed's random start: (ran to convergence|stopped at the [\d,]+-step limit) in")
    )
    expect(finished).to_have_count(1, timeout=120_000)
    steps = int(metric_value(page, "Gradient steps").replace(",", ""))
    expect(chart_title(page, f"after {steps} steps")).to_have_count(1)
    converged = time.perf_counter() - started
    wait_idle(page)
    assert steps > 100
    return {
        "one step, click to redrawn loss figure": one_step,
        f"run to convergence ({steps} steps)": converged,
    }


def test_every_lesson_step_fits_a_phone(browser, app_url: str) -> None:
    """390 x 844: each step, opened by its link, scrolls only downwards and cuts no metric, title or button."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        for number in range(1, len(STEPS) + 1):
            open_page(page, app_url, f"lesson?step={number}")
            step_heading(page, number)
            settle(page)
            assert_no_exception(page)
            # a wide table may scroll inside its own box on a phone (its first column stays in view); the page may not
            page_overflow = [o for o in horizontal_overflow(page) if o.startswith("page")]
            assert page_overflow == [], f"step {number} scrolls sideways on a phone"
            assert cut_text(page) == [], f"step {number} cuts text on a phone"
            if number in (2, 3):
                shot(page, f"lesson-phone-step-{number:02d}")
    finally:
        context.close()
