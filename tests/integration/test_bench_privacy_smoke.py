"""The privacy benchmark runs end to end at tiny sizes (not timed), so it cannot rot."""

from __future__ import annotations

import math

from bench import privacy
from bench.common import quiet_logs


def test_the_privacy_suite_runs_at_tiny_sizes_and_reports_finite_ratios() -> None:
    quiet_logs()
    figures = privacy.run(3, 1, callgrind_requests=None)
    assert set(figures["ratios"]) == {
        "with_vs_without_encryption",
        "starts_with_vs_without",
        "all_commands_with_vs_without",
    }
    values = [*figures["steps_per_second"].values(), *figures["ratios"].values()]
    values += [*figures["cpu_only"]["ratios"].values()]
    assert all(math.isfinite(v) and v > 0 for v in values)
    assert all(isinstance(t["met"], bool) for t in figures["targets"].values())


def test_the_process_callgrind_counts_runs_both_ways() -> None:
    quiet_logs()
    privacy.child(2, True)
    privacy.child(2, False)
