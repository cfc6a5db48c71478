"""The cmdpath benchmark runs end to end at a tiny size (not timed) and judges its targets."""

from __future__ import annotations

import math

import pytest

from bench import cmdpath


def test_cmdpath_runs_every_system_at_both_levels_and_judges_the_targets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = cmdpath.run(3, 1, callgrind_requests=0)
    for level in cmdpath.LEVELS:
        for name in cmdpath.SYSTEMS:
            assert result["steps_per_s"][f"{name}_{level}"] > 0
            assert math.isfinite(result["cpu_us_per_step"][f"{name}_{level}"])
    assert result["callgrind"] is None
    targets = result["targets"]
    assert set(targets) == {"engine_vs_es_cache_FULL_steps_per_s", "engine_vs_es_cache_NORMAL_cpu"}
    for t in targets.values():
        assert t["verdict"] == ("met" if t["measured"] >= 1.0 else "not met")
    printed = capsys.readouterr().out
    assert printed.count("cmdpath: engine_vs_es_cache_") == 2
