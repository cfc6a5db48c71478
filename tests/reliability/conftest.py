"""Reliability suite: contention, crashes, fuzzed input, database faults, security basics.

Every test here is marked ``reliability``. ``make test`` runs the short version
(``SOCIEUX_RELIABILITY`` unset or ``short``); ``make reliability`` runs the long one
(``SOCIEUX_RELIABILITY=long``) with the sizes the acceptance criteria name.

Tests report what they measured through the ``figures`` fixture; the figures are printed
in the terminal summary and written to ``.reliability/figures.json`` (long runs feed
docs/reliability.md from it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_FIGURES: list[tuple[str, dict[str, Any]]] = []
FIGURES_FILE = Path(".reliability/figures.json")


def long_run() -> bool:
    """True under ``make reliability`` (``SOCIEUX_RELIABILITY=long``)."""
    return os.environ.get("SOCIEUX_RELIABILITY", "short") == "long"


def scale(short: int, long: int) -> int:
    """``short`` in ``make test``, ``long`` in ``make reliability``."""
    return long if long_run() else short


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.reliability)


class Figures:
    """Collects one test's measured figures for the summary."""

    def __init__(self, test: str) -> None:
        self.test = test
        self.values: dict[str, Any] = {}

    def record(self, **values: Any) -> None:
        """Record (or update) named figures; they are printed after the run."""
        self.values.update(values)


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    """Record figures: ``figures.record(commands=4000, conflicts=12)``."""
    fig = Figures(request.node.nodeid)
    yield fig
    if fig.values:
        _FIGURES.append((fig.test, fig.values))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    mode = "long" if long_run() else "short"
    terminalreporter.section(f"reliability figures ({mode} run)")
    for test, values in _FIGURES:
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        terminalreporter.write_line(f"{test}: {shown}")
    FIGURES_FILE.parent.mkdir(exist_ok=True)
    FIGURES_FILE.write_text(
        json.dumps({"mode": mode, "figures": dict(_FIGURES)}, indent=2, default=str)
    )
