"""``experts``: who is mobilised where, for how many days, and overlapping missions.

Reads the planned activities (``activities`` in a payload), the mobilised experts
(``experts``) and the activity records (``activity_records``, collected one per
``record_activity``). Days worked are recorded per activity, so they are reported per
activity, not split between its experts.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from engine.commands.arguments import check_int, check_str
from engine.persistence.sql import Cursor
from engine.projection.page import Page
from engine.projection.protocol import ProjectedEvent, Projection
from projections._paging import Keyset, query_name
from projections._util import chunks, placeholders

__all__ = ["Assignment", "ExpertSummary", "ExpertsProjection", "Overlap"]


class Assignment(BaseModel):
    """One expert on one activity of one request."""

    model_config = ConfigDict(frozen=True)

    instance_id: str
    activity_id: str
    principal: bool
    days_planned: int
    activity_days_worked: int | None
    start: str | None
    end: str | None
    status: str


class Overlap(BaseModel):
    """Two missions of one expert whose windows intersect."""

    model_config = ConfigDict(frozen=True)

    expert_id: str
    first: str
    second: str
    from_date: str
    to_date: str


class ExpertSummary(BaseModel):
    """An expert's assignments and totals."""

    model_config = ConfigDict(frozen=True)

    expert_id: str
    nationality: str | None
    employer: str | None
    employer_type: str | None
    assignments: list[Assignment]
    days_planned: int
    overlaps: list[Overlap]


