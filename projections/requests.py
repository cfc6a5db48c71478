"""``requests``: one row per instance, with its facts, stage dates and SLA due time."""

# long module: one read model, its table, its fold of events and its query filters.

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from engine.commands.arguments import check_datetime, check_int
from engine.errors import InvalidArgument
from engine.persistence.sql import Cursor
from engine.projection.page import Page
from engine.projection.protocol import ProjectedEvent, Projection
from projections._paging import Keyset, query_name
from projections._request_fold import COLUMNS
from projections._request_fold import Fold as _Fold
from projections._request_query import (
    EQUAL_FILTERS,
    ORDERS,
    PROBE_ABOVE,
    TEXT_COLUMNS,
    RequestQuery,
)
from projections._util import chunks, loads, parse_iso, placeholders

__all__ = ["RequestRow", "RequestsProjection"]

_COLUMNS = COLUMNS


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
    version = 4
    tables: ClassVar[tuple[str, ...]] = ("req_requests", "req_request_areas", "req_counts")

    def create(self, cur: Cursor) -> None:
        """Tables (and the text index); the other indexes are in :meth:`indexes`."""
        r, a = self.t("req_requests"), self.t("req_request_areas")
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {r} (id TEXT PRIMARY KEY, workflow TEXT NOT NULL, "
            "definition_hash TEXT NOT NULL, state TEXT NOT NULL, final INTEGER NOT NULL, "
            "country TEXT, region TEXT, institution TEXT, institution_type TEXT, title TEXT, "
            "areas TEXT NOT NULL, action_code TEXT, created_at TEXT NOT NULL, "
            "updated_at TEXT NOT NULL, state_entered_at TEXT NOT NULL, due_at TEXT, "
            "stage_dates TEXT NOT NULL, version INTEGER NOT NULL)"
        )
        # The area links carry their request's sort keys (kept equal in every batch).
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {a} (id TEXT NOT NULL, area TEXT NOT NULL, "
            "updated_at TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (id, area))"
        )
        # How many requests have each value of each equality filter (and each area): the
        # total of a one-filter query, without counting its rows.
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t('req_counts')} (dim TEXT NOT NULL, "
            "value TEXT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (dim, value))"
        )
        self._create_text(cur)

    def indexes(self) -> Sequence[str]:
        """The filter and sort indexes (built after a rebuild's replay)."""
        r, a = self.t("req_requests"), self.t("req_request_areas")
        # Each index costs WAL pages in every write, so only the filters that may match
        # many rows get one with the sort key; a selective filter's few rows are sorted
        # (docs/benchmarks.md). Such a (filter, sort) answers its first page, any page
        # after a cursor and its count from one index.
        out = [
            f"CREATE INDEX IF NOT EXISTS req_{name}_v3_idx ON {r} ({cols})"
            for name, cols in (
                ("state", "state, updated_at DESC, id"),
                ("state_created", "state, created_at DESC, id"),
                ("country", "country, updated_at DESC, id"),
                ("region", "region, updated_at DESC, id"),
                ("inst_type", "institution_type, updated_at DESC, id"),
                ("inst", "institution, updated_at DESC, id"),
                ("workflow", "workflow, updated_at DESC, id"),
                ("version", "definition_hash, updated_at DESC, id"),
                ("updated", "updated_at DESC, id"),
                ("created", "created_at DESC, id"),
            )
        ]
        # overdue: the open requests with a due time, newest first, due time included
        out.append(
            f"CREATE INDEX IF NOT EXISTS req_due_v3_idx ON {r} (updated_at DESC, id, due_at) "
            "WHERE final = 0 AND due_at IS NOT NULL"
        )
        out += [
            f"CREATE INDEX IF NOT EXISTS req_area_{name}_v3_idx ON {a} ({cols})"
            for name, cols in (
                ("updated", "area, updated_at DESC, id"),
                ("created", "area, created_at DESC, id"),
            )
        ]
        return out

    def drop(self, cur: Cursor) -> None:
        """Drop the tables (and, on SQLite, the text index)."""
        super().drop(cur)
        if self.sql.dialect == "sqlite":
            cur.execute("DROP TABLE IF EXISTS req_text")

    def _create_text(self, cur: Cursor) -> None:
        """The trigram index of titles and institutions (``q``): an FTS5 table on SQLite;
        on PostgreSQL, GIN indexes of pg_trgm where the extension is installed or may be
        (without it, ``q`` scans, as before)."""
        if self.sql.dialect == "sqlite":
            cur.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS req_text USING "
                "fts5(title, institution, tokenize = 'trigram case_sensitive 0')"
            )
            return
        schema = _trigram_schema(cur)
        if schema is None:
            return
        r = self.t("req_requests")
        opclass = '"' + schema.replace('"', '""') + '".gin_trgm_ops'
        for col in TEXT_COLUMNS:
            cur.execute(
                f"CREATE INDEX IF NOT EXISTS req_{col}_trgm_v3_idx ON {r} "
                f"USING gin (lower({col}) {opclass})"
            )

    # ------------------------------------------------------------------ applying
    def apply(self, cur: Cursor, events: Sequence[ProjectedEvent]) -> None:
        """Fold the batch per instance, then upsert rows, area links and the text index."""
        ids = list(dict.fromkeys(e.instance_id for e in events))
        rows = self._load(cur, ids)
        before = {i: tuple(row[c] for c in TEXT_COLUMNS) for i, row in rows.items()}
        counted_before = {i: _counted(row) for i, row in rows.items()}
        rows.update(self._fold(rows, events))
        self._upsert(cur, ids, rows)
        self._links(cur, events, ids, rows)
        self._counts(cur, counted_before, {i: _counted(rows[i]) for i in ids})
        if self.sql.dialect == "sqlite":
            texts = [i for i in ids if before.get(i) != tuple(rows[i][c] for c in TEXT_COLUMNS)]
            self._texts(cur, texts)

    def replay(self, cur: Cursor, events: Sequence[ProjectedEvent]) -> None:
        """Fold the batch and upsert the rows only: the area links, the counts and the text
        index are derived from the rows by :meth:`finish_replay`."""
        ids = list(dict.fromkeys(e.instance_id for e in events))
        rows = self._load(cur, ids)
        rows.update(self._fold(rows, events))
        self._upsert(cur, ids, rows)

    def finish_replay(self, cur: Cursor) -> None:
        """The area links, the counts and (SQLite) the text index, from the rows: what
        :meth:`apply` keeps up row by row (each link carries its row's sort keys, each
        count is the rows with that value)."""
        r, a, c = self.t("req_requests"), self.t("req_request_areas"), self.t("req_counts")
        elements = (
            "json_each(r.areas) j"
            if self.sql.dialect == "sqlite"
            else "json_array_elements_text(r.areas::json) j(value)"
        )
        cur.execute(f"DELETE FROM {a}")
        cur.execute(
            f"INSERT INTO {a} (id, area, updated_at, created_at) SELECT DISTINCT r.id, "
            f"j.value, r.updated_at, r.created_at FROM {r} r, {elements} ORDER BY r.id, j.value"
        )
        cur.execute(f"DELETE FROM {c}")
        for col in EQUAL_FILTERS:
            cur.execute(
                f"INSERT INTO {c} (dim, value, n) SELECT ?, {col}, COUNT(*) FROM {r} "
                f"WHERE {col} IS NOT NULL GROUP BY {col}",
                (col,),
            )
        cur.execute(
            f"INSERT INTO {c} (dim, value, n) SELECT 'area', area, COUNT(*) FROM {a} GROUP BY area"
        )
        if self.sql.dialect == "sqlite":
            cur.execute("DELETE FROM req_text")
            cur.execute(
                f"INSERT INTO req_text (rowid, title, institution) "
                f"SELECT rowid, title, institution FROM {r} ORDER BY rowid"
            )

    def _fold(
        self, stored: dict[str, dict[str, Any]], events: Sequence[ProjectedEvent]
    ) -> dict[str, dict[str, Any]]:
        """The rows of the batch's instances after its events (``stored`` is changed)."""
        fold = _Fold(self.ctx.sla_days, self.ctx.final_states, self.ctx.settings)
        for e in events:
            fold.add(stored.get(e.instance_id), e)
        return fold.rows()

    def _upsert(self, cur: Cursor, ids: Sequence[str], rows: dict[str, dict[str, Any]]) -> None:
        cols = ", ".join(_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "id")
        cur.executemany(
            f"INSERT INTO {self.t('req_requests')} ({cols}) VALUES ({placeholders(len(_COLUMNS))}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}",
            [tuple(rows[i][c] for c in _COLUMNS) for i in ids],
        )

    def _links(
        self,
        cur: Cursor,
        events: Sequence[ProjectedEvent],
        ids: Sequence[str],
        rows: dict[str, dict[str, Any]],
    ) -> None:
        """Rewrite the area links whose areas changed; move the others' sort keys."""
        changed = list(
            dict.fromkeys(e.instance_id for e in events if e.source is None or "areas" in e.payload)
        )
        a = self.t("req_request_areas")
        for part in chunks(changed):
            cur.execute(f"DELETE FROM {a} WHERE id IN ({placeholders(len(part))})", tuple(part))
        links = [
            (i, area, rows[i]["updated_at"], rows[i]["created_at"])
            for i in changed
            for area in sorted(set(loads(rows[i]["areas"])))
        ]
        if links:
            cur.executemany(
                f"INSERT INTO {a} (id, area, updated_at, created_at) VALUES (?, ?, ?, ?)", links
            )
        moved = set(changed)
        kept = [
            (rows[i]["updated_at"], i) for i in ids if i not in moved and rows[i]["areas"] != "[]"
        ]
        if kept:
            cur.executemany(f"UPDATE {a} SET updated_at = ? WHERE id = ?", kept)

    def _counts(
        self,
        cur: Cursor,
        before: dict[str, Counter[tuple[str, str]]],
        after: dict[str, Counter[tuple[str, str]]],
    ) -> None:
        """Move the counts per (filter, value) from the rows' old values to their new."""
        delta: Counter[tuple[str, str]] = Counter()
        for i, now in after.items():
            delta.update(now)
            delta.subtract(before.get(i, Counter()))
        changes = [(dim, value, n) for (dim, value), n in sorted(delta.items()) if n]
        if not changes:
            return
        c = self.t("req_counts")
        cur.executemany(
            f"INSERT INTO {c} (dim, value, n) VALUES (?, ?, ?) "
            f"ON CONFLICT (dim, value) DO UPDATE SET n = {c}.n + excluded.n",
            changes,
        )
        cur.executemany(
            f"DELETE FROM {c} WHERE dim = ? AND value = ? AND n = 0",
            [(dim, value) for dim, value, _ in changes],
        )

    def _texts(self, cur: Cursor, ids: Sequence[str]) -> None:
        """Re-index the title and institution of ``ids`` (SQLite's FTS5 table)."""
        r = self.t("req_requests")
        for part in chunks(ids):
            cur.execute(
                f"SELECT rowid AS rid, title, institution FROM {r} "
                f"WHERE id IN ({placeholders(len(part))})",
                tuple(part),
            )
            found = [(x["rid"], x["title"], x["institution"]) for x in cur.fetchall()]
            rids = [(rid,) for rid, _, _ in found]
            cur.executemany("DELETE FROM req_text WHERE rowid = ?", rids)
            cur.executemany(
                "INSERT INTO req_text (rowid, title, institution) VALUES (?, ?, ?)", found
            )

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

    # ------------------------------------------------------------------ queries
    def _query(self, filters: dict[str, Any]) -> RequestQuery:
        return RequestQuery.build(
            filters,
            requests=self.t("req_requests"),
            areas=self.t("req_request_areas"),
            text="req_text" if self.sql.dialect == "sqlite" else None,
            now=self.ctx.now,
            counts=self.t("req_counts"),
        )

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
        ``next_cursor``: pass it back as ``cursor`` (same filters and order) for the next
        (a cursor reads on from where the last page ended; a deep ``offset`` reads and
        skips every row before it).
        """
        if not isinstance(order, str) or order not in ORDERS:
            raise InvalidArgument(f"order must be one of {', '.join(ORDERS)}")
        check_int("limit", limit, minimum=1, maximum=10_000)
        now = filters.get("now") or self.ctx.now()
        if "now" in filters:
            check_datetime("now", now)
        query = self._query(dict(filters))
        named = {k: v for k, v in filters.items() if k != "now"}
        keys = Keyset(query_name(f"requests/{order}", named), query.order(order))
        count_sql, count_params = query.count()
        with self.fresh().read() as cur:
            cur.execute(count_sql, count_params)
            total = int(cur.fetchone()["n"])
            if total > PROBE_ABOVE:
                query.probe_text()
            where, params = query.where()
            page_where, after_params = keys.after(where, cursor, offset)
            cur.execute(
                f"SELECT {', '.join('r.' + c for c in _COLUMNS)} FROM {query.tables()}"
                f"{page_where} ORDER BY {keys.order_by} LIMIT ? OFFSET ?",
                (*params, *after_params, limit + 1, offset),
            )
            return keys.page(cur.fetchall(), limit, total, lambda row: _row(row, now))

    def count(self, **filters: Any) -> int:
        """How many requests match the filters of :meth:`list`."""
        count_sql, params = self._query(dict(filters)).count()
        with self.fresh().read() as cur:
            cur.execute(count_sql, params)
            return int(cur.fetchone()["n"])

    def areas(self) -> builtins.list[str]:
        """The distinct areas of the requests in the read model, sorted."""
        with self.fresh().read() as cur:
            cur.execute(f"SELECT DISTINCT area FROM {self.t('req_request_areas')} ORDER BY area")
            return [str(r["area"]) for r in cur.fetchall()]


def _counted(row: dict[str, Any]) -> Counter[tuple[str, str]]:
    """The (filter, value) pairs a row counts for: its equality filters and its areas."""
    pairs: Counter[tuple[str, str]] = Counter(
        (col, str(row[col])) for col in EQUAL_FILTERS if row[col] is not None
    )
    pairs.update(("area", area) for area in set(loads(row["areas"])))
    return pairs


def _trigram_schema(cur: Cursor) -> str | None:
    """The schema of PostgreSQL's pg_trgm, installed here if it may be (in a savepoint:
    a refusal leaves the transaction usable); ``None`` if it is not available."""
    find = (
        "SELECT n.nspname AS schema FROM pg_extension e "
        "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
    )
    cur.execute(find)
    row = cur.fetchone()
    if row is None:
        cur.execute("SAVEPOINT req_trgm")
        try:
            cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        except Exception:  # no privilege, no such extension, no public schema
            cur.execute("ROLLBACK TO SAVEPOINT req_trgm")
            return None
        cur.execute("RELEASE SAVEPOINT req_trgm")
        cur.execute(find)
        row = cur.fetchone()
    return None if row is None else str(row["schema"])


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
