"""From aggregates to what callers see: views, safe copies of cached instances."""

from __future__ import annotations

from typing import Any

from engine.errors import StorageUnavailable
from engine.instance.aggregate import WorkflowInstance
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
    """The caller's view of ``agg`` (``copy_data`` when the caller may keep and mutate it).

    Read from the instance's attributes in one pass (eventsourcing keeps ``id``,
    ``version``, ``created_on`` and ``modified_on`` as ``_id`` ... behind properties):
    what the properties, ``open_deadlines`` and ``state_of`` give, without their calls.
    """
    state = vars(agg)
    if not state.get("workflow"):
        raise StorageUnavailable(f"event stream {agg.id} is not a workflow instance")
    data = copy_json(state["data"]) if copy_data else state["data"]
    created = state["_created_on"]
    evidence = state.get("evidence")
    corrections = state.get("corrections")
    return _view({
        "id": state["_id"],
        "workflow": state["workflow"],
        "definition_version": state["definition_version"],
        "definition_hash": state["definition_hash"],
        "state": state["state"],
        "data": data,
        "version": state["_version"],
        "created_at": created,
        "updated_at": state["_modified_on"],
        "state_entered_at": state.get("state_entered_at") or created,
        "fired_by": state["fired_by"],
        "acted_as": state["acted_as"],
        "last_hash": state["last_hash"],
        "open_deadlines": dict(state.get("open_deadlines") or _NO_DEADLINES),
        "evidence": [] if evidence is None else list(evidence),
        "corrections": {} if corrections is None else dict(corrections),
    })  # fmt: skip


_NO_DEADLINES: dict[str, Any] = {}
