"""``socieux migrate NAME --to V --plan | --apply``: move instances to another version.

``--plan`` prints the dry run (every instance that would move, every one that cannot and
why) and, with ``-o FILE``, saves the plan; ``--apply`` applies a saved plan
(``--plan-file FILE``) or, without one, plans and applies in one step. Applying needs
``--as ROLE:ACTOR`` and ``--reason``; where the workflow separates duties, the planner
cannot apply their own plan.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli.console import ARROW, CliState, fail, handles_errors, state_of, table
from engine.cli.examples import example
from engine.cli.inputs import export_file, parse_actor
from engine.cli.outputs import output_file
from engine.errors import InvalidArgument

if TYPE_CHECKING:
    from engine.commands.migration import MigrationPlan

__all__ = ["register"]

MAX_PLAN_BYTES = 64 * 1024 * 1024


def _load_plan(path: str) -> MigrationPlan:
    from pydantic import ValidationError

    from engine.commands.migration import MigrationPlan

    file = export_file(path, "--plan-file")
    if file.stat().st_size > MAX_PLAN_BYTES:
        raise InvalidArgument(f"--plan-file: {path} is larger than 64 MiB")
    try:
        return MigrationPlan.model_validate_json(file.read_bytes())
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(file)"
        msg = f"--plan-file: not a migration plan ({where}: {first['msg']})"
        raise InvalidArgument(msg) from None


def _show_plan(st: CliState, plan: MigrationPlan) -> None:
    from rich.text import Text

    st.console.print(
        f"plan {plan.id} ({plan.hash[:12]}): {plan.workflow} {ARROW} v{plan.to_version}, "
        f"{len(plan.ready)} ready, {len(plan.blocked)} blocked, by {plan.planned_by.id} "
        f"as {plan.planned_by.role}"
    )
    out = table("instance", "version", "state", "to", "result")
    for item in plan.items:
        result = "ready" if item.ok else "; ".join(item.problems)
        to = f"v{plan.to_version} {item.to_state}" if item.to_state else "-"
        cells = (str(item.instance_id)[:8], f"v{item.from_version}", item.state, to, result)
        out.add_row(*(Text(c) for c in cells))
    st.console.print(out)


@handles_errors
def migrate(
    ctx: typer.Context,
    workflow: Annotated[str, typer.Argument(help="Workflow name.")],
    to: Annotated[int | None, typer.Option("--to", help="Target version.")] = None,
    states: Annotated[
        list[str] | None, typer.Option("--state", help="Only instances in this state.")
    ] = None,
    plan_only: Annotated[bool, typer.Option("--plan", help="Dry run: show the plan.")] = False,
    apply: Annotated[bool, typer.Option("--apply", help="Record the migration.")] = False,
    plan_file: Annotated[
        str | None, typer.Option("--plan-file", help="Apply this saved plan.")
    ] = None,
    output: Annotated[str | None, typer.Option("-o", "--output", help="Save the plan.")] = None,
    as_: Annotated[str | None, typer.Option("--as", help="ROLE:ACTOR.")] = None,
    reason: Annotated[str | None, typer.Option(help="Why (required to apply).")] = None,
) -> None:
    """Plan (dry run) or apply a migration of WORKFLOW's instances to version --to."""
    st = state_of(ctx)
    if plan_only == apply:
        raise fail("invalid_argument", "give exactly one of --plan and --apply", 2)
    if as_ is None:
        raise fail("invalid_argument", "--as ROLE:ACTOR is required", 2)
    if apply and reason is None:
        raise fail("invalid_argument", "--reason is required to apply a migration", 2)
    actor = parse_actor(as_)
    engine = st.engine()
    if plan_file is not None:
        if plan_only:
            raise fail("invalid_argument", "--plan-file goes with --apply", 2)
        plan = _load_plan(plan_file)
        if plan.workflow != workflow or (to is not None and to != plan.to_version):
            raise fail("invalid_argument", "the plan file is for another workflow or version", 2)
    else:
        if to is None:
            raise fail("invalid_argument", "--to VERSION is required", 2)
        plan = engine.plan_migration(workflow, to=to, states=states, actor=actor)
    if plan_only:
        if output is not None:
            with output_file(output) as fh:
                fh.write(plan.model_dump_json(indent=2) + "\n")
        st.out(plan.model_dump(mode="json"), lambda: _show_plan(st, plan))
        return
    result = engine.migrate(plan, actor=actor, reason=reason or "")

    def render() -> None:
        st.console.print(
            f"migrated {len(result.migrated)} instance(s) to {workflow} v{plan.to_version} "
            f"(plan {plan.id}); {len(result.skipped)} blocked instance(s) stay"
        )

    st.out(json.loads(result.model_dump_json()), render)


def register(app: typer.Typer) -> None:
    """Add ``migrate`` to the root command."""
    app.command(
        "migrate",
        epilog=example(
            "socieux migrate WORKFLOW --to 2 --state submitted --plan --as ROLE:ACTOR -o plan.json",
            "socieux migrate WORKFLOW --apply --plan-file plan.json --as ROLE:ACTOR --reason TEXT",
        ),
    )(migrate)
