"""The ``requests`` read model's fold of one batch of events into rows, one row per instance.

Each instance's row is worked on as plain data for the whole batch: its stage dates are
parsed once, when it first changes state, and its areas and stage dates are written back
as JSON once per batch (not once per event). The definition lookups (SLA days, final
states, the country's region) are asked once per definition and state in a batch.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from engine.projection.protocol import ProjectedEvent
from projections._util import dumps, iso, loads

__all__ = ["COLUMNS", "Fold"]

COLUMNS = (
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


class _Work:
    """One instance's row during a batch, with its stage dates and areas as data."""

    __slots__ = ("areas", "row", "stages")

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self.stages: dict[str, str] | None = None  # parsed on the first change of state
        self.areas: list[str] | None = None  # set by an event that names the areas

    def finished(self) -> dict[str, Any]:
        """The row, with its stage dates and areas as the JSON text the table holds."""
        if self.stages is not None:
            self.row["stage_dates"] = dumps(self.stages)
        if self.areas is not None:
            self.row["areas"] = dumps(self.areas)
        return self.row


class Fold:
    """Folds events (in log order) into rows; :meth:`rows` gives the rows touched."""

    def __init__(
        self,
        sla_days: Callable[[str, str], int | None],
        final_states: Callable[[str], frozenset[str]],
        settings: Callable[[str], dict[str, Any]],
    ) -> None:
        self._sla_days = sla_days
        self._final_states = final_states
        self._settings = settings
        self._work: dict[str, _Work] = {}
        self._sla: dict[tuple[str, str], int | None] = {}
        self._finals: dict[str, frozenset[str]] = {}
        self._regions: dict[str, dict[str, Any]] = {}

    def add(self, stored: dict[str, Any] | None, e: ProjectedEvent) -> None:
        """Apply ``e`` to its instance's row (``stored``: the row as the table held it)."""
        at = iso(e.at)
        work = self._work.get(e.instance_id)
        if work is None:
            if stored is None:
                stored = dict.fromkeys(COLUMNS)
                stored.update(
                    id=e.instance_id,
                    workflow=e.workflow or "",
                    created_at=at,
                    areas="[]",
                    stage_dates="{}",
                    state="",
                )
            work = self._work[e.instance_id] = _Work(stored)
        row = work.row
        digest = e.definition_hash
        moved = row["state"] != e.dest
        row["definition_hash"] = digest
        row["updated_at"] = at
        row["version"] = e.version
        row["state"] = e.dest
        if moved:
            if work.stages is None:
                work.stages = loads(row["stage_dates"])
            work.stages.setdefault(e.dest, at)
            sla = self._sla_of(digest, e.dest)
            row["state_entered_at"] = at
            row["due_at"] = iso(e.at + timedelta(days=sla)) if sla else None
        finals = self._finals.get(digest)
        if finals is None:
            finals = self._finals[digest] = self._final_states(digest)
        row["final"] = int(e.dest in finals)
        self._facts(work, e)

    def _sla_of(self, digest: str, state: str) -> int | None:
        key = (digest, state)
        if key not in self._sla:
            self._sla[key] = self._sla_days(digest, state)
        return self._sla[key]

    def _facts(self, work: _Work, e: ProjectedEvent) -> None:
        p = e.payload
        if not p:
            return
        row = work.row
        inst = p.get("institution")
        if isinstance(inst, dict):
            row["institution"] = inst.get("name")
            row["institution_type"] = inst.get("type")
        elif isinstance(inst, str):
            row["institution"] = inst
        if "country" in p:
            country = str(p["country"])
            regions = self._regions.get(e.definition_hash)
            if regions is None:
                found = self._settings(e.definition_hash).get("country_regions", {})
                regions = self._regions[e.definition_hash] = found
            row["country"] = country
            row["region"] = regions.get(country)
        if "title" in p:
            row["title"] = p["title"]
        if isinstance(p.get("areas"), list):
            work.areas = sorted(str(a) for a in p["areas"])
        if p.get("action_code"):
            row["action_code"] = p["action_code"]

    def rows(self) -> dict[str, dict[str, Any]]:
        """Every row this fold touched, by instance id, ready to write."""
        return {iid: work.finished() for iid, work in self._work.items()}
