"""Failover: the primary is lost while writers run, the synchronous replica is promoted, and
the engine (a multi-host URL with ``target_session_attrs=read-write``) goes on there.

Every acknowledged command must be on the new primary, none twice (writers retry a failed
command with its ``command_id``), the chains must verify and the projections must equal a
rebuild. The figures are printed (``-s``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from uuid import UUID

from engine import Engine, StorageUnavailable
from projections.audit_trail import AuditTrailProjection
from tests.helpers import REQUESTER, event_count
from tests.replication.conftest import LONG, Deployment, Deployments
from tests.toy import toy_definition

WRITERS = 3 if LONG else 1
BEFORE = 150 if LONG else 25  # commands acknowledged by the old primary, per writer
AFTER = 150 if LONG else 25  # and by the new one
OUTAGE = 30.0 if LONG else 3.0  # seconds between losing the primary and promoting r1
GIVE_UP = 120.0  # seconds a writer keeps retrying one command before the test fails


@dataclass
class Writer:
    """Sends commands, retrying each one with its command id until it is acknowledged."""

    engine: Engine
    name: str
    acked: list[tuple[str, UUID, int]] = field(default_factory=list)
    failures: int = 0
    error: BaseException | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Until ``stop``: start an instance, then note on it, each command retried."""
        try:
            n, iid = 0, None
            while not self.stop.is_set():
                key = f"{self.name}-{n}"
                if iid is None or n % 5 == 0:
                    view = self._retry(
                        key, lambda k: self.engine.start("toy", {"title": k, "amount": 1},
                                                         actor=REQUESTER, command_id=k)
                    )  # fmt: skip
                else:
                    view = self._retry(
                        key, lambda k, target=iid: self.engine.fire(
                            target, "note", {"text": k}, actor=REQUESTER, command_id=k)
                    )  # fmt: skip
                iid = view.id
                self.acked.append((key, view.id, view.version))
                n += 1
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _retry(self, key: str, command: object) -> object:
        deadline = time.monotonic() + GIVE_UP
        while True:
            try:
                return command(key)  # type: ignore[operator]
            except StorageUnavailable:
                self.failures += 1
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def _wait_acked(writers: list[Writer], count: int) -> None:
    deadline = time.monotonic() + GIVE_UP
    while any(len(w.acked) < count for w in writers):
        assert all(w.error is None for w in writers), [w.error for w in writers]
        assert time.monotonic() < deadline, "the writers stalled"
        time.sleep(0.02)


def test_promoting_the_sync_replica_loses_no_acknowledged_command(
    deployments: Deployments,
) -> None:
    deployment = deployments.get()
    try:
        _failover(deployment)
    finally:
        deployments.spoil()  # its primary is gone: a later test gets a fresh deployment


def _failover(deployment: Deployment) -> None:
    p, r1 = deployment.port, deployment.port + 1
    url = (
        f"postgresql://postgres@127.0.0.1:{p},127.0.0.1:{r1}/{deployment.database}"
        "?target_session_attrs=read-write&connect_timeout=2"
    )
    engine = Engine.open(url, workflows=[toy_definition()], projections=[AuditTrailProjection()])
    writers = [Writer(engine, f"w{i}") for i in range(WRITERS)]
    threads = [threading.Thread(target=w.run) for w in writers]
    try:
        for t in threads:
            t.start()
        _wait_acked(writers, BEFORE)
        cut = time.monotonic()
        # Commits now wait for a standby that never comes: every writer's next command is
        # in flight (written on the primary and streamed to r1, never acknowledged).
        deployment.sql(p, "ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
        deployment.sql(p, "SELECT pg_reload_conf()")
        stalled = [len(w.acked) for w in writers]
        time.sleep(0.5)
        in_flight = [len(w.acked) for w in writers]
        lsn = deployment.sql(p, "SELECT pg_current_wal_lsn()")
        while deployment.sql(r1, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'") != "t":
            time.sleep(0.01)  # the operator's switchover: r1 has everything the primary has
        deployment.stop("p")  # the primary is lost (fenced) first ...
        # ... for OUTAGE seconds. eventsourcing retries an insert 10 times, each waiting up to
        # the pool's timeout (connect_timeout=2 s) for a connection: a short outage is ridden
        # out inside the command (which, finding its own event on r1, returns it); a long one
        # (the long run) fails the command with StorageUnavailable and its writer retries it.
        time.sleep(OUTAGE)
        deployment.sql(r1, "SELECT pg_promote(true, 60)")  # ... then r1 takes over
        acked_at_cut = [len(w.acked) for w in writers]
        _wait_acked(writers, max(acked_at_cut) + AFTER)
        outage = time.monotonic() - cut
    finally:
        for w in writers:
            w.stop.set()
        for t in threads:
            t.join(timeout=GIVE_UP)
    assert all(w.error is None for w in writers), [w.error for w in writers]
    engine.close()

    acked = [a for w in writers for a in w.acked]
    with Engine.open(
        deployment.url(r1), workflows=[toy_definition()], projections=[AuditTrailProjection()]
    ) as new_primary:
        stored = event_count(new_primary)
        keys = Counter(
            getattr(event, "command_id", None)
            for iid in new_primary.instance_ids()
            for event in new_primary.application.instance_events(iid)
        )
        duplicates = sum(n - 1 for n in keys.values() if n > 1)
        missing = [
            key for key, iid, version in acked
            if getattr(list(new_primary.application.instance_events(iid))[version - 1],
                       "command_id", None) != key
        ]  # fmt: skip
        report = new_primary.verify()
        before = [r.model_dump() for r in new_primary.audit_trail(limit=100_000)]
        new_primary.rebuild_projections()
        after = [r.model_dump() for r in new_primary.audit_trail(limit=100_000)]
    print(
        f"\nfailover: {len(acked)} commands acknowledged, {stored} stored on the new primary, "
        f"{duplicates} duplicates, {len(missing)} missing; {sum(w.failures for w in writers)} "
        f"failed attempts retried; {WRITERS} writer(s); from the cut to {AFTER} more commands "
        f"{outage:.1f} s"
    )
    assert in_flight[0] <= stalled[0] + 1  # the writer was stuck in a commit
    if LONG:  # the outage outlasted eventsourcing's insert retry for at least one writer (each
        # writer stuck in a connect during the whole outage may instead succeed after it)
        assert sum(w.failures for w in writers) >= 1  # which failed, and was retried
    assert missing == []
    assert stored == len(acked)
    assert duplicates == 0
    assert report.ok, report
    assert before == after
