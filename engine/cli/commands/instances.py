"""``submit``, ``fire``, ``show``, ``history`` and ``next``: one instance at a time."""

from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.console import ARROW, handles_errors, state_of
from engine.cli.examples import example
from engine.cli.inputs import parse_actor, parse_time, read_data

__all__ = ["register"]

AsOpt = Annotated[str, typer.Option("--as", help="ROLE:ACTOR, e.g. socieux_team:t-1.")]
DataOpt = Annotated[str | None, typer.Option("--data", help="JSON file, or - for stdin.")]
EffectiveOpt = Annotated[
    str | None, typer.Option("--effective-at", help="ISO time the fact happened, if not now.")
]
IdArg = Annotated[str, typer.Argument(help="Instance id or a unique prefix of it.")]


@handles_errors
def submit(
    ctx: typer.Context,
    workflow: Annotated[str, typer.Argument(help="Workflow name.")],
    actor: AsOpt,
    data: DataOpt = None,
    reason: Annotated[str | None, typer.Option(help="Why (recorded in the audit).")] = None,
    effective_at: EffectiveOpt = None,
) -> None:
    """Start a new instance of WORKFLOW with its start trigger."""
    st = state_of(ctx)
    payload = read_data(data)
    eff = parse_time(effective_at) if effective_at is not None else None
    view = st.engine().start(
        workflow, payload, actor=parse_actor(actor), reason=reason, effective_at=eff
    )
    st.out(
        view.model_dump(mode="json"),
        lambda: st.console.print(
            f"{view.id}  {view.workflow}  {ARROW} {view.state} (version {view.version})"
        ),
    )


@handles_errors
def fire(
    ctx: typer.Context,
    instance: IdArg,
    trigger: Annotated[str, typer.Argument(help="Trigger to fire.")],
    actor: AsOpt,
    data: DataOpt = None,
    reason: Annotated[str | None, typer.Option(help="Why (recorded in the audit).")] = None,
    expected_version: Annotated[
        int | None, typer.Option("--expected-version", help="Refuse if the instance moved on.")
    ] = None,
    effective_at: EffectiveOpt = None,
) -> None:
    """Fire TRIGGER on an instance."""
    st = state_of(ctx)
    payload = read_data(data)
    eff = parse_time(effective_at) if effective_at is not None else None
    view = st.engine().fire(
        instance,
        trigger,
        payload,
        actor=parse_actor(actor),
        reason=reason,
        expected_version=expected_version,
        effective_at=eff,
    )
    st.out(
        view.model_dump(mode="json"),
        lambda: st.console.print(
            f"{view.id}  {trigger}  {ARROW} {view.state} (version {view.version})"
        ),
    )


@handles_errors
def show(
    ctx: typer.Context,
    instance: IdArg,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="ISO time: the instance as it was then.")
    ] = None,
    version: Annotated[
        int | None, typer.Option(help="Version number: the instance after that event.")
    ] = None,
) -> None:
    """Show an instance: state, key facts, stage timeline, what may happen next, warnings."""
    from engine.cli.describe import describe_instance
    from engine.cli.render import render_instance

    st = state_of(ctx)
    at = parse_time(as_of) if as_of is not None else None
    engine = st.engine()
    payload = describe_instance(engine, instance, version=version, as_of=at)
    display = engine.registry.by_hash(payload["definition_hash"]).definition.display
    st.out(payload, lambda: render_instance(st.console, payload, display))


@handles_errors
def history(ctx: typer.Context, instance: IdArg) -> None:
    """The instance's timeline: when, who (role), trigger, from -> to, reason."""
    from engine.cli.render import render_history

    st = state_of(ctx)
    entries = st.engine().history(instance)
    st.out(
        [e.model_dump(mode="json") for e in entries], lambda: render_history(st.console, entries)
    )


@handles_errors
def next_(
    ctx: typer.Context,
    instance: IdArg,
    actor: Annotated[
        str | None, typer.Option("--as", help="ROLE:ACTOR; default: every role.")
    ] = None,
) -> None:
    """What may happen now, and why other triggers are refused."""
    from engine.cli.render import render_allowed

    st = state_of(ctx)
    asked = parse_actor(actor) if actor is not None else None  # bad usage before the store
    engine = st.engine()
    view = engine.get(instance)
    if asked is not None:
        actors = [asked]
    else:
        compiled = engine.registry.by_hash(view.definition_hash)
        roles = compiled.definition.roles or sorted(
            {r for t in compiled.definition.transitions for r in t.roles}
        )
        actors = [parse_actor(f"{role}:anyone") for role in roles]
    reports = [engine.allowed(view.id, a) for a in actors]
    st.out(
        [r.model_dump(mode="json") for r in reports],
        lambda: render_allowed(st.console, reports, every_role=actor is None),
    )


def register(app: typer.Typer) -> None:
    """Add the instance commands to the root app."""
    app.command(epilog=example("socieux submit WORKFLOW --as ROLE:ACTOR --data request.json"))(
        submit
    )
    app.command(
        epilog=example(
            'echo \'{"key": "value"}\' | socieux fire 1051 TRIGGER --as ROLE:ACTOR --data -'
        )
    )(fire)
    app.command(epilog=example("socieux show 1051239a --as-of 2025-06-01"))(show)
    app.command(epilog=example("socieux history 1051239a"))(history)
    app.command("next", epilog=example("socieux next 1051239a --as ROLE:ACTOR"))(next_)
