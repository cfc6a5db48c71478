"""Inclusion-proof bundles of one request, and consistency proofs between tree heads.

A bundle (schema ``socieux.proof-bundle/1``, one JSON document; see docs/audit.md) holds
everything needed to check one request with no database and no export: its events as
hashed, the definitions they pin, each event's RFC 9162 inclusion proof and the signed
tree head the proofs lead to. :func:`engine.audit.offline.bundle.verify_bundle` checks it.
"""

from __future__ import annotations

import json
from typing import Any, TextIO
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from engine.audit.export import event_line
from engine.audit.heads import TreeHead, head_records
from engine.audit.offline.bundle import BUNDLE_SCHEMA
from engine.audit.offline.lines import is_hex64
from engine.audit.offline.merkle import leaf_hash, verify_consistency, verify_inclusion
from engine.audit.offline.semantic import DefinitionSource
from engine.audit.offline.tree_head import TreeHeadRecord
from engine.audit.records import record_of
from engine.audit.tree import LeafRow, MerkleTree, TreeView
from engine.errors import IntegrityViolation, InvalidArgument
from engine.persistence.sql import SqlStore
from engine.persistence.store import EngineApplication, translate_errors

__all__ = ["BundleSummary", "ConsistencyProof", "HeadRef", "consistency", "write_bundle"]

HeadRef = int | TreeHeadRecord
"""A recorded head by number, or a head kept elsewhere (a witness line)."""


class BundleSummary(BaseModel):
    """What ``prove`` wrote: which request, against which head, how much."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    instance: UUID
    head: TreeHead
    events: int
    definitions: int
    bytes: int


class ConsistencyProof(BaseModel):
    """An RFC 9162 consistency proof from the tree of ``old_size`` events to that of
    ``new_size``, and whether it verifies against the two roots."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    old_size: int
    old_root: str
    new_size: int
    new_root: str
    proof: list[str]
    ok: bool


def _head(sql: SqlStore, seq: int | None) -> TreeHead:
    heads = head_records(sql)
    if not heads:
        raise InvalidArgument("no tree head yet: record one with `socieux audit head`")
    if seq is None:
        return heads[-1]
    for h in heads:
        if h.seq == seq:
            return h
    raise InvalidArgument(f"no tree head #{seq} (there are {len(heads)})", argument="head")


def _pinned(fields: dict[str, Any] | None) -> list[str]:
    return [
        v for k, v in (fields or {}).items() if k.endswith("definition_hash") and isinstance(v, str)
    ]


def _events(
    app: EngineApplication, view: TreeView, iid: UUID, head: TreeHead
) -> tuple[list[dict[str, Any]], list[str]]:
    leaves: list[LeafRow] = view.leaves_of(str(iid), head.size)
    stored = {int(e.originator_version): e for e in app.recorder.select_events(iid)}
    lines: list[dict[str, Any]] = []
    pins: list[str] = []
    for leaf in leaves:
        event = stored.get(leaf.version)
        if event is None:
            continue  # gone from the store: the bundle cannot hold it (the check says so)
        rec = record_of(app.mapper, event, leaf.position)
        line = event_line(rec)
        del line["type"]
        line["index"] = leaf.index
        proof = view.inclusion(leaf.index, head.size)
        _self_check(leaf, proof, head)
        line["proof"] = [p.hex() for p in proof]
        lines.append(line)
        pins += [d for d in _pinned(rec.fields) if d not in pins]
    return lines, pins


def _self_check(leaf: LeafRow, proof: list[bytes], head: TreeHead) -> None:
    """Refuse to hand over a proof the stored tree got wrong (its tables were altered)."""
    hashed = leaf_hash(bytes.fromhex(leaf.hash)) if is_hex64(leaf.hash) else b""
    if not verify_inclusion(leaf.index, head.size, hashed, proof, bytes.fromhex(head.root)):
        raise IntegrityViolation(
            f"the stored Merkle tree does not prove leaf {leaf.index} in tree head #{head.seq}: "
            "its tables were altered (verify the log, then `socieux audit head --rebuild`)"
        )


def write_bundle(
    app: EngineApplication,
    sql: SqlStore,
    out: TextIO,
    *,
    label: str,
    instance: UUID,
    head: int | None = None,
    definitions: DefinitionSource | None = None,
) -> BundleSummary:
    """Write the proof bundle of ``instance`` against head ``head`` (default: the latest)."""
    with translate_errors("proving a request", label):
        chosen = _head(sql, head)
        with MerkleTree(sql).view() as view:
            events, pins = _events(app, view, instance, chosen)
    if not events:
        raise InvalidArgument(
            f"request {instance} has no event under tree head #{chosen.seq}: record a new "
            "head with `socieux audit head`"
        )
    defs = [
        {"hash": d, "definition": dict(found)}
        for d in pins
        if definitions is not None and (found := definitions(d)) is not None
    ]
    bundle = {
        "schema": BUNDLE_SCHEMA, "hash": "sha256", "tree": "RFC 9162",
        "instance": str(instance), "head": chosen.record().as_dict(),
        "definitions": defs, "events": events,
    }  # fmt: skip
    text = json.dumps(bundle, ensure_ascii=False, separators=(",", ":")) + "\n"
    try:
        out.write(text)
    except OSError as exc:
        raise InvalidArgument(f"cannot write the bundle: {exc.strerror or exc}") from None
    return BundleSummary(
        instance=instance, head=chosen, events=len(events), definitions=len(defs),
        bytes=len(text.encode("utf-8")),
    )  # fmt: skip


def _resolve(heads: list[TreeHead], ref: HeadRef) -> TreeHeadRecord:
    if isinstance(ref, TreeHeadRecord):
        return ref
    for h in heads:
        if h.seq == ref:
            return h.record()
    raise InvalidArgument(f"no tree head #{ref} (there are {len(heads)})", argument="head")


def consistency(sql: SqlStore, old: HeadRef, new: HeadRef, *, label: str) -> ConsistencyProof:
    """The consistency proof from head ``old`` to head ``new``, checked."""
    with translate_errors("proving consistency", label):
        heads = head_records(sql)
        first, second = _resolve(heads, old), _resolve(heads, new)
        if first.size > second.size:
            raise InvalidArgument(
                f"{first.label} ({first.size} events) is larger than {second.label} "
                f"({second.size}): give the older head first"
            )
        tree = MerkleTree(sql)
        stored = 0
        if tree.exists():
            with tree.view() as view:
                stored = view.size()[0]
                proof = view.consistency(first.size, second.size) if second.size <= stored else []
        if second.size > stored:
            raise InvalidArgument(
                f"{second.label} covers {second.size} events; the stored tree has {stored}"
            )
    ok = verify_consistency(
        first.size, second.size, bytes.fromhex(first.root), bytes.fromhex(second.root), proof
    )
    return ConsistencyProof(
        old_size=first.size, old_root=first.root, new_size=second.size, new_root=second.root,
        proof=[p.hex() for p in proof], ok=ok,
    )  # fmt: skip
