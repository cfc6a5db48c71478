"""The record of verifications: one row per ``Engine.verify`` on a writable store.

Kept in the engine's table ``socieux_verify_runs`` (created on the first run, like the
seals'), newest first when read. A read-only store is verified all the same and records
nothing. The web console lists them (``Engine.verify_runs``).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from engine.audit.report import IntegrityReport
from engine.instance.hashing import utc_iso
from engine.persistence.sql import SqlStore, is_unique_violation

__all__ = ["MAX_LISTED", "RUNS_TABLE", "VerifyRun", "list_runs", "record_run", "run_of"]

RUNS_TABLE = "socieux_verify_runs"
MAX_LISTED = 20
"""How many problem messages a run keeps."""
_ATTEMPTS = 3
_COLUMNS = (
    "at", "command", "ok", "events", "instances", "seals", "signatures", "heads", "problems",
)  # fmt: skip


class VerifyRun(BaseModel):
    """One verification: when, by which command, what it checked and what it found
    (``problem_list``: the first 20 problems, as ``kind: detail`` lines)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    command: str
    ok: bool
    events: int
    instances: int
    seals: int
    signatures: int
    heads: int
    problems: int
    problem_list: list[str]


def run_of(report: IntegrityReport, *, at: datetime, command: str) -> VerifyRun:
    """The run a verification's report makes."""
    listed = [
        f"{p.kind}: {p.instance_id} v{p.version}: {p.detail}" if p.instance_id else
        f"{p.kind}: {p.detail}"
        for p in report.problems[:MAX_LISTED]
    ]  # fmt: skip
    return VerifyRun(
        at=at, command=command, ok=report.ok, events=report.events_checked,
        instances=report.instances_checked, seals=report.seals_checked,
        signatures=report.signatures_checked, heads=report.heads_checked,
        problems=len(report.problems), problem_list=listed,
    )  # fmt: skip


def _is_read_only(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        return "readonly" in str(exc) or "read-only" in str(exc)
    return type(exc).__name__ in {"ReadOnlySqlTransaction", "InsufficientPrivilege"}


def _insert(sql: SqlStore, run: VerifyRun) -> None:
    table = sql.table(RUNS_TABLE)
    values = (
        utc_iso(run.at), run.command, int(run.ok), run.events, run.instances, run.seals,
        run.signatures, run.heads, run.problems, json.dumps(run.problem_list, ensure_ascii=False),
    )  # fmt: skip
    with sql.write() as cur:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (seq BIGINT PRIMARY KEY, at TEXT NOT NULL, "
            "command TEXT NOT NULL, ok INTEGER NOT NULL, events BIGINT NOT NULL, "
            "instances BIGINT NOT NULL, seals BIGINT NOT NULL, signatures BIGINT NOT NULL, "
            "heads BIGINT NOT NULL, problems BIGINT NOT NULL, problem_list TEXT NOT NULL)"
        )
        cur.execute(f"SELECT COALESCE(MAX(seq), 0) AS top FROM {table}")
        row = cur.fetchone()
        cur.execute(
            f"INSERT INTO {table} (seq, {', '.join(_COLUMNS)}, problem_list) "
            f"VALUES (?, {', '.join('?' * len(_COLUMNS))}, ?)",
            (int(row["top"]) + 1, *values),
        )


def record_run(sql: SqlStore, run: VerifyRun) -> bool:
    """Record ``run``; ``False`` (nothing recorded) when the store is read-only."""
    for _ in range(_ATTEMPTS):
        try:
            _insert(sql, run)
        except Exception as exc:
            if _is_read_only(exc) or _is_read_only(exc.__cause__ or exc):
                return False
            if not is_unique_violation(exc):
                raise
        else:
            return True
    return False


def list_runs(sql: SqlStore, *, limit: int = 20) -> list[VerifyRun]:
    """The latest ``limit`` runs, newest first."""
    table = sql.table(RUNS_TABLE)
    with sql.read() as cur:
        if not sql.has_table(cur, RUNS_TABLE):
            return []
        cur.execute(
            f"SELECT {', '.join(_COLUMNS)}, problem_list FROM {table} ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
        rows = list(cur.fetchall())
    return [
        VerifyRun(
            at=datetime.fromisoformat(r["at"]), command=r["command"], ok=bool(r["ok"]),
            events=r["events"], instances=r["instances"], seals=r["seals"],
            signatures=r["signatures"], heads=r["heads"], problems=r["problems"],
            problem_list=json.loads(r["problem_list"]),
        )
        for r in rows
    ]  # fmt: skip
