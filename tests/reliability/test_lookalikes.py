"""A campaign of spellings of the submitter's id: none may approve their own request.

Each variant mixes case changes, surrounding or inner invisible characters, fullwidth
digits and Cyrillic or Greek look-alikes. Every one must be refused,
either when the actor is made (``InvalidArgument``) or by separation of duties
(``PermissionDenied``), and nothing may be written; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random

import pytest

from engine import Actor, InvalidArgument, PermissionDenied
from engine.testing import payload, walk_to
from tests.conftest import EngineFactory
from tests.helpers import event_count
from tests.reliability.conftest import Figures, scale
from workflows.technical_assistance.workflow import definition

LOOKALIKE = {"a": "\u0430", "c": "\u0441", "e": "\u0435", "o": "\u043e", "p": "\u0440",
             "h": "\u04bb", "k": "\u03ba", "n": "\u0578", "s": "\u0455"}  # fmt: skip
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]


def _variant(rng: random.Random, actor_id: str) -> str:
    text = actor_id
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["case", "space", "invisible", "fullwidth", "lookalike"])
        if kind == "case":
            text = "".join(c.upper() if rng.random() < 0.5 else c for c in text)
        elif kind == "space":
            text = (
                rng.choice([" ", "\t", "\u00a0", "\u3000"]) + text
                if rng.random() < 0.5
                else text + " "
            )
        elif kind == "invisible":
            at = rng.randrange(len(text) + 1)
            text = text[:at] + rng.choice(INVISIBLE) + text[at:]
        elif kind == "fullwidth":
            text = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)
        else:
            swaps = [i for i, c in enumerate(text) if c.lower() in LOOKALIKE]
            if swaps:
                i = rng.choice(swaps)
                text = text[:i] + LOOKALIKE[text[i].lower()] + text[i + 1 :]
    return text if text != actor_id else actor_id.upper()


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_no_spelling_of_the_submitters_id_approves_their_request(
    open_engine: EngineFactory, figures: Figures
) -> None:
    engine = open_engine(workflows=[definition()], projections=[])
    view = walk_to(engine, "fine_tuned")
    submitter = engine.history(view.id)[0].actor
    rng = random.Random(20261201)
    tried, at_actor, by_separation = scale(200, 2000), 0, 0
    before = event_count(engine)
    for _ in range(tried):
        text = _variant(rng, submitter)
        try:
            actor = Actor(text, "commission")
        except InvalidArgument:
            at_actor += 1
            continue
        with pytest.raises(PermissionDenied) as refused:
            engine.fire(view.id, "approve", payload("approve"), actor=actor)
        assert refused.value.rule == "separation", text
        by_separation += 1
    figures.record(tried=tried, refused_at_actor=at_actor, refused_by_separation=by_separation,
                   approved=0)  # fmt: skip
    assert event_count(engine) == before
    assert at_actor + by_separation == tried
