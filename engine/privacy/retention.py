"""Retention: when a subject's data may be erased (Financial Regulation Art. 133).

Each request holding the subject's data is kept for ``retention_years`` (a definition
setting; default 5: the general rule, 5 years after the balance is paid) after it reached a
final state. An open request keeps the data for as long as it is open. A legal hold is
recorded on the erasure itself (:mod:`engine.privacy.stream`).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from engine.commands.service import CommandService
from engine.errors import EngineError
from engine.privacy.stream import RetentionFacts

__all__ = ["DEFAULT_RETENTION_YEARS", "add_years", "retention_facts"]

DEFAULT_RETENTION_YEARS = 5


def add_years(at: datetime, years: int) -> datetime:
    """``at`` plus ``years`` calendar years (29 February becomes 28 February)."""
    try:
        return at.replace(year=at.year + years)
    except ValueError:
        return at.replace(year=at.year + years, day=28)


def retention_facts(commands: CommandService, instance_ids: list[str]) -> RetentionFacts:
    """When the retention of these instances' records ends, and how many are still open
    (an instance whose definition is not installed here counts as open)."""
    due: datetime | None = None
    still_open = 0
    for iid in instance_ids:
        try:
            agg = commands.load(UUID(iid), fresh=False, fastforward=True)
            compiled = commands.registry.by_hash(agg.definition_hash)
        except EngineError:
            still_open += 1
            continue
        if agg.state not in compiled.final_states or agg.state_entered_at is None:
            still_open += 1
            continue
        years = compiled.definition.settings.get("retention_years", DEFAULT_RETENTION_YEARS)
        end = add_years(agg.state_entered_at, int(years))
        due = end if due is None else max(due, end)
    return RetentionFacts(due_at=due, requests=len(instance_ids), open_requests=still_open)
