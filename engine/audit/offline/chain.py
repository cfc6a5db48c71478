"""The hash chain, judged one instance at a time (standard library only).

Every event names the hash of the event before it (``prev_hash``), and its own hash
covers its version. So an event can say where it belongs: the version at which its
recomputed hash matches its stored one is its *claimed* version. Comparing the stored
versions with the claimed ones and the links tells the kinds of damage apart:

* **altered**: the stored row cannot be read, or no version makes its hash match;
* **reordered**: the hash matches only at another version (the event was moved);
* **missing**: no event claims a version below the instance's last (or its sealed) one;
* **inserted**: an intact event that does not link to its predecessor, or a second
  event for a version that the rest of the chain does not use.
"""

# long module: one algorithm (classify altered, reordered, missing and inserted events);
# an auditor reads it whole, so it stays in one file of this stdlib-only folder.

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .canonical import GENESIS_HASH, event_digest

__all__ = [
    "GENESIS_RUNNING",
    "SEARCH_WINDOW",
    "Problem",
    "Record",
    "analyse_instance",
    "raw_digest",
    "step_running",
]

GENESIS_RUNNING = GENESIS_HASH
"""The running hash of an empty log."""
SEARCH_WINDOW = 1000
"""How far (in versions) a moved event is looked for before it is called altered."""


def step_running(running: str, event_digest: str) -> str:
    """``sha256(running || event_hash)`` over the raw 32-byte digests, as hex."""
    return hashlib.sha256(bytes.fromhex(running) + bytes.fromhex(event_digest)).hexdigest()


def raw_digest(*parts: str | bytes) -> str:
    """A stand-in event hash for a row that cannot be read (still order-sensitive)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8") if isinstance(part, str) else part)
        h.update(b"\x00")
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: its kind, where (instance, version, log position, export line), and
    for kind ``rule`` which rule."""

    kind: str
    instance_id: str | None
    version: int | None
    detail: str
    position: int | None = None
    line: int | None = None
    rule: str | None = None


@dataclass(slots=True)
class Record:
    """One stored event as the checks see it.

    ``fields`` is the hashed object without ``originator_version`` (``None`` when the
    row could not be read, with ``error`` saying why, and ``raw`` a digest of the row
    as found); :attr:`digest` feeds the running hash. ``stored_id``: the id as the row
    spells it, when that is not the store's canonical form (reads miss the row).
    """

    instance_id: str
    version: int
    fields: dict[str, Any] | None
    stored_hash: str | None
    position: int | None = None
    line: int | None = None
    error: str = ""
    raw: str | None = None
    stored_id: str | None = None
    recomputed: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.fields is not None:
            try:
                self.recomputed = self.hash_at(self.version)
            except ValueError as exc:  # format 2 text with no canonical form
                self.error = f"its fields have no canonical form: {exc}"

    def hash_at(self, version: int) -> str:
        """The hash this event would have at ``version``."""
        if self.fields is None:  # pragma: no cover - callers check first
            msg = "an unreadable record has no hash"
            raise ValueError(msg)
        return event_digest({**self.fields, "originator_version": version})

    @property
    def intact(self) -> bool:
        """Readable, and its hash matches at its stored version."""
        return self.recomputed is not None and self.recomputed == self.stored_hash

    @property
    def prev_hash(self) -> Any:
        """The predecessor it names (``None`` when unreadable)."""
        return None if self.fields is None else self.fields.get("prev_hash")

    @property
    def digest(self) -> str:
        """The event's hash for the running hash: recomputed, or a digest of the row."""
        if self.recomputed is not None:
            return self.recomputed
        return self.raw or raw_digest(self.instance_id, str(self.version), self.error)

    def problem(self, kind: str, detail: str) -> Problem:
        """A problem located at this record."""
        return Problem(kind, self.instance_id, self.version, detail, self.position, self.line)


@dataclass(slots=True)
class _Entry:
    record: Record
    claimed: int | None  # None: altered (it occupies its stored version, untrusted)

    @property
    def hash(self) -> str | None:
        return self.record.stored_hash

    @property
    def prev(self) -> Any:
        return self.record.prev_hash


def _claimed_version(rec: Record, top: int) -> int | None:
    if rec.intact:
        return rec.version
    if rec.recomputed is None or not isinstance(rec.stored_hash, str):
        return None
    low = max(1, rec.version - SEARCH_WINDOW)
    high = min(top + 1, rec.version + SEARCH_WINDOW)
    for w in sorted(range(low, high + 1), key=lambda w: abs(w - rec.version)):
        if w != rec.version and rec.hash_at(w) == rec.stored_hash:
            return w
    return None


