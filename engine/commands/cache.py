"""The instance cache: the last known copy of recently used instances, shared by threads.

Commands decide on a fork of the cached copy (no read transaction on the hot path). A stale
copy cannot do harm: the store refuses a second event at the same version, and the command
service then evicts it, re-loads and re-decides.

Measured against eventsourcing's own repository cache (``AGGREGATE_CACHE_MAXSIZE`` with
fast-forward) in bench/ ("eventsourcing with its aggregate cache" peer): see
docs/benchmarks.md. Ours hands out forks, so a refused command never has to roll back
the cached copy, and it holds one lock for microseconds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from uuid import UUID

from engine.instance.aggregate import WorkflowInstance

__all__ = ["CACHE_SIZE", "InstanceCache"]

CACHE_SIZE = 10_000


class InstanceCache:
    """A thread-safe LRU of instances by id, never going back to an older version."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._items: OrderedDict[UUID, WorkflowInstance] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, iid: UUID) -> WorkflowInstance | None:
        """The cached copy (do not mutate it: fork it)."""
        with self._lock:
            agg = self._items.get(iid)
            if agg is not None:
                self._items.move_to_end(iid)
            return agg

    def put(self, agg: WorkflowInstance) -> None:
        """Remember ``agg`` unless a newer version is already cached."""
        with self._lock:
            current = self._items.get(agg.id)
            if current is None or current.version <= agg.version:
                self._items[agg.id] = agg
                self._items.move_to_end(agg.id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def evict(self, iid: UUID) -> None:
        """Forget ``iid`` (after a lost race)."""
        with self._lock:
            self._items.pop(iid, None)
