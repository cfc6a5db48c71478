"""``socieux audit trail``: who did what, across every instance (the audit_trail read model)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from engine.cli.console import (
    ARROW,
    CliState,
    OutputFormat,
    handles_errors,
    plural,
    state_of,
    table,
    when,
)
from engine.cli.inputs import parse_time

__all__ = ["trail"]


@handles_errors
def trail(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this actor id.")] = None,
    role: Annotated[str | None, typer.Option("--role", help="Only this role.")] = None,
    trigger: Annotated[str | None, typer.Option("--trigger", help="Only this trigger.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="From this ISO time on.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Up to this ISO time.")] = None,
    instance: Annotated[
        str | None, typer.Option("--instance", help="Only this instance (id or prefix).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows (1-100000).")] = 1000,
    fmt: Annotated[
        OutputFormat | None,
        typer.Option("--format", help="table, json or csv (default table; json with --json)."),
    ] = None,
) -> None:
    """Every recorded step across instances, in log order: when, who as what, which move."""
    st = state_of(ctx)
    engine = st.engine()
    filters: dict[str, Any] = {
        "actor": actor,
        "role": role,
        "trigger": trigger,
        "since": parse_time(since) if since is not None else None,
        "until": parse_time(until) if until is not None else None,
        "instance": str(engine.resolve(instance)) if instance is not None else None,
    }
    chosen = {k: v for k, v in filters.items() if v is not None}
    rows = [r.model_dump(mode="json") for r in engine.audit_trail(limit=limit, **chosen)]
    st.out(rows, lambda: _render(st, rows), fmt)


def _render(st: CliState, rows: list[dict[str, Any]]) -> None:
    from datetime import datetime

    from rich.text import Text

    if rows:
        out = table("at", "instance", "v", "trigger", "move", "actor", "role", "reason")
        for r in rows:
            move = f"{r['source'] or '(start)'} {ARROW} {r['dest']}"
            at = when(datetime.fromisoformat(r["at"]))
            cells = (at, r["instance_id"][:8], str(r["version"]), r["trigger"], move)
            out.add_row(*(Text(c) for c in (*cells, r["actor"], r["role"], r["reason"] or "")))
        st.console.print(out)
    st.console.print(plural(len(rows), "event"), highlight=False)
