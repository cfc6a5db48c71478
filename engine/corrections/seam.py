"""The one seam every value a correction stores goes through.

A correction records each amended field's old and new value, and its effect (the new values
the instance's data takes). When payload fields marked ``Personal`` are stored as envelopes
(engine/privacy), this function is where a correction's values of such a field become an
envelope for the instance's subject instead of plaintext: connect it there, and nothing
else of the corrections package needs to change. Until then it returns the value as it is.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

__all__ = ["stored_value"]


def stored_value(instance_id: UUID, target_version: int, field: str, value: Any) -> Any:
    """The form in which a correction stores ``value`` of payload ``field`` of the event at
    ``target_version`` of ``instance_id`` (today: ``value`` itself; see the module)."""
    del instance_id, target_version, field  # the privacy envelope's associated data, later
    return value
