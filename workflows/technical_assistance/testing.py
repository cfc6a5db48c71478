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
    activity_payload,
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

_BUILDERS: Mapping[str, Callable[[], dict[str, Any] | None]] = {
    "submit": request_payload,
    "resubmit": request_payload,
    "fine_tune": action_plan_payload,
    "approve": approval_payload,
    "mobilise": mobilisation_payload,
    "record_activity": lambda: activity_record_payload(activity_payload("A1")),
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
        """A valid payload for ``trigger``, with ``overrides`` merged over it."""
        try:
            built = _BUILDERS[trigger]()
        except KeyError:
            raise KeyError(f"no trigger {trigger!r}; triggers: {sorted(_BUILDERS)}") from None
        if built is None and not overrides:
            return None
        return {**(built or {}), **overrides}

    def walk_to(self, engine: Engine, state: str, **options: Any) -> InstanceView:
        """:func:`workflows.technical_assistance.builders.walk_to`."""
        return walk_to(engine, state, **options)


KIT = TechnicalAssistanceKit()
