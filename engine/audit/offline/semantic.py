"""Replaying histories against their definitions' rules, in a stream (standard library only).

:class:`RuleChecker` is fed the same records as the chain checker, in log order. Each
instance's events normally come in version order, so its :class:`~.rules.Track` moves on
event by event (the tracks of instances not seen lately spilled to disk, :mod:`.spill`,
so memory stays bounded whatever the number of instances). An instance whose
events do not come in order (a gap, a duplicate, an unreadable row), or whose chain is
broken, is left for :meth:`RuleChecker.judge`, which replays all its events sorted by
version. The online ``verify`` and the offline verifier both use this class, so the two
cannot disagree about a history.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from .amendment_rules import AmendTrack, AuditRules, check_amendment, remember_step
from .chain import Problem, Record
from .definition import DefinitionError, Rules
from .effective_rules import DEFAULT_TOLERANCE, check_effective, effective_of
from .migration_rules import check_migration
from .rules import AMENDMENT_TOPICS, MIGRATED_TOPIC, STARTED_TOPIC, Event, Track, check_step
from .spill import MEMORY_INSTANCES, SpillMap

__all__ = ["DefinitionSource", "RuleChecker"]

DefinitionSource = Callable[[str], "Mapping[str, object] | None"]
"""A definition's plain dict by content hash, or ``None`` when it is not known here."""


