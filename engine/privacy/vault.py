"""The vault: the KEK, the key store and an in-process cache of unwrapped data keys.

``seal_payload`` replaces each personal value of a decided payload by its envelope before
the event is hashed (the command path); ``key_for`` gives the data key to open one.
"""

# long module: the vault's caches (data keys, key rows, what was sealed or opened) are
# kept and invalidated together, so they stay in one class.

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pydantic import BaseModel

from engine.errors import StorageUnavailable
from engine.privacy.envelope import DataKey, aad_head, open_envelope, seal_value
from engine.privacy.kek import Kek
from engine.privacy.keystore import ERASED, LIVE, KeyRow, KeyStore
from engine.privacy.pending import PendingKeys
from engine.privacy.subjects import personal_fields, personal_values, with_values

__all__ = ["Known", "Vault"]

ROWS_TTL = 1.0
"""Seconds a key row's status is trusted before it is read again (cross-process erasure)."""
_MAX_OPENED = 50_000
"""Opened fields remembered per process (then forgotten all at once)."""


class Known(NamedTuple):
    """An envelope object this process sealed, or opened in full, for ``instance_id``,
    with what it holds and the fields it was checked with (read back from the very same
    object, so a reader finding it again checks only where it sits and its key's status)."""

    envelope: dict[str, Any]
    """The object itself (held: its ``id`` cannot be reused while it is remembered)."""
    instance_id: str
    text: str
    row: tuple[str, int]
    """(subject, key version): the key row whose status decides what a reader sees."""
    at: str
    """Its recorded path and a dot: the prefix of what it is found at, when in place."""
    under: str
    """A dot, its path and a dot: the end of where it may also sit in an instance's data
    (collected payloads sit under a list)."""
    version: int
    """The event version it was sealed at."""


