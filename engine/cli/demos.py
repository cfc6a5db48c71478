"""What a workflow's demo offers ``socieux demo``, and finding the installed ones.

A workflow package publishes its demo under the ``socieux.demos`` entry-point group::

    [project.entry-points."socieux.demos"]
    my-workflow = "my_package.demo:DEMO"

The object there satisfies :class:`Demo`. Nothing here is imported until ``demo`` runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, Protocol

from engine.errors import InvalidArgument, UnknownWorkflow

__all__ = ["ENTRY_POINT_GROUP", "Demo", "DemoResult", "DemoRun", "Progress", "load_demo"]

ENTRY_POINT_GROUP = "socieux.demos"

Progress = Callable[[int, int], None]
"""Called after each command with (commands done, commands in total)."""


class DemoResult(Protocol):
    """What a demo run produced: JSON data for ``--json`` and a human summary."""

    def model_dump(self, *, mode: Literal["json"]) -> dict[str, Any]:
        """The summary as JSON data."""
        ...

    def text(self) -> str:
        """The summary for a person, ending with the next commands to try."""
        ...


class DemoRun(Protocol):
    """A demo opened on one store: run it (any number of times), then close it."""

    def run(
        self,
        *,
        seed: int,
        requests: int,
        progress: Progress | None,
        today: datetime | None = None,
    ) -> DemoResult:
        """Load ``requests`` requests, deterministically for ``seed``, via real commands;
        ``today`` (given only by ``socieux demo --today``) is where its timeline ends."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


class Demo(Protocol):
    """A workflow's demo: it opens its own engine (its workflow, its clock) on a store."""

    def open(self, url: str | None) -> DemoRun:
        """Open the demo's engine on ``url`` (default: the engine's default store)."""
        ...


def load_demo(name: str | None = None) -> Demo:
    """The installed demo called ``name``; with no name, the one installed demo.

    ``InvalidArgument`` when none is installed, or when several are and no name is given;
    ``UnknownWorkflow`` for a name no installed demo has.
    """
    from importlib.metadata import entry_points

    installed = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if not installed:
        raise InvalidArgument(f"no demo is installed (no {ENTRY_POINT_GROUP} entry point)")
    if name is None:
        if len(installed) > 1:
            raise InvalidArgument(
                f"{len(installed)} demos are installed; pick one with --workflow "
                f"({', '.join(sorted(installed))})"
            )
        (name,) = installed
    ep = installed.get(name)
    if ep is None:
        raise UnknownWorkflow(name, known=sorted(installed))
    found: Demo = ep.load()
    return found
