"""How every value a correction reads and stores passes the personal-data layer.

A correction decides on plaintext and records only the stored form. :func:`opened` gives
the plaintext of stored values (envelopes opened, restricted ones too, for re-validating
the payload and re-running its guards; nothing of it is recorded, and an erased field reads
as its marker). :func:`sealed` gives the form in which new values are stored: each value of
a field marked ``Personal`` becomes an envelope for its subject, bound to the instance, the
correction's own event version and the field's path in the corrected payload, so that an
erasure of the subject erases the corrected value too. Without the privacy layer (no hook
on the command service), both return the values as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from engine.commands.service import CommandService

__all__ = ["opened", "sealed"]


def opened(commands: CommandService, iid: UUID, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` (a stored payload, or part of one) with their envelopes opened."""
    if commands.reveal is None or not values:
        return dict(values)
    return commands.reveal(iid, dict(values))


def sealed(
    commands: CommandService,
    iid: UUID,
    version: int,
    model: type[BaseModel],
    values: Mapping[str, Any],
) -> dict[str, Any]:
    """``values`` of payload ``model``'s fields as a correction recorded at ``version``
    stores them (personal values sealed; the others as they are)."""
    if commands.seal is None or not values:
        return dict(values)
    return commands.seal(iid, version, model, dict(values))
