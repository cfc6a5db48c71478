"""Database faults: PostgreSQL connections killed or the server stopped mid-run; SQLite
files that are read-only, locked by another writer, not a database, or corrupted.

Whatever happens, a command either succeeds or raises ``StorageUnavailable`` (never a raw
driver error), writes nothing when it fails (the store holds exactly one event per
accepted command), and the engine works again as soon as the database does.

PostgreSQL faults are injected into an engine running in a subprocess with its own
``PGAPPNAME``: ``pg_terminate_backend`` only ever hits that process's sessions (other
developers' tests share the server). The subprocess and this test run in lock step (one
command per line on its stdin), so faults land between commands at chosen points and no
assertion depends on timing. Stopping the server is in the long run only, for a few
commands, and the server is always started again.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, EngineError, StorageUnavailable
from tests.conftest import drop_schema, postgres_or_skip
from tests.e2e.cli_support import run
from tests.reliability._fuzz_support import sqlite_event_count
from tests.reliability.conftest import Figures, long_run, scale
from workflows.technical_assistance import NAME
from workflows.technical_assistance.builders import ACTORS, request_payload, walk_to

# ------------------------------------------------------------------ PostgreSQL
DRIVER = r'''
import json, logging, sys
import structlog
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
                    logger_factory=structlog.PrintLoggerFactory(sys.stderr))
from engine import Engine, EngineError
from workflows.technical_assistance.builders import ACTORS, request_payload

url = sys.argv[1]
engine = None
cycle = ["return_for_revision", "resubmit"]
iid, step_no = None, 0

def command(step):
    """One command (and a read of the projections every third step)."""
    global engine, iid, step_no
    if engine is None:
        engine = Engine.open(url)
    if step % 3 == 2:
        engine.requests(limit=5)
        return "read"
    if iid is None or step % 7 == 0:
        iid = engine.start("technical-assistance", request_payload(version=2),
                           actor=ACTORS["partner"]).id
        step_no = 0
        return "start"
    trigger = cycle[step_no % 2]
    if trigger == "return_for_revision":
        engine.fire(iid, trigger, actor=ACTORS["team"], reason="narrow it down")
    else:
        engine.fire(iid, trigger, request_payload(version=2), actor=ACTORS["partner"])
    step_no += 1
    return trigger

print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    step = int(line)
    try:
        op = command(step)
        out = {"step": step, "op": op, "ok": True}
    except EngineError as exc:
        out = {"step": step, "ok": False, "code": exc.code, "message": str(exc)[:200]}
    except BaseException as exc:  # a raw driver error: the test fails on it
        out = {"step": step, "ok": False, "raw": f"{type(exc).__module__}.{type(exc).__name__}",
               "message": str(exc)[:200]}
    print(json.dumps(out), flush=True)
if engine is not None:
    print(json.dumps({"verify": engine.verify().ok}), flush=True)
    engine.close()
'''


def _admin() -> Any:
    import psycopg

    return psycopg.connect(postgres_or_skip(), autocommit=True, connect_timeout=3)


class Driver:
    """The engine in a subprocess, one command per line, its sessions tagged by name."""

    def __init__(self, url: str) -> None:
        self.app_name = f"socieux-fault-{uuid.uuid4().hex[:10]}"
        env = {**os.environ, "PGAPPNAME": self.app_name}
        env.pop("SOCIEUX_DEBUG", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", DRIVER, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=Path(__file__).parents[2],
        )
        assert json.loads(self._line()) == {"ready": True}
        self.results: list[dict[str, Any]] = []

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the driver process died"
        return line

    def step(self, n: int) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{n}\n")
        self.proc.stdin.flush()
        out: dict[str, Any] = json.loads(self._line())
        self.results.append(out)
        return out

    def finish(self) -> bool:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        verified = json.loads(self._line())["verify"]
        assert self.proc.wait(timeout=60) == 0
        return bool(verified)

    def kill_sessions(self) -> int:
        """Terminate this driver's sessions only (matched by application_name)."""
        with _admin() as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s AND pid <> pg_backend_pid()",
                (self.app_name,),
            ).fetchall()
        return sum(1 for (done,) in rows if done)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None and not stream.closed:
                stream.close()


@pytest.fixture
def pg_url() -> Iterator[tuple[str, str]]:
    base = postgres_or_skip()
    schema = f"t_fault_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}schema={schema}&connect_timeout=2", schema
    drop_schema(schema)


def _stored_events(schema: str) -> int:
    with _admin() as conn:
        return int(conn.execute(f'SELECT COUNT(*) FROM "{schema}".socieux_events').fetchone()[0])


