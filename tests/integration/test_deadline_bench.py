"""The deadline benchmark runs end to end at tiny sizes (not timed), so it cannot rot."""

from __future__ import annotations

import math

from bench import deadlines
from bench.common import quiet_logs


def test_the_deadline_suite_runs_at_tiny_sizes() -> None:
    quiet_logs()
    figures = deadlines.run(3, 1, scheduled=200, due=10)
    assert figures["run_due"]["due"] == 10
    assert set(figures["ratios"]) == {"with_vs_without_deadlines"}
    values = [*figures["steps_per_second"].values(), *figures["ratios"].values()]
    values += [v for v in figures["run_due"].values() if isinstance(v, float | int)]
    assert all(math.isfinite(v) for v in values)
