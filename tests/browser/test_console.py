"""What a person sees in the console, in a real browser: the portfolio, a filtered list, a
request's path and timeline, the state as of a date, on a phone and on a wide screen."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import Console, missing
from tests.web.store import REQUESTS

try:
    from playwright.sync_api import Page, expect
except ImportError:  # pragma: no cover - dev installs have it
    missing("Playwright for Python is not installed (pip install playwright)", module=True)

pytestmark = pytest.mark.browser


def test_the_portfolio_shows_its_figures_as_charts(
    page: Page, console: Console, shots: Path, errors: list[str]
) -> None:
    page.goto(console.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Portfolio")
    expect(page.locator(".tiles")).to_contain_text(f"{REQUESTS} requests")
    expect(page.locator("figure.chart svg")).to_have_count(7)
    expect(page.get_by_role("img", name="By state")).to_be_visible()
    page.screenshot(path=shots / "console-portfolio.png", full_page=True)
    rejected = console.engine.requests(state="rejected", limit=200)
    page.locator('svg a[href="/requests?state=rejected"]').click()  # a bar of "By state"
    expect(page).to_have_url(re.compile(r"/requests\?state=rejected$"))
    expect(page.locator("#results-count")).to_contain_text(f"{rejected.total} matching")
    assert errors == []


def test_filtering_the_list_swaps_the_results_and_keeps_the_filter_in_the_url(
    page: Page, console: Console, errors: list[str]
) -> None:
    expected = console.engine.requests(state="disseminated", limit=200)
    page.goto(console.url + "/requests")
    count = page.locator("#results-count")
    expect(count).to_contain_text(f"of {REQUESTS} matching")
    page.get_by_label("State").select_option("disseminated")
    expect(count).to_contain_text(f"{expected.total} matching requests (filtered)")
    expect(page).to_have_url(re.compile(r"state=disseminated"))
    expect(page.locator("#results tbody tr")).to_have_count(len(expected))
    word = (expected[0].title or "").split()[-1]
    page.get_by_label("Title or institution contains").fill(word)
    narrowed = console.engine.requests(state="disseminated", q=word, limit=200)
    expect(count).to_contain_text(f"{narrowed.total} matching")
    expect(page).to_have_url(re.compile(r"q="))
    page.reload()  # the URL alone brings the same list back
    expect(page.get_by_label("State")).to_have_value("disseminated")
    expect(count).to_contain_text(f"{narrowed.total} matching")
    assert errors == []


def test_the_list_filters_without_javascript_too(browser, console: Console) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(console.url + "/requests")
    page.get_by_label("State").select_option("rejected")
    page.get_by_role("button", name="Filter").click()
    rejected = console.engine.requests(state="rejected", limit=200)
    expect(page.locator("#results-count")).to_contain_text(f"{rejected.total} matching")
    expect(page).to_have_url(re.compile(r"state=rejected"))
    context.close()


def _open_first(page: Page, console: Console, state: str) -> str:
    page.goto(console.url + f"/requests?state={state}")
    link = page.locator("#results tbody tr a").first
    short = link.inner_text()
    link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(short)
    return page.url.rsplit("/", 1)[1]


def test_a_request_shows_its_path_and_current_state_highlighted(
    page: Page, console: Console, shots: Path, errors: list[str]
) -> None:
    rid = _open_first(page, console, "disseminated")
    history = console.engine.history(rid)
    moves = {(e.source, e.dest) for e in history if e.source and e.source != e.dest}
    expect(page.locator("#current-state")).to_have_text("disseminated")
    expect(page.locator('g.state.current[data-state="disseminated"]')).to_have_count(1)
    taken = page.locator("path.edge.taken")
    expect(taken.first).to_be_visible()
    edges = taken.evaluate_all("es => es.map(e => e.getAttribute('data-edge'))")
    assert sorted(edges) == sorted(f"{s}-{d}" for s, d in moves)  # only the fired trigger's
    for e in history:
        expect(page.locator(f'g.state.visited[data-state="{e.dest}"]')).to_have_count(1)
    expect(page.locator("g.state.visited")).to_have_count(len({e.dest for e in history}))
    colour = page.locator("path.edge.taken").first.evaluate("e => getComputedStyle(e).stroke")
    plain = page.locator("path.edge:not(.taken)").first.evaluate("e => getComputedStyle(e).stroke")
    assert colour != plain  # the path taken is drawn in its own colour
    page.screenshot(path=shots / "console-request.png")
    assert errors == []


def test_following_the_timeline_explains_each_step(
    page: Page, console: Console, errors: list[str]
) -> None:
    rid = _open_first(page, console, "disseminated")
    second = console.engine.explain(rid, 2)
    step = page.locator("#v2")
    expect(step).to_contain_text(f"{second.trigger}")
    expect(step).to_contain_text(f"by {second.actor} as {second.role}")
    step.locator("summary").click()
    for g in second.guards:
        expect(step.locator(".guards")).to_contain_text(g.name)
    step.get_by_role("link", name=re.compile("Explain v2")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(second.trigger)
    expect(page.locator("dl.header")).to_contain_text(second.hash)
    expect(page.locator("dl.header")).to_contain_text("recomputes ✓")
    page.get_by_role("link", name="Previous event").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Event v1")
    page.get_by_role("link", name="Back to the timeline").click()
    expect(page.locator("#v1")).to_be_visible()
    assert errors == []


def test_changing_the_as_of_date_shows_the_request_as_it_was(
    page: Page, console: Console, errors: list[str]
) -> None:
    rid = _open_first(page, console, "disseminated")
    history = console.engine.history(rid)
    then = history[1]  # the second step: its day, once it had happened
    day = then.at.date().isoformat()
    on_day = [e for e in history if e.at.date() <= then.at.date()]
    page.get_by_label("As of").fill(day)
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"as_of={day}"))
    expect(page.locator("#current-state")).to_have_text(on_day[-1].dest)
    expect(page.locator("#asof-note")).to_contain_text(f"{len(history) - len(on_day)} later event")
    expect(page.locator(".timeline > li")).to_have_count(len(on_day))
    expect(page.locator(f'g.state.current[data-state="{on_day[-1].dest}"]')).to_have_count(1)
    expect(page.locator('g.state.visited[data-state="disseminated"]')).to_have_count(0)
    page.get_by_role("link", name="Now").click()
    expect(page.locator("#current-state")).to_have_text("disseminated")
    assert errors == []


@pytest.mark.parametrize("width", [360, 1920])
def test_every_page_fits_a_phone_and_a_wide_screen(browser, console: Console, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    rid = console.engine.requests(limit=1)[0].id
    for path in ("/", "/requests", f"/requests/{rid}", "/audit", "/operations"):
        page.goto(console.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, (path, overflow)
    context.close()


def test_the_keyboard_focus_is_visible(page: Page, console: Console) -> None:
    page.goto(console.url + "/requests")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    outline = skip.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline != "none"


def test_the_audit_page_shows_the_signed_seal(page: Page, console: Console) -> None:
    page.goto(console.url + "/audit")
    expect(page.get_by_role("heading", name="Seals")).to_be_visible()
    expect(page.locator("table").first).to_contain_text("SHA256:")
    expect(page.locator("main")).to_contain_text("socieux audit verify")
