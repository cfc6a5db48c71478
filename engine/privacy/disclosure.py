"""Decrypted exports: the personal fields of some instances, in clear, as JSON lines.

The verifiable export (``socieux audit export``) always carries envelopes, so its hashes
verify offline and it holds no plaintext. A holder of the KEK who must hand personal data
over (a subject's access request, an auditor's sample) writes this sidecar instead: one
line per personal field (instance, event version, path, subject, value or its marker).
Each one is first recorded as a ``disclose`` step on the privacy stream (who, why, which
instances, how many fields): the access is part of the audited history.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from uuid import UUID

from engine.persistence.store import EngineApplication
from engine.privacy.envelope import is_envelope
from engine.privacy.reveal import Revealer

__all__ = ["personal_lines"]


def _envelopes(node: object, path: tuple[str, ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    if is_envelope(node):
        assert isinstance(node, dict)
        yield ".".join(path), node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _envelopes(v, (*path, str(k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _envelopes(v, (*path, str(i)))


def personal_lines(
    app: EngineApplication, revealer: Revealer, ids: Iterable[UUID]
) -> list[dict[str, Any]]:
    """One line per personal field sealed in the events of ``ids`` (not migration copies)."""
    lines: list[dict[str, Any]] = []
    for iid in ids:
        for event in app.instance_events(iid):
            for path, env in _envelopes(event.payload, ()):
                if env.get("ev") != event.originator_version:
                    continue  # a copy a migration carried; its own event has the line
                value = revealer.reveal(
                    _nest(path, env), instance_id=str(iid),
                    event_version=event.originator_version, exact=True,
                )  # fmt: skip
                lines.append({
                    "instance_id": str(iid), "version": event.originator_version,
                    "path": path, "subject": env.get("kid"), "value": _leaf(value, path),
                })  # fmt: skip
    return lines


def _nest(path: str, value: object) -> object:
    for key in reversed(path.split(".")):
        value = {key: value}
    return value


def _leaf(node: object, path: str) -> object:
    for key in path.split("."):
        node = node[key] if isinstance(node, dict) else None
    return node
