"""An event a projection cannot apply is parked and reported; it never stops the engine."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from engine import Engine
from engine.persistence.sql import Cursor
from engine.projection.protocol import ProjectedEvent, Projection
from tests.conftest import EngineFactory
from tests.helpers import REQUESTER, submit

BACKENDS = ["memory", "sqlite", "postgres"]


class Fragile(Projection):
    """Stores every note's text; chokes on the word ``poison`` until ``fixed``."""

    name = "fragile"
    tables = ("fragile_notes",)
    fixed = False

    def create(self, cur: Cursor) -> None:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t('fragile_notes')} "
            "(position BIGINT PRIMARY KEY, text TEXT NOT NULL)"
        )

    def apply(self, cur: Cursor, events: Sequence[ProjectedEvent]) -> None:
        for e in events:
            text = str(e.payload.get("text", ""))
            if "poison" in text and not type(self).fixed:
                # what a real bug looks like: a driver error (NUL is not storable on
                # PostgreSQL), or an exception in the projection's own code
                cur.execute(f"INSERT INTO {self.t('fragile_notes')} VALUES (?, ?)", (-1, "\x00"))
                raise ValueError(f"cannot project {text!r}")
            cur.execute(f"INSERT INTO {self.t('fragile_notes')} VALUES (?, ?)", (e.position, text))

    def texts(self) -> list[str]:
        with self.fresh().read() as cur:
            cur.execute(f"SELECT text FROM {self.t('fragile_notes')} ORDER BY position")
            return [row["text"] for row in cur.fetchall()]


class Counter(Projection):
    """A healthy projection beside the fragile one."""

    name = "counter"
    tables = ("counter_events",)

    def create(self, cur: Cursor) -> None:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {self.t('counter_events')} (position BIGINT)")

    def apply(self, cur: Cursor, events: Sequence[ProjectedEvent]) -> None:
        cur.executemany(
            f"INSERT INTO {self.t('counter_events')} VALUES (?)", [(e.position,) for e in events]
        )

    def count(self) -> int:
        with self.fresh().read() as cur:
            cur.execute(f"SELECT COUNT(*) AS n FROM {self.t('counter_events')}")
            return int(cur.fetchone()["n"])


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_a_poison_event_is_parked_and_every_other_event_is_projected(
    open_engine: EngineFactory,
) -> None:
    Fragile.fixed = False
    engine = open_engine(projections=[Fragile(), Counter()])
    iid = submit(engine)
    for text in ("a", "poison pill", "b"):
        engine.fire(iid, "note", {"text": text}, actor=REQUESTER)
    assert engine.projection(Fragile).texts() == ["", "a", "b"]  # the start has no text
    assert engine.projection(Counter).count() == 4
    (parked,) = engine.parked_projection_events("fragile")
    assert (parked.projection, parked.version) == ("fragile", 3)
    assert "ValueError" in parked.error or "NUL" in parked.error or "0x00" in parked.error
    status = {s.name: s for s in engine.projection_status()}
    assert status["fragile"].parked == 1
    assert not status["fragile"].behind
    assert status["counter"].parked == 0


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_a_parked_event_never_stops_opening_and_a_rebuild_repairs_the_projection(
    open_engine: EngineFactory,
) -> None:
    Fragile.fixed = False
    writer = open_engine(projections=[])  # no projections: nothing applied yet
    iid = submit(writer)
    writer.fire(iid, "note", {"text": "poison"}, actor=REQUESTER)
    reader = open_engine(projections=[Fragile(), Counter()])  # catches up while opening
    assert len(reader.parked_projection_events()) == 1
    Fragile.fixed = True  # the projection's bug is fixed and deployed
    fixed = open_engine(projections=[Fragile(), Counter()])
    fixed.rebuild_projections(["fragile"])
    assert fixed.parked_projection_events() == []
    assert fixed.projection(Fragile).texts() == ["", "poison"]
    assert fixed.projection(Counter).count() == 2


def test_unknown_projection_names_are_refused_when_listing_parked_events() -> None:
    from engine import InvalidArgument

    with (
        Engine.open("memory://", projections=[Counter()]) as engine,
        pytest.raises(InvalidArgument),
    ):
        engine.parked_projection_events("nope")
