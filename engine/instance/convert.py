"""From aggregates to what callers see: views, safe copies of cached instances."""

from __future__ import annotations

import copy
from typing import Any

from engine.errors import StorageUnavailable
from engine.instance.aggregate import WorkflowInstance, open_deadlines
from engine.instance.amendments import state_of
from engine.instance.views import InstanceView

__all__ = ["copy_json", "fork", "view_of"]


def copy_json(value: Any) -> Any:  # JSON values: any of dict, list, str, int, float, ...
    """Deep copy of JSON data (dicts, lists, scalars): about 3x faster than deepcopy."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


def fork(agg: WorkflowInstance) -> WorkflowInstance:
    """A shallow copy that is safe to mutate: apply is copy-on-write."""
    twin = copy.copy(agg)
    object.__setattr__(twin, "_pending_events", [])
    return twin


def view_of(agg: WorkflowInstance, *, copy_data: bool) -> InstanceView:
    """The caller's view of ``agg`` (``copy_data`` when the caller may keep and mutate it)."""
    if not agg.workflow:
        raise StorageUnavailable(f"event stream {agg.id} is not a workflow instance")
    data = copy_json(agg.data) if copy_data else agg.data
    return InstanceView.model_construct(
        id=agg.id,
        workflow=agg.workflow,
        definition_version=agg.definition_version,
        definition_hash=agg.definition_hash,
        state=agg.state,
        data=data,
        version=agg.version,
        created_at=agg.created_on,
        updated_at=agg.modified_on,
        state_entered_at=agg.state_entered_at or agg.created_on,
        fired_by=agg.fired_by,
        acted_as=agg.acted_as,
        last_hash=agg.last_hash,
        open_deadlines=dict(open_deadlines(agg)),
        evidence=list(state_of(agg, "evidence")),
        corrections=dict(state_of(agg, "corrections")),
    )
