"""Group commit on SQLite and PostgreSQL: writes that share one transaction never harm
each other.

The deterministic tests block the engine's writes while commands queue, so that the next
leader takes all of them into one transaction (``GroupStats.largest`` proves it); then one
of them fails on its own (a taken version, a failing inline hook) and the others must
commit. The load test runs 8 threads x many commands at synchronous FULL; the crash
test SIGKILLs a process of 8 writer threads at random moments.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from engine import Actor, ConcurrencyConflict, Engine, EngineError, GuardRejected
from engine.persistence.group import GroupCommit
from tests.conftest import POSTGRES_URL, EngineFactory
from tests.helpers import REQUESTER, REVIEWER, event_count, submit
from tests.reliability._workers import (
    WORKER,
    check_log,
    count_engine_logs,
    cycle_engine,
    read_writer_log,
    start_instances,
)
from tests.reliability.conftest import Figures, scale

THREADS = 8
WAIT = 60.0  # seconds before a test gives up waiting for threads (a hang, not a timing)


def _group(engine: Engine) -> GroupCommit:
    group = engine.application.group
    assert group is not None, "a SQLite file engine has group commit"
    return group


@contextmanager
def _writer_held(engine: Engine) -> Iterator[None]:
    """Block the engine's writes, as a long transaction of another writer would, so that
    the writes started meanwhile all queue for the next group.

    SQLite: hold the pool's writer connection (a leader waits for it before it takes its
    group). PostgreSQL: hold the events table's lock from another session, and let one
    spare note become the leader first (it waits in ``LOCK TABLE``, seen in ``pg_locks``).
    """
    recorder: Any = engine.application.recorder
    if engine.url.startswith("sqlite"):
        pool = recorder.datastore.pool
        conn = pool.get_connection(is_writer=True)
        try:
            yield
        finally:
            pool.put_connection(conn)
        return
    import psycopg
    from psycopg import sql

    spare = submit(engine)
    table = sql.Identifier(recorder.datastore.schema, recorder.events_table_name)
    waiting = sql.SQL(
        "SELECT count(*) FROM pg_locks WHERE relation = {}::regclass AND NOT granted"
    ).format(sql.Literal(table.as_string(None)))
    leader = threading.Thread(
        target=engine.fire, args=(spare, "note", {"text": "leader"}), kwargs={"actor": REQUESTER}
    )
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        with conn.transaction():
            conn.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table))
            leader.start()
            _until(lambda: _count(conn, waiting) == 1)
            yield
        leader.join(WAIT)


def _count(conn: Any, query: Any) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0])


def _until(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, "the writes never queued"
        time.sleep(0.001)


def _run(calls: list[Callable[[], Any]], writes: int, engine: Engine) -> list[Any]:
    """Start ``calls`` (``writes`` of them reach the store) in threads while the writes
    are blocked; once they all wait, let them go: the next group takes every one that
    queued. Each result is the call's return or its error."""
    results: list[Any] = [None] * len(calls)

    def run(n: int) -> None:
        try:
            results[n] = calls[n]()
        except EngineError as exc:
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    with _writer_held(engine):
        for t in threads:
            t.start()
        _until(lambda: _group(engine).queued() == writes)
    for t in threads:
        t.join(WAIT)
    assert not any(t.is_alive() for t in threads), "a command never returned"
    assert _group(engine).stats.largest == writes  # they shared one transaction
    return results


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_a_refused_command_and_a_version_conflict_leave_the_rest_of_the_group_committed(
    open_engine: EngineFactory, figures: Figures
) -> None:
    engine = open_engine()
    x, y, z = submit(engine), submit(engine), submit(engine)
    before_stats = dataclasses.replace(_group(engine).stats)
    calls: list[Callable[[], Any]] = [
        # two writers of x's version 2 (each says it expects version 1): one must lose
        lambda: engine.fire(x, "note", {"text": "a"}, actor=REQUESTER, expected_version=1),
        lambda: engine.fire(x, "note", {"text": "b"}, actor=REQUESTER, expected_version=1),
        # refused by its guard before it could join the group: writes nothing
        lambda: engine.fire(y, "review", {"score": 1}, actor=REVIEWER),
        lambda: engine.fire(y, "note", {"text": "c"}, actor=REQUESTER),
        lambda: engine.fire(z, "review", {"score": 5}, actor=REVIEWER),
    ]
    results = _run(calls, writes=4, engine=engine)
    stats = _group(engine).stats
    spare = 0 if engine.url.startswith("sqlite") else 2  # PostgreSQL: a spare leader first
    assert stats.transactions == before_stats.transactions + 1 + spare
    assert isinstance(results[2], GuardRejected)
    lost = [r for r in results[:2] if isinstance(r, ConcurrencyConflict)]
    won = [r for r in results[:2] if not isinstance(r, EngineError)]
    assert len(lost) == 1, results
    assert len(won) == 1, results
    assert (lost[0].expected, lost[0].actual) == (1, 2)
    assert results[3].version == 2
    assert results[4].state == "reviewed"
    assert engine.get(x).data["notes"] == won[0].data["notes"]
    assert engine.get(y).data["notes"] == [{"text": "c"}]
    assert engine.get(z).state == "reviewed"
    assert event_count(engine) == 3 + 3 + (0 if engine.url.startswith("sqlite") else 2)
    assert engine.verify().ok
    figures.record(group=stats.largest, conflicts=1, refused=1)


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_a_lost_race_inside_a_group_is_re_decided_and_recorded_next(
    open_engine: EngineFactory,
) -> None:
    engine = open_engine()
    counts = count_engine_logs()
    x, y = submit(engine), submit(engine)
    calls: list[Callable[[], Any]] = [
        lambda: engine.fire(x, "note", {"text": "a"}, actor=REQUESTER),
        lambda: engine.fire(x, "note", {"text": "b"}, actor=REQUESTER),
        lambda: engine.fire(y, "note", {"text": "c"}, actor=REQUESTER),
    ]
    results = _run(calls, writes=3, engine=engine)
    assert counts["write_conflict"] == 1  # the loser's savepoint was undone, then it retried
    assert sorted(r.version for r in results[:2]) == [2, 3]
    notes = engine.get(x).data["notes"]
    assert sorted(n["text"] for n in notes) == ["a", "b"]
    assert engine.get(y).version == 2
    assert event_count(engine) == 2 + 3 + (0 if engine.url.startswith("sqlite") else 2)
    assert engine.verify().ok


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_failing_inline_hook_undoes_only_its_own_write(
    open_engine: EngineFactory,
) -> None:
    engine = open_engine()
    x, y, z = submit(engine), submit(engine), submit(engine)
    group = _group(engine)
    mapper = engine.application.mapper

    def stored(iid: UUID) -> list[Any]:
        agg = engine._commands.load(iid, fresh=True)
        agg.step(at=agg.modified_on, body=_note_body(engine, agg, "hooked"))
        return [mapper.to_stored_event(e) for e in agg.collect_events()]

    def failing(cur: Any, ids: Any) -> None:
        cur.execute("CREATE TABLE hook_was_here (n INTEGER)")  # undone with its savepoint
        raise ValueError("a projection bug")

    writes = [(stored(x), None), (stored(y), failing), (stored(z), None)]
    results: list[Any] = [None] * 3

    def run(n: int) -> None:
        try:
            results[n] = group.record(*writes[n])
        except Exception as exc:
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(3)]
    with _writer_held(engine):
        for t in threads:
            t.start()
        _until(lambda: group.queued() == 3)
    for t in threads:
        t.join(WAIT)
    assert group.stats.largest == 3
    assert isinstance(results[1], ValueError)
    assert len(results[0]) == 1
    assert len(results[2]) == 1
    versions = {iid: engine.get(iid).version for iid in (x, y, z)}
    assert versions == {x: 2, y: 1, z: 2}
    with engine.application.recorder.datastore.transaction(commit=False) as cur:  # type: ignore[attr-defined]
        cur.execute("SELECT name FROM sqlite_master WHERE name = 'hook_was_here'")
        assert cur.fetchall() == []
    assert engine.verify().ok


