"""``socieux deadlines run | list``: the deadline worker and the due table.

``run`` records due deadlines as the engine's system actor, in bounded batches, until
interrupted (or once, with ``--once``); any number of workers may run against one store,
each deadline is recorded exactly once. ``list`` shows open deadlines by due time.
"""

from __future__ import annotations

import re
import signal
import time
from datetime import timedelta
from typing import Annotated

import typer

from engine.cli.console import fail, handles_errors, plural, state_of, table, when
from engine.cli.examples import example

__all__ = ["build", "parse_within"]

_WITHIN = re.compile(r"(\d{1,6})([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_within(text: str) -> timedelta:
    """``7d``, ``12h``, ``2w`` or ``30m`` as a timedelta (exit 2 otherwise)."""
    found = _WITHIN.fullmatch(text.strip())
    if found is None:
        raise fail("invalid_argument", f"--within expects e.g. 7d, 12h, 2w or 30m, not {text!r}", 2)
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


@handles_errors
def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One run, then exit.")] = False,
    batch: Annotated[int, typer.Option(help="Deadlines claimed at a time.", min=1)] = 100,
    limit: Annotated[int, typer.Option(help="Deadlines per run at most.", min=1)] = 1000,
    poll: Annotated[float, typer.Option(help="Seconds between runs when idle.")] = 1.0,
    lease: Annotated[
        float, typer.Option(help="Seconds a claim keeps other workers off its deadlines.")
    ] = 60.0,
) -> None:
    """Record due deadlines (escalate, remind, or fire as the system actor) until stopped."""
    st = state_of(ctx)
    engine = st.engine()
    if once:
        report = engine.run_due(limit=limit, batch=batch, lease=lease)
        st.out(
            report.model_dump(mode="json") | {"max_lag_seconds": report.max_lag_seconds},
            lambda: st.console.print(
                f"{plural(len(report.fired), 'deadline')} recorded, {report.closed} already "
                f"closed, {len(report.blocked)} blocked (max lag {report.max_lag_seconds:.0f}s)",
                markup=False,
            ),
        )
        return
    stopping = {"now": False}

    def stop(*_: object) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    typer.echo(f"deadline worker on {engine.url}: batches of {batch}", err=True)
    while not stopping["now"]:
        report = engine.run_due(limit=limit, batch=batch, lease=lease)
        if report.fired or report.blocked:
            typer.echo(
                f"{len(report.fired)} recorded, {len(report.blocked)} blocked, max lag "
                f"{report.max_lag_seconds:.0f}s",
                err=True,
            )
        if report.claimed < limit:
            time.sleep(poll)
    typer.echo("deadline worker stopped", err=True)


@handles_errors
def list_(
    ctx: typer.Context,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only those due now.")] = False,
    within: Annotated[
        str | None, typer.Option(help="Only those due within this time: 7d, 12h, 2w.")
    ] = None,
    status: Annotated[str, typer.Option(help="open, fired, cancelled or blocked.")] = "open",
    limit: Annotated[int, typer.Option(help="Rows at most.", min=1)] = 100,
) -> None:
    """Deadlines by due time (open ones by default), with the lag of those fired."""
    st = state_of(ctx)
    span = parse_within(within) if within is not None else None
    rows = st.engine().deadlines(status=status, overdue=overdue, within=span, limit=limit)

    def render() -> None:
        if not rows:
            st.console.print(f"no {status} deadlines")
            return
        out = table("instance", "state", "deadline", "action", "due", "status", "lag")
        for r in rows:
            shown = f"[red]{r.status} (overdue)[/red]" if r.overdue else r.status
            what = r.trigger or r.role or ""
            lag = "" if r.lag_seconds is None else f"{r.lag_seconds:.0f}s"
            out.add_row(
                r.instance_id[:8],
                r.state,
                r.name,
                f"{r.action} {what}".strip(),
                when(r.due_at),
                shown,
                lag,
            )
        st.console.print(out)

    st.out([r.model_dump(mode="json") for r in rows], render)


def build() -> typer.Typer:
    """The ``deadlines`` command group."""
    group = typer.Typer(no_args_is_help=True, epilog=example("socieux deadlines list --overdue"))
    group.command(epilog=example("socieux deadlines run --batch 200"))(run)
    group.command("list", epilog=example("socieux deadlines list --within 7d --json"))(list_)
    return group
