"""One deliverer per name: the lease is held (renewed per event) while handlers run.

Two engines on one store subscribe the same name with a short lease and a handler slower
than lease/100 (a page of 100 events outlasts the lease): the handler never runs in both
at once, every event is delivered, and the position reaches the head. A deliverer whose
lease was taken over stops before its next handler call and writes no position.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from engine import Engine, HookLag
from engine.hooks.types import Handler, HookEvent
from tests.conftest import POSTGRES_URL
from tests.helpers import submit
from tests.toy import toy_definition

LEASE = 0.6
SLOW = 0.05  # > LEASE / 100: a page of 100 such events takes far longer than the lease
BACKENDS = ["sqlite", "postgres"]

Delivery = tuple[int, float, float, str]
"""(notification id, start, end, who) of one handler call."""


def _open(url: str) -> Engine:
    return Engine.open(url, workflows=[toy_definition()], projections=[])


def _slow_handler(who: str, log: list[Delivery], lock: threading.Lock) -> Handler:
    def handle(event: HookEvent) -> None:
        start = time.monotonic()
        time.sleep(SLOW)
        with lock:
            log.append((event.notification_id, start, time.monotonic(), who))

    return handle


def _overlaps(log: list[Delivery]) -> list[tuple[Delivery, Delivery]]:
    """Pairs of handler calls by different deliverers that ran at the same time."""
    calls = sorted(log, key=lambda d: d[1])
    return [
        (x, y)
        for i, x in enumerate(calls)
        for y in calls[i + 1 :]
        if x[3] != y[3] and y[1] < x[2] and x[1] < y[2]
    ]


def _all_ids(engine: Engine) -> set[int]:
    page = engine.application.recorder.select_notifications(None, 10_000)
    return {n.id for n in page}


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_two_engines_on_one_name_never_run_its_handler_at_the_same_time(store_url: str) -> None:
    log: list[Delivery] = []
    lock = threading.Lock()
    with _open(store_url) as a, _open(store_url) as b:
        for _ in range(30):  # a backlog: one page takes 1.5 s, 2.5 leases
            submit(a)
        for who, engine in (("a", a), ("b", b)):
            handler = _slow_handler(who, log, lock)
            engine.subscribe(handler, name="mailer", start="beginning", lease=LEASE)
        for _ in range(5):  # and more while delivering, from both
            submit(a)
            submit(b)
        lag = None
        try:
            a.drain_hooks(timeout=60)
            b.drain_hooks(timeout=60)
        except HookLag as exc:  # two deliverers taking turns may never write a position
            lag = exc
        [status] = a.subscriptions()
        ids = _all_ids(a)
        head = a.application.recorder.max_notification_id()
    assert _overlaps(log) == []
    assert lag is None
    assert {d[0] for d in log} == ids  # every event at least once
    assert len(ids) == 40
    assert status.position == status.head == head


def _set_lease(url: str, name: str, owner: str | None, until: float | None) -> None:
    """Write ``name``'s lease columns behind the engine's back (another deliverer)."""
    sql = "UPDATE {t} SET owner = ?, lease_until = ? WHERE name = ?"
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute(sql.format(t="socieux_subscriptions"), (owner, until, name))
        return
    import psycopg

    schema = parse_qs(urlsplit(url).query)["schema"][0]
    table = f'"{schema}".socieux_subscriptions'
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.format(t=table).replace("?", "%s"), (owner, until, name))


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_a_deliverer_that_lost_its_lease_stops_before_the_next_handler_call(
    store_url: str,
) -> None:
    seen: list[int] = []

    def handler(event: HookEvent) -> None:
        seen.append(event.notification_id)
        if seen == [1, 2]:  # once
            _set_lease(store_url, "mailer", "elsewhere:1:x", time.time() + 3600)
            time.sleep(LEASE / 2)  # the next call is due to renew, and finds the thief

    with _open(store_url) as engine:
        for _ in range(5):
            submit(engine)
        engine.subscribe(handler, name="mailer", start="beginning", lease=LEASE, background=False)
        with pytest.raises(HookLag):
            engine.drain_hooks(timeout=1)
        assert seen == [1, 2]  # stopped before event 3
        [status] = engine.subscriptions()
        assert status.position == 0  # and wrote no position: the owner redelivers 1 and 2

        _set_lease(store_url, "mailer", None, None)  # the other deliverer went away
        engine.drain_hooks(timeout=30)
        [status] = engine.subscriptions()
    assert seen == [1, 2, 1, 2, 3, 4, 5]
    assert status.position == status.head
