"""The workflow registry: definitions by name, version and content hash.

Workflows plug in without the engine importing them: either passed explicitly
(``Engine.open(url, workflows=[...])``) or installed under the ``socieux.workflows``
entry-point group. An entry point names a :class:`WorkflowDefinition`, or a callable
returning one or a list of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import Any

from engine.commands.compiled import CompiledWorkflow
from engine.definition.model import WorkflowDefinition
from engine.errors import UnknownWorkflow, WorkflowDefinitionError

__all__ = ["ENTRY_POINT_GROUP", "WorkflowRegistry", "load_entry_points"]

ENTRY_POINT_GROUP = "socieux.workflows"


class WorkflowRegistry:
    """Compiled workflow definitions, looked up by name (latest version), version or hash."""

    def __init__(self, definitions: Iterable[WorkflowDefinition] = ()) -> None:
        self._by_key: dict[tuple[str, int], CompiledWorkflow] = {}
        self._by_hash: dict[str, CompiledWorkflow] = {}
        self._internal: set[str] = set()
        for d in definitions:
            self.register(d)

    def register(
        self, definition: WorkflowDefinition, *, internal: bool = False
    ) -> CompiledWorkflow:
        """Validate and compile ``definition``; re-registering the same content is a no-op.

        ``internal``: one of the engine's own workflows (the privacy stream): found by name
        and hash like any other, but not listed by :meth:`names`, :meth:`keys`, :meth:`all`.
        """
        if internal:
            self._internal.add(definition.name)
        compiled = CompiledWorkflow(definition)
        key = (definition.name, definition.version)
        existing = self._by_key.get(key)
        if existing is not None:
            if existing.hash == compiled.hash:
                return existing
            problem = "another definition with this name and version is already registered"
            raise WorkflowDefinitionError(definition.key, [problem])
        self._by_key[key] = compiled
        self._by_hash[compiled.hash] = compiled
        return compiled

    def get(self, name: str, version: int | None = None) -> CompiledWorkflow:
        """The definition ``name`` at ``version`` (default: the latest)."""
        if version is not None:
            found = self._by_key.get((name, version))
            if found is None:
                raise UnknownWorkflow(f"{name}@{version}", known=self.names())
            return found
        versions = [v for (n, v) in self._by_key if n == name]
        if not versions:
            raise UnknownWorkflow(name, known=self.names())
        return self._by_key[(name, max(versions))]

    def by_hash(self, digest: str) -> CompiledWorkflow:
        """The definition whose content hash is ``digest``."""
        try:
            return self._by_hash[digest]
        except KeyError:
            raise UnknownWorkflow(
                f"definition hash {digest} (not installed here)", known=self.keys()
            ) from None

    def versions(self, name: str) -> list[CompiledWorkflow]:
        """Every installed version of ``name``, oldest first (``UnknownWorkflow`` if none)."""
        found = [self._by_key[k] for k in sorted(self._by_key) if k[0] == name]
        if not found:
            raise UnknownWorkflow(name, known=self.names())
        return found

    def names(self) -> list[str]:
        """Registered workflow names, sorted (the engine's internal ones left out)."""
        return sorted({n for (n, _) in self._by_key if n not in self._internal})

    def keys(self) -> list[str]:
        """Every installed ``name@version``, sorted (internal ones left out)."""
        return [f"{n}@{v}" for (n, v) in sorted(self._by_key) if n not in self._internal]

    def internal_hashes(self) -> list[str]:
        """The content hashes of the engine's own (internal) registered definitions."""
        return [h for h, c in self._by_hash.items() if c.name in self._internal]

    def has(self, name: str) -> bool:
        """Whether a workflow ``name`` (internal ones included) is registered."""
        return any(n == name for (n, _) in self._by_key)

    def roles(self) -> list[str]:
        """Every role a registered definition declares, sorted (an actor's role must be one
        of these: :meth:`CompiledWorkflow.check_role` refuses others for its workflow)."""
        return sorted({r for compiled in self._by_key.values() for r in compiled.roles})

    def all(self) -> list[CompiledWorkflow]:
        """Every registered definition, by name then version (internal ones left out)."""
        return [self._by_key[k] for k in sorted(self._by_key) if k[0] not in self._internal]

    # What projections may ask of a definition version; an unknown hash answers "nothing".
    def sla_days(self, digest: str, state: str) -> int | None:
        """The SLA in days of ``state`` in the definition ``digest`` (``None``: no SLA)."""
        found = self._by_hash.get(digest)
        return found.sla_days.get(state) if found is not None else None

    def settings(self, digest: str) -> dict[str, Any]:
        """The settings of the definition ``digest`` (empty when unknown)."""
        found = self._by_hash.get(digest)
        return dict(found.definition.settings) if found is not None else {}

    def final_states(self, digest: str) -> frozenset[str]:
        """The final states of the definition ``digest`` (empty when unknown)."""
        found = self._by_hash.get(digest)
        return found.final_states if found is not None else frozenset()


def _definitions_from(obj: Any) -> list[WorkflowDefinition]:
    if isinstance(obj, WorkflowDefinition):
        return [obj]
    if callable(obj):
        return _definitions_from(obj())
    if isinstance(obj, Iterable):
        return [d for item in obj for d in _definitions_from(item)]
    msg = f"entry point gave {type(obj).__name__}, not a WorkflowDefinition"
    raise TypeError(msg)


def load_entry_points(group: str = ENTRY_POINT_GROUP) -> list[WorkflowDefinition]:
    """Every definition installed under the entry-point ``group``."""
    found: list[WorkflowDefinition] = []
    for ep in entry_points(group=group):
        loaded: Callable[[], Any] | WorkflowDefinition = ep.load()
        found += _definitions_from(loaded)
    return found
