"""Read models built from the event log: requests, audit trail, portfolio and experts.

They plug into the engine through the ``socieux.projections`` entry point
(``projections:builtin``); the engine never imports this package.
"""

from __future__ import annotations

from engine.projection.protocol import Projection

__all__ = ["builtin"]


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
