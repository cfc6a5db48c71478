"""Bad input gets a 4xx page naming the problem: never a 500, never a traceback."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from engine import Engine


def assert_error_page(response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text
    assert 'role="alert"' in response.text
    for word in words:
        assert word in response.text


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("state=bogus", ("unknown state", "disseminated")),
        ("area=no.such.area", ("unknown area",)),
        ("definition=nope@9", ("unknown definition",)),
        ("country=KHM", ("two-letter",)),
        ("country=%E2%82%AC%E2%82%AC", ("two-letter",)),
        ("limit=0", ("limit",)),
        ("limit=201", ("limit",)),
        ("limit=-5", ("limit",)),
        ("limit=%D9%A3", ("limit",)),  # an Arabic-Indic digit three: not a page size
        ("sort=sideways", ("sort",)),
        ("overdue=maybe", ("overdue",)),
        ("cursor=not-a-cursor", ("cursor",)),
        ("q=%00", ("control characters",)),
        ("q=" + "x" * 201, ("at most 200",)),
        ("q=%1B%5B31m", ("control characters",)),  # a terminal escape
    ],
)
def test_a_bad_list_filter_is_a_400_naming_it(client: TestClient, query: str, words) -> None:
    assert_error_page(client.get(f"/requests?{query}"), 400, *words)


@pytest.mark.parametrize(
    "query",
    [
        "q=%F0%9F%98%80",  # an emoji
        "q=%E2%80%AE%E2%80%8B",  # right-to-left override, zero-width space
        "q=%C3%A9tude",
        "q=%25_%5C",  # LIKE's wildcards, matched literally
        "q=<script>",
        "q=%ED%A0%80",  # a lone surrogate as bytes: not UTF-8, read as U+FFFD
        "q=%FF%FE",
    ],
)
def test_odd_unicode_in_free_text_is_searched_and_shown_escaped(
    client: TestClient, query: str
) -> None:
    page = client.get(f"/requests?{query}")
    assert page.status_code == 200
    assert "<script>" not in page.text.split("<main", 1)[1]


def test_a_cursor_from_another_filter_is_refused(
    client: TestClient, console_engine: Engine
) -> None:
    cursor = console_engine.requests(limit=5, order="created").next_cursor
    assert cursor is not None
    assert_error_page(client.get(f"/requests?limit=5&cursor={cursor}"), 400, "cursor")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/requests/00000000-0000-4000-8000-000000000000", 404),
        ("/requests/ffff", 404),
        ("/requests/zzz", 400),
        ("/requests/%00", 400),
        ("/requests/%E2%98%83", 400),
        ("/requests/" + "a" * 300, 400),
        ("/requests/%20", 400),
        ("/no/such/page", 404),
    ],
)
def test_a_malformed_or_unknown_request_id_is_a_4xx(
    client: TestClient, path: str, status: int
) -> None:
    assert_error_page(client.get(path), status)


@pytest.mark.parametrize(
    ("query", "status", "word"),
    [
        ("as_of=yesterday", 400, "as_of"),
        ("as_of=2024-13-45", 400, "as_of"),
        ("as_of=2001-01-01", 404, "did not exist"),
        ("version=0", 400, "version"),
        ("version=abc", 400, "version"),
        ("version=99999", 404, "version"),
        ("as_of=2024-01-01&version=2", 400, "not both"),
    ],
)
def test_a_bad_as_of_or_version_is_a_4xx(
    client: TestClient, console_engine: Engine, query: str, status: int, word: str
) -> None:
    rid = console_engine.requests(limit=1)[0].id
    assert_error_page(client.get(f"/requests/{rid}?{query}"), status, word)


@pytest.mark.parametrize(("version", "status"), [("0", 400), ("x", 400), ("999", 404)])
def test_an_unknown_event_version_is_a_4xx(
    client: TestClient, console_engine: Engine, version: str, status: int
) -> None:
    rid = console_engine.requests(limit=1)[0].id
    assert_error_page(client.get(f"/requests/{rid}/events/{version}"), status)


def test_a_failure_inside_is_a_plain_500_page_logged_by_type(demo_store) -> None:
    from structlog.testing import capture_logs

    from engine.web import create_app

    engine = Engine.open(demo_store.url)
    app = create_app(engine)
    engine.close()  # every read now fails inside the store
    with TestClient(app) as client, capture_logs() as logs:
        answer = client.get("/requests")
    assert_error_page(answer, 500, "could not build this page")
    assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    assert [entry["event"] for entry in logs] == ["console_error"]
    assert logs[0]["path"] == "/requests"
