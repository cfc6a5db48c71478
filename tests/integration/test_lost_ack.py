"""A write that was durable although the store reported a conflict (its acknowledgement was
lost and eventsourcing's retry of the insert found the row): the command succeeds once and
is never decided again, on SQLite and PostgreSQL.

The first attempt's commit is played by a second engine on the same database storing the very
events the first engine is about to write, just before it writes them (through the command
service's ``inline`` seam, which receives the events before their transaction opens): the
first engine's insert then meets its own rows, as a retried insert does after a lost ack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from engine import Engine
from tests.helpers import REQUESTER, REVIEWER
from tests.toy import toy_definition


def _committed_by(other: Engine) -> Any:
    def first_attempt(events: Sequence[Any]) -> None:
        other.application.record(list(events))

    return first_attempt


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_a_command_whose_rows_are_already_there_succeeds_once(store_url: str) -> None:
    with (
        Engine.open(store_url, workflows=[toy_definition()]) as engine,
        Engine.open(store_url, workflows=[toy_definition()]) as other,
    ):
        commands = engine._parts.commands
        commands.inline = _committed_by(other)
        started = engine.start("toy", {"title": "t", "amount": 10}, actor=REQUESTER)
        assert started.version == 1
        noted = engine.fire(started.id, "note", {"text": "once"}, actor=REVIEWER)  # internal
        reviewed = engine.fire(started.id, "review", {"score": 4}, actor=REVIEWER)
        commands.inline = None
        assert (noted.version, reviewed.version, reviewed.state) == (2, 3, "reviewed")
        history = engine.history(started.id)
        assert [h.trigger for h in history] == ["submit", "note", "review"]  # each once
        assert engine.verify().ok


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_another_writers_event_at_that_version_is_still_a_conflict(store_url: str) -> None:
    with (
        Engine.open(store_url, workflows=[toy_definition()]) as engine,
        Engine.open(store_url, workflows=[toy_definition()]) as other,
    ):
        iid = engine.start("toy", {"title": "t", "amount": 10}, actor=REQUESTER).id
        engine.get(iid)  # cached at version 1
        other.fire(iid, "note", {"text": "theirs"}, actor=REVIEWER)  # takes version 2
        again = engine.fire(iid, "note", {"text": "mine"}, actor=REVIEWER)
        assert again.version == 3  # decided again on the fresh state, not taken as ours
        notes = [h.payload["text"] for h in engine.history(iid)[1:]]
        assert notes == ["theirs", "mine"]