@dataclass
class RuleChecker:
    """Check workflow rules; ``definitions`` resolves content hashes to definition dicts.

    ``anchored``: the first event present of an instance is taken as given (``--since``
    exports), so what came before it is unknown. ``unknown`` says, in a problem, why a
    definition could not be found (the database's engine has not installed it, or the
    export does not hold it). The tracks of at most about ``capacity`` instances are held
    in memory; older ones are spilled to a temporary file (:class:`~.spill.SpillMap`).
    """

    definitions: DefinitionSource
    anchored: bool = False
    unknown: str = "no definition with this hash is installed"
    _rules: dict[str, Rules | None] = field(default_factory=dict)
    capacity: int = MEMORY_INSTANCES
    _tracks: SpillMap[Track] = field(init=False)
    _found: dict[str, list[Problem]] = field(default_factory=dict)
    _suspects: set[str] = field(default_factory=set)
    _audits: dict[str, AuditRules | None] = field(default_factory=dict)
    _amends: SpillMap[AmendTrack] = field(init=False)

    def __post_init__(self) -> None:
        self._tracks = SpillMap(_pack, self._unpack, capacity=self.capacity)
        self._amends = SpillMap(capacity=self.capacity)

    @property
    def retained(self) -> int:
        """How many instances' tracks (rule and amendment) are held in memory now."""
        return self._tracks.held + self._amends.held

    def _unpack(self, blob: bytes) -> Track:
        version, known, state, definition, *rest = pickle.loads(blob)  # noqa: S301 - our own file
        return Track(version, known, state, definition, self.rules_for(definition), *rest)

    def rules_for(self, digest: str | None) -> Rules | None:
        """The compiled rules of definition ``digest`` (cached; ``None`` when unknown)."""
        if digest is None:
            return None
        if digest not in self._rules:
            found = self.definitions(digest)
            try:
                self._rules[digest] = None if found is None else Rules.from_dict(digest, found)
            except DefinitionError:
                self._rules[digest] = None
        return self._rules[digest]

    def add(self, rec: Record) -> None:
        """Check one record, in log order."""
        iid = rec.instance_id
        if iid in self._suspects:
            return
        track = self._tracks.get(iid)
        expected = track.version + 1 if track else 1
        if rec.fields is None or (
            rec.version != expected and not (track is None and self.anchored)
        ):
            self.suspect(iid)
            return
        if track is None:
            track = self._tracks[iid] = Track(version=rec.version - 1, known=rec.version == 1)
        found = self._step(track, rec)
        if found:
            self._found.setdefault(iid, []).extend(found)

    def suspect(self, iid: str) -> None:
        """Judge ``iid`` later from all its records (its chain broke, or its order did)."""
        self._suspects.add(iid)
        self._tracks.pop(iid)
        self._found.pop(iid, None)
        self._amends.pop(iid)

    def _step(self, track: Track, rec: Record) -> list[Problem]:
        ev = Event.of(rec.fields or {})
        problems: list[Problem] = []
        if track.definition is None:
            track.definition = ev.definition_hash
            track.rules = self.rules_for(ev.definition_hash)
            if track.rules is None:
                detail = f"definition: it pins {str(ev.definition_hash)[:12]}…, but {self.unknown}"
                problems.append(_rule(rec, "definition", detail))
        found = check_step(track, ev, rec.version)
        if ev.topic == MIGRATED_TOPIC:
            found += self._migration(track, ev, rec.version)
        found += self._amendment(rec, track, ev)
        found += self._effective(rec, track, ev)
        problems += [_rule(rec, r, f"{r}: {d}") for r, d in found]
        track.advance(ev, rec.version)
        return problems

    def _migration(self, track: Track, ev: Event, version: int) -> list[tuple[str, str]]:
        """The migration's rules; from here on the instance follows its new definition."""
        target = self.rules_for(ev.definition_hash)
        found = check_migration(track, ev, target, version)
        if target is None:
            found.append(("definition", f"it migrates to {str(ev.definition_hash)[:12]}…, "
                          f"but {self.unknown}"))  # fmt: skip
        track.definition, track.rules = ev.definition_hash, target
        return found

    def audit_for(self, digest: str | None) -> AuditRules | None:
        """The ``audit`` policy of definition ``digest`` (``None``: none declared, or unknown)."""
        if digest is None:
            return None
        if digest not in self._audits:
            found = self.definitions(digest)
            self._audits[digest] = None if found is None else AuditRules.of(found.get("audit"))
        return self._audits[digest]

    def _amendment(self, rec: Record, track: Track, ev: Event) -> list[tuple[str, str]]:
        """An amendment's rules; a workflow step is remembered for later corrections."""
        audit = self.audit_for(track.definition)
        fields = rec.fields or {}
        if ev.topic in AMENDMENT_TOPICS:
            mem = self._amends.get(rec.instance_id)
            return check_amendment(
                mem, track, ev, fields, version=rec.version, rules=track.rules, audit=audit
            )
        if audit is not None:
            mem = self._amends.setdefault(rec.instance_id, AmendTrack())
            remember_step(mem, audit, ev, fields, rec.version)
        return []

    def _effective(self, rec: Record, track: Track, ev: Event) -> list[tuple[str, str]]:
        """The effective-time rules; the instance's effective start is remembered."""
        fields = rec.fields or {}
        audit = self.audit_for(track.definition)
        tolerance = audit.tolerance if audit is not None else DEFAULT_TOLERANCE
        found = check_effective(
            fields, track.began, tolerance, amendment=ev.topic in AMENDMENT_TOPICS
        )
        if track.began is None and ev.topic == STARTED_TOPIC:
            track.began = effective_of(fields)
        return found

    def judge(self, records: Iterable[Record]) -> list[Problem]:
        """Replay every stored event of one instance in version order; each breach."""
        track: Track | None = None
        problems: list[Problem] = []
        ordered = sorted(records, key=lambda r: (r.version, r.position or 0, r.line or 0))
        for rec in ordered:
            if rec.fields is None:
                if track is not None:
                    track.known = False
                continue
            if track is None:
                track = Track(version=rec.version - 1, known=rec.version == 1)
            elif rec.version != track.version + 1:
                track.known, track.version = False, rec.version - 1
            problems += self._step(track, rec)
        return problems

    def finish(self) -> tuple[list[Problem], list[str]]:
        """The breaches found in the stream, and the instances left to :meth:`judge`."""
        problems = [p for found in self._found.values() for p in found]
        return problems, sorted(self._suspects)


def _pack(t: Track) -> bytes:
    """A track without its compiled rules (found again from its definition's hash)."""
    fields = (t.version, t.known, t.state, t.definition, t.fired_by, t.acted_as, t.open,
              t.entered, t.began)  # fmt: skip
    return pickle.dumps(fields, protocol=pickle.HIGHEST_PROTOCOL)


def _rule(rec: Record, rule: str, detail: str) -> Problem:
    return Problem("rule", rec.instance_id, rec.version, detail, rec.position, rec.line, rule)
