"""Verify the live store: every event's hash, every instance's chain, every seal, and every
step against the workflow rules of the definition its instance pinned.

The log is read in pages, in order, so memory stays flat in the number of events, and in
the number of instances too: the heads and rule tracks of the instances seen least
recently are spilled to a temporary file (:mod:`engine.audit.offline.spill`). Instances
whose chain (or order) breaks are then read back whole, in a second pass over the log that
keeps each event's position, and judged by
:meth:`engine.audit.offline.result.CheckResult.judge`.
Snapshots are never read: the rules are replayed from the events alone.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable

from engine.audit.head_check import HeadChecker, MessageCheck
from engine.audit.heads import head_rows
from engine.audit.offline.chain import Problem, Record
from engine.audit.offline.checker import ChainChecker, SignatureCheck
from engine.audit.offline.semantic import DefinitionSource, RuleChecker
from engine.audit.offline.tree_head import TreeHeadRecord
from engine.audit.records import iter_records
from engine.audit.report import IntegrityReport, report_from
from engine.audit.seals import SealStore, seal_store
from engine.errors import InvalidArgument
from engine.persistence.sql import SqlStore
from engine.persistence.store import EngineApplication, translate_errors

__all__ = ["Progress", "PublicKey", "head_key_check", "public_key_check", "verify_store"]

Progress = Callable[[int, int], None]
"""Called with (notification id reached, last notification id) after each page."""
PublicKey = str | os.PathLike[str] | bytes


def public_key_check(public_key: PublicKey | None) -> SignatureCheck | None:
    """The seal signature check for ``public_key`` (a path or raw bytes), or ``None``."""
    if public_key is None:
        return None
    from engine.audit.offline.signing import load_public_key, signature_check

    try:
        return signature_check(load_public_key(public_key))
    except ValueError as exc:
        raise InvalidArgument(f"public key: {exc}") from None


def head_key_check(public_key: PublicKey | None) -> MessageCheck | None:
    """The tree-head signature check for ``public_key``, or ``None``."""
    if public_key is None:
        return None
    from engine.audit.offline.signing import load_public_key, message_check

    try:
        return message_check(load_public_key(public_key))
    except ValueError as exc:
        raise InvalidArgument(f"public key: {exc}") from None


def _stream(  # noqa: PLR0917 - one private helper of verify_store
    app: EngineApplication,
    store: SealStore,
    checker: ChainChecker,
    heads: HeadChecker,
    progress: Progress | None,
    page: int,
) -> None:
    pending = deque(store.records())
    checker.seals_ahead = bool(pending)  # after the last seal, nobody asks what it touched
    head = int(app.recorder.max_notification_id() or 0)
    for batch in iter_records(app.recorder, app.mapper, page=page):
        for rec in batch:
            while pending and (rec.position or 0) > pending[0].position:
                seal = pending.popleft()
                checker.close_seal(seal, store.heads(seal.seq))
                checker.seals_ahead = bool(pending)
            checker.add(rec)
            heads.add(rec)
        if progress is not None:
            progress(batch.last, max(head, batch.last))
    while pending:
        seal = pending.popleft()
        checker.close_seal(seal, store.heads(seal.seq))


def suspect_records(
    app: EngineApplication, suspects: set[str], *, page: int = 1000
) -> dict[str, list[Record]]:
    """Every stored record of the ``suspects``, with its log position (a second pass)."""
    found: dict[str, list[Record]] = {s: [] for s in suspects}
    for batch in iter_records(app.recorder, app.mapper, page=page):
        for rec in batch:
            if rec.instance_id in found:
                found[rec.instance_id].append(rec)
    return found


def verify_store(
    app: EngineApplication,
    sql: SqlStore,
    *,
    label: str,
    definitions: DefinitionSource | None = None,
    public_key: PublicKey | None = None,
    progress: Progress | None = None,
    page: int = 1000,
    against: list[TreeHeadRecord] | None = None,
) -> IntegrityReport:
    """Check the whole log of ``app`` (an eventsourcing application), its seals and its
    tree heads (and the heads ``against`` kept outside the store).

    With ``definitions`` (content hash -> definition dict), every instance's history is
    replayed against the rules of the definition it pinned. With ``public_key``, the log
    must have seals or tree heads, each with a valid Ed25519 signature by that key.
    """
    rules = RuleChecker(definitions) if definitions is not None else None
    with translate_errors("verifying the log", label):
        stored, malformed = head_rows(sql)
        recorded = [h.record() for h in stored]
        heads = HeadChecker(recorded, list(against or []), head_key_check(public_key))
        checker = ChainChecker(
            signature_check=public_key_check(public_key), rules=rules, require_seal=not recorded
        )
        _stream(app, seal_store(sql), checker, heads, progress, page)
        result = checker.finish()
        problems: list[Problem] = list(result.problems) + heads.finish(sql)
        problems += [
            Problem("head", None, None, f"tree head #{seq}: its stored row is malformed: {why}")
            for seq, why in malformed
        ]
        if result.suspects:
            for iid, records in suspect_records(app, set(result.suspects), page=page).items():
                problems += result.judge(iid, records)
    return report_from(
        problems,
        events=result.events,
        instances=result.instances,
        seals=result.seals,
        signatures=result.signatures + (len(recorded) if public_key is not None else 0),
        heads=heads.count,
        source=label if rules is not None else f"{label} (hash checks only: no definitions)",
    )
