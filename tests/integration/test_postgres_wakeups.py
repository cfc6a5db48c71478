"""LISTEN/NOTIFY on PostgreSQL: commits notify their schema's channel, and another
process's commit wakes a waiting hook dispatcher, projection worker and ``wait_for`` long
before their fallback poll (set to 60 s here, against 30 s test timeouts), also after the
listening connection was terminated."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import IO, Any

import psycopg
import pytest
from psycopg import sql

from engine import Engine
from engine.hooks.types import HookEvent
from engine.persistence.notify import channel, wakeups_of
from projections import RequestsProjection
from tests.conftest import drop_schema, postgres_or_skip
from tests.helpers import submit
from tests.toy import toy_definition

ROOT = __file__.rsplit("/tests/", 1)[0]
SLOW = "&fallback_poll=60"
WAIT = 30.0


@pytest.fixture
def schema() -> Iterator[str]:
    postgres_or_skip()
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    drop_schema(name)


def _url(schema: str, extra: str = "") -> str:
    base = postgres_or_skip()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}schema={schema}&application_name={schema}{extra}"


def _open(schema: str, extra: str = "", **kwargs: Any) -> Engine:
    kwargs.setdefault("projections", [])
    return Engine.open(_url(schema, extra), workflows=[toy_definition()], **kwargs)


class Committer:
    """A second process that records one event per :meth:`commit`."""

    def __init__(self, url: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.pg_commit_host", url],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._line() == "ready"

    def _line(self) -> str:
        out: IO[str] | None = self.proc.stdout
        assert out is not None
        return out.readline().strip()

    def commit(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        return int(self._line())

    def close(self) -> None:
        self.proc.communicate(timeout=60)  # closes its input: it exits
        assert self.proc.returncode == 0


@pytest.fixture
def committer(schema: str) -> Iterator[Committer]:
    with _open(schema):  # create the tables first
        pass
    other = Committer(_url(schema, "&notify=on"))
    yield other
    other.close()


def _listening(engine: Engine) -> None:
    assert wakeups_of(engine.application).wait_listening(WAIT)


class Probe(threading.Event):
    """The dispatcher's wake event, telling the test when it sleeps and for how long."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeping = threading.Event()
        self.timeout: float | None = None

    def wait(self, timeout: float | None = None) -> bool:
        self.timeout = timeout
        self.sleeping.set()
        try:
            return super().wait(timeout)
        finally:
            self.sleeping.clear()


def _probed(engine: Engine) -> Probe:
    probe = Probe()
    engine._hooks.dispatcher._wake = probe  # before subscribing: the thread registers it
    return probe


def _asleep(probe: Probe) -> None:
    """Wait until the dispatcher sleeps its 60 s fallback with nothing pending: from here
    only a ``set()`` (a notification: this engine commits nothing) wakes it in time."""
    deadline = time.monotonic() + WAIT
    while not (probe.sleeping.is_set() and probe.timeout == 60 and not probe.is_set()):
        assert time.monotonic() < deadline, "the dispatcher never went to sleep"
        time.sleep(0.01)


def test_a_commit_notifies_its_schema_channel_with_its_last_id(schema: str) -> None:
    other = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_or_skip(), autocommit=True) as conn:
        for name in (channel(schema, "events"), channel(other, "events")):
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(name)))
        try:
            with _open(schema, "&notify=off") as quiet, _open(other) as loud:
                submit(quiet)  # notify=off: sends nothing
                submit(loud)
                submit(quiet)
                with _open(schema) as engine:
                    submit(engine)
                    last = engine.last_position
            got = [(n.channel, n.payload) for n in conn.notifies(timeout=WAIT, stop_after=2)]
        finally:
            drop_schema(other)
    # in commit order: the other schema's own channel, then this one's with its last id
    assert got == [(channel(other, "events"), "1"), (channel(schema, "events"), str(last))]


def test_another_processs_commit_wakes_the_hook_dispatcher(
    schema: str, committer: Committer
) -> None:
    seen: list[int] = []
    arrived = threading.Event()

    def handler(event: HookEvent) -> None:
        seen.append(event.notification_id)
        arrived.set()

    with _open(schema, SLOW) as engine:
        probe = _probed(engine)
        engine.subscribe(handler, name="wake", start="head")
        _listening(engine)
        for _ in range(2):
            arrived.clear()
            _asleep(probe)
            position = committer.commit()
            assert arrived.wait(WAIT), "the dispatcher slept through another process's commit"
            assert seen[-1] == position
        assert len(seen) == 2


def _backend(name: str) -> list[int]:
    with psycopg.connect(postgres_or_skip(), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (name,)
        ).fetchall()
    return [int(r[0]) for r in rows]


def test_the_dispatcher_recovers_when_its_listening_connection_is_killed(
    schema: str, committer: Committer
) -> None:
    seen: list[int] = []
    arrived = threading.Event()

    def handler(event: HookEvent) -> None:
        seen.append(event.notification_id)
        arrived.set()

    with _open(schema, SLOW) as engine:
        probe = _probed(engine)
        engine.subscribe(handler, name="wake", start="head")
        _listening(engine)
        committer.commit()
        assert arrived.wait(WAIT)
        (old,) = _backend(f"{schema}:listen")
        with psycopg.connect(postgres_or_skip(), autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (old,))
        deadline = time.monotonic() + WAIT
        while _backend(f"{schema}:listen") in ([], [old]) and time.monotonic() < deadline:
            time.sleep(0.05)  # waiting for the listener to reconnect
        (new,) = _backend(f"{schema}:listen")
        assert new != old
        _listening(engine)
        for _ in range(2):
            arrived.clear()
            _asleep(probe)
            position = committer.commit()
            assert arrived.wait(WAIT), "no wake-up after the listener reconnected"
            assert seen[-1] == position


def test_another_processs_commit_wakes_the_projection_worker_and_wait_for(
    schema: str, committer: Committer
) -> None:
    stop = threading.Event()
    kwargs: dict[str, Any] = {"projections": [RequestsProjection()], "projection_mode": "worker"}
    with _open(schema, SLOW, **kwargs) as worker, _open(schema, SLOW, **kwargs) as reader:
        thread = threading.Thread(target=lambda: worker.run_projections(stop=stop.is_set))
        thread.start()
        try:
            _listening(worker)
            for _ in range(2):  # the second while the worker and wait_for sleep 60 s
                position = committer.commit()
                reader.wait_for(position, timeout=WAIT)  # ProjectionLag if nobody woke
            assert reader.requests().total == 2
        finally:
            stop.set()
            thread.join(WAIT)
        assert not thread.is_alive()
