"""Opening the envelopes a correction recorded, for a history or an explanation.

A correction stores each personal value it names as an envelope sealed at the field's path
in the corrected payload (``contact.name``), so its old and new values, and its effect on
the data, are opened field by field under that path, like the payload they amend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.privacy.reveal import Revealer, has_envelopes

__all__ = ["reveal_amendment"]


def reveal_amendment(revealer: Revealer, iid: str, record: dict[str, Any]) -> dict[str, Any]:
    """``record`` (a correction or an approval) with its envelopes as this reader sees them."""
    if not has_envelopes(record):
        return record

    def opened(values: object) -> dict[str, Any]:
        node = values if isinstance(values, dict) else {}
        out: dict[str, Any] = revealer.reveal(
            node, instance_id=iid, event_version=None, exact=False
        )
        return out

    result = dict(record)
    changes = record.get("changes")
    if isinstance(changes, list):
        result["changes"] = [_change(c, opened) for c in changes]
    effect = record.get("effect")
    if isinstance(effect, dict):
        collected = effect.get("collected")
        result["effect"] = {
            **effect,
            "data": opened(effect.get("data")),
            "collected": [
                {**item, "fields": opened(item.get("fields"))}
                for item in (collected if isinstance(collected, list) else [])
                if isinstance(item, dict)
            ],
        }
    return result


def _change(change: object, opened: Callable[[object], dict[str, Any]]) -> object:
    if not isinstance(change, dict) or not isinstance(change.get("field"), str):
        return change
    name = change["field"]
    old = opened({name: change.get("old")})[name]
    new = opened({name: change.get("new")})[name]
    return {**change, "old": old, "new": new}
