"""The definitions as the rule checks and exports read them: plain dicts by content hash.

The installed ones first; otherwise the one recorded in the store
(:mod:`engine.persistence.definitions`), re-hashed before it is trusted.

Each is :func:`engine.definition.content.to_dict` of a registered definition, round-tripped
through JSON so that it holds exactly what an export line carries (and what the offline
verifier re-hashes): its canonical JSON hashes to the content hash events pin.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.commands.registry import WorkflowRegistry
from engine.definition.content import to_dict
from engine.errors import EngineError
from engine.instance.hashing import canonical_json, hash_fields

__all__ = ["InstalledDefinitions"]


@dataclass
class InstalledDefinitions:
    """A :data:`~engine.audit.offline.semantic.DefinitionSource` over a registry (cached)."""

    registry: WorkflowRegistry
    stored: Callable[[str], str | None] = lambda _digest: None
    """The store's canonical JSON for a hash (see ``DefinitionStore.body``)."""
    _cache: dict[str, dict[str, object] | None] = field(default_factory=dict)

    def __call__(self, digest: str) -> dict[str, object] | None:
        """The definition dict whose content hash is ``digest``, or ``None``."""
        if digest not in self._cache:
            try:
                compiled = self.registry.by_hash(digest)
            except EngineError:
                self._cache[digest] = self._from_store(digest)
            else:
                plain = json.loads(canonical_json(to_dict(compiled.definition)))
                self._cache[digest] = plain if isinstance(plain, dict) else None
        return self._cache[digest]

    def _from_store(self, digest: str) -> dict[str, object] | None:
        body = self.stored(digest)
        if body is None:
            return None
        try:
            plain = json.loads(body)
        except ValueError:
            return None
        if not isinstance(plain, dict) or hash_fields(plain) != digest:
            return None  # altered in the table: not what the events pinned
        return plain
