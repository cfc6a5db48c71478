"""A primary and two streaming replicas of this machine's PostgreSQL, made for the session
by ``deploy/pg_replicas.sh`` on free ports and removed after it (also when a test fails).

The tests skip, with the reason, when the PostgreSQL server binaries or Debian's
``pg_createcluster`` are absent or the run is not root; ``SOCIEUX_REQUIRE_REPLICAS=1`` turns
that skip into a failure. ``SOCIEUX_REPLICA_PORT`` chooses the first port tried.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "pg_replicas.sh"
LONG = os.environ.get("SOCIEUX_RELIABILITY") == "long"


def _binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    return found[-1].parent if found else None


def replicas_or_skip() -> Path:
    """The PostgreSQL binaries' folder, or skip (fail with SOCIEUX_REQUIRE_REPLICAS)."""
    bindir = _binaries()
    why = ""
    if bindir is None:
        why = "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin"
    elif shutil.which("pg_createcluster") is None:
        why = "pg_createcluster (Debian's postgresql-common) is not installed"
    elif os.geteuid() != 0:
        why = "the replica deployment needs root (pg_createcluster, data directories)"
    if why:
        if os.environ.get("SOCIEUX_REQUIRE_REPLICAS"):
            pytest.fail(f"SOCIEUX_REQUIRE_REPLICAS is set but {why}")
        pytest.skip(why)
    assert bindir is not None
    return bindir


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _claim_ports() -> tuple[int, IO[str]]:
    """Three free ports, held by a lock file so parallel runs never share a deployment."""
    first = int(os.environ.get("SOCIEUX_REPLICA_PORT", "5433"))
    for base in range(first, first + 300, 3):
        lock = Path(f"/tmp/socieux-replicas-{base}.lock").open("w")  # noqa: SIM115 - held
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        if all(_free(p) for p in (base, base + 1, base + 2)):
            return base, lock
        lock.close()
    pytest.fail("no three free ports for the replica deployment")


@dataclass
class Deployment:
    """The deployment's ports and URLs, and the operator's moves on it."""

    port: int
    bindir: Path
    database: str = "test"

    def url(self, port: int, **query: str) -> str:
        """A URL to the database on ``port``."""
        tail = "&".join(f"{k}={v}" for k, v in query.items())
        return f"postgresql://postgres@127.0.0.1:{port}/{self.database}" + (
            f"?{tail}" if tail else ""
        )

    @property
    def primary(self) -> str:
        """The primary's URL."""
        return self.url(self.port)

    @property
    def replicas(self) -> list[str]:
        """The replicas' URLs (r1, synchronous, then r2)."""
        return [self.url(self.port + 1), self.url(self.port + 2)]

    def sql(self, port: int, statement: str) -> str:
        """Run one statement on ``port`` (database postgres) and return its output."""
        out = subprocess.run(
            [str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
             "-d", "postgres", "-XAtqc", statement],
            check=True, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        return out.stdout.strip()

    def cluster(self, which: str) -> str:
        """The cluster name of ``p``, ``r1`` or ``r2``."""
        return f"sx{self.port}{which}"

    def stop(self, which: str) -> None:
        """Stop a cluster at once (``-m immediate``: a crash, no shutdown checkpoint)."""
        version = self.bindir.parent.name
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, self.cluster(which), "stop",
             "-m", "immediate"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip


def _script(action: str, port: int) -> None:
    env = {**os.environ, "SOCIEUX_REPLICA_PORT": str(port), "SOCIEUX_REPLICA_NAME": f"sx{port}"}
    done = subprocess.run(
        ["bash", str(SCRIPT), action],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        pytest.fail(f"deploy/pg_replicas.sh {action} failed: {done.stderr.strip()[-2000:]}")


class Deployments:
    """One deployment shared by the session's tests, replaced after a test that spoils it
    (the failover test promotes r1 and loses the primary); every one removed at the end."""

    def __init__(self) -> None:
        self._current: Deployment | None = None
        self._made: list[tuple[int, IO[str]]] = []

    def get(self) -> Deployment:
        """The healthy deployment (made on first use)."""
        if self._current is None:
            bindir = replicas_or_skip()
            port, lock = _claim_ports()
            self._made.append((port, lock))
            _script("up", port)
            self._current = Deployment(port, bindir)
        return self._current

    def spoil(self) -> None:
        """Remove the current deployment now; the next test gets a fresh one."""
        if self._current is not None:
            port = self._current.port
            self._current = None
            _script("down", port)

    def close(self) -> None:
        """Remove every deployment made (also those a failed test left behind)."""
        for port, lock in self._made:
            _script("down", port)
            lock.close()


@pytest.fixture(scope="session")
def deployments() -> Iterator[Deployments]:
    """The session's deployments (see :class:`Deployments`)."""
    made = Deployments()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def deployment(deployments: Deployments) -> Deployment:
    """A primary and two replicas, healthy at the start of the test."""
    return deployments.get()
