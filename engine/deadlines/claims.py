"""Claiming due rows of the due table: one worker at a time per row, for a lease.

A claim is one write transaction: on PostgreSQL the due rows are selected ``FOR UPDATE
SKIP LOCKED`` (concurrent claimers take disjoint rows and never wait), on SQLite the
transaction is ``BEGIN IMMEDIATE`` (one claimer at a time). Each claimed row gets a lease
(``lease_owner``, ``lease_until``) so that other workers leave it alone while it is being
recorded; a worker killed mid-way leaves a lease that expires, and the row is claimed again.

Claims only spread the work: exactly once comes from the instance's event stream (one
version, one writer) and from the firing's re-check that the deadline is still open.
Leases are measured in wall-clock seconds (``time.time``), not with the engine's clock:
a frozen or moved business clock must not freeze or expire them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.deadlines.readmodel import DUE
from engine.instance.hashing import utc_iso
from engine.persistence.sql import SqlStore

__all__ = ["Claim", "block", "claim_due", "release"]


@dataclass(frozen=True, slots=True)
class Claim:
    """A claimed due row."""

    instance_id: str
    deadline_id: str
    due_at: str


def claim_due(sql: SqlStore, *, now: datetime, limit: int, owner: str, lease: float) -> list[Claim]:
    """Claim up to ``limit`` open rows due at ``now``, earliest first, for ``lease`` seconds."""
    table = sql.table(DUE)
    lock = " FOR UPDATE SKIP LOCKED" if sql.dialect == "postgres" else ""
    wall = time.time()
    if not _any_due(sql, table, now, wall):
        return []  # nothing to claim: no write transaction (an idle pass stays cheap)
    with sql.write() as cur:
        cur.execute(
            f"SELECT instance_id, deadline_id, due_at FROM {table} WHERE status = 'open' "
            "AND due_at <= ? AND (lease_until IS NULL OR lease_until < ?) "
            f"ORDER BY due_at, instance_id, deadline_id LIMIT ?{lock}",
            (utc_iso(now), wall, limit),
        )
        rows: list[Any] = cur.fetchall()
        claims = [Claim(r["instance_id"], r["deadline_id"], r["due_at"]) for r in rows]
        if claims:
            cur.executemany(
                f"UPDATE {table} SET lease_owner = ?, lease_until = ? "
                "WHERE instance_id = ? AND deadline_id = ?",
                [(owner, wall + lease, c.instance_id, c.deadline_id) for c in claims],
            )
    return claims


def _any_due(sql: SqlStore, table: str, now: datetime, wall: float) -> bool:
    """Whether a row may be claimable, by a plain read (a row it misses, committed just
    after, waits for the next claim; a row it sees is re-checked under the lock)."""
    with sql.read() as cur:
        cur.execute(
            f"SELECT 1 FROM {table} WHERE status = 'open' AND due_at <= ? "
            "AND (lease_until IS NULL OR lease_until < ?) LIMIT 1",
            (utc_iso(now), wall),
        )
        return cur.fetchone() is not None


def release(sql: SqlStore, claims: list[Claim], owner: str) -> None:
    """Give back the leases of ``claims`` still held by ``owner`` (left for a later run)."""
    if not claims:
        return
    with sql.write() as cur:
        cur.executemany(
            f"UPDATE {sql.table(DUE)} SET lease_owner = NULL, lease_until = NULL "
            "WHERE instance_id = ? AND deadline_id = ? AND lease_owner = ?",
            [(c.instance_id, c.deadline_id, owner) for c in claims],
        )


def block(sql: SqlStore, claim: Claim, code: str) -> None:
    """Mark a due row ``blocked``: the workflow refused to record it (``code`` says why).
    Read-model only: the deadline stays open in the instance, and leaving the state still
    cancels it."""
    with sql.write() as cur:
        cur.execute(
            f"UPDATE {sql.table(DUE)} SET status = 'blocked', note = ?, lease_owner = NULL, "
            "lease_until = NULL WHERE instance_id = ? AND deadline_id = ? AND status = 'open'",
            (code, claim.instance_id, claim.deadline_id),
        )
