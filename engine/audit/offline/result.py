"""What a stream check found, and what it was asked to check (standard library only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .chain import Problem, Record, analyse_instance
from .seal_record import SealRecord
from .semantic import RuleChecker

__all__ = ["CheckResult", "Scope", "SignatureCheck"]


@dataclass(frozen=True, slots=True)
class Scope:
    """What a stream holds: the whole log, one instance, or the log from an anchor on."""

    instance: str | None = None
    anchored: bool = False


SignatureCheck = Callable[[SealRecord], "str | None"]


@dataclass(slots=True)
class CheckResult:
    """What the stream found, and the suspects left for a full per-instance analysis."""

    problems: list[Problem]
    suspects: list[str]
    sealed_heads: dict[str, tuple[int, str, int]]
    out_of_order: dict[str, Problem]
    events: int
    instances: int
    seals: int
    signatures: int
    rules: RuleChecker | None = None

    def judge(self, iid: str, records: list[Record], *, anchored: bool = False) -> list[Problem]:
        """The full analysis of suspect ``iid`` from all its ``records``: its chain, then
        (when definitions are known) its workflow rules, replayed in version order.

        An instance whose chain is whole but whose events sit out of order in the log
        (a moved row) is reported as reordered where the stream saw it.
        """
        found = analyse_instance(iid, records, anchored=anchored, sealed=self.sealed_heads.get(iid))
        if not found and iid in self.out_of_order:
            found = [self.out_of_order[iid]]
        return found + (self.rules.judge(records) if self.rules is not None else [])
