"""Erasure: requests, approvals, deferral by retention, legal holds, and key destruction.

Every step is first recorded on the subject's privacy stream (:mod:`engine.privacy.stream`);
only a recorded ``erase_subject`` destroys the subject's data keys, and a key is destroyed
only after that record is durable (a crash in between leaves an erasure that
:meth:`PrivacyService.run_due` finishes). A refused step writes nothing.
"""

# long module: every erasure step (request, approval, deferral, holds, due runs, the
# decrypted export, rotation) shares the stream and key-table helpers at its end.

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel

from engine.commands.clock import command_time
from engine.commands.compiled import Decision
from engine.commands.context import valid_actor
from engine.commands.service import CommandService
from engine.definition.model import WorkflowDefinition
from engine.errors import (
    ErasureConflict,
    InstanceNotFound,
    InvalidArgument,
    PermissionDenied,
    SubjectNotFound,
)
from engine.instance.identity import actor_key
from engine.instance.views import Actor, HistoryEntry, InstanceView
from engine.logs import get_logger
from engine.persistence.sql import SqlStore
from engine.persistence.store import translate_errors
from engine.privacy.compact import compact
from engine.privacy.disclosure import personal_lines
from engine.privacy.holds import LegalHold, legal_holds_definition
from engine.privacy.index import catch_up
from engine.privacy.kek import Kek
from engine.privacy.keystore import LIVE, RESTRICTED, KeyRow
from engine.privacy.readside import ReadSide
from engine.privacy.register import HoldRegister, covers
from engine.privacy.retention import retention_facts
from engine.privacy.reveal import Revealer
from engine.privacy.status import SubjectStatus
from engine.privacy.stream import (
    APPROVE,
    DEFER,
    DISCLOSE,
    DISCLOSER_ROLES,
    DISCLOSURES,
    ERASE,
    HOLD,
    OFFICER_ROLES,
    PRIVACY_WORKFLOW,
    RELEASE,
    REQUEST,
    REQUESTER_ROLES,
    disclosures_definition,
    open_holds,
    privacy_definition,
    stream_id,
)
from engine.privacy.subjects import personal_fields
from engine.privacy.vault import Vault

__all__ = ["PrivacyService"]

_log = get_logger("socieux.privacy")
E = TypeVar("E", bound=HistoryEntry)
_MAX_SUBJECT = 200


