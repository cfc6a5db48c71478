"""The legal-hold register's writes and reads (:mod:`engine.privacy.holds`), for the
privacy service: placing and releasing holds, and which open holds cover a subject."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import suppress
from uuid import UUID

from pydantic import ValidationError

from engine.commands.service import CommandService
from engine.errors import (
    ConcurrencyConflict,
    ErasureConflict,
    InstanceNotFound,
    InvalidArgument,
    InvalidPayload,
)
from engine.instance.views import Actor, InstanceView
from engine.privacy.holds import (
    LEGAL_HOLDS,
    OPEN_REGISTER,
    PLACE,
    REGISTER_ID,
    RELEASE,
    LegalHold,
    open_legal_holds,
)

__all__ = ["HoldRegister", "covers"]


class HoldRegister:
    """Legal holds on subjects and requests, recorded on the register's one instance."""

    def __init__(self, commands: CommandService, install: Callable[[], None]) -> None:
        self.commands = commands
        self._install = install

    def place(
        self, hold: str, *, subjects: Iterable[str], requests: Iterable[str], actor: Actor,
        reason: str, known: Callable[[str], object],
    ) -> LegalHold:  # fmt: skip
        """Record hold ``hold`` on ``subjects`` (each checked by ``known``) and ``requests``
        (existing instances); refused, writing nothing, if a hold of that name is open."""
        try:
            placed = LegalHold(
                hold=hold, subjects=tuple(sorted(set(subjects))),
                requests=tuple(sorted({_instance_id(r) for r in requests})),
            )  # fmt: skip
        except ValidationError as exc:
            raise InvalidPayload(PLACE, exc.errors(include_url=False)) from None
        for subject in placed.subjects:
            known(subject)
        for rid in placed.requests:
            self.commands.load(UUID(rid), fresh=True)  # InstanceNotFound if none
        if placed.hold in self.open():
            raise ErasureConflict(f"legal hold {placed.hold} is already open", state="open")
        self._install()
        if self._view() is None:
            with suppress(ConcurrencyConflict):  # another process opened it first
                self.commands.start(
                    LEGAL_HOLDS, {}, actor=actor, reason=reason, trigger=OPEN_REGISTER,
                    version=None, correlation_id=None, causation_id=None,
                    instance_id=REGISTER_ID,
                )  # fmt: skip
        self._fire(PLACE, placed.model_dump(mode="json"), actor, reason)
        return placed

    def release(self, hold: str, *, actor: Actor, reason: str) -> LegalHold:
        """Lift open hold ``hold`` (``ErasureConflict`` if no such hold is open)."""
        found = self.open().get(hold)
        if found is None:
            raise ErasureConflict(f"no legal hold {hold} is open", state=None)
        self._fire(RELEASE, {"hold": hold}, actor, reason)
        return found

    def open(self) -> dict[str, LegalHold]:
        """The open holds by reference."""
        view = self._view()
        return open_legal_holds(dict(view.data)) if view is not None else {}

    def covering(self, subject: str, instances: Iterable[str]) -> list[str]:
        """The open holds on ``subject`` or on a request holding the subject's data."""
        held = set(instances)
        return [ref for ref, h in self.open().items() if covers(h, subject, held)]

    def _view(self) -> InstanceView | None:
        if not self.commands.registry.has(LEGAL_HOLDS):
            return None
        from engine.instance.convert import view_of

        try:
            return view_of(self.commands.load(REGISTER_ID, fresh=True), copy_data=True)
        except InstanceNotFound:
            return None

    def _fire(self, trigger: str, data: dict[str, object], actor: Actor, reason: str) -> None:
        self.commands.fire(
            REGISTER_ID, trigger, data, actor=actor, reason=reason, expected_version=None,
            correlation_id=None, causation_id=None,
        )  # fmt: skip


def covers(hold: LegalHold, subject: str, instances: set[str]) -> bool:
    """Whether ``hold`` names ``subject`` or one of the requests holding their data."""
    return subject in hold.subjects or not instances.isdisjoint(hold.requests)


def _instance_id(value: object) -> str:
    try:
        return str(UUID(str(value)))
    except ValueError:
        raise InvalidArgument(
            f"not a request id: {str(value)[:60]!r}", argument="requests"
        ) from None
