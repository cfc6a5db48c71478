"""``socieux projections status | rebuild [NAME] | run``."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from engine.cli.console import handles_errors, plural, progress, state_of, table
from engine.cli.examples import example

__all__ = ["build"]


@handles_errors
def status(ctx: typer.Context) -> None:
    """Each projection's position against the head of the log."""
    st = state_of(ctx)
    rows = st.engine().projection_status()

    def render() -> None:
        out = table("projection", "version", "position", "head", "state", "parked")
        for r in rows:
            out.add_row(
                r.name,
                str(r.version),
                str(r.position),
                str(r.head),
                "[yellow]behind[/yellow]" if r.behind else "[green]current[/green]",
                f"[red]{r.parked}[/red]" if r.parked else "0",
            )
        st.console.print(out)
        st.console.print(f"mode: {st.engine().projection_mode}")

    st.out([r.model_dump() for r in rows], render)


@handles_errors
def rebuild(
    ctx: typer.Context,
    name: Annotated[list[str] | None, typer.Argument(help="Projection(s); default all.")] = None,
) -> None:
    """Drop and rebuild projections from the whole log."""
    st = state_of(ctx)
    engine = st.engine()
    total = engine.projection_status()[0].head if engine.projections else 0
    with progress(st, "Rebuilding projections") as report:
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            report(done[0], total)

        count = engine.rebuild_projections(name or None, progress=advance)
    names = name or [p.name for p in engine.projections]
    st.out(
        {"rebuilt": names, "events": count},
        lambda: st.console.print(f"rebuilt {', '.join(names)} from {plural(count, 'event')}"),
    )


@handles_errors
def run(
    ctx: typer.Context,
    poll: Annotated[float, typer.Option(help="Seconds between polls when idle.")] = 0.5,
) -> None:
    """Run the projection worker until interrupted (SIGINT or SIGTERM)."""
    st = state_of(ctx)
    engine = st.engine()
    stopping = {"now": False}

    def stop(*_: object) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    typer.echo(f"projection worker on {engine.url}: polling every {poll}s", err=True)
    engine.run_projections(poll=poll, stop=lambda: stopping["now"])
    typer.echo("projection worker stopped", err=True)


def build() -> typer.Typer:
    """The ``projections`` command group."""
    group = typer.Typer(no_args_is_help=True, epilog=example("socieux projections status"))
    group.command(epilog=example("socieux projections status"))(status)
    group.command(epilog=example("socieux projections rebuild requests"))(rebuild)
    group.command(epilog=example("socieux projections run --poll 1"))(run)
    return group
