"""Write the log and its seals as JSON Lines that verify offline (schema in docs/audit.md).

Line 1 is a ``header``; then ``event`` lines in log order, each ``seal`` line right after
the last event it covers, an ``anchor`` line before the first event of a ``--since``
export, and an ``end`` line. Every event line holds the exact object that was hashed,
so ``event_digest(line["event"]) == line["hash"]`` for an intact event (hash format 1:
sorted-key JSON; 2: RFC 8785; see :mod:`engine.audit.offline.canonical`). Before
the first event that pins a definition comes a ``definition`` line holding it (as
``to_dict`` gives it; its canonical JSON hashes to the pinned hash), so the offline
verifier checks the workflow rules too.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, TextIO
from uuid import UUID

from engine.audit.offline.chain import GENESIS_RUNNING, Record, step_running
from engine.audit.offline.seal_record import SealRecord
from engine.audit.offline.semantic import DefinitionSource
from engine.audit.offline.verifier import EXPORT_SCHEMA
from engine.audit.records import iter_records
from engine.audit.report import ExportSummary
from engine.audit.seals import SealStore, seal_store
from engine.audit.verify import Progress
from engine.errors import InvalidArgument
from engine.instance.hashing import canonical_json, utc_iso
from engine.persistence.sql import SqlStore
from engine.persistence.store import EngineApplication, translate_errors

__all__ = ["EXPORT_SCHEMA", "definition_line", "event_line", "seal_line", "write_export"]


def event_line(rec: Record) -> dict[str, Any]:
    """The export line of one stored event (an unreadable one keeps only where it was)."""
    if rec.fields is None:
        return {
            "type": "event",
            "position": rec.position,
            "hash": None,
            "unreadable": rec.error,
            "digest": rec.digest,
            "event": {"originator_id": rec.instance_id, "originator_version": rec.version},
        }
    hashed = json.loads(canonical_json({**rec.fields, "originator_version": rec.version}))
    line = {"type": "event", "position": rec.position, "hash": rec.stored_hash, "event": hashed}
    if rec.stored_id is not None:
        line["stored_id"] = rec.stored_id
    return line


def definition_line(digest: str, definition: dict[str, object]) -> dict[str, object]:
    """The export line of one pinned definition: its content hash and its plain dict."""
    return {"type": "definition", "hash": digest, "definition": definition}


def seal_line(seal: SealRecord, heads: list[tuple[str, int, str]]) -> dict[str, Any]:
    """The export line of one seal, with its heads."""
    fields = {k: v for k, v in asdict(seal).items() if k != "line"}
    return {"type": "seal", **fields, "heads": [list(h) for h in heads]}


@dataclass
class _Writer:
    out: TextIO
    store: SealStore
    instance: str | None
    since: datetime | None
    pending: deque[SealRecord] = field(default_factory=deque)
    definitions: DefinitionSource | None = None
    pinned: set[str] = field(default_factory=set)
    running: str = GENESIS_RUNNING
    total: int = 0
    last: int = 0
    anchored: bool = False
    lines: int = 0
    events: int = 0
    seals: int = 0
    defs: int = 0

    def write(self, obj: Mapping[str, object]) -> None:
        try:
            self.out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
        except OSError as exc:  # the output's failure (a full disk), not the database's
            reason = exc.strerror or type(exc).__name__
            raise InvalidArgument(f"cannot write the export: {reason}") from None
        self.lines += 1

    def seals_up_to(self, position: int | None) -> None:
        while self.pending and (position is None or position > self.pending[0].position):
            seal = self.pending.popleft()
            self.write(seal_line(seal, self.store.heads(seal.seq)))
            self.seals += 1

    def anchor(self) -> None:
        self.anchored = True
        self.write(
            {
                "type": "anchor",
                "position": self.last,
                "running_hash": self.running,
                "events": self.total,
            }
        )

    def starts_here(self, rec: Record) -> bool:
        if self.since is None or self.anchored:
            return True
        at = None if rec.fields is None else rec.fields.get("timestamp")
        return isinstance(at, str) and datetime.fromisoformat(at) >= self.since

    def pin(self, rec: Record) -> None:
        """Write the definition ``rec`` pins, before its first event that pins it."""
        digest = None if rec.fields is None else rec.fields.get("definition_hash")
        if not isinstance(digest, str) or digest in self.pinned or self.definitions is None:
            return
        self.pinned.add(digest)
        found = self.definitions(digest)
        if found is not None:
            self.write(definition_line(digest, dict(found)))
            self.defs += 1

    def add(self, rec: Record) -> None:
        position = rec.position or 0
        self.seals_up_to(position)
        if self.starts_here(rec) and (self.instance is None or rec.instance_id == self.instance):
            if self.since is not None and not self.anchored:
                self.anchor()
            self.pin(rec)
            self.write(event_line(rec))
            self.events += 1
        self.running = step_running(self.running, rec.digest)
        self.total += 1
        self.last = position


def _header(label: str, scope: dict[str, str | None], now: datetime) -> dict[str, object]:
    return {
        "type": "header",
        "schema": EXPORT_SCHEMA,
        "exported_at": utc_iso(now),
        "source": label,
        "scope": scope,
        "hash": "sha256",
        "canonical_json": "hash_format 1: sorted keys, no whitespace, UTF-8, UTC ISO times; "
        "hash_format 2: RFC 8785",
    }


def _copy_log(app: EngineApplication, w: _Writer, progress: Progress | None) -> None:
    head = int(app.recorder.max_notification_id() or 0)
    for batch in iter_records(app.recorder, app.mapper, page=1000):
        for rec in batch:
            w.add(rec)
        if progress is not None:
            progress(batch.last, max(head, batch.last))


def write_export(
    app: EngineApplication,
    sql: SqlStore,
    out: TextIO,
    *,
    label: str,
    instance: UUID | None = None,
    since: datetime | None = None,
    now: datetime,
    progress: Progress | None = None,
    definitions: DefinitionSource | None = None,
) -> ExportSummary:
    """Export the log of ``app`` (or one instance, or the log from ``since`` on), with the
    definitions its exported events pin (those ``definitions`` knows)."""
    if since is not None and since.tzinfo is None:
        raise InvalidArgument("since must be timezone-aware")
    scope = {
        "instance": str(instance) if instance else None,
        "since": utc_iso(since) if since else None,
    }
    with translate_errors("exporting the log", label):
        store = seal_store(sql)
        w = _Writer(out, store, scope["instance"], since, deque(store.records()), definitions)
        w.write(_header(label, scope, now))
        _copy_log(app, w, progress)
        if since is not None and not w.anchored:
            w.anchor()
        w.seals_up_to(None)
    end = {"events": w.events, "seals": w.seals, "definitions": w.defs, "lines": w.lines + 1}
    w.write({"type": "end", **end})
    return ExportSummary(
        schema_id=EXPORT_SCHEMA,
        events=w.events,
        seals=w.seals,
        definitions=w.defs,
        lines=w.lines,
        instance=instance,
        since=since,
    )
