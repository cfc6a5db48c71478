"""``socieux inbox --as ROLE:ACTOR``: what waits for this actor now, most urgent first."""

from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.console import handles_errors, state_of, table, when
from engine.cli.examples import example
from engine.cli.inputs import parse_actor

__all__ = ["inbox", "register"]


@handles_errors
def inbox(
    ctx: typer.Context,
    actor: Annotated[str, typer.Option("--as", help="ROLE:ACTOR, e.g. reviewer:r-1.")],
    limit: Annotated[int, typer.Option(help="Items at most.", min=1)] = 100,
) -> None:
    """Every instance where this actor may fire something now: the triggers, the next due
    time and whether it is overdue (separation of duties honoured)."""
    st = state_of(ctx)
    who = parse_actor(actor)
    items = st.engine().worklist(who, limit=limit)

    def render() -> None:
        if not items:
            st.console.print(f"nothing waits for {who.id} ({who.role})", markup=False)
            return
        out = table("instance", "workflow", "state", "may fire", "due", "since")
        for i in items:
            due = "" if i.due_at is None else when(i.due_at)
            if i.overdue:
                due = f"[red]{due} overdue[/red]"
            state = f"{i.state} (escalated)" if i.escalated else i.state
            out.add_row(
                i.instance_id[:8], i.workflow, state, ", ".join(i.triggers), due, when(i.entered_at)
            )
        st.console.print(out)

    st.out([i.model_dump(mode="json") for i in items], render)


def register(app: typer.Typer) -> None:
    """Add ``inbox``."""
    app.command(epilog=example("socieux inbox --as reviewer:r-1 --json"))(inbox)
