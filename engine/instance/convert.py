"""From aggregates to what callers see: views, safe copies of cached instances."""

from __future__ import annotations

from typing import Any

from engine.errors import StorageUnavailable
from engine.instance.aggregate import WorkflowInstance, open_deadlines
from engine.instance.amendments import state_of
from engine.instance.views import InstanceView

__all__ = ["copy_json", "fork", "view_of"]


_CONTAINERS = (dict, list)


def copy_json(value: Any) -> Any:  # JSON values: any of dict, list, str, int, float, ...
    """Deep copy of JSON data (dicts, lists, scalars): about 3x faster than deepcopy.

    Dicts and lists (and their subclasses) become new plain dicts and lists; anything else
    is shared. Leaves are tested inline, so only containers cost a call."""
    if isinstance(value, dict):
        return {k: copy_json(v) if isinstance(v, _CONTAINERS) else v for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) if isinstance(v, _CONTAINERS) else v for v in value]
    return value


def fork(agg: WorkflowInstance) -> WorkflowInstance:
    """A shallow copy that is safe to mutate: apply is copy-on-write.

    What ``copy.copy`` does for an object with a plain ``__dict__`` (a new instance of the
    same class sharing the attribute values), without its ``__reduce_ex__`` round trip."""
    twin = object.__new__(type(agg))
    state = dict(vars(agg))
    state["_pending_events"] = []
    object.__setattr__(twin, "__dict__", state)
    return twin


def _view(fields: dict[str, Any]) -> InstanceView:
    """``InstanceView.model_construct(**fields)`` for a complete set of fields, in field
    order (no defaults to fill, no aliases): what it sets, without its per-field loop."""
    view = InstanceView.__new__(InstanceView)
    object.__setattr__(view, "__dict__", fields)
    object.__setattr__(view, "__pydantic_fields_set__", set(fields))
    object.__setattr__(view, "__pydantic_extra__", None)
    object.__setattr__(view, "__pydantic_private__", None)
    return view


def view_of(agg: WorkflowInstance, *, copy_data: bool) -> InstanceView:
    """The caller's view of ``agg`` (``copy_data`` when the caller may keep and mutate it)."""
    if not agg.workflow:
        raise StorageUnavailable(f"event stream {agg.id} is not a workflow instance")
    data = copy_json(agg.data) if copy_data else agg.data
    return _view({
        "id": agg.id,
        "workflow": agg.workflow,
        "definition_version": agg.definition_version,
        "definition_hash": agg.definition_hash,
        "state": agg.state,
        "data": data,
        "version": agg.version,
        "created_at": agg.created_on,
        "updated_at": agg.modified_on,
        "state_entered_at": agg.state_entered_at or agg.created_on,
        "fired_by": agg.fired_by,
        "acted_as": agg.acted_as,
        "last_hash": agg.last_hash,
        "open_deadlines": dict(open_deadlines(agg)),
        "evidence": list(state_of(agg, "evidence")),
        "corrections": dict(state_of(agg, "corrections")),
    })  # fmt: skip
