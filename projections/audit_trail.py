"""``audit_trail``: one row per recorded event, for who-did-what queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from engine.commands.arguments import check_datetime, check_int, check_str
from engine.persistence.sql import Cursor
from engine.projection.page import Page
from engine.projection.protocol import ProjectedEvent, Projection
from projections._paging import Keyset, query_name
from projections._util import iso, parse_iso

__all__ = ["AuditRow", "AuditTrailProjection"]

_COLUMNS = (
    "position",
    "instance_id",
    "version",
    "at",
    "actor",
    "role",
    "trigger",
    "source",
    "dest",
    "reason",
    "correlation_id",
    "definition_hash",
)


class AuditRow(BaseModel):
    """One event: where it sits in the log, who fired what, from where to where, and why."""

    model_config = ConfigDict(frozen=True)

    position: int
    instance_id: UUID
    version: int
    at: datetime
    actor: str
    role: str
    trigger: str
    source: str | None
    dest: str
    reason: str | None
    correlation_id: str | None
    definition_hash: str


class AuditTrailProjection(Projection):
    """Every event as a row, indexed by instance, actor and time."""

    name = "audit_trail"
    version = 1
    tables: ClassVar[tuple[str, ...]] = ("aud_events",)

    def create(self, cur: Cursor) -> None:
        """The table (its indexes are in :meth:`indexes`)."""
        t = self.t("aud_events")
        # SQLite: INTEGER PRIMARY KEY is the rowid itself (no second index to maintain).
        key = "INTEGER" if self.sql.dialect == "sqlite" else "BIGINT"
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {t} (position {key} PRIMARY KEY, "
            "instance_id TEXT NOT NULL, version INTEGER NOT NULL, at TEXT NOT NULL, "
            "actor TEXT NOT NULL, role TEXT NOT NULL, trigger TEXT NOT NULL, source TEXT, "
            "dest TEXT NOT NULL, reason TEXT, correlation_id TEXT, definition_hash TEXT NOT NULL)"
        )

    def indexes(self) -> Sequence[str]:
        """One event per (instance, version), and by actor in time order. The unique index
        is here, not in :meth:`create`: the runner creates it right after the table, so it
        guards every catch-up and inline write, but a rebuild builds it once, after the
        replay, instead of keeping it up through it (in log order its keys come at random);
        a duplicate would fail it there."""
        t = self.t("aud_events")
        return [
            f"CREATE UNIQUE INDEX IF NOT EXISTS aud_instance_idx ON {t} (instance_id, version)",
            f"CREATE INDEX IF NOT EXISTS aud_actor_idx ON {t} (actor, at)",
        ]

    def apply(self, cur: Cursor, events: Sequence[ProjectedEvent]) -> None:
        """Insert one row per event."""
        cur.executemany(
            f"INSERT INTO {self.t('aud_events')} ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_COLUMNS))})",
            [
                (
                    e.position,
                    e.instance_id,
                    e.version,
                    iso(e.at),
                    e.audit["actor_id"],
                    e.audit["role"],
                    e.trigger,
                    e.source,
                    e.dest,
                    e.audit.get("reason"),
                    e.audit.get("correlation_id"),
                    e.definition_hash,
                )
                for e in events
            ],
        )

    def list(
        self,
        *,
        instance: UUID | str | None = None,
        actor: str | None = None,
        role: str | None = None,
        trigger: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        offset: int = 0,
        cursor: str | None = None,
    ) -> Page[AuditRow]:
        """Events filtered by instance, actor, role, trigger and time window, in log order.

        One page of at most ``limit`` rows, with ``total`` (every match) and
        ``next_cursor``: pass it back as ``cursor`` (same filters) for the next.
        """
        check_int("limit", limit, minimum=1, maximum=100_000)
        if isinstance(instance, UUID):
            instance = str(instance)
        texts = {"instance_id": instance, "actor": actor, "role": role, "trigger": trigger}
        where, params = _where(texts, since, until)
        keys = Keyset(query_name("audit_trail", {**texts, "since": since, "until": until}),
                      (("position", False),))  # fmt: skip
        page_where, after_params = keys.after(where, cursor, offset)
        t = self.t("aud_events")
        with self.fresh().read() as cur:
            cur.execute(f"SELECT COUNT(*) AS n FROM {t}{where}", params)
            total = int(cur.fetchone()["n"])
            cur.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM {t}{page_where} "
                "ORDER BY position LIMIT ? OFFSET ?",
                (*params, *after_params, limit + 1, offset),
            )
            return keys.page(cur.fetchall(), limit, total, _audit_row)


def _where(
    texts: dict[str, str | None], since: datetime | None, until: datetime | None
) -> tuple[str, list[Any]]:
    """The ``WHERE`` clause of a trail query (checked: text, and aware times)."""
    clauses: list[str] = []
    params: list[Any] = []
    for col, value in texts.items():
        if value is not None:
            check_str("instance" if col == "instance_id" else col, value)
            clauses.append(f"{col} = ?")
            params.append(value)
    for name, at, op in (("since", since, ">="), ("until", until, "<=")):
        if at is not None:
            check_datetime(name, at)
            clauses.append(f"at {op} ?")
            params.append(iso(at))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _audit_row(r: Any) -> AuditRow:
    return AuditRow(**{**{c: r[c] for c in _COLUMNS}, "at": parse_iso(r["at"])})
