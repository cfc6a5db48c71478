"""``requests``: one row per instance, with its facts, stage dates and SLA due time."""

# long module: one read model, its table, its fold of events and its query filters.

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from engine.commands.arguments import check_datetime, check_int, check_str
from engine.errors import InvalidArgument
from engine.persistence.sql import Cursor
from engine.projection.page import Page
from engine.projection.protocol import ProjectedEvent, Projection
from projections._paging import Keyset, query_name
from projections._util import chunks, dumps, iso, loads, parse_iso, placeholders

__all__ = ["RequestRow", "RequestsProjection"]

_COLUMNS = (
    "id",
    "workflow",
    "definition_hash",
    "state",
    "final",
    "country",
    "region",
    "institution",
    "institution_type",
    "title",
    "areas",
    "action_code",
    "created_at",
    "updated_at",
    "state_entered_at",
    "due_at",
    "stage_dates",
    "version",
)
_ORDER: dict[str, tuple[tuple[str, bool], ...]] = {
    "updated": (("updated_at", True), ("id", False)),
    "created": (("created_at", True), ("id", False)),
    "id": (("id", False),),
}
"""Each order's sort columns (``(name, descending)``); the last is unique (keyset paging)."""
_TEXT = ("title", "institution")
"""The columns the free-text filter ``q`` searches (case-insensitive substring)."""


