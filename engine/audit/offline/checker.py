"""The streaming check of a whole log, and its seals (standard library only).

:class:`ChainChecker` reads events in log order in bounded memory: never in proportion to
the number of events, and only the instances seen most recently are held in memory (the
others are spilled to a temporary file, :mod:`.spill`). Each instance's clean chain is followed on
the fly; an instance that breaks it becomes a *suspect* and is judged afterwards, from
all its events, by :func:`.chain.analyse_instance`.

Seals are closed as the stream passes their position. A seal proves three things:
nothing before its position was changed, added, removed or moved (the running hash);
which version each instance written since the previous seal had reached (its heads,
which catch an event deleted from the end of an instance's history); and that no seal
before it was removed or rewritten (each seal names the hash of the previous one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .canonical import GENESIS_HASH
from .chain import GENESIS_RUNNING, Problem, Record, step_running
from .result import CheckResult, Scope, SignatureCheck
from .seal_record import SEAL_SCHEMA, Head, SealRecord, heads_digest, seal_digest
from .semantic import RuleChecker
from .spill import MEMORY_INSTANCES, SpillMap

__all__ = [
    "SEAL_SCHEMA",
    "ChainChecker",
    "CheckResult",
    "Head",
    "Scope",
    "SealRecord",
    "SignatureCheck",
    "heads_digest",
    "seal_digest",
]


@dataclass
class ChainChecker:
    """Feed records with :meth:`add` in log order and seals with :meth:`close_seal`.

    Per-instance state (chain heads, the instances touched since the last seal) is held in
    :class:`~.spill.SpillMap` objects: at most about ``capacity`` instances in memory, the rest
    spilled to a temporary file. ``seals_ahead`` false (no seal will follow) stops keeping
    the touched instances at all.
    """

    scope: Scope = field(default_factory=Scope)
    signature_check: SignatureCheck | None = None
    rules: RuleChecker | None = None
    running: str | None = None
    require_seal: bool = True
    problems: list[Problem] = field(default_factory=list)
    capacity: int = MEMORY_INSTANCES
    seals_ahead: bool = True
    _heads: SpillMap[tuple[int, str]] = field(init=False)
    _suspects: dict[str, int] = field(default_factory=dict)  # suspect -> top version seen
    _deferred: dict[str, tuple[int, str, int]] = field(default_factory=dict)
    _out_of_order: dict[str, Problem] = field(default_factory=dict)
    _touched: SpillMap[int] = field(init=False)
    _prev_seal: SealRecord | None = None
    _start: int = 0
    _before: int = 0
    _last_position: int = 0
    _events: int = 0
    _instances: int = 0
    _seals: int = 0
    _signatures: int = 0

    def __post_init__(self) -> None:
        self._heads = SpillMap(capacity=self.capacity)
        self._touched = SpillMap(capacity=self.capacity)
        if self.scope.instance is None and not self.scope.anchored and self.running is None:
            self.running = GENESIS_RUNNING

    @property
    def retained(self) -> int:
        """How many per-instance entries (heads, touched instances, rule tracks) are held in
        memory now: bounded by the capacity, whatever the number of instances."""
        held = self._heads.held + self._touched.held
        return held + (self.rules.retained if self.rules is not None else 0)

    def anchor(self, *, position: int, running_hash: str, events: int) -> None:
        """Start the running hash at ``position`` (exports made with ``--since``)."""
        self._start, self.running, self._before = position, running_hash, events
        self._last_position = position

    def _admits(self, rec: Record) -> bool:
        """Whether ``rec`` belongs in this stream (reporting what does not, and bad ids)."""
        if rec.stored_id is not None:
            why = f"stored as {rec.stored_id!r}, not in the store's canonical form: "
            self.problems.append(rec.problem("id_form", why + "reads of it miss this event"))
        if self.scope.instance is not None and rec.instance_id != self.scope.instance:
            why = f"an event of another instance in an export of {self.scope.instance}"
            self.problems.append(rec.problem("inserted", why))
            return False
        if self.scope.anchored and self.running is None:
            self.problems.append(rec.problem("inserted", "an event before the export's anchor"))
            return False
        return True

    def add(self, rec: Record) -> None:
        """Check one event, in log order (and its workflow rules, given ``rules``)."""
        if not self._admits(rec):
            return
        iid = rec.instance_id
        self._events += 1
        if rec.position is not None:
            if rec.position <= self._last_position:
                why = f"log position {rec.position} comes after {self._last_position}"
                self.problems.append(rec.problem("reordered", why))
            self._last_position = max(self._last_position, rec.position)
        if self.running is not None:
            self.running = step_running(self.running, rec.digest)
        if self.seals_ahead:
            self._touched.setdefault(iid, rec.version)
        if self.rules is not None:
            self.rules.add(rec)
        if iid in self._suspects:
            self._note_order(rec)
            return
        head = self._heads.get(iid)
        if head is None:
            self._instances += 1
        if self._follows(rec, head):
            self._heads[iid] = (rec.version, rec.digest)
            return
        self._suspects[iid] = head[0] if head else 0
        self._heads.pop(iid)
        if self.rules is not None:
            self.rules.suspect(iid)
        self._note_order(rec)

    def _note_order(self, rec: Record) -> None:
        """Remember the first event of a suspect seen after a later version of it."""
        top = self._suspects[rec.instance_id]
        if rec.intact and rec.version <= top and rec.instance_id not in self._out_of_order:
            self._out_of_order[rec.instance_id] = rec.problem(
                "reordered", f"comes after version {top} in the log"
            )
        self._suspects[rec.instance_id] = max(top, rec.version)

    def _follows(self, rec: Record, head: tuple[int, str] | None) -> bool:
        if not rec.intact:
            return False
        if head is not None:
            return rec.version == head[0] + 1 and bool(rec.prev_hash == head[1])
        if rec.version == 1:
            return bool(rec.prev_hash == GENESIS_HASH)
        return self.scope.anchored

    def close_seal(self, seal: SealRecord, heads: list[Head]) -> None:
        """Check ``seal`` once every event up to its position has been added."""
        self._seals += 1
        self._check_seal_chain(seal, heads)
        self._check_signature(seal)
        self._check_running(seal)
        self._check_heads(seal, heads)
        self._touched.clear()
        self._prev_seal = seal

    def _seal_problem(self, seal: SealRecord, detail: str) -> None:
        self.problems.append(
            Problem("seal", None, None, f"seal #{seal.seq}: {detail}", seal.position, seal.line)
        )

    def _check_seal_chain(self, seal: SealRecord, heads: list[Head]) -> None:
        prev = self._prev_seal
        expected_seq = prev.seq + 1 if prev else 1
        if seal.seq != expected_seq:
            self._seal_problem(seal, f"expected seal #{expected_seq} here: seals are missing")
        elif seal.previous != (prev.seal_hash if prev else GENESIS_HASH):
            self._seal_problem(seal, "does not name the previous seal's hash")
        if heads_digest(heads) != seal.heads_hash or len(heads) != seal.heads_count:
            self._seal_problem(seal, "its list of instance heads was altered")
        if seal.expected_hash() != seal.seal_hash:
            self._seal_problem(seal, "its fields no longer match its hash")

    def _check_signature(self, seal: SealRecord) -> None:
        if self.signature_check is None:
            return
        if not seal.signature:
            self._seal_problem(seal, "is not signed, but a public key was given")
            return
        self._signatures += 1
        error = self.signature_check(seal)
        if error:
            self._seal_problem(seal, error)

    def _check_running(self, seal: SealRecord) -> None:
        if self.running is None or seal.position < self._start:
            return
        if self.running != seal.running_hash:
            total = self._before + self._events
            counts = (
                f" ({total} events now, {seal.events} when sealed)" if total != seal.events else ""
            )
            self._seal_problem(
                seal,
                f"the log up to notification {seal.position} no longer matches its "
                f"running hash{counts}",
            )

    def _check_heads(self, seal: SealRecord, heads: list[Head]) -> None:
        if self.scope.anchored and (self.running is None or seal.position < self._start):
            return
        interval_start = self._prev_seal.position if self._prev_seal else 0
        complete = not self.scope.anchored or interval_start >= self._start
        for iid, version, digest in heads:
            if self.scope.instance is not None and iid != self.scope.instance:
                continue
            if iid in self._suspects:
                self._deferred[iid] = (version, digest, seal.seq)
                continue
            self._check_head(seal, iid, version, digest, complete=complete)
        covered = {h[0] for h in heads}
        for iid, first in self._touched.items():
            if iid not in covered and iid not in self._suspects:
                self.problems.append(
                    Problem(
                        "inserted",
                        iid,
                        first,
                        f"recorded before seal #{seal.seq}'s position but not covered by it",
                    )
                )

    def _check_head(
        self, seal: SealRecord, iid: str, version: int, digest: str, *, complete: bool
    ) -> None:
        head = self._heads.get(iid)
        sealed = f"seal #{seal.seq} recorded version {version}"
        if head is None:
            if complete:
                first = version if self.scope.anchored else 1
                self.problems.append(
                    Problem(
                        "missing",
                        iid,
                        first,
                        f"every event up to version {version} is gone ({sealed})",
                    )
                )
        elif head[0] < version:
            span = (
                f"version {version}"
                if head[0] + 1 == version
                else f"versions {head[0] + 1}-{version}"
            )
            self.problems.append(
                Problem(
                    "missing",
                    iid,
                    head[0] + 1,
                    f"{span} deleted from the end of its history ({sealed})",
                )
            )
        elif head[0] > version:
            self.problems.append(
                Problem("inserted", iid, version + 1, f"not covered by seal #{seal.seq} ({sealed})")
            )
        elif head[1] != digest:
            self.problems.append(
                Problem(
                    "altered", iid, version, f"differs from the head recorded by seal #{seal.seq}"
                )
            )

    def finish(self) -> CheckResult:
        """The findings so far and the suspects to analyse in full.

        Given a public key, a log without any seal fails: nothing was signed to check
        (unless ``require_seal`` is off: the caller checks signed tree heads instead).
        """
        problems, suspects = list(self.problems), set(self._suspects)
        if self.signature_check is not None and self._seals == 0 and self.require_seal:
            problems.append(
                Problem("seal", None, None, "a public key was given, but there is no seal to check")
            )
        if self.rules is not None:
            found, later = self.rules.finish()
            problems += found
            suspects.update(later)
        return CheckResult(
            problems=problems,
            suspects=sorted(suspects),
            sealed_heads=dict(self._deferred),
            out_of_order=dict(self._out_of_order),
            events=self._events,
            instances=self._instances,
            seals=self._seals,
            signatures=self._signatures,
            rules=self.rules,
        )
