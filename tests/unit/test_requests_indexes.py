"""The ``requests`` read model's indexes give the same rows as a plain scan would: free
text through the trigram index, ``area`` paging on the links' sort keys, and a rebuild
that builds the indexes after replaying the log."""

from __future__ import annotations

from typing import Any

import pytest

import projections.requests as requests_module
from engine import Engine
from engine.testing import walk_to
from projections.requests import RequestRow, RequestsProjection
from tests.conftest import EngineFactory
from workflows.technical_assistance.builders import ACTORS, action_plan_payload, request_payload
from workflows.technical_assistance.workflow import definition

pytestmark = pytest.mark.parametrize("store_url", ["memory", "sqlite", "postgres"], indirect=True)

AREAS = (("sp.financing",), ("sp.financing", "sp.information"), ("sp.information",))
INSTITUTIONS = ('Bureau "NEAR" AND OR*', "Ministry of Labour", "ministry of health")


def _engine(open_engine: EngineFactory) -> Engine:
    engine = open_engine(workflows=[definition()])
    for n in range(9):
        payload = request_payload(institution=INSTITUTIONS[n % 3], areas=AREAS[n % 3])
        walk_to(engine, "submitted", data_overrides={"submit": payload})
    return engine


def _every(requests: RequestsProjection, **filters: Any) -> list[RequestRow]:
    """Every matching row, two at a time through the cursor."""
    rows: list[RequestRow] = []
    cursor = None
    while True:
        page = requests.list(limit=2, cursor=cursor, **filters)
        rows.extend(page)
        assert page.total == requests.count(**{k: v for k, v in filters.items() if k != "order"})
        cursor = page.next_cursor
        if cursor is None:
            return rows


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("MINISTRY", 6),  # any case
        ("of health", 3),
        ('"NEAR" AND', 3),  # FTS5 syntax is matched as text
        ("OR*", 3),
        ('u "N', 3),
        ("zz", 0),  # too short for trigrams: scanned
        ("La", 3),
        ("Ministry of Labour and", 0),
    ],
)
def test_free_text_matches_literally_in_any_case(
    open_engine: EngineFactory, q: str, expected: int
) -> None:
    requests = _engine(open_engine).projection(RequestsProjection)
    assert requests.count(q=q) == expected
    assert len(_every(requests, q=q)) == expected


def test_free_text_read_in_sort_order_gives_the_same_rows(
    open_engine: EngineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = _engine(open_engine).projection(RequestsProjection)
    sorted_first = [r.id for r in _every(requests, q="ministry", order="created")]
    monkeypatch.setattr(requests_module, "PROBE_ABOVE", 0)  # always read in sort order
    assert [r.id for r in _every(requests, q="ministry", order="created")] == sorted_first
    assert len(_every(requests, q="ministry", state="submitted")) == 6


def test_area_pages_follow_the_latest_activity(open_engine: EngineFactory) -> None:
    engine = _engine(open_engine)
    requests = engine.projection(RequestsProjection)
    oldest = requests.list(order="created", limit=100)[-1]
    engine.fire(oldest.id, "fine_tune", action_plan_payload(), actor=ACTORS["team"])
    for order in ("updated", "created", "id"):
        everything = requests.list(order=order, limit=100)
        for area in ("sp.financing", "sp.information"):
            expected = [r.id for r in everything if area in r.areas]
            assert [r.id for r in _every(requests, area=area, order=order)] == expected
            also = [r.id for r in everything if area in r.areas and r.state == "fine_tuned"]
            assert [r.id for r in _every(requests, area=area, state="fine_tuned")] == also
    assert requests.list(area="sp.financing")[0].id == oldest.id


def test_a_rebuild_builds_the_indexes_and_answers_the_same(open_engine: EngineFactory) -> None:
    engine = _engine(open_engine)
    requests = engine.projection(RequestsProjection)
    queries: list[dict[str, Any]] = [
        {"area": "sp.information"},
        {"q": "ministry", "order": "created"},
        {"state": "submitted", "order": "id"},
    ]
    before = [[r.id for r in _every(requests, **q)] for q in queries]
    engine.rebuild_projections()
    assert [[r.id for r in _every(requests, **q)] for q in queries] == before
    names = {s.split()[5] for s in requests.indexes()}  # CREATE INDEX IF NOT EXISTS name
    sql = engine._parts.sql  # the read-model store, read directly for its catalogue
    with sql.read() as cur:
        if sql.dialect == "sqlite":
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        else:
            cur.execute("SELECT indexname AS name FROM pg_indexes")
        present = {row["name"] for row in cur.fetchall()}
    assert len(names) == 13
    assert names <= present


def test_one_filter_counts_are_the_rows_that_match(open_engine: EngineFactory) -> None:
    engine = _engine(open_engine)
    requests = engine.projection(RequestsProjection)
    rows = requests.list(limit=100)
    engine.fire(rows[0].id, "fine_tune", action_plan_payload(), actor=ACTORS["team"])
    engine.fire(rows[1].id, "withdraw", None, actor=ACTORS["partner"], reason="changed")
    rows = requests.list(limit=100)
    assert requests.count() == len(rows) == 9
    for col in ("state", "country", "region", "workflow", "institution", "institution_type"):
        for value in {getattr(r, col) for r in rows}:
            expected = sum(1 for r in rows if getattr(r, col) == value)
            assert requests.count(**{col: value}) == expected, (col, value)
            assert requests.list(**{col: value}).total == expected
    for area in ("sp.financing", "sp.information"):
        assert requests.count(area=area) == sum(1 for r in rows if area in r.areas)
    assert requests.count(state="approved") == 0