class ExpertsProjection(Projection):
    """Activities and expert assignments of every request."""

    name = "experts"
    version = 1
    tables: ClassVar[tuple[str, ...]] = ("exp_activities", "exp_assignments")

    def create(self, cur: Cursor) -> None:
        """Tables and indexes."""
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t('exp_activities')} (instance_id TEXT NOT NULL, "
            "activity_id TEXT NOT NULL, start_date TEXT, end_date TEXT, actual_start TEXT, "
            "actual_end TEXT, days_worked INTEGER, status TEXT NOT NULL, "
            "PRIMARY KEY (instance_id, activity_id))"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t('exp_assignments')} (instance_id TEXT NOT NULL, "
            "activity_id TEXT NOT NULL, expert_id TEXT NOT NULL, nationality TEXT, employer TEXT, "
            "employer_type TEXT, expertise TEXT, principal INTEGER NOT NULL, "
            "days_planned INTEGER NOT NULL, PRIMARY KEY (instance_id, activity_id, expert_id))"
        )

    def indexes(self) -> Sequence[str]:
        """Assignments by expert."""
        return [
            f"CREATE INDEX IF NOT EXISTS exp_expert_idx ON {self.t('exp_assignments')} (expert_id)"
        ]

    def apply(self, cur: Cursor, events: Sequence[ProjectedEvent]) -> None:
        """Upsert planned activities, assignments and activity outcomes.

        The batch is folded per instance first: an instance whose activities (or experts)
        the batch replaces is deleted and written once, with its later outcomes already in
        its rows, in the order of its last replacement (the order the rows would have been
        inserted event by event); outcomes of the other instances are updates.
        """
        acts: dict[str, list[list[Any]]] = {}  # replaced activities: rows, by instance
        asg: dict[str, dict[tuple[str, str], tuple[Any, ...]]] = {}  # replaced assignments
        updates: list[tuple[Any, ...]] = []  # outcomes of activities not replaced here
        for e in events:
            p = e.payload
            iid = e.instance_id
            if isinstance(p.get("activities"), list):
                acts.pop(iid, None)  # re-inserted last: the order of the last replacement
                acts[iid] = [
                    [iid, str(a.get("id")), a.get("start"), a.get("end"), None, None, None,
                     "planned"]
                    for a in p["activities"]
                    if isinstance(a, dict)
                ]  # fmt: skip
            if isinstance(p.get("experts"), list):
                asg.pop(iid, None)
                kept: dict[tuple[str, str], tuple[Any, ...]] = {}
                for x in p["experts"]:
                    if isinstance(x, dict):
                        chosen = _assignment(iid, x)
                        kept.setdefault((chosen[1], chosen[2]), chosen)  # ON CONFLICT DO NOTHING
                asg[iid] = kept
            if e.collect_as == "activity_records" and "activity_id" in p:
                outcome = (p.get("actual_start"), p.get("actual_end"), p.get("days_worked"),
                           p.get("status", "delivered"))  # fmt: skip
                aid = str(p["activity_id"])
                if iid in acts:
                    for activity in acts[iid]:
                        if activity[1] == aid:
                            activity[4:8] = outcome
                else:
                    updates.append((*outcome, iid, aid))
        self._write(cur, acts, asg, updates)

    def _write(
        self,
        cur: Cursor,
        acts: dict[str, builtins.list[builtins.list[Any]]],
        asg: dict[str, dict[tuple[str, str], tuple[Any, ...]]],
        updates: builtins.list[tuple[Any, ...]],
    ) -> None:
        a, s = self.t("exp_activities"), self.t("exp_assignments")
        if updates:  # before the replacements: an instance replaced later is not in them
            cur.executemany(
                f"UPDATE {a} SET actual_start = ?, actual_end = ?, days_worked = ?, "
                "status = ? WHERE instance_id = ? AND activity_id = ?",
                updates,
            )
        for table, ids in ((a, list(acts)), (s, list(asg))):
            for part in chunks(ids):
                cur.execute(
                    f"DELETE FROM {table} WHERE instance_id IN ({placeholders(len(part))})",
                    tuple(part),
                )
        rows = [tuple(r) for found in acts.values() for r in found]
        if rows:
            cur.executemany(
                f"INSERT INTO {a} (instance_id, activity_id, start_date, end_date, "
                "actual_start, actual_end, days_worked, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        chosen = [r for kept in asg.values() for r in kept.values()]
        if chosen:
            cur.executemany(
                f"INSERT INTO {s} (instance_id, activity_id, expert_id, nationality, "
                "employer, employer_type, expertise, principal, days_planned) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                chosen,
            )

    def list(
        self, *, expert: str | None = None, limit: int = 1000, cursor: str | None = None
    ) -> Page[ExpertSummary]:
        """Experts (or one) by id, with assignments, planned days and overlapping missions.

        One page of at most ``limit`` experts, with ``total`` (every match) and
        ``next_cursor``: pass it back as ``cursor`` (same filter) for the next.
        """
        check_int("limit", limit, minimum=1, maximum=1_000_000)
        if expert is not None:
            check_str("expert", expert)
        where, params = (" WHERE expert_id = ?", [expert]) if expert is not None else ("", [])
        keys = Keyset(query_name("experts", {"expert": expert}), (("expert_id", False),))
        page_where, after_params = keys.after(where, cursor, 0)
        s = self.t("exp_assignments")
        with self.fresh().read() as cur:
            cur.execute(f"SELECT COUNT(DISTINCT expert_id) AS n FROM {s}{where}", params)
            total = int(cur.fetchone()["n"])
            cur.execute(
                f"SELECT DISTINCT expert_id FROM {s}{page_where} ORDER BY expert_id LIMIT ?",
                (*params, *after_params, limit + 1),
            )
            ids = [{"expert_id": str(r["expert_id"])} for r in cur.fetchall()]
            by_expert = self._rows(cur, [r["expert_id"] for r in ids[:limit]])
        return keys.page(
            ids, limit, total, lambda r: _summary(r["expert_id"], by_expert[r["expert_id"]])
        )

    def _rows(self, cur: Cursor, experts: Sequence[str]) -> dict[str, builtins.list[Any]]:
        """Each expert's assignments joined with their activities, by start date."""
        found: dict[str, builtins.list[Any]] = {e: [] for e in experts}
        for part in chunks(experts):
            cur.execute(
                f"SELECT s.*, a.start_date, a.end_date, a.actual_start, a.actual_end, "
                f"a.days_worked, a.status FROM {self.t('exp_assignments')} s "
                f"LEFT JOIN {self.t('exp_activities')} a ON a.instance_id = s.instance_id "
                f"AND a.activity_id = s.activity_id WHERE s.expert_id IN "
                f"({placeholders(len(part))}) ORDER BY s.expert_id, a.start_date",
                tuple(part),
            )
            for r in cur.fetchall():
                found[r["expert_id"]].append(r)
        return found

    def overlaps(self) -> builtins.list[Overlap]:
        """Every pair of missions of one expert whose windows intersect."""
        return [o for s in self.list(limit=1_000_000) for o in s.overlaps]


def _assignment(instance_id: str, x: dict[str, Any]) -> tuple[Any, ...]:
    return (
        instance_id,
        str(x.get("activity_id")),
        str(x.get("id")),
        x.get("nationality"),
        x.get("employer"),
        x.get("employer_type"),
        x.get("expertise"),
        int(bool(x.get("principal"))),
        int(x.get("days") or 0),
    )


def _window(r: Any) -> tuple[str | None, str | None]:
    return (r["actual_start"] or r["start_date"], r["actual_end"] or r["end_date"])


def _summary(expert_id: str, rows: Sequence[Any]) -> ExpertSummary:
    assignments = [
        Assignment(
            instance_id=r["instance_id"],
            activity_id=r["activity_id"],
            principal=bool(r["principal"]),
            days_planned=r["days_planned"],
            activity_days_worked=r["days_worked"],
            start=_window(r)[0],
            end=_window(r)[1],
            status=r["status"] or "planned",
        )
        for r in rows
    ]
    overlaps: builtins.list[Overlap] = []
    live = [a for a in assignments if a.start and a.end and a.status != "cancelled"]
    for i, first in enumerate(live):
        for second in live[i + 1 :]:
            lo = max(first.start or "", second.start or "")
            hi = min(first.end or "", second.end or "")
            if lo <= hi and (first.instance_id, first.activity_id) != (
                second.instance_id,
                second.activity_id,
            ):
                overlaps.append(
                    Overlap(
                        expert_id=expert_id,
                        first=f"{first.instance_id}/{first.activity_id}",
                        second=f"{second.instance_id}/{second.activity_id}",
                        from_date=lo,
                        to_date=hi,
                    )
                )
    head = rows[0]
    return ExpertSummary(
        expert_id=expert_id,
        nationality=head["nationality"],
        employer=head["employer"],
        employer_type=head["employer_type"],
        assignments=assignments,
        days_planned=sum(a.days_planned for a in assignments),
        overlaps=overlaps,
    )
