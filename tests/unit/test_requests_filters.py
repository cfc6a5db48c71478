"""The ``requests`` read model's filters: ``since``/``until``, ``institution``, ``q``, areas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.errors import InvalidArgument
from engine.testing import walk_to
from projections.requests import RequestsProjection
from tests.conftest import EngineFactory
from workflows.technical_assistance.builders import request_payload
from workflows.technical_assistance.workflow import definition

pytestmark = pytest.mark.parametrize("store_url", ["memory", "sqlite", "postgres"], indirect=True)

INSTITUTIONS = ("Ministry of Labour", "National 100% Fund", "Social_Security Board")


def _requests(open_engine: EngineFactory) -> RequestsProjection:
    engine = open_engine(workflows=[definition()])
    for name in INSTITUTIONS:
        overrides = {"submit": request_payload(institution=name)}
        walk_to(engine, "submitted", data_overrides=overrides)
    return engine.projection(RequestsProjection)


def test_institution_is_an_exact_match(open_engine: EngineFactory) -> None:
    requests = _requests(open_engine)
    rows = requests.list(institution="Ministry of Labour")
    assert [r.institution for r in rows] == ["Ministry of Labour"]
    assert requests.count(institution="ministry of labour") == 0
    assert requests.count(institution="Ministry") == 0


def test_q_is_a_case_insensitive_substring_of_title_or_institution(
    open_engine: EngineFactory,
) -> None:
    requests = _requests(open_engine)
    assert {r.institution for r in requests.list(q="MINISTRY")} == {"Ministry of Labour"}
    assert requests.count(q="technical assistance") == 3  # every title
    assert requests.count(q="nothing like it") == 0


def test_q_matches_percent_and_underscore_literally(open_engine: EngineFactory) -> None:
    requests = _requests(open_engine)
    assert [r.institution for r in requests.list(q="100%")] == ["National 100% Fund"]
    assert [r.institution for r in requests.list(q="l_s")] == ["Social_Security Board"]
    assert requests.count(q="%") == 1
    assert requests.count(q="_") == 1
    assert requests.count(q="\\") == 0


def test_since_and_until_bound_the_last_activity(open_engine: EngineFactory) -> None:
    requests = _requests(open_engine)
    rows = requests.list(order="id")
    times = sorted(r.updated_at for r in rows)
    first, last = times[0], times[-1]
    assert requests.count(since=first) == 3
    assert requests.count(since=last) == 1
    assert requests.count(until=last) == 2
    assert requests.count(since=first, until=first) == 0
    assert requests.count(until=first - timedelta(days=1)) == 0
    local = last.astimezone(datetime.now().astimezone().tzinfo)
    assert requests.count(since=local) == 1


def test_filters_work_with_cursor_paging(open_engine: EngineFactory) -> None:
    requests = _requests(open_engine)
    filters: dict[str, Any] = {"q": "technical", "since": datetime(2000, 1, 1, tzinfo=UTC)}
    first = requests.list(limit=2, **filters)
    assert first.total == 3
    assert first.next_cursor is not None
    rest = requests.list(limit=2, cursor=first.next_cursor, **filters)
    assert rest.next_cursor is None
    assert len({r.id for r in [*first, *rest]}) == 3
    with pytest.raises(InvalidArgument):  # a cursor fits only its own filters
        requests.list(limit=2, cursor=first.next_cursor, q="other")


def test_areas_lists_the_distinct_areas(open_engine: EngineFactory) -> None:
    requests = _requests(open_engine)
    assert requests.areas() == ["sp.financing", "sp.insurance.pensions"]


@pytest.mark.parametrize(
    "filters",
    [
        {"since": datetime(2024, 1, 1)},  # naive
        {"until": "2024-01-01"},
        {"institution": ""},
        {"institution": 3},
        {"q": ""},
        {"q": "x" * 201},
        {"q": "a\x00b"},
    ],
)
def test_bad_values_are_invalid_arguments(
    open_engine: EngineFactory, filters: dict[str, Any]
) -> None:
    requests = open_engine(workflows=[definition()]).projection(RequestsProjection)
    with pytest.raises(InvalidArgument):
        requests.list(**filters)
    with pytest.raises(InvalidArgument):
        requests.count(**filters)
