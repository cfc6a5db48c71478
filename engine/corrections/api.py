"""The engine's amendment methods (correct, approve, evidence, notes), as a mixin of
:class:`engine.Engine`: each body checks its arguments and delegates to
:class:`~engine.corrections.service.AmendmentService`. See ``docs/audit.md``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from engine.commands import arguments as args
from engine.commands.compiled import MAX_REASON_LENGTH
from engine.errors import InvalidArgument
from engine.instance import amendments as am

if TYPE_CHECKING:
    from engine.commands.service import CommandService
    from engine.corrections.evidence import EvidenceMatch
    from engine.corrections.reports import AuditorReport
    from engine.definition.audit_policy import AuditPolicy
    from engine.instance.views import Actor, InstanceView
    from engine.queries.reads import Reader

__all__ = ["AmendmentMethods"]


def _reason(reason: object, *, required: bool) -> str | None:
    if reason is None and not required:
        return None
    if not isinstance(reason, str) or (required and not reason.strip()):
        raise InvalidArgument("a correction needs a reason", argument="reason")
    return args.check_str("reason", reason, max_length=MAX_REASON_LENGTH, empty=not required)


class AmendmentMethods:
    """Corrections with four eyes, evidence by fingerprint and notes (``docs/audit.md``)."""

    _commands: CommandService
    _reader: Reader

    def correct(
        self,
        instance_id: UUID | str,
        version: int,
        changes: Mapping[str, Any],
        *,
        reason: str,
        actor: Actor | None = None,
    ) -> InstanceView:
        """Amend payload fields of the event at ``version`` (``changes``: field -> new value).

        Only fields the definition's ``audit.correctable`` names for that event's trigger,
        by a role of ``audit.correct_roles``, with a reason. The guards of the corrected
        step are re-run on the corrected payload, on what was known when it was recorded:
        ``GuardRejected`` if one now fails. With ``audit.four_eyes`` the correction takes
        effect only once :meth:`approve_correction` is called by someone else. An unknown
        version or field raises ``InvalidCorrection``. A refusal writes nothing.
        """
        from engine.corrections.service import AmendmentService

        iid = self._reader.id(args.check_id("instance_id", instance_id))
        args.check_int("version", version, minimum=1)
        fields = args.check_mapping("changes", changes) or {}
        args.check_strings("changes", list(fields))
        text = _reason(reason, required=True)
        svc = AmendmentService(self._commands)
        return svc.record(
            iid, am.CORRECT_TRIGGER, svc.correction(version, fields), actor=actor, reason=text
        )

    def approve_correction(
        self,
        instance_id: UUID | str,
        correction: int,
        *,
        actor: Actor | None = None,
        reason: str | None = None,
    ) -> InstanceView:
        """Approve the pending correction recorded at version ``correction``: it takes
        effect. Its requester may not approve it (``PermissionDenied``, separation)."""
        from engine.corrections.service import AmendmentService

        iid = self._reader.id(args.check_id("instance_id", instance_id))
        args.check_int("correction", correction, minimum=1)
        text = _reason(reason, required=False)
        svc = AmendmentService(self._commands)
        return svc.record(
            iid, am.APPROVE_TRIGGER, svc.approval(correction), actor=actor, reason=text
        )

    def attach_evidence(
        self,
        instance_id: UUID | str,
        *,
        type: str,  # noqa: A002 - the evidence's type, as auditors name it
        title: str,
        sha256: str,
        size: int,
        media_type: str,
        effective_date: date,
        reference: str = "",
        validated: bool = False,
        actor: Actor | None = None,
        reason: str | None = None,
    ) -> InstanceView:
        """Record a supporting document by fingerprint (the document stays outside): its
        ``type`` (agenda, attendance_list, mission_report, activity_report, invoice,
        boarding_pass, knowledge_product), title, sha256, size, media type, effective
        date, an optional ``reference`` and whether it is ``validated`` (only by a role of
        ``audit.validate_roles``). Returns the view; the evidence's id is its version."""
        from engine.corrections.evidence import Evidence, evidence_decision, parsed
        from engine.corrections.service import AmendmentService

        iid = self._reader.id(args.check_id("instance_id", instance_id))
        values = {"type": type, "title": title, "sha256": sha256, "size": size,
                  "media_type": media_type, "effective_date": effective_date,
                  "reference": reference, "validated": validated}  # fmt: skip
        if not isinstance(effective_date, date):
            raise InvalidArgument("effective_date must be a date", argument="effective_date")
        entry = parsed(Evidence, values, "evidence")
        text = _reason(reason, required=False)
        decide = evidence_decision(entry)
        return AmendmentService(self._commands).record(
            iid, am.EVIDENCE_TRIGGER, decide, actor=actor, reason=text
        )

    def note(
        self,
        instance_id: UUID | str,
        text: str,
        *,
        visibility: str = "internal",
        actor: Actor | None = None,
    ) -> InstanceView:
        """Add a note (``visibility`` ``internal`` or ``public``) to the instance's history,
        in a role of ``audit.annotate_roles``."""
        from engine.corrections.evidence import Note, note_decision, parsed
        from engine.corrections.service import AmendmentService

        iid = self._reader.id(args.check_id("instance_id", instance_id))
        note = parsed(Note, {"text": text, "visibility": visibility}, "note")
        return AmendmentService(self._commands).record(
            iid,
            am.NOTE_TRIGGER,
            note_decision(note),
            actor=actor,
            reason=None,
        )

    def check_evidence(
        self, instance_id: UUID | str, files: Iterable[str | os.PathLike[str]]
    ) -> list[EvidenceMatch]:
        """Which recorded evidence of the instance each file matches (sha256 and size), or
        that it matches none. Reads the files; writes nothing."""
        from engine.corrections.evidence import match_files

        iid = self._reader.id(args.check_id("instance_id", instance_id))
        if isinstance(files, str | bytes | os.PathLike) or not isinstance(files, Iterable):
            raise InvalidArgument("files must be a list of paths", argument="files")
        paths = [args.check_path("files", f) for f in files]
        view = self._reader.get(iid, version=None, as_of=None)
        return match_files(view.evidence, paths)  # type: ignore[arg-type]

    def audit_report(
        self,
        kind: str,
        *,
        instance: UUID | str | None = None,
        late_after_days: float | None = None,
    ) -> AuditorReport:
        """An auditor report over every instance (or one): ``late`` (effective vs recorded
        time beyond ``late_after_days``, default the policy's), ``window`` (delivered
        activities outside their approved window), ``corrections`` (and who approved them),
        ``evidence`` (delivered activities without a validated report on file) or ``days``
        (expert-days planned vs worked per action, with totals). Writes nothing."""
        from engine.corrections.reports import KINDS, report

        if kind not in KINDS:
            raise InvalidArgument(f"kind must be one of {', '.join(KINDS)}", argument="kind")
        if late_after_days is not None:
            args.check_number("late_after_days", late_after_days, maximum=36_500)
        if instance is None:
            ids: Iterable[UUID] = self._reader.instance_ids()
        else:
            ids = [self._reader.id(args.check_id("instance", instance))]
        return report(self._reader, kind, ids, late_after_days=late_after_days,
                      policy_of=self._policy_of)  # fmt: skip

    def _policy_of(self, digest: str) -> AuditPolicy | None:
        from engine.errors import EngineError

        try:
            return self._commands.registry.by_hash(digest).definition.audit
        except EngineError:
            return None
