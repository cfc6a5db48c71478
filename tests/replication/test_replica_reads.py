"""Commands on the primary, reads on streaming replicas: read-your-writes, lag, bad input."""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from engine import Engine, InstanceNotFound, InvalidArgument, ReplicaInvalid, ReplicaLag
from engine.persistence.replicas import (
    ClusterIdentity,
    check_replica,
    primary_lsn,
    replica_config,
    wait_replayed,
)
from engine.persistence.urls import parse_url
from engine.replicated import ReplicatedEngine
from projections.audit_trail import AuditTrailProjection
from tests.helpers import REQUESTER, REVIEWER
from tests.replication.conftest import LONG, Deployment
from tests.toy import toy_definition

SUBMISSION = {"title": "t", "amount": 10}


@pytest.fixture
def schema(deployment: Deployment) -> Iterator[str]:
    """A schema of its own for the test (on the primary; it replicates)."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    yield name
    deployment.sql(deployment.port, "SELECT 1")  # the primary still answers


def _open(deployment: Deployment, schema: str, replicas: list[str], **kw: object) -> Engine:
    return Engine.open(
        f"{deployment.primary}?schema={schema}",
        replicas=replicas,
        workflows=[toy_definition()],
        projections=[AuditTrailProjection()],
        **kw,  # type: ignore[arg-type]
    )


def test_commands_go_to_the_primary_and_reads_to_the_replicas(
    deployment: Deployment, schema: str
) -> None:
    with _open(deployment, schema, deployment.replicas, read_your_writes=True) as engine:
        assert isinstance(engine, ReplicatedEngine)
        iid = engine.start("toy", SUBMISSION, actor=REQUESTER).id
        engine.fire(iid, "review", {"score": 4}, actor=REVIEWER)
        for _ in range(4):  # the replicas take turns; each has replayed both commands
            assert engine.get(iid).state == "reviewed"
            assert [h.trigger for h in engine.history(iid)] == ["submit", "review"]
        served = {engine.reader().url for _ in range(4)}
        assert served == {parse_url(u).label for u in deployment.replicas}
        assert engine.audit_trail().total == 2  # projections: written on the primary
        assert engine.verify().ok
        replica = engine.reader()
        with pytest.raises(Exception, match="read-only"), replica._parts.sql.write() as cur:
            cur.execute(f"CREATE TABLE {schema}.nope (x int)")  # a replica takes no writes


def test_a_lagging_replica_serves_old_state_or_waits(deployment: Deployment, schema: str) -> None:
    r2 = deployment.port + 2
    with _open(deployment, schema, [deployment.replicas[1]]) as engine:
        iid = engine.start("toy", SUBMISSION, actor=REQUESTER).id
        with engine.read_your_writes(timeout=30):
            assert engine.get(iid).version == 1
        deployment.sql(r2, "SELECT pg_wal_replay_pause()")
        try:
            engine.fire(iid, "review", {"score": 4}, actor=REVIEWER)
            assert engine.get(iid).version == 1  # without the wait: the old state
            with pytest.raises(ReplicaLag) as lag, engine.read_your_writes(timeout=0.3):
                engine.get(iid)
            assert lag.value.code == "replica_lag"
            assert lag.value.details["waited_for"]
            threading.Timer(0.5, deployment.sql, (r2, "SELECT pg_wal_replay_resume()")).start()
            with engine.read_your_writes(timeout=60):  # waits until replay resumes
                assert engine.get(iid).version == 2
        finally:
            deployment.sql(r2, "SELECT pg_wal_replay_resume()")


def test_a_new_instance_is_not_found_on_a_paused_replica_until_waited_for(
    deployment: Deployment, schema: str
) -> None:
    r2 = deployment.port + 2
    with _open(deployment, schema, [deployment.replicas[1]]) as engine:
        engine.wait_for_replicas(timeout=60)
        deployment.sql(r2, "SELECT pg_wal_replay_pause()")
        try:
            iid = engine.start("toy", SUBMISSION, actor=REQUESTER).id
            with pytest.raises(InstanceNotFound):
                engine.get(iid)
            with pytest.raises(ReplicaLag):
                engine.wait_for_replicas(timeout=0.2)
        finally:
            deployment.sql(r2, "SELECT pg_wal_replay_resume()")
        engine.wait_for_replicas(timeout=60)
        assert engine.get(iid).state == "submitted"


def test_bad_replicas_are_refused_at_open(deployment: Deployment, schema: str) -> None:
    with pytest.raises(ReplicaInvalid, match="is a primary"):
        _open(deployment, schema, [deployment.primary])
    with socket_port() as closed, pytest.raises(ReplicaInvalid, match="cannot be reached"):
        _open(deployment, schema, [deployment.url(closed, connect_timeout="2")])
    other_db = deployment.replicas[0].replace("/test", "/postgres")
    with pytest.raises(ReplicaInvalid, match="names database 'postgres'"):
        _open(deployment, schema, [other_db])
    with pytest.raises(ReplicaInvalid, match="not a PostgreSQL URL"):
        _open(deployment, schema, ["memory://"])
    with pytest.raises(InvalidArgument, match="non-empty list"):
        _open(deployment, schema, [])
    with pytest.raises(InvalidArgument, match="PostgreSQL primary"):
        Engine.open("memory://", replicas=deployment.replicas, workflows=[toy_definition()])
    # Another cluster's standby: the system identifier differs from the primary's.
    config = replica_config(deployment.replicas[0], parse_url(deployment.primary))
    elsewhere = ClusterIdentity("1", "test", in_recovery=False)
    with pytest.raises(ReplicaInvalid, match="replicates another cluster"):
        check_replica(elsewhere, config)


class socket_port:  # noqa: N801 - a context manager named like a function
    """A port nothing listens on (bound, never listening, for the test's duration)."""

    def __enter__(self) -> int:
        import socket

        self._s = socket.socket()
        self._s.bind(("127.0.0.1", 0))
        return int(self._s.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self._s.close()


def test_replica_lag_under_load(deployment: Deployment, schema: str) -> None:
    """Each command's commit, then the time until the async replica (r2) replayed it."""
    commands = 400 if LONG else 60
    with _open(deployment, schema, [deployment.replicas[1]]) as engine:
        assert isinstance(engine, ReplicatedEngine)
        replica = engine.reader()
        lags: list[float] = []
        started = time.perf_counter()
        for _ in range(commands):
            engine.start("toy", SUBMISSION, actor=REQUESTER)
            lsn = primary_lsn(engine._parts.sql.read)
            lags.append(wait_replayed(replica._parts.sql.read, lsn, timeout=60, label=replica.url))
        elapsed = time.perf_counter() - started
        cuts = statistics.quantiles(lags, n=100)
        print(
            f"\nreplica lag over {commands} commands: p50 {cuts[49] * 1000:.2f} ms, "
            f"p99 {cuts[98] * 1000:.2f} ms, max {max(lags) * 1000:.2f} ms "
            f"({commands / elapsed:.0f} commands/s with the wait)"
        )
        assert engine.audit_trail().total == commands


def test_the_console_serves_its_pages_from_a_replica(deployment: Deployment, schema: str) -> None:
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from engine.web.app import create_app

    url = f"{deployment.primary}?schema={schema}"
    with Engine.open(url, replicas=deployment.replicas[:1], read_your_writes=True) as engine:
        with TestClient(create_app(engine), raise_server_exceptions=True) as client:
            page = client.get("/")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]


def test_the_cli_reads_from_the_replicas_it_is_given(deployment: Deployment, schema: str) -> None:
    from tests.e2e.cli_support import run
    from workflows.technical_assistance.testing import KIT

    url = f"{deployment.primary}?schema={schema}"
    with Engine.open(url, replicas=deployment.replicas) as engine:
        iid = str(KIT.walk_to(engine, "submitted").id)
        engine.wait_for_replicas(timeout=60)
    shown = run(url, "--replica", deployment.replicas[1], "--json", "show", iid)
    assert shown.exit_code == 0, shown.stderr
    assert '"state": "submitted"' in shown.stdout
    both = run(url, "--json", "show", iid, env={"SOCIEUX_REPLICAS": " ".join(deployment.replicas)})
    assert both.exit_code == 0, both.stderr
    bad = run(url, "--replica", deployment.primary, "show", iid)
    assert (bad.exit_code, bad.stderr.count("\n")) == (2, 1)
    assert "replica_invalid" in bad.stderr
