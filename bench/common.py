"""Shared helpers: quiet logs, fresh SQLite files, timing and the machine description."""

from __future__ import annotations

import logging
import os
import platform
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog


def quiet_logs() -> None:
    """Benchmarks measure the engine, not the console."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


@contextmanager
def fresh_db(name: str) -> Iterator[Path]:
    """A SQLite file in a new temporary directory (deleted afterwards)."""
    with tempfile.TemporaryDirectory(prefix="socieux-bench-") as d:
        yield Path(d) / f"{name}.db"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds taken by ``fn()`` and its result."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
    }
