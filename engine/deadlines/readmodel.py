"""The engine's own read model of deadlines: the due table and the worklist rows.

Both are built from the events like any projection (exactly once, resumable, rebuildable),
but they are the engine's: the runner here keeps its positions in a table of its own, so
the host's projections and ``socieux projections`` never see them.

* ``socieux_due``: one row per scheduled deadline (instance, ``<version>:<name>``), indexed
  by status and due time; its status becomes ``fired`` or ``cancelled`` when the event that
  closed it is applied. Claims write a lease (``lease_owner``, ``lease_until``) on rows.
* ``socieux_worklist``: one row per instance that is not final: its definition, state,
  when it entered it, who fired which trigger and acted in which role (for separation of
  duties), and the roles escalations named in this state.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from engine.instance.aggregate import ESCALATED_TOPIC
from engine.instance.hashing import utc_iso
from engine.persistence.sql import Cursor
from engine.projection.protocol import ALL_TOPICS, ProjectedEvent, Projection
from engine.projection.runner import ProjectionRunner

__all__ = ["DUE", "WORKLIST", "DeadlineReadModel", "DeadlineRunner"]

DUE = "socieux_due"
WORKLIST = "socieux_worklist"
_POSITIONS = "socieux_engine_positions"


class DeadlineRunner(ProjectionRunner):
    """The projection runner of the engine's own read models (positions of their own)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pos = self._sql.table(_POSITIONS)


class DeadlineReadModel(Projection):
    """The due table and the worklist rows (see the module's docstring)."""

    name: ClassVar[str] = "socieux_deadlines"
    version: ClassVar[int] = 1
    topics: ClassVar[tuple[str, ...]] = ALL_TOPICS
    tables: ClassVar[tuple[str, ...]] = (DUE, WORKLIST)

    def create(self, cur: Cursor) -> None:
        """Create the two tables and their indexes."""
        real = "DOUBLE PRECISION" if self.sql.dialect == "postgres" else "REAL"
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t(DUE)} (instance_id TEXT NOT NULL, "
            "deadline_id TEXT NOT NULL, workflow TEXT NOT NULL, state TEXT NOT NULL, "
            "name TEXT NOT NULL, action TEXT NOT NULL, trigger TEXT, role TEXT, level INTEGER, "
            "due_at TEXT NOT NULL, status TEXT NOT NULL, closed_at TEXT, closed_version "
            f"INTEGER, lag_seconds {real}, note TEXT, lease_owner TEXT, lease_until {real}, "
            "PRIMARY KEY (instance_id, deadline_id))"
        )
        index = self.sql.table(f"{DUE}_by_due").split(".")[-1]
        cur.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {self.t(DUE)} (status, due_at)")
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t(WORKLIST)} (instance_id TEXT PRIMARY KEY, "
            "workflow TEXT NOT NULL, definition_hash TEXT NOT NULL, state TEXT NOT NULL, "
            "version INTEGER NOT NULL, entered_at TEXT NOT NULL, fired_by TEXT NOT NULL, "
            "acted_as TEXT NOT NULL, escalated TEXT NOT NULL)"
        )
        index = self.sql.table(f"{WORKLIST}_by_state").split(".")[-1]
        cur.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {self.t(WORKLIST)} (state)")

    def apply(self, cur: Cursor, events: Sequence[ProjectedEvent]) -> None:
        """Schedule, close and cancel due rows; keep each open instance's worklist row."""
        workflows: dict[str, str] = {}
        for e in events:
            row = self._row(cur, e.instance_id)
            workflow = e.workflow or (row["workflow"] if row else workflows.get(e.instance_id))
            workflows[e.instance_id] = workflow or ""
            self._due(cur, e, workflow or "")
            self._worklist(cur, e, row, workflow or "")

    def _row(self, cur: Cursor, iid: str) -> Any:  # a driver row (sqlite3.Row or a dict)
        cur.execute(f"SELECT * FROM {self.t(WORKLIST)} WHERE instance_id = ?", (iid,))
        return cur.fetchone()

    def _due(self, cur: Cursor, e: ProjectedEvent, workflow: str) -> None:
        closing = f"UPDATE {self.t(DUE)} SET status = ?, closed_at = ?, closed_version = ?, "
        where = " WHERE instance_id = ? AND deadline_id = ?"
        at = utc_iso(e.at)
        if e.deadline is not None:
            due = str(e.deadline.get("due_at"))
            lag = (e.at - datetime.fromisoformat(due)).total_seconds()
            cur.execute(
                f"{closing}lag_seconds = ?, lease_owner = NULL, lease_until = NULL{where}",
                ("fired", at, e.version, lag, e.instance_id, str(e.deadline["id"])),
            )
        changes = e.deadlines or {}
        cancelled = [
            ("cancelled", at, e.version, e.instance_id, str(i)) for i in changes.get("cancel", ())
        ]
        if cancelled:
            cur.executemany(f"{closing}lease_owner = NULL, lease_until = NULL{where}", cancelled)
        scheduled = [_scheduled(e, workflow, d) for d in changes.get("schedule", ())]
        if scheduled:
            cur.executemany(
                f"INSERT INTO {self.t(DUE)} (instance_id, deadline_id, workflow, state, name, "
                "action, trigger, role, level, due_at, status) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open') ON CONFLICT DO NOTHING",
                scheduled,
            )

    def _worklist(self, cur: Cursor, e: ProjectedEvent, row: Any, workflow: str) -> None:
        table = self.t(WORKLIST)
        if e.dest in self.ctx.final_states(e.definition_hash):
            cur.execute(f"DELETE FROM {table} WHERE instance_id = ?", (e.instance_id,))
            return
        fired: dict[str, list[str]] = json.loads(row["fired_by"]) if row else {}
        acted: dict[str, list[str]] = json.loads(row["acted_as"]) if row else {}
        escalated: list[str] = json.loads(row["escalated"]) if row else []
        moved = row is None or row["state"] != e.dest or e.source is None
        entered = utc_iso(e.at) if moved else row["entered_at"]
        if moved:
            escalated = []
        if e.topic == ESCALATED_TOPIC:
            role = (e.deadline or {}).get("role")
            escalated = sorted({*escalated, role}) if isinstance(role, str) else escalated
        else:
            who = str(e.audit.get("actor_id"))
            _add(fired, e.trigger, who)
            _add(acted, str(e.audit.get("role")), who)
        values = (
            workflow,
            e.definition_hash,
            e.dest,
            e.version,
            entered,
            json.dumps(fired),
            json.dumps(acted),
            json.dumps(escalated),
        )
        if row is None:
            cur.execute(
                f"INSERT INTO {table} (workflow, definition_hash, state, version, entered_at, "
                "fired_by, acted_as, escalated, instance_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, e.instance_id),
            )
        else:
            cur.execute(
                f"UPDATE {table} SET workflow = ?, definition_hash = ?, state = ?, version = ?, "
                "entered_at = ?, fired_by = ?, acted_as = ?, escalated = ? WHERE instance_id = ?",
                (*values, e.instance_id),
            )


def _add(index: dict[str, list[str]], key: str, member: str) -> None:
    members = index.setdefault(key, [])
    if member not in members:
        members.append(member)


def _scheduled(e: ProjectedEvent, workflow: str, d: dict[str, Any]) -> tuple[object, ...]:
    return (
        e.instance_id,
        str(d["id"]),
        workflow,
        e.dest,
        str(d["name"]),
        str(d["action"]),
        d.get("trigger"),
        d.get("role"),
        d.get("level"),
        str(d["due_at"]),
    )
