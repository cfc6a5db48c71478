"""``socieux audit explain | diff``: one instance's recorded steps, through the façade."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from engine.cli.amendment_text import amendment_line
from engine.cli.console import ARROW, handles_errors, state_of, table, when
from engine.cli.inputs import parse_time

__all__ = ["diff", "explain"]

IdArg = Annotated[str, typer.Argument(help="Instance id or a unique prefix of it.")]


def as_json(value: Any) -> str:
    """A value as compact JSON (never a Python repr): ``"text"``, ``3``, ``null``."""
    return json.dumps(value, ensure_ascii=False, default=str)


@handles_errors
def explain(
    ctx: typer.Context,
    instance: IdArg,
    version: Annotated[int, typer.Argument(help="The event's version.")],
) -> None:
    """Who fired this step, as what role, why, and what each guard read and decided."""
    st = state_of(ctx)
    ex = st.engine().explain(instance, version)

    def render() -> None:
        from rich.text import Text

        defn = f"{ex.workflow} v{ex.definition_version}" if ex.workflow else "not installed"
        st.console.print(
            f"[bold]{ex.instance_id} v{ex.version}[/bold]  {ex.trigger}: "
            f"{ex.source or '(start)'} {ARROW} {ex.dest}\n"
            f"at {when(ex.at)} by {ex.actor} as {ex.role}\n"
            f"reason: {ex.reason or '-'}\ncorrelation: {ex.correlation_id or '-'}  "
            f"causation: {ex.causation_id or '-'}\n"
            f"definition {ex.definition_hash[:16]} ({defn})\n"
            f"hash {ex.hash[:16]} ({'verified' if ex.hash_verified else 'DOES NOT VERIFY'})"
        )
        if (amended := amendment_line(ex)) is not None:
            st.console.print(amended, markup=False)
        guards = table("guard", "version", "result", "reason", "inputs")
        for g in ex.guards:
            inputs = ", ".join(f"{k}={as_json(v)}" for k, v in g.inputs.items())
            cells = (g.name, str(g.version), "passed" if g.ok else "failed", g.reason, inputs)
            guards.add_row(*(Text(c) for c in cells))
        st.console.print(guards if ex.guards else "no guards ran for this step", markup=False)

    st.out(ex.model_dump(mode="json"), render)


@handles_errors
def diff(
    ctx: typer.Context,
    instance: IdArg,
    since: Annotated[str, typer.Option("--from", help="ISO time (before).")],
    until: Annotated[
        str | None, typer.Option("--to", help="ISO time (after; default now).")
    ] = None,
) -> None:
    """What changed in an instance's state and data between two times."""
    st = state_of(ctx)
    to = parse_time(until) if until is not None else datetime.now(UTC)
    d = st.engine().diff(instance, parse_time(since), to)

    def render() -> None:
        from rich.text import Text

        st.console.print(
            f"state: {d.from_state or '(did not exist)'} {ARROW} {d.to_state}  "
            f"(version {d.from_version} {ARROW} {d.to_version})"
        )
        changes = table("data", "change", "before", "after")
        for c in d.changes:
            changes.add_row(
                Text(c.path),
                c.change,
                Text("" if c.change == "added" else as_json(c.before)),
                Text("" if c.change == "removed" else as_json(c.after)),
            )
        st.console.print(changes if d.changes else "no data changed", markup=False)
        for h in d.steps:
            st.console.print(f"  v{h.version} {when(h.at)} {h.trigger} by {h.actor} ({h.role})")

    st.out(d.model_dump(mode="json"), render)