def _accepted_writes(results: list[dict[str, Any]]) -> int:
    return sum(1 for r in results if r.get("ok") and r.get("op") != "read")


def _check_outcomes(results: list[dict[str, Any]]) -> Counter[str]:
    raw = [r for r in results if "raw" in r]
    assert raw == [], raw
    codes = Counter(r["code"] for r in results if not r["ok"])
    assert set(codes) <= {"storage_unavailable"}, codes
    return codes


@pytest.mark.postgres
def test_killed_postgres_connections_fail_cleanly_and_the_engine_recovers(
    pg_url: tuple[str, str],
    figures: Figures,
) -> None:
    url, schema = pg_url
    kills, per_kill = scale(4, 30), 9
    driver = Driver(url)
    terminated = 0
    try:
        step = 0
        for _ in range(kills):
            for _ in range(per_kill):
                driver.step(step)
                step += 1
            terminated += driver.kill_sessions()
        # no more faults: a lost connection fails at most the next call that uses it
        tail = [driver.step(step + i) for i in range(6)]
        verified = driver.finish()
    finally:
        driver.close()
    codes = _check_outcomes(driver.results)
    accepted = _accepted_writes(driver.results)
    stored = _stored_events(schema)
    recovered = sum(
        1
        for i, r in enumerate(driver.results[1:], 1)
        if r["ok"] and not driver.results[i - 1]["ok"]
    )
    figures.record(
        commands=len(driver.results),
        faults_injected=kills,
        sessions_terminated=terminated,
        refused_storage_unavailable=sum(codes.values()),
        recovered=recovered,
        accepted_writes=accepted,
        stored_events=stored,
        events_lost=max(0, accepted - stored),
        events_extra=max(0, stored - accepted),
    )
    assert terminated >= kills  # every fault hit at least one live session
    assert sum(not r["ok"] for r in tail) <= 1, tail  # the read models' own connection
    assert all(r["ok"] for r in tail[-3:]), tail
    assert stored == accepted, "a failed command wrote something, or an accepted one is lost"
    assert verified


@pytest.mark.postgres
@pytest.mark.skipif(not long_run(), reason="stops the shared server: long run only")
def test_a_stopped_postgres_server_gives_storage_unavailable_then_recovers(
    pg_url: tuple[str, str],
    figures: Figures,
) -> None:
    url, schema = pg_url
    cluster = ["pg_ctlcluster", "--skip-systemctl-redirect"]
    etc = Path("/etc/postgresql")
    versions = sorted(p.name for p in etc.iterdir()) if etc.is_dir() else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        pytest.skip("no local PostgreSQL cluster to stop (pg_ctlcluster)")
    version = versions[-1]
    driver = Driver(url)
    during: list[dict[str, Any]] = []
    outage: float | None = None
    stopped = time.monotonic()
    try:
        for step in range(10):
            assert driver.step(step)["ok"] or step % 3 == 2, driver.results[-1]
        try:
            subprocess.run(
                [*cluster, version, "main", "stop", "-m", "fast"], check=True, timeout=60
            )
            stopped = time.monotonic()
            during = [driver.step(10)]  # a write, refused (the outage stays short)
        finally:
            subprocess.run([*cluster, version, "main", "start"], check=True, timeout=60)
            outage = time.monotonic() - stopped if during else None
        after = [driver.step(20 + i) for i in range(8)]
        verified = driver.finish()
    finally:
        driver.close()
    codes = _check_outcomes(driver.results)
    accepted, stored = _accepted_writes(driver.results), _stored_events(schema)
    figures.record(
        commands=len(driver.results),
        outage_commands=len(during),
        outage_seconds=round(outage, 1) if outage else None,
        refused_during_outage=sum(not r["ok"] for r in during),
        refused_after_restart=sum(not r["ok"] for r in after),
        refused_by_code=dict(codes),
        accepted_writes=accepted,
        stored_events=stored,
        events_lost=max(0, accepted - stored),
    )
    assert all(not r["ok"] and r["code"] == "storage_unavailable" for r in during), during
    assert all(r["ok"] for r in after[2:]), after  # the pool may need a command to notice
    assert stored == accepted
    assert verified


# ------------------------------------------------------------------ SQLite
def _store(tmp_path: Path) -> tuple[Path, int]:
    """A SQLite store with one submitted request; its path and event count."""
    path = tmp_path / "store.db"
    with Engine.open(f"sqlite:///{path}") as engine:
        walk_to(engine, "submitted")
        engine.requests()  # projections caught up before the file goes read-only
    return path, sqlite_event_count(path)


