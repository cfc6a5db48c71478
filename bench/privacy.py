"""Personal data: what encryption at rest costs the command path (SQLite file, WAL, FULL).

The technical-assistance spine (7 steps per request, projections off; ``mobilise`` seals
two experts' names, so its event holds envelopes and the instance's data keeps the
contact's three) with the engine as it is, and with the privacy hook switched off on the
same engine (``protect`` and the read side's reveal, so payloads are stored and returned in
clear, as before this feature). Side by side, rounds interleaved; the ratio is ``with /
without`` steps per second (1.0: free; the target is at least 0.9, i.e. encryption costs at
most 10% of a step). ``starts`` times the untimed setup's ``submit`` too (each creates the
contact's data key: one more write transaction per request), reported apart.
"""

from __future__ import annotations

import os
import time
from typing import Any

from bench.common import fresh_db, median, ratio, side_by_side
from bench.spine import fire_steps, start_requests
from engine import Engine, InstanceView
from workflows.technical_assistance import definition


def _plain(engine: Engine) -> None:
    """Switch the privacy hooks off (a benchmark's comparison, not an API)."""
    engine._commands.protect = None
    engine._commands.present = None

    def clear(view: InstanceView) -> InstanceView:
        return view

    engine._privacy.reveal_view = clear  # type: ignore[method-assign]


def _commands(requests: int, *, encrypted: bool, sync: str) -> tuple[float, int, float]:
    with fresh_db("privacy") as path:
        key = path.with_name("kek")
        key.write_text(os.urandom(32).hex() + "\n", encoding="utf-8")
        url = f"sqlite:///{path}?key_file={key}&synchronous={sync}"
        with Engine.open(url, workflows=[definition()], projections=[]) as engine:
            return _timed(engine, requests, encrypted=encrypted)


def _timed(engine: Engine, requests: int, *, encrypted: bool) -> tuple[float, int, float]:
    """(seconds of the 7 steps, steps, submits per second of the setup)."""
    if not encrypted:
        _plain(engine)
    t0 = time.perf_counter()
    ids = start_requests(engine, requests)
    starts = time.perf_counter() - t0
    seconds, steps = fire_steps(engine, ids)
    stored = engine.application.instance(ids[0]).data["contact"]["name"]
    if encrypted != isinstance(stored, dict):
        raise RuntimeError("the contact is not stored as the run says")
    if engine.get(ids[0]).data["contact"]["name"] != "Sokha Chan":
        raise RuntimeError("the contact does not read back")
    return seconds, steps, requests / starts


def _side_by_side(requests: int, rounds: int, sync: str) -> dict[str, Any]:
    starts: dict[str, list[float]] = {"with_encryption": [], "without_encryption": []}

    def system(name: str, *, encrypted: bool) -> tuple[float, int]:
        seconds, steps, start_rate = _commands(requests, encrypted=encrypted, sync=sync)
        starts[name].append(start_rate)
        return seconds, steps

    rates = side_by_side(
        {
            "without_encryption": lambda: system("without_encryption", encrypted=False),
            "with_encryption": lambda: system("with_encryption", encrypted=True),
        },
        rounds,
    )
    return {
        "steps_per_second": {k: round(median(v)) for k, v in rates.items()},
        "starts_per_second": {k: round(median(v)) for k, v in starts.items()},
        "ratios": {
            "with_vs_without_encryption": ratio(rates, "with_encryption", "without_encryption"),
            "starts_with_vs_without": ratio(starts, "with_encryption", "without_encryption"),
        },
    }


def run(requests: int, rounds: int) -> dict[str, Any]:
    """The command path with and without encryption, side by side: at full durability
    (``synchronous=full``, the default; fsync dominates) and with ``synchronous=off`` (the
    engine's CPU alone: the worst case for the ratio)."""
    full = _side_by_side(requests, rounds, "full")
    return {
        "requests": requests,
        "rounds": rounds,
        **full,
        "cpu_only": _side_by_side(requests, rounds, "off"),
    }
