"""What the audit tools read: the narrow part of an engine they need, never the ``Engine``."""

from __future__ import annotations

from dataclasses import dataclass

from engine.commands.registry import WorkflowRegistry
from engine.persistence.sql import SqlStore
from engine.persistence.store import EngineApplication
from engine.queries.reads import Reader

__all__ = ["AuditSource"]


@dataclass(frozen=True)
class AuditSource:
    """The event store (``app``), the SQL adapter of its database (``sql``), its label,
    the installed definitions and the engine's own queries (history, as-of, instance ids);
    ``read_only`` when the store was opened read-only (nothing is recorded then)."""

    app: EngineApplication
    sql: SqlStore
    label: str
    registry: WorkflowRegistry
    reader: Reader
    read_only: bool = False
