"""``socieux deadlines run | list`` and ``socieux inbox``, run in-process on a real store.

The commands are mounted here on a small root that opens the engine with the toy leave
workflow (the real root opens the installed workflows, which declare no deadlines yet).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from engine import Actor, Engine
from engine.cli.commands import deadlines, inbox
from engine.cli.console import CliState
from tests.toy_deadlines import leave_definition

START = datetime(2024, 1, 5, 9, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(tmp_path: Path, clock: Clock) -> Iterator[Engine]:
    with Engine.open(
        f"sqlite:///{tmp_path / 'c.db'}", workflows=[leave_definition()], clock=clock
    ) as opened:
        yield opened


def _app(engine: Engine) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root(ctx: typer.Context, json_: bool = typer.Option(False, "--json")) -> None:
        state = CliState(db=engine.url, json=json_)
        state._engine = engine
        ctx.obj = state

    app.add_typer(deadlines.build(), name="deadlines")
    inbox.register(app)
    return app


def _run(engine: Engine, *args: str) -> Result:
    return CliRunner().invoke(_app(engine), list(args), env={"COLUMNS": "200"})


def test_list_run_and_inbox(engine: Engine, clock: Clock) -> None:
    a = engine.start("leave", {"days": 3}, actor=Actor("ann", "requester"))
    listed = json.loads(_run(engine, "--json", "deadlines", "list").stdout)
    assert [d["name"] for d in listed] == ["nudge", "escalate", "consent"]
    soon = json.loads(_run(engine, "--json", "deadlines", "list", "--within", "3d").stdout)
    assert [d["name"] for d in soon] == ["nudge"]
    assert "no open deadlines" in _run(engine, "deadlines", "list", "--overdue").stdout
    clock.now += timedelta(days=6)
    overdue = _run(engine, "deadlines", "list", "--overdue")
    assert "overdue" in overdue.stdout
    mine = json.loads(_run(engine, "--json", "inbox", "--as", "reviewer:rita").stdout)
    assert [(i["instance_id"], i["triggers"], i["overdue"]) for i in mine] == [
        (str(a.id), ["note", "review", "reject"], True)
    ]
    ran = json.loads(_run(engine, "--json", "deadlines", "run", "--once", "--batch", "1").stdout)
    assert [f["deadline_id"] for f in ran["fired"]] == ["1:nudge", "1:escalate"]
    assert ran["max_lag_seconds"] > 0
    table = _run(engine, "inbox", "--as", "manager:mo")
    assert "(escalated)" in table.stdout
    engine.fire(a.id, "reject", actor=Actor("mo", "manager"), reason="no staff")
    assert "nothing waits" in _run(engine, "inbox", "--as", "requester:ann").stdout


def test_bad_input_exits_2(engine: Engine) -> None:
    assert _run(engine, "deadlines", "list", "--within", "soon").exit_code == 2
    assert _run(engine, "inbox", "--as", "nobody").exit_code == 2
    assert _run(engine, "inbox", "--as", "ghost:x").exit_code == 2
    system = _run(engine, "inbox", "--as", "system:x")  # the engine's own role: no worklist
    assert system.exit_code == 2
    assert "engine's own" in system.output
    assert deadlines.parse_within("2w") == timedelta(weeks=2)