def _entries(records: list[Record], problems: list[Problem]) -> list[_Entry]:
    top = max((r.version for r in records), default=0)
    entries = []
    for rec in sorted(records, key=lambda r: r.version):
        claimed = None if rec.fields is None else _claimed_version(rec, top)
        if rec.fields is None:
            problems.append(rec.problem("altered", f"the stored event cannot be read: {rec.error}"))
        elif claimed is None:
            why = rec.error or "its content no longer matches its hash"
            problems.append(rec.problem("altered", why))
        elif claimed != rec.version:
            problems.append(
                rec.problem(
                    "reordered", f"stored as version {rec.version}, but its hash says {claimed}"
                )
            )
        entries.append(_Entry(rec, claimed))
    return entries


def _pick(cands: list[_Entry], nxt: list[_Entry], prev: _Entry | None) -> _Entry:
    """Of several events for one version, the one the chain uses."""
    for c in cands:
        if c.claimed is not None and any(n.prev == c.hash for n in nxt):
            return c
    for c in cands:
        if c.claimed is not None and prev is not None and c.prev == prev.hash:
            return c
    return next((c for c in cands if c.claimed == c.record.version), cands[0])


def _choose(
    occupants: dict[int, list[_Entry]], lowest: int, top: int, problems: list[Problem]
) -> tuple[dict[int, _Entry], list[int]]:
    chosen: dict[int, _Entry] = {}
    missing: list[int] = []
    for w in range(lowest, top + 1):
        cands = occupants.get(w, [])
        if not cands:
            missing.append(w)
            continue
        keep = (
            cands[0]
            if len(cands) == 1
            else _pick(cands, occupants.get(w + 1, []), chosen.get(w - 1))
        )
        chosen[w] = keep
        for other in cands:
            if other is not keep:
                problems.append(
                    other.record.problem(
                        "inserted", f"a second event for version {w}, outside the chain"
                    )
                )
    return chosen, missing


def _missing_ranges(
    iid: str, missing: list[int], last_stored: int, sealed: tuple[int, str, int] | None
) -> list[Problem]:
    problems: list[Problem] = []
    runs: list[list[int]] = []
    for v in missing:
        if runs and runs[-1][-1] == v - 1:
            runs[-1].append(v)
        else:
            runs.append([v])
    for run in runs:
        span = f"version {run[0]}" if len(run) == 1 else f"versions {run[0]}-{run[-1]}"
        if sealed is not None and run[0] > last_stored:
            why = (
                f"{span} deleted from the end of its history (seal #{sealed[2]} "
                f"recorded version {sealed[0]})"
            )
        else:
            why = f"{span} missing from the chain (deleted)"
        problems.append(Problem("missing", iid, run[0], why))
    return problems


def _links(chosen: dict[int, _Entry], lowest: int, anchored: bool) -> list[Problem]:
    problems: list[Problem] = []
    for w, e in sorted(chosen.items()):
        if e.claimed is None or (anchored and w == lowest):
            continue
        pred = chosen.get(w - 1)
        if w > 1 and (pred is None or pred.claimed is None):
            continue  # a gap or an altered predecessor: reported already, nothing to trust
        expected = GENESIS_HASH if w == 1 else pred.hash if pred else None
        if e.prev == expected:
            continue
        succ = chosen.get(w + 1)
        if (
            pred is not None
            and pred.claimed is not None
            and succ is not None
            and succ.prev == e.hash
        ):
            problems.append(
                pred.record.problem(
                    "altered",
                    f"rewritten with a recomputed hash: version {w} names another version {w - 1}",
                )
            )
        else:
            problems.append(
                e.record.problem(
                    "inserted",
                    f"does not follow version {w - 1}: its prev_hash names another "
                    "event (forged, or its predecessor was rewritten)",
                )
            )
    return problems


def analyse_instance(
    instance_id: str,
    records: list[Record],
    *,
    anchored: bool = False,
    sealed: tuple[int, str, int] | None = None,
) -> list[Problem]:
    """Every problem in the stored events (any order) of instance ``instance_id``.

    ``anchored``: the first event present is taken as given (partial exports).
    ``sealed``: ``(version, hash, seal_seq)`` of the instance's head in the latest seal.
    """
    if not records and sealed is None:
        return []
    problems: list[Problem] = []
    entries = _entries(records, problems)
    occupants: dict[int, list[_Entry]] = defaultdict(list)
    for e in entries:
        occupants[e.claimed if e.claimed is not None else e.record.version].append(e)
    lowest = min(occupants, default=1) if anchored else 1
    problems += [
        e.record.problem("inserted", "versions start at 1")
        for w, es in occupants.items()
        if w < lowest
        for e in es
    ]
    top = max([*occupants, sealed[0] if sealed else 0])
    chosen, missing = _choose(occupants, lowest, top, problems)
    last_stored = max(occupants, default=0)
    problems += _missing_ranges(instance_id, missing, last_stored, sealed)
    problems += _links(chosen, lowest, anchored)
    if sealed is not None and sealed[0] in chosen:
        head = chosen[sealed[0]]
        flagged = {p.version for p in problems}
        if head.hash != sealed[1] and head.record.version not in flagged:
            problems.append(
                head.record.problem(
                    "altered", f"differs from the head recorded by seal #{sealed[2]}"
                )
            )
    return problems