class RequestRow(BaseModel):
    """One request as the ``requests`` read model holds it."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    workflow: str
    state: str
    final: bool
    country: str | None
    region: str | None
    institution: str | None
    institution_type: str | None
    title: str | None
    areas: list[str]
    action_code: str | None
    created_at: datetime
    updated_at: datetime
    state_entered_at: datetime
    due_at: datetime | None
    overdue: bool
    stage_dates: dict[str, datetime]
    version: int


class RequestsProjection(Projection):
    """Current state and key facts of every instance, indexed for filtering."""

    name = "requests"
    version = 2
    tables: ClassVar[tuple[str, ...]] = ("req_requests", "req_request_areas")

    def create(self, cur: Cursor) -> None:
        """Tables and indexes."""
        r, a = self.t("req_requests"), self.t("req_request_areas")
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {r} (id TEXT PRIMARY KEY, workflow TEXT NOT NULL, "
            "definition_hash TEXT NOT NULL, state TEXT NOT NULL, final INTEGER NOT NULL, "
            "country TEXT, region TEXT, institution TEXT, institution_type TEXT, title TEXT, "
            "areas TEXT NOT NULL, action_code TEXT, created_at TEXT NOT NULL, "
            "updated_at TEXT NOT NULL, state_entered_at TEXT NOT NULL, due_at TEXT, "
            "stage_dates TEXT NOT NULL, version INTEGER NOT NULL)"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {a} (id TEXT NOT NULL, area TEXT NOT NULL, "
            "PRIMARY KEY (id, area))"
        )
        # Few indexes on purpose: each one costs WAL pages in every write. The composite ones
        # serve the usual "filter, newest first, LIMIT n" without sorting (docs/benchmarks.md).
        for name, cols in (
            ("state", "state, updated_at"),
            ("country", "country, updated_at"),
            ("due_at", "due_at"),
            ("updated_at", "updated_at"),
            ("created", "created_at DESC, id"),  # order="created": the first page in 0.6 ms
        ):
            cur.execute(f"CREATE INDEX IF NOT EXISTS req_{name}_v2_idx ON {r} ({cols})")
        cur.execute(f"CREATE INDEX IF NOT EXISTS req_area_idx ON {a} (area, id)")

    # ------------------------------------------------------------------ applying
    def apply(self, cur: Cursor, events: Sequence[ProjectedEvent]) -> None:
        """Fold the batch per instance, then upsert rows and area links."""
        ids = list(dict.fromkeys(e.instance_id for e in events))
        rows = self._load(cur, ids)
        for e in events:
            rows[e.instance_id] = self._fold(rows.get(e.instance_id), e)
        cols = ", ".join(_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "id")
        cur.executemany(
            f"INSERT INTO {self.t('req_requests')} ({cols}) VALUES ({placeholders(len(_COLUMNS))}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}",
            [tuple(rows[i][c] for c in _COLUMNS) for i in ids],
        )
        changed = list(
            dict.fromkeys(e.instance_id for e in events if e.source is None or "areas" in e.payload)
        )
        a = self.t("req_request_areas")
        for part in chunks(changed):
            cur.execute(f"DELETE FROM {a} WHERE id IN ({placeholders(len(part))})", tuple(part))
        links = [(i, area) for i in changed for area in sorted(set(loads(rows[i]["areas"])))]
        if links:
            cur.executemany(f"INSERT INTO {a} (id, area) VALUES (?, ?)", links)

    def _load(self, cur: Cursor, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for part in chunks(ids):
            cur.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM {self.t('req_requests')} "
                f"WHERE id IN ({placeholders(len(part))})",
                tuple(part),
            )
            for row in cur.fetchall():
                found[row["id"]] = {c: row[c] for c in _COLUMNS}
        return found

    def _fold(self, row: dict[str, Any] | None, e: ProjectedEvent) -> dict[str, Any]:
        at = iso(e.at)
        if row is None:
            row = dict.fromkeys(_COLUMNS)
            row.update(
                id=e.instance_id,
                workflow=e.workflow or "",
                created_at=at,
                areas="[]",
                stage_dates="{}",
                state="",
            )
        moved = row["state"] != e.dest
        row.update(
            definition_hash=e.definition_hash, updated_at=at, version=e.version, state=e.dest
        )
        if moved:
            stages = loads(row["stage_dates"])
            stages.setdefault(e.dest, at)
            sla = self.ctx.sla_days(e.definition_hash, e.dest)
            row.update(
                state_entered_at=at,
                stage_dates=dumps(stages),
                due_at=iso(e.at + timedelta(days=sla)) if sla else None,
            )
        row["final"] = int(e.dest in self.ctx.final_states(e.definition_hash))
        self._facts(row, e)
        return row

    def _facts(self, row: dict[str, Any], e: ProjectedEvent) -> None:
        p = e.payload
        inst = p.get("institution")
        if isinstance(inst, dict):
            row.update(institution=inst.get("name"), institution_type=inst.get("type"))
        elif isinstance(inst, str):
            row["institution"] = inst
        if "country" in p:
            country = str(p["country"])
            regions = self.ctx.settings(e.definition_hash).get("country_regions", {})
            row.update(country=country, region=regions.get(country))
        if "title" in p:
            row["title"] = p["title"]
        if isinstance(p.get("areas"), list):
            row["areas"] = dumps(sorted(str(a) for a in p["areas"]))
        if p.get("action_code"):
            row["action_code"] = p["action_code"]

    # ------------------------------------------------------------------ queries
    def _where(self, filters: dict[str, Any]) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for col in (
            "state",
            "country",
            "region",
            "workflow",
            "definition_hash",
            "institution",
            "institution_type",
        ):
            value = filters.pop(col, None)
            if value is not None:
                check_str(col, value)
                clauses.append(f"{col} = ?")
                params.append(value)
        area = filters.pop("area", None)
        if area is not None:
            check_str("area", area)
            clauses.append(f"id IN (SELECT id FROM {self.t('req_request_areas')} WHERE area = ?)")
            params.append(area)
        for name, op in (("since", ">="), ("until", "<")):
            at = filters.pop(name, None)
            if at is not None:
                clauses.append(f"updated_at {op} ?")
                params.append(iso(check_datetime(name, at)))
        q = filters.pop("q", None)
        if q is not None:
            pattern = "%" + _escape_like(check_str("q", q)) + "%"
            clauses.append(
                "(" + " OR ".join(f"lower({c}) LIKE lower(?) ESCAPE '\\'" for c in _TEXT) + ")"
            )
            params.extend([pattern] * len(_TEXT))
        overdue = filters.pop("overdue", None)
        if overdue is not None:
            if not isinstance(overdue, bool):
                raise InvalidArgument("overdue must be True or False")
            now = iso(filters.pop("now", None) or self.ctx.now())
            test = "final = 0 AND due_at IS NOT NULL AND due_at < ?"
            clauses.append(test if overdue else f"NOT ({test})")
            params.append(now)
        filters.pop("now", None)
        if filters:
            raise InvalidArgument(f"unknown filter(s): {', '.join(sorted(filters))}")
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def list(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        order: str = "updated",
        cursor: str | None = None,
        **filters: Any,
    ) -> Page[RequestRow]:
        """Requests matching ``state``, ``country``, ``region``, ``area``, ``workflow``,
        ``definition_hash`` (one version of a workflow), ``institution`` (exact),
        ``institution_type``, ``overdue``, ``since``/``until``
        (timezone-aware datetimes: last activity at or after ``since``, before ``until``)
        and ``q`` (case-insensitive substring of the title or the institution); all
        optional, combined with AND.

        One page of at most ``limit`` rows, with ``total`` (every match) and
        ``next_cursor``: pass it back as ``cursor`` (same filters and order) for the next.
        """
        if not isinstance(order, str) or order not in _ORDER:
            raise InvalidArgument(f"order must be one of {', '.join(_ORDER)}")
        check_int("limit", limit, minimum=1, maximum=10_000)
        now = filters.get("now") or self.ctx.now()
        if "now" in filters:
            check_datetime("now", now)
        where, params = self._where(dict(filters))
        named = {k: v for k, v in filters.items() if k != "now"}
        keys = Keyset(query_name(f"requests/{order}", named), _ORDER[order])
        page_where, after_params = keys.after(where, cursor, offset)
        r = self.t("req_requests")
        with self.fresh().read() as cur:
            cur.execute(f"SELECT COUNT(*) AS n FROM {r}{where}", params)
            total = int(cur.fetchone()["n"])
            cur.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM {r}{page_where} "
                f"ORDER BY {keys.order_by} LIMIT ? OFFSET ?",
                (*params, *after_params, limit + 1, offset),
            )
            return keys.page(cur.fetchall(), limit, total, lambda row: _row(row, now))

    def count(self, **filters: Any) -> int:
        """How many requests match the filters of :meth:`list`."""
        where, params = self._where(dict(filters))
        with self.fresh().read() as cur:
            cur.execute(f"SELECT COUNT(*) AS n FROM {self.t('req_requests')}{where}", params)
            return int(cur.fetchone()["n"])

    def areas(self) -> builtins.list[str]:
        """The distinct areas of the requests in the read model, sorted."""
        with self.fresh().read() as cur:
            cur.execute(f"SELECT DISTINCT area FROM {self.t('req_request_areas')} ORDER BY area")
            return [str(r["area"]) for r in cur.fetchall()]


def _escape_like(text: str) -> str:
    """``text`` matched literally by ``LIKE ... ESCAPE '\\'`` (``%``, ``_``, ``\\`` escaped)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _row(r: Any, now: datetime) -> RequestRow:
    due = parse_iso(r["due_at"]) if r["due_at"] else None
    return RequestRow(
        id=r["id"],
        workflow=r["workflow"],
        state=r["state"],
        final=bool(r["final"]),
        country=r["country"],
        region=r["region"],
        institution=r["institution"],
        institution_type=r["institution_type"],
        title=r["title"],
        areas=loads(r["areas"]),
        action_code=r["action_code"],
        created_at=parse_iso(r["created_at"]),
        updated_at=parse_iso(r["updated_at"]),
        state_entered_at=parse_iso(r["state_entered_at"]),
        due_at=due,
        overdue=bool(not r["final"] and due is not None and due < now),
        stage_dates={k: parse_iso(v) for k, v in loads(r["stage_dates"]).items()},
        version=r["version"],
    )
