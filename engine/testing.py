"""Testing helpers for host apps' own tests.

In ``conftest.py``::

    pytest_plugins = ["engine.testing"]

and the fixtures are there::

    def test_approval_sends_mail(socieux_engine):
        view = walk_to(socieux_engine, "fine_tuned")                 # right roles, valid data
        socieux_engine.fire(view.id, "approve", payload("approve"), actor=actor("commission"))

* :func:`memory_engine` (fixture ``socieux_engine``): an in-memory engine with every
  installed workflow and projection (pass ``clock=StepClock()`` for deterministic times).
* ``socieux_sqlite_engine``: the same on a SQLite file in ``tmp_path``.
* :func:`walk_to`, :func:`payload`, :func:`actor`: valid payloads and the path to any
  state, from the workflow's testing kit (the ``socieux.testing`` entry points; the
  technical-assistance workflow ships one).
* :func:`raises_engine_error`: assert a typed refusal by its stable code.

This module imports pytest; import it from tests only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

import pytest

from engine.definition import WorkflowDefinition
from engine.errors import EngineError, UnknownWorkflow
from engine.facade import Engine
from engine.projection import Projection
from engine.views import Actor, InstanceView

__all__ = [
    "KIT_GROUP",
    "StepClock",
    "WorkflowKit",
    "actor",
    "kit",
    "memory_engine",
    "payload",
    "raises_engine_error",
    "socieux_engine",
    "socieux_sqlite_engine",
    "walk_to",
]

KIT_GROUP = "socieux.testing"
DEFAULT_WORKFLOW = "technical-assistance"


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


def kit(workflow: str = DEFAULT_WORKFLOW) -> WorkflowKit:
    """The testing kit of ``workflow`` (``UnknownWorkflow`` if none is installed)."""
    for ep in entry_points(group=KIT_GROUP):
        if ep.name == workflow:
            found: WorkflowKit = ep.load()
            return found
    raise UnknownWorkflow(workflow)


def walk_to(
    engine: Engine, state: str, *, workflow: str = DEFAULT_WORKFLOW, **options: Any
) -> InstanceView:
    """Start a new instance of ``workflow`` and drive it to ``state`` (see the kit)."""
    chosen = kit(workflow)
    if state not in chosen.states:
        raise KeyError(f"{workflow} cannot walk to {state!r}; try one of {chosen.states}")
    return chosen.walk_to(engine, state, **options)


def payload(
    trigger: str, *, workflow: str = DEFAULT_WORKFLOW, **overrides: Any
) -> dict[str, Any] | None:
    """A valid payload for ``trigger`` of ``workflow``, with ``overrides`` merged in."""
    return kit(workflow).payload(trigger, **overrides)


def actor(role: str, *, workflow: str = DEFAULT_WORKFLOW) -> Actor:
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


@pytest.fixture
def socieux_engine() -> Iterator[Engine]:
    """An in-memory engine with the installed workflows and projections."""
    with memory_engine() as engine:
        yield engine


@pytest.fixture
def socieux_sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine on a SQLite file in the test's ``tmp_path``."""
    with Engine.open(f"sqlite:///{tmp_path / 'socieux.db'}") as engine:
        yield engine

