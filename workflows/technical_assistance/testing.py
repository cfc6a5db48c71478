"""The technical-assistance testing kit (``engine.testing``'s ``socieux.testing`` entry).

Host apps reach it through :mod:`engine.testing`::

    from engine.testing import actor, payload, walk_to

Payloads are built for the latest version of the workflow that is installed (the
``socieux.workflows`` entry point: what an engine opened without ``workflows`` starts),
unless ``version`` is given; walks follow the version the engine starts. :attr:`states`
are those both versions can be walked to.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from engine import WorkflowDefinition
from workflows.technical_assistance.builders import (
    ACTORS,
    PATHS,
    action_plan_payload,
    activity_record_payload,
    approval_payload,
    dissemination_payload,
    evaluation_payload,
    mobilisation_payload,
    opinion_payload,
    request_payload,
    walk_to,
)
from workflows.technical_assistance.workflow import NAME

if TYPE_CHECKING:
    from engine import Actor, Engine, InstanceView

__all__ = ["KIT", "TechnicalAssistanceKit", "installed_version"]

_GROUP = "socieux.workflows"


@functools.cache
def installed_version() -> int:
    """The latest version of the workflow the ``socieux.workflows`` entry point installs
    (1 if it is not installed), read once, on first use."""
    versions = [1]
    for ep in entry_points(group=_GROUP):
        if ep.name != NAME:
            continue
        found = ep.load()
        items = found() if callable(found) else found
        items = items if isinstance(items, list | tuple) else [items]
        versions += [d.version for d in items if isinstance(d, WorkflowDefinition)]
    return max(versions)


def _record(activity_id: object = None, version: int = 1) -> dict[str, Any]:
    """A record of the plan's activity ``activity_id`` (default: the first), inside its own
    window; an id the plan does not have keeps the first one's dates (for refusal tests)."""
    plan = {str(a["id"]): a for a in action_plan_payload(version=version)["activities"]}
    activity = plan.get(str(activity_id)) or next(iter(plan.values()))
    record = activity_record_payload(activity, version=version)
    return {**record, "activity_id": str(activity_id or activity["id"])}


_BUILDERS: Mapping[str, Callable[[int], dict[str, Any] | None]] = {
    "submit": lambda v: request_payload(version=v),
    "resubmit": lambda v: request_payload(version=v),
    "request_opinion": lambda _v: None,
    "give_opinion": lambda _v: opinion_payload(),
    "fine_tune": lambda v: action_plan_payload(version=v),
    "approve": lambda _v: approval_payload(),
    "mobilise": lambda v: mobilisation_payload(version=v),
    "record_activity": lambda v: _record(version=v),
    "implement": lambda _v: {},
    "evaluate": lambda _v: evaluation_payload(),
    "disseminate": lambda _v: dissemination_payload(),
    "return_for_revision": lambda _v: None,
    "reject": lambda _v: None,
    "withdraw": lambda _v: None,
    "cancel": lambda _v: None,
}


class TechnicalAssistanceKit:
    """Actors, payloads and walks for the technical-assistance workflow."""

    workflow = NAME

    states: tuple[str, ...] = tuple(PATHS)
    """The states a walk reaches on either version (version 2's ``consulting_delegation`` too is
    reachable with :func:`workflows.technical_assistance.builders.walk_to`)."""

    def actor(self, role: str) -> Actor:
        """The actor of ``role`` (a role name such as ``commission``, or a kit key such as
        ``team``)."""
        for key, who in ACTORS.items():
            if role in (key, who.role):
                return who
        raise KeyError(f"no actor for role {role!r}; roles: {[a.role for a in ACTORS.values()]}")

    def payload(
        self, trigger: str, *, version: int | None = None, **overrides: Any
    ) -> dict[str, Any] | None:
        """A valid payload for ``trigger`` of ``version`` (default: the installed latest),
        with ``overrides`` merged over it.

        ``record_activity`` covers every activity of the kit's plan (``fine_tune``'s
        payload): ``activity_id="A2"`` gives a record inside A2's window (default A1);
        :meth:`records` gives one for each, in plan order.
        """
        v = version or installed_version()
        if trigger == "record_activity" and "activity_id" in overrides:
            return {**_record(overrides["activity_id"], v), **overrides}
        try:
            built = _BUILDERS[trigger](v)
        except KeyError:
            raise KeyError(f"no trigger {trigger!r}; triggers: {sorted(_BUILDERS)}") from None
        if built is None and not overrides:
            return None
        return {**(built or {}), **overrides}

    def records(self, *, version: int | None = None, **overrides: Any) -> list[dict[str, Any]]:
        """One valid ``record_activity`` payload per activity of the kit's plan: firing them
        all settles the plan, so ``implement`` is allowed."""
        v = version or installed_version()
        plan = action_plan_payload(version=v)["activities"]
        return [{**_record(a["id"], v), **overrides} for a in plan]

    def walk_to(self, engine: Engine, state: str, **options: Any) -> InstanceView:
        """:func:`workflows.technical_assistance.builders.walk_to`."""
        return walk_to(engine, state, **options)


KIT = TechnicalAssistanceKit()
