"""Version 2 of the toy workflow, with a declared migration from version 1.

Version 2 lowers the cap to 500, re-checks it when a request is reviewed, and keeps the
amount in euro cents (``amount_cents``) instead of euros (``amount``): the upcaster converts
the data, and refuses any request whose title says "frozen".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from engine import (
    DataUpcaster,
    Guard,
    GuardContext,
    GuardResult,
    InstanceView,
    MigrationDef,
    MigrationRefused,
    TransitionDef,
    WorkflowDefinition,
)
from tests.toy import good_score, toy_definition


class SubmissionV2(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    amount_cents: int = Field(ge=0)
    contact: str = "n/a"


def cents_within_cap(ctx: GuardContext) -> GuardResult:
    cents = int(ctx.view.data.get("amount_cents", 0))
    cap = int(ctx.settings["cap"]) * 100
    ok = cents <= cap
    return GuardResult(ok, f"{cents} cents {'<=' if ok else 'exceeds'} {cap}", {"cents": cents})


def to_cents(view: InstanceView) -> Mapping[str, Any]:
    if "frozen" in str(view.data.get("title", "")):
        raise MigrationRefused("the request is frozen")
    data = {k: v for k, v in view.data.items() if k != "amount"}
    return {**data, "amount_cents": int(view.data.get("amount", 0)) * 100}


UPCASTER = DataUpcaster("toy_v1_to_v2", to_cents, version=1)


def toy_v2(
    *,
    upcaster: DataUpcaster = UPCASTER,
    separate: bool = True,
    state_map: Mapping[str, str] | None = None,
) -> WorkflowDefinition:
    base = toy_definition(2, cap=500)
    guards = {"review": ("good_score", "cents_within_cap"), "approve": ("cents_within_cap",)}
    transitions = []
    for t in base.transitions:
        update: dict[str, Any] = {}
        if t.trigger == "submit":
            update["payload"] = SubmissionV2
        if t.trigger in guards:
            update["guards"] = guards[t.trigger]
        transitions.append(t.model_copy(update=update))
    migration = MigrationDef(
        from_version=1,
        state_map=state_map or {"submitted": "submitted", "reviewed": "reviewed"},
        upcaster=upcaster,
        plan_roles=("reviewer",),
        apply_roles=("approver",),
        separate_duties=separate,
    )
    return WorkflowDefinition(
        name=base.name,
        version=2,
        title=base.title,
        roles=base.roles,
        states=base.states,
        transitions=tuple(transitions),
        guards=(Guard("cents_within_cap", cents_within_cap), Guard("good_score", good_score)),
        settings=base.settings,
        migrations=(migration,),
    )


__all__ = ["UPCASTER", "SubmissionV2", "TransitionDef", "toy_v2"]
