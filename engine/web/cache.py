"""Figures the console reuses while the log has not moved (and for at most ``ttl`` seconds).

The portfolio's figures and the list of known areas read every row of their read models;
they only change when an event is recorded, or, for the overdue count, as time passes. So
each is kept with the log's head position at the time: a later page reuses it while the
head is the same and the value is younger than ``ttl``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from engine.facade import Engine

__all__ = ["HeadCache"]

T = TypeVar("T")
TTL = 30.0
"""Seconds a value is reused at most, even when the log has not moved."""


class HeadCache:
    """Values keyed by name, each valid for one head position of the log and ``ttl``."""

    def __init__(self, engine: Engine, *, ttl: float = TTL) -> None:
        self.engine = engine
        self.ttl = ttl
        self._lock = threading.Lock()
        self._values: dict[str, tuple[int, float, object]] = {}

    def head(self) -> int:
        """The log's head position, as the projections see it."""
        return max((s.head for s in self.engine.projection_status()), default=0)

    def get(self, name: str, compute: Callable[[], T], kind: type[T]) -> T:
        """The value of ``name``: reused if computed at this head less than ``ttl`` ago."""
        head, now = self.head(), time.monotonic()
        with self._lock:
            kept = self._values.get(name)
        if kept is not None and kept[0] == head and now - kept[1] < self.ttl:
            value = kept[2]
            if isinstance(value, kind):
                return value
        value = compute()
        with self._lock:
            self._values[name] = (head, now, value)
        return value