def _cli_refuses(db: str, *args: str) -> str:
    """Run the CLI, expect exit 2 with one ``error[storage_unavailable]`` line; the line."""
    result = run(db, *args)
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error[storage_unavailable]: "), lines
    return lines[0]


def submit_args(tmp_path: Path) -> tuple[str, ...]:
    """``socieux submit`` with a valid request (so only the database can refuse it)."""
    data = tmp_path / "request.json"
    data.write_text(json.dumps(request_payload(version=2)), encoding="utf-8")
    return ("submit", NAME, "--as", "partner_institution:kh-nspc-1", "--data", str(data))


def test_a_read_only_sqlite_url_refuses_writes_and_writes_nothing(
    tmp_path: Path,
    figures: Figures,
) -> None:
    path, before = _store(tmp_path)
    ro = f"sqlite:///{path}?mode=ro"
    with Engine.open(ro) as engine:
        assert len(engine.requests()) == 1  # reads work
        with pytest.raises(StorageUnavailable) as info:
            engine.start(NAME, request_payload(version=2), actor=ACTORS["partner"])
        assert "readonly" in str(info.value)
    line = _cli_refuses(ro, *submit_args(tmp_path))
    assert "readonly" in line
    assert sqlite_event_count(path) == before
    figures.record(faults=2, refused_storage_unavailable=2, events_written=0)


def test_an_immutable_sqlite_file_refuses_writes_even_for_root(
    tmp_path: Path,
    figures: Figures,
) -> None:
    """chmod does not stop root; ``chattr +i`` does (skipped where it is not supported)."""
    path, before = _store(tmp_path)
    path.chmod(0o444)
    if (
        shutil.which("chattr") is None
        or subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode
    ):
        pytest.skip("chattr +i is not available on this file system")
    try:
        url = f"sqlite:///{path}"
        refused = 0
        try:
            with Engine.open(url) as engine:
                with pytest.raises(StorageUnavailable):
                    engine.start(NAME, request_payload(version=2), actor=ACTORS["partner"])
                refused += 1
        except StorageUnavailable:  # opening may already need to write (WAL, projections)
            refused += 1
        _cli_refuses(url, *submit_args(tmp_path))
        refused += 1
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o644)
    assert sqlite_event_count(path) == before
    figures.record(faults=2, refused_storage_unavailable=refused, events_written=0)


def test_a_sqlite_file_locked_by_another_writer_times_out_cleanly_then_recovers(
    tmp_path: Path,
    figures: Figures,
) -> None:
    path, before = _store(tmp_path)
    url = f"sqlite:///{path}?lock_timeout=1"
    engine = Engine.open(url)
    blocker = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StorageUnavailable) as info:
            engine.start(NAME, request_payload(version=2), actor=ACTORS["partner"])
        assert "locked" in str(info.value)
        line = _cli_refuses(url, *submit_args(tmp_path))
        assert "locked" in line
        blocker.execute("ROLLBACK")
        assert sqlite_event_count(path) == before  # nothing written while it was locked
        engine.start(NAME, request_payload(version=2), actor=ACTORS["partner"])  # recovered
    finally:
        blocker.close()
        engine.close()
    assert sqlite_event_count(path) == before + 1
    figures.record(faults=2, refused_storage_unavailable=2, recovered=1, events_written=1)


@pytest.mark.parametrize("damage", ["not_a_database", "corrupted_pages", "empty_header"])
def test_a_file_that_is_not_a_usable_database_is_storage_unavailable(
    damage: str,
    tmp_path: Path,
    figures: Figures,
) -> None:
    path = tmp_path / "bad.db"
    if damage == "not_a_database":
        path.write_bytes(b"PK\x03\x04 this is a zip, not a database " * 200)
    else:
        good, _ = _store(tmp_path)
        with Engine.open(f"sqlite:///{good}") as engine:  # a checkpointed, closed file
            engine.requests()
        data = bytearray(good.read_bytes())
        if damage == "corrupted_pages":
            data[4096:] = bytes(len(data) - 4096)  # every page after the first zeroed
            data[100:4096] = b"\xa5" * (4096 - 100)
        else:
            data[:100] = bytes(100)
        path.write_bytes(bytes(data))
    snapshot = path.read_bytes()
    url = f"sqlite:///{path}"
    with pytest.raises(EngineError) as info, Engine.open(url) as engine:
        engine.start(NAME, request_payload(version=2), actor=ACTORS["partner"])
    assert info.value.code == "storage_unavailable", info.value
    _cli_refuses(url, *submit_args(tmp_path))
    _cli_refuses(url, "list")
    assert path.read_bytes() == snapshot  # nothing written, nothing "repaired"
    figures.record(faults=1, refused_storage_unavailable=3, events_written=0)
