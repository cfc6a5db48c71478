"""``python -m bench [--quick] [--out FILE] [--only NAME]``: run, print a table, write JSON.

Suites (full size / ``--quick`` size):

* ``command``  the command path on SQLite (FULL) vs raw eventsourcing and raw sqlite3
               (300 requests x 7 steps, 5 rounds / 1 round)
* ``cmdpath``  the command path (technical-assistance, projections off, privacy on and off)
               vs eventsourcing with and without its aggregate cache and raw sqlite3, at
               synchronous FULL and NORMAL (steps/s, CPU us/step), plus callgrind
               instructions per step when valgrind is installed
               (300 requests x 7 steps, 5 rounds, callgrind n=40 / 150, 1 round, n=20)
* ``peers``    SpiffWorkflow, python-statemachine, transitions doing the same 7 steps
               (300 requests, 3 rounds / 150 requests, 1 round)
* ``postgres`` the command path on PostgreSQL vs raw eventsourcing on PostgreSQL; the fast
               path: one writer and 4 processes of the engine (db functions on/off), raw
               eventsourcing (with/without its db functions) and raw psycopg, the 2,000
               steps/s target (300 requests, 3 rounds / 150 requests, 1 round)
* ``rebuild``  projection rebuild vs a raw notification scan (100k / 20k events)
* ``reads``    requests() latency (100k / 10k instances), as_of, verify
* ``portfolio`` the read side on the demo generator's portfolio: rebuild events/s and every
               requests() filter, sort and a deep cursor page (100k / 2k requests;
               ``python -m bench.portfolio --db FILE`` keeps the filled file for reuse)
* ``scale``    peak RSS of rebuild, verify and export at 100k and 1M events (10k and 100k)
* ``cli``      ``socieux --help`` and ``socieux show ID`` vs ``python -c pass``
* ``hooks``    a subscriber's cost to commands, and backlog delivery vs a raw scan
               (300 requests x 8 events, 3 rounds / 150 requests, 1 round)
* ``profile``  cProfile of the command path, WAL pages per step, cost per projection
* ``cache``    our instance cache vs eventsourcing's own repository cache (loads)
* ``console``  the web console's pages rendered server-side (100k / 10k requests)
* ``deadlines`` the command path with vs without deadlines; run_due over 100k scheduled,
               1,000 due (10k / 100)
* ``privacy``  the command path with vs without personal-data encryption (300 / 150 requests),
               and callgrind's instructions per command in memory when valgrind is there
               (35 and 70 requests / 10 and 20)
* ``proofs``   tree heads, bundle size and proof time, head cost per command
               (100k and 1M events / 10k and 100k)
* ``group``    group commit: 1, 2, 4 and 8 writer threads on one engine vs raw sqlite3,
               synchronous FULL (320 requests x 7 steps, 3 rounds / 160 requests, 1 round)
* ``replicas`` a primary and two streaming replicas (deploy/pg_replicas.sh): commands/s with
               a synchronous replica vs none, reads/s on replicas vs the primary, replica lag
               (100 requests x 7 steps, 3 rounds, 4,000 reads / 30 requests, 1 round, 800)
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import (
    cache,
    cli,
    cmdpath,
    command,
    console,
    deadlines,
    group,
    hooks,
    peers,
    portfolio,
    postgres,
    privacy,
    profile,
    proofs,
    reads,
    rebuild,
    replicas,
    scale,
)
from bench.common import machine, quiet_logs
from bench.report import summary_rows

REQUESTS = 300
"""Requests per system and round in the command-path suites (each gets 7 steps)."""
QUICK_REQUESTS = 150
"""``--quick``: the peers, PostgreSQL and profile suites use fewer requests."""

SUITES: dict[str, Callable[[bool], dict[str, Any]]] = {
    "command": lambda quick: command.run(REQUESTS, 1 if quick else 5),
    "cmdpath": lambda quick: cmdpath.run(
        QUICK_REQUESTS if quick else REQUESTS, 1 if quick else 5, 20 if quick else 40
    ),
    "peers": lambda quick: peers.run(QUICK_REQUESTS if quick else REQUESTS, 1 if quick else 3),
    "postgres": lambda quick: postgres.run(
        QUICK_REQUESTS if quick else REQUESTS, 1 if quick else 3
    ),
    "rebuild": lambda quick: rebuild.run(20_000 if quick else 100_000),
    "reads": lambda quick: reads.run(10_000 if quick else 100_000, 50 if quick else 200),
    "portfolio": lambda quick: portfolio.run(2_000 if quick else 100_000, 10 if quick else 30),
    "scale": lambda quick: scale.run(10_000, 100_000) if quick else scale.run(100_000, 1_000_000),
    "cli": lambda _quick: cli.run(10),
    "hooks": lambda quick: hooks.run(QUICK_REQUESTS if quick else REQUESTS, 1 if quick else 3),
    "profile": lambda quick: profile.run(QUICK_REQUESTS if quick else REQUESTS, 1 if quick else 3),
    "cache": lambda quick: cache.run(100 if quick else 500, 3 if quick else 7),
    "console": lambda quick: console.run(10_000 if quick else 100_000, 10 if quick else 30),
    "deadlines": lambda quick: deadlines.run(
        QUICK_REQUESTS if quick else REQUESTS,
        1 if quick else 3,
        10_000 if quick else 100_000,
        100 if quick else 1000,
    ),
    "privacy": lambda quick: privacy.run(
        QUICK_REQUESTS if quick else REQUESTS,
        1 if quick else 3,
        callgrind_requests=10 if quick else 35,
    ),
    "group": lambda quick: group.run(160 if quick else 320, 1 if quick else 3),
    "proofs": lambda quick: proofs.run(*((10_000, 100_000) if quick else (100_000, 1_000_000))),
    "replicas": lambda quick: replicas.run(
        30 if quick else 100, 1 if quick else 3, 800 if quick else 4000, 50 if quick else 300
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--out", type=Path, default=Path("bench/results/latest.json"))
    parser.add_argument("--only", choices=sorted(SUITES), action="append")
    args = parser.parse_args()
    quiet_logs()
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick, "seconds": {}}
    for name in args.only or SUITES:
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        results[name] = SUITES[name](args.quick)
        results["seconds"][name] = round(time.perf_counter() - t0, 1)
        print(json.dumps(results[name], indent=2), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    rows = summary_rows(results)
    width = max(len(r[0]) for r in rows) if rows else 0
    print("\n" + "-" * 100)
    for label, value, note in rows:
        print(f"{label:<{width}}  {value:>14}  {note}")
    print("-" * 100)
    print(f"wrote {args.out}  ({sum(results['seconds'].values()):.0f} s)")


if __name__ == "__main__":
    main()
