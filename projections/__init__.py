"""Read models built from the event log: requests, audit trail, portfolio and experts.

They plug into the engine through the ``socieux.projections`` entry point
(``projections:builtin``); the engine never imports this package. The rows the engine's
list queries return (in an :class:`engine.Page`) are exported here, imported lazily::

    from projections import AuditRow, ExpertSummary, RequestRow
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from engine.projection.protocol import Projection

if TYPE_CHECKING:
    from projections.audit_trail import AuditRow, AuditTrailProjection
    from projections.experts import Assignment, ExpertsProjection, ExpertSummary, Overlap
    from projections.portfolio import Funnel, Portfolio, PortfolioProjection, StageTime
    from projections.requests import RequestRow, RequestsProjection

_MODULES = {
    "projections.audit_trail": ("AuditRow", "AuditTrailProjection"),
    "projections.experts": ("Assignment", "ExpertSummary", "ExpertsProjection", "Overlap"),
    "projections.portfolio": ("Funnel", "Portfolio", "PortfolioProjection", "StageTime"),
    "projections.requests": ("RequestRow", "RequestsProjection"),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "Assignment",
    "AuditRow",
    "AuditTrailProjection",
    "ExpertSummary",
    "ExpertsProjection",
    "Funnel",
    "Overlap",
    "Portfolio",
    "PortfolioProjection",
    "RequestRow",
    "RequestsProjection",
    "StageTime",
    "builtin",
]


def builtin() -> list[Projection]:
    """Fresh instances of the built-in projections (one set per engine)."""
    from projections.audit_trail import AuditTrailProjection
    from projections.experts import ExpertsProjection
    from projections.portfolio import PortfolioProjection
    from projections.requests import RequestsProjection

    return [
        RequestsProjection(),
        AuditTrailProjection(),
        PortfolioProjection(),
        ExpertsProjection(),
    ]


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        msg = f"module 'projections' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
