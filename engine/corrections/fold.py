"""A history folded with its corrections: the data before an event, and where each value came from.

:func:`fold` replays the payload merges of a history's workflow steps (``Started``,
``Transitioned``, ``Migrated``) with each event's payload amended by the corrections in
effect (``amended``: by target version, field -> value). It also says, for each top-level
key of the data, which event's payload set it (``sources``) and, for each collected list,
which event appended each item (``collected``). That is what a correction's effect is
computed from; it is also the brute-force reference the property tests compare views with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.instance.upcasting import MIGRATED, STARTED, TRANSITIONED

__all__ = ["Folded", "effect_of", "fold"]

STEP_TOPICS = frozenset({STARTED, TRANSITIONED, MIGRATED})


@dataclass
class Folded:
    """The data a history folds to, and the provenance of each value."""

    data: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)
    collected: dict[str, list[int]] = field(default_factory=dict)


def _topic(event: object) -> str:
    return str(type(event).TOPIC)  # type: ignore[attr-defined]


def fold(
    events: Iterable[Any], amended: Mapping[str, Mapping[str, Any]], *, upto: int | None = None
) -> Folded:
    """Fold the workflow steps of ``events`` (up to version ``upto``) with ``amended``."""
    out = Folded()
    for event in events:
        version = int(event.originator_version)
        if upto is not None and version > upto:
            break
        if _topic(event) not in STEP_TOPICS:
            continue
        payload = {**event.payload, **amended.get(str(version), {})}
        if _topic(event) == MIGRATED:
            for key in event.migration.get("removed", ()):
                out.data.pop(key, None)
                out.sources.pop(key, None)
                out.collected.pop(key, None)
        if event.collect_as:
            key = str(event.collect_as)
            before = [*out.data.get(key, ())]
            versions = out.collected.get(key, [0] * len(before))
            out.data[key] = [*before, payload]
            out.collected[key] = [*versions, version]
            out.sources.pop(key, None)
        else:
            out.data.update(payload)
            for key in payload:
                out.sources[key] = version
                out.collected.pop(key, None)
    return out


def effect_of(
    folded: Folded, target: int, collect_as: str | None, values: Mapping[str, Any]
) -> dict[str, Any]:
    """What setting ``values`` in the payload of event ``target`` does to the data now."""
    if collect_as:
        versions = folded.collected.get(collect_as, [])
        if target not in versions:
            return {"data": {}, "collected": []}
        index = versions.index(target)
        return {"data": {}, "collected": [{"key": collect_as, "index": index,
                                           "fields": dict(values)}]}  # fmt: skip
    now = {k: v for k, v in values.items() if folded.sources.get(k) == target}
    return {"data": now, "collected": []}
