"""Helpers shared by the read models: times as sortable UTC text, JSON, chunking."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

__all__ = ["chunks", "dumps", "iso", "loads", "parse_iso", "placeholders"]

T = TypeVar("T")


@lru_cache(maxsize=8192)
def iso(at: datetime) -> str:
    """UTC ISO 8601 text with microseconds (sorts like the time it names). Remembered for
    the last few thousand times: each read model of a batch asks for the same events'."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(text: str) -> datetime:
    """The inverse of :func:`iso`."""
    return datetime.fromisoformat(text)


def dumps(obj: Any) -> str:
    """Compact JSON."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, default=str)


def loads(text: str | None) -> Any:
    """JSON text (or ``None``) to data."""
    return None if text is None else json.loads(text)


def chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def placeholders(n: int) -> str:
    """``?, ?, ?`` for ``n`` bound parameters."""
    return ", ".join("?" * n)
