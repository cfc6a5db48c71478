"""The façade's read side: generic access to registered projections, by name.

The engine imports nothing from ``projections``: ``engine.requests(...)`` simply calls
``engine.projection("requests").list(...)`` on whatever projection registered that name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from engine.errors import InvalidArgument
from engine.projection.protocol import Projection
from engine.projection.runner import ProjectionRunner, ProjectionStatus

__all__ = ["ProjectionAccess"]


class ProjectionAccess:
    """Mixed into :class:`engine.Engine`."""

    _runner: ProjectionRunner
    _projection_mode: str

    @property
    def projection_mode(self) -> str:
        """``catchup`` (default), ``inline`` (SQLite only) or ``worker``."""
        return self._projection_mode

    def projection(self, name: str) -> Any:
        """The registered projection called ``name`` (its typed queries are its own)."""
        for p in self._runner.projections:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self._runner.projections) or "none"
        raise InvalidArgument(f"no projection named {name!r} (registered: {known})")

    @property
    def projections(self) -> list[Projection]:
        """Every registered projection."""
        return list(self._runner.projections)

    def requests(self, **filters: Any) -> Any:
        """``projection("requests").list(**filters)``: requests by state, country, area..."""
        return self.projection("requests").list(**filters)

    def audit_trail(self, **filters: Any) -> Any:
        """``projection("audit_trail").list(**filters)``: one row per recorded event."""
        return self.projection("audit_trail").list(**filters)

    def portfolio(self, **options: Any) -> Any:
        """``projection("portfolio").figures(**options)``: counts, stage times, funnel."""
        return self.projection("portfolio").figures(**options)

    def experts(self, **filters: Any) -> Any:
        """``projection("experts").list(**filters)``: assignments, days, overlaps."""
        return self.projection("experts").list(**filters)

    def projection_status(self) -> list[ProjectionStatus]:
        """Each projection's position against the head of the log."""
        return self._runner.status()

    def catch_up_projections(self, *, progress: Callable[[int], None] | None = None) -> int:
        """Apply any events the projections have not seen yet; returns how many."""
        return self._runner.catch_up(progress=progress)

    def rebuild_projections(
        self,
        names: Sequence[str] | None = None,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Drop and rebuild projections (default: all) from the whole log."""
        if names:
            for name in names:
                self.projection(name)  # unknown names fail before anything is dropped
        return self._runner.rebuild(names, progress=progress)

    def wait_for(self, position: int, *, timeout: float = 10.0) -> None:
        """Block until projections have applied notification ``position`` (worker mode)."""
        self._runner.wait_for(position, timeout=timeout)

    def run_projections(
        self, *, poll: float = 0.2, stop: Callable[[], bool] = lambda: False
    ) -> None:
        """The projection worker loop (``socieux projections run``)."""
        self._runner.run_forever(poll=poll, stop=stop)
