"""The evidence ``implement`` requires: a validated activity report per delivered activity.

:data:`ACTIVITY_REPORTS_GUARD` (``activity_reports_on_file``) passes when, for every activity
whose latest record says ``delivered``, the record's ``report_reference`` names evidence on
file (``engine.attach_evidence``) of type ``activity_report`` that was attached as validated;
the reference matches the evidence's ``reference``, or its sha256. It reads only the view
(its data and evidence), so it is pure, and records what it matched in its inputs.

To use it, a definition lists the guard (``guards=(..., ACTIVITY_REPORTS_GUARD)``), names it
on ``implement`` (``guards=("activities_delivered", "activity_reports_on_file")``) and
declares an audit policy that lets the team attach validated evidence
(``AuditPolicy(evidence_roles=("socieux_team",), validate_roles=("socieux_team",))``).
"""

from __future__ import annotations

from typing import Any

from engine import Guard, GuardContext, GuardResult
from workflows.technical_assistance._support import verdict

__all__ = ["ACTIVITY_REPORTS_GUARD", "activity_reports_on_file"]

REPORT_TYPE = "activity_report"


def _delivered(ctx: GuardContext) -> dict[str, dict[str, Any]]:
    records = ctx.view.data.get("activity_records") or []
    latest = {str(r.get("activity_id")): r for r in records if isinstance(r, dict)}
    return {a: r for a, r in latest.items() if r.get("status", "delivered") == "delivered"}


def _validated_reports(ctx: GuardContext) -> dict[str, int]:
    """The references of validated activity reports on file, each to its evidence version."""
    found: dict[str, int] = {}
    for e in ctx.view.evidence:
        if e.get("type") == REPORT_TYPE and e.get("validated") is True:
            for ref in (e.get("reference"), e.get("sha256")):
                if isinstance(ref, str) and ref:
                    found.setdefault(ref, int(e.get("version", 0)))
    return found


def activity_reports_on_file(ctx: GuardContext) -> GuardResult:
    """Every delivered activity's report reference names a validated activity report on file."""
    reports = _validated_reports(ctx)
    matched: dict[str, int | None] = {}
    problems: list[str] = []
    for activity, record in sorted(_delivered(ctx).items()):
        ref = str(record.get("report_reference") or "")
        matched[activity] = reports.get(ref) if ref else None
        if not ref:
            problems.append(f"activity {activity} cites no activity report")
        elif ref not in reports:
            problems.append(f"no validated activity report {ref!r} on file for {activity}")
    return verdict(problems, f"{len(matched)} delivered activity report(s) on file",
                   evidence=matched)  # fmt: skip


ACTIVITY_REPORTS_GUARD = Guard(
    "activity_reports_on_file",
    activity_reports_on_file,
    version=1,
    description="Each delivered activity's report is on file as validated evidence.",
)
