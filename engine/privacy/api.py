"""The engine's personal-data methods (erasure, holds, retention, KEK rotation), as a mixin
of :class:`engine.Engine`: each body checks its arguments and delegates to
:class:`~engine.privacy.service.PrivacyService`. See ``docs/privacy.md``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from uuid import UUID

from engine.audit.api import AuditMethods
from engine.commands import arguments as args
from engine.commands.compiled import MAX_REASON_LENGTH
from engine.commands.context import bound_call
from engine.errors import InvalidArgument
from engine.instance.views import Actor
from engine.privacy.kek import Kek, read_key_file

if TYPE_CHECKING:
    import os

    from engine.audit.explain import Explanation, StateDiff
    from engine.privacy.holds import LegalHold
    from engine.privacy.service import PrivacyService
    from engine.privacy.status import SubjectStatus
    from engine.queries.reads import Reader

__all__ = ["PrivacyMethods"]

_MAX_TEXT = 200


class PrivacyMethods(AuditMethods):
    """The personal-data part of the public contract (``docs/privacy.md``); it extends
    the audit part so that :meth:`explain` and :meth:`diff` show personal fields as
    :meth:`engine.Engine.get` does (decrypted, or ``[erased]``/``[restricted]``)."""

    _privacy: PrivacyService
    _reader: Reader

    def explain(self, instance_id: UUID | str, version: int) -> Explanation:
        """Who fired version ``version`` of an instance, with which role and reason, which
        guards ran, what each read, and whether the stored event's hash recomputes (its
        payload's personal fields as this reader may see them)."""
        found = super().explain(instance_id, version)
        return self._privacy.reveal_entry(found.instance_id, found)

    def diff(self, instance_id: UUID | str, since: datetime, until: datetime) -> StateDiff:
        """What changed in an instance's state and data between two times, and by which
        steps (personal fields as this reader may see them)."""
        return self._privacy.reveal_diff(super().diff(instance_id, since, until))

    def subject(self, subject: str) -> SubjectStatus:
        """Where data subject ``subject`` (a pseudonym such as ``expert:E-104``) stands:
        live, restricted or erased, the erasure's reference and state, retention, holds.
        ``SubjectNotFound`` if no personal data of theirs is stored."""
        return self._privacy.status(_subject(subject))

    def request_erasure(
        self, subject: str, *, actor: Actor | None = None, reason: str, legal_basis: str
    ) -> SubjectStatus:
        """Record a request to erase ``subject`` (GDPR Art. 17) on the privacy stream; an
        officer other than the requester approves it (:meth:`approve_erasure`)."""
        who = _actor(actor)
        return self._privacy.request_erasure(
            _subject(subject), actor=who, reason=_text("reason", reason, MAX_REASON_LENGTH),
            legal_basis=_text("legal_basis", legal_basis, _MAX_TEXT),
        )  # fmt: skip

    def approve_erasure(
        self, subject: str, *, actor: Actor | None = None, reason: str
    ) -> SubjectStatus:
        """Approve the requested erasure (never by its requester: ``PermissionDenied``).
        Carried out at once (the subject's keys destroyed) if retention is over and no
        legal hold is open; otherwise deferred (``defer_erasure``) and the data restricted
        to the ``auditor`` role until :meth:`run_due_erasures` carries it out."""
        who = _actor(actor)
        return self._privacy.approve_erasure(
            _subject(subject), actor=who, reason=_text("reason", reason, MAX_REASON_LENGTH)
        )

    def forget(
        self,
        subject: str,
        *,
        actor: Actor | None = None,
        approver: Actor,
        reason: str,
        legal_basis: str,
    ) -> SubjectStatus:
        """:meth:`request_erasure` as ``actor`` then :meth:`approve_erasure` as ``approver``
        (a different person): the subject's keys are destroyed when retention allows, and
        ``SubjectErased`` (the ``erase_subject`` step) is recorded on the privacy stream."""
        who = _actor(actor)
        if not isinstance(approver, Actor):
            raise InvalidArgument("approver must be an Actor", argument="approver")
        return self._privacy.forget(
            _subject(subject), actor=who, approver=approver,
            reason=_text("reason", reason, MAX_REASON_LENGTH),
            legal_basis=_text("legal_basis", legal_basis, _MAX_TEXT),
        )  # fmt: skip

    def place_hold(
        self, subject: str, *, actor: Actor | None = None, reason: str, hold: str
    ) -> SubjectStatus:
        """Place legal hold ``hold`` (an audit, appeal or OLAF reference) on the subject: on
        their pending erasure, or in the legal-hold register if none is requested yet.
        While it is open, their erasure does not run (it is deferred, the data restricted)."""
        return self._hold(subject, actor, reason, hold, place=True)

    def release_hold(
        self, subject: str, *, actor: Actor | None = None, reason: str, hold: str
    ) -> SubjectStatus:
        """Lift legal hold ``hold`` from the subject (their erasure's, or a register hold
        placed on them alone: a wider one is lifted with :meth:`release_legal_hold`)."""
        return self._hold(subject, actor, reason, hold, place=False)

    def place_legal_hold(
        self,
        hold: str,
        *,
        subjects: Sequence[str] = (),
        requests: Sequence[UUID | str] = (),
        actor: Actor | None = None,
        reason: str,
    ) -> LegalHold:
        """Record legal hold ``hold`` (an audit, appeal, litigation or OLAF reference) in the
        legal-hold register, on data subjects and/or requests, before or without any erasure
        request: while it is open, erasures of those subjects, and of every subject whose
        data those requests hold, are deferred (Financial Regulation Art. 133). Unknown
        subjects or requests, an empty scope, or a hold of that reference already open:
        typed errors, nothing written."""
        return self._privacy.place_legal_hold(
            _text("hold", hold, 100), subjects=args.check_strings("subjects", subjects),
            requests=[
                str(self._reader.id(args.check_id("requests", r)))
                for r in _list("requests", requests)
            ],
            actor=_actor(actor), reason=_text("reason", reason, MAX_REASON_LENGTH),
        )  # fmt: skip

    def release_legal_hold(
        self, hold: str, *, actor: Actor | None = None, reason: str
    ) -> LegalHold:
        """Lift register hold ``hold``; the erasures it deferred run when due."""
        return self._privacy.release_legal_hold(
            _text("hold", hold, 100), actor=_actor(actor),
            reason=_text("reason", reason, MAX_REASON_LENGTH),
        )  # fmt: skip

    def legal_holds(self) -> list[LegalHold]:
        """The legal-hold register's open holds, in placing order."""
        return self._privacy.legal_holds()

    def _hold(
        self, subject: str, actor: Actor | None, reason: str, hold: str, *, place: bool
    ) -> SubjectStatus:
        return self._privacy.hold(
            _subject(subject), actor=_actor(actor),
            reason=_text("reason", reason, MAX_REASON_LENGTH), hold=_text("hold", hold, 100),
            place=place,
        )  # fmt: skip

    def erasures_due(self, *, now: datetime | None = None) -> list[SubjectStatus]:
        """Deferred erasures that can be carried out now (retention over, no hold)."""
        if now is not None:
            args.check_datetime("now", now)
        return self._privacy.due(now)

    def run_due_erasures(
        self, *, actor: Actor | None = None, now: datetime | None = None
    ) -> list[SubjectStatus]:
        """Carry out every due deferred erasure as ``actor`` (a privacy officer)."""
        if now is not None:
            args.check_datetime("now", now)
        return self._privacy.run_due(actor=_actor(actor), now=now)

    def export_personal_data(
        self,
        out: TextIO,
        *,
        actor: Actor | None = None,
        reason: str,
        instances: Sequence[UUID | str] | None = None,
    ) -> int:
        """Write the personal fields of ``instances`` (default: all) in clear to ``out``, one
        JSON line each (instance, version, path, subject, value, or ``[erased]``); the access
        is first recorded (``disclose`` on ``socieux-disclosures``). Only ``auditor`` and
        ``privacy_officer`` may; restricted subjects read in clear only for an auditor.
        The verifiable export (:meth:`export`) never holds plaintext. Returns the count."""
        who = _actor(actor)
        why = _text("reason", reason, MAX_REASON_LENGTH)
        if instances is not None and (isinstance(instances, str) or not isinstance(
            instances, Sequence)):  # fmt: skip
            raise InvalidArgument("instances must be a list of ids", argument="instances")
        scoped = instances is not None
        ids = [self._reader.id(i) for i in instances] if instances is not None else list(
            self._reader.instance_ids(batch=1000))  # fmt: skip
        lines = self._privacy.disclose(ids, scoped=scoped, actor=who, reason=why)
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
        return len(lines)

    def rotate_kek(self, new_key_file: str | os.PathLike[str]) -> int:
        """Re-wrap every live data key with the KEK in ``new_key_file``; how many keys were
        re-wrapped. Point ``SOCIEUX_KEY_FILE`` at the new file afterwards."""
        args.check_path("new_key_file", new_key_file)
        path = Path(new_key_file)
        return self._privacy.rotate_kek(Kek(read_key_file(path), f"key file {path}"))


def _actor(actor: Actor | None) -> Actor:
    who, _, _ = bound_call(actor, None, None)
    return who


def _list(name: str, value: object) -> list[object]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise InvalidArgument(f"{name} must be a list", argument=name)
    return list(value)


def _subject(subject: object) -> str:
    return _text("subject", subject, _MAX_TEXT)


def _text(name: str, value: object, limit: int) -> str:
    return args.check_str(name, value, max_length=limit)
