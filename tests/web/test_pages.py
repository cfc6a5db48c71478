"""Every console page renders from the demo store and shows what a person needs there."""

from __future__ import annotations

import hashlib
import re
from html import unescape

import pytest
from starlette.testclient import TestClient

from engine import Engine
from tests.web.store import REQUESTS, DemoStore


def text_of(html: str) -> str:
    """The page's visible text, tags stripped and whitespace folded."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_the_portfolio_shows_the_totals_and_draws_each_chart_as_svg(
    client: TestClient, console_engine: Engine
) -> None:
    page = client.get("/")
    assert page.status_code == 200
    shown = text_of(page.text)
    assert f"{REQUESTS} requests" in shown
    for title in ("Funnel", "Days per stage", "By state", "By country", "By region"):
        assert title in shown
    assert "By area" in shown
    assert "By year submitted" in shown
    assert page.text.count("<svg") == 7
    assert "disseminated" in shown
    for state in console_engine.portfolio().by_state:
        assert f'<a href="/requests?state={state}">' in page.text  # each bar opens its list


def test_the_request_list_shows_every_request_with_a_total(client: TestClient) -> None:
    page = client.get("/requests?limit=200")
    assert page.status_code == 200
    assert f"showing {REQUESTS} of {REQUESTS} matching requests" in text_of(page.text)
    assert page.text.count('href="/requests/') == REQUESTS


def _name_version(key: str) -> tuple[str, int]:
    name, _, version = key.rpartition("@")
    return name, int(version)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=disseminated", "state"),
        ("country=KH", "country"),
        ("country=kh", "country"),
        ("overdue=1", "overdue"),
        ("definition=technical-assistance@1", "definition"),
    ],
)
def test_each_filter_narrows_the_list_as_the_engine_does(
    client: TestClient, console_engine: Engine, query: str, field: str
) -> None:
    _key, value = query.split("=")
    if field == "definition":
        filters: dict[str, object] = {
            "definition_hash": console_engine.registry.get(*_name_version(value)).hash
        }
    else:
        filters = {
            "state": {"state": value},
            "country": {"country": value.upper()},
            "overdue": {"overdue": True},
        }[field]
    expected = console_engine.requests(limit=200, **filters)
    shown = text_of(client.get(f"/requests?limit=200&{query}").text)
    if expected.total:
        assert f"showing {len(expected)} of {expected.total} matching" in shown
    else:
        assert "no request matches" in shown
    for row in expected:
        assert str(row.id)[:8] in shown


def test_an_area_and_free_text_filter_match_the_engine(
    client: TestClient, console_engine: Engine
) -> None:
    row = console_engine.requests(limit=1)[0]
    area = row.areas[0]
    by_area = console_engine.requests(area=area, limit=200)
    shown = text_of(client.get("/requests", params={"area": area, "limit": 200}).text)
    assert f"of {by_area.total} matching" in shown
    word = (row.institution or row.title or "").split()[0]
    found = console_engine.requests(q=word.lower(), limit=200)
    shown = text_of(client.get("/requests", params={"q": word.lower(), "limit": 200}).text)
    assert f"of {found.total} matching" in shown
    assert str(row.id)[:8] in shown


def test_keyset_pages_cover_the_list_once_and_keep_the_filters(client: TestClient) -> None:
    seen: list[str] = []
    url = "/requests?limit=10&sort=created"
    while url:
        html = client.get(url).text
        assert "of 24 matching" in text_of(html)
        seen += re.findall(r'href="/requests/([0-9a-f-]{36})"', html)
        nxt = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = unescape(nxt.group(1)) if nxt else ""
        if url:
            assert "sort=created" in url
            assert "limit=10" in url
    assert len(seen) == REQUESTS == len(set(seen))


def test_htmx_gets_only_the_results_fragment_and_a_browser_the_whole_page(
    client: TestClient,
) -> None:
    fragment = client.get(
        "/requests?state=rejected", headers={"HX-Request": "true", "HX-Target": "results"}
    )
    assert fragment.text.lstrip().startswith('<section id="results"')
    assert "<html" not in fragment.text
    restore = client.get(
        "/requests?state=rejected",
        headers={"HX-Request": "true", "HX-Target": "results", "HX-History-Restore-Request": "1"},
    )
    assert "<html" in restore.text
    assert fragment.headers["vary"] == "HX-Request"


def _disseminated(engine: Engine) -> str:
    return str(engine.requests(state="disseminated", limit=1)[0].id)


def test_a_request_shows_its_header_path_and_timeline(
    client: TestClient, console_engine: Engine
) -> None:
    rid = _disseminated(console_engine)
    history = console_engine.history(rid)
    page = client.get(f"/requests/{rid}")
    assert page.status_code == 200
    shown = text_of(page.text)
    assert "State disseminated" in shown
    assert f"technical-assistance v{console_engine.get(rid).definition_version}" in shown
    for e in history:
        assert f"v{e.version} {e.trigger}" in shown
        assert f"by {e.actor} as {e.role}" in shown
        assert e.hash[:12] in shown
        assert f'href="/requests/{rid}/events/{e.version}"' in page.text
    assert 'class="state final visited current" data-state="disseminated"' in page.text
    taken = {f"{e.source}-{e.dest}" for e in history if e.source and e.source != e.dest}
    for edge in taken:
        assert 'class="edge taken" d=' in page.text
        assert re.search(rf'class="edge taken"[^>]*data-edge="{edge}"', page.text)


def test_a_short_id_opens_the_same_request(client: TestClient, console_engine: Engine) -> None:
    rid = _disseminated(console_engine)
    assert f"Request {rid}" in text_of(client.get(f"/requests/{rid[:8]}").text)


def test_as_of_a_date_shows_the_request_as_it_was_then(
    client: TestClient, console_engine: Engine
) -> None:
    rid = _disseminated(console_engine)
    history = console_engine.history(rid)
    second = history[1]
    page = client.get(f"/requests/{rid}", params={"as_of": second.at.isoformat()})
    shown = text_of(page.text)
    assert page.status_code == 200
    assert f"State {second.dest}" in shown
    assert f"{len(history) - 2} later events not shown" in shown
    assert f"v{history[2].version} {history[2].trigger}" not in shown
    by_version = text_of(client.get(f"/requests/{rid}?version=1").text)
    assert f"State {history[0].dest}" in by_version


def test_an_event_page_explains_the_guards_and_links_the_hash_chain(
    client: TestClient, console_engine: Engine
) -> None:
    rid = _disseminated(console_engine)
    explained = console_engine.explain(rid, 2)
    page = client.get(f"/requests/{rid}/events/2")
    shown = text_of(page.text)
    assert page.status_code == 200
    assert explained.hash in shown
    assert explained.prev_hash in shown
    assert "recomputes ✓" in shown
    for g in explained.guards:
        assert f"{g.name} v{g.version}" in shown
    assert f'href="/requests/{rid}/events/1"' in page.text


def test_the_audit_page_shows_seals_with_their_signers_fingerprint_and_refusals(
    client: TestClient, demo_store: DemoStore, console_engine: Engine
) -> None:
    shown = text_of(client.get("/audit").text)
    digest = hashlib.sha256(bytes.fromhex(demo_store.public_key)).hexdigest()[:16]
    assert "SHA256:" + ":".join(digest[i : i + 4] for i in range(0, 16, 4)) in shown
    assert "#1" in shown
    assert "socieux audit verify" in shown
    if not hasattr(console_engine, "verify_runs"):
        assert "No verify run recorded yet." in shown
    rejected = console_engine.audit_trail(trigger="reject", limit=1000)
    assert rejected.total > 0
    assert str(rejected[-1].instance_id)[:8] in shown


def test_the_operations_page_shows_projections_and_subscribers(
    client: TestClient, console_engine: Engine
) -> None:
    shown = text_of(client.get("/operations").text)
    for status in console_engine.projection_status():
        assert status.name in shown
    assert "mailer" in shown
    assert "No parked events." in shown