class PrivacyService(ReadSide):
    """The privacy part of an engine (one per engine); the read side is :class:`ReadSide`."""

    def __init__(
        self, vault: Vault, commands: CommandService, sql: SqlStore, *, kind: str,
        read_only: bool,
    ) -> None:  # fmt: skip
        self.vault = vault
        self.commands = commands
        self._sql = sql
        self._kind = kind
        self._read_only = read_only
        self.register_of_holds = HoldRegister(commands, lambda: self.register(record=True))

    # ------------------------------------------------------------------ write path
    def protect(self, iid: UUID, version: int, decision: Decision) -> dict[str, Any]:
        """The decided payload with its personal fields sealed (the command path's hook)."""
        model = decision.transition.payload
        if not personal_fields(model):  # most steps: nothing to seal, nothing to enter
            return decision.payload
        with translate_errors("storing a data key", self.commands.label):
            return self.vault.seal_payload(
                model, decision.payload, instance_id=str(iid), version=version
            )

    def seal_values(
        self, iid: UUID, version: int, model: type[BaseModel], values: dict[str, Any]
    ) -> dict[str, Any]:
        """Some of ``model``'s payload fields, sealed as an event recorded at ``version``
        stores them (a correction's new values: the command service's ``seal`` hook)."""
        with translate_errors("storing a data key", self.commands.label):
            return self.vault.seal_payload(model, values, instance_id=str(iid), version=version)

    @staticmethod
    def hidden_hashes() -> frozenset[str]:
        """The content hashes of the engine's own workflows (projections skip their events:
        the requests list, statistics and the console show requests, not erasures)."""
        from engine.definition.content import content_hash

        return frozenset(content_hash(d) for d in _definitions())

    def in_use(self) -> bool:
        """Whether this store already recorded the privacy workflows (an erasure or a
        disclosure was recorded here): they are then installed at open."""
        from engine.definition.content import content_hash
        from engine.persistence.definitions import DefinitionStore

        store = DefinitionStore(self._sql)
        return any(store.body(content_hash(d)) is not None for d in _definitions())

    def register(self, record: bool) -> None:
        """Install the privacy workflows: erasures, disclosures and the legal-hold register
        (and, with ``record``, keep their definitions)."""
        registry = self.commands.registry
        missing = [d for d in _definitions() if not registry.has(d.name)]
        if not missing:
            return
        compiled = [registry.register(d, internal=True) for d in missing]
        if record:
            from engine.definition.content import to_dict
            from engine.instance.hashing import canonical_json
            from engine.persistence.definitions import DefinitionStore

            DefinitionStore(self._sql).record(
                (c.hash, c.name, 1, canonical_json(to_dict(c.definition))) for c in compiled
            )

    def status(self, subject: str) -> SubjectStatus:
        """Where the subject's erasure stands (``SubjectNotFound`` if no data of theirs)."""
        rows = self._rows(subject)
        live = [r for r in rows if r.wrapped is not None]
        first = min(r.version for r in live) if live else max(r.version for r in rows)
        sid = stream_id(subject, first) if live else _erasure_of(rows)
        view = self._stream(sid) if sid is not None else None
        instances = self._instances(subject)
        facts = retention_facts(self.commands, instances)
        return SubjectStatus(
            subject=subject,
            status="erased" if not live else (RESTRICTED if _restricted(live) else LIVE),
            erasure=str(sid) if view is not None else None,
            state=view.state if view is not None else None,
            requests=len(instances),
            open_requests=facts.open_requests,
            due_at=facts.due_at,
            holds=(open_holds(dict(view.data)) if view is not None else [])
            + self.register_of_holds.covering(subject, instances),
        )

    def request_erasure(
        self, subject: str, *, actor: Actor, reason: str, legal_basis: str
    ) -> SubjectStatus:
        """Record a request to erase ``subject`` (a pseudonym), with its legal basis."""
        live = self._live(subject)
        sid = stream_id(subject, min(r.version for r in live))
        if self._stream(sid) is not None:
            raise ErasureConflict(f"an erasure of {subject} is already recorded", subject=subject)
        self.register(record=True)
        self.commands.start(
            PRIVACY_WORKFLOW, {"subject": subject, "legal_basis": legal_basis}, actor=actor,
            reason=reason, trigger=REQUEST, version=None, correlation_id=None,
            causation_id=None, instance_id=sid,
        )  # fmt: skip
        self.vault.store.set_status(subject, LIVE, erasure=str(sid))  # after: refused writes none
        self.vault.forget_cached(subject)
        _log.info("erasure_requested", erasure=str(sid), role=actor.role)
        return self.status(subject)

    def approve_erasure(self, subject: str, *, actor: Actor, reason: str) -> SubjectStatus:
        """Approve the subject's requested erasure (not by its requester): carried out now
        if retention is over and no hold is open, else deferred and the data restricted."""
        sid = self._pending(subject, "requested")
        self._fire(sid, APPROVE, {}, actor, reason)
        return self._carry_out(subject, sid, actor, None)

    def forget(
        self, subject: str, *, actor: Actor, approver: Actor, reason: str, legal_basis: str
    ) -> SubjectStatus:
        """Request (as ``actor``) and approve (as ``approver``) the erasure in one call;
        refused before anything is written if the two are one person or lack the roles."""
        a, b = valid_actor(actor), valid_actor(approver)
        if actor_key(a.id) == actor_key(b.id):
            raise PermissionDenied(
                APPROVE,
                b.role,
                b.id,
                "separation",
                "separation of duties: the requester of an erasure may not approve it",
            )
        if a.role not in REQUESTER_ROLES or b.role not in OFFICER_ROLES:
            raise PermissionDenied(
                REQUEST,
                a.role,
                a.id,
                "role",
                f"an erasure is requested by {' or '.join(REQUESTER_ROLES)} and approved by "
                f"{' or '.join(OFFICER_ROLES)}",
            )
        self._live(subject)
        self.request_erasure(subject, actor=a, reason=reason, legal_basis=legal_basis)
        return self.approve_erasure(subject, actor=b, reason=reason)

    def hold(
        self, subject: str, *, actor: Actor, reason: str, hold: str, place: bool
    ) -> SubjectStatus:
        """Place (or, with ``place=False``, release) a legal hold on the subject: on their
        pending erasure if one is requested, else in the legal-hold register (a hold before
        any request); a release finds the hold where it was placed."""
        st = self.status(subject)
        pending = st.erasure is not None and st.state not in (None, "erased")
        if place and pending:
            self._fire(UUID(str(st.erasure)), HOLD, {"hold": hold}, actor, reason)
        elif place:
            self.place_legal_hold(hold, subjects=[subject], requests=[], actor=actor,
                                  reason=reason)  # fmt: skip
        else:
            found = self.register_of_holds.open().get(hold)  # one read of the register
            if found is None or not covers(found, subject, set(self._instances(subject))):
                if not pending:
                    raise ErasureConflict(f"{subject}: no legal hold {hold} is open on them",
                                          subject=subject, state=st.state)  # fmt: skip
                self._fire(UUID(str(st.erasure)), RELEASE, {"hold": hold}, actor, reason)
                return self.status(subject)
            if found.subjects != (subject,) or found.requests:
                raise ErasureConflict(
                    f"legal hold {hold} covers more than {subject}: lift it with "
                    "release_legal_hold", subject=subject, state=st.state,
                )  # fmt: skip
            self.register_of_holds.release(hold, actor=actor, reason=reason)
        return self.status(subject)

    def place_legal_hold(
        self, hold: str, *, subjects: list[str], requests: list[str], actor: Actor,
        reason: str,
    ) -> LegalHold:  # fmt: skip
        """Place legal hold ``hold`` on data subjects and/or requests, before or without
        any erasure request: while it is open, their erasures are deferred."""
        placed = self.register_of_holds.place(
            hold, subjects=subjects, requests=requests, actor=actor, reason=reason,
            known=self._live,
        )  # fmt: skip
        _log.info("legal_hold_placed", subjects=len(placed.subjects),
                  requests=len(placed.requests), role=actor.role)  # fmt: skip
        return placed

    def release_legal_hold(self, hold: str, *, actor: Actor, reason: str) -> LegalHold:
        """Lift legal hold ``hold`` from the register (the erasures it deferred then run
        when due)."""
        released = self.register_of_holds.release(hold, actor=actor, reason=reason)
        _log.info("legal_hold_released", role=actor.role)
        return released

    def legal_holds(self) -> list[LegalHold]:
        """The register's open legal holds, in placing order."""
        return list(self.register_of_holds.open().values())

    def due(self, now: datetime | None = None) -> list[SubjectStatus]:
        """Deferred erasures that can be carried out now (retention over, no hold)."""
        at = now or command_time(self.commands.clock)
        found = []
        for subject in self._restricted_subjects():
            st = self.status(subject)
            if st.state == "deferred" and not st.holds and st.open_requests == 0 and (
                st.due_at is not None and st.due_at <= at
            ):  # fmt: skip
                found.append(st)
        return found

    def run_due(self, *, actor: Actor, now: datetime | None = None) -> list[SubjectStatus]:
        """Carry out every due deferred erasure as ``actor``; the erased subjects."""
        done = []
        for st in self.due(now):
            assert st.erasure is not None
            done.append(self._carry_out(st.subject, UUID(st.erasure), actor, now))
        return done

    def disclose(
        self, ids: list[UUID], *, scoped: bool, actor: Actor, reason: str
    ) -> list[dict[str, Any]]:
        """The personal fields of ``ids`` in clear (``scoped``: the caller named them),
        after recording the access on the privacy stream."""
        if actor.role not in DISCLOSER_ROLES:
            raise PermissionDenied(
                DISCLOSE, actor.role, actor.id, "role",
                f"only {' or '.join(DISCLOSER_ROLES)} may export personal data in clear",
            )  # fmt: skip
        with translate_errors("reading data keys", self.commands.label):
            lines = personal_lines(self.commands.app, Revealer(self.vault, role=actor.role), ids)
        self.register(record=True)
        scope = [str(i) for i in ids] if scoped else None
        self.commands.start(
            DISCLOSURES, {"instances": scope, "fields": len(lines)}, actor=actor, reason=reason,
            trigger=DISCLOSE, version=None, correlation_id=None, causation_id=None,
            instance_id=None,
        )  # fmt: skip
        _log.info("personal_data_disclosed", fields=len(lines), role=actor.role)
        return lines

    def rotate_kek(self, new: Kek) -> int:
        """Re-wrap every live data key with ``new``; how many keys were re-wrapped."""
        count = self.vault.rotate(new)
        _log.info("kek_rotated", keys=count)
        return count

    # ------------------------------------------------------------------ helpers
    def _carry_out(
        self, subject: str, sid: UUID, actor: Actor, now: datetime | None
    ) -> SubjectStatus:
        instances = self._instances(subject)  # one catch-up for the facts and the holds
        facts = retention_facts(self.commands, instances)
        view = self._stream(sid)
        assert view is not None
        at = now or command_time(self.commands.clock)
        over = facts.open_requests == 0 and (facts.due_at is None or facts.due_at <= at)
        held = self.register_of_holds.covering(subject, instances)
        if over and not open_holds(dict(view.data)) and not held:
            payload = facts.model_dump(mode="json")
            self._fire(sid, ERASE, payload, actor, "retention over; erasure carried out")
            destroyed = self.vault.store.destroy(subject, erasure=str(sid), at=at.isoformat())
            self.vault.forget_cached(subject)
            compact(self._sql, self._kind)
            _log.info("subject_erased", erasure=str(sid), keys=destroyed)
        elif view.state != "deferred":
            why = f"legal hold {', '.join(held)} open" if held else "retention not over"
            self._fire(sid, DEFER, facts.model_dump(mode="json"), actor,
                       f"{why}: erasure deferred, data restricted")  # fmt: skip
            self.vault.store.set_status(subject, RESTRICTED, erasure=str(sid))
            self.vault.forget_cached(subject)
            _log.info("erasure_deferred", erasure=str(sid))
        return self.status(subject)

    def _fire(
        self, sid: UUID, trigger: str, data: dict[str, object], actor: Actor, reason: str
    ) -> None:
        self.commands.fire(
            sid, trigger, data, actor=actor, reason=reason, expected_version=None,
            correlation_id=None, causation_id=None,
        )  # fmt: skip

    def _instances(self, subject: str) -> list[str]:
        with translate_errors("indexing subjects", self.commands.label):
            extra = catch_up(self.commands.app, self.vault.store, persist=not self._read_only)
            stored = self.vault.store.instances(subject)
        return sorted(set(stored) | {iid for s, iid in extra if s == subject})

    def _rows(self, subject: str) -> list[KeyRow]:
        if not isinstance(subject, str) or not subject or len(subject) > _MAX_SUBJECT:
            raise InvalidArgument("subject must be a non-empty string", argument="subject")
        rows = list(self.vault.store.rows([subject]).values())
        if not rows:
            raise SubjectNotFound(f"no personal data of {subject} is stored", subject=subject)
        return rows

    def _live(self, subject: str) -> list[KeyRow]:
        live = [r for r in self._rows(subject) if r.wrapped is not None]
        if not live:
            raise ErasureConflict(f"{subject} is already erased", subject=subject)
        return live

    def _pending(self, subject: str, state: str | None) -> UUID:
        st = self.status(subject)
        if st.erasure is None or st.state == "erased":
            why = "already erased" if st.status == "erased" else "no erasure is requested"
            raise ErasureConflict(f"{subject}: {why}", subject=subject, state=st.state)
        if state is not None and st.state != state:
            raise ErasureConflict(
                f"{subject}: the erasure is {st.state}, not {state}", subject=subject,
                state=st.state,
            )  # fmt: skip
        return UUID(st.erasure)

    def _stream(self, sid: UUID) -> InstanceView | None:
        if not self.commands.registry.has(PRIVACY_WORKFLOW):
            return None
        try:
            from engine.instance.convert import view_of

            return view_of(self.commands.load(sid, fresh=True), copy_data=True)
        except InstanceNotFound:
            return None

    def _restricted_subjects(self) -> list[str]:
        return sorted({r.subject for r in self.vault.store.live() if r.status == RESTRICTED})


def _definitions() -> tuple[WorkflowDefinition, ...]:
    return (privacy_definition(), disclosures_definition(), legal_holds_definition())


def _restricted(rows: list[KeyRow]) -> bool:
    return any(r.status == RESTRICTED for r in rows)


def _erasure_of(rows: list[KeyRow]) -> UUID | None:
    refs = [r.erasure for r in rows if r.erasure]
    return UUID(refs[-1]) if refs else None
