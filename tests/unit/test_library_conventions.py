"""Conventions people expect from a library: pages with a total and a cursor, typed results
exported from ``engine``, a distinct code for an unknown trigger, one id type, verifiable
history entries, and a testing kit that covers its whole plan."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

import engine as engine_pkg
import projections
from engine import (
    Engine,
    InvalidArgument,
    Page,
    TransitionNotAllowed,
    UnknownTrigger,
)
from engine.queries.introspect import history_entry
from engine.testing import StepClock, actor, kit, payload, walk_to
from projections.requests import RequestsProjection
from tests.helpers import REVIEWER, submit
from tests.toy import toy_definition
from workflows.technical_assistance.walking import attach_reports


@pytest.fixture
def toy() -> Engine:
    return Engine.open(
        "memory://", workflows=[toy_definition()], projections=projections.builtin(),
        clock=StepClock(),
    )  # fmt: skip


def _all_pages(fetch: object, **query: object) -> list[Page[object]]:
    pages: list[Page[object]] = []
    cursor = None
    while True:
        page = fetch(cursor=cursor, **query)  # type: ignore[operator]
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None:
            return pages


# ------------------------------------------------------------------ Page
def test_a_page_is_the_list_of_its_rows_with_a_total_and_a_cursor() -> None:
    page = Page(["a", "b"], total=5, next_cursor="c1")
    assert page == ["a", "b"]
    assert len(page) == 2
    assert page[0] == "a"
    assert list(page) == ["a", "b"]
    assert isinstance(page, list)
    assert (page.total, page.next_cursor) == (5, "c1")
    assert Page(["x"]).total == 1
    assert Page(["x"]).next_cursor is None
    assert "total=5" in repr(page)


@pytest.mark.parametrize("order", ["updated", "created", "id"])
def test_requests_come_in_pages_that_add_up_to_the_whole_list(toy: Engine, order: str) -> None:
    ids = [submit(toy, amount=i) for i in range(7)]
    toy.fire(ids[2], "note", {"text": "x"}, actor=REVIEWER)  # reorders "updated"
    whole = toy.requests(order=order, limit=100)
    assert (len(whole), whole.total, whole.next_cursor) == (7, 7, None)
    pages = _all_pages(toy.requests, order=order, limit=3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert all(p.total == 7 for p in pages)
    assert [r.id for p in pages for r in p] == [r.id for r in whole]  # type: ignore[attr-defined]
    assert {r.id for r in whole} == set(ids)  # type: ignore[attr-defined]


def test_the_default_page_says_there_is_more(toy: Engine) -> None:
    for i in range(52):
        submit(toy, amount=i)
    first = toy.requests()
    assert (len(first), first.total) == (50, 52)
    assert first.next_cursor is not None
    rest = toy.requests(cursor=first.next_cursor)
    assert (len(rest), rest.total, rest.next_cursor) == (2, 52, None)
    typed = toy.projection(RequestsProjection).list(state="submitted", limit=10)
    assert typed.total == 52
    assert isinstance(typed, Page)


def test_a_cursor_fits_only_the_query_that_made_it(toy: Engine) -> None:
    for i in range(3):
        submit(toy, amount=i)
    cursor = toy.requests(limit=1).next_cursor
    assert cursor is not None
    for bad in (
        {"cursor": cursor, "state": "submitted"},  # other filters
        {"cursor": cursor, "order": "id"},  # other order
        {"cursor": cursor, "offset": 1},  # both ways of paging
        {"cursor": "not-a-cursor"},
        {"cursor": "x" * 5000},
        {"cursor": 12},
    ):
        with pytest.raises(InvalidArgument):
            toy.requests(limit=1, **bad)
    with pytest.raises(InvalidArgument):
        toy.audit_trail(cursor=cursor)


def test_the_audit_trail_comes_in_pages(toy: Engine) -> None:
    iid = submit(toy)
    for i in range(4):
        toy.fire(iid, "note", {"text": f"n{i}"}, actor=REVIEWER)
    submit(toy)
    pages = _all_pages(toy.audit_trail, limit=2)
    assert [len(p) for p in pages] == [2, 2, 2]
    assert [r.position for p in pages for r in p] == [r.position for r in toy.audit_trail()]  # type: ignore[attr-defined]
    mine = toy.audit_trail(instance=iid, limit=3)  # a UUID is accepted, like a str
    assert (len(mine), mine.total) == (3, 5)
    assert all(r.instance_id == iid for r in mine)  # type: ignore[attr-defined]
    assert isinstance(mine[0].instance_id, UUID)  # type: ignore[attr-defined]


def test_experts_come_in_pages(socieux_engine: Engine) -> None:
    walk_to(socieux_engine, "mobilised")
    whole = socieux_engine.experts()
    assert whole.total == 2
    assert whole.next_cursor is None
    pages = _all_pages(socieux_engine.experts, limit=1)
    assert [len(p) for p in pages] == [1, 1]
    assert [e.expert_id for p in pages for e in p] == [e.expert_id for e in whole]  # type: ignore[attr-defined]
    one = socieux_engine.experts(expert="exp-es-1")
    assert (one.total, [e.expert_id for e in one]) == (1, ["exp-es-1"])  # type: ignore[attr-defined]


# ------------------------------------------------------------------ typed results
def test_every_result_type_is_exported_from_engine_and_rows_from_projections() -> None:
    wanted = {
        "IntegrityReport", "Seal", "ExportSummary", "HookStatus", "ParkedEvent",
        "ProjectionStatus", "ParkedProjectionEvent", "Explanation", "StateDiff",
        "ReplayReport", "Page", "UnknownTrigger",
    }  # fmt: skip
    assert wanted <= set(engine_pkg.__all__)
    assert engine_pkg.__all__ == sorted(engine_pkg.__all__)
    for name in engine_pkg.__all__:
        assert getattr(engine_pkg, name) is not None
    for name in wanted:
        assert getattr(engine_pkg, name).__name__ == name
    for name in ("RequestRow", "AuditRow", "ExpertSummary", "Assignment", "Portfolio"):
        assert name in projections.__all__
        assert getattr(projections, name).__name__ == name
    with pytest.raises(AttributeError):
        _ = projections.Nothing  # type: ignore[attr-defined]


# ------------------------------------------------------------------ unknown trigger
def test_an_unknown_trigger_has_its_own_code(toy: Engine) -> None:
    iid = submit(toy)
    with pytest.raises(UnknownTrigger) as unknown:
        toy.fire(iid, "no_such", actor=REVIEWER)
    assert unknown.value.code == "unknown_trigger"
    assert isinstance(unknown.value, TransitionNotAllowed)  # old handlers still catch it
    assert unknown.value.to_dict()["workflow"] == "toy"
    assert "no trigger 'no_such'" in str(unknown.value)
    with pytest.raises(TransitionNotAllowed) as wrong_state:
        toy.fire(iid, "approve", actor=REVIEWER)  # defined, but not from "submitted"
    assert type(wrong_state.value) is TransitionNotAllowed
    assert wrong_state.value.code == "transition_not_allowed"


# ------------------------------------------------------------------ one id type
def test_rows_carry_instance_ids_as_uuids(toy: Engine) -> None:
    iid = submit(toy)
    (row,) = toy.requests()
    assert row.id == iid
    assert isinstance(row.id, UUID)
    assert str(row.id) == str(iid)  # type: ignore[attr-defined]
    assert row.model_dump(mode="json")["id"] == str(iid)
    assert toy.audit_trail(instance=str(iid))[0].instance_id == iid  # type: ignore[attr-defined]


# ------------------------------------------------------------------ verified history
def test_a_history_entry_says_whether_its_event_verifies(toy: Engine) -> None:
    iid = submit(toy)
    toy.fire(iid, "note", {"text": "kept"}, actor=REVIEWER)
    assert [h.verified for h in toy.history(iid)] == [True, True]
    event = toy._reader.events(iid)[-1]
    object.__setattr__(event, "payload", {"text": "altered"})
    assert history_entry(event).verified is False
    assert toy.explain(iid, 2).verified is True  # an explanation is a history entry


# ------------------------------------------------------------------ the testing kit
def test_the_kits_activity_records_cover_every_planned_activity(socieux_engine: Engine) -> None:
    clockless = walk_to(socieux_engine, "mobilised")
    planned = [str(a["id"]) for a in clockless.data["activities"]]
    assert planned == [str(a["id"]) for a in payload("fine_tune")["activities"]]  # type: ignore[index]
    records = {a: payload("record_activity", activity_id=a) for a in planned}
    assert [r["activity_id"] for r in records.values()] == planned  # type: ignore[index]
    assert kit().records() == list(records.values())  # type: ignore[attr-defined]
    for record in records.values():
        socieux_engine.fire(clockless.id, "record_activity", record, actor=actor("expert"))
    attach_reports(socieux_engine, socieux_engine.get(clockless.id))  # version 3 wants them
    done = socieux_engine.fire(clockless.id, "implement", {}, actor=actor("team"))
    assert done.state == "implemented"
    assert payload("record_activity")["activity_id"] == planned[0]  # type: ignore[index]
    assert payload("record_activity", activity_id="Z9")["activity_id"] == "Z9"  # type: ignore[index]


def test_history_verification_is_cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    """``verified`` recomputes one hash per entry, never the whole chain per entry.

    Counted, not timed (no timed assertions): a quadratic history would recompute
    500,500 hashes for 1,000 events instead of 1,000.
    """
    import engine.queries.introspect as introspect

    calls = 0
    real = introspect.recompute_hash

    def counting(event: Any) -> str:
        nonlocal calls
        calls += 1
        return real(event)

    with Engine.open("memory://", workflows=[toy_definition()], projections=[]) as e:
        iid = submit(e)
        for i in range(999):
            e.fire(iid, "note", {"text": f"n{i}"}, actor=REVIEWER)
        monkeypatch.setattr(introspect, "recompute_hash", counting)
        history = e.history(iid)
    assert len(history) == 1000
    assert all(h.verified for h in history)
    assert calls == 1000
