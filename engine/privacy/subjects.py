"""Which payload fields are personal, and whose: read from the payload model's markers.

A workflow declares its data subjects in its payload models, on each personal field::

    class Expert(BaseModel):
        id: str
        name: Annotated[str, Personal(subject="expert", id_field="id")]

    class ContactPerson(BaseModel):
        name: Annotated[str, Personal(subject="contact")]

The expert's subject id is ``expert:<id>`` (their roster id, the same person in every
request); the contact's is ``contact:<instance id>`` (derived from the request and the
role). A bare ``Personal()`` is ``person:<instance id>:<path of its model>``.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, NamedTuple, Union, get_args, get_origin

from pydantic import BaseModel

from engine.definition.model import Personal

__all__ = [
    "PersonalField",
    "PersonalValue",
    "personal_fields",
    "personal_values",
    "with_values",
]

STAR = "*"
_SEQUENCES = (tuple, list, set, frozenset, Sequence)


@dataclass(frozen=True)
class PersonalField:
    """A personal field of a payload model: its path (``*`` for any item) and marker."""

    path: tuple[str, ...]
    marker: Personal


class PersonalValue(NamedTuple):
    """One personal value in a concrete payload: its dotted path, its subject, its text,
    and the object holding it (so the caller can replace it)."""

    path: str
    subject: str
    value: str
    parent: dict[str, Any]
    key: str
    parts: tuple[str, ...] = ()
    """The path's keys (list indices as digits), for a copy-on-write replacement."""
    own: bool = False
    """The subject derives from the instance id (no ``id_field``): only this instance's
    events name it."""


def _marker(items: Sequence[object]) -> Personal | None:
    found = [m for m in items if isinstance(m, Personal)]
    return found[-1] if found else None


@cache
def personal_fields(model: type[BaseModel]) -> tuple[PersonalField, ...]:
    """Every personal field of ``model``, nested models and sequences included."""
    return tuple(dict.fromkeys(_walk(model, (), frozenset())))


def _walk(
    model: type[BaseModel], prefix: tuple[str, ...], seen: frozenset[type]
) -> Iterator[PersonalField]:
    if model in seen:
        return
    for name, info in model.model_fields.items():
        path = (*prefix, name)
        marker = _marker(info.metadata)
        if marker is not None:
            yield PersonalField(path, marker)
        else:
            yield from _walk_type(info.annotation, path, seen | {model})


def _walk_type(tp: Any, path: tuple[str, ...], seen: frozenset[type]) -> Iterator[PersonalField]:
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        marker = _marker(args[1:])
        if marker is not None:
            yield PersonalField(path, marker)
        else:
            yield from _walk_type(args[0], path, seen)
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        yield from _walk(tp, path, seen)
    elif origin in {Union, types.UnionType}:
        for arg in args:
            yield from _walk_type(arg, path, seen)
    elif origin in _SEQUENCES and args:
        yield from _walk_type(args[0], (*path, STAR), seen)


def personal_values(
    model: type[BaseModel], payload: dict[str, Any], instance_id: str
) -> list[PersonalValue]:
    """The personal strings of ``payload`` (a dumped ``model``), each with its subject."""
    found: list[PersonalValue] = []
    for pf in personal_fields(model):
        places: list[tuple[tuple[str, ...], dict[str, Any], str]] = []
        _expand(payload, pf.path, 0, (), places)
        for where, parent, key in places:
            value = parent.get(key)
            if isinstance(value, str) and value:
                subject = _subject(pf.marker, parent, instance_id, where[:-1])
                found.append(PersonalValue(
                    ".".join(where), subject, value, parent, key, where, not pf.marker.id_field
                ))  # fmt: skip
    return found


def _expand(
    node: object, path: tuple[str, ...], at: int, done: tuple[str, ...],
    out: list[tuple[tuple[str, ...], dict[str, Any], str]],
) -> None:  # fmt: skip
    """Append to ``out`` where ``path[at:]`` leads from ``node`` (``*``: every item of a
    list): (the keys walked, the dict holding the value, its key). A plain recursion (the
    command path seals with it: no generator frames)."""
    head, last = path[at], at + 1 == len(path)
    if head == STAR:
        if isinstance(node, list) and not last:
            for i, item in enumerate(node):
                _expand(item, path, at + 1, (*done, str(i)), out)
        return
    if not isinstance(node, dict) or head not in node:
        return
    if last:
        out.append(((*done, head), node, head))
    else:
        _expand(node[head], path, at + 1, (*done, head), out)


def _subject(marker: Personal, parent: dict[str, Any], iid: str, where: tuple[str, ...]) -> str:
    role = marker.subject or "person"
    if marker.id_field:
        return f"{role}:{parent.get(marker.id_field)}"
    if marker.subject:
        return f"{role}:{iid}"
    return f"{role}:{iid}:{'.'.join(where) or '-'}"


def with_values(node: dict[str, Any], changes: list[tuple[tuple[str, ...], object]]) -> Any:
    """``node`` with the value at each path replaced: only the containers on those paths
    are copied (each once), the rest is shared with ``node``, which is left unchanged."""
    out = dict(node)
    copied = {id(out)}
    for parts, value in changes:
        cur: Any = out
        for part in parts[:-1]:
            slot: Any = int(part) if isinstance(cur, list) else part
            child = cur[slot]
            if id(child) not in copied:
                child = list(child) if isinstance(child, list) else dict(child)
                copied.add(id(child))
                cur[slot] = child
            cur = child
        last = parts[-1]
        cur[int(last) if isinstance(cur, list) else last] = value
    return out
