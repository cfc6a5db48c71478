"""Tree heads judged against the log itself, as ``verify`` streams it.

The Merkle tree is recomputed from the events in log order (a :class:`Frontier`, memory in
``log n``); at each head's size its root must be the head's. That catches any event
altered, removed, inserted or moved before a head, whatever the stored tree says. Each
pair of consecutive recorded heads must also be linked by a consistency proof from the
stored tree, and with a public key every head must carry a valid signature. Heads kept
outside the store (a witness file, ``--against``) are judged the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from engine.audit.offline.chain import Problem, Record
from engine.audit.offline.merkle import Frontier, leaf_hash, verify_consistency
from engine.audit.offline.tree_head import TreeHeadRecord
from engine.audit.tree import MerkleTree, leaf_of
from engine.persistence.sql import SqlStore

__all__ = ["HeadChecker", "MessageCheck"]

MessageCheck = Callable[[bytes, str | None, str | None], "str | None"]
"""``check(message, signature, signer)``: why a signature fails, or ``None``."""


@dataclass
class HeadChecker:
    """Feed every record in log order with :meth:`add`, then :meth:`finish`."""

    recorded: list[TreeHeadRecord]
    witnessed: list[TreeHeadRecord] = field(default_factory=list)
    signature: MessageCheck | None = None
    problems: list[Problem] = field(default_factory=list)
    _frontier: Frontier = field(default_factory=Frontier)
    _pending: list[TreeHeadRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._pending = sorted([*self.recorded, *self.witnessed], key=lambda h: -h.size)
        self._close()

    @property
    def count(self) -> int:
        """How many heads are checked."""
        return len(self.recorded) + len(self.witnessed)

    def _problem(self, head: TreeHeadRecord, detail: str) -> None:
        self.problems.append(Problem("head", None, None, f"{head.label}: {detail}", line=head.line))

    def _close(self) -> None:
        while self._pending and self._pending[-1].size == self._frontier.size:
            head = self._pending.pop()
            if self._frontier.root().hex() != head.root:
                self._problem(
                    head,
                    f"the log's first {head.size} events no longer hash to its root "
                    f"{head.root[:16]}: events before it were altered, removed, inserted "
                    "or moved",
                )

    def add(self, rec: Record) -> None:
        """One event, in log order."""
        self._frontier.append(leaf_hash(leaf_of(rec)))
        self._close()

    def finish(self, sql: SqlStore) -> list[Problem]:
        """Every problem: roots, sizes, signatures, and consecutive heads' consistency."""
        for head in self._pending:
            self._problem(
                head,
                f"covers {head.size} events, but the log has only {self._frontier.size}: "
                "events were removed",
            )
        self._pending = []
        if self.signature is not None:
            for head in [*self.recorded, *self.witnessed]:
                why = self.signature(head.message(), head.signature, head.public_key)
                if why:
                    self._problem(head, why)
        self._consistency(sql)
        return self.problems

    def _consistency(self, sql: SqlStore) -> None:
        pairs = list(zip(self.recorded, self.recorded[1:], strict=False))
        if not pairs:
            return
        tree = MerkleTree(sql)
        if not tree.exists():
            self._problem(self.recorded[-1], "the stored Merkle tree is missing")
            return
        with tree.view() as view:
            stored = view.size()[0]
            for old, new in pairs:
                if new.size < old.size:
                    self._problem(new, f"is smaller than {old.label}: the log shrank")
                    continue
                if new.size > stored:
                    self._problem(new, f"the stored Merkle tree has only {stored} leaves")
                    continue
                proof = view.consistency(old.size, new.size)
                old_root, new_root = bytes.fromhex(old.root), bytes.fromhex(new.root)
                if not verify_consistency(old.size, new.size, old_root, new_root, proof):
                    self._problem(new, f"the stored tree proves no consistency with {old.label}")
