"""Reads the engine answers from the event store itself: an instance now, at a version or as
of a time; its history; what an actor may fire; every instance id; short-id resolution.

Lists, filters and figures are projections' work (:mod:`engine.projection`), never a replay
of every instance.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from engine.commands.clock import command_time
from engine.commands.context import bound_call
from engine.commands.service import CommandService
from engine.errors import InstanceNotFound, InvalidArgument
from engine.instance.aggregate import WorkflowInstance
from engine.instance.convert import view_of
from engine.instance.effective import effective_state
from engine.instance.views import Actor, AllowedReport, HistoryEntry, InstanceView
from engine.persistence.store import translate_errors
from engine.queries.ids import instance_ids, resolve_prefix
from engine.queries.introspect import allowed_report, history_entry, link_corrections

__all__ = ["Reader"]


@dataclass(frozen=True)
class Reader:
    """The engine's own queries (one per engine, shared by threads)."""

    commands: CommandService

    @property
    def _label(self) -> str:
        return self.commands.label

    def id(self, instance_id: UUID | str) -> UUID:
        """``instance_id`` as a UUID: a UUID as it is, a string as a (short) id."""
        if isinstance(instance_id, UUID):
            return instance_id
        with translate_errors("resolving an id", self._label):
            return resolve_prefix(self.commands.app.recorder, instance_id)

    def get(
        self, instance_id: UUID | str, *, version: int | None, as_of: datetime | None
    ) -> InstanceView:
        """The instance now, at ``version``, or as recorded up to time ``as_of``."""
        iid = self.id(instance_id)
        if version is not None and as_of is not None:
            raise InvalidArgument("give version or as_of, not both")
        if as_of is not None:
            return view_of(self._as_of(iid, as_of), copy_data=False)
        if version is not None:
            return view_of(self._at_version(iid, version), copy_data=False)
        return view_of(self.commands.load(iid, fresh=False, fastforward=True), copy_data=True)

    def effective(
        self, instance_id: UUID | str, *, as_of: datetime | None, effective: datetime
    ) -> InstanceView:
        """The instance as known at ``as_of`` about effective time ``effective``."""
        iid = self.id(instance_id)
        base = (
            self._as_of(iid, as_of)
            if as_of is not None
            else self.commands.load(iid, fresh=False, fastforward=True)
        )
        folded = effective_state(self.events(iid, lte=base.version), as_of, effective)
        if folded.state is None:
            raise InstanceNotFound(str(iid), f"nothing of it was effective at {effective}")
        view = view_of(base, copy_data=False)
        return view.model_copy(update={
            "state": folded.state, "data": folded.data, "version": folded.version,
            "updated_at": folded.updated_at or view.updated_at,
        })  # fmt: skip

    def history(self, instance_id: UUID | str) -> list[HistoryEntry]:
        """Every recorded step of the instance, oldest first."""
        iid = self.id(instance_id)
        events = self.events(iid)
        if not events:
            raise InstanceNotFound(str(iid))
        return link_corrections([history_entry(e) for e in events])

    def allowed(self, instance_id: UUID | str, actor: Actor | None) -> AllowedReport:
        """What ``actor`` may fire now, and why every other trigger is refused."""
        who, _, _ = bound_call(actor, None, None)
        agg = self.commands.load(self.id(instance_id), fresh=False, fastforward=True)
        compiled = self.commands.registry.by_hash(agg.definition_hash)
        now = command_time(self.commands.clock)
        return allowed_report(compiled, view_of(agg, copy_data=False), who, now)

    def instance_ids(self, *, batch: int = 1000) -> Iterator[UUID]:
        """Every instance id, in creation order (a scan of the log's start events); the
        engine's own workflows' instances (the privacy stream) are left out."""
        skip = frozenset(h.encode() for h in self.commands.registry.internal_hashes())
        with translate_errors("scanning the log", self._label):
            yield from instance_ids(self.commands.app.recorder, batch=batch, skip=skip)

    def events(
        self, iid: UUID, gt: int | None = None, lte: int | None = None
    ) -> list[WorkflowInstance.Event]:
        """The instance's events after version ``gt`` (all by default), decoded."""
        with translate_errors("reading events", self._label):
            return list(self.commands.app.instance_events(iid, gt=gt, lte=lte))

    def _at_version(self, iid: UUID, version: int) -> WorkflowInstance:
        if version < 1:
            raise InvalidArgument("version must be >= 1")
        with translate_errors("reading an instance", self._label):
            agg = self.commands.app.instance(iid, version)
        if agg.version != version:
            raise InstanceNotFound(str(iid), f"it has no version {version}")
        return agg

    def _snapshot_bounds(self, iid: UUID, at: datetime) -> tuple[int | None, int | None]:
        """The highest snapshotted version whose event was recorded by ``at``, and the
        lowest one recorded after it (``None`` where there is none), found by bisection on
        the events' times (they never go backwards in an instance): only the snapshot
        used is decoded, and the replay reads no event past the second bound."""
        snapshots = self.commands.app.snapshots
        if snapshots is None:
            return None, None
        app = self.commands.app
        versions = [int(s.originator_version) for s in snapshots.recorder.select_events(iid)]
        lo, hi = 0, len(versions)
        while lo < hi:
            mid = (lo + hi) // 2
            v = versions[mid]
            event = next(app.instance_events(iid, gt=v - 1, lte=v), None)
            if event is not None and event.timestamp <= at:
                lo = mid + 1
            else:
                hi = mid
        return (versions[lo - 1] if lo else None), (versions[lo] if lo < len(versions) else None)

    def _as_of(self, iid: UUID, at: datetime) -> WorkflowInstance:
        """Replay up to ``at``: from the latest snapshot taken before it, then events."""
        if at.tzinfo is None:
            raise InvalidArgument("as_of must be timezone-aware")
        app = self.commands.app
        with translate_errors("reading events", self._label):
            below, above = self._snapshot_bounds(iid, at)
            agg = None if below is None else app.trusted_snapshot(iid, lte=below, modified_by=at)
            gt = agg.version if agg is not None else None
            lte = None if above is None else above - 1
            for event in app.instance_events(iid, gt=gt, lte=lte):  # decoded lazily
                if event.timestamp > at:
                    break
                agg = event.mutate(agg)
        if agg is None:
            raise InstanceNotFound(str(iid), f"it did not exist at {at.isoformat()}")
        return agg
