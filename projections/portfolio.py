"""``portfolio``: stage spells for time-in-stage figures, plus portfolio counts.

Counts by state, country, region, area and year are read from the ``requests`` tables
(this projection requires it); time spent in each stage comes from this projection's own
``pf_spells`` table: one row per stay in a state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from engine.persistence.sql import Cursor
from engine.projection.protocol import ProjectedEvent, Projection
from projections._util import chunks, iso, parse_iso, placeholders

__all__ = ["Funnel", "Portfolio", "PortfolioProjection", "StageTime"]


class StageTime(BaseModel):
    """Days spent in one stage (completed stays only)."""

    model_config = ConfigDict(frozen=True)

    state: str
    stays: int
    median_days: float
    p90_days: float


class Funnel(BaseModel):
    """How many requests reached approval and dissemination."""

    model_config = ConfigDict(frozen=True)

    submitted: int
    approved: int
    disseminated: int
    approval_rate: float
    dissemination_rate: float


class Portfolio(BaseModel):
    """Portfolio figures."""

    model_config = ConfigDict(frozen=True)

    total: int
    by_state: dict[str, int]
    by_country: dict[str, int]
    by_region: dict[str, int]
    by_area: dict[str, int]
    by_year: dict[str, int]
    overdue: int
    stage_times: list[StageTime]
    funnel: Funnel


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile ``q`` (0..1) of already sorted values."""
    if not sorted_values:
        return 0.0
    k = (len(sorted_values) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


class PortfolioProjection(Projection):
    """Stays in each stage, and portfolio-wide figures."""

    name = "portfolio"
    version = 1
    tables: ClassVar[tuple[str, ...]] = ("pf_spells",)

    def create(self, cur: Cursor) -> None:
        """Table and indexes."""
        t = self.t("pf_spells")
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {t} (instance_id TEXT NOT NULL, seq INTEGER NOT NULL, "
            "state TEXT NOT NULL, entered_at TEXT NOT NULL, left_at TEXT, days REAL, "
            "PRIMARY KEY (instance_id, seq))"
        )

    def indexes(self) -> Sequence[str]:
        """Stays by state, shortest first."""
        t = self.t("pf_spells")
        return [
            f"CREATE INDEX IF NOT EXISTS pf_state_idx ON {t} (state, days)",
            f"CREATE INDEX IF NOT EXISTS pf_reached_idx ON {t} (state, instance_id)",
        ]

    def apply(self, cur: Cursor, events: Sequence[ProjectedEvent]) -> None:
        """Close the open stay and open a new one on every change of state."""
        t = self.t("pf_spells")
        events = [e for e in events if e.source != e.dest]  # only changes of state matter
        if not events:
            return
        ids = list(dict.fromkeys(e.instance_id for e in events if e.source is not None))
        open_stays: dict[str, tuple[int, str, str]] = {}
        for part in chunks(ids):
            cur.execute(
                f"SELECT instance_id, seq, state, entered_at FROM {t} WHERE left_at IS NULL "
                f"AND instance_id IN ({placeholders(len(part))})",
                tuple(part),
            )
            for r in cur.fetchall():
                open_stays[r["instance_id"]] = (r["seq"], r["state"], r["entered_at"])
        closes: list[tuple[Any, ...]] = []  # stays already in the table
        opened: dict[tuple[str, int], list[Any]] = {}  # stays opened in this batch
        for e in events:
            current = open_stays.get(e.instance_id)
            if current is not None and current[1] == e.dest:
                continue
            at = iso(e.at)
            seq = 1
            if current is not None:
                seq = current[0] + 1
                days = (e.at - parse_iso(current[2])).total_seconds() / 86400
                key = (e.instance_id, current[0])
                if key in opened:
                    opened[key][4:6] = [at, days]
                else:
                    closes.append((at, days, e.instance_id, current[0]))
            opened[(e.instance_id, seq)] = [e.instance_id, seq, e.dest, at, None, None]
            open_stays[e.instance_id] = (seq, e.dest, at)
        if closes:
            cur.executemany(
                f"UPDATE {t} SET left_at = ?, days = ? WHERE instance_id = ? AND seq = ?", closes
            )
        if opened:
            cur.executemany(
                f"INSERT INTO {t} (instance_id, seq, state, entered_at, left_at, days) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [tuple(r) for r in opened.values()],
            )

    def figures(self) -> Portfolio:
        """Counts, overdue total, stage times (median, p90) and the funnel."""
        sql = self.fresh()
        r, a = self.t("req_requests"), self.t("req_request_areas")
        with sql.read() as cur:
            groups = {
                key: _group(cur, f"SELECT {expr} AS k, COUNT(*) AS n FROM {r} GROUP BY {expr}")
                for key, expr in (
                    ("by_state", "state"),
                    ("by_country", "country"),
                    ("by_region", "region"),
                    ("by_year", "SUBSTR(created_at, 1, 4)"),
                )
            }
            groups["by_area"] = _group(
                cur, f"SELECT area AS k, COUNT(*) AS n FROM {a} GROUP BY area"
            )
            cur.execute(
                f"SELECT COUNT(*) AS n FROM {r} WHERE final = 0 AND due_at < ?",
                (iso(self.ctx.now()),),
            )
            overdue = int(cur.fetchone()["n"])
            stage_times = self._stage_times(cur)
            approved, disseminated = (
                self._reached(cur, state) for state in ("approved", "disseminated")
            )
        total = sum(groups["by_state"].values())
        funnel = Funnel(
            submitted=total,
            approved=approved,
            disseminated=disseminated,
            approval_rate=round(approved / total, 4) if total else 0.0,
            dissemination_rate=round(disseminated / approved, 4) if approved else 0.0,
        )
        return Portfolio(
            total=total, overdue=overdue, stage_times=stage_times, funnel=funnel, **groups
        )

    def _reached(self, cur: Cursor, state: str) -> int:
        """How many requests ever entered ``state`` (read from the (state, instance) index)."""
        cur.execute(
            f"SELECT COUNT(DISTINCT instance_id) AS n FROM {self.t('pf_spells')} WHERE state = ?",
            (state,),
        )
        return int(cur.fetchone()["n"])

    def _stage_times(self, cur: Cursor) -> list[StageTime]:
        """Median and p90 of each state's completed stays: the count from the (state, days)
        index, then only the two values around each percentile (not every stay)."""
        t = self.t("pf_spells")
        cur.execute(f"SELECT state, COUNT(*) AS n FROM {t} WHERE days IS NOT NULL GROUP BY state")
        counts = {str(row["state"]): int(row["n"]) for row in cur.fetchall()}
        out = []
        for state, n in sorted(counts.items()):
            at = {q: self._percentile(cur, state, n, q) for q in (0.5, 0.9)}
            out.append(
                StageTime(
                    state=state,
                    stays=n,
                    median_days=round(at[0.5], 2),
                    p90_days=round(at[0.9], 2),
                )
            )
        return out

    def _percentile(self, cur: Cursor, state: str, n: int, q: float) -> float:
        """:func:`percentile` ``q`` of the ``n`` sorted stays in ``state``, from the two
        values it interpolates between."""
        k = (n - 1) * q
        lo = int(k)
        cur.execute(
            f"SELECT days FROM {self.t('pf_spells')} WHERE state = ? AND days IS NOT NULL "
            "ORDER BY days LIMIT 2 OFFSET ?",
            (state, lo),
        )
        values = [float(row["days"]) for row in cur.fetchall()]
        low = values[0]
        high = values[1] if len(values) > 1 and lo + 1 <= n - 1 else low
        return low + (high - low) * (k - lo)


def _group(cur: Cursor, sql: str) -> dict[str, int]:
    cur.execute(sql)
    return {str(row["k"]): int(row["n"]) for row in cur.fetchall() if row["k"] is not None}
