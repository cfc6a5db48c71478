"""Scale: peak memory of a rebuild, ``verify()`` and ``export()`` at 100k and at 1M events.

One SQLite file is filled through the engine (the toy workflow: start, review, 8 notes
per instance; ``?synchronous=off`` and ``projections=[]`` for the fill), first to the
small size, then on to the large one. At each size every operation runs in a fresh
subprocess (``python -m bench.scale OP URL``) that reports its own peak resident set
size (``VmHWM`` from ``/proc/self/status``) and its time:

* ``open``: import everything and open the engine (the floor of every other figure);
* ``scan``: read and decode every notification (eventsourcing alone);
* ``rebuild``: drop and rebuild the built-in projections from the whole log;
* ``verify``: ``Engine.verify()`` (when the tree has it);
* ``export``: ``Engine.export()`` of the whole log to ``os.devnull`` (JSON Lines);
* ``offline``: the offline verifier (``engine.audit.offline.verify_file``) on an export of
  the whole log: the file is written first, then the peak is reset (``clear_refs``) so the
  figure is the verifier's (over what the export left resident), then the file is deleted.

Flat memory means the peak does not grow with the number of events: compare the
``*_vs_open`` deltas at the two sizes.

Filling 1M events takes long on a loaded machine; with ``SOCIEUX_SCALE_DIR`` set to a
directory, each size's file is kept there (``scale_<events>.db`` and its key file) and
reused by later runs (the fill time is then reported only for the sizes filled).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import fresh_db, quiet_logs, vm_hwm_kib
from bench.reads import verify_available
from engine import Actor, Engine
from projections import builtin
from tests.toy import toy_definition

EVENTS_PER_INSTANCE = 10
OPERATIONS = ("open", "scan", "rebuild", "verify", "export", "offline")


class _Filler:
    """Appends whole toy instances (10 events each) to one file, across calls."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events = 0
        self.seconds = 0.0

    def fill_to(self, events: int) -> None:
        actor = Actor("bench-1", "requester")
        reviewer = Actor("bench-2", "reviewer")
        t0 = time.perf_counter()
        with Engine.open(
            f"{self.url}?synchronous=off", workflows=[toy_definition()], projections=[]
        ) as engine:
            while self.events < events:
                iid = engine.start("toy", {"title": "t", "amount": 1}, actor=actor).id
                engine.fire(iid, "review", {"score": 4}, actor=reviewer)
                for n in range(EVENTS_PER_INSTANCE - 2):
                    engine.fire(iid, "note", {"text": f"note {n}"}, actor=actor)
                self.events += EVENTS_PER_INSTANCE
        self.seconds += time.perf_counter() - t0


def _offline(url: str) -> dict[str, Any]:
    """Export the log to a file, then verify that file offline; the verifier's figures."""
    from engine.audit.offline.verifier import verify_file

    path = Path(url.removeprefix("sqlite:///") + ".export.jsonl")
    try:
        with (
            Engine.open(url, workflows=[toy_definition()], projections=[]) as engine,
            path.open("w", encoding="utf-8") as sink,
        ):
            engine.export(sink)
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")  # reset VmHWM
        t0 = time.perf_counter()
        report = verify_file(path)
        seconds = time.perf_counter() - t0
    finally:
        path.unlink(missing_ok=True)
    if not report.ok:
        raise RuntimeError(f"the offline verifier found problems: {report.problems[:3]}")
    return {
        "peak_rss_mib": round(vm_hwm_kib() / 1024, 1),
        "events": report.events,
        "events_per_s": round(report.events / seconds),
    }


def _child(op: str, url: str) -> dict[str, Any]:
    """Run one operation in this process; return its figures."""
    quiet_logs()
    if op == "offline":
        return _offline(url)
    with Engine.open(
        url, workflows=[toy_definition()], projections=builtin(), projection_mode="worker"
    ) as engine:
        t0 = time.perf_counter()
        events = 0
        if op == "scan":
            from bench.rebuild import scan

            events = scan(engine, decode=True)
        elif op == "rebuild":
            events = engine.rebuild_projections()
        elif op == "verify":
            report = engine.verify()
            if not report.ok:
                raise RuntimeError(f"verify found problems: {report.problems[:3]}")
            events = report.events_checked
        elif op == "export":
            with Path(os.devnull).open("w", encoding="utf-8") as sink:
                events = engine.export(sink).events
        seconds = time.perf_counter() - t0
    out: dict[str, Any] = {"peak_rss_mib": round(vm_hwm_kib() / 1024, 1)}
    if op != "open":
        out["events"] = events
        out["events_per_s"] = round(events / seconds)
    return out


def _measure(url: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for op in OPERATIONS:
        if op == "verify" and verify_available() is not None:
            results[op] = {"skipped": verify_available()}
            continue
        proc = subprocess.run(
            [sys.executable, "-m", "bench.scale", op, url],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"scale child {op} failed: {proc.stderr[-2000:]}")
        results[op] = json.loads(proc.stdout.strip().splitlines()[-1])
    base = results["open"]["peak_rss_mib"]
    for op in OPERATIONS[1:]:
        if "peak_rss_mib" in results[op]:
            results[op]["peak_rss_vs_open_mib"] = round(results[op]["peak_rss_mib"] - base, 1)
    return results


def _keep(path: Path, kept: Path) -> None:
    """Copy the filled file (checkpointed first) and its key file to ``kept``."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()  # closed before the copy: a file closed in this process drops its locks
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, kept)
    key = path.with_name(path.name + ".key")
    if key.exists():
        shutil.copy(key, kept.with_name(kept.name + ".key"))


def _measured(size: int, path: Path) -> dict[str, Any]:
    return {
        "instances": size // EVENTS_PER_INSTANCE,
        **_measure(f"sqlite:///{path}"),
        "file_mib": round(_size(path) / 2**20, 1),
    }


def run(small: int, large: int) -> dict[str, Any]:
    """Fill to ``small`` events, measure; fill on to ``large``, measure again."""
    out: dict[str, Any] = {"events_per_instance": EVENTS_PER_INSTANCE}
    keep = os.environ.get("SOCIEUX_SCALE_DIR")
    with fresh_db("scale") as path:
        filler = _Filler(f"sqlite:///{path}")
        for size in (small, large):
            kept = Path(keep) / f"scale_{size}.db" if keep else None
            if kept is not None and kept.exists():
                out[str(size)] = _measured(size, kept)
                continue
            filler.fill_to(size)
            if kept is not None:
                _keep(path, kept)
            out[str(size)] = _measured(size, path)
        if filler.seconds:
            out["fill_commands_per_s"] = round(filler.events / filler.seconds)
    growth = {}
    for op in OPERATIONS[1:]:
        a, b = out[str(small)][op], out[str(large)][op]
        if "peak_rss_mib" in a and "peak_rss_mib" in b:
            growth[op] = round(b["peak_rss_mib"] - a["peak_rss_mib"], 1)
    out[f"peak_rss_growth_{small}_to_{large}_mib"] = growth
    return out


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], sys.argv[2])))