def _note_body(engine: Engine, agg: Any, text: str) -> dict[str, Any]:
    """A note's event body as the command service builds it (decided by the engine)."""
    from engine.commands.service import step_body
    from engine.instance.convert import view_of

    compiled = engine.registry.by_hash(agg.definition_hash)
    view = view_of(agg, copy_data=False)
    decision = compiled.decide(
        view, "note", REQUESTER, {"text": text}, reason=None, now=agg.modified_on
    )
    return step_body(decision, compiled.hash, REQUESTER, None, "hooked", None)


# --------------------------------------------------------------------------- load
def _writer(engine: Engine, ids: list[str], n: int, k: int, acked: list[str]) -> None:
    actor = Actor(f"g{n}", WORKER)
    for i in range(k):
        cmd = f"g{n}-{i}"
        iid = ids[(n + i) % len(ids)]  # threads share instances: conflicts inside groups
        try:
            engine.fire(iid, "note", {"cmd": cmd}, actor=actor, correlation_id=cmd)
        except ConcurrencyConflict:
            continue
        acked.append(cmd)


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_eight_threads_at_full_lose_nothing_and_chains_verify(
    store_url: str, figures: Figures
) -> None:
    count_engine_logs()
    per_thread = scale(60, 400)
    with cycle_engine(store_url) as engine:  # synchronous FULL: the default
        ids = start_instances(engine, 5)
        acked: list[str] = []
        threads = [
            threading.Thread(target=_writer, args=(engine, ids, n, per_thread, acked))
            for n in range(THREADS)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT * 4)
        assert not any(t.is_alive() for t in threads), "a writer never finished"
        stats = _group(engine).stats
        log = check_log(engine)  # verify clean, versions 1..n, chains, no command twice
        mine = {c for c in log["by_cmd"] if c.startswith("g")}
        assert mine == set(acked)  # every acknowledged command once, nothing else
        assert log["events"] == len(ids) + len(acked)
        assert stats.largest >= 2, "no two commands ever shared a transaction"
        figures.record(
            threads=THREADS, acknowledged=len(acked), transactions=stats.transactions,
            largest_group=stats.largest, writes_per_transaction=round(stats.writes / stats.transactions, 2),
        )  # fmt: skip


