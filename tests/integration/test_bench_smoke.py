"""The benchmark harness runs end to end at tiny sizes (not timed), so it cannot rot."""

from __future__ import annotations

import math
from typing import Any

import pytest

from bench import (
    cache,
    cli,
    command,
    hooks,
    peers,
    portfolio,
    postgres,
    profile,
    reads,
    rebuild,
    scale,
)
from bench.common import quiet_logs
from bench.report import summary_rows


def _numbers(tree: Any) -> list[float]:
    if isinstance(tree, dict):
        return [n for v in tree.values() for n in _numbers(v)]
    if isinstance(tree, list):
        return [n for v in tree for n in _numbers(v)]
    return [float(tree)] if isinstance(tree, int | float) and not isinstance(tree, bool) else []


@pytest.fixture(autouse=True)
def _quiet() -> None:
    quiet_logs()


def test_every_sqlite_suite_runs_at_tiny_sizes_and_reports_finite_figures() -> None:
    results: dict[str, Any] = {
        "command": command.run(4, 1),
        "peers": peers.run(3, 1),
        "rebuild": rebuild.run(200),
        "reads": reads.run(600, 2, long_events=60),  # 10% of rows must fill a page of 50
        "portfolio": portfolio.run(120, 1),
        "scale": scale.run(100, 200),
        "profile": profile.run(3, 1),
        "cli": cli.run(1),
        "hooks": hooks.run(3, 1),
        "cache": cache.run(3, 1),
    }
    assert set(results["command"]["ratios"]) >= {"engine_catchup_vs_eventsourcing"}
    assert results["rebuild"]["events"] == 200
    for name, figures in results.items():
        values = _numbers(figures)
        assert values, name
        assert all(math.isfinite(v) for v in values), name
    assert summary_rows({"machine": {}, "quick": True, "seconds": {}, **results})


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_postgres_suite_runs_at_tiny_sizes(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    base = store_url.split("?", maxsplit=1)[0]
    monkeypatch.setenv("SOCIEUX_BENCH_POSTGRES", base)
    figures = postgres.run(3, 1)
    assert figures["events_per_s"]["engine"] > 0
