"""The instance cache: ours against eventsourcing's own repository cache, side by side.

Both load the same instances of one SQLite file, already cached, in one process:

* ``engine``: the command path's load, a fork of the cached copy (no read);
* ``engine_fastforward``: the read path's load, the fork plus a read of newer events;
* ``eventsourcing``: ``repository.get`` with ``AGGREGATE_CACHE_MAXSIZE`` (no fast-forward);
* ``eventsourcing_fastforward``: the same with ``AGGREGATE_CACHE_FASTFORWARD`` (its default).

Reported in microseconds per load (median of ``rounds``) and as ratios.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from engine import Actor, Engine
from engine.persistence.store import EngineApplication
from engine.persistence.urls import parse_url
from tests.toy import toy_definition

REQUESTER = Actor("req-1", "requester")


def _median_us(fn: Callable[[], None], loads: int, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) / loads * 1e6)
    return statistics.median(times)


def _es_loader(url: str, ids: list[UUID], fastforward: bool) -> tuple[EngineApplication, Any]:
    env = {**parse_url(url).env, "AGGREGATE_CACHE_MAXSIZE": "100000",
           "AGGREGATE_CACHE_FASTFORWARD": "y" if fastforward else "n"}  # fmt: skip
    app = EngineApplication(env=env)
    for iid in ids:
        app.repository.get(iid)
    return app, lambda: [app.repository.get(i) for i in ids * 5]


def run(instances: int, rounds: int) -> dict[str, Any]:
    """Load ``instances`` cached instances five times each, ``rounds`` times per system."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'cache.db'}"
        with Engine.open(url, workflows=[toy_definition()], projections=[]) as engine:
            start = {"title": "t", "amount": 1}
            ids = [engine.start("toy", start, actor=REQUESTER).id for _ in range(instances)]
            for iid in ids:
                for _ in range(5):
                    engine.fire(iid, "note", {"text": "x"}, actor=REQUESTER)
            svc = engine._commands  # the command service's own load, as fire uses it
            loads = instances * 5

            def ours(ff: bool) -> Callable[[], None]:
                return lambda: [svc.load(i, fresh=False, fastforward=ff) for i in ids * 5]

            figures = {
                "engine": _median_us(ours(False), loads, rounds),
                "engine_fastforward": _median_us(ours(True), loads, rounds),
            }
            for name, ff in (("eventsourcing", False), ("eventsourcing_fastforward", True)):
                app, load = _es_loader(url, ids, ff)
                figures[name] = _median_us(load, loads, rounds)
                app.close()
    return {
        "instances": instances,
        "us_per_load": figures,
        "ratios": {
            "eventsourcing_vs_engine": figures["eventsourcing"] / figures["engine"],
            "eventsourcing_ff_vs_engine_ff": figures["eventsourcing_fastforward"]
            / figures["engine_fastforward"],
        },
    }