# --------------------------------------------------------------------------- crash
def group_crash_writer(url: str, ids: list[str], log: str, ready: str, tag: str) -> None:
    """8 threads fire notes and starts forever (until SIGKILLed), each appending
    ``done <cmd> <iid> <version>`` to ``log`` once its call returned (and ``intent``
    before it), with one ``write`` per line on an ``O_APPEND`` descriptor."""
    count_engine_logs()
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    with cycle_engine(url) as engine:

        def loop(n: int) -> None:
            actor = Actor(f"{tag}-{n}", WORKER)
            i = 0
            while True:
                cmd = f"{tag}-{n}-{i}"
                if i % 10 == 9:
                    iid = str(uuid4())
                    os.write(fd, f"intent {cmd} {iid}\n".encode())
                    view = engine.start(
                        "cycle", {"cmd": cmd}, actor=actor, correlation_id=cmd,
                        instance_id=UUID(iid),
                    )  # fmt: skip
                else:
                    iid = ids[(n + i) % len(ids)]
                    os.write(fd, f"intent {cmd} {iid}\n".encode())
                    try:
                        view = engine.fire(
                            iid, "note", {"cmd": cmd}, actor=actor, correlation_id=cmd
                        )
                    except ConcurrencyConflict:
                        i += 1
                        continue
                os.write(fd, f"done {cmd} {iid} {view.version}\n".encode())
                i += 1

        threads = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(THREADS)]
        for t in threads:
            t.start()
        Path(ready).touch()
        for t in threads:
            t.join()


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_sigkill_mid_group_keeps_every_acknowledged_command_and_no_half_write(
    store_url: str, tmp_path: Path, figures: Figures
) -> None:
    import multiprocessing as mp
    import random
    import signal

    count_engine_logs()
    with cycle_engine(store_url) as engine:
        ids = start_instances(engine, 6)
    ctx = mp.get_context("spawn")
    rng = random.Random(19)
    events, acknowledged, unacknowledged_committed = len(ids), 0, 0
    kills = scale(3, 15)
    for k in range(kills):
        log_file, ready = tmp_path / f"group-{k}.log", tmp_path / f"ready-{k}"
        proc = ctx.Process(
            target=group_crash_writer, args=(store_url, ids, str(log_file), str(ready), f"k{k}")
        )
        proc.start()
        _until(lambda: ready.exists() or not proc.is_alive())  # noqa: B023 - waited here
        assert proc.is_alive(), f"the writer died before it was ready ({proc.exitcode})"
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(proc.pid or 0, signal.SIGKILL)
        proc.join(WAIT)
        assert proc.exitcode == -signal.SIGKILL, "the writer stopped on its own"
        intents, done = read_writer_log(log_file)
        with cycle_engine(store_url, mode="worker") as engine:
            log = check_log(engine)  # verify clean, gap-free, every event complete
            mine = {c: w for c, w in log["by_cmd"].items() if c.startswith(f"k{k}-")}
            for cmd, where in done.items():  # every acknowledged command is in the store
                assert mine.get(cmd) == where, f"{cmd} was acknowledged but is not stored"
            extra = set(mine) - set(done)  # committed, not yet acknowledged when killed
            in_flight = {c for c, _ in intents} - set(done)
            assert extra <= in_flight, extra
            assert log["events"] == events + len(mine)
            events = log["events"]
        acknowledged += len(done)
        unacknowledged_committed += len(extra)
    assert acknowledged > 0
    figures.record(
        kills=kills, acknowledged=acknowledged, committed_unacknowledged=unacknowledged_committed,
        events=events, lost=0,
    )  # fmt: skip
