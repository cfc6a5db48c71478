"""The read side: envelopes back to plaintext for the process holding the KEK.

An erased subject's fields read as ``"[erased]"``; a restricted subject's (an erasure
deferred by retention) as ``"[restricted]"`` unless the reader acts as an ``auditor``.
An envelope must sit where it was sealed: its recorded path must be the path it is found
at (or, in an instance's data, the end of it: collected payloads sit under a list), and
its event version must be the event's (in a history) or an earlier one (in the data).
"""

from __future__ import annotations

import time
from typing import Any

from engine.errors import EnvelopeInvalid
from engine.privacy.envelope import MARK
from engine.privacy.keystore import ERASED, LIVE, RESTRICTED, KeyRow
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


class _Seen:
    """What one pass over an instance's data needs to replace, without opening them, the
    envelope objects this process sealed or opened for that instance."""

    __slots__ = ("instance_id", "known", "left", "now", "rows", "ttl", "version")

    def __init__(self, vault: Vault, instance_id: str, version: int) -> None:
        self.known = vault.known
        self.rows = vault.row_cache
        self.ttl = vault.ttl
        self.now = time.monotonic()
        self.instance_id = instance_id
        self.version = version
        self.left = False
        """Whether an envelope was left in the copy (for :meth:`Revealer.reveal`)."""


def _copy_revealed(node: Any, prefix: str, seen: _Seen) -> Any:
    """A deep copy of the JSON container ``node`` found at ``prefix`` (its dotted path and
    a dot; ``""`` at the top), each envelope replaced by its text when :func:`_known_text`
    knows it, else left in place (not copied)."""
    if isinstance(node, dict):
        if node.get(MARK) == 1:
            return _known_text(node, prefix, seen)
        return {
            k: _copy_revealed(v, f"{prefix}{k}.", seen) if isinstance(v, _CONTAINERS) else v
            for k, v in node.items()
        }
    return [
        _copy_revealed(v, f"{prefix}{i}.", seen) if isinstance(v, _CONTAINERS) else v
        for i, v in enumerate(node)
    ]


def _known_text(env: dict[str, Any], prefix: str, seen: _Seen) -> Any:
    """The text of ``env`` if this very object was sealed or opened here for the instance,
    sits where it was sealed (its path, or the end of the path it is found at) at an event
    no later than the data's, and its key row, read within the staleness bound, is live;
    else ``env`` itself, left for :meth:`Revealer.reveal` (which decides every other case:
    erased, restricted, misplaced, never opened)."""
    k = seen.known.get(id(env))
    if (
        k is not None and k.envelope is env and k.version <= seen.version
        and (prefix == k.at or prefix.endswith(k.under)) and k.instance_id == seen.instance_id
    ):  # fmt: skip
        entry = seen.rows.get(k.row[0])
        if entry is not None and seen.now - entry[0] < seen.ttl:
            row = entry[1].get(k.row)
            if row is not None and row.status == LIVE and row.wrapped is not None:
                return k.text
    seen.left = True
    return env


def revealed_copy(
    vault: Vault, data: dict[str, Any], *, instance_id: str, event_version: int
) -> tuple[dict[str, Any], bool]:
    """A deep copy of an instance's ``data`` at ``event_version`` with the envelopes this
    process already knows replaced by their text in the same pass, and whether any other
    envelope was left in it (for :meth:`Revealer.reveal`, ``exact=False``, to decide)."""
    if data.get(MARK) == 1:
        raise EnvelopeInvalid("the instance's data is an envelope, not a payload's shape")
    seen = _Seen(vault, instance_id, event_version)
    out: dict[str, Any] = _copy_revealed(data, "", seen)
    return out, seen.left


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
        read for all of them). An envelope object this process sealed or opened for the
        instance is not opened again: only where it sits, its event version and its key's
        status are checked, as for any other."""
        vault = self._vault
        rows = vault.rows({str(env.get("kid")) for _, env in found})
        known = vault.known
        out: list[str] = []
        for where, env in found:
            k = known.get(id(env))
            at = where + "."
            if (
                k is not None and k.envelope is env and k.instance_id == instance_id
                and (at == k.at or (not exact and at.endswith(k.under)))
                and (event_version is None or (
                    k.version == event_version if exact else k.version <= event_version))
            ):  # fmt: skip
                row = rows.get(k.row)
                if row is not None and row.status == LIVE and row.wrapped is not None:
                    out.append(k.text)
                    continue
            out.append(self._open(env, where, rows, instance_id, event_version, exact=exact))
        return out

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
