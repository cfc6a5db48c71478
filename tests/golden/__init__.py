"""Golden histories: exports of the demo written once per workflow version, committed.

:func:`load_export` writes the events of such an export into an engine's store exactly as
they were stored (the same fields, the same hashes), so that the engine of today replays and
verifies the history that an older engine wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from engine import Engine

HERE = Path(__file__).parent


def export_lines(path: Path) -> Iterator[dict[str, Any]]:
    """Every line of the export at ``path``, decoded."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def load_export(engine: Engine, path: Path) -> int:
    """Insert the events of the export ``path`` into ``engine``'s store; their count."""
    app = engine.application
    stored: list[StoredEvent] = []
    for line in export_lines(path):
        if line["type"] != "event":
            continue
        fields = dict(line["event"])
        fields["hash"] = line["hash"]
        iid = UUID(fields.pop("originator_id"))
        version = fields.pop("originator_version")
        topic = fields.pop("topic")
        fields["timestamp"] = datetime.fromisoformat(fields["timestamp"])
        state = app.mapper.transcoder.encode(fields)
        stored.append(StoredEvent(iid, version, topic, state))
    app.recorder.insert_events(stored)
    return len(stored)


def expected_states(name: str) -> dict[str, dict[str, Any]]:
    """The states recorded beside a golden export when it was written."""
    return json.loads((HERE / f"{name}.expected.json").read_text(encoding="utf-8"))
