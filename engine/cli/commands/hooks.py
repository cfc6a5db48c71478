"""``socieux hooks status | parked [NAME]``: where host apps' subscribers stand.

Handlers live in the host app, so the CLI shows (it cannot deliver): each subscriber's
position against the head of the log, its parked events and their errors.
"""

from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.console import handles_errors, plural, state_of, table, when
from engine.cli.examples import example

__all__ = ["build"]


@handles_errors
def status(ctx: typer.Context) -> None:
    """Each subscriber's position, lease holder, parked events and last error."""
    st = state_of(ctx)
    rows = st.engine().subscriptions()

    def render() -> None:
        if not rows:
            st.console.print("no subscribers recorded in this store")
            return
        out = table("subscriber", "position", "head", "state", "parked", "held by", "last error")
        for r in rows:
            state = "[yellow]behind[/yellow]" if r.behind else "[green]current[/green]"
            parked = f"[red]{r.parked}[/red]" if r.parked else "0"
            out.add_row(
                r.name,
                str(r.position),
                str(r.head),
                state,
                parked,
                r.owner or "-",
                r.last_error or "",
            )
        st.console.print(out)

    st.out([r.model_dump(exclude={"active_here"}) for r in rows], render)


@handles_errors
def parked(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Subscriber; default all.")] = None,
) -> None:
    """Events a subscriber's handler kept failing on, with the error."""
    st = state_of(ctx)
    rows = st.engine().parked(name)

    def render() -> None:
        if not rows:
            st.console.print("no parked events")
            return
        out = table(
            "subscriber",
            "notification",
            "instance",
            "version",
            "trigger",
            "attempts",
            "parked at",
            "error",
        )
        for r in rows:
            out.add_row(
                r.name,
                str(r.notification_id),
                r.instance_id[:8],
                str(r.version),
                r.trigger,
                str(r.attempts),
                when(r.parked_at),
                r.error,
            )
        st.console.print(out)

    st.out([r.model_dump(mode="json") for r in rows], render)


@handles_errors
def retry(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Subscriber whose parked events to retry.")],
) -> None:
    """Deliver a subscriber's parked events once more (its handler must be registered in
    this process: the host app's entry point, not usually the CLI)."""
    st = state_of(ctx)
    delivered, still = st.engine().retry_parked(name)
    st.out(
        {"name": name, "delivered": delivered, "parked": still},
        lambda: st.console.print(
            f"{name}: {plural(delivered, 'event')} delivered, {still} still parked",
            markup=False,
        ),
    )


def build() -> typer.Typer:
    """The ``hooks`` command group."""
    group = typer.Typer(no_args_is_help=True, epilog=example("socieux hooks status"))
    group.command(epilog=example("socieux --json hooks status"))(status)
    group.command(epilog=example("socieux hooks parked mailer"))(parked)
    group.command(epilog=example("socieux hooks retry mailer"))(retry)
    return group
