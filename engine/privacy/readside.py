"""The read side of personal data: views, histories, explanations and diffs revealed for
the reader bound with ``engine.context`` (an ``auditor`` also sees restricted fields)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from engine.commands.context import current_context
from engine.commands.service import CommandService
from engine.instance.aggregate import MIGRATE_TRIGGER, WorkflowInstance
from engine.instance.convert import view_of
from engine.instance.views import HistoryEntry, InstanceView
from engine.persistence.store import translate_errors
from engine.privacy.amendments import reveal_amendment
from engine.privacy.reveal import AUDITOR_ROLE, Revealer, revealed_copy
from engine.privacy.vault import Vault

if TYPE_CHECKING:
    from engine.audit.explain import StateDiff  # the audit modules load on first use

__all__ = ["ReadSide"]

E = TypeVar("E", bound=HistoryEntry)


class ReadSide:
    """Reveals what a reader may see (mixed into the privacy service)."""

    vault: Vault
    commands: CommandService

    def revealer(self) -> Revealer:
        """A revealer for the actor bound with ``engine.context`` (if any)."""
        actor = current_context().actor
        return Revealer(self.vault, role=actor.role if actor is not None else None)

    def reveal_view(self, view: InstanceView) -> InstanceView:
        """``view`` with its personal fields as this reader may see them."""
        with translate_errors("reading data keys", self.commands.label):
            data = self.revealer().reveal(
                view.data, instance_id=str(view.id), event_version=view.version, exact=False
            )
        return view if data is view.data else view.model_copy(update={"data": data})

    def present(self, agg: WorkflowInstance) -> InstanceView:
        """The view ``start``/``fire`` return (the command service's ``present`` hook): the
        cached instance's data copied once, the personal fields this process sealed or
        opened replaced during that copy; any other envelope is then revealed in full."""
        view = view_of(agg, copy_data=False)
        iid = str(agg.id)
        data, left = revealed_copy(self.vault, agg.data, instance_id=iid, event_version=agg.version)
        if left:  # envelopes not opened here yet, or erased, restricted, misplaced ...
            with translate_errors("reading data keys", self.commands.label):
                data = self.revealer().reveal(
                    data, instance_id=iid, event_version=agg.version, exact=False
                )
        # The view was built just above and is not shared yet: its data (the cached
        # instance's own) is swapped for the caller's revealed copy in place, which a
        # frozen model's copy would do at several times the cost.
        view.__dict__["data"] = data
        return view

    def reveal_for_checks(self, iid: UUID, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` opened in full (restricted fields too) for a check that records none of
        it; erased fields read as their marker."""
        out: dict[str, Any] = Revealer(self.vault, role=AUDITOR_ROLE).reveal(
            data, instance_id=str(iid), event_version=None, exact=False
        )
        return out

    def reveal_history(self, iid: UUID, entries: list[E]) -> list[E]:
        """``entries`` (instance ``iid``'s history) with their payloads revealed."""
        revealer = self.revealer()
        with translate_errors("reading data keys", self.commands.label):
            return self._revealed(iid, entries, revealer)

    def reveal_entry(self, iid: UUID, entry: E) -> E:
        """One history entry (an explanation too) with its payload revealed."""
        return self.reveal_history(iid, [entry])[0]

    def reveal_diff(self, found: StateDiff) -> StateDiff:
        """A state diff with its steps' payloads and its changed values revealed."""
        iid = found.instance_id
        revealer = self.revealer()
        with translate_errors("reading data keys", self.commands.label):
            changes = [
                c.model_copy(update={
                    "before": _reveal_at(revealer, iid, c.path, c.before),
                    "after": _reveal_at(revealer, iid, c.path, c.after),
                })
                for c in found.changes
            ]  # fmt: skip
        steps = self.reveal_history(iid, found.steps)
        return found.model_copy(update={"changes": changes, "steps": steps})

    def _revealed(self, iid: UUID, entries: list[E], revealer: Revealer) -> list[E]:
        out = []
        for e in entries:
            exact = e.trigger != MIGRATE_TRIGGER  # a migration carries earlier envelopes
            payload = revealer.reveal(
                e.payload, instance_id=str(iid), event_version=e.version, exact=exact
            )
            update: dict[str, Any] = {} if payload is e.payload else {"payload": payload}
            if e.amendment is not None:
                amendment = reveal_amendment(revealer, str(iid), e.amendment)
                if amendment is not e.amendment:
                    update["amendment"] = amendment
            out.append(e.model_copy(update=update) if update else e)
        return out

    # ------------------------------------------------------------------ erasure


def _reveal_at(revealer: Revealer, iid: UUID, path: str, value: Any) -> Any:
    """``value`` found at data path ``path`` (``a.b`` or ``a[2]``), revealed."""
    keys = re.sub(r"\[(\d+)\]", r".\1", path).split(".")
    nested: Any = value
    for key in reversed(keys):
        nested = {key: nested}
    opened = revealer.reveal(nested, instance_id=str(iid), event_version=None, exact=False)
    for key in keys:
        opened = opened[key]
    return opened
