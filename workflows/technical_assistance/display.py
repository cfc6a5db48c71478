"""How front ends (the ``socieux show`` panel) label a request's key facts.

Presentation only: :data:`DISPLAY` travels with the definition but stays out of its
content hash, so relabelling never re-pins stored instances.
"""

from __future__ import annotations

from engine.definition.model import DisplayFact, DisplaySpec

__all__ = ["DISPLAY", "DISPLAY_V2"]

DISPLAY = DisplaySpec(
    facts=(
        DisplayFact(key="title"),
        DisplayFact(key="country"),
        DisplayFact(
            key="institution", kind="record", parts=("name", "type", "level"), aside="acronym"
        ),
        DisplayFact(key="areas"),
        DisplayFact(key="support_type", label="support type"),
        DisplayFact(key="approval_reference", label="approval ref."),
        DisplayFact(key="action_code", label="action code"),
        DisplayFact(key="activities", label="planned activities", kind="count"),
        DisplayFact(key="activity_records", label="activity records", kind="count"),
        DisplayFact(key="experts", kind="count", total="days", unit="expert-days"),
        DisplayFact(key="products", label="knowledge products", kind="count"),
    )
)
"""The request's key facts, in the order ``socieux show`` lists them."""

DISPLAY_V2 = DisplaySpec(
    facts=(
        *DISPLAY.facts[:3],
        DisplayFact(key="channel", label="submission channel"),
        DisplayFact(
            key="eu_delegation_opinion",
            label="Delegation opinion",
            kind="record",
            parts=("verdict",),
        ),
        DisplayFact(key="opinion_waiver", label="opinion waived", kind="record", parts=("reason",)),
        *DISPLAY.facts[3:],
    )
)
"""Version 2's key facts: version 1's, with the channel and the Delegation's opinion."""
