"""Retention: when a subject's data may be erased (Financial Regulation Art. 133).

Records are kept for 5 years after the payment of the balance, or 3 years where the amount
is at most EUR 60,000, and longer while an audit, appeal, litigation or OLAF investigation is
open (a legal hold: :mod:`engine.privacy.holds`). Each workflow declares its rule in its
settings, so the rule enters the definition's content hash and an auditor reads the rule an
instance was kept under from its definition:

* ``"retention": {"years": 5, "reduced_years": 3, "reduced_max_eur": 60000,
  "amount_path": "approval.amount_eur"}``: ``amount_path`` is a dotted path into the
  instance's data giving the amount in euros; where it is absent, unknown or not a number,
  the longer period applies (keeping a record too long is lawful, erasing it too early is
  not);
* or the older ``"retention_years": N`` (no reduced period);
* or nothing: 5 years.

The period counts from the instance's entry into a final state (the balance is paid when
the action closes); an open instance keeps the data for as long as it is open.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from engine.commands.service import CommandService
from engine.definition.retention import DEFAULT_RETENTION_YEARS, RetentionRule, retention_rule
from engine.errors import EngineError
from engine.privacy.stream import RetentionFacts

__all__ = [
    "DEFAULT_RETENTION_YEARS",
    "RetentionRule",
    "add_years",
    "retention_facts",
    "retention_rule",
]


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
        years, _ = retention_rule(compiled.definition.settings).years_for(agg.data)
        end = add_years(agg.state_entered_at, years)
        due = end if due is None else max(due, end)
    return RetentionFacts(due_at=due, requests=len(instance_ids), open_requests=still_open)
