"""Auditor reports: late entries, activities outside their window, corrections and who
approved them, evidence missing for delivered activities, expert-days planned and worked.

Each report reads the instances' own events and corrected views (an audit-time scan of the
log, like ``verify`` and ``export``; not a read model), under each definition's
:class:`~engine.definition.audit_policy.AuditPolicy`. Rows are flat JSON scalars, so the
CLI prints them as a table, JSON or CSV.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from engine.definition.audit_policy import ActivityFields, AuditPolicy
from engine.instance.views import HistoryEntry, InstanceView
from engine.queries.reads import Reader

__all__ = ["KINDS", "AuditorReport", "Kind", "report"]

Kind = Literal["late", "window", "corrections", "evidence", "days"]
KINDS: tuple[Kind, ...] = ("late", "window", "corrections", "evidence", "days")
Scalar = str | int | float | bool | None
Row = dict[str, Scalar]
DEFAULT_LATE_DAYS = 30


class AuditorReport(BaseModel):
    """One auditor report: its rows (flat JSON scalars) and totals."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    rows: list[Row]
    totals: dict[str, int | float]


def _day(value: object) -> date | None:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return value if isinstance(value, date) else None


def _latest(data: dict[str, Any], f: ActivityFields) -> dict[str, dict[str, Any]]:
    records = data.get(f.records) or []
    return {str(r.get(f.record_id)): r for r in records if isinstance(r, dict)}


def _plan(data: dict[str, Any], f: ActivityFields) -> dict[str, dict[str, Any]]:
    plan = data.get(f.plan) or []
    return {str(a.get(f.plan_id)): a for a in plan if isinstance(a, dict)}


def _late(iid: str, history: list[HistoryEntry], view: InstanceView, threshold: float) -> list[Row]:
    del view
    rows: list[Row] = []
    for h in history:
        if h.effective_at is None:
            continue
        days = (h.at - h.effective_at).total_seconds() / 86_400
        if days > threshold:
            rows.append(
                {
                    "instance": iid,
                    "version": h.version,
                    "trigger": h.trigger,
                    "recorded": h.at.isoformat(),
                    "effective": h.effective_at.isoformat(),
                    "days_late": round(days, 2),
                    "actor": h.actor,
                    "role": h.role,
                }
            )
    return rows


def _window(iid: str, view: InstanceView, f: ActivityFields) -> list[Row]:
    plan = _plan(view.data, f)
    rows: list[Row] = []
    for aid, rec in sorted(_latest(view.data, f).items()):
        if rec.get(f.record_status, f.delivered) != f.delivered:
            continue
        planned = plan.get(aid, {})
        lo, hi = _day(planned.get(f.plan_start)), _day(planned.get(f.plan_end))
        start, end = _day(rec.get(f.record_start)), _day(rec.get(f.record_end))
        outside = [d for d in (start, end) if d is not None and lo and hi and not lo <= d <= hi]
        if not planned or outside:
            rows.append(
                {
                    "instance": iid,
                    "activity": aid,
                    "planned_start": str(lo) if lo else None,
                    "planned_end": str(hi) if hi else None,
                    "actual_start": str(start) if start else None,
                    "actual_end": str(end) if end else None,
                    "problem": "not in the approved plan"
                    if not planned
                    else "outside the approved window",
                }
            )
    return rows


def _corrections(iid: str, history: list[HistoryEntry]) -> list[Row]:
    approvals = {int(h.amends or 0): h for h in history if h.trigger == "__approve_correction__"}
    rows: list[Row] = []
    for h in history:
        if h.trigger != "__correct__" or h.amendment is None:
            continue
        rec, ok = h.amendment, approvals.get(h.version)
        status = "applied" if not rec.get("pending") else "approved" if ok else "pending"
        for c in rec.get("changes", []):
            rows.append(
                {
                    "instance": iid,
                    "version": h.version,
                    "amends": h.amends,
                    "trigger": rec.get("target", {}).get("trigger"),
                    "field": c["field"],
                    "old": _text(c.get("old")),
                    "new": _text(c.get("new")),
                    "requested_by": h.actor,
                    "reason": h.reason,
                    "status": status,
                    "approved_by": ok.actor if ok else None,
                    "approved_at": ok.at.isoformat() if ok else None,
                }
            )
    return rows


def _text(value: object) -> Scalar:
    import json

    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _evidence(iid: str, view: InstanceView, f: ActivityFields) -> list[Row]:
    on_file = {
        str(e.get(k))
        for e in view.evidence
        for k in ("reference", "sha256")
        if e.get("type") == f.report_type and e.get("validated") is True and e.get(k)
    }
    rows: list[Row] = []
    for aid, rec in sorted(_latest(view.data, f).items()):
        if rec.get(f.record_status, f.delivered) != f.delivered:
            continue
        ref = str(rec.get(f.record_reference) or "")
        if not ref or ref not in on_file:
            rows.append(
                {
                    "instance": iid,
                    "activity": aid,
                    "reference": ref or None,
                    "problem": "no reference cited"
                    if not ref
                    else f"no validated {f.report_type} on file",
                }
            )
    return rows


def _days(iid: str, view: InstanceView, f: ActivityFields) -> list[Row]:
    def number(v: object) -> int:
        return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0

    planned = sum(number(a.get(f.plan_days)) for a in _plan(view.data, f).values())
    worked = sum(
        number(r.get(f.record_days))
        for r in _latest(view.data, f).values()
        if r.get(f.record_status, f.delivered) == f.delivered
    )
    if not planned and not worked:
        return []
    return [
        {
            "instance": iid,
            "state": view.state,
            "planned_days": planned,
            "worked_days": worked,
            "difference": worked - planned,
        }
    ]


def _rows(
    kind: Kind,
    iid: str,
    history: list[HistoryEntry],
    view: InstanceView,
    *,
    policy: AuditPolicy | None,
    late: float | None,
) -> list[Row]:
    if kind == "late":
        threshold = (
            late
            if late is not None
            else (policy.late_after_days if policy is not None else DEFAULT_LATE_DAYS)
        )
        return _late(iid, history, view, threshold)
    if kind == "corrections":
        return _corrections(iid, history)
    f = policy.activities if policy is not None else None
    if f is None:
        return []
    by: dict[str, Callable[[str, InstanceView, ActivityFields], list[Row]]] = {
        "window": _window,
        "evidence": _evidence,
        "days": _days,
    }
    return by[kind](iid, view, f)


def _totals(kind: Kind, rows: list[Row], instances: int) -> dict[str, int | float]:
    out: dict[str, int | float] = {"instances": instances, "rows": len(rows)}
    if kind == "days":
        for key in ("planned_days", "worked_days", "difference"):
            out[key] = sum(int(r[key] or 0) for r in rows)
    return out


def report(
    reader: Reader,
    kind: Kind,
    ids: Iterable[UUID],
    *,
    late_after_days: float | None,
    policy_of: Callable[[str], AuditPolicy | None],
) -> AuditorReport:
    """The report ``kind`` over the instances ``ids``."""
    rows: list[Row] = []
    count = 0
    for iid, history, view in _instances(reader, ids):
        count += 1
        policy = policy_of(view.definition_hash)
        rows += _rows(kind, iid, history, view, policy=policy, late=late_after_days)
    return AuditorReport(kind=kind, rows=rows, totals=_totals(kind, rows, count))


def _instances(
    reader: Reader, ids: Iterable[UUID]
) -> Iterator[tuple[str, list[HistoryEntry], InstanceView]]:
    for iid in ids:
        yield str(iid), reader.history(iid), reader.get(iid, version=None, as_of=None)
