"""Builders for host apps' tests, with no pytest needed: an in-memory engine, a step clock,
valid payloads and walks to any state from a workflow's testing kit (the ``socieux.testing``
entry points), and an assertion for typed refusals by code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from typing import Any, Protocol

from engine.definition.model import WorkflowDefinition
from engine.errors import EngineError, UnknownWorkflow
from engine.facade import Engine
from engine.instance.views import Actor, InstanceView
from engine.projection.protocol import Projection

__all__ = [
    "KIT_GROUP",
    "StepClock",
    "WorkflowKit",
    "actor",
    "kit",
    "memory_engine",
    "payload",
    "raises_engine_error",
    "walk_to",
]

KIT_GROUP = "socieux.testing"


class WorkflowKit(Protocol):
    """What a workflow package offers tests (registered under ``socieux.testing``)."""

    workflow: str
    states: tuple[str, ...]
    """The states :meth:`walk_to` can reach."""

    def actor(self, role: str) -> Actor:
        """A distinct actor acting in ``role``."""

    def payload(self, trigger: str, **overrides: Any) -> dict[str, Any] | None:
        """A valid payload for ``trigger`` (keys in ``overrides`` replace the built ones)."""

    def walk_to(self, engine: Engine, state: str, **options: Any) -> InstanceView:
        """Start a new instance and drive it to ``state`` with the right roles."""


class StepClock:
    """A deterministic clock: each call is ``step`` after the previous one."""

    def __init__(self, start: datetime | None = None, step: timedelta = timedelta(minutes=1)):
        self.now = start or datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def memory_engine(
    *,
    workflows: Iterable[WorkflowDefinition] | None = None,
    projections: Iterable[Projection] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Engine:
    """An in-memory engine (installed workflows and projections unless given)."""
    return Engine.open("memory://", workflows=workflows, projections=projections, clock=clock)


def kit(workflow: str | None = None) -> WorkflowKit:
    """The testing kit of ``workflow``; with no name, the one installed kit.

    ``UnknownWorkflow`` if no kit of that name is installed, or if ``workflow`` is omitted
    while several kits (or none) are installed: the engine knows no workflow by default.
    """
    installed = {ep.name: ep for ep in entry_points(group=KIT_GROUP)}
    if workflow is None:
        if len(installed) != 1:  # no default: name one of several (or learn none is there)
            raise UnknownWorkflow("", known=sorted(installed))
        (workflow,) = installed
    ep = installed.get(workflow)
    if ep is None:
        raise UnknownWorkflow(workflow, known=sorted(installed))
    found: WorkflowKit = ep.load()
    return found


def walk_to(
    engine: Engine, state: str, *, workflow: str | None = None, **options: Any
) -> InstanceView:
    """Start a new instance of ``workflow`` and drive it to ``state`` (see the kit)."""
    chosen = kit(workflow)
    if state not in chosen.states:
        raise KeyError(f"{chosen.workflow} cannot walk to {state!r}; try one of {chosen.states}")
    return chosen.walk_to(engine, state, **options)


def payload(
    trigger: str, *, workflow: str | None = None, **overrides: Any
) -> dict[str, Any] | None:
    """A valid payload for ``trigger`` of ``workflow``, with ``overrides`` merged in."""
    return kit(workflow).payload(trigger, **overrides)


def actor(role: str, *, workflow: str | None = None) -> Actor:
    """The kit's actor for ``role``."""
    return kit(workflow).actor(role)


@contextmanager
def raises_engine_error(code: str) -> Iterator[list[EngineError]]:
    """Assert that the block raises an ``EngineError`` with this stable ``code``.

    The list it yields holds the error afterwards, for further checks.
    """
    caught: list[EngineError] = []
    try:
        yield caught
    except EngineError as exc:
        if exc.code != code:
            msg = f"expected engine error {code!r}, got {exc.code!r}: {exc}"
            raise AssertionError(msg) from exc
        caught.append(exc)
    else:
        msg = f"expected engine error {code!r}, nothing was raised"
        raise AssertionError(msg)
