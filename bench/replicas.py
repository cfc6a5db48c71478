"""A primary with two streaming replicas on this machine (``deploy/pg_replicas.sh``).

Measured side by side in one run, rounds interleaved, medians:

* commands/s on the primary (technical-assistance, 7 steps per request), with r1 as the
  synchronous standby (every commit waits for r1's flush) and, as the peers, the same server
  with ``synchronous_commit=local`` for the session (no wait for a standby) and the
  machine's own single server (``PG_URL``, when it answers; shared with other tenants);
* reads/s (``get`` of random instances, 4 threads) on the primary alone, on one replica
  and across both (round robin);
* replica lag under load: after each command of a writer, the time until each replica has
  replayed the primary's WAL position (p50, p99).

It uses the deployment named by ``SOCIEUX_PRIMARY`` and ``SOCIEUX_REPLICAS`` (as
``deploy/pg_replicas.sh run`` sets them), or makes one of its own and removes it after
(root, PostgreSQL's server binaries and ``pg_createcluster`` needed; otherwise skipped).
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from bench.common import PG_URL, median, postgres_version, ratio, side_by_side
from bench.spine import fire_steps, start_requests
from engine import Engine
from engine.persistence.replicas import primary_lsn, wait_replayed
from engine.replicated import ReplicatedEngine
from workflows.technical_assistance import definition

SCRIPT = Path(__file__).resolve().parents[1] / "deploy" / "pg_replicas.sh"
THREADS = 4


@contextmanager
def _deployment() -> Iterator[tuple[str, list[str]] | str]:
    primary, replicas = os.environ.get("SOCIEUX_PRIMARY"), os.environ.get("SOCIEUX_REPLICAS")
    if primary and replicas:
        yield primary, replicas.split()
        return
    if os.geteuid() != 0 or shutil.which("pg_createcluster") is None:
        yield "needs root and pg_createcluster, or SOCIEUX_PRIMARY and SOCIEUX_REPLICAS"
        return
    port = int(os.environ.get("SOCIEUX_REPLICA_PORT", "5473"))
    env = {**os.environ, "SOCIEUX_REPLICA_PORT": str(port)}
    subprocess.run(["bash", str(SCRIPT), "up"], check=True, env=env, capture_output=True)
    try:
        url = "postgresql://postgres@127.0.0.1:{}/test"
        yield url.format(port), [url.format(port + 1), url.format(port + 2)]
    finally:
        subprocess.run(["bash", str(SCRIPT), "down"], check=False, env=env, capture_output=True)


def _commands(url: str, requests: int) -> tuple[float, int]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in url else "?"
    with Engine.open(f"{url}{sep}schema={schema}", workflows=[definition()], projections=[]) as e:
        ids = start_requests(e, requests)
        return fire_steps(e, ids)


def _reads(engine: Engine, ids: list[UUID], reads: int) -> tuple[float, int]:
    per_thread = reads // THREADS

    def work(seed: int) -> None:
        rnd = random.Random(seed)
        for _ in range(per_thread):
            engine.get(rnd.choice(ids))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, per_thread * THREADS


def _lag(engine: ReplicatedEngine, commands: int) -> dict[str, dict[str, float]]:
    readers = [engine.reader() for _ in engine.replicas]
    lags: dict[str, list[float]] = {r.url: [] for r in readers}
    for _ in range(commands):
        start_requests(engine, 1)
        lsn = primary_lsn(engine._parts.sql.read)
        t0 = time.perf_counter()
        done: dict[str, float] = {}
        for r in readers:
            wait_replayed(r._parts.sql.read, lsn, timeout=60, label=r.url)
            done[r.url] = time.perf_counter() - t0
        for url, seconds in done.items():
            lags[url].append(seconds)
    return {
        url: {
            "p50_ms": round(statistics.quantiles(v, n=100)[49] * 1000, 3),
            "p99_ms": round(statistics.quantiles(v, n=100)[98] * 1000, 3),
            "max_ms": round(max(v) * 1000, 3),
        }
        for url, v in lags.items()
    }


def run(requests: int, rounds: int, reads: int, lag_commands: int) -> dict[str, Any]:
    """The suite (``requests`` x 7 steps per round; ``reads`` reads per system and round)."""
    with _deployment() as found:
        if isinstance(found, str):
            return {"skipped": found}
        primary, replicas = found
        return _measure(primary, replicas, requests, rounds, reads, lag_commands)


def _measure(
    primary: str, replicas: list[str], requests: int, rounds: int, reads: int, lag_commands: int
) -> dict[str, Any]:
    local = f"{primary}?options=-csynchronous_commit%3Dlocal"
    systems = {
        "primary_sync_replica": lambda: _commands(primary, requests),
        "primary_no_replica_wait": lambda: _commands(local, requests),
    }
    if postgres_version(PG_URL) is not None:  # the machine's own server: one PostgreSQL
        systems["single_server"] = lambda: _commands(PG_URL, requests)
    writes = side_by_side(systems, rounds)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    base = f"{primary}?schema={schema}"
    wf = [definition()]
    with (
        Engine.open(base, workflows=wf, projections=[]) as alone,
        Engine.open(base, workflows=wf, projections=[], replicas=replicas[:1]) as one,
        Engine.open(base, workflows=wf, projections=[], replicas=replicas) as both,
    ):
        ids = start_requests(alone, 200)
        assert isinstance(both, ReplicatedEngine)
        assert isinstance(one, ReplicatedEngine)
        both.wait_for_replicas(timeout=60)
        read_rates = side_by_side(
            {
                "primary": lambda: _reads(alone, ids, reads),
                "one_replica": lambda: _reads(one, ids, reads),
                "two_replicas": lambda: _reads(both, ids, reads),
            },
            rounds,
        )
        lag = _lag(both, lag_commands)
    figures = {
        "commands_per_s": {k: round(median(v)) for k, v in writes.items()},
        "sync_vs_no_wait": ratio(writes, "primary_sync_replica", "primary_no_replica_wait"),
        "reads_per_s": {k: round(median(v)) for k, v in read_rates.items()},
        "two_replicas_vs_primary": ratio(read_rates, "two_replicas", "primary"),
        "replica_lag": lag,
    }
    worst_p99 = max(v["p99_ms"] for v in lag.values())
    targets = [
        ("replica lag p99 under one writer <= 50 ms (sync r1 and async r2)", worst_p99, 50.0,
         worst_p99 <= 50.0),
        ("reads across two replicas >= 0.8x reads on the primary alone",
         figures["two_replicas_vs_primary"], 0.8, figures["two_replicas_vs_primary"] >= 0.8),
    ]  # fmt: skip
    for name, value, target, met in targets:
        print(f"  {name}: {value} (target {target}) {'met' if met else 'not met'}")
    print(f"  peers: {figures['commands_per_s']}, {figures['reads_per_s']}")
    return {
        "requests": requests,
        "steps_per_request": 7,
        "rounds": rounds,
        "reads_per_round": reads,
        "read_threads": THREADS,
        "lag_commands": lag_commands,
        **figures,
        "targets": {name: {"value": v, "target": t, "met": m} for name, v, t, m in targets},
    }
