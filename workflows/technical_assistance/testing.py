"""The technical-assistance testing kit (``engine.testing``'s ``socieux.testing`` entry).

Host apps reach it through :mod:`engine.testing`::

    from engine.testing import actor, payload, walk_to
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from workflows.technical_assistance.builders import (
    ACTORS,
    PATHS,
    action_plan_payload,
    activity_record_payload,
    approval_payload,
    dissemination_payload,
    evaluation_payload,
    mobilisation_payload,
    request_payload,
    walk_to,
)
from workflows.technical_assistance.workflow import NAME

if TYPE_CHECKING:
    from engine import Actor, Engine, InstanceView

__all__ = ["KIT", "TechnicalAssistanceKit"]


def _record(activity_id: object = None) -> dict[str, Any]:
    """A record of the plan's activity ``activity_id`` (default: the first), inside its own
    window; an id the plan does not have keeps the first one's dates (for refusal tests)."""
    plan = {str(a["id"]): a for a in action_plan_payload()["activities"]}
    activity = plan.get(str(activity_id)) or next(iter(plan.values()))
    return {**activity_record_payload(activity), "activity_id": str(activity_id or activity["id"])}


_BUILDERS: Mapping[str, Callable[[], dict[str, Any] | None]] = {
    "submit": request_payload,
    "resubmit": request_payload,
    "fine_tune": action_plan_payload,
    "approve": approval_payload,
    "mobilise": mobilisation_payload,
    "record_activity": _record,
    "implement": dict,
    "evaluate": evaluation_payload,
    "disseminate": dissemination_payload,
    "return_for_revision": lambda: None,
    "reject": lambda: None,
    "withdraw": lambda: None,
    "cancel": lambda: None,
}


class TechnicalAssistanceKit:
    """Actors, payloads and walks for the technical-assistance workflow."""

    workflow = NAME
    states: tuple[str, ...] = tuple(PATHS)

    def actor(self, role: str) -> Actor:
        """The actor of ``role`` (a role name such as ``commission``, or a kit key such as
        ``team``)."""
        for key, who in ACTORS.items():
            if role in (key, who.role):
                return who
        raise KeyError(f"no actor for role {role!r}; roles: {[a.role for a in ACTORS.values()]}")

    def payload(self, trigger: str, **overrides: Any) -> dict[str, Any] | None:
        """A valid payload for ``trigger``, with ``overrides`` merged over it.

        ``record_activity`` covers every activity of the kit's plan (``fine_tune``'s
        payload): ``activity_id="A2"`` gives a record inside A2's window (default A1);
        :meth:`records` gives one for each, in plan order.
        """
        if trigger == "record_activity" and "activity_id" in overrides:
            return {**_record(overrides["activity_id"]), **overrides}
        try:
            built = _BUILDERS[trigger]()
        except KeyError:
            raise KeyError(f"no trigger {trigger!r}; triggers: {sorted(_BUILDERS)}") from None
        if built is None and not overrides:
            return None
        return {**(built or {}), **overrides}

    def records(self, **overrides: Any) -> list[dict[str, Any]]:
        """One valid ``record_activity`` payload per activity of the kit's plan: firing them
        all settles the plan, so ``implement`` is allowed."""
        plan = action_plan_payload()["activities"]
        return [{**_record(a["id"]), **overrides} for a in plan]

    def walk_to(self, engine: Engine, state: str, **options: Any) -> InstanceView:
        """:func:`workflows.technical_assistance.builders.walk_to`."""
        return walk_to(engine, state, **options)


KIT = TechnicalAssistanceKit()
