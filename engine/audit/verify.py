"""Verify the live store: every event's hash, every instance's chain, every seal.

The log is read in pages of notifications, in order, so memory stays flat in the number
of events (it grows with the number of instances: one head each). Instances whose chain
breaks are then read back whole and judged by :meth:`engine.audit.checker.CheckResult.judge`.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from uuid import UUID

from engine.audit.offline.chain import Problem
from engine.audit.offline.checker import ChainChecker, CheckResult, SignatureCheck
from engine.audit.records import iter_notifications, record_of
from engine.audit.report import IntegrityReport, report_from
from engine.audit.seals import SealStore, seal_store
from engine.errors import InvalidArgument
from engine.persistence.sql import SqlStore
from engine.persistence.store import EngineApplication, translate_errors

__all__ = ["Progress", "PublicKey", "public_key_check", "verify_store"]

Progress = Callable[[int, int], None]
"""Called with (notification id reached, last notification id) after each page."""
PublicKey = str | os.PathLike[str] | bytes


def public_key_check(public_key: PublicKey | None) -> SignatureCheck | None:
    """The signature check for ``public_key`` (a path or raw bytes), or ``None``."""
    if public_key is None:
        return None
    from engine.audit.offline.signing import load_public_key, signature_check

    try:
        return signature_check(load_public_key(public_key))
    except ValueError as exc:
        raise InvalidArgument(f"public key: {exc}") from None


def _stream(
    app: EngineApplication,
    store: SealStore,
    checker: ChainChecker,
    progress: Progress | None,
    page: int,
) -> None:
    pending = deque(store.records())
    head = int(app.recorder.max_notification_id() or 0)
    for batch in iter_notifications(app.recorder, page=page):
        for n in batch:
            while pending and n.id > pending[0].position:
                seal = pending.popleft()
                checker.close_seal(seal, store.heads(seal.seq))
            checker.add(record_of(app.mapper, n, n.id))
        if progress is not None:
            progress(batch[-1].id, max(head, batch[-1].id))
    while pending:
        seal = pending.popleft()
        checker.close_seal(seal, store.heads(seal.seq))


def _analyse(app: EngineApplication, iid: str, result: CheckResult) -> list[Problem]:
    stored = app.recorder.select_events(UUID(iid))
    return result.judge(iid, [record_of(app.mapper, s) for s in stored])


def verify_store(
    app: EngineApplication,
    sql: SqlStore,
    *,
    label: str,
    public_key: PublicKey | None = None,
    progress: Progress | None = None,
    page: int = 1000,
) -> IntegrityReport:
    """Check the whole log of ``app`` (an eventsourcing application) and its seals.

    With ``public_key``, every seal must carry a valid Ed25519 signature by that key.
    """
    checker = ChainChecker(signature_check=public_key_check(public_key))
    with translate_errors("verifying the log", label):
        _stream(app, seal_store(sql), checker, progress, page)
        result = checker.finish()
        problems = list(result.problems)
        for iid in result.suspects:
            problems += _analyse(app, iid, result)
    return report_from(
        problems,
        events=result.events,
        instances=result.instances,
        seals=result.seals,
        signatures=result.signatures,
        source=label,
    )
