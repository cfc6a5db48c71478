"""The façade's read side: registered projections, by name or by class, and their runner.

The engine imports nothing from ``projections``: ``engine.requests(...)`` calls ``list`` on
whatever projection registered the name ``requests``. For typed access, ask by class:
``engine.projection(RequestsProjection).list(state="approved")`` returns that type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar, cast, overload

from pydantic import BaseModel

from engine.errors import InvalidArgument
from engine.projection.parking import ParkedProjectionEvent
from engine.projection.protocol import Projection
from engine.projection.runner import ProjectionRunner, ProjectionStatus

__all__ = ["Figures", "Listing", "ProjectionService"]

P = TypeVar("P", bound=Projection)


class Listing(Protocol):
    """A projection with rows to list (``requests``, ``audit_trail``, ``experts``)."""

    def list(self, **filters: object) -> Sequence[BaseModel]:
        """Rows matching ``filters`` (each projection documents its own): a
        :class:`~engine.projection.page.Page` (the built-in ones), or a plain sequence."""


class Figures(Protocol):
    """A projection with figures (``portfolio``)."""

    def figures(self, **options: object) -> BaseModel:
        """The figures."""


class ProjectionService:
    """Lookup of registered projections plus the runner's operations."""

    def __init__(self, runner: ProjectionRunner, mode: str) -> None:
        self.runner = runner
        self.mode = mode

    @overload
    def get(self, kind: type[P]) -> P: ...
    @overload
    def get(self, kind: str) -> Projection: ...
    def get(self, kind: type[P] | str) -> P | Projection:
        """The registered projection of class ``kind`` (typed), or called ``kind``."""
        for p in self.runner.projections:
            if p.name == kind if isinstance(kind, str) else isinstance(p, kind):
                return p
        known = ", ".join(p.name for p in self.runner.projections) or "none"
        wanted = kind if isinstance(kind, str) else kind.__name__
        raise InvalidArgument(f"no projection {wanted!r} is registered (registered: {known})")

    def listing(self, name: str) -> Listing:
        """The projection called ``name``, which must have a ``list`` method."""
        found = self.get(name)
        if not callable(getattr(found, "list", None)):
            raise InvalidArgument(f"projection {name!r} has no list()")
        return cast("Listing", found)

    def figures(self, name: str) -> Figures:
        """The projection called ``name``, which must have a ``figures`` method."""
        found = self.get(name)
        if not callable(getattr(found, "figures", None)):
            raise InvalidArgument(f"projection {name!r} has no figures()")
        return cast("Figures", found)

    def rebuild(
        self, names: Sequence[str] | None, *, progress: Callable[[int], None] | None
    ) -> int:
        """Drop and rebuild projections (default: all) from the whole log."""
        for name in names or ():
            self.get(name)  # unknown names fail before anything is dropped
        return self.runner.rebuild(names, progress=progress)

    def parked(self, name: str | None) -> list[ParkedProjectionEvent]:
        """Events a projection could not apply (of ``name``, or of all)."""
        if name is not None:
            self.get(name)
        return self.runner.parking.list(name)

    def status(self) -> list[ProjectionStatus]:
        """Each projection's position against the head of the log."""
        return self.runner.status()
