"""The proofs benchmark runs end to end at tiny sizes (not timed), so it cannot rot."""

from __future__ import annotations

import math

from bench import proofs
from bench.common import quiet_logs


def test_the_proofs_suite_runs_at_tiny_sizes_and_reports_finite_figures() -> None:
    quiet_logs()
    figures = proofs.run(60, 150, steps=20)
    assert figures["150"]["bundle_events"] > 5
    assert figures["150"]["tree_size"] >= 150
    values = [v for size in ("60", "150") for v in figures[size].values()] + list(
        figures["head_cost"].values()
    )
    assert all(isinstance(v, int | float) and math.isfinite(v) for v in values)