class Vault:
    """Data keys per subject, wrapped by the KEK (one per engine, shared by threads)."""

    def __init__(self, kek: Callable[[], Kek], store: KeyStore, *, shared: bool = True) -> None:
        """``shared``: other processes may change the key table (a file or a server), so
        a key row's status is trusted for ``ROWS_TTL`` seconds only; a ``memory://``
        store is this process's alone."""
        self.ttl = ROWS_TTL if shared else float("inf")
        self._load_kek = kek
        self._kek: Kek | None = None
        self.store = store
        self._keys: dict[tuple[str, int], DataKey] = {}
        self._live: dict[str, int] = {}  # subject -> live key version
        self._opened: dict[tuple[object, ...], str] = {}  # (subject, instance, envelope) -> text
        self.known: dict[int, Known] = {}
        """By ``id``: the very envelope objects sealed or opened here (see :class:`Known`)."""
        self.row_cache: dict[str, tuple[float, dict[tuple[str, int], KeyRow]]] = {}
        """Per subject: (when read, its key rows), trusted for ``ttl`` seconds."""
        self._lock = threading.Lock()
        self.pending: PendingKeys | None = None
        """New keys left to the event's own transaction (SQLite), else ``None``."""

    @property
    def kek(self) -> Kek:
        """The KEK, loaded on first use (``StorageUnavailable`` if none is configured)."""
        if self._kek is None:
            self._kek = self._load_kek()
        return self._kek

    def check_kek(self) -> None:
        """``StorageUnavailable`` if the stored data keys are wrapped by another KEK (or
        there are stored keys and no KEK)."""
        stored = self.store.kek_ids()
        if not stored:
            return
        others = stored - {self.kek.id}
        if others:
            msg = (
                f"the key-encryption key ({self.kek.source}) is not the one this store's "
                "data keys are wrapped with: wrong key file or $SOCIEUX_KEK"
            )
            raise StorageUnavailable(msg)

    def seal_payload(
        self, model: type[BaseModel], payload: dict[str, Any], *, instance_id: str, version: int
    ) -> dict[str, Any]:
        """``payload`` with every personal value replaced by its envelope (a new dict;
        only the containers on the personal values' paths are copied)."""
        if not personal_fields(model):
            return payload
        values = personal_values(model, payload, instance_id)
        if not values:
            return payload
        own = {v.subject for v in values if v.own}
        keys = self._live_keys({v.subject for v in values}, own=own, at=(instance_id, version))
        head = aad_head(instance_id, version)
        changes: list[tuple[tuple[str, ...], object]] = []
        learnt: list[tuple[tuple[object, ...], Known]] = []
        for v in values:
            kv, key = keys[v.subject]
            envelope = seal_value(
                v.value, key, kv, instance_id=instance_id, event_version=version, path=v.path,
                subject=v.subject, head=head,
            )  # fmt: skip
            changes.append((v.parts, envelope))
            at = v.path + "."
            learnt.append((
                (v.subject, instance_id, tuple(envelope.items())),
                Known(envelope, instance_id, v.value, (v.subject, kv), at, "." + at, version),
            ))  # fmt: skip
        with self._lock:  # what was sealed is known without opening it
            if len(self._opened) + len(learnt) > _MAX_OPENED:
                self._opened.clear()
            if len(self.known) + len(learnt) > _MAX_OPENED:
                self.known.clear()
            for memo, known in learnt:
                self._opened[memo] = known.text
                self.known[id(known.envelope)] = known
        sealed: dict[str, Any] = with_values(payload, changes)
        return sealed

    # long function: the hot path, then the slow one (read, create, adopt or leave to the
    # event's transaction) in one retry loop.
    def _live_keys(
        self, subjects: set[str], *, own: set[str], at: tuple[str, int]
    ) -> dict[str, tuple[int, DataKey]]:
        """The live key of each subject, creating the missing ones in one write transaction
        (none when all are known: the command path then reads and writes no key row). With
        ``pending`` (SQLite), the new keys of the instance's ``own`` subjects are left to
        the transaction of the event at ``at`` (instance, version) instead."""
        out: dict[str, tuple[int, DataKey]] = {}
        for subject in subjects:  # the hot path: every key already in this process
            kv = self._live.get(subject)
            key = None if kv is None else self._keys.get((subject, kv))
            if kv is None or key is None:
                break
            out[subject] = (kv, key)
        else:
            return out
        for attempt in range(3):
            out = {}
            new: dict[tuple[str, int], DataKey] = {}
            missing = sorted(s for s in subjects if (s, self._live.get(s, 0)) not in self._keys)
            if attempt == 0 and at[1] == 1 and self.pending is None:
                # the instance's first event: its own subjects have no key row yet, unless
                # a failed start left one; then the insert below fails and the next
                # attempt reads it (with ``pending`` the insert is the event's: read first)
                missing = [s for s in missing if s not in own]
            rows = self.store.rows(missing) if missing else {}
            for subject in subjects:
                kv = self._live.get(subject, 0)
                if (subject, kv) in self._keys:
                    out[subject] = (kv, self._keys[subject, kv])
                    continue
                mine = [r for (s, _), r in rows.items() if s == subject]
                latest = max(mine, key=lambda r: r.version) if mine else None
                if latest is not None and latest.wrapped is not None:
                    out[subject] = (latest.version, self._cache(latest))
                    continue
                version = 1 if latest is None else latest.version + 1
                new[subject, version] = DataKey(os.urandom(32))
                out[subject] = (version, new[subject, version])
            rows = {
                sv: KeyRow(sv[0], sv[1], self.kek.wrap(k.raw, *sv), self.kek.id, LIVE, None)
                for sv, k in new.items()
            }
            later = [sv for sv in new if self.pending is not None and sv[0] in own]
            created = [r for sv, r in rows.items() if sv not in later]
            before = time.monotonic()
            if not created or self.store.create(created, datetime.now(UTC).isoformat()):
                self._adopt([(rows[sv], new[sv]) for sv in new if sv not in later], before)
                if later and self.pending is not None:
                    self.pending.add(at, [(rows[sv], new[sv]) for sv in later])
                return out
        msg = "could not create data keys (another writer kept racing)"
        raise StorageUnavailable(msg)

    def _adopt(self, created: list[tuple[KeyRow, DataKey]], before: float) -> None:
        """Keys now stored (by a transaction begun after ``before``): cache them as their
        subjects' live keys. A subject's first key is then its only row, as a read at
        ``before`` would have found it once committed: an erasure or restriction by
        another process commits later, so it shows within ``ttl`` as after a read."""
        if created:
            with self._lock:
                for row, key in created:
                    self._keys[row.subject, row.version] = key
                    self._live[row.subject] = row.version
                    if row.version == 1:  # inserted, so no row of the subject was there
                        self.row_cache[row.subject] = (before, {(row.subject, 1): row})

    def fuse(self) -> PendingKeys:
        """Leave new keys of an instance's own subjects to its event's transaction (SQLite:
        the returned object's ``wrap`` and ``promote`` hook into the command service)."""
        self.pending = PendingKeys(self.store.keys, self._adopt)
        return self.pending

    def _cache(self, row: KeyRow) -> DataKey:
        assert row.wrapped is not None
        key = DataKey(self.kek.unwrap(row.wrapped, row.subject, row.version))
        with self._lock:
            self._keys[row.subject, row.version] = key
            if row.status != ERASED:
                self._live[row.subject] = max(row.version, self._live.get(row.subject, 0))
        return key

    def key_for(self, row: KeyRow) -> DataKey:
        """The data key of a row that still has one (cached after the first unwrap)."""
        cached = self._keys.get((row.subject, row.version))
        return cached if cached is not None else self._cache(row)

    def open(self, envelope: dict[str, Any], row: KeyRow, *, instance_id: str) -> str:
        """The plaintext of an envelope whose key row the caller found live (opened once,
        then remembered: a read decrypts each field of an instance's data again)."""
        memo = (row.subject, instance_id, tuple(envelope.items()))
        try:  # the very same envelope (every field, named and ordered alike) opened here
            found = self._opened.get(memo)
        except TypeError:  # an unhashable value: not an envelope of this format
            return open_envelope(envelope, self.key_for(row), instance_id=instance_id)
        if found is None:
            found = open_envelope(envelope, self.key_for(row), instance_id=instance_id)
            self._remember(memo, found)
        self._know(envelope, instance_id, found)
        return found

    def _know(self, envelope: dict[str, Any], instance_id: str, text: str) -> None:
        """Remember the envelope object by identity (its fields are final: events and the
        instances built from them are never changed in place)."""
        ev, kv = envelope["ev"], envelope["kv"]
        if type(ev) is not int or type(kv) is not int:  # not as sealed: never remembered
            return
        at = f"{envelope['path']}."
        known = Known(envelope, instance_id, text, (str(envelope["kid"]), kv), at, "." + at, ev)
        with self._lock:
            if len(self.known) >= _MAX_OPENED:
                self.known.clear()
            self.known[id(envelope)] = known

    def _remember(self, memo: tuple[object, ...], text: str) -> None:
        """Remember what an envelope holds: opened here, or sealed here (then it is known
        without opening it: the memo is keyed by every field of the envelope)."""
        with self._lock:
            if len(self._opened) >= _MAX_OPENED:
                self._opened.clear()
            self._opened[memo] = text

    def rows(self, subjects: Iterable[str]) -> dict[tuple[str, int], KeyRow]:
        """The key rows of ``subjects``, read at most ``ROWS_TTL`` seconds ago: another
        process's erasure or restriction shows here within that time (this process's own
        at once)."""
        now = time.monotonic()
        known, ttl = self.row_cache, self.ttl
        out: dict[tuple[str, int], KeyRow] = {}
        stale: list[str] = []
        for subject in subjects:
            entry = known.get(subject)
            if entry is None or now - entry[0] >= ttl:
                stale.append(subject)
            else:
                out.update(entry[1])
        if stale:
            fresh = self.store.rows(stale)
            with self._lock:
                for subject in stale:
                    mine = {k: r for k, r in fresh.items() if k[0] == subject}
                    known[subject] = (now, mine)
                    out.update(mine)
        return out

    def forget_cached(self, subject: str) -> None:
        """Drop the subject's keys, rows and what they opened from this process's memory."""
        with self._lock:
            self.row_cache.pop(subject, None)
            for k in [k for k in self._keys if k[0] == subject]:
                del self._keys[k]
            for m in [m for m in self._opened if m[0] == subject]:
                del self._opened[m]
            for i in [i for i, k in self.known.items() if k.row[0] == subject]:
                del self.known[i]
            self._live.pop(subject, None)

    def rotate(self, new: Kek) -> int:
        """Re-wrap every live data key with ``new``; how many were re-wrapped."""
        rows = self.store.live()
        rewrapped = [
            KeyRow(
                r.subject,
                r.version,
                new.wrap(self.key_for(r).raw, r.subject, r.version),
                new.id,
                r.status,
                r.erasure,
            )
            for r in rows
        ]
        self.store.rewrap(rewrapped)
        self._kek = new
        with self._lock:  # nothing read or opened under the old KEK is kept past it
            self._opened.clear()
            self.known.clear()
            self.row_cache.clear()
        return len(rewrapped)
