"""The read side: envelopes back to plaintext for the process holding the KEK.

An erased subject's fields read as ``"[erased]"``; a restricted subject's (an erasure
deferred by retention) as ``"[restricted]"`` unless the reader acts as an ``auditor``.
An envelope must sit where it was sealed: its recorded path must be the path it is found
at (or, in an instance's data, the end of it: collected payloads sit under a list), and
its event version must be the event's (in a history) or an earlier one (in the data).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.errors import EnvelopeInvalid
from engine.privacy.envelope import MARK
from engine.privacy.keystore import ERASED, RESTRICTED, KeyRow
from engine.privacy.vault import Vault

__all__ = [
    "AUDITOR_ROLE",
    "ERASED_MARK",
    "RESTRICTED_MARK",
    "Revealer",
    "revealed_copy",
    "subjects_in",
]

ERASED_MARK = "[erased]"
RESTRICTED_MARK = "[restricted]"
AUDITOR_ROLE = "auditor"
_CONTAINERS = (dict, list)


def _envelopes(node: object, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    """Every envelope under ``node`` with its path (a plain recursion: reads walk every
    instance's data, so no generator frames)."""
    found: list[tuple[tuple[str, ...], Any]] = []
    _collect(node, path, found)
    return found


def _collect(node: object, path: tuple[str, ...], found: list[tuple[tuple[str, ...], Any]]) -> None:
    if isinstance(node, dict):
        if node.get(MARK) == 1:
            found.append((path, node))
            return
        for k, v in node.items():
            if isinstance(v, _CONTAINERS):
                _collect(v, (*path, str(k)), found)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, _CONTAINERS):
                _collect(v, (*path, str(i)), found)


Trail = tuple[Any, ...]
"""Where a node sits: ``()`` at the top, else ``(parent trail, key or index)``."""


def _copy_found(node: Any, trail: Trail, found: list[tuple[Trail, dict[str, Any]]]) -> Any:
    """A deep copy of the JSON container ``node``, with its envelopes (left in place, not
    copied) listed in ``found`` by trail. One pass does the copy a returned view needs
    anyway and the search for envelopes: no walk of its own."""
    if isinstance(node, dict):
        if node.get(MARK) == 1:
            found.append((trail, node))
            return node
        return {
            k: _copy_found(v, (trail, k), found) if isinstance(v, _CONTAINERS) else v
            for k, v in node.items()
        }
    return [
        _copy_found(v, (trail, i), found) if isinstance(v, _CONTAINERS) else v
        for i, v in enumerate(node)
    ]


def _keys(trail: Trail) -> list[Any]:
    keys: list[Any] = []
    while trail:
        trail, key = trail
        keys.append(key)
    keys.reverse()
    return keys


def revealed_copy(
    revealer: Callable[[], Revealer], data: dict[str, Any], *, instance_id: Callable[[], str],
    event_version: int,
) -> dict[str, Any]:  # fmt: skip
    """A deep copy of an instance's ``data`` at ``event_version`` with its envelopes opened
    as :meth:`Revealer.reveal` opens them (``exact=False``); the revealer and the instance
    id are asked for only when there is an envelope to open."""
    found: list[tuple[Trail, dict[str, Any]]] = []
    out: dict[str, Any] = _copy_found(data, (), found)
    if not found:
        return out
    located = [(_keys(trail), env) for trail, env in found]
    opened = revealer().open_all(
        [(".".join(map(str, keys)), env) for keys, env in located],
        instance_id=instance_id(), event_version=event_version, exact=False,
    )  # fmt: skip
    for (keys, _), text in zip(located, opened, strict=True):
        if not keys:
            raise EnvelopeInvalid("the instance's data is an envelope, not a payload's shape")
        node: Any = out
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = text
    return out


def subjects_in(node: object) -> set[str]:
    """The subjects whose envelopes ``node`` holds."""
    return {str(env.get("kid")) for _, env in _envelopes(node, ())}


def has_envelopes(node: object) -> bool:
    """Whether ``node`` holds at least one envelope."""
    return bool(_envelopes(node, ()))


class Revealer:
    """Replaces envelopes by what this reader may see (one call, one key-table read)."""

    def __init__(self, vault: Vault, *, role: str | None) -> None:
        self._vault = vault
        self._role = role

    def reveal(self, node: Any, *, instance_id: str, event_version: int | None, exact: bool) -> Any:
        """``node`` with its envelopes opened; ``exact``: the node is one event's payload."""
        found = _envelopes(node, ())
        if not found:
            return node
        opened = self.open_all(
            [(".".join(path), env) for path, env in found], instance_id=instance_id,
            event_version=event_version, exact=exact,
        )  # fmt: skip
        out = node
        for (path, _), text in zip(found, opened, strict=True):  # copy-on-write along paths
            out = _replaced(out, path, text)
        return out

    def open_all(
        self, found: list[tuple[str, dict[str, Any]]], *, instance_id: str,
        event_version: int | None, exact: bool,
    ) -> list[str]:  # fmt: skip
        """What this reader sees of each envelope found at its dotted path (one key-table
        read for all of them)."""
        rows = self._vault.rows(str(env.get("kid")) for _, env in found)
        return [
            self._open(env, where, rows, instance_id, event_version, exact=exact)
            for where, env in found
        ]

    def _open(
        self, env: dict[str, Any], where: str, rows: dict[tuple[str, int], KeyRow],
        iid: str, ev: int | None, *, exact: bool,
    ) -> str:  # fmt: skip
        recorded = str(env.get("path"))
        placed = where == recorded if exact else (where == recorded or where.endswith(
            "." + recorded))  # fmt: skip
        version = env.get("ev")
        in_time = ev is None or (isinstance(version, int) and (
            version == ev if exact else version <= ev))  # fmt: skip
        if not placed or not in_time:
            raise EnvelopeInvalid(
                f"the envelope found at {where} was sealed for {recorded} of event {version}",
                path=where,
                subject=str(env.get("kid")),
            )
        row = rows.get((str(env.get("kid")), _int(env.get("kv"))))
        if row is None or row.status == ERASED or row.wrapped is None:
            return ERASED_MARK
        if row.status == RESTRICTED and self._role != AUDITOR_ROLE:
            return RESTRICTED_MARK
        return self._vault.open(env, row, instance_id=iid)


def _replaced(node: Any, path: tuple[str, ...], value: object) -> Any:
    """``node`` with the value at ``path`` replaced (containers on the path copied)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, list):
        copy = list(node)
        copy[int(head)] = _replaced(node[int(head)], rest, value)
        return copy
    return {**node, head: _replaced(node[head], rest, value)}


def _int(value: object) -> int:
    return value if isinstance(value, int) else -1
