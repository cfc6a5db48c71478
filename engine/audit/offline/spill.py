"""Per-instance state in bounded memory (standard library only).

A verification walks the log in its global order, where instances interleave; it keeps a
little state per instance (a chain head, a rule track) until the instance's next event. A
:class:`SpillMap` holds that state for the instances most recently seen (at most
``capacity`` plus one batch), and writes the older ones to a private temporary SQLite file
(deleted when closed), read back when their instance comes again. So memory stays flat in
the number of instances: a log of a million instances costs disk pages, not resident memory.

Nothing is written while the instances fit: the file is opened on the first spill.
"""

from __future__ import annotations

import pickle
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    import sqlite3

__all__ = ["MEMORY_INSTANCES", "SpillMap"]

MEMORY_INSTANCES = 1024
"""How many instances' state a map keeps in memory before it spills the oldest to disk."""
_CACHE_KIB = 512
"""The page cache of each spill file (SQLite's own memory, bounded)."""

V = TypeVar("V")


def _dumps(value: object) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


class SpillMap(Generic[V]):
    """A ``str``-keyed map holding its most recently used entries in memory, the rest in a
    temporary SQLite file. ``encode``/``decode`` turn a value into bytes and back (pickle by
    default). A value read back is a new object: callers mutate only what :meth:`get`
    returned last, before the map is used again for ``capacity`` other keys.
    """

    def __init__(
        self,
        encode: Callable[[V], bytes] = _dumps,
        decode: Callable[[bytes], V] = pickle.loads,
        *,
        capacity: int = MEMORY_INSTANCES,
    ) -> None:
        self._encode, self._decode = encode, decode
        self.capacity = max(1, capacity)
        self._batch = max(1, self.capacity // 4)
        self._mem: OrderedDict[str, V] = OrderedDict()
        self._db: sqlite3.Connection | None = None

    @property
    def held(self) -> int:
        """How many entries are in memory now (at most ``capacity`` plus one batch)."""
        return len(self._mem)

    @property
    def spilled(self) -> bool:
        """Whether any entry was ever written to disk."""
        return self._db is not None

    def get(self, key: str) -> V | None:
        """The value of ``key`` (read back from disk if it was spilled), or ``None``."""
        mem = self._mem
        if key in mem:
            mem.move_to_end(key)
            return mem[key]
        if self._db is None:
            return None
        row = self._db.execute("SELECT v FROM m WHERE k = ?", (key,)).fetchone()
        if row is None:
            return None
        value = self._decode(row[0])
        self.put(key, value)
        return value

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def put(self, key: str, value: V) -> None:
        """Set ``key`` to ``value`` (the most recently used entry)."""
        mem = self._mem
        mem[key] = value
        mem.move_to_end(key)
        if len(mem) > self.capacity + self._batch:
            self._spill()

    def __setitem__(self, key: str, value: V) -> None:
        self.put(key, value)

    def setdefault(self, key: str, value: V) -> V:
        """The value of ``key``; ``value`` (stored) when it has none."""
        found = self.get(key)
        if found is not None:
            return found
        self.put(key, value)
        return value

    def pop(self, key: str) -> None:
        """Forget ``key``, in memory and on disk."""
        self._mem.pop(key, None)
        if self._db is not None:
            self._db.execute("DELETE FROM m WHERE k = ?", (key,))

    def clear(self) -> None:
        """Forget every entry."""
        self._mem.clear()
        if self._db is not None:
            self._db.execute("DELETE FROM m")

    def items(self) -> Iterator[tuple[str, V]]:
        """Every entry (in memory first, then the spilled ones); do not change the map
        while iterating."""
        yield from self._mem.items()
        if self._db is None:
            return
        for key, blob in self._db.execute("SELECT k, v FROM m ORDER BY k"):
            if key not in self._mem:
                yield key, self._decode(blob)

    def close(self) -> None:
        """Drop the spill file (the map is empty afterwards)."""
        self._mem.clear()
        if self._db is not None:
            self._db.close()
            self._db = None

    def _open(self) -> sqlite3.Connection:
        import sqlite3  # only when a log has more instances than memory holds

        db = sqlite3.connect("", isolation_level=None)  # "": a private file, deleted on close
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        db.execute("CREATE TABLE m (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")
        return db

    def _spill(self) -> None:
        """Write the least recently used batch to disk (or, when no temporary file can be
        written or a value cannot be encoded, keep everything in memory from now on)."""
        import sqlite3

        mem = self._mem
        batch = [mem.popitem(last=False) for _ in range(self._batch)]
        try:
            rows = [(key, self._encode(value)) for key, value in batch]
            db = self._db = self._db or self._open()
            db.executemany("INSERT OR REPLACE INTO m (k, v) VALUES (?, ?)", rows)
        except (sqlite3.Error, OSError, pickle.PicklingError, TypeError, AttributeError):
            for key, value in reversed(batch):  # back to the front, oldest first
                mem[key] = value
                mem.move_to_end(key, last=False)
            self.capacity = 2**62  # memory only: a verification never fails for want of disk
